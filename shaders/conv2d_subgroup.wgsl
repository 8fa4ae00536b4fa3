// conv2d_subgroup: conv2d (see conv2d.wgsl for the semantics and layouts) for adapters with
// subgroup operations and subgroups of at least 8 invocations.
// Layout: input [N, C_in, H, W], weight [C_out, C_in/groups, KH, KW], bias [C_out],
// output [N, C_out, H_out, W_out], all row-major float32.
// Thread mapping: one invocation computes 4 consecutive output columns of one row x 32 output
// channels of one group; a workgroup covers 16 such tiles of one output plane, all for the same
// 32 channels, and workgroups are numbered with the channel tile fastest (as conv2d_window.wgsl:
// small planes waste fewer lanes, and workgroups that read the same input run back to back). The reduction runs over the taps k = (c, p, q) of one group, 8 at a time: lane
// l of each subgroup loads the 32 weights of tap k0 + (l % 8), and subgroupBroadcast hands them
// to every lane. A load whose address differs per lane is the expensive operation on a CPU
// adapter; sharing the weights this way cuts weight loads per multiply-add by 8.
// Subgroup builtins need the SUBGROUP feature (naga does not take `enable subgroups;` yet).

// Mirrors `Conv2dParams` in src/ops/conv2d/mod.rs field for field (as in conv2d.wgsl).
struct Conv2dParams {
    batch: u32,
    in_channels: u32,
    in_height: u32,
    in_width: u32,
    out_channels: u32,
    out_height: u32,
    out_width: u32,
    groups: u32,
    in_channels_per_group: u32,
    out_channels_per_group: u32,
    kernel_height: u32,
    kernel_width: u32,
    stride_height: u32,
    stride_width: u32,
    dilation_height: u32,
    dilation_width: u32,
    pad_top: u32,
    pad_left: u32,
    has_bias: u32,
    activation: u32,
    leaky_slope: f32,
    input_base: u32,
    output_base: u32,
    // Tiles of 16 channels per group.
    channel_tiles_per_group: u32,
    // Tiles of 4 columns per output row.
    column_tiles: u32,
}

// Tiles a workgroup holds, the entry point's `@workgroup_size`: set per adapter by the pipeline
// (`SUBGROUP.tiles_per_workgroup` in src/ops/conv2d/mod.rs: 16 on CPU adapters, 64 on GPUs).
override TILES_PER_WORKGROUP: u32 = 16u;
const CHANNEL_TILE: u32 = 32u;
const COLUMN_TILE: u32 = 4u;
const TAP_CHUNK: u32 = 8u;

var<immediate> params: Conv2dParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;   // [N, C_in, H, W] from input_base
@group(0) @binding(2) var<storage, read> weight: array<f32>;  // [C_out, C_in/groups, KH, KW]
@group(0) @binding(3) var<storage, read> bias: array<f32>;    // [C_out] (one dummy value when has_bias = 0)
@group(0) @binding(4) var<storage, read_write> output: array<f32>; // [N, C_out, H_out, W_out] from output_base

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

// Lane t's `w` in every lane, for t = 0..7: the weights of the chunk's tap t.
fn lanes8(w: vec4<f32>) -> array<vec4<f32>, 8> {
    return array<vec4<f32>, 8>(subgroupBroadcast(w, 0u), subgroupBroadcast(w, 1u), subgroupBroadcast(w, 2u),
        subgroupBroadcast(w, 3u), subgroupBroadcast(w, 4u), subgroupBroadcast(w, 5u), subgroupBroadcast(w, 6u),
        subgroupBroadcast(w, 7u));
}

// Eight taps into one accumulator matrix, column by column: each column stays in a register
// through all eight (as `taps8` in conv2d_window.wgsl).
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

fn tap_valid(k: u32, total_taps: u32) -> bool {
    return k < total_taps;
}

// The tap after (c, p, q) = (tap.x, tap.y, tap.z), in weight order.
fn next_tap(tap: vec3<u32>) -> vec3<u32> {
    let q = tap.z + 1u;
    let wrap_q = q == params.kernel_width;
    let p = tap.y + u32(wrap_q);
    let wrap_p = p == params.kernel_height;
    return vec3<u32>(tap.x + u32(wrap_p), select(p, 0u, wrap_p), select(q, 0u, wrap_q));
}

