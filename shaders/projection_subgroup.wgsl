// projection_subgroup: the projection GEMM (see projection.wgsl for the semantics, strides and
// layouts) for adapters with subgroup operations and subgroups of at least 8 invocations.
// Thread mapping: one invocation computes 4 consecutive pixels x 32 output channels; a
// workgroup covers 64 such pixel tiles for the same 32 channels (pixel tile fastest, then the
// channel tile, then the batch). The reduction over input channels runs 8 at a time: lane l of
// each subgroup loads the 32 weights of channel c0 + (l % 8) and subgroupBroadcast hands them
// to every lane, so the (per-lane, expensive on a CPU adapter) weight loads drop 8-fold.
// Subgroup builtins need the SUBGROUP feature (naga does not take `enable subgroups;` yet).

// Mirrors `ProjectionParams` in src/ops/projection.rs field for field (as in projection.wgsl).
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
    // Always 64 here: a workgroup's lanes all take pixel tiles (see projection.wgsl).
    pixel_lanes: u32,
}

const CHANNEL_TILE: u32 = 32u;
const PIXEL_TILE: u32 = 4u;
const CHANNEL_CHUNK: u32 = 8u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: ProjectionParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;   // see projection.wgsl, from input_base
@group(0) @binding(2) var<storage, read> weight: array<f32>;  // [K, C]
@group(0) @binding(3) var<storage, read> bias: array<f32>;    // [K] (one dummy value when has_bias = 0)
@group(0) @binding(4) var<storage, read_write> output: array<f32>; // see projection.wgsl, from output_base

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

// m + w x^T, one column at a time (column j gains w * x[j]). Updating the columns in place
// measured ~40% faster on llvmpipe than adding a separately built outer-product matrix
// (m += outer(w, x)); llvmpipe emits a multiply and an add for fma either way, GPUs one fma.
fn outer_add(m: mat4x4<f32>, w: vec4<f32>, x: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(w, vec4<f32>(x.x), m[0]), fma(w, vec4<f32>(x.y), m[1]),
                       fma(w, vec4<f32>(x.z), m[2]), fma(w, vec4<f32>(x.w), m[3]));
}

// The 4 pixels of input channel `channel` (0 past the last channel).
fn channel_input(channel_base: u32, channel: u32, pixel_offsets: vec4<u32>) -> vec4<f32> {
    let valid = channel < params.in_channels;
    let base = select(0u, channel_base, valid);
    return select(vec4<f32>(0.0), vec4<f32>(input[base + pixel_offsets.x], input[base + pixel_offsets.y],
        input[base + pixel_offsets.z], input[base + pixel_offsets.w]), valid);
}

// Adds bias, activates and stores 4 channels x 4 pixels (matrix column j = pixel j).
fn store_tile(tile: mat4x4<f32>, channel_start: u32, out_base: u32, first_pixel: u32) {
    for (var i = 0u; i < 4u; i++) {
        let channel = channel_start + i;
        if (channel >= params.out_channels) {
            return;
        }
        var bias_value = 0.0;
        if (params.has_bias != 0u) {
            bias_value = bias[channel];
        }
        for (var j = 0u; j < PIXEL_TILE; j++) {
            if (first_pixel + j < params.pixels) {
                output[out_base + channel * params.output_channel_stride + (first_pixel + j) * params.output_pixel_stride] =
                    activate(tile[j][i] + bias_value);
            }
        }
    }
}

