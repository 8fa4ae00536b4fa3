// conv2d_depthwise: depthwise 3x3 convolution (one input channel per group, 1-3 output channels
// each; PyTorch semantics as in conv2d.wgsl) at stride 1 and 2, no dilation, on input rows of
// whole vec4s (other inputs are first copied to padded rows, `pad_rows` in conv2d_pack.wgsl).
// Layout: input [N, C, H, W] read as vec4s from input_base; weight [C_out, 1, 3, 3]; bias
// [C_out]; output [N, C_out, H_out, W_out] from output_base; all float32.
// Thread mapping: one invocation computes 8 consecutive output columns x 4 output rows of one
// output channel, written without loops: on llvmpipe a load inside a loop is a per-lane
// sequence even when every lane reads the same address, while here the 9 weights are 9 loads
// and each input row the tile needs is one run of vec4 loads. Tiles start at the output column
// whose input window starts on a vec4 boundary (`origin_shift` in src/ops/conv2d/window.rs).
// `conv2d_depthwise3x3` covers one plane a workgroup (every lane reads the same weights); the
// others number the tiles of all planes in one sequence, so a workgroup covers several small
// planes.

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

const WORKGROUP_SIZE: u32 = 64u; // every entry point (16 measured no better on dwconv3x3)
const COLUMN_TILE: u32 = 8u;      // output columns per invocation (`column_tile` in src/ops/conv2d/mod.rs)
const ROW_TILE: u32 = 4u;         // output rows per invocation (`row_tile` there)

var<immediate> params: Conv2dParams;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;   // [N, C, H, W / 4] from input_base / 4
@group(0) @binding(2) var<storage, read> weight: array<f32>;        // [C_out, 1, 3, 3]
@group(0) @binding(3) var<storage, read> bias: array<f32>;          // [C_out] (one dummy value when has_bias = 0)
@group(0) @binding(4) var<storage, read_write> output: array<f32>;  // [N, C_out, H_out, W_out] from output_base

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

