//! Tensor and Gpu basics: upload/readback, zeros, reshape, writes in recording order, one
//! submission per readback, waits that poll or block (`GpuOptions::spin_wait`), and output-buffer recycling (a dropped output's buffer serves the next output of its size
//! without disturbing work recorded before the drop).

mod common;

use common::{assert_close, gpu, gpu_with, random};
use wgcnn::random::Rng;
use wgcnn::{conv2d, reference, relu, Conv2dOptions, Error, GpuOptions, Padding, Tensor};

#[test]
fn upload_readback_zeros_and_reshape() {
    let gpu = gpu();
    let data: Vec<f32> = (0..2 * 3 * 5 * 7).map(|i| i as f32 * 0.5 - 3.0).collect();
    let tensor = Tensor::from_slice(&gpu, &[2, 3, 5, 7], &data).unwrap();
    assert_eq!(tensor.to_vec().unwrap(), data);
    assert_eq!(
        Tensor::zeros(&gpu, &[3, 13]).unwrap().to_vec().unwrap(),
        vec![0.0; 39]
    );
    let flat = tensor.reshape(&[6, 35]).unwrap();
    assert_eq!(flat.shape(), [6, 35]);
    assert_eq!(flat.to_vec().unwrap(), data);
    assert!(matches!(tensor.reshape(&[6, 36]), Err(Error::Shape { .. })));
    assert!(matches!(
        Tensor::from_slice(&gpu, &[], &[]),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn recycled_output_buffers_keep_recording_order() {
    // Poisoning off, so outputs come from the recycling pool.
    let gpu = gpu_with(GpuOptions::default());
    let mut rng = Rng::new(41);
    let options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        ..Default::default()
    };
    let input = random(&mut rng, &[2, 4, 9, 9], 1.0);
    let weight = random(&mut rng, &[4, 4, 3, 3], 0.3);
    let (x, w) = (input.upload(&gpu).unwrap(), weight.upload(&gpu).unwrap());
    let first = reference::conv2d(&input, &weight, None, &options).unwrap();
    let second = reference::conv2d(&first, &weight, None, &options).unwrap();
    for round in 0..3 {
        // hidden is read by `result` and dropped before anything is submitted; `overwrite`
        // (same size) then takes hidden's buffer and fills it with other values.
        let hidden = conv2d(&x, &w, None, &options).unwrap();
        let result = conv2d(&hidden, &w, None, &options).unwrap();
        drop(hidden);
        let overwrite = conv2d(&result, &w, None, &options).unwrap();
        assert_close(
            &result.to_vec().unwrap(),
            second.data(),
            2e-5,
            1e-5,
            &format!("round {round}"),
        );
        drop(overwrite);
    }
}

#[test]
fn write_replaces_values_in_recording_order() {
    let gpu = gpu();
    let old: Vec<f32> = (0..3 * 13).map(|i| i as f32 - 19.5).collect();
    let new: Vec<f32> = old.iter().map(|v| -2.0 * v + 1.0).collect();
    let tensor = Tensor::from_slice(&gpu, &[3, 13], &old).unwrap();
    let flat = tensor.reshape(&[39]).unwrap();
    gpu.synchronize().unwrap();
    let before = gpu.submission_count();
    let read_before = relu(&tensor).unwrap();
    tensor.write(&new).unwrap();
    let read_after = relu(&flat).unwrap();
    assert_eq!(gpu.submission_count(), before, "nothing submitted yet");
    let rectified = |values: &[f32]| values.iter().map(|v| v.max(0.0)).collect::<Vec<_>>();
    assert_eq!(read_before.to_vec().unwrap(), rectified(&old));
    assert_eq!(
        gpu.submission_count(),
        before + 1,
        "the first readback submits all of it"
    );
    assert_eq!(read_after.to_vec().unwrap(), rectified(&new));
    assert_eq!(tensor.to_vec().unwrap(), new);

    // A wrong length is an error that leaves the values as they were.
    let error = tensor.write(&new[1..]).unwrap_err();
    assert!(
        matches!(
            error,
            Error::DataLength {
                expected: 39,
                actual: 38,
                ..
            }
        ),
        "{error}"
    );
    assert_eq!(tensor.to_vec().unwrap(), new);
}

#[test]
fn waits_return_when_the_work_is_done_whether_they_poll_or_block() {
    let mut rng = Rng::new(43);
    let input = random(&mut rng, &[2, 5, 13, 13], 1.0);
    let weight = random(&mut rng, &[7, 5, 3, 3], 0.3);
    let options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        ..Default::default()
    };
    let expected = reference::relu(&reference::conv2d(&input, &weight, None, &options).unwrap());
    for spin_wait in [
        std::time::Duration::ZERO,
        std::time::Duration::from_secs(60),
    ] {
        let gpu = gpu_with(GpuOptions {
            poison_outputs: true,
            spin_wait: Some(spin_wait),
            ..Default::default()
        });
        let started = std::time::Instant::now();
        let (x, w) = (input.upload(&gpu).unwrap(), weight.upload(&gpu).unwrap());
        let y = relu(&conv2d(&x, &w, None, &options).unwrap()).unwrap();
        gpu.synchronize().unwrap();
        assert_close(
            &y.to_vec().unwrap(),
            expected.data(),
            1e-5,
            1e-5,
            "relu(conv2d)",
        );
        // Polling stops once the device is done, not at its limit.
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "spin_wait {spin_wait:?}: took {:?}",
            started.elapsed()
        );
    }
}
