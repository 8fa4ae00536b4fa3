//! What each output sees. Prints the summaries of VGG-16's convolutional part and of the ResNet
//! stem (receptive field size, jump and start per layer, from the arithmetic in
//! `wgcnn::receptive_field`), checks the arithmetic empirically on the GPU (bump one input
//! pixel at a time, see which outputs change) on thin versions of both, and draws one output's
//! field on the input grid as an SVG picture.
//!
//! `cargo run --release --example receptive_field [picture.svg]` (default
//! `target/receptive_field.svg`)

use wgcnn::model::{measure_receptive_fields, MeasuredFields};
use wgcnn::random::Rng;
use wgcnn::{
    BatchNorm2d, BatchNorm2dOptions, Conv2d, Conv2dOptions, Gpu, HostTensor, MaxPool2d,
    MaxPool2dOptions, Padding, ReLU, ReceptiveField, Result, Sequential,
};

/// A layer of the stacks below: a convolution (kernel, stride, padding, output channels) or a
/// max pooling (kernel, stride, padding).
#[derive(Clone, Copy)]
enum Step {
    Conv(usize, usize, usize, usize),
    Pool(usize, usize, usize),
}

/// VGG-16's convolutional part: 2, 2, 3, 3, 3 3x3 convolutions, each block closed by a 2x2 pool.
fn vgg16() -> Vec<Step> {
    let mut steps = Vec::new();
    for (convs, channels) in [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)] {
        steps.extend(std::iter::repeat_n(Step::Conv(3, 1, 1, channels), convs));
        steps.push(Step::Pool(2, 2, 0));
    }
    steps
}

/// ResNet's stem: 7x7/2 convolution to 64 channels, then a 3x3/2 max pool.
fn resnet_stem() -> Vec<Step> {
    vec![Step::Conv(7, 2, 3, 64), Step::Pool(3, 2, 1)]
}

/// Builds `steps` (conv -> batch norm -> ReLU for each convolution). With `thin`, every
/// convolution has 2 output channels and positive random weights, for the empirical check.
fn build(
    gpu: &Gpu,
    rng: &mut Rng,
    input: [usize; 4],
    steps: &[Step],
    thin: bool,
) -> Result<Sequential> {
    let mut model = Sequential::new(&input)?;
    let mut channels = input[1];
    for step in steps {
        model = match *step {
            Step::Conv(kernel, stride, padding, out_channels) => {
                let out_channels = if thin { 2 } else { out_channels };
                let shape = [out_channels, channels, kernel, kernel];
                let len = shape.iter().product();
                let weight = if thin {
                    HostTensor::new(
                        &shape,
                        (0..len).map(|_| 0.5 + rng.uniform() as f32 / 2.0).collect(),
                    )?
                } else {
                    HostTensor::filled(&shape, 0.01)
                };
                let options = Conv2dOptions {
                    stride: [stride; 2],
                    padding: Padding::Symmetric([padding; 2]),
                    ..Default::default()
                };
                channels = out_channels;
                let mut norm = BatchNorm2d::new(gpu, channels, BatchNorm2dOptions::default())?;
                norm.eval();
                model
                    .push(Conv2d::new(gpu, &weight, None, options)?)?
                    .push(norm)?
                    .push(ReLU::new())?
            }
            Step::Pool(kernel, stride, padding) => {
                model.push(MaxPool2d::new(MaxPool2dOptions {
                    stride: Some([stride; 2]),
                    padding: [padding; 2],
                    ..MaxPool2dOptions::new([kernel; 2])
                }))?
            }
        };
    }
    Ok(model)
}

