// conv2d_split: a convolution whose grid is too small for a GPU, split over its input channels
// (src/ops/conv2d/channel_split.rs). With the input channels cut into S chunks, out[b, k] =
// act(bias[k] + sum_s partial[b, s * K + k]), where `partial` is the grouped convolution of the
// unchanged input [N, C, H, W] with groups = S and weight [S * K, C / S, KH, KW]: S times the
// invocations, each over a reduction S times shorter.
// `split_weights`: weight [K, S, L] (L = C / S * KH * KW floats per output channel and chunk)
// -> [S, K, L]. One invocation per float.
// `sum_chunks`: partial [N, S * K, P] (P = H_out * W_out) -> output [N, K, P] with bias and
// activation. One invocation per output float.

// Mirrors `ChannelSplitParams` in src/ops/conv2d/channel_split.rs field for field.
struct ChannelSplitParams {
    batch: u32,
    chunks: u32,
    out_channels: u32,
    // split_weights: floats of one output channel's weights in one chunk.
    chunk_length: u32,
    // sum_chunks: output pixels per channel plane.
    plane: u32,
    has_bias: u32,
    activation: u32,
    leaky_slope: f32,
}

const WORKGROUP_SIZE: u32 = 64u; // `WORKGROUP_SIZE` in src/ops/conv2d/channel_split.rs

var<immediate> params: ChannelSplitParams;
// split_weights: weight [K, S, L]; sum_chunks: partial [N, S * K, P].
@group(0) @binding(1) var<storage, read> source: array<f32>;
// split_weights: [S, K, L]; sum_chunks: output [N, K, P].
@group(0) @binding(2) var<storage, read_write> destination: array<f32>;
// sum_chunks: bias [K] (one dummy value when has_bias = 0).
@group(0) @binding(3) var<storage, read> bias: array<f32>;

// Activation codes mirror `Activation::code` in src/ops/activation.rs (as in conv2d.wgsl).
// NaN passes through every activation, as in PyTorch.
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

fn invocation(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32) -> u32 {
    return (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
}

@compute @workgroup_size(64)
fn split_weights(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                 @builtin(local_invocation_index) lane: u32) {
    let index = invocation(workgroup, groups_launched, lane);
    if (index >= params.chunks * params.out_channels * params.chunk_length) {
        return;
    }
    let tap = index % params.chunk_length;
    let row = index / params.chunk_length; // chunk * K + channel
    let channel = row % params.out_channels;
    let chunk = row / params.out_channels;
    destination[index] = source[(channel * params.chunks + chunk) * params.chunk_length + tap];
}

@compute @workgroup_size(64)
fn sum_chunks(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
              @builtin(local_invocation_index) lane: u32) {
    let index = invocation(workgroup, groups_launched, lane);
    let image_size = params.out_channels * params.plane;
    if (index >= params.batch * image_size) {
        return;
    }
    let image = index / image_size;
    let within = index % image_size; // channel * P + pixel
    let channel = within / params.plane;
    var sum = 0.0;
    if (params.has_bias != 0u) {
        sum = bias[channel];
    }
    var at = image * params.chunks * image_size + within;
    for (var chunk = 0u; chunk < params.chunks; chunk++) {
        sum += source[at];
        at += image_size;
    }
    destination[index] = activate(sum);
}