// Input values of tap (c, p, q) for the 4 output columns; 0 in the padding and for taps past
// the end of the last chunk.
fn tap_input(image_plane_base: u32, tap: vec3<u32>, valid: bool, out_row: u32, first_column: u32) -> vec4<f32> {
    let row = i32(out_row * params.stride_height + tap.y * params.dilation_height) - i32(params.pad_top);
    let columns = vec4<i32>((vec4<u32>(0u, 1u, 2u, 3u) + first_column) * params.stride_width + tap.z * params.dilation_width)
        - i32(params.pad_left);
    let inside = vec4<bool>(valid && row >= 0 && row < i32(params.in_height))
        & columns >= vec4<i32>(0) & columns < vec4<i32>(i32(params.in_width));
    let row_base = image_plane_base + tap.x * params.in_height * params.in_width + u32(max(row, 0)) * params.in_width;
    let safe = vec4<u32>(select(vec4<i32>(0), columns, inside));
    return select(vec4<f32>(0.0), vec4<f32>(input[row_base + safe.x], input[row_base + safe.y],
        input[row_base + safe.z], input[row_base + safe.w]), inside);
}

// Adds bias, activates and stores 4 channels x 4 columns (matrix column j = column j).
fn store_tile(tile: mat4x4<f32>, channel_start: u32, last_channel: u32, row_base: u32, first_column: u32, plane: u32) {
    for (var i = 0u; i < 4u; i++) {
        let channel = channel_start + i;
        if (channel > last_channel) {
            return;
        }
        var bias_value = 0.0;
        if (params.has_bias != 0u) {
            bias_value = bias[channel];
        }
        for (var j = 0u; j < COLUMN_TILE; j++) {
            if (first_column + j < params.out_width) {
                output[row_base + channel * plane + first_column + j] = activate(tile[j][i] + bias_value);
            }
        }
    }
}

