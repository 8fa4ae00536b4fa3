//! Residual blocks in a Sequential model (`Sequential::push_residual`, `Layer::Residual`): a
//! small ResNet (a stem, an identity block, a downsampling block whose shortcut is a strided
//! 1x1 conv with batch norm, a global pool and a classifier) against its CPU reference in one
//! submission, with its parameter and multiply-accumulate counts, summary rows and receptive
//! field; batch norms inside the blocks following `train` and `eval`; the build errors of a
//! body whose output does not match the shortcut's; and `fold_batch_norms`, which turns the
//! model into fewer layers computing the same. Outputs are NaN-poisoned before every op.

mod common;

use common::{
    assert_model_matches, batch_norm_eval, conv, conv3x3, forward_in_one_submission, layer_error,
};
use wgcnn::random::Rng;
use wgcnn::{
    Activation, BatchNorm2d, BatchNorm2dOptions, Conv2dOptions, Error, GlobalAvgPool2d, Gpu, Layer,
    Padding, ReLU, Sequential,
};

/// ResNet's basic block on `channels`: conv-BN-ReLU-conv-BN, the identity shortcut.
fn identity_block(gpu: &Gpu, rng: &mut Rng, channels: usize) -> Vec<Layer> {
    vec![
        conv3x3(gpu, rng, channels, channels).into(),
        batch_norm_eval(gpu, rng, channels).into(),
        ReLU::new().into(),
        conv3x3(gpu, rng, channels, channels).into(),
        batch_norm_eval(gpu, rng, channels).into(),
    ]
}

/// ResNet's downsampling block: body and shortcut at stride 2, `from` -> `to` channels.
fn downsampling_block(
    gpu: &Gpu,
    rng: &mut Rng,
    from: usize,
    to: usize,
) -> (Vec<Layer>, Vec<Layer>) {
    let strided = |padding| Conv2dOptions {
        stride: [2, 2],
        padding,
        ..Default::default()
    };
    let body = vec![
        conv(
            gpu,
            rng,
            [to, from, 3, 3],
            strided(Padding::Symmetric([1, 1])),
        )
        .into(),
        batch_norm_eval(gpu, rng, to).into(),
        ReLU::in_place().into(),
        conv3x3(gpu, rng, to, to).into(),
        batch_norm_eval(gpu, rng, to).into(),
    ];
    let shortcut = vec![
        conv(gpu, rng, [to, from, 1, 1], strided(Padding::Zero)).into(),
        batch_norm_eval(gpu, rng, to).into(),
    ];
    (body, shortcut)
}

fn small_resnet(gpu: &Gpu, rng: &mut Rng, input_shape: &[usize]) -> Sequential {
    let classifier = common::random(rng, &[10, 16], 0.25);
    let identity = identity_block(gpu, rng, 8);
    let (body, shortcut) = downsampling_block(gpu, rng, 8, 16);
    Sequential::new(input_shape)
        .and_then(|m| m.push(conv3x3(gpu, rng, 3, 8)))
        .and_then(|m| m.push(ReLU::new()))
        .and_then(|m| m.push_residual(identity, vec![], Activation::Relu))
        .and_then(|m| m.push_residual(body, shortcut, Activation::Relu))
        .and_then(|m| m.push(GlobalAvgPool2d))
        .and_then(|m| m.push(Layer::Flatten))
        .and_then(|m| m.push(Layer::linear(gpu, &classifier, None, Activation::None)?))
        .unwrap()
}

