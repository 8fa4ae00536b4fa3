//! Receptive fields: the arithmetic on hand-computed stacks (VGG-16, the ResNet stem, dilated
//! and even kernels), the model summary agreeing with it, and the empirical check on the GPU:
//! bump one input pixel at a time and compare the bounding box of the input pixels that change
//! each output with the predicted field, for stacks with strides, dilation, pooling and
//! asymmetric windows. Weights and inputs are positive, so no cancellation hides a change.

mod common;

use wgcnn::model::measure_receptive_fields;
use wgcnn::random::Rng;
use wgcnn::{
    AvgPool2d, AvgPool2dOptions, Conv2d, Conv2dOptions, Gpu, HostTensor, MaxPool2d,
    MaxPool2dOptions, Padding, ReLU, ReceptiveField, Sequential, Window,
};

fn window(kernel: usize, stride: usize, padding: usize, dilation: usize) -> Window {
    Window {
        kernel: [kernel; 2],
        stride: [stride; 2],
        padding: [padding; 2],
        dilation: [dilation; 2],
    }
}

#[test]
fn arithmetic_on_hand_computed_stacks() {
    let conv3 = window(3, 1, 1, 1);
    let field = ReceptiveField::of_stack(&[conv3, conv3, conv3]);
    assert_eq!(
        (field.size, field.jump, field.start),
        ([7; 2], [1; 2], [0.0; 2])
    );
    // ResNet stem: 7x7/2 p3 conv, then 3x3/2 p1 max pool.
    let stem = [window(7, 2, 3, 1), window(3, 2, 1, 1)];
    let conv = ReceptiveField::of_stack(&stem[..1]);
    assert_eq!(
        (conv.size, conv.jump, conv.start),
        ([7; 2], [2; 2], [0.0; 2])
    );
    let pool = ReceptiveField::of_stack(&stem);
    assert_eq!(
        (pool.size, pool.jump, pool.start),
        ([11; 2], [4; 2], [0.0; 2])
    );
    // VGG-16 to pool5: 212 pixels, jump 32; each 2x2 pool moves the centre by half its jump.
    let pool2 = window(2, 2, 0, 1);
    let mut vgg = Vec::new();
    for convs in [2, 2, 3, 3, 3] {
        vgg.extend(std::iter::repeat_n(conv3, convs));
        vgg.push(pool2);
    }
    let field = ReceptiveField::of_stack(&vgg);
    assert_eq!((field.size, field.jump), ([212; 2], [32; 2]));
    assert_eq!(field.start, [0.5 + 1.0 + 2.0 + 4.0 + 8.0; 2]);
    // Dilation: k_eff = 5, then 9; "same" padding keeps the centre at 0.
    let field = ReceptiveField::of_stack(&[window(3, 1, 2, 2), window(3, 1, 4, 4)]);
    assert_eq!((field.size, field.start), ([13; 2], [0.0; 2]));
    // Padding moves the field, never grows it.
    let field = ReceptiveField::of_stack(&[window(3, 1, 0, 1)]);
    assert_eq!((field.size, field.start), ([3; 2], [1.0; 2]));
    // An even kernel centres between pixels; axes are independent.
    let field = ReceptiveField::of_stack(&[Window::new([2, 1], [2, 3])]);
    assert_eq!(
        (field.size, field.jump, field.start),
        ([2, 1], [2, 3], [0.5, 0.0])
    );
    // Output (1, 2) of the stem: centre (4, 8), span 11 -> rows -1..=9, columns 3..=13.
    assert_eq!(pool.span([1, 2]), [[-1, 9], [3, 13]]);
    assert_eq!(pool.input_region([1, 2], [8, 12]), [0..8, 3..12]);
}

/// One step of a test stack: a convolution or a pooling with its window.
#[derive(Clone, Copy)]
enum Step {
    Conv(Window),
    /// A convolution with `Padding::Same` and this kernel (stride 1).
    ConvSame([usize; 2]),
    Max(Window),
    Avg(Window),
    Relu,
}

/// Builds `steps` on a 1-channel input with 2 channels inside; every weight is in [0.5, 1).
fn build(gpu: &Gpu, rng: &mut Rng, input: [usize; 2], steps: &[Step]) -> Sequential {
    let mut model = Sequential::new(&[1, 1, input[0], input[1]]).unwrap();
    let mut channels = 1;
    for step in steps {
        let mut conv = |kernel: [usize; 2], options: Conv2dOptions| {
            let shape = [2, channels, kernel[0], kernel[1]];
            let len = shape.iter().product();
            let weight = (0..len).map(|_| 0.5 + 0.5 * rng.uniform() as f32).collect();
            let weight = HostTensor::new(&shape, weight).unwrap();
            channels = 2;
            Conv2d::new(gpu, &weight, None, options).unwrap()
        };
        model = match *step {
            Step::Conv(w) => {
                let options = Conv2dOptions {
                    stride: w.stride,
                    padding: Padding::Symmetric(w.padding),
                    dilation: w.dilation,
                    ..Default::default()
                };
                model.push(conv(w.kernel, options))
            }
            Step::ConvSame(kernel) => {
                let options = Conv2dOptions {
                    padding: Padding::Same,
                    ..Default::default()
                };
                model.push(conv(kernel, options))
            }
            Step::Max(w) => model.push(MaxPool2d::new(MaxPool2dOptions {
                stride: Some(w.stride),
                padding: w.padding,
                dilation: w.dilation,
                ..MaxPool2dOptions::new(w.kernel)
            })),
            Step::Avg(w) => model.push(AvgPool2d::new(AvgPool2dOptions {
                stride: Some(w.stride),
                padding: w.padding,
                ..AvgPool2dOptions::new(w.kernel)
            })),
            Step::Relu => model.push(ReLU::new()),
        }
        .unwrap();
    }
    model
}

