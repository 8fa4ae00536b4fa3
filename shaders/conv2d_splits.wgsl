// conv2d_splits: the second pass of a convolution whose input channels were split into chunks
// (src/ops/conv2d/window.rs, on GPUs where the tiles alone would leave most of the chip idle):
// output = activation(bias + the sum of the chunks' partial sums), the chunks added in order.
// Layout: partial [splits, N, C_out, H_out, W_out] (each chunk's sums without bias), bias
// [C_out], output [N, C_out, H_out, W_out] from output_base; all float32.
// Thread mapping: one invocation per output element; the grid is 1-D, laid out in 2-D past
// the per-dimension workgroup limit.

// Mirrors `SplitSumParams` in src/ops/conv2d/window.rs field for field.
struct SplitSumParams {
    count: u32,        // output elements of this dispatch
    splits: u32,       // chunks of input channels
    split_stride: u32, // elements from one chunk's partial sums to the next
    plane: u32,        // H_out * W_out
    out_channels: u32,
    has_bias: u32,
    activation: u32,   // code of `Activation::code`
    leaky_slope: f32,
    output_base: u32,
}

const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: SplitSumParams;
@group(0) @binding(1) var<storage, read> partial: array<f32>; // [splits, N, C_out, H_out, W_out]
@group(0) @binding(2) var<storage, read> bias: array<f32>;    // [C_out] (one dummy value when has_bias = 0)
@group(0) @binding(3) var<storage, read_write> output: array<f32>; // [N, C_out, H_out, W_out] from output_base

// As `activate` in conv2d.wgsl: NaN passes through (tested on the bits).
fn activate(value: f32) -> f32 {
    if ((bitcast<u32>(value) & 0x7fffffffu) > 0x7f800000u) {
        return value;
    }
    switch params.activation {
        case 1u: { return max(value, 0.0); }
        case 2u: { return clamp(value, 0.0, 6.0); }
        case 3u: { return select(value * params.leaky_slope, value, value >= 0.0); }
        default: { return value; }
    }
}

@compute @workgroup_size(64)
fn conv2d_sum_splits(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                     @builtin(local_invocation_index) lane: u32) {
    let index = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    if (index >= params.count) {
        return;
    }
    var sum = 0.0;
    for (var split = 0u; split < params.splits; split++) {
        sum += partial[split * params.split_stride + index];
    }
    if (params.has_bias != 0u) {
        sum += bias[(index / params.plane) % params.out_channels];
    }
    output[params.output_base + index] = activate(sum);
}