#[test]
fn small_resnet_matches_reference_in_one_submission() {
    let gpu = common::gpu();
    let mut rng = Rng::new(71);
    let input_shape = [2, 3, 15, 17];
    let mut model = small_resnet(&gpu, &mut rng, &input_shape);
    assert_eq!(model.output_shapes()[2], [2, 8, 15, 17]);
    assert_eq!(model.output_shapes()[3], [2, 16, 8, 9]);
    assert_eq!(model.output_shape(), [2, 10]);
    let host = common::random(&mut rng, &input_shape, 1.0);
    let output = forward_in_one_submission(&gpu, &mut model, &host);
    let expected = model.forward_reference(&host).unwrap();
    common::assert_close(&output, expected.data(), 1e-4, 1e-3, "small ResNet");

    // Counts: the stem, two 3x3 convs at 8 channels, the strided block's two convs and its 1x1
    // shortcut, five batch norms' gamma and beta, the classifier.
    let (full, half) = (2 * 15 * 17, 2 * 8 * 9);
    let macs = full * 8 * 27 + 2 * full * 8 * 72 + half * 16 * 72 + half * 16 * 144;
    let macs = macs + half * 16 * 8 + 2 * 16 * 10;
    assert_eq!(model.macs(), macs as u64);
    let convs = (8 * 27 + 8) + 2 * (8 * 72 + 8) + (16 * 72 + 16) + (16 * 144 + 16) + (16 * 8 + 16);
    let norms = 2 * (8 + 8 + 16 + 16 + 16);
    assert_eq!(model.parameters(), (convs + norms + 160) as u64);
    let summary = model.summary();
    let kinds: Vec<(&str, &str)> = summary
        .rows
        .iter()
        .map(|row| (row.index.as_str(), row.kind.as_str()))
        .collect();
    assert_eq!(kinds[2], ("2", "Residual (identity) +Relu"));
    assert_eq!(kinds[3].0, "2.0.0");
    assert_eq!(kinds[8], ("3", "Residual (projection) +Relu"));
    assert_eq!(kinds[14], ("3.1.0", "Conv2d 1x1 s2 8->16"));
    assert_eq!(summary.macs, macs as u64);
    // Stem 3, identity block +2 +2 = 7; the strided block's body: +2 (jump 1) then +2 * 2 = 13,
    // jump 2; its shortcut keeps 7 at jump 2, so the sum's field is the body's.
    let field = summary.rows[2].receptive_field.unwrap();
    assert_eq!((field.size, field.jump), ([7, 7], [1, 1]));
    let field = summary.rows[8].receptive_field.unwrap();
    assert_eq!((field.size, field.jump), ([13, 13], [2, 2]));
}

#[test]
fn batch_norms_inside_blocks_follow_train_and_eval() {
    let gpu = common::gpu();
    let mut rng = Rng::new(72);
    let body = vec![
        conv3x3(&gpu, &mut rng, 4, 4).into(),
        BatchNorm2d::new(&gpu, 4, BatchNorm2dOptions::default())
            .unwrap()
            .into(),
    ];
    let shortcut = vec![BatchNorm2d::new(&gpu, 4, BatchNorm2dOptions::default())
        .unwrap()
        .into()];
    let mut model = Sequential::new(&[3, 4, 6, 6])
        .and_then(|m| m.push_residual(body, shortcut, Activation::None))
        .unwrap();
    let training = |model: &Sequential| -> Vec<bool> {
        let Layer::Residual { body, shortcut, .. } = &model.layers()[0] else {
            panic!("a residual layer");
        };
        let norms = body.layers().iter().chain(shortcut.layers());
        norms
            .filter_map(|layer| match layer {
                Layer::BatchNorm2d(norm) => Some(norm.is_training()),
                _ => None,
            })
            .collect()
    };
    model.eval();
    assert_eq!(training(&model), [false, false]);
    model.train();
    assert_eq!(training(&model), [true, true]);
    // Training mode: batch statistics on both sides.
    let host = common::random(&mut rng, &[3, 4, 6, 6], 2.0);
    assert_model_matches(&gpu, &mut model, &host, (1e-4, 1e-3), "training-mode block");
}