/// The predicted field of `steps` from the arithmetic alone.
fn predicted(steps: &[Step]) -> ReceptiveField {
    let windows: Vec<Window> = steps
        .iter()
        .map(|step| match *step {
            Step::Conv(w) | Step::Max(w) | Step::Avg(w) => w,
            // PyTorch's "same": the odd extra padding goes to the bottom/right, so the leading
            // side gets half the total, rounded down.
            Step::ConvSame(kernel) => Window {
                padding: [(kernel[0] - 1) / 2, (kernel[1] - 1) / 2],
                ..Window::new(kernel, [1, 1])
            },
            Step::Relu => Window::IDENTITY,
        })
        .collect();
    ReceptiveField::of_stack(&windows)
}

/// A stack to check: `holes` when its taps leave gaps inside the field (dilation alone).
struct Stack<'a> {
    name: &'a str,
    input: [usize; 2],
    steps: &'a [Step],
    holes: bool,
}

/// Bumps every input pixel in turn and checks every output's measured field against the
/// prediction: every changed pixel inside it, and the changed pixels' bounding box equal to it.
/// Returns the number of changed pixels of each output.
fn check_stack(gpu: &Gpu, stack: Stack) -> Vec<usize> {
    let Stack {
        name,
        input,
        steps,
        holes,
    } = stack;
    let mut rng = Rng::new(71);
    let mut model = build(gpu, &mut rng, input, steps);
    let field = predicted(steps);
    assert_eq!(model.receptive_field(), Some(field), "{name}: summary");
    let len = input[0] * input[1];
    let base = (0..len).map(|_| 0.5 + 0.5 * rng.uniform() as f32).collect();
    let base = HostTensor::new(&[1, 1, input[0], input[1]], base).unwrap();
    let measured = measure_receptive_fields(gpu, &mut model, &base, 1e6).unwrap();
    let [height, width] = measured.output_size;
    let mut counts = Vec::new();
    for row in 0..height {
        for column in 0..width {
            let expected = field.input_region([row, column], input);
            let pixels = measured.pixels([row, column]);
            let context = format!("{name}: output ({row}, {column}), field {field}");
            for pixel in &pixels {
                let inside = (0..2).all(|axis| expected[axis].contains(&pixel[axis]));
                assert!(inside, "{context}: pixel {pixel:?} outside {expected:?}");
            }
            // With holes, a clipped field's box may shrink to the taps left inside the input.
            let span = field.span([row, column]);
            let clipped =
                (0..2).any(|axis| span[axis][0] < 0 || span[axis][1] >= input[axis] as i64);
            if !(holes && clipped) {
                let measured_box = measured.bounding_box([row, column]);
                assert_eq!(measured_box, Some(expected), "{context}");
            }
            counts.push(pixels.len());
        }
    }
    counts
}

/// A stack without holes on a `height x width` input.
fn dense<'a>(name: &'a str, input: [usize; 2], steps: &'a [Step]) -> Stack<'a> {
    Stack {
        name,
        input,
        steps,
        holes: false,
    }
}

#[test]
fn empirical_fields_match_the_arithmetic() {
    let gpu = common::gpu();
    let conv3 = Step::Conv(window(3, 1, 1, 1));
    let steps = [conv3, Step::Relu, conv3, conv3];
    let counts = check_stack(&gpu, dense("three 3x3 convs", [12, 12], &steps));
    // A dense stack reaches every pixel of its field: 7x7 away from the border.
    assert!(counts.contains(&49));
    let strided = Step::Conv(window(3, 2, 1, 1));
    check_stack(&gpu, dense("3x3/2 then 3x3", [12, 12], &[strided, conv3]));
    let dilated = Step::Conv(window(3, 1, 2, 2));
    check_stack(
        &gpu,
        dense("dilated 3x3 then 3x3", [12, 12], &[dilated, conv3]),
    );
    // A dilated kernel alone has holes: 9 of the 25 pixels of its span.
    let steps = [dilated];
    let alone = Stack {
        holes: true,
        ..dense("dilated 3x3 alone", [12, 12], &steps)
    };
    let counts = check_stack(&gpu, alone);
    assert!(counts.iter().all(|&count| count <= 9) && counts.contains(&9));
    let stem = [
        Step::Conv(window(5, 2, 2, 1)),
        Step::Max(window(3, 2, 1, 1)),
        conv3,
    ];
    check_stack(
        &gpu,
        dense("5x5/2 conv, 3x3/2 max, 3x3 conv", [12, 12], &stem),
    );
    let pooled = [
        Step::Avg(window(2, 2, 0, 1)),
        Step::Conv(window(3, 1, 2, 2)),
        Step::Max(window(2, 2, 0, 1)),
    ];
    check_stack(
        &gpu,
        dense("avg 2/2, dilated 3x3, max 2/2", [12, 12], &pooled),
    );
    let same = [Step::ConvSame([4, 4]), Step::ConvSame([2, 3])];
    check_stack(&gpu, dense("4x4 same, 2x3 same", [9, 10], &same));
    let uneven = Window {
        kernel: [3, 5],
        stride: [2, 1],
        padding: [1, 0],
        dilation: [1, 2],
    };
    let steps = [Step::Conv(uneven), conv3];
    check_stack(
        &gpu,
        dense("3x5 window, stride 2x1, dilation 1x2", [11, 14], &steps),
    );
}
