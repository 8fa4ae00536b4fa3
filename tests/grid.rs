//! Every op family on a 2-D workgroup grid: with `max_workgroups_per_dimension` lowered to 3,
//! each dispatch of more than 3 workgroups wraps into y, as dispatches past 65,535 workgroups do
//! on real sizes. Outputs are NaN-poisoned; results must equal the CPU reference.

mod common;

use common::{assert_close, random};
use wgcnn::random::Rng;
use wgcnn::{
    avg_pool2d, batch_norm_eval, batch_norm_stats, batch_norm_train, conv2d, global_avg_pool2d,
    global_max_pool2d, linear, max_pool2d, reference, relu, Activation, AvgPool2dOptions,
    BatchNormAffine, Conv2dOptions, GpuOptions, HostTensor, MaxPool2dOptions, Padding,
    RunningStats, RunningUpdate,
};

#[test]
fn every_family_on_a_two_dimensional_grid() {
    let gpu = common::gpu_with(GpuOptions {
        max_workgroups_per_dimension: Some(3),
        poison_outputs: true,
        ..Default::default()
    });
    let mut rng = Rng::new(53);
    let input = random(&mut rng, &[2, 12, 23, 21], 1.0);
    let x = input.upload(&gpu).unwrap();

    // Convolutions: wide (subgroup kernel where available), depthwise (portable), 1x1 projection.
    for (weight_shape, groups) in [
        ([40, 12, 3, 3], 1),
        ([12, 1, 3, 3], 12),
        ([20, 12, 1, 1], 1),
    ] {
        let padding = Padding::Symmetric([weight_shape[2] / 2, weight_shape[3] / 2]);
        let options = Conv2dOptions {
            padding,
            groups,
            activation: Activation::Relu,
            ..Default::default()
        };
        let weight = random(&mut rng, &weight_shape, 0.3);
        let expected = reference::conv2d(&input, &weight, None, &options).unwrap();
        let output = conv2d(&x, &weight.upload(&gpu).unwrap(), None, &options).unwrap();
        assert_close(
            &output.to_vec().unwrap(),
            expected.data(),
            2e-5,
            1e-5,
            &format!("conv {weight_shape:?}"),
        );
    }
    let rows = random(&mut rng, &[300, 17], 1.0);
    let weight = random(&mut rng, &[9, 17], 0.3);
    let expected = reference::linear(&rows, &weight, None, Activation::None).unwrap();
    let output = linear(
        &rows.upload(&gpu).unwrap(),
        &weight.upload(&gpu).unwrap(),
        None,
        Activation::None,
    )
    .unwrap();
    assert_close(
        &output.to_vec().unwrap(),
        expected.data(),
        2e-5,
        1e-5,
        "linear",
    );

    // Pools and ReLU: exact for max and ReLU.
    let big = random(&mut rng, &[2, 12, 64, 40], 1.0);
    let y = big.upload(&gpu).unwrap();
    assert_eq!(
        relu(&y).unwrap().to_vec().unwrap(),
        reference::relu(&big).into_data()
    );
    for max in [
        MaxPool2dOptions {
            stride: Some([2, 2]),
            padding: [1, 1],
            ..MaxPool2dOptions::new([3, 3])
        },
        MaxPool2dOptions {
            dilation: [2, 1],
            ceil_mode: true,
            ..MaxPool2dOptions::new([2, 3])
        },
    ] {
        let expected = reference::max_pool2d(&big, &max).unwrap();
        assert_eq!(
            max_pool2d(&y, &max).unwrap().to_vec().unwrap(),
            expected.into_data(),
            "{max:?}"
        );
    }
    for avg in [
        AvgPool2dOptions::new([2, 2]),
        AvgPool2dOptions {
            padding: [1, 1],
            ceil_mode: true,
            ..AvgPool2dOptions::new([3, 3])
        },
    ] {
        let expected = reference::avg_pool2d(&big, &avg).unwrap();
        assert_close(
            &avg_pool2d(&y, &avg).unwrap().to_vec().unwrap(),
            expected.data(),
            1e-6,
            1e-5,
            &format!("{avg:?}"),
        );
    }
    let expected = reference::global_avg_pool2d(&big).unwrap();
    assert_close(
        &global_avg_pool2d(&y).unwrap().to_vec().unwrap(),
        expected.data(),
        1e-6,
        1e-5,
        "global avg",
    );
    assert_eq!(
        global_max_pool2d(&y).unwrap().to_vec().unwrap(),
        reference::global_max_pool2d(&big).unwrap().into_data()
    );

    // Batch norm: statistics, training with running stats, inference.
    let channels = 12;
    let parameters: Vec<HostTensor> = [1.0, 0.0, 0.5, 2.0]
        .iter()
        .map(|&offset| HostTensor::new(&[channels], rng.normals(channels, 0.1, offset)).unwrap())
        .collect();
    let on_gpu: Vec<_> = parameters.iter().map(|p| p.upload(&gpu).unwrap()).collect();
    let expected = reference::batch_norm_stats(&big).unwrap();
    let stats = batch_norm_stats(&y).unwrap();
    assert_close(
        &stats.mean.to_vec().unwrap(),
        expected.mean.data(),
        1e-5,
        1e-5,
        "mean",
    );
    assert_close(
        &stats.var_unbiased.to_vec().unwrap(),
        expected.var_unbiased.data(),
        1e-5,
        1e-5,
        "variance",
    );
    let affine = BatchNormAffine {
        gamma: &on_gpu[0],
        beta: &on_gpu[1],
        eps: 1e-5,
    };
    let host_affine = BatchNormAffine {
        gamma: &parameters[0],
        beta: &parameters[1],
        eps: 1e-5,
    };
    let trained = reference::batch_norm_train(
        &big,
        &host_affine,
        Some(&RunningUpdate {
            mean: &parameters[2],
            var: &parameters[3],
            momentum: 0.1,
        }),
    )
    .unwrap();
    let output = batch_norm_train(
        &y,
        &affine,
        Some(&RunningUpdate {
            mean: &on_gpu[2],
            var: &on_gpu[3],
            momentum: 0.1,
        }),
    )
    .unwrap();
    assert_close(
        &output.to_vec().unwrap(),
        trained.output.data(),
        1e-5,
        1e-5,
        "train",
    );
    let (running_mean, running_var) = (trained.running_mean.unwrap(), trained.running_var.unwrap());
    assert_close(
        &on_gpu[2].to_vec().unwrap(),
        running_mean.data(),
        1e-5,
        1e-5,
        "running mean",
    );
    assert_close(
        &on_gpu[3].to_vec().unwrap(),
        running_var.data(),
        1e-5,
        1e-5,
        "running var",
    );
    // Inference with the running statistics the training step left on the GPU.
    let expected = reference::batch_norm_eval(
        &big,
        &host_affine,
        &RunningStats {
            mean: &running_mean,
            var: &running_var,
        },
    )
    .unwrap();
    let output = batch_norm_eval(
        &y,
        &affine,
        &RunningStats {
            mean: &on_gpu[2],
            var: &on_gpu[3],
        },
    )
    .unwrap();
    assert_close(
        &output.to_vec().unwrap(),
        expected.data(),
        1e-4,
        1e-5,
        "eval",
    );
}
