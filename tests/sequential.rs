//! Sequential models on the GPU against their CPU reference: a small CNN (conv-BN-ReLU-pool
//! blocks, global pool, flatten, linear) and an Inception-style module (four branches
//! concatenated along channels), each run in exactly one submission; build-time shape errors
//! that name the layer; parameter and multiply-accumulate counts; channel concatenation.
//! Outputs are NaN-poisoned before every op, so unwritten elements fail.

mod common;

use common::{
    assert_model_matches, batch_norm_eval, conv, conv3x3, forward_in_one_submission, layer_error,
};
use wgcnn::model::concat_channels_reference;
use wgcnn::random::Rng;
use wgcnn::{
    concat_channels, Activation, AvgPool2d, AvgPool2dOptions, BatchNorm2d, BatchNorm2dOptions,
    Conv2d, Conv2dOptions, Error, GlobalAvgPool2d, Gpu, HostTensor, Layer, MaxPool2d,
    MaxPool2dOptions, Padding, ReLU, Sequential,
};

fn small_cnn(gpu: &Gpu, rng: &mut Rng, input_shape: &[usize]) -> Sequential {
    let classifier = common::random(rng, &[10, 16], 0.25);
    let classifier_bias = common::random(rng, &[10], 0.1);
    Sequential::new(input_shape)
        .unwrap()
        .push(conv3x3(gpu, rng, 3, 8))
        .and_then(|m| m.push(batch_norm_eval(gpu, rng, 8)))
        .and_then(|m| m.push(ReLU::new()))
        .and_then(|m| m.push(MaxPool2d::new(MaxPool2dOptions::new([2, 2]))))
        .and_then(|m| m.push(conv3x3(gpu, rng, 8, 16)))
        // Training mode: batch statistics, running statistics updated on the GPU.
        .and_then(|m| m.push(BatchNorm2d::new(gpu, 16, BatchNorm2dOptions::default())?))
        .and_then(|m| m.push(ReLU::in_place()))
        .and_then(|m| m.push(AvgPool2d::new(AvgPool2dOptions::new([2, 2]))))
        .and_then(|m| m.push(GlobalAvgPool2d))
        .and_then(|m| m.push(Layer::Flatten))
        .and_then(|m| {
            m.push(Layer::linear(
                gpu,
                &classifier,
                Some(&classifier_bias),
                Activation::None,
            )?)
        })
        .unwrap()
}

#[test]
fn small_cnn_matches_reference_in_one_submission() {
    let gpu = common::gpu();
    let mut rng = Rng::new(61);
    let input_shape = [2, 3, 19, 19];
    let mut model = small_cnn(&gpu, &mut rng, &input_shape);
    assert_eq!(model.output_shape(), [2, 10]);
    let host = common::random(&mut rng, &input_shape, 1.0);
    // The model's first layer is not in place, and nothing else may touch the caller's input.
    let output = forward_in_one_submission(&gpu, &mut model, &host);
    let expected = model.forward_reference(&host).unwrap();
    assert_eq!(expected.shape(), [2, 10]);
    common::assert_close(&output, expected.data(), 1e-4, 1e-3, "small CNN");
    // A different batch size runs on the same model.
    let host = common::random(&mut rng, &[3, 3, 19, 19], 1.0);
    let shape = assert_model_matches(&gpu, &mut model, &host, (1e-4, 1e-3), "batch 3");
    assert_eq!(shape, [3, 10]);
}

#[test]
fn in_place_activation_first_leaves_the_input_alone() {
    let gpu = common::gpu();
    let host = HostTensor::new(&[1, 1, 2, 2], vec![-1.0, 2.0, -3.0, 4.0]).unwrap();
    let input = host.upload(&gpu).unwrap();
    let mut model = Sequential::new(&[1, 1, 2, 2])
        .and_then(|m| m.push(Layer::Flatten))
        .and_then(|m| m.push(ReLU::in_place()))
        .unwrap();
    assert_eq!(
        model.forward(&input).unwrap().to_vec().unwrap(),
        [0.0, 2.0, 0.0, 4.0]
    );
    assert_eq!(input.to_vec().unwrap(), host.data());
}

