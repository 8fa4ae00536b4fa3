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

var<immediate> params: ProjectionParams;
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

// Lane t's `w` in every lane, for t = 0..7: the weights of the chunk's channel t.
fn lanes8(w: vec4<f32>) -> array<vec4<f32>, 8> {
    return array<vec4<f32>, 8>(subgroupBroadcast(w, 0u), subgroupBroadcast(w, 1u), subgroupBroadcast(w, 2u),
        subgroupBroadcast(w, 3u), subgroupBroadcast(w, 4u), subgroupBroadcast(w, 5u), subgroupBroadcast(w, 6u),
        subgroupBroadcast(w, 7u));
}

// Eight channels into one accumulator matrix, column by column: each column stays in a
// register through all eight (as `taps8` in conv2d_window.wgsl).
fn taps8(m: mat4x4<f32>, w: array<vec4<f32>, 8>, x: array<vec4<f32>, 8>) -> mat4x4<f32> {
    let column0 = fma(w[7], vec4<f32>(x[7].x), fma(w[6], vec4<f32>(x[6].x), fma(w[5], vec4<f32>(x[5].x),
        fma(w[4], vec4<f32>(x[4].x), fma(w[3], vec4<f32>(x[3].x), fma(w[2], vec4<f32>(x[2].x),
        fma(w[1], vec4<f32>(x[1].x), fma(w[0], vec4<f32>(x[0].x), m[0]))))))));
    let column1 = fma(w[7], vec4<f32>(x[7].y), fma(w[6], vec4<f32>(x[6].y), fma(w[5], vec4<f32>(x[5].y),
        fma(w[4], vec4<f32>(x[4].y), fma(w[3], vec4<f32>(x[3].y), fma(w[2], vec4<f32>(x[2].y),
        fma(w[1], vec4<f32>(x[1].y), fma(w[0], vec4<f32>(x[0].y), m[1]))))))));
    let column2 = fma(w[7], vec4<f32>(x[7].z), fma(w[6], vec4<f32>(x[6].z), fma(w[5], vec4<f32>(x[5].z),
        fma(w[4], vec4<f32>(x[4].z), fma(w[3], vec4<f32>(x[3].z), fma(w[2], vec4<f32>(x[2].z),
        fma(w[1], vec4<f32>(x[1].z), fma(w[0], vec4<f32>(x[0].z), m[2]))))))));
    let column3 = fma(w[7], vec4<f32>(x[7].w), fma(w[6], vec4<f32>(x[6].w), fma(w[5], vec4<f32>(x[5].w),
        fma(w[4], vec4<f32>(x[4].w), fma(w[3], vec4<f32>(x[3].w), fma(w[2], vec4<f32>(x[2].w),
        fma(w[1], vec4<f32>(x[1].w), fma(w[0], vec4<f32>(x[0].w), m[3]))))))));
    return mat4x4<f32>(column0, column1, column2, column3);
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
        // The chunk's 8 channels, then each matrix through all 8 (`taps8`).
        let x0 = channel_input(channel_base, c0, pixel_offsets);
        let x1 = channel_input(channel_base + params.input_channel_stride, c0 + 1u, pixel_offsets);
        let x2 = channel_input(channel_base + 2u * params.input_channel_stride, c0 + 2u, pixel_offsets);
        let x3 = channel_input(channel_base + 3u * params.input_channel_stride, c0 + 3u, pixel_offsets);
        let x4 = channel_input(channel_base + 4u * params.input_channel_stride, c0 + 4u, pixel_offsets);
        let x5 = channel_input(channel_base + 5u * params.input_channel_stride, c0 + 5u, pixel_offsets);
        let x6 = channel_input(channel_base + 6u * params.input_channel_stride, c0 + 6u, pixel_offsets);
        let x7 = channel_input(channel_base + 7u * params.input_channel_stride, c0 + 7u, pixel_offsets);
        let xs = array<vec4<f32>, 8>(x0, x1, x2, x3, x4, x5, x6, x7);
        m0 = taps8(m0, lanes8(w0), xs);
        m1 = taps8(m1, lanes8(w1), xs);
        m2 = taps8(m2, lanes8(w2), xs);
        m3 = taps8(m3, lanes8(w3), xs);
        m4 = taps8(m4, lanes8(w4), xs);
        m5 = taps8(m5, lanes8(w5), xs);
        m6 = taps8(m6, lanes8(w6), xs);
        m7 = taps8(m7, lanes8(w7), xs);
        channel_base += 8u * params.input_channel_stride;
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
