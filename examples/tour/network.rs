//! Tour section: a residual block written with the ops (conv, conv, `add`), then a small ResNet
//! built with `Sequential` (two conv -> batch norm -> ReLU -> max pool blocks with a residual
//! block between them, global average pool, flatten, linear classifier), its summary, and one
//! forward pass (one submission) checked against the CPU reference of the whole chain; then the
//! same with its batch norms folded for inference.

use crate::Tour;
use std::cell::RefCell;
use wgcnn::{
    add, reference, Activation, BatchNorm2d, BatchNorm2dOptions, Conv2d, Conv2dOptions,
    GlobalAvgPool2d, HostTensor, Layer, MaxPool2d, MaxPool2dOptions, Padding, ReLU, Result,
    RunningStats, Sequential,
};

fn random(tour: &mut Tour, shape: &[usize], scale: f32, offset: f32) -> HostTensor {
    let values = tour.rng.normals(shape.iter().product(), scale, offset);
    HostTensor::new(shape, values).expect("consistent shape")
}

/// conv 3x3 (padding 1) and a batch norm in inference mode with trained-looking statistics.
fn conv_norm(
    tour: &mut Tour,
    in_channels: usize,
    out_channels: usize,
) -> Result<(Conv2d, BatchNorm2d)> {
    let fan_in = (in_channels * 9) as f32;
    let weight = random(
        tour,
        &[out_channels, in_channels, 3, 3],
        1.0 / fan_in.sqrt(),
        0.0,
    );
    let options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        ..Default::default()
    };
    let conv = Conv2d::new(&tour.gpu, &weight, None, options)?;
    let (gamma, beta) = (
        random(tour, &[out_channels], 0.1, 1.0),
        random(tour, &[out_channels], 0.1, 0.0),
    );
    let (mean, var) = (
        random(tour, &[out_channels], 0.1, 0.0),
        random(tour, &[out_channels], 0.1, 1.0),
    );
    let running = RunningStats {
        mean: &mean,
        var: &var,
    };
    let options = BatchNorm2dOptions::default();
    let mut norm = BatchNorm2d::with_parameters(&tour.gpu, &gamma, &beta, Some(running), options)?;
    norm.eval();
    Ok((conv, norm))
}

/// conv 3x3 -> batch norm -> ReLU -> max pool 2.
fn block(
    tour: &mut Tour,
    model: Sequential,
    in_channels: usize,
    out_channels: usize,
) -> Result<Sequential> {
    let (conv, norm) = conv_norm(tour, in_channels, out_channels)?;
    model
        .push(conv)?
        .push(norm)?
        .push(ReLU::in_place())?
        .push(MaxPool2d::new(MaxPool2dOptions::new([2, 2])))
}

/// ResNet's basic block: relu(conv-BN-ReLU-conv-BN(x) + x).
fn residual_block(tour: &mut Tour, model: Sequential, channels: usize) -> Result<Sequential> {
    let (first, first_norm) = conv_norm(tour, channels, channels)?;
    let (second, second_norm) = conv_norm(tour, channels, channels)?;
    let body = vec![
        first.into(),
        first_norm.into(),
        ReLU::in_place().into(),
        second.into(),
        second_norm.into(),
    ];
    model.push_residual(body, vec![], Activation::Relu)
}

/// ResNet's basic block without batch norm, written with the ops: relu(conv(relu(conv(x))) + x),
/// one submission.
fn residual_block_with_ops(tour: &mut Tour) -> Result<()> {
    let host = random(tour, &[2, 32, 28, 28], 1.0, 0.0);
    let weights = [
        random(tour, &[32, 32, 3, 3], 0.06, 0.0),
        random(tour, &[32, 32, 3, 3], 0.06, 0.0),
    ];
    let options = Conv2dOptions {
        padding: Padding::Symmetric([1, 1]),
        ..Default::default()
    };
    let first =
        Conv2d::new(&tour.gpu, &weights[0], None, options)?.with_activation(Activation::Relu);
    let second = Conv2d::new(&tour.gpu, &weights[1], None, options)?;
    let x = host.upload(&tour.gpu)?;
    tour.check(
        "residual block relu(conv2 + x)",
        || add(&second.forward(&first.forward(&x)?)?, &x, Activation::Relu),
        || {
            let relu_options = Conv2dOptions {
                activation: Activation::Relu,
                ..options
            };
            let hidden = reference::conv2d(&host, &weights[0], None, &relu_options)?;
            let body = reference::conv2d(&hidden, &weights[1], None, &options)?;
            reference::add(&body, &host, Activation::Relu)
        },
        1e-5,
    )
}

pub fn run(tour: &mut Tour) -> Result<()> {
    residual_block_with_ops(tour)?;
    let input_shape = [4, 3, 64, 64];
    let model = Sequential::new(&input_shape)?;
    let model = block(tour, model, 3, 32)?;
    let model = residual_block(tour, model, 32)?;
    let model = block(tour, model, 32, 64)?;
    let classifier = random(tour, &[10, 64], 0.125, 0.0);
    let bias = random(tour, &[10], 0.1, 0.0);
    let model = model
        .push(GlobalAvgPool2d)?
        .push(Layer::Flatten)?
        .push(Layer::linear(
            &tour.gpu,
            &classifier,
            Some(&bias),
            Activation::None,
        )?)?;
    println!("Small ResNet built with Sequential\n{}\n", model.summary());
    let host = random(tour, &input_shape, 1.0, 0.0);
    let input = host.upload(&tour.gpu)?;
    let model = RefCell::new(model);
    let before = tour.gpu.submission_count();
    model.borrow_mut().forward(&input)?.to_vec()?;
    let submissions = tour.gpu.submission_count() - before;
    println!("one forward pass of the small ResNet: {submissions} submission\n");
    tour.check(
        "Sequential: small ResNet (12 layers)",
        || model.borrow_mut().forward(&input),
        || model.borrow().forward_reference(&host),
        1e-4,
    )?;
    // For inference: conv -> BN -> ReLU folded into one convolution each.
    let folded = RefCell::new(model.borrow().fold_batch_norms()?);
    let layers = folded.borrow().summary().rows.len();
    tour.check(
        &format!("the same, batch norms folded ({layers} rows)"),
        || folded.borrow_mut().forward(&input),
        || model.borrow().forward_reference(&host),
        1e-4,
    )
}
