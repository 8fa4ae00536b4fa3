//! Invalid input to the batch-norm ops, the layer and the folding: one test per class, each
//! asserting the error variant, and that nothing was recorded (the Gpu submits nothing after).

mod common;

use wgcnn::{
    batch_norm_eval, batch_norm_stats, batch_norm_train, reference, Activation, BatchNorm2d,
    BatchNorm2dOptions, BatchNormAffine, Conv2d, Conv2dOptions, Error, Gpu, HostTensor,
    RunningStats, RunningUpdate, Tensor,
};

fn ones(gpu: &Gpu, shape: &[usize]) -> Tensor {
    Tensor::from_slice(gpu, shape, &vec![1.0; shape.iter().product()]).unwrap()
}

/// batch_norm_train and batch_norm_eval on an input of `shape` with per-channel tensors of the
/// given lengths (gamma, beta, running_mean, running_var): the GPU's errors, after checking that
/// nothing was recorded and that the reference refuses too.
fn op_errors(shape: &[usize], lengths: [usize; 4]) -> [Error; 2] {
    let gpu = common::gpu();
    let x = ones(&gpu, shape);
    let [gamma, beta, mean, var] = lengths.map(|len| ones(&gpu, &[len]));
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    let update = RunningUpdate {
        mean: &mean,
        var: &var,
        momentum: 0.1,
    };
    let train = batch_norm_train(&x, &affine, Some(&update)).map(|_| ());
    let eval = batch_norm_eval(
        &x,
        &affine,
        &RunningStats {
            mean: &mean,
            var: &var,
        },
    )
    .map(|_| ());
    gpu.submit().unwrap();
    assert_eq!(
        gpu.submission_count(),
        0,
        "an invalid op must record nothing"
    );

    let host = HostTensor::filled(shape, 1.0);
    let [gamma, beta, mean, var] = lengths.map(|len| HostTensor::filled(&[len], 1.0));
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    let update = RunningUpdate {
        mean: &mean,
        var: &var,
        momentum: 0.1,
    };
    assert!(reference::batch_norm_train(&host, &affine, Some(&update)).is_err());
    let running = RunningStats {
        mean: &mean,
        var: &var,
    };
    assert!(reference::batch_norm_eval(&host, &affine, &running).is_err());
    [train.unwrap_err(), eval.unwrap_err()]
}

/// batch_norm_stats on an input of `shape`: the GPU's error (nothing recorded; the reference
/// refuses too).
fn stats_error(shape: &[usize]) -> Error {
    let gpu = common::gpu();
    let error = batch_norm_stats(&ones(&gpu, shape))
        .map(|_| ())
        .unwrap_err();
    gpu.submit().unwrap();
    assert_eq!(
        gpu.submission_count(),
        0,
        "an invalid op must record nothing"
    );
    assert!(reference::batch_norm_stats(&HostTensor::filled(shape, 1.0)).is_err());
    error
}

#[test]
fn input_not_4d() {
    for shape in [&[2, 3, 4][..], &[1, 2, 3, 4, 5]] {
        for error in op_errors(shape, [3, 3, 3, 3]) {
            assert!(
                matches!(&error, Error::Shape { expected, .. } if expected.contains("4-D")),
                "{shape:?}: {error}"
            );
        }
        assert!(reference::batch_norm_stats(&HostTensor::filled(shape, 1.0)).is_err());
    }
}

#[test]
fn zero_size_dimension() {
    for shape in [[0, 3, 4, 4], [2, 0, 4, 4], [2, 3, 0, 4], [2, 3, 4, 0]] {
        let channels = shape[1];
        let [train, eval] = op_errors(&shape, [channels; 4]);
        for error in [stats_error(&shape), train, eval] {
            assert!(
                matches!(error, Error::ZeroSize { .. }),
                "{shape:?}: {error}"
            );
        }
    }
}

#[test]
fn per_channel_length_differs_from_channels() {
    let names = ["gamma", "beta", "running_mean", "running_var"];
    for (index, name) in names.iter().enumerate() {
        let mut lengths = [3; 4];
        lengths[index] = 4;
        for error in op_errors(&[2, 3, 4, 4], lengths) {
            assert!(
                matches!(&error, Error::Shape { what, .. } if what.ends_with(name)),
                "{name}: {error}"
            );
        }
    }
    // A per-channel tensor must be 1-D [C], not [1, C, 1, 1].
    let gpu = common::gpu();
    let (x, gamma, beta) = (
        ones(&gpu, &[2, 3, 4, 4]),
        ones(&gpu, &[1, 3, 1, 1]),
        ones(&gpu, &[3]),
    );
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    let error = batch_norm_train(&x, &affine, None).unwrap_err();
    assert!(
        matches!(&error, Error::Shape { what, .. } if what.ends_with("gamma")),
        "{error}"
    );
    // The layer checks its parameters when built, and the input's channels when run.
    let gamma = HostTensor::filled(&[3], 1.0);
    let (beta, var) = (HostTensor::filled(&[4], 0.0), HostTensor::filled(&[3], 1.0));
    let running = RunningStats {
        mean: &beta,
        var: &var,
    };
    let error = BatchNorm2d::with_parameters(
        &gpu,
        &gamma,
        &beta,
        Some(running),
        BatchNorm2dOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::Shape { what, .. } if what.ends_with("beta")),
        "{error}"
    );
    let mut layer = BatchNorm2d::new(&gpu, 5, BatchNorm2dOptions::default()).unwrap();
    assert!(matches!(layer.forward(&x), Err(Error::Shape { .. })));
    assert_eq!(
        layer.num_batches_tracked(),
        0,
        "a failed step counts no batch"
    );
}