// Stride 1 (dwconv3x3 on lavapipe: 3.9 ms in conv2d_single_channel, 3.0 with one row per
// invocation, 2.0 with four): the 6 input rows of a tile are 3 vec4s each.
@compute @workgroup_size(64)
fn conv2d_depthwise3x3(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                       @builtin(local_invocation_index) lane: u32) {
    let block_index = workgroup.x + workgroup.y * groups_launched.x;
    let tiles_per_plane = tiles_per_plane();
    let pixel_blocks = (tiles_per_plane + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
    let unclamped_tile = (block_index % pixel_blocks) * WORKGROUP_SIZE + lane;
    stride1_tile(Tile(min(block_index / (pixel_blocks * params.out_channels), params.batch - 1u),
                      (block_index / pixel_blocks) % params.out_channels, min(unclamped_tile, tiles_per_plane - 1u),
                      block_index < params.batch * pixel_blocks * params.out_channels && unclamped_tile < tiles_per_plane));
}

// Stride 1 on planes of fewer than 64 tiles (MobileNetV2's 28x28, 14x14 and 7x7), where one
// plane a workgroup left most lanes idle (a 7x7 plane is 2 tiles). The lanes then read different
// weights (a per-lane load each) and divide to place their tile. On lavapipe, interleaved runs:
// 192 channels at 28x28 1.40 -> 0.70 ms; with the rows padded (the one-channel kernel before)
// 960 at 7x7 1.28 -> 0.44, 576 at 14x14 1.56 -> 0.96 on GL.
@compute @workgroup_size(64)
fn conv2d_depthwise3x3_planes(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                              @builtin(local_invocation_index) lane: u32) {
    stride1_tile(stacked_tile(workgroup.x + workgroup.y * groups_launched.x, lane));
}

// Stride 2 (MobileNetV2's downsampling layers), tiles numbered across planes: the 9 input rows
// of a tile are 5 vec4s each (20 columns for the 17 its 8 output columns read). On lavapipe, 144
// channels at 56x56 took 1.95 ms in the one-channel kernel, 0.86 here; 96 at 112x112 4.6 -> 2.3.
@compute @workgroup_size(64)
fn conv2d_depthwise3x3_stride2(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                               @builtin(local_invocation_index) lane: u32) {
    let tile = stacked_tile(workgroup.x + workgroup.y * groups_launched.x, lane);
    let out_row = tile.pixel_tile / params.column_tiles * ROW_TILE;
    let first_column = -i32(((params.pad_left + 1u) / 2u) % 2u) + i32((tile.pixel_tile % params.column_tiles) * COLUMN_TILE);
    // With an odd pad_left the first tap sits one column into the first vec4.
    let odd = params.pad_left % 2u == 1u;
    let first_input = 2 * first_column - i32(params.pad_left) - i32(odd);
    let taps = weights(tile.out_channel);
    let plane_base = plane_base(tile);
    let top = 2 * i32(out_row) - i32(params.pad_top);
    let r0 = input_row5(plane_base, top, first_input);
    let r1 = input_row5(plane_base, top + 1, first_input);
    let r2 = input_row5(plane_base, top + 2, first_input);
    let r3 = input_row5(plane_base, top + 3, first_input);
    let r4 = input_row5(plane_base, top + 4, first_input);
    let r5 = input_row5(plane_base, top + 5, first_input);
    let r6 = input_row5(plane_base, top + 6, first_input);
    let r7 = input_row5(plane_base, top + 7, first_input);
    let r8 = input_row5(plane_base, top + 8, first_input);
    if (tile.in_range) {
        let at = OutputRow(tile.image, tile.out_channel, out_row, first_column);
        store_rows5(at, 0u, r0, r1, r2, taps, odd);
        store_rows5(at, 1u, r2, r3, r4, taps, odd);
        store_rows5(at, 2u, r4, r5, r6, taps, odd);
        store_rows5(at, 3u, r6, r7, r8, taps, odd);
    }
}

// Where one invocation works: an output plane and a tile of it (lanes past the end compute a copy
// of the last tile and store nothing).
struct Tile {
    image: u32,
    out_channel: u32,
    pixel_tile: u32,
    in_range: bool,
}

fn tiles_per_plane() -> u32 {
    return (params.out_height + ROW_TILE - 1u) / ROW_TILE * params.column_tiles;
}

// Tile `block_index * 64 + lane` of the sequence of all planes' tiles.
fn stacked_tile(block_index: u32, lane: u32) -> Tile {
    let tiles_per_plane = tiles_per_plane();
    let tiles = params.batch * params.out_channels * tiles_per_plane;
    let unclamped_tile = block_index * WORKGROUP_SIZE + lane;
    let tile = min(unclamped_tile, tiles - 1u);
    let plane = tile / tiles_per_plane;
    return Tile(plane / params.out_channels, plane % params.out_channels, tile - plane * tiles_per_plane,
                unclamped_tile < tiles);
}

// The 3x3 weights of `out_channel`, one kernel row each.
fn weights(out_channel: u32) -> array<vec3<f32>, 3> {
    let w = out_channel * 9u;
    return array<vec3<f32>, 3>(vec3<f32>(weight[w], weight[w + 1u], weight[w + 2u]),
        vec3<f32>(weight[w + 3u], weight[w + 4u], weight[w + 5u]), vec3<f32>(weight[w + 6u], weight[w + 7u], weight[w + 8u]));
}

fn plane_base(tile: Tile) -> u32 {
    let in_channel = tile.out_channel / params.out_channels_per_group;
    return params.input_base + (tile.image * params.in_channels + in_channel) * params.in_height * params.in_width;
}

fn stride1_tile(tile: Tile) {
    let out_row = tile.pixel_tile / params.column_tiles * ROW_TILE;
    let phase = i32(params.pad_left % 4u);
    let first_column = select(phase - 4, 0, phase == 0) + i32((tile.pixel_tile % params.column_tiles) * COLUMN_TILE);
    let taps = weights(tile.out_channel);
    let plane_base = plane_base(tile);
    let top = i32(out_row) - i32(params.pad_top);
    let first_input = first_column - i32(params.pad_left);
    let r0 = input_row3(plane_base, top, first_input);
    let r1 = input_row3(plane_base, top + 1, first_input);
    let r2 = input_row3(plane_base, top + 2, first_input);
    let r3 = input_row3(plane_base, top + 3, first_input);
    let r4 = input_row3(plane_base, top + 4, first_input);
    let r5 = input_row3(plane_base, top + 5, first_input);
    if (tile.in_range) {
        let at = OutputRow(tile.image, tile.out_channel, out_row, first_column);
        store_rows3(at, 0u, r0, r1, r2, taps);
        store_rows3(at, 1u, r1, r2, r3, taps);
        store_rows3(at, 2u, r2, r3, r4, taps);
        store_rows3(at, 3u, r3, r4, r5, taps);
    }
}

// Input columns column..column+3 (column a multiple of 4) of the row whose first vec4 is
// `row_index`; 0 outside the input.
fn row_vector(row_index: u32, column: i32, row_inside: bool) -> vec4<f32> {
    let inside = row_inside && column >= 0 && column < i32(params.in_width);
    return select(vec4<f32>(0.0), input[select(0u, row_index + u32(column) / 4u, inside)], inside);
}

fn row_index(plane_base: u32, row: i32, row_inside: bool) -> u32 {
    return (plane_base + u32(select(0, row, row_inside)) * params.in_width) / 4u;
}

// The 12 input columns from `first` (a multiple of 4) of input row `row`.
fn input_row3(plane_base: u32, row: i32, first: i32) -> array<vec4<f32>, 3> {
    let inside = row >= 0 && row < i32(params.in_height);
    let index = row_index(plane_base, row, inside);
    return array<vec4<f32>, 3>(row_vector(index, first, inside), row_vector(index, first + 4, inside),
        row_vector(index, first + 8, inside));
}

// The 20 input columns from `first` (a multiple of 4) of input row `row`.
fn input_row5(plane_base: u32, row: i32, first: i32) -> array<vec4<f32>, 5> {
    let inside = row >= 0 && row < i32(params.in_height);
    let index = row_index(plane_base, row, inside);
    return array<vec4<f32>, 5>(row_vector(index, first, inside), row_vector(index, first + 4, inside),
        row_vector(index, first + 8, inside), row_vector(index, first + 12, inside), row_vector(index, first + 16, inside));
}

// One input row's contribution to 8 output columns (columns 0-3, 4-7) through its 3 taps `w`,
// at stride 1: output column j reads input columns j..j+2.
fn row_taps(v: array<vec4<f32>, 3>, w: vec3<f32>) -> array<vec4<f32>, 2> {
    let low = fma(vec4<f32>(w.z), vec4<f32>(v[0].zw, v[1].xy), fma(vec4<f32>(w.y), vec4<f32>(v[0].yzw, v[1].x), vec4<f32>(w.x) * v[0]));
    let high = fma(vec4<f32>(w.z), vec4<f32>(v[1].zw, v[2].xy), fma(vec4<f32>(w.y), vec4<f32>(v[1].yzw, v[2].x), vec4<f32>(w.x) * v[1]));
    return array<vec4<f32>, 2>(low, high);
}

// The same at stride 2: output column j reads input columns 2j..2j+2, one further if `odd`.
fn row_taps_stride2(v: array<vec4<f32>, 5>, w: vec3<f32>, odd: bool) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(taps_stride2(v[0], v[1], v[2], w, odd), taps_stride2(v[2], v[3], v[4], w, odd));
}