/// Runs the empirical check on a thin model; returns the measurement and the predicted field.
fn check(
    gpu: &Gpu,
    rng: &mut Rng,
    name: &str,
    size: usize,
    steps: &[Step],
) -> Result<(MeasuredFields, ReceptiveField), Box<dyn std::error::Error>> {
    let mut model = build(gpu, rng, [1, 1, size, size], steps, true)?;
    let field = model
        .receptive_field()
        .expect("a conv/pool stack has a field");
    let base: Vec<f32> = (0..size * size)
        .map(|_| 0.5 + rng.uniform() as f32 / 2.0)
        .collect();
    let base = HostTensor::new(&[1, 1, size, size], base)?;
    let measured = measure_receptive_fields(gpu, &mut model, &base, 1e6)?;
    let [height, width] = measured.output_size;
    let mut mismatches = 0;
    for row in 0..height {
        for column in 0..width {
            let predicted = field.input_region([row, column], [size, size]);
            mismatches += usize::from(measured.bounding_box([row, column]) != Some(predicted));
        }
    }
    println!(
        "{name} on a {size}x{size} input: {field}; {} outputs checked, {mismatches} differ from the prediction",
        height * width
    );
    if mismatches > 0 {
        return Err(format!("{name}: measured fields differ from the arithmetic").into());
    }
    Ok((measured, field))
}

/// An SVG picture of output `index`'s field on the input grid: the pixels that changed it
/// (filled), the predicted field (outline, unclipped) and its centre.
fn picture(measured: &MeasuredFields, field: &ReceptiveField, index: [usize; 2]) -> String {
    const CELL: usize = 14;
    let [height, width] = measured.input_size;
    let margin = 3 * CELL;
    let (total_width, total_height) = (width * CELL + 2 * margin, height * CELL + 2 * margin + 30);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{total_width}\" height=\"{total_height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let changed = measured.pixels(index);
    for row in 0..height {
        for column in 0..width {
            let fill = if changed.contains(&[row, column]) {
                "#f4a261"
            } else {
                "#f1f1f1"
            };
            svg += &format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{CELL}\" height=\"{CELL}\" fill=\"{fill}\" stroke=\"#ccc\"/>\n",
                margin + column * CELL,
                margin + row * CELL
            );
        }
    }
    let span = field.span(index);
    let to_pixels = |value: f64| margin as f64 + value * CELL as f64;
    svg += &format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#264653\" stroke-width=\"2\"/>\n",
        to_pixels(span[1][0] as f64),
        to_pixels(span[0][0] as f64),
        field.size[1] * CELL,
        field.size[0] * CELL
    );
    let centre = field.centre(index);
    svg += &format!(
        "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"#e63946\"/>\n",
        to_pixels(centre[1] + 0.5),
        to_pixels(centre[0] + 0.5)
    );
    svg += &format!(
        "<text x=\"{margin}\" y=\"{}\">output {index:?} of the ResNet stem: {field}; filled: input pixels \
         that change it (measured), outline: predicted field</text>\n</svg>\n",
        total_height - 12
    );
    svg
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gpu = Gpu::new()?;
    let mut rng = Rng::new(5);
    println!("Receptive fields on {}\n", gpu.adapter_info());
    let vgg = build(&gpu, &mut rng, [1, 3, 224, 224], &vgg16(), false)?;
    println!("VGG-16, convolutional part\n{}\n", vgg.summary());
    let stem = build(&gpu, &mut rng, [1, 3, 224, 224], &resnet_stem(), false)?;
    println!("ResNet stem\n{}\n", stem.summary());
    check(
        &gpu,
        &mut rng,
        "VGG-16's first two blocks",
        24,
        &vgg16()[..6],
    )?;
    let (measured, field) = check(&gpu, &mut rng, "ResNet stem", 32, &resnet_stem())?;
    // Default under target/, which git ignores.
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/receptive_field.svg".into());
    if let Some(parent) = std::path::Path::new(&path).parent() {
        std::fs::create_dir_all(parent)?;
    }
    let index = [3, 2];
    std::fs::write(&path, picture(&measured, &field, index))?;
    println!("wrote {path}: output {index:?} of the stem, its field on the 32x32 input grid");
    Ok(())
}
