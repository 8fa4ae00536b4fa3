// conv2d: direct 2-D cross-correlation with PyTorch semantics (stride, asymmetric padding,
// dilation, groups, optional bias, fused activation).
// Layout: input [N, C_in, H, W], weight [C_out, C_in/groups, KH, KW], bias [C_out],
// output [N, C_out, H_out, W_out], all row-major float32.
// Thread mapping: one invocation computes a register tile of 8 output channels (of one group)
// x 8 consecutive output columns of one output row, held as four 4x4 matrices. A workgroup
// covers 16 such tiles of one output plane for one channel tile, so every lane reads the same
// weights. `conv2d` numbers workgroups with the channel tile fastest, then the pixel block, then
// the image, so the workgroups that read the same input rows run back to back and share them in
// cache; the one-channel entry points (whose channel tiles read different inputs) take the pixel
// block fastest. This is the portable kernel (GL has no subgroups) and the one for few channels per
// group (depthwise but for the 3x3 at stride 1 and 2, conv2d_depthwise.wgsl); conv2d_subgroup.wgsl
// is the fast path where subgroups exist.

// Mirrors `Conv2dParams` in src/ops/conv2d/mod.rs field for field.
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
    channel_tiles_per_group: u32,
    column_tiles: u32,
}

const CHANNEL_TILE: u32 = 8u;
const COLUMN_TILE: u32 = 8u;
// conv2d's and conv2d_single_channel's workgroup: 16 tiles (`tiles_per_workgroup` in
// src/ops/conv2d/mod.rs). On GL llvmpipe 16 ran conv3x3_r18 in 45 ms and conv5x5_incep in 3.9
// ms, 64 in 50 and 4.4.
const TILES_PER_WORKGROUP: u32 = 16u;

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

// Loads input[row_base + columns] where the columns (and the row) are inside the input, 0 elsewhere.
fn load_columns(row_base: u32, columns: vec4<i32>, row_inside: bool) -> vec4<f32> {
    let inside = columns >= vec4<i32>(0) & columns < vec4<i32>(i32(params.in_width)) & vec4<bool>(row_inside);
    let safe = vec4<u32>(select(vec4<i32>(0), columns, inside));
    return select(vec4<f32>(0.0), vec4<f32>(input[row_base + safe.x], input[row_base + safe.y],
        input[row_base + safe.z], input[row_base + safe.w]), inside);
}

// m + w x^T, one column at a time (column j gains w * x[j]). Updating the columns in place
// measured ~40% faster on llvmpipe than adding a separately built outer-product matrix
// (m += outer(w, x)); llvmpipe emits a multiply and an add for fma either way, GPUs one fma.
fn outer_add(m: mat4x4<f32>, w: vec4<f32>, x: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(w, vec4<f32>(x.x), m[0]), fma(w, vec4<f32>(x.y), m[1]),
                       fma(w, vec4<f32>(x.z), m[2]), fma(w, vec4<f32>(x.w), m[3]));
}

