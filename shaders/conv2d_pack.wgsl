// conv2d_pack: prepares a convolution's operands for the window kernels (conv2d_window.wgsl,
// with subgroups, and conv2d_wide.wgsl, without), one small dispatch each.
// `pack_weights`: weight [C_out, C_in/groups, KH, KW] -> packed [groups, C_in/groups * KH * KW,
// padded_channels / 4] vec4s, padded_channels = channel_tiles_per_group x 32 (zeros past the
// group's channels): the channels of one tap are contiguous. One invocation per 4 packed
// channels of one tap.
// `pad_rows`: input [N, C_in, H, W] -> [N, C_in, H, padded_width()] with each row's values from
// column pad_left and zeros around, for inputs whose rows are not whole vec4s (GL only). One
// invocation per output vec4.

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
    // Tiles of 32 channels per group.
    channel_tiles_per_group: u32,
    // The convolution's column tiles (not used here).
    column_tiles: u32,
}

const WORKGROUP_SIZE: u32 = 64u; // `WORKGROUP_SIZE` in src/ops/conv2d/window.rs
const CHANNEL_TILE: u32 = 32u;

var<immediate> params: Conv2dParams;
// pack_weights: weight [C_out, C_in/groups, KH, KW]; pad_rows: input [N, C_in, H, W] from input_base.
@group(0) @binding(1) var<storage, read> source: array<f32>;
// pack_weights: [groups, taps, padded_channels / 4]; pad_rows: [N, C_in, H, padded_width() / 4]
// from output_base / 4.
@group(0) @binding(2) var<storage, read_write> destination: array<vec4<f32>>;

// One invocation per 4 packed channels of one tap, tap fastest across lanes (neighbouring
// lanes read neighbouring weights); channels past the group's end get 0. Only the workgroup
// index is divided (the same for every lane: on llvmpipe a per-lane division is 8 scalar
// divides). Grid: groups x channel quads x blocks of 64 taps.
@compute @workgroup_size(64)
fn pack_weights(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
    let block = workgroup.x + workgroup.y * groups_launched.x;
    let taps = params.in_channels_per_group * params.kernel_height * params.kernel_width;
    let tap_blocks = (taps + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
    let quads = params.channel_tiles_per_group * CHANNEL_TILE / 4u;
    let tap = (block % tap_blocks) * WORKGROUP_SIZE + lane;
    let quad = (block / tap_blocks) % quads;
    let group = block / (tap_blocks * quads);
    if (group >= params.groups || tap >= taps) {
        return;
    }
    let channel = 4u * quad;
    let row = (group * params.out_channels_per_group + channel) * taps + tap;
    var values = vec4<f32>(0.0);
    let last = params.out_channels_per_group;
    if (channel < last) { values.x = source[row]; }
    if (channel + 1u < last) { values.y = source[row + taps]; }
    if (channel + 2u < last) { values.z = source[row + 2u * taps]; }
    if (channel + 3u < last) { values.w = source[row + 3u * taps]; }
    destination[(group * taps + tap) * quads + quad] = values;
}

// The padded rows' length: the row and its left padding, rounded up to whole vec4s (the right
// padding is left to the kernels' bounds checks). Mirrors `padded_width` in
// src/ops/conv2d/window.rs.
fn padded_width() -> u32 {
    return (params.in_width + params.pad_left + 3u) / 4u * 4u;
}

// One invocation per output vec4, rows one after another (a copy before a convolution: the
// per-lane division is small change next to it).
@compute @workgroup_size(64)
fn pad_rows(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
            @builtin(local_invocation_index) lane: u32) {
    let quad = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    let quads_per_row = padded_width() / 4u;
    if (quad >= params.batch * params.in_channels * params.in_height * quads_per_row) {
        return;
    }
    let row = quad / quads_per_row;
    let first = i32((quad % quads_per_row) * 4u) - i32(params.pad_left);
    let start = params.input_base + row * params.in_width;
    var values = vec4<f32>(0.0);
    for (var k = 0; k < 4; k++) {
        let column = first + k;
        if (column >= 0 && column < i32(params.in_width)) {
            values[k] = source[start + u32(column)];
        }
    }
    destination[params.output_base / 4u + quad] = values;
}
