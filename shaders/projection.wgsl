// projection: the 1x1 convolution as a GEMM over channels, out[b, k, p] = bias[k] +
// sum_c weight[k, c] * input[b, c, p], with a fused activation. A fully connected layer is the
// same GEMM with the batch as the pixel axis. Strides are uniforms, so one entry point serves
// both layouts:
//   conv 1x1: input [N, C, H*W] (channel stride H*W, pixel stride 1), output [N, K, H*W];
//   linear:   input [N, C] seen as one batch of N pixels (channel stride 1, pixel stride C),
//             output [N, K] (channel stride 1, pixel stride K).
// Weight: [K, C] row-major (a [K, C, 1, 1] conv weight is the same memory).
// Thread mapping: one invocation computes 8 output channels x 4 consecutive pixels; a workgroup
// covers `pixel_lanes` pixel tiles x (16 / pixel_lanes) channel tiles: 16 pixel tiles of the
// same 8 channels when there are enough pixels (weights uniform across the workgroup), fewer
// for small pixel counts. Channel block fastest, then the pixel block, then the batch: the
// workgroups that read the same input pixels run back to back and share them in cache (GL
// llvmpipe, conv1x1_proj: 27.1 ms with 64-lane workgroups numbered pixel block first, 19.9 now).

// Mirrors `ProjectionParams` in src/ops/projection.rs field for field.
struct ProjectionParams {
    batch: u32,
    in_channels: u32,
    out_channels: u32,
    pixels: u32,
    input_batch_stride: u32,
    input_channel_stride: u32,
    input_pixel_stride: u32,
    output_batch_stride: u32,
    output_channel_stride: u32,
    output_pixel_stride: u32,
    input_base: u32,
    output_base: u32,
    has_bias: u32,
    activation: u32,
    leaky_slope: f32,
    channel_tiles: u32,
    pixel_tiles: u32,
    // Lanes of a workgroup along the pixel tiles (a power of two up to 64); the other factor of
    // 64 spans channel tiles, so a few pixels (a linear layer on a small batch) fill a workgroup.
    pixel_lanes: u32,
}

const CHANNEL_TILE: u32 = 8u;
const PIXEL_TILE: u32 = 4u;
const WORKGROUP_SIZE: u32 = 16u; // `PORTABLE.workgroup_size` in src/ops/projection.rs

var<immediate> params: ProjectionParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;   // see the strides above, from input_base
@group(0) @binding(2) var<storage, read> weight: array<f32>;  // [K, C]
@group(0) @binding(3) var<storage, read> bias: array<f32>;    // [K] (one dummy value when has_bias = 0)
@group(0) @binding(4) var<storage, read_write> output: array<f32>; // see the strides above, from output_base

// Activation codes mirror `Activation::code` in src/ops/activation.rs.
// NaN passes through every activation, as in PyTorch (tested on the bits: GL llvmpipe turns a
// max or a compare-and-select with NaN into a number).
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

@compute @workgroup_size(16)
fn projection(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
              @builtin(local_invocation_index) lane: u32) {
    let block_index = workgroup.x + workgroup.y * groups_launched.x;
    let channel_lanes = WORKGROUP_SIZE / params.pixel_lanes;
    let pixel_blocks = (params.pixel_tiles + params.pixel_lanes - 1u) / params.pixel_lanes;
    let channel_blocks = (params.channel_tiles + channel_lanes - 1u) / channel_lanes;
    let pixel_tile = ((block_index / channel_blocks) % pixel_blocks) * params.pixel_lanes + lane % params.pixel_lanes;
    let channel_tile = (block_index % channel_blocks) * channel_lanes + lane / params.pixel_lanes;
    let batch = block_index / (pixel_blocks * channel_blocks);
    if (batch >= params.batch || pixel_tile >= params.pixel_tiles || channel_tile >= params.channel_tiles) {
        return;
    }
    let first_channel = channel_tile * CHANNEL_TILE;
    let first_pixel = pixel_tile * PIXEL_TILE;

    // Pixels past the end re-read the last pixel; their results are never written.
    let last_pixel = params.pixels - 1u;
    let pixel_offsets = vec4<u32>(min(first_pixel, last_pixel), min(first_pixel + 1u, last_pixel),
        min(first_pixel + 2u, last_pixel), min(first_pixel + 3u, last_pixel)) * params.input_pixel_stride;
    var weight_rows: array<u32, 8>;
    for (var i = 0u; i < CHANNEL_TILE; i++) {
        weight_rows[i] = min(first_channel + i, params.out_channels - 1u) * params.in_channels;
    }

    var acc: array<vec4<f32>, 8>;
    var channel_offset = params.input_base + batch * params.input_batch_stride;
    for (var c = 0u; c < params.in_channels; c++) {
        let x = vec4<f32>(input[channel_offset + pixel_offsets.x], input[channel_offset + pixel_offsets.y],
            input[channel_offset + pixel_offsets.z], input[channel_offset + pixel_offsets.w]);
        for (var i = 0u; i < CHANNEL_TILE; i++) {
            acc[i] = fma(vec4<f32>(weight[weight_rows[i] + c]), x, acc[i]);
        }
        channel_offset += params.input_channel_stride;
    }

    let out_base = params.output_base + batch * params.output_batch_stride;
    for (var i = 0u; i < CHANNEL_TILE; i++) {
        let channel = first_channel + i;
        if (channel >= params.out_channels) {
            break;
        }
        var value = acc[i];
        if (params.has_bias != 0u) {
            value += vec4<f32>(bias[channel]);
        }
        for (var j = 0u; j < PIXEL_TILE; j++) {
            if (first_pixel + j < params.pixels) {
                output[out_base + channel * params.output_channel_stride + (first_pixel + j) * params.output_pixel_stride] = activate(value[j]);
            }
        }
    }
}