@compute @workgroup_size(16)
fn conv2d(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
          @builtin(local_invocation_index) lane: u32) {
    // The workgroup picks (image, block of 16 pixel tiles, channel tile): the channel tile is
    // uniform across the workgroup, so weight loads are uniform (one load, broadcast).
    let block_index = workgroup.x + workgroup.y * groups_launched.x;
    let channel_tiles = params.groups * params.channel_tiles_per_group;
    let tiles_per_plane = params.out_height * params.column_tiles;
    let pixel_blocks = (tiles_per_plane + TILES_PER_WORKGROUP - 1u) / TILES_PER_WORKGROUP;
    let image = block_index / (pixel_blocks * channel_tiles);
    let unclamped_tile = ((block_index / channel_tiles) % pixel_blocks) * TILES_PER_WORKGROUP + lane;
    // Lanes past the end compute a copy of the last tile and store nothing; no early return, so
    // the loops below stay in uniform control flow (uniform loads stay scalar on llvmpipe).
    let lane_in_range = image < params.batch && unclamped_tile < tiles_per_plane;
    let pixel_tile = min(unclamped_tile, tiles_per_plane - 1u);
    let channel_tile = block_index % channel_tiles;
    let column_tile = pixel_tile % params.column_tiles;
    let out_row = pixel_tile / params.column_tiles;
    let group = channel_tile / params.channel_tiles_per_group;
    let group_channel_start = (channel_tile % params.channel_tiles_per_group) * CHANNEL_TILE;
    let first_out_channel = group * params.out_channels_per_group + group_channel_start;
    let last_out_channel = (group + 1u) * params.out_channels_per_group - 1u;
    let first_column = column_tile * COLUMN_TILE;

    let taps = params.kernel_height * params.kernel_width;
    let weight_channel_stride = params.in_channels_per_group * taps;
    let plane = params.in_height * params.in_width;
    // Input column of each output column at tap q = 0 (may be negative: padding).
    let column_start_low = vec4<i32>((vec4<u32>(0u, 1u, 2u, 3u) + first_column) * params.stride_width) - i32(params.pad_left);
    let column_start_high = column_start_low + vec4<i32>(i32(4u * params.stride_width));

    // Channel offsets of the tile's 8 weight rows (channels past the group's end re-read the last).
    let channel_low = min(vec4<u32>(0u, 1u, 2u, 3u) + first_out_channel, vec4<u32>(last_out_channel)) - first_out_channel;
    let channel_high = min(vec4<u32>(4u, 5u, 6u, 7u) + first_out_channel, vec4<u32>(last_out_channel)) - first_out_channel;
    let weight_low = channel_low * weight_channel_stride;
    let weight_high = channel_high * weight_channel_stride;
    // Accumulators: column j of each matrix holds 4 output channels of output column j.
    var channels_low_columns_low: mat4x4<f32>;
    var channels_low_columns_high: mat4x4<f32>;
    var channels_high_columns_low: mat4x4<f32>;
    var channels_high_columns_high: mat4x4<f32>;
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        let in_channel = group * params.in_channels_per_group + c;
        let plane_base = params.input_base + (image * params.in_channels + in_channel) * plane;
        let weight_base = (first_out_channel * params.in_channels_per_group + c) * taps;
        for (var p = 0u; p < params.kernel_height; p++) {
            let in_row = i32(out_row * params.stride_height + p * params.dilation_height) - i32(params.pad_top);
            let row_inside = in_row >= 0 && in_row < i32(params.in_height);
            let row_base = plane_base + u32(select(0, in_row, row_inside)) * params.in_width;
            for (var q = 0u; q < params.kernel_width; q++) {
                let x_low = load_columns(row_base, column_start_low + vec4<i32>(i32(q * params.dilation_width)), row_inside);
                let x_high = load_columns(row_base, column_start_high + vec4<i32>(i32(q * params.dilation_width)), row_inside);
                let tap = weight_base + p * params.kernel_width + q;
                let w_low = vec4<f32>(weight[tap + weight_low.x], weight[tap + weight_low.y], weight[tap + weight_low.z], weight[tap + weight_low.w]);
                let w_high = vec4<f32>(weight[tap + weight_high.x], weight[tap + weight_high.y], weight[tap + weight_high.z], weight[tap + weight_high.w]);
                channels_low_columns_low = outer_add(channels_low_columns_low, w_low, x_low);
                channels_low_columns_high = outer_add(channels_low_columns_high, w_low, x_high);
                channels_high_columns_low = outer_add(channels_high_columns_low, w_high, x_low);
                channels_high_columns_high = outer_add(channels_high_columns_high, w_high, x_high);
            }
        }
    }

    if (!lane_in_range) {
        return;
    }
    for (var i = 0u; i < CHANNEL_TILE; i++) {
        let out_channel = first_out_channel + i;
        if (out_channel > last_out_channel) {
            break;
        }
        var bias_value = 0.0;
        if (params.has_bias != 0u) {
            bias_value = bias[out_channel];
        }
        let row_base = params.output_base + ((image * params.out_channels + out_channel) * params.out_height + out_row) * params.out_width;
        for (var j = 0u; j < COLUMN_TILE; j++) {
            if (first_column + j < params.out_width) {
                var value: f32;
                if (i < 4u) {
                    value = select(channels_low_columns_high[j - 4u][i], channels_low_columns_low[j % 4u][i], j < 4u);
                } else {
                    value = select(channels_high_columns_high[j - 4u][i - 4u], channels_high_columns_low[j % 4u][i - 4u], j < 4u);
                }
                output[row_base + first_column + j] = activate(value + bias_value);
            }
        }
    }
}