#[test]
fn single_value_per_channel_with_batch_statistics() {
    let error = stats_error(&[1, 3, 1, 1]);
    assert!(
        matches!(&error, Error::Shape { expected, .. } if expected.contains("N*H*W >= 2")),
        "{error}"
    );
    let gpu = common::gpu();
    let x = ones(&gpu, &[1, 3, 1, 1]);
    let [gamma, beta, mean, var] = [3; 4].map(|len| ones(&gpu, &[len]));
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    let update = RunningUpdate {
        mean: &mean,
        var: &var,
        momentum: 0.1,
    };
    let error = batch_norm_train(&x, &affine, Some(&update)).unwrap_err();
    assert!(
        matches!(&error, Error::Shape { expected, .. } if expected.contains("N*H*W >= 2")),
        "{error}"
    );
    gpu.submit().unwrap();
    assert_eq!(
        gpu.submission_count(),
        0,
        "an invalid op must record nothing"
    );
    let host = HostTensor::filled(&[1, 3, 1, 1], 1.0);
    let one = HostTensor::filled(&[3], 1.0);
    let host_affine = BatchNormAffine {
        gamma: &one,
        beta: &one,
        eps: 1e-5,
    };
    assert!(reference::batch_norm_train(&host, &host_affine, None).is_err());

    // Inference mode normalizes with the running statistics: one value per channel is fine.
    let output = batch_norm_eval(
        &x,
        &affine,
        &RunningStats {
            mean: &mean,
            var: &var,
        },
    )
    .unwrap();
    assert_eq!(output.to_vec().unwrap(), [1.0; 3]);
    let mut layer = BatchNorm2d::new(&gpu, 3, BatchNorm2dOptions::default()).unwrap();
    assert!(
        matches!(layer.forward(&x), Err(Error::Shape { .. })),
        "training mode"
    );
    layer.eval();
    assert!(layer.forward(&x).is_ok());
    // Without running statistics even inference mode uses the batch's.
    let options = BatchNorm2dOptions {
        track_running_stats: false,
        ..Default::default()
    };
    let mut untracked = BatchNorm2d::new(&gpu, 3, options).unwrap();
    untracked.eval();
    assert!(matches!(untracked.forward(&x), Err(Error::Shape { .. })));
}

#[test]
fn running_stats_must_match_track_running_stats() {
    let gpu = common::gpu();
    let one = HostTensor::filled(&[3], 1.0);
    let running = RunningStats {
        mean: &one,
        var: &one,
    };
    let options = BatchNorm2dOptions {
        track_running_stats: false,
        ..Default::default()
    };
    let error = BatchNorm2d::with_parameters(&gpu, &one, &one, Some(running), options).unwrap_err();
    assert!(matches!(error, Error::Parameter { .. }), "{error}");
    let error = BatchNorm2d::with_parameters(&gpu, &one, &one, None, BatchNorm2dOptions::default())
        .unwrap_err();
    assert!(matches!(error, Error::Parameter { .. }), "{error}");
}

#[test]
fn folding_needs_a_plain_conv_and_running_stats_of_its_channels() {
    let gpu = common::gpu();
    let weight = HostTensor::filled(&[4, 3, 3, 3], 0.1);
    let conv = Conv2d::new(&gpu, &weight, None, Conv2dOptions::default()).unwrap();
    let batch_norm = BatchNorm2d::new(&gpu, 4, BatchNorm2dOptions::default()).unwrap();
    let error = conv
        .clone()
        .with_activation(Activation::Relu)
        .fold_batch_norm(&batch_norm)
        .unwrap_err();
    assert!(matches!(error, Error::Parameter { .. }), "{error}");
    let options = BatchNorm2dOptions {
        track_running_stats: false,
        ..Default::default()
    };
    let untracked = BatchNorm2d::new(&gpu, 4, options).unwrap();
    assert!(matches!(
        conv.fold_batch_norm(&untracked),
        Err(Error::Parameter { .. })
    ));
    let other_channels = BatchNorm2d::new(&gpu, 5, BatchNorm2dOptions::default()).unwrap();
    assert!(matches!(
        conv.fold_batch_norm(&other_channels),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn tensors_from_another_gpu() {
    let (first, second) = (common::gpu(), common::gpu());
    let x = ones(&first, &[2, 3, 4, 4]);
    let (gamma, beta) = (ones(&second, &[3]), ones(&first, &[3]));
    let affine = BatchNormAffine {
        gamma: &gamma,
        beta: &beta,
        eps: 1e-5,
    };
    let error = batch_norm_train(&x, &affine, None).unwrap_err();
    assert!(
        matches!(&error, Error::DifferentGpu { what } if what.contains("gamma")),
        "{error}"
    );
    let running = RunningStats {
        mean: &beta,
        var: &gamma,
    };
    let error = batch_norm_eval(
        &x,
        &BatchNormAffine {
            gamma: &beta,
            ..affine
        },
        &running,
    )
    .unwrap_err();
    assert!(
        matches!(&error, Error::DifferentGpu { what } if what.contains("running_var")),
        "{error}"
    );
}

#[test]
fn data_length_differs_from_shape() {
    let gpu = common::gpu();
    let error = Tensor::from_slice(&gpu, &[1, 3, 2, 2], &[0.0; 11]).unwrap_err();
    assert!(
        matches!(
            error,
            Error::DataLength {
                expected: 12,
                actual: 11,
                ..
            }
        ),
        "{error}"
    );
}