// 4 output columns at stride 2 from the 12 input columns a, b, c.
fn taps_stride2(a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, w: vec3<f32>, odd: bool) -> vec4<f32> {
    let even = vec4<f32>(a.xz, b.xz);          // columns 0, 2, 4, 6
    let odd_columns = vec4<f32>(a.yw, b.yw);   // 1, 3, 5, 7
    let even_next = vec4<f32>(a.z, b.xz, c.x); // 2, 4, 6, 8
    let odd_next = vec4<f32>(a.w, b.yw, c.y);  // 3, 5, 7, 9
    let tap0 = select(even, odd_columns, odd);
    let tap1 = select(odd_columns, even_next, odd);
    let tap2 = select(even_next, odd_next, odd);
    return fma(vec4<f32>(w.z), tap2, fma(vec4<f32>(w.y), tap1, vec4<f32>(w.x) * tap0));
}

// Output row first_row + `offset` at stride 1 from input rows a, b, c (computed only if the row
// exists).
fn store_rows3(at: OutputRow, offset: u32, a: array<vec4<f32>, 3>, b: array<vec4<f32>, 3>, c: array<vec4<f32>, 3>,
               taps: array<vec3<f32>, 3>) {
    if (at.first_row + offset < params.out_height) {
        let x = row_taps(a, taps[0]);
        let y = row_taps(b, taps[1]);
        let z = row_taps(c, taps[2]);
        store_row(at, offset, array<vec4<f32>, 2>(x[0] + y[0] + z[0], x[1] + y[1] + z[1]));
    }
}

// The same at stride 2.
fn store_rows5(at: OutputRow, offset: u32, a: array<vec4<f32>, 5>, b: array<vec4<f32>, 5>, c: array<vec4<f32>, 5>,
               taps: array<vec3<f32>, 3>, odd: bool) {
    if (at.first_row + offset < params.out_height) {
        let x = row_taps_stride2(a, taps[0], odd);
        let y = row_taps_stride2(b, taps[1], odd);
        let z = row_taps_stride2(c, taps[2], odd);
        store_row(at, offset, array<vec4<f32>, 2>(x[0] + y[0] + z[0], x[1] + y[1] + z[1]));
    }
}

struct OutputRow {
    image: u32,
    out_channel: u32,
    first_row: u32,
    first_column: i32,
}

// Adds the bias, activates and stores output row first_row + `offset`: the tile's 8 columns
// from `first_column`, those inside the row.
fn store_row(at: OutputRow, offset: u32, values: array<vec4<f32>, 2>) {
    let row = at.first_row + offset;
    var bias_value = 0.0;
    if (params.has_bias != 0u) {
        bias_value = bias[at.out_channel];
    }
    let row_base = params.output_base + ((at.image * params.out_channels + at.out_channel) * params.out_height + row) * params.out_width;
    for (var j = 0; j < 8; j++) {
        let column = at.first_column + j;
        if (column >= 0 && column < i32(params.out_width)) {
            output[row_base + u32(column)] = activate(select(values[1][j % 4], values[0][j % 4], j < 4) + bias_value);
        }
    }
}