// One output channel per invocation: 8 consecutive output columns of one row. For groups with
// fewer than 4 output channels (depthwise convolution, with or without a multiplier), where the
// 8-channel tile above would leave most of its work idle. A workgroup covers 16 such tiles of
// one output plane, so every lane reads the same weights (with 64, a 7x7 plane left 57 of 64
// lanes idle: MobileNet's 960-channel 7x7 depthwise took 4.1 ms, with 16 1.26 ms on lavapipe).
@compute @workgroup_size(16)
fn conv2d_single_channel(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                         @builtin(local_invocation_index) lane: u32) {
    let block_index = workgroup.x + workgroup.y * groups_launched.x;
    let tiles_per_plane = params.out_height * params.column_tiles;
    let pixel_blocks = (tiles_per_plane + TILES_PER_WORKGROUP - 1u) / TILES_PER_WORKGROUP;
    let image = block_index / (pixel_blocks * params.out_channels);
    let unclamped_tile = (block_index % pixel_blocks) * TILES_PER_WORKGROUP + lane;
    let lane_in_range = image < params.batch && unclamped_tile < tiles_per_plane;
    let pixel_tile = min(unclamped_tile, tiles_per_plane - 1u);
    let out_channel = (block_index / pixel_blocks) % params.out_channels;
    let group = out_channel / params.out_channels_per_group;
    let out_row = pixel_tile / params.column_tiles;
    let first_column = (pixel_tile % params.column_tiles) * COLUMN_TILE;

    let taps = params.kernel_height * params.kernel_width;
    let plane = params.in_height * params.in_width;
    let column_start_low = vec4<i32>((vec4<u32>(0u, 1u, 2u, 3u) + first_column) * params.stride_width) - i32(params.pad_left);
    let column_start_high = column_start_low + vec4<i32>(i32(4u * params.stride_width));
    let three_wide = params.kernel_width == 3u && params.stride_width == 1u && params.dilation_width == 1u;
    var low = vec4<f32>(0.0);
    var high = vec4<f32>(0.0);
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        let in_channel = group * params.in_channels_per_group + c;
        let plane_base = params.input_base + (image * params.in_channels + in_channel) * plane;
        let weight_base = (out_channel * params.in_channels_per_group + c) * taps;
        for (var p = 0u; p < params.kernel_height; p++) {
            let in_row = i32(out_row * params.stride_height + p * params.dilation_height) - i32(params.pad_top);
            let row_inside = in_row >= 0 && in_row < i32(params.in_height);
            let row_base = plane_base + u32(select(0, in_row, row_inside)) * params.in_width;
            let tap = weight_base + p * params.kernel_width;
            if (three_wide) {
                // 3 taps wide, stride 1, no dilation: the 8 outputs read 10 consecutive input
                // columns, loaded once (12 loads) instead of once per tap (24).
                let v0 = load_columns(row_base, column_start_low, row_inside);
                let v1 = load_columns(row_base, column_start_high, row_inside);
                let v2 = load_columns(row_base, column_start_high + vec4<i32>(4), row_inside);
                let w0 = weight[tap];
                let w1 = weight[tap + 1u];
                let w2 = weight[tap + 2u];
                low = fma(vec4<f32>(w2), vec4<f32>(v0.zw, v1.xy), fma(vec4<f32>(w1), vec4<f32>(v0.yzw, v1.x), fma(vec4<f32>(w0), v0, low)));
                high = fma(vec4<f32>(w2), vec4<f32>(v1.zw, v2.xy), fma(vec4<f32>(w1), vec4<f32>(v1.yzw, v2.x), fma(vec4<f32>(w0), v1, high)));
                continue;
            }
            for (var q = 0u; q < params.kernel_width; q++) {
                let shift = vec4<i32>(i32(q * params.dilation_width));
                let w = vec4<f32>(weight[tap + q]);
                low = fma(w, load_columns(row_base, column_start_low + shift, row_inside), low);
                high = fma(w, load_columns(row_base, column_start_high + shift, row_inside), high);
            }
        }
    }
    if (lane_in_range) {
        store_single_channel(image, out_channel, out_row, i32(first_column), low, high);
    }
}

// Adds the bias, activates and stores one channel's 8 columns from `first_column` (those inside
// the output row).
fn store_single_channel(image: u32, out_channel: u32, out_row: u32, first_column: i32, low: vec4<f32>, high: vec4<f32>) {
    var bias_value = 0.0;
    if (params.has_bias != 0u) {
        bias_value = bias[out_channel];
    }
    let row_base = params.output_base + ((image * params.out_channels + out_channel) * params.out_height + out_row) * params.out_width;
    for (var j = 0; j < 8; j++) {
        let column = first_column + j;
        if (column >= 0 && column < i32(params.out_width)) {
            output[row_base + u32(column)] = activate(select(high[j % 4], low[j % 4], j < 4) + bias_value);
        }
    }
}
