//! `Layer::describe`: the short text that names a layer in summaries and errors, such as
//! `"Conv2d 3x3 s2 p1 3->64 +Relu"` or `"MaxPool2d 3x3 s2 p1"`.

use super::layer::Layer;
use crate::layers::Conv2d;
use crate::ops::activation::Activation;
use crate::shape::Padding;

impl Layer {
    /// What the layer is, for summaries and errors: `"Conv2d 3x3 s2 p1 3->64 +Relu"`.
    pub fn describe(&self) -> String {
        match self {
            Layer::Conv2d(conv) => describe_conv(conv),
            Layer::BatchNorm2d(norm) => format!("BatchNorm2d {}", norm.channels()),
            Layer::ReLU(_) => "ReLU".into(),
            Layer::ReLU6(_) => "ReLU6".into(),
            Layer::LeakyReLU(leaky) => format!("LeakyReLU {}", leaky.negative_slope),
            Layer::MaxPool2d(pool) => {
                let o = &pool.options;
                let stride = o.stride.unwrap_or(o.kernel_size);
                let window = describe_window(o.kernel_size, stride, o.padding, o.dilation);
                format!("MaxPool2d {window}")
            }
            Layer::AvgPool2d(pool) => {
                let o = &pool.options;
                let stride = o.stride.unwrap_or(o.kernel_size);
                let window = describe_window(o.kernel_size, stride, o.padding, [1, 1]);
                format!("AvgPool2d {window}")
            }
            Layer::AdaptiveAvgPool2d(pool) => {
                let [h, w] = pool.output_size;
                format!("AdaptiveAvgPool2d {h}x{w}")
            }
            Layer::AdaptiveMaxPool2d(pool) => {
                let [h, w] = pool.output_size;
                format!("AdaptiveMaxPool2d {h}x{w}")
            }
            Layer::GlobalAvgPool2d(_) => "GlobalAvgPool2d".into(),
            Layer::GlobalMaxPool2d(_) => "GlobalMaxPool2d".into(),
            Layer::Linear(layer) => {
                let shape = layer.weight().shape();
                let activation = describe_activation(layer.activation());
                format!("Linear {}->{}{activation}", shape[1], shape[0])
            }
            Layer::Flatten => "Flatten".into(),
            Layer::Concat(branches) => format!("Concat {} branches", branches.len()),
            Layer::Residual {
                shortcut,
                activation,
                ..
            } => {
                let shortcut = if shortcut.is_empty() {
                    "identity"
                } else {
                    "projection"
                };
                format!("Residual ({shortcut}){}", describe_activation(*activation))
            }
        }
    }
}

fn describe_conv(conv: &Conv2d) -> String {
    let shape = conv.weight().shape();
    let options = conv.options();
    let mut text = format!("Conv2d {}x{}", shape[2], shape[3]);
    if options.stride != [1, 1] {
        text += &format!(" s{}", axis_pair(options.stride));
    }
    match options.padding {
        Padding::Zero | Padding::Symmetric([0, 0]) => {}
        Padding::Symmetric(padding) => text += &format!(" p{}", axis_pair(padding)),
        Padding::Explicit(sides) => text += &format!(" p{sides:?}"),
        Padding::Same => text += " same",
    }
    if options.dilation != [1, 1] {
        text += &format!(" d{}", axis_pair(options.dilation));
    }
    if options.groups > 1 {
        text += &format!(" g{}", options.groups);
    }
    let in_channels = shape[1] * options.groups;
    text += &format!(" {in_channels}->{}", shape[0]);
    text + &describe_activation(options.activation)
}

fn describe_window(
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
) -> String {
    let mut text = format!("{}x{} s{}", kernel[0], kernel[1], axis_pair(stride));
    if padding != [0, 0] {
        text += &format!(" p{}", axis_pair(padding));
    }
    if dilation != [1, 1] {
        text += &format!(" d{}", axis_pair(dilation));
    }
    text
}

fn describe_activation(activation: Activation) -> String {
    match activation {
        Activation::None => String::new(),
        Activation::LeakyRelu(slope) => format!(" +LeakyRelu({slope})"),
        other => format!(" +{other:?}"),
    }
}

/// `2` when both axes agree, else `2x1`.
fn axis_pair(values: [usize; 2]) -> String {
    if values[0] == values[1] {
        values[0].to_string()
    } else {
        format!("{}x{}", values[0], values[1])
    }
}