#[test]
fn a_body_that_changes_the_shape_needs_a_matching_shortcut() {
    let gpu = common::gpu();
    let mut rng = Rng::new(73);
    let base = || Sequential::new(&[1, 4, 8, 8]).unwrap();
    // 4 -> 8 channels with the identity: the sum's shapes differ.
    let body = vec![conv3x3(&gpu, &mut rng, 4, 8).into()];
    let (index, kind, source) = layer_error(base().push_residual(body, vec![], Activation::Relu));
    assert_eq!(
        (index.as_str(), kind.as_str()),
        ("0", "Residual (identity) +Relu")
    );
    assert!(
        matches!(&source, Error::Shape { what, actual, .. } if what == "Residual body output" && actual == &[1, 8, 8, 8]),
        "{source}"
    );
    assert!(source.to_string().contains("[1, 4, 8, 8]"), "{source}");
    // A layer inside the shortcut that does not fit: named as layer 0, branch 1, index 0.
    let body = vec![conv3x3(&gpu, &mut rng, 4, 8).into()];
    let shortcut = vec![conv3x3(&gpu, &mut rng, 3, 8).into()];
    let (index, kind, _) = layer_error(base().push_residual(body, shortcut, Activation::None));
    assert_eq!(
        (index.as_str(), kind.as_str()),
        ("0.1.0", "Conv2d 3x3 p1 3->8")
    );
    // With a 1x1 projection the block builds and runs.
    let body = vec![conv3x3(&gpu, &mut rng, 4, 8).into()];
    let shortcut = vec![conv(&gpu, &mut rng, [8, 4, 1, 1], Conv2dOptions::default()).into()];
    let mut model = base()
        .push_residual(body, shortcut, Activation::Relu6)
        .unwrap();
    let host = common::random(&mut rng, &[1, 4, 8, 8], 3.0);
    let shape = assert_model_matches(&gpu, &mut model, &host, (1e-5, 1e-4), "ReLU6 block");
    assert_eq!(shape, [1, 8, 8, 8]);
}

#[test]
fn folding_batch_norms_keeps_the_function_with_fewer_layers() {
    let gpu = common::gpu();
    let mut rng = Rng::new(74);
    let input_shape = [2, 3, 15, 17];
    let mut model = small_resnet(&gpu, &mut rng, &input_shape);
    let mut folded = model.fold_batch_norms().unwrap();
    // The stem's conv -> ReLU fuses; each block body's conv-BN-ReLU-conv-BN becomes two convs
    // (the first with its ReLU), the projection shortcut's conv-BN one conv.
    let kinds = |model: &Sequential| -> Vec<String> {
        model
            .summary()
            .rows
            .iter()
            .map(|row| row.kind.clone())
            .collect()
    };
    assert_eq!(
        kinds(&folded),
        [
            "Conv2d 3x3 p1 3->8 +Relu",
            "Residual (identity) +Relu",
            "Conv2d 3x3 p1 8->8 +Relu",
            "Conv2d 3x3 p1 8->8",
            "Residual (projection) +Relu",
            "Conv2d 3x3 s2 p1 8->16 +Relu",
            "Conv2d 3x3 p1 16->16",
            "Conv2d 1x1 s2 8->16",
            "GlobalAvgPool2d",
            "Flatten",
            "Linear 16->10",
        ]
    );
    assert_eq!(folded.macs(), model.macs());
    let host = common::random(&mut rng, &input_shape, 1.0);
    let expected = forward_in_one_submission(&gpu, &mut model, &host);
    let output = forward_in_one_submission(&gpu, &mut folded, &host);
    common::assert_close(&output, &expected, 1e-4, 1e-3, "folded ResNet");
    // A batch norm in training mode normalizes with batch statistics: all five stay, and only
    // the stem's ReLU (after a conv, not a batch norm) fuses.
    let mut training = small_resnet(&gpu, &mut rng, &input_shape);
    training.train();
    let folded = training.fold_batch_norms().unwrap();
    assert_eq!(
        folded.summary().rows.len(),
        training.summary().rows.len() - 1
    );
    let norms = kinds(&folded)
        .iter()
        .filter(|kind| kind.starts_with("BatchNorm2d"))
        .count();
    assert_eq!(norms, 5);
}