@compute @workgroup_size(64)
fn projection_subgroup(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                       @builtin(local_invocation_index) lane: u32, @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let block_index = workgroup.x + workgroup.y * groups_launched.x;
    let pixel_blocks = (params.pixel_tiles + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
    let batch = min(block_index / (pixel_blocks * params.channel_tiles), params.batch - 1u);
    let unclamped_tile = (block_index % pixel_blocks) * WORKGROUP_SIZE + lane;
    // Every lane runs the loop (subgroupBroadcast needs the whole subgroup); lanes past the end
    // compute a copy of the last tile and store nothing.
    let lane_in_range = block_index < params.batch * pixel_blocks * params.channel_tiles && unclamped_tile < params.pixel_tiles;
    let first_pixel = min(unclamped_tile, params.pixel_tiles - 1u) * PIXEL_TILE;
    let first_channel = ((block_index / pixel_blocks) % params.channel_tiles) * CHANNEL_TILE;
    let last_pixel = params.pixels - 1u;
    let pixel_offsets = min(vec4<u32>(0u, 1u, 2u, 3u) + first_pixel, vec4<u32>(last_pixel)) * params.input_pixel_stride;
    // Weight rows of the tile's 32 channels (channels past the end re-read the last).
    let last = vec4<u32>(params.out_channels - 1u);
    let rows0 = min(vec4<u32>(0u, 1u, 2u, 3u) + first_channel, last) * params.in_channels;
    let rows1 = min(vec4<u32>(4u, 5u, 6u, 7u) + first_channel, last) * params.in_channels;
    let rows2 = min(vec4<u32>(8u, 9u, 10u, 11u) + first_channel, last) * params.in_channels;
    let rows3 = min(vec4<u32>(12u, 13u, 14u, 15u) + first_channel, last) * params.in_channels;
    let rows4 = min(vec4<u32>(16u, 17u, 18u, 19u) + first_channel, last) * params.in_channels;
    let rows5 = min(vec4<u32>(20u, 21u, 22u, 23u) + first_channel, last) * params.in_channels;
    let rows6 = min(vec4<u32>(24u, 25u, 26u, 27u) + first_channel, last) * params.in_channels;
    let rows7 = min(vec4<u32>(28u, 29u, 30u, 31u) + first_channel, last) * params.in_channels;

    var m0: mat4x4<f32>;
    var m1: mat4x4<f32>;
    var m2: mat4x4<f32>;
    var m3: mat4x4<f32>;
    var m4: mat4x4<f32>;
    var m5: mat4x4<f32>;
    var m6: mat4x4<f32>;
    var m7: mat4x4<f32>;
    var x: vec4<f32>;
    var channel_base = params.input_base + batch * params.input_batch_stride;
    for (var c0 = 0u; c0 < params.in_channels; c0 += CHANNEL_CHUNK) {
        let my_channel = c0 + subgroup_lane % CHANNEL_CHUNK;
        let k = min(my_channel, params.in_channels - 1u);
        let zero = my_channel >= params.in_channels;
        let w0 = select(vec4<f32>(weight[rows0.x + k], weight[rows0.y + k], weight[rows0.z + k], weight[rows0.w + k]), vec4<f32>(0.0), zero);
        let w1 = select(vec4<f32>(weight[rows1.x + k], weight[rows1.y + k], weight[rows1.z + k], weight[rows1.w + k]), vec4<f32>(0.0), zero);
        let w2 = select(vec4<f32>(weight[rows2.x + k], weight[rows2.y + k], weight[rows2.z + k], weight[rows2.w + k]), vec4<f32>(0.0), zero);
        let w3 = select(vec4<f32>(weight[rows3.x + k], weight[rows3.y + k], weight[rows3.z + k], weight[rows3.w + k]), vec4<f32>(0.0), zero);
        let w4 = select(vec4<f32>(weight[rows4.x + k], weight[rows4.y + k], weight[rows4.z + k], weight[rows4.w + k]), vec4<f32>(0.0), zero);
        let w5 = select(vec4<f32>(weight[rows5.x + k], weight[rows5.y + k], weight[rows5.z + k], weight[rows5.w + k]), vec4<f32>(0.0), zero);
        let w6 = select(vec4<f32>(weight[rows6.x + k], weight[rows6.y + k], weight[rows6.z + k], weight[rows6.w + k]), vec4<f32>(0.0), zero);
        let w7 = select(vec4<f32>(weight[rows7.x + k], weight[rows7.y + k], weight[rows7.z + k], weight[rows7.w + k]), vec4<f32>(0.0), zero);
        x = channel_input(channel_base, c0 + 0u, pixel_offsets);
        m0 = outer_add(m0, subgroupBroadcast(w0, 0u), x);
        m1 = outer_add(m1, subgroupBroadcast(w1, 0u), x);
        m2 = outer_add(m2, subgroupBroadcast(w2, 0u), x);
        m3 = outer_add(m3, subgroupBroadcast(w3, 0u), x);
        m4 = outer_add(m4, subgroupBroadcast(w4, 0u), x);
        m5 = outer_add(m5, subgroupBroadcast(w5, 0u), x);
        m6 = outer_add(m6, subgroupBroadcast(w6, 0u), x);
        m7 = outer_add(m7, subgroupBroadcast(w7, 0u), x);
        channel_base += params.input_channel_stride;
        x = channel_input(channel_base, c0 + 1u, pixel_offsets);
        m0 = outer_add(m0, subgroupBroadcast(w0, 1u), x);
        m1 = outer_add(m1, subgroupBroadcast(w1, 1u), x);
        m2 = outer_add(m2, subgroupBroadcast(w2, 1u), x);
        m3 = outer_add(m3, subgroupBroadcast(w3, 1u), x);
        m4 = outer_add(m4, subgroupBroadcast(w4, 1u), x);
        m5 = outer_add(m5, subgroupBroadcast(w5, 1u), x);
        m6 = outer_add(m6, subgroupBroadcast(w6, 1u), x);
        m7 = outer_add(m7, subgroupBroadcast(w7, 1u), x);
        channel_base += params.input_channel_stride;
        x = channel_input(channel_base, c0 + 2u, pixel_offsets);
        m0 = outer_add(m0, subgroupBroadcast(w0, 2u), x);
        m1 = outer_add(m1, subgroupBroadcast(w1, 2u), x);
        m2 = outer_add(m2, subgroupBroadcast(w2, 2u), x);
        m3 = outer_add(m3, subgroupBroadcast(w3, 2u), x);
        m4 = outer_add(m4, subgroupBroadcast(w4, 2u), x);
        m5 = outer_add(m5, subgroupBroadcast(w5, 2u), x);
        m6 = outer_add(m6, subgroupBroadcast(w6, 2u), x);
        m7 = outer_add(m7, subgroupBroadcast(w7, 2u), x);
        channel_base += params.input_channel_stride;
        x = channel_input(channel_base, c0 + 3u, pixel_offsets);
        m0 = outer_add(m0, subgroupBroadcast(w0, 3u), x);
        m1 = outer_add(m1, subgroupBroadcast(w1, 3u), x);
        m2 = outer_add(m2, subgroupBroadcast(w2, 3u), x);
        m3 = outer_add(m3, subgroupBroadcast(w3, 3u), x);
        m4 = outer_add(m4, subgroupBroadcast(w4, 3u), x);
        m5 = outer_add(m5, subgroupBroadcast(w5, 3u), x);
        m6 = outer_add(m6, subgroupBroadcast(w6, 3u), x);
        m7 = outer_add(m7, subgroupBroadcast(w7, 3u), x);
        channel_base += params.input_channel_stride;
        x = channel_input(channel_base, c0 + 4u, pixel_offsets);
        m0 = outer_add(m0, subgroupBroadcast(w0, 4u), x);
        m1 = outer_add(m1, subgroupBroadcast(w1, 4u), x);
        m2 = outer_add(m2, subgroupBroadcast(w2, 4u), x);
        m3 = outer_add(m3, subgroupBroadcast(w3, 4u), x);
        m4 = outer_add(m4, subgroupBroadcast(w4, 4u), x);
        m5 = outer_add(m5, subgroupBroadcast(w5, 4u), x);
        m6 = outer_add(m6, subgroupBroadcast(w6, 4u), x);
        m7 = outer_add(m7, subgroupBroadcast(w7, 4u), x);
        channel_base += params.input_channel_stride;
        x = channel_input(channel_base, c0 + 5u, pixel_offsets);
        m0 = outer_add(m0, subgroupBroadcast(w0, 5u), x);
        m1 = outer_add(m1, subgroupBroadcast(w1, 5u), x);
        m2 = outer_add(m2, subgroupBroadcast(w2, 5u), x);
        m3 = outer_add(m3, subgroupBroadcast(w3, 5u), x);
        m4 = outer_add(m4, subgroupBroadcast(w4, 5u), x);
        m5 = outer_add(m5, subgroupBroadcast(w5, 5u), x);
        m6 = outer_add(m6, subgroupBroadcast(w6, 5u), x);
        m7 = outer_add(m7, subgroupBroadcast(w7, 5u), x);
        channel_base += params.input_channel_stride;
        x = channel_input(channel_base, c0 + 6u, pixel_offsets);
        m0 = outer_add(m0, subgroupBroadcast(w0, 6u), x);
        m1 = outer_add(m1, subgroupBroadcast(w1, 6u), x);
        m2 = outer_add(m2, subgroupBroadcast(w2, 6u), x);
        m3 = outer_add(m3, subgroupBroadcast(w3, 6u), x);
        m4 = outer_add(m4, subgroupBroadcast(w4, 6u), x);
        m5 = outer_add(m5, subgroupBroadcast(w5, 6u), x);
        m6 = outer_add(m6, subgroupBroadcast(w6, 6u), x);
        m7 = outer_add(m7, subgroupBroadcast(w7, 6u), x);
        channel_base += params.input_channel_stride;
        x = channel_input(channel_base, c0 + 7u, pixel_offsets);
        m0 = outer_add(m0, subgroupBroadcast(w0, 7u), x);
        m1 = outer_add(m1, subgroupBroadcast(w1, 7u), x);
        m2 = outer_add(m2, subgroupBroadcast(w2, 7u), x);
        m3 = outer_add(m3, subgroupBroadcast(w3, 7u), x);
        m4 = outer_add(m4, subgroupBroadcast(w4, 7u), x);
        m5 = outer_add(m5, subgroupBroadcast(w5, 7u), x);
        m6 = outer_add(m6, subgroupBroadcast(w6, 7u), x);
        m7 = outer_add(m7, subgroupBroadcast(w7, 7u), x);
        channel_base += params.input_channel_stride;
    }
    if (!lane_in_range) {
        return;
    }
    let out_base = params.output_base + batch * params.output_batch_stride;
    store_tile(m0, first_channel + 0u, out_base, first_pixel);
    store_tile(m1, first_channel + 4u, out_base, first_pixel);
    store_tile(m2, first_channel + 8u, out_base, first_pixel);
    store_tile(m3, first_channel + 12u, out_base, first_pixel);
    store_tile(m4, first_channel + 16u, out_base, first_pixel);
    store_tile(m5, first_channel + 20u, out_base, first_pixel);
    store_tile(m6, first_channel + 24u, out_base, first_pixel);
    store_tile(m7, first_channel + 28u, out_base, first_pixel);
}