@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_subgroup(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                   @builtin(local_invocation_index) lane: u32, @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let block_index = workgroup.x + workgroup.y * groups_launched.x;
    let channel_tiles = params.groups * params.channel_tiles_per_group;
    let tiles_per_plane = params.out_height * params.column_tiles;
    let pixel_blocks = (tiles_per_plane + TILES_PER_WORKGROUP - 1u) / TILES_PER_WORKGROUP;
    let image = min(block_index / (pixel_blocks * channel_tiles), params.batch - 1u);
    let unclamped_tile = ((block_index / channel_tiles) % pixel_blocks) * TILES_PER_WORKGROUP + lane;
    // Every lane runs the loop (subgroupBroadcast needs the whole subgroup); lanes past the end
    // compute a copy of the last tile and store nothing.
    let lane_in_range = block_index < params.batch * pixel_blocks * channel_tiles && unclamped_tile < tiles_per_plane;
    let pixel_tile = min(unclamped_tile, tiles_per_plane - 1u);
    let out_row = pixel_tile / params.column_tiles;
    let first_column = (pixel_tile % params.column_tiles) * COLUMN_TILE;
    let channel_tile = block_index % channel_tiles;
    let group = channel_tile / params.channel_tiles_per_group;
    let first_out_channel = group * params.out_channels_per_group + (channel_tile % params.channel_tiles_per_group) * CHANNEL_TILE;
    let last_out_channel = (group + 1u) * params.out_channels_per_group - 1u;

    let total_taps = params.in_channels_per_group * params.kernel_height * params.kernel_width;
    // Weight rows of the tile's 16 channels (channels past the group's end re-read the last).
    let last = vec4<u32>(last_out_channel);
    let rows0 = min(vec4<u32>(0u, 1u, 2u, 3u) + first_out_channel, last) * total_taps;
    let rows1 = min(vec4<u32>(4u, 5u, 6u, 7u) + first_out_channel, last) * total_taps;
    let rows2 = min(vec4<u32>(8u, 9u, 10u, 11u) + first_out_channel, last) * total_taps;
    let rows3 = min(vec4<u32>(12u, 13u, 14u, 15u) + first_out_channel, last) * total_taps;
    let rows4 = min(vec4<u32>(16u, 17u, 18u, 19u) + first_out_channel, last) * total_taps;
    let rows5 = min(vec4<u32>(20u, 21u, 22u, 23u) + first_out_channel, last) * total_taps;
    let rows6 = min(vec4<u32>(24u, 25u, 26u, 27u) + first_out_channel, last) * total_taps;
    let rows7 = min(vec4<u32>(28u, 29u, 30u, 31u) + first_out_channel, last) * total_taps;
    let image_plane_base = params.input_base
        + (image * params.in_channels + group * params.in_channels_per_group) * params.in_height * params.in_width;

    // Column j of m_i holds channels 4i..4i+3 of output column j.
    var m0: mat4x4<f32>;
    var m1: mat4x4<f32>;
    var m2: mat4x4<f32>;
    var m3: mat4x4<f32>;
    var m4: mat4x4<f32>;
    var m5: mat4x4<f32>;
    var m6: mat4x4<f32>;
    var m7: mat4x4<f32>;
    var tap = vec3<u32>(0u);
    for (var k0 = 0u; k0 < total_taps; k0 += TAP_CHUNK) {
        let my_tap = k0 + subgroup_lane % TAP_CHUNK;
        let k = min(my_tap, total_taps - 1u);
        let zero = my_tap >= total_taps;
        let w0 = select(vec4<f32>(weight[rows0.x + k], weight[rows0.y + k], weight[rows0.z + k], weight[rows0.w + k]), vec4<f32>(0.0), zero);
        let w1 = select(vec4<f32>(weight[rows1.x + k], weight[rows1.y + k], weight[rows1.z + k], weight[rows1.w + k]), vec4<f32>(0.0), zero);
        let w2 = select(vec4<f32>(weight[rows2.x + k], weight[rows2.y + k], weight[rows2.z + k], weight[rows2.w + k]), vec4<f32>(0.0), zero);
        let w3 = select(vec4<f32>(weight[rows3.x + k], weight[rows3.y + k], weight[rows3.z + k], weight[rows3.w + k]), vec4<f32>(0.0), zero);
        let w4 = select(vec4<f32>(weight[rows4.x + k], weight[rows4.y + k], weight[rows4.z + k], weight[rows4.w + k]), vec4<f32>(0.0), zero);
        let w5 = select(vec4<f32>(weight[rows5.x + k], weight[rows5.y + k], weight[rows5.z + k], weight[rows5.w + k]), vec4<f32>(0.0), zero);
        let w6 = select(vec4<f32>(weight[rows6.x + k], weight[rows6.y + k], weight[rows6.z + k], weight[rows6.w + k]), vec4<f32>(0.0), zero);
        let w7 = select(vec4<f32>(weight[rows7.x + k], weight[rows7.y + k], weight[rows7.z + k], weight[rows7.w + k]), vec4<f32>(0.0), zero);
        // The chunk's 8 taps, then each matrix through all 8 (`taps8`).
        let x0 = tap_input(image_plane_base, tap, tap_valid(k0, total_taps), out_row, first_column);
        tap = next_tap(tap);
        let x1 = tap_input(image_plane_base, tap, tap_valid(k0 + 1u, total_taps), out_row, first_column);
        tap = next_tap(tap);
        let x2 = tap_input(image_plane_base, tap, tap_valid(k0 + 2u, total_taps), out_row, first_column);
        tap = next_tap(tap);
        let x3 = tap_input(image_plane_base, tap, tap_valid(k0 + 3u, total_taps), out_row, first_column);
        tap = next_tap(tap);
        let x4 = tap_input(image_plane_base, tap, tap_valid(k0 + 4u, total_taps), out_row, first_column);
        tap = next_tap(tap);
        let x5 = tap_input(image_plane_base, tap, tap_valid(k0 + 5u, total_taps), out_row, first_column);
        tap = next_tap(tap);
        let x6 = tap_input(image_plane_base, tap, tap_valid(k0 + 6u, total_taps), out_row, first_column);
        tap = next_tap(tap);
        let x7 = tap_input(image_plane_base, tap, tap_valid(k0 + 7u, total_taps), out_row, first_column);
        tap = next_tap(tap);
        let xs = array<vec4<f32>, 8>(x0, x1, x2, x3, x4, x5, x6, x7);
        m0 = taps8(m0, lanes8(w0), xs);
        m1 = taps8(m1, lanes8(w1), xs);
        m2 = taps8(m2, lanes8(w2), xs);
        m3 = taps8(m3, lanes8(w3), xs);
        m4 = taps8(m4, lanes8(w4), xs);
        m5 = taps8(m5, lanes8(w5), xs);
        m6 = taps8(m6, lanes8(w6), xs);
        m7 = taps8(m7, lanes8(w7), xs);
    }
    if (!lane_in_range) {
        return;
    }
    let out_plane = params.out_height * params.out_width;
    let row_base = params.output_base + image * params.out_channels * out_plane + out_row * params.out_width;
    store_tile(m0, first_out_channel + 0u, last_out_channel, row_base, first_column, out_plane);
    store_tile(m1, first_out_channel + 4u, last_out_channel, row_base, first_column, out_plane);
    store_tile(m2, first_out_channel + 8u, last_out_channel, row_base, first_column, out_plane);
    store_tile(m3, first_out_channel + 12u, last_out_channel, row_base, first_column, out_plane);
    store_tile(m4, first_out_channel + 16u, last_out_channel, row_base, first_column, out_plane);
    store_tile(m5, first_out_channel + 20u, last_out_channel, row_base, first_column, out_plane);
    store_tile(m6, first_out_channel + 24u, last_out_channel, row_base, first_column, out_plane);
    store_tile(m7, first_out_channel + 28u, last_out_channel, row_base, first_column, out_plane);
}