/// The Inception (3a) layout at a small size: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | maxpool -> 1x1.
fn inception_branches(gpu: &Gpu, rng: &mut Rng, in_channels: usize) -> Vec<Vec<Layer>> {
    let relu = |conv: Conv2d| Layer::from(conv.with_activation(Activation::Relu));
    let same = |k: usize| Conv2dOptions {
        padding: Padding::Symmetric([k / 2, k / 2]),
        ..Default::default()
    };
    let pool = MaxPool2dOptions {
        stride: Some([1, 1]),
        padding: [1, 1],
        ..MaxPool2dOptions::new([3, 3])
    };
    vec![
        vec![relu(conv(gpu, rng, [8, in_channels, 1, 1], same(1)))],
        vec![
            relu(conv(gpu, rng, [6, in_channels, 1, 1], same(1))),
            relu(conv(gpu, rng, [8, 6, 3, 3], same(3))),
        ],
        vec![
            relu(conv(gpu, rng, [4, in_channels, 1, 1], same(1))),
            relu(conv(gpu, rng, [6, 4, 5, 5], same(5))),
        ],
        vec![
            MaxPool2d::new(pool).into(),
            relu(conv(gpu, rng, [4, in_channels, 1, 1], same(1))),
        ],
    ]
}

#[test]
fn inception_module_matches_reference_in_one_submission() {
    let gpu = common::gpu();
    let mut rng = Rng::new(62);
    let input_shape = [2, 16, 9, 11];
    let branches = inception_branches(&gpu, &mut rng, 16);
    let mut model = Sequential::new(&input_shape)
        .and_then(|m| m.push_branches(branches))
        .unwrap();
    assert_eq!(model.output_shape(), [2, 8 + 8 + 6 + 4, 9, 11]);
    let pixels = 2 * 9 * 11;
    let macs = pixels * (16 * 8 + 16 * 6 + 6 * 8 * 9 + 16 * 4 + 4 * 6 * 25 + 16 * 4);
    assert_eq!(model.macs(), macs as u64);
    let parameters = (16 + 1) * 8 + (16 + 1) * 6 + (6 * 9 + 1) * 8 + (16 + 1) * 4;
    assert_eq!(
        model.parameters(),
        (parameters + (4 * 25 + 1) * 6 + (16 + 1) * 4) as u64
    );
    let host = common::random(&mut rng, &input_shape, 1.0);
    let output = forward_in_one_submission(&gpu, &mut model, &host);
    let expected = model.forward_reference(&host).unwrap();
    common::assert_close(&output, expected.data(), 1e-5, 1e-4, "inception module");
    let summary = model.summary();
    assert_eq!(summary.rows.len(), 1 + 1 + 2 + 2 + 2);
    assert_eq!(summary.rows[6].index, "0.3.0");
    assert_eq!(summary.macs, macs as u64);
    // The largest branch field is the 5x5's.
    assert_eq!(summary.rows[0].receptive_field.unwrap().size, [5, 5]);
}

#[test]
fn concat_channels_places_each_input_in_its_channel_range() {
    let gpu = common::gpu();
    let mut rng = Rng::new(63);
    let hosts: Vec<HostTensor> = [1, 3, 2]
        .iter()
        .map(|&c| common::random(&mut rng, &[3, c, 5, 7], 1.0))
        .collect();
    let tensors: Vec<_> = hosts.iter().map(|h| h.upload(&gpu).unwrap()).collect();
    let output = concat_channels(&tensors.iter().collect::<Vec<_>>()).unwrap();
    assert_eq!(output.shape(), [3, 6, 5, 7]);
    let expected = concat_channels_reference(&hosts).unwrap();
    assert_eq!(output.to_vec().unwrap(), expected.data());
    let wrong = common::random(&mut rng, &[3, 1, 5, 6], 1.0)
        .upload(&gpu)
        .unwrap();
    assert!(matches!(
        concat_channels(&[&tensors[0], &wrong]),
        Err(Error::Shape { .. })
    ));
    assert!(matches!(concat_channels(&[]), Err(Error::Parameter { .. })));
}

#[test]
fn shape_errors_name_the_layer_at_build_time() {
    let gpu = common::gpu();
    let mut rng = Rng::new(64);
    let base = || Sequential::new(&[1, 3, 8, 8]).unwrap();
    let (index, kind, source) = layer_error(
        base()
            .push(conv3x3(&gpu, &mut rng, 3, 8))
            .and_then(|m| m.push(ReLU::new()))
            .and_then(|m| m.push(conv3x3(&gpu, &mut rng, 4, 8))),
    );
    assert_eq!((index.as_str(), kind.as_str()), ("2", "Conv2d 3x3 p1 4->8"));
    assert!(matches!(source, Error::Shape { .. }), "{source}");
    let (index, kind, _) = layer_error(
        base()
            .push(GlobalAvgPool2d)
            .and_then(|m| m.push(Layer::Flatten))
            .and_then(|m| {
                let weight = HostTensor::filled(&[10, 4], 0.1);
                m.push(Layer::linear(&gpu, &weight, None, Activation::None)?)
            }),
    );
    assert_eq!((index.as_str(), kind.as_str()), ("2", "Linear 4->10"));
    let (index, kind, _) =
        layer_error(base().push(BatchNorm2d::new(&gpu, 4, BatchNorm2dOptions::default()).unwrap()));
    assert_eq!((index.as_str(), kind.as_str()), ("0", "BatchNorm2d 4"));
    let (index, _, source) =
        layer_error(base().push(MaxPool2d::new(MaxPool2dOptions::new([9, 9]))));
    assert_eq!(index, "0");
    assert!(matches!(source, Error::EmptyOutput { .. }), "{source}");
    // Inside a branch: layer 1 of branch 1 of layer 0.
    let strided = Conv2dOptions {
        stride: [2, 2],
        ..Default::default()
    };
    let (index, kind, _) = layer_error(base().push_branches(vec![
        vec![conv3x3(&gpu, &mut rng, 3, 4).into()],
        vec![
            conv3x3(&gpu, &mut rng, 3, 4).into(),
            conv3x3(&gpu, &mut rng, 3, 4).into(),
        ],
    ]));
    assert_eq!(
        (index.as_str(), kind.as_str()),
        ("0.1.1", "Conv2d 3x3 p1 3->4")
    );
    // Branches whose outputs differ in size cannot be concatenated.
    let (index, kind, source) = layer_error(base().push_branches(vec![
        vec![conv3x3(&gpu, &mut rng, 3, 4).into()],
        vec![conv(&gpu, &mut rng, [4, 3, 1, 1], strided).into()],
    ]));
    assert_eq!((index.as_str(), kind.as_str()), ("0", "Concat 2 branches"));
    assert!(matches!(source, Error::Shape { .. }), "{source}");
    // The input of forward must match the built shape but for the batch.
    let mut model = base().push(ReLU::new()).unwrap();
    let wrong = HostTensor::filled(&[1, 3, 8, 9], 1.0).upload(&gpu).unwrap();
    assert!(matches!(model.forward(&wrong), Err(Error::Shape { .. })));
    assert!(matches!(
        Sequential::new(&[1, 0, 8, 8]),
        Err(Error::Shape { .. })
    ));
}

#[test]
fn summary_counts_parameters_and_macs() {
    let gpu = common::gpu();
    let mut rng = Rng::new(65);
    let model = small_cnn(&gpu, &mut rng, &[2, 3, 19, 19]);
    let summary = model.summary();
    let conv1 = 8 * 3 * 9 + 8;
    let conv2 = 16 * 8 * 9 + 16;
    assert_eq!(summary.rows[0].parameters, conv1 as u64);
    assert_eq!(summary.rows[0].macs, (2 * 8 * 19 * 19 * 27) as u64);
    assert_eq!(summary.rows[4].macs, (2 * 16 * 9 * 9 * 72) as u64);
    assert_eq!(summary.rows[10].macs, (2 * 16 * 10) as u64);
    let parameters = conv1 + 2 * 8 + conv2 + 2 * 16 + 16 * 10 + 10;
    assert_eq!(summary.parameters, parameters as u64);
    assert_eq!(model.parameters(), parameters as u64);
    // conv 3 -> pool 2 -> conv 3 -> pool 2: size 3 + 1 + 2*2 + 1*2 = 10, jump 4.
    let field = summary.rows[7].receptive_field.unwrap();
    assert_eq!((field.size, field.jump), ([10, 10], [4, 4]));
    let text = summary.to_string();
    assert!(text.contains("Conv2d 3x3 p1 3->8"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("total"), "{text}");
}
