// conv2d_wide: conv2d (semantics and layouts as in conv2d.wgsl) for 1x1, 3x3 and 5x5 kernels
// at stride 1 and 3x3 and 7x7 at stride 2, no dilation, on adapters without subgroups (GL),
// on input rows of whole vec4s (W % 4 == 0; for 1x1 the plane is one row of H*W columns;
// other inputs are first copied to padded rows by `pad_rows` in conv2d_pack.wgsl).
// Layout: input [N, C_in, H, W] read as vec4s; weights repacked by `pack_weights_quads` (for
// conv2d_wide3), `pack_weights_sixteens` (conv2d_wide1_narrow) or `pack_weights_octets`
// (conv2d_pack.wgsl) to [channel tiles, C_in/groups * KH * KW, 4, 16 or 8 channels], a tile's
// weights contiguous, held as the texels of an rgba32float texture (on llvmpipe a texel fetch
// is one 16-byte load per lane, a storage vec4 four bounds-checked scalar loads: GL's
// convolutions take 0.80-0.94 of the time, see src/ops/conv2d/packed_weights.rs), or for
// conv2d_wide1_narrow_uniform by `pack_weights_sixteens_buffer` into a 64 KiB uniform buffer
// (cheaper still); bias [C_out]; output [N, C_out, H_out, W_out], all float32.
// Thread mapping: one invocation computes a register tile of eight 4x4 matrices: 4 output rows
// x 8 columns x 4 channels (conv2d_wide3), 8 columns x 16 channels (conv2d_wide1_narrow and
// _uniform) or 1 row x 16 columns x 8 channels (the others). A workgroup covers 8 such tiles
// of one output plane (more workgroups keep llvmpipe's threads evenly busy on small
// convolutions, see src/ops/conv2d/window.rs), or of several channel tiles where a plane has
// fewer, and workgroups are numbered with the channel tile fastest. Tiles start at
// `column_origin`, as in conv2d_window.wgsl, so each tile's input window starts on a vec4
// boundary and the taps are swizzles of the window's vec4 loads.
// Why these shapes: without subgroups every lane must load each operand it uses itself, and
// on llvmpipe such a load is the expensive operation (a per-lane sequence per component), so
// a tile is shaped for the fewest loads per multiply-add within 128 accumulators:
// conv2d_wide3 loads 6 input rows of 3 vec4s and 9 weight vec4s per input channel for 1152
// multiply-adds (1 row x 16 x 8 took 15 + 18 loads: conv3x3_r18 on GL 18.7 -> 15.8 ms); 1x1
// kernels share no input across taps, so 16 x 8 (6 loads per 128) suits them. conv2d_wide3
// takes all 9 taps of an input channel an iteration and sums each accumulator column over them
// while it sits in registers (the tile does not fit them); conv2d_wide5 and the stride-2
// kernels take one kernel row, conv2d_wide1 one input channel. The portable
// kernel ran conv3x3_r18 in 43 ms; a 16 x 16 tile (256 accumulators) ran faster than 16 x 8
// but took ~45 s to compile, against ~10 s (BENCHMARKS.md).

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
    // Tiles of 32 channels per group (not used here: the weights come in tiles of 4 or 8).
    channel_tiles_per_group: u32,
    // Tiles per output row (16 columns, conv2d_wide3's 8), counted from `column_origin`.
    column_tiles: u32,
}

const TILES_PER_WORKGROUP: u32 = 8u; // `per_workgroup` of `WIDE` and `WIDE_BLOCK` in src/ops/conv2d/window.rs

var<immediate> params: Conv2dParams;
// The packed weights, [channel tiles, taps, 4 or 8 / 4] as texels, WEIGHT_TEXTURE_WIDTH a row.
@group(0) @binding(0) var packed_weight: texture_2d<f32>;
@group(0) @binding(1) var<storage, read> input: array<vec4<f32>>;   // [N, C_in, H, W / 4] from input_base / 4
@group(0) @binding(2) var<storage, read> bias: array<f32>;          // [C_out] (one dummy value when has_bias = 0)
@group(0) @binding(3) var<storage, read_write> output: array<f32>;  // [N, C_out, H_out, W_out] from output_base

// Texels a row of the weight texture (`WEIGHT_TEXTURE_WIDTH` in src/ops/conv2d/packed_weights.rs).
const WEIGHT_TEXTURE_WIDTH: u32 = 4096u;

// Packed weight vec4 `index`.
fn weight(index: u32) -> vec4<f32> {
    return textureLoad(packed_weight, vec2<u32>(index % WEIGHT_TEXTURE_WIDTH, index / WEIGHT_TEXTURE_WIDTH), 0);
}

// Activation codes mirror `Activation::code` in src/ops/activation.rs; NaN passes through.
fn activate(value: vec4<f32>) -> vec4<f32> {
    var result = value;
    switch params.activation {
        case 1u: { result = max(value, vec4<f32>(0.0)); }
        case 2u: { result = clamp(value, vec4<f32>(0.0), vec4<f32>(6.0)); }
        case 3u: { result = select(value * params.leaky_slope, value, value >= vec4<f32>(0.0)); }
        default: {}
    }
    let nan = (bitcast<vec4<u32>>(value) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
    return select(result, value, nan);
}

// The accumulators of conv2d_wide1, conv2d_wide5 and conv2d_wide7_stride2: column j of m<g><q>
// holds channels 4g..4g+3 of the tile's output column 4q+j.
struct Tile {
    m00: mat4x4<f32>, m01: mat4x4<f32>, m02: mat4x4<f32>, m03: mat4x4<f32>,
    m10: mat4x4<f32>, m11: mat4x4<f32>, m12: mat4x4<f32>, m13: mat4x4<f32>,
}

// Column j of m gains the sum over the taps t of w[t] * x[t][j]: each column is summed over
// all the taps while it sits in registers (the tile does not fit them).
fn taps9(m: mat4x4<f32>, w: array<vec4<f32>, 9>, x: array<vec4<f32>, 9>) -> mat4x4<f32> {
    var r = m;
    r[0] = fma(w[8], vec4(x[8].x), fma(w[7], vec4(x[7].x), fma(w[6], vec4(x[6].x), fma(w[5], vec4(x[5].x),
        fma(w[4], vec4(x[4].x), fma(w[3], vec4(x[3].x), fma(w[2], vec4(x[2].x), fma(w[1], vec4(x[1].x),
        fma(w[0], vec4(x[0].x), r[0])))))))));
    r[1] = fma(w[8], vec4(x[8].y), fma(w[7], vec4(x[7].y), fma(w[6], vec4(x[6].y), fma(w[5], vec4(x[5].y),
        fma(w[4], vec4(x[4].y), fma(w[3], vec4(x[3].y), fma(w[2], vec4(x[2].y), fma(w[1], vec4(x[1].y),
        fma(w[0], vec4(x[0].y), r[1])))))))));
    r[2] = fma(w[8], vec4(x[8].z), fma(w[7], vec4(x[7].z), fma(w[6], vec4(x[6].z), fma(w[5], vec4(x[5].z),
        fma(w[4], vec4(x[4].z), fma(w[3], vec4(x[3].z), fma(w[2], vec4(x[2].z), fma(w[1], vec4(x[1].z),
        fma(w[0], vec4(x[0].z), r[2])))))))));
    r[3] = fma(w[8], vec4(x[8].w), fma(w[7], vec4(x[7].w), fma(w[6], vec4(x[6].w), fma(w[5], vec4(x[5].w),
        fma(w[4], vec4(x[4].w), fma(w[3], vec4(x[3].w), fma(w[2], vec4(x[2].w), fma(w[1], vec4(x[1].w),
        fma(w[0], vec4(x[0].w), r[3])))))))));
    return r;
}

// As taps9, for 5 taps (a row of a 5x5 kernel), 7 (a row of a 7x7 kernel) and 3 (a row of a
// 3x3 kernel at stride 2).
fn taps5(m: mat4x4<f32>, w: array<vec4<f32>, 5>, x: array<vec4<f32>, 5>) -> mat4x4<f32> {
    var r = m;
    r[0] = fma(w[4], vec4(x[4].x), fma(w[3], vec4(x[3].x), fma(w[2], vec4(x[2].x), fma(w[1], vec4(x[1].x),
        fma(w[0], vec4(x[0].x), r[0])))));
    r[1] = fma(w[4], vec4(x[4].y), fma(w[3], vec4(x[3].y), fma(w[2], vec4(x[2].y), fma(w[1], vec4(x[1].y),
        fma(w[0], vec4(x[0].y), r[1])))));
    r[2] = fma(w[4], vec4(x[4].z), fma(w[3], vec4(x[3].z), fma(w[2], vec4(x[2].z), fma(w[1], vec4(x[1].z),
        fma(w[0], vec4(x[0].z), r[2])))));
    r[3] = fma(w[4], vec4(x[4].w), fma(w[3], vec4(x[3].w), fma(w[2], vec4(x[2].w), fma(w[1], vec4(x[1].w),
        fma(w[0], vec4(x[0].w), r[3])))));
    return r;
}

fn taps7(m: mat4x4<f32>, w: array<vec4<f32>, 7>, x: array<vec4<f32>, 7>) -> mat4x4<f32> {
    var r = m;
    r[0] = fma(w[6], vec4(x[6].x), fma(w[5], vec4(x[5].x), fma(w[4], vec4(x[4].x), fma(w[3], vec4(x[3].x),
        fma(w[2], vec4(x[2].x), fma(w[1], vec4(x[1].x), fma(w[0], vec4(x[0].x), r[0])))))));
    r[1] = fma(w[6], vec4(x[6].y), fma(w[5], vec4(x[5].y), fma(w[4], vec4(x[4].y), fma(w[3], vec4(x[3].y),
        fma(w[2], vec4(x[2].y), fma(w[1], vec4(x[1].y), fma(w[0], vec4(x[0].y), r[1])))))));
    r[2] = fma(w[6], vec4(x[6].z), fma(w[5], vec4(x[5].z), fma(w[4], vec4(x[4].z), fma(w[3], vec4(x[3].z),
        fma(w[2], vec4(x[2].z), fma(w[1], vec4(x[1].z), fma(w[0], vec4(x[0].z), r[2])))))));
    r[3] = fma(w[6], vec4(x[6].w), fma(w[5], vec4(x[5].w), fma(w[4], vec4(x[4].w), fma(w[3], vec4(x[3].w),
        fma(w[2], vec4(x[2].w), fma(w[1], vec4(x[1].w), fma(w[0], vec4(x[0].w), r[3])))))));
    return r;
}

fn taps3(m: mat4x4<f32>, w: array<vec4<f32>, 3>, x: array<vec4<f32>, 3>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(w[2], vec4(x[2].x), fma(w[1], vec4(x[1].x), fma(w[0], vec4(x[0].x), m[0]))),
        fma(w[2], vec4(x[2].y), fma(w[1], vec4(x[1].y), fma(w[0], vec4(x[0].y), m[1]))),
        fma(w[2], vec4(x[2].z), fma(w[1], vec4(x[1].z), fma(w[0], vec4(x[0].z), m[2]))),
        fma(w[2], vec4(x[2].w), fma(w[1], vec4(x[1].w), fma(w[0], vec4(x[0].w), m[3]))));
}

// Where one invocation works.
struct Place {
    image: u32,
    out_row: u32, // the tile's first output row
    first_column: i32,
    // The input column where the tile's window starts (a multiple of 4), and for stride 2
    // whether the tile's first tap sits one column further (odd pad_left).
    first_input: i32,
    odd: bool,
    in_range: bool,
    group: u32,
    tile_channel: u32,
    weight_index: u32, // this tile's first weight vec4 (tap 0, channels 0..3 of the tile)
    weight_step: u32,  // vec4s from one tap to the next (the tile's channels / 4)
}

// The output column where the tiles start (0 or negative). Mirrors `origin_shift` in
// src/ops/conv2d/window.rs.
fn column_origin() -> i32 {
    if (params.stride_width == 1u) {
        let phase = i32(params.pad_left % 4u);
        return select(phase - 4, 0, phase == 0);
    }
    return -i32(((params.pad_left + 1u) / 2u) % 2u);
}

// The tile of this lane, for tiles of `rows` output rows x `columns` output columns x
// `channels` output channels (constants at every call; mirrored by the `Tiling` constants in
// src/ops/conv2d/window.rs).
fn place(block_index: u32, lane: u32, rows: u32, columns: u32, channels: u32) -> Place {
    let tiles_per_group = (params.out_channels_per_group + channels - 1u) / channels;
    let channel_tiles = params.groups * tiles_per_group;
    let tiles_per_plane = ((params.out_height + rows - 1u) / rows) * params.column_tiles;
    // A plane of fewer tiles than a workgroup holds shares the workgroup with the same tiles of
    // the next channel tiles (lanes would idle otherwise: ResNet-18's 512->512 at 7x7 is 2 tiles
    // a plane). Mirrors `Grid` in src/ops/conv2d/window.rs.
    let stacked = max(TILES_PER_WORKGROUP / tiles_per_plane, 1u);
    let channel_blocks = (channel_tiles + stacked - 1u) / stacked;
    let pixel_blocks = (tiles_per_plane + TILES_PER_WORKGROUP - 1u) / TILES_PER_WORKGROUP;
    let unclamped_tile = ((block_index / channel_blocks) % pixel_blocks) * TILES_PER_WORKGROUP
        + lane % tiles_per_plane;
    let pixel_tile = min(unclamped_tile, tiles_per_plane - 1u);
    let stack = lane / tiles_per_plane; // 0 unless stacked > 1
    let unclamped_channel_tile = (block_index % channel_blocks) * stacked + stack;
    let channel_tile = min(unclamped_channel_tile, channel_tiles - 1u);
    let first_column = column_origin() + i32((pixel_tile % params.column_tiles) * columns);
    let group = channel_tile / tiles_per_group;
    let tile_channel = (channel_tile % tiles_per_group) * channels;
    let taps = params.in_channels_per_group * params.kernel_height * params.kernel_width;
    let weight_step = channels / 4u;
    let odd = params.stride_width == 2u && params.pad_left % 2u == 1u;
    return Place(
        min(block_index / (pixel_blocks * channel_blocks), params.batch - 1u),
        (pixel_tile / params.column_tiles) * rows,
        first_column,
        first_column * i32(params.stride_width) - i32(params.pad_left) - i32(odd),
        odd,
        block_index < params.batch * pixel_blocks * channel_blocks && unclamped_tile < tiles_per_plane
            && stack < stacked && unclamped_channel_tile < channel_tiles,
        group,
        tile_channel,
        channel_tile * taps * weight_step,
        weight_step);
}

fn plane_index(at: Place, c: u32) -> u32 {
    return params.input_base + ((at.image * params.in_channels + at.group * params.in_channels_per_group + c)
        * params.in_height) * params.in_width;
}

// The 5 vec4s (20 input columns) of one input row from the tile's window start; 0 outside the
// input (rows in the padding, columns left or right of it).
struct Window {
    v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, v4: vec4<f32>,
}

fn load_vec4(index: u32, inside_row: bool, column: i32) -> vec4<f32> {
    let inside = inside_row && column >= 0 && column < i32(params.in_width);
    return select(vec4<f32>(0.0), input[select(0u, index + u32(column) / 4u, inside)], inside);
}

fn load_window(plane_index: u32, row: i32, first: i32) -> Window {
    let inside = row >= 0 && row < i32(params.in_height);
    let index = (plane_index + u32(select(0, row, inside)) * params.in_width) / 4u;
    return Window(load_vec4(index, inside, first), load_vec4(index, inside, first + 4),
        load_vec4(index, inside, first + 8), load_vec4(index, inside, first + 12), load_vec4(index, inside, first + 16));
}

// The first 3 vec4s only (12 input columns: 8 output columns of a 3x3 kernel).
fn load_window3(plane_index: u32, row: i32, first: i32) -> Window {
    let inside = row >= 0 && row < i32(params.in_height);
    let index = (plane_index + u32(select(0, row, inside)) * params.in_width) / 4u;
    return Window(load_vec4(index, inside, first), load_vec4(index, inside, first + 4),
        load_vec4(index, inside, first + 8), vec4<f32>(0.0), vec4<f32>(0.0));
}

// Input columns 4q+shift .. 4q+shift+3 of the window (q and shift are constants at every call).
fn quad(w: Window, q: u32, shift: u32) -> vec4<f32> {
    var low = w.v0;
    var high = w.v1;
    switch q {
        case 1u: { low = w.v1; high = w.v2; }
        case 2u: { low = w.v2; high = w.v3; }
        case 3u: { low = w.v3; high = w.v4; }
        default: {}
    }
    switch shift {
        case 1u: { return vec4<f32>(low.yzw, high.x); }
        case 2u: { return vec4<f32>(low.zw, high.xy); }
        case 3u: { return vec4<f32>(low.w, high.xyz); }
        case 4u: { return high; }
        default: { return low; }
    }
}

// The weight vec4s at index, index + step, ..., index + 8 step.
fn weights9(index: u32, step: u32) -> array<vec4<f32>, 9> {
    return array<vec4<f32>, 9>(weight(index), weight(index + step), weight(index + 2u * step),
        weight(index + 3u * step), weight(index + 4u * step), weight(index + 5u * step),
        weight(index + 6u * step), weight(index + 7u * step), weight(index + 8u * step));
}

// The 9 taps' inputs of output columns 4q..4q+3 (rows r0..r2 of a 3x3 kernel).
fn taps3x3(r0: Window, r1: Window, r2: Window, q: u32) -> array<vec4<f32>, 9> {
    return array<vec4<f32>, 9>(quad(r0, q, 0u), quad(r0, q, 1u), quad(r0, q, 2u), quad(r1, q, 0u), quad(r1, q, 1u),
        quad(r1, q, 2u), quad(r2, q, 0u), quad(r2, q, 1u), quad(r2, q, 2u));
}

// conv2d_wide3's accumulators: column j of m<r><q> holds the tile's 4 channels at output row r,
// output column 4q+j.
struct Block {
    m00: mat4x4<f32>, m01: mat4x4<f32>, m10: mat4x4<f32>, m11: mat4x4<f32>,
    m20: mat4x4<f32>, m21: mat4x4<f32>, m30: mat4x4<f32>, m31: mat4x4<f32>,
}

// One input channel of a 3x3 kernel for 4 output rows: 6 input rows of 3 vec4s and 9 weight
// vec4s for 1152 multiply-adds.
fn channel3x3(b: Block, plane_index: u32, at: Place, weight_index: u32) -> Block {
    let top = i32(at.out_row) - i32(params.pad_top);
    let r0 = load_window3(plane_index, top, at.first_input);
    let r1 = load_window3(plane_index, top + 1, at.first_input);
    let r2 = load_window3(plane_index, top + 2, at.first_input);
    let r3 = load_window3(plane_index, top + 3, at.first_input);
    let r4 = load_window3(plane_index, top + 4, at.first_input);
    let r5 = load_window3(plane_index, top + 5, at.first_input);
    let w = weights9(weight_index, at.weight_step);
    return Block(taps9(b.m00, w, taps3x3(r0, r1, r2, 0u)), taps9(b.m01, w, taps3x3(r0, r1, r2, 1u)),
                 taps9(b.m10, w, taps3x3(r1, r2, r3, 0u)), taps9(b.m11, w, taps3x3(r1, r2, r3, 1u)),
                 taps9(b.m20, w, taps3x3(r2, r3, r4, 0u)), taps9(b.m21, w, taps3x3(r2, r3, r4, 1u)),
                 taps9(b.m30, w, taps3x3(r3, r4, r5, 0u)), taps9(b.m31, w, taps3x3(r3, r4, r5, 1u)));
}

// m + w x^T, one column at a time.
fn outer_add(m: mat4x4<f32>, w: vec4<f32>, x: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(w, vec4<f32>(x.x), m[0]), fma(w, vec4<f32>(x.y), m[1]),
                       fma(w, vec4<f32>(x.z), m[2]), fma(w, vec4<f32>(x.w), m[3]));
}

// Bias of channels channel..channel+3 (clamped to the group; 0 without bias).
fn bias4(channel: u32, group_end: u32) -> vec4<f32> {
    if (params.has_bias == 0u) {
        return vec4<f32>(0.0);
    }
    let last = group_end - 1u;
    return vec4<f32>(bias[min(channel, last)], bias[min(channel + 1u, last)], bias[min(channel + 2u, last)],
                     bias[min(channel + 3u, last)]);
}

// Adds bias, activates and stores one 4x4 matrix: channels channel..channel+3 (those inside
// the group) of output columns column..column+3 (those inside the row) of output row `row`.
fn store_matrix(m: mat4x4<f32>, channel: u32, row: u32, column: i32, at: Place) {
    if (row >= params.out_height) {
        return;
    }
    let group_end = (at.group + 1u) * params.out_channels_per_group;
    let b = bias4(channel, group_end);
    let out_plane = params.out_height * params.out_width;
    let row_index = params.output_base + (at.image * params.out_channels + channel) * out_plane
        + row * params.out_width;
    for (var j = 0; j < 4; j++) {
        let c = column + j;
        if (c >= 0 && c < i32(params.out_width)) {
            let values = activate(select(select(select(m[3], m[2], j == 2), m[1], j == 1), m[0], j == 0) + b);
            let index = row_index + u32(c);
            if (channel < group_end) { output[index] = values.x; }
            if (channel + 1u < group_end) { output[index + out_plane] = values.y; }
            if (channel + 2u < group_end) { output[index + 2u * out_plane] = values.z; }
            if (channel + 3u < group_end) { output[index + 3u * out_plane] = values.w; }
        }
    }
}

// Stores the tile (lanes past the end store nothing).
fn store_tile(t: Tile, at: Place) {
    if (!at.in_range) {
        return;
    }
    let channel = at.group * params.out_channels_per_group + at.tile_channel;
    let row = at.out_row;
    store_matrix(t.m00, channel, row, at.first_column, at);
    store_matrix(t.m01, channel, row, at.first_column + 4, at);
    store_matrix(t.m02, channel, row, at.first_column + 8, at);
    store_matrix(t.m03, channel, row, at.first_column + 12, at);
    store_matrix(t.m10, channel + 4u, row, at.first_column, at);
    store_matrix(t.m11, channel + 4u, row, at.first_column + 4, at);
    store_matrix(t.m12, channel + 4u, row, at.first_column + 8, at);
    store_matrix(t.m13, channel + 4u, row, at.first_column + 12, at);
}

fn store_block(b: Block, at: Place) {
    if (!at.in_range) {
        return;
    }
    let channel = at.group * params.out_channels_per_group + at.tile_channel;
    let column = at.first_column;
    store_matrix(b.m00, channel, at.out_row, column, at);
    store_matrix(b.m01, channel, at.out_row, column + 4, at);
    store_matrix(b.m10, channel, at.out_row + 1u, column, at);
    store_matrix(b.m11, channel, at.out_row + 1u, column + 4, at);
    store_matrix(b.m20, channel, at.out_row + 2u, column, at);
    store_matrix(b.m21, channel, at.out_row + 2u, column + 4, at);
    store_matrix(b.m30, channel, at.out_row + 3u, column, at);
    store_matrix(b.m31, channel, at.out_row + 3u, column + 4, at);
}

// The loops run on every lane with uniform bounds; lanes past the end compute a copy of the
// last tile and store nothing.
@compute @workgroup_size(8)
fn conv2d_wide3(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, 4u, 8u, 4u);
    var weight_index = at.weight_index;
    var b: Block;
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        b = channel3x3(b, plane_index(at, c), at, weight_index);
        weight_index += 9u * at.weight_step;
    }
    store_block(b, at);
}

fn weights5(index: u32, step: u32) -> array<vec4<f32>, 5> {
    return array<vec4<f32>, 5>(weight(index), weight(index + step), weight(index + 2u * step),
        weight(index + 3u * step), weight(index + 4u * step));
}

// The 5 taps' inputs of output columns 4q..4q+3 in one row of a 5x5 kernel.
fn taps5x5_row(w: Window, q: u32) -> array<vec4<f32>, 5> {
    return array<vec4<f32>, 5>(quad(w, q, 0u), quad(w, q, 1u), quad(w, q, 2u), quad(w, q, 3u), quad(w, q, 4u));
}

// 5x5 at stride 1: one kernel row an iteration, 5 input and 10 weight vec4 loads for 640
// multiply-adds (a whole input channel an iteration, 25 taps, measured no faster).
@compute @workgroup_size(8)
fn conv2d_wide5(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, 1u, 16u, 8u);
    let top = i32(at.out_row) - i32(params.pad_top);
    var weight_index = at.weight_index;
    var t: Tile;
    for (var r = 0u; r < params.in_channels_per_group * 5u; r++) {
        let window = load_window(plane_index(at, r / 5u), top + i32(r % 5u), at.first_input);
        let w0 = weights5(weight_index, at.weight_step);
        let w1 = weights5(weight_index + 1u, at.weight_step);
        let x0 = taps5x5_row(window, 0u);
        let x1 = taps5x5_row(window, 1u);
        let x2 = taps5x5_row(window, 2u);
        let x3 = taps5x5_row(window, 3u);
        t = Tile(taps5(t.m00, w0, x0), taps5(t.m01, w0, x1), taps5(t.m02, w0, x2), taps5(t.m03, w0, x3),
                 taps5(t.m10, w1, x0), taps5(t.m11, w1, x1), taps5(t.m12, w1, x2), taps5(t.m13, w1, x3));
        weight_index += 5u * at.weight_step;
    }
    store_tile(t, at);
}

// Stride 2: 10 vec4s (40 input columns) of one input row from the tile's window start.
fn load_window10(plane_index: u32, row: i32, first: i32) -> array<vec4<f32>, 10> {
    let inside = row >= 0 && row < i32(params.in_height);
    let index = (plane_index + u32(select(0, row, inside)) * params.in_width) / 4u;
    return array<vec4<f32>, 10>(load_vec4(index, inside, first), load_vec4(index, inside, first + 4),
        load_vec4(index, inside, first + 8), load_vec4(index, inside, first + 12),
        load_vec4(index, inside, first + 16), load_vec4(index, inside, first + 20),
        load_vec4(index, inside, first + 24), load_vec4(index, inside, first + 28),
        load_vec4(index, inside, first + 32), load_vec4(index, inside, first + 36));
}

// Input columns b, b+2, b+4, b+6 of the window (b a constant at every call).
fn every_other(w: array<vec4<f32>, 10>, b: u32) -> vec4<f32> {
    return vec4<f32>(w[b / 4u][b % 4u], w[(b + 2u) / 4u][(b + 2u) % 4u], w[(b + 4u) / 4u][(b + 4u) % 4u],
        w[(b + 6u) / 4u][(b + 6u) % 4u]);
}

// The 7 taps' inputs of output columns 4q..4q+3 at stride 2: tap t of column j reads window
// column 2j + t (+1 when odd).
fn taps7_stride2(w: array<vec4<f32>, 10>, q: u32, odd: bool) -> array<vec4<f32>, 7> {
    let b = 8u * q;
    return array<vec4<f32>, 7>(select(every_other(w, b), every_other(w, b + 1u), odd),
        select(every_other(w, b + 1u), every_other(w, b + 2u), odd), select(every_other(w, b + 2u), every_other(w, b + 3u), odd),
        select(every_other(w, b + 3u), every_other(w, b + 4u), odd), select(every_other(w, b + 4u), every_other(w, b + 5u), odd),
        select(every_other(w, b + 5u), every_other(w, b + 6u), odd), select(every_other(w, b + 6u), every_other(w, b + 7u), odd));
}

// The first 3 taps' inputs (a 3x3 kernel at stride 2 reads the same window columns).
fn first3(x: array<vec4<f32>, 7>) -> array<vec4<f32>, 3> {
    return array<vec4<f32>, 3>(x[0], x[1], x[2]);
}

fn weights7(index: u32, step: u32) -> array<vec4<f32>, 7> {
    return array<vec4<f32>, 7>(weight(index), weight(index + step), weight(index + 2u * step),
        weight(index + 3u * step), weight(index + 4u * step), weight(index + 5u * step),
        weight(index + 6u * step));
}

// 7x7 at stride 2 (a network's stem): one kernel row an iteration, 10 input and 14 weight
// vec4 loads for 896 multiply-adds.
@compute @workgroup_size(8)
fn conv2d_wide7_stride2(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                        @builtin(local_invocation_index) lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, 1u, 16u, 8u);
    let top = i32(at.out_row * 2u) - i32(params.pad_top);
    var weight_index = at.weight_index;
    var t: Tile;
    for (var r = 0u; r < params.in_channels_per_group * 7u; r++) {
        let window = load_window10(plane_index(at, r / 7u), top + i32(r % 7u), at.first_input);
        let w0 = weights7(weight_index, at.weight_step);
        let w1 = weights7(weight_index + 1u, at.weight_step);
        let x0 = taps7_stride2(window, 0u, at.odd);
        let x1 = taps7_stride2(window, 1u, at.odd);
        let x2 = taps7_stride2(window, 2u, at.odd);
        let x3 = taps7_stride2(window, 3u, at.odd);
        t = Tile(taps7(t.m00, w0, x0), taps7(t.m01, w0, x1), taps7(t.m02, w0, x2), taps7(t.m03, w0, x3),
                 taps7(t.m10, w1, x0), taps7(t.m11, w1, x1), taps7(t.m12, w1, x2), taps7(t.m13, w1, x3));
        weight_index += 7u * at.weight_step;
    }
    store_tile(t, at);
}

// 3x3 at stride 2 (a network's downsampling): one kernel row an iteration, 10 input and 6
// weight vec4 loads for 384 multiply-adds.
@compute @workgroup_size(8)
fn conv2d_wide3_stride2(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                        @builtin(local_invocation_index) lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, 1u, 16u, 8u);
    let top = i32(at.out_row * 2u) - i32(params.pad_top);
    var weight_index = at.weight_index;
    let step = at.weight_step;
    var t: Tile;
    for (var r = 0u; r < params.in_channels_per_group * 3u; r++) {
        let window = load_window10(plane_index(at, r / 3u), top + i32(r % 3u), at.first_input);
        let w0 = array<vec4<f32>, 3>(weight(weight_index), weight(weight_index + step),
            weight(weight_index + 2u * step));
        let w1 = array<vec4<f32>, 3>(weight(weight_index + 1u), weight(weight_index + step + 1u),
            weight(weight_index + 2u * step + 1u));
        let x0 = taps7_stride2(window, 0u, at.odd);
        let x1 = taps7_stride2(window, 1u, at.odd);
        let x2 = taps7_stride2(window, 2u, at.odd);
        let x3 = taps7_stride2(window, 3u, at.odd);
        t = Tile(taps3(t.m00, w0, first3(x0)), taps3(t.m01, w0, first3(x1)), taps3(t.m02, w0, first3(x2)),
                 taps3(t.m03, w0, first3(x3)), taps3(t.m10, w1, first3(x0)), taps3(t.m11, w1, first3(x1)),
                 taps3(t.m12, w1, first3(x2)), taps3(t.m13, w1, first3(x3)));
        weight_index += 3u * step;
    }
    store_tile(t, at);
}

// 1x1 kernels (the plane is one row of H*W columns, no padding): one input channel an
// iteration (on GL llvmpipe conv1x1_proj took 10.6 ms so, 11.9 with 8 channels an iteration
// summed column-wise as in conv2d_wide3). No bounds: a tile that runs past the plane's end
// reads the next plane (or a clamped index) into columns that are never stored.
@compute @workgroup_size(8)
fn conv2d_wide1(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, 1u, 16u, 8u);
    let first = u32(at.first_input) / 4u;
    var weight_index = at.weight_index;
    var t: Tile;
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        let index = plane_index(at, c) / 4u + first;
        let w0 = weight(weight_index);
        let w1 = weight(weight_index + 1u);
        let x0 = input[index];
        let x1 = input[index + 1u];
        let x2 = input[index + 2u];
        let x3 = input[index + 3u];
        t = Tile(outer_add(t.m00, w0, x0), outer_add(t.m01, w0, x1), outer_add(t.m02, w0, x2), outer_add(t.m03, w0, x3),
                 outer_add(t.m10, w1, x0), outer_add(t.m11, w1, x1), outer_add(t.m12, w1, x2), outer_add(t.m13, w1, x3));
        weight_index += at.weight_step;
    }
    store_tile(t, at);
}

// The accumulators of conv2d_wide1_narrow: column j of c<g><q> holds channels 4g..4g+3 of the
// tile's output column 4q+j.
struct Narrow {
    c00: mat4x4<f32>, c01: mat4x4<f32>, c10: mat4x4<f32>, c11: mat4x4<f32>,
    c20: mat4x4<f32>, c21: mat4x4<f32>, c30: mat4x4<f32>, c31: mat4x4<f32>,
}

// One input channel into conv2d_wide1_narrow's tile: its 8 columns (x0, x1) times the weights
// of the tile's 16 channels (w0-w3).
fn narrow_step(t: Narrow, x0: vec4<f32>, x1: vec4<f32>, w0: vec4<f32>, w1: vec4<f32>, w2: vec4<f32>,
               w3: vec4<f32>) -> Narrow {
    return Narrow(outer_add(t.c00, w0, x0), outer_add(t.c01, w0, x1), outer_add(t.c10, w1, x0), outer_add(t.c11, w1, x1),
                  outer_add(t.c20, w2, x0), outer_add(t.c21, w2, x1), outer_add(t.c30, w3, x0), outer_add(t.c31, w3, x1));
}

// 1x1 kernels as conv2d_wide1, in tiles of 8 columns x 16 channels: an input channel costs 2
// input vec4s (8 per-lane scalar loads) and 4 weight texels instead of 4 vec4s and 2 texels,
// which pays now that a texel is the cheaper load (GL llvmpipe, one process alternating:
// conv1x1_proj's shape 0.94 of conv2d_wide1's time, 768->192 at 17x17 0.83, conv1x1_incep's
// 0.95). For channel counts a group that 16-channel tiles cover without more padding than
// 8-channel ones (src/ops/conv2d/window.rs); packed weights over 64 KiB (else
// conv2d_wide1_narrow_uniform).
@compute @workgroup_size(8)
fn conv2d_wide1_narrow(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                       @builtin(local_invocation_index) lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, 1u, 8u, 16u);
    let first = u32(at.first_input) / 4u;
    var weight_index = at.weight_index;
    var t: Narrow;
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        let index = plane_index(at, c) / 4u + first;
        t = narrow_step(t, input[index], input[index + 1u], weight(weight_index), weight(weight_index + 1u),
                        weight(weight_index + 2u), weight(weight_index + 3u));
        weight_index += at.weight_step;
    }
    store_narrow(t, at);
}

// conv2d_wide1_narrow's packed weights (at most 64 KiB), [channel tiles, C_in/groups, 4] vec4s,
// as a uniform buffer: on llvmpipe a uniform-buffer vec4 costs less than a texel fetch
// (conv1x1_proj's shape 0.84-0.86 of conv2d_wide1_narrow's time, conv1x1_incep's 0.79-0.82,
// GL, one process alternating; 1x1 16x8 and 3x3 tiles gained only 0.94-0.97, so they keep the
// texture).
@group(0) @binding(4) var<uniform> uniform_weight: array<vec4<f32>, 4096>;

@compute @workgroup_size(8)
fn conv2d_wide1_narrow_uniform(@builtin(workgroup_id) workgroup: vec3<u32>,
                               @builtin(num_workgroups) groups_launched: vec3<u32>,
                               @builtin(local_invocation_index) lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, 1u, 8u, 16u);
    let first = u32(at.first_input) / 4u;
    var weight_index = at.weight_index;
    var t: Narrow;
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        let index = plane_index(at, c) / 4u + first;
        t = narrow_step(t, input[index], input[index + 1u], uniform_weight[weight_index],
                        uniform_weight[weight_index + 1u], uniform_weight[weight_index + 2u],
                        uniform_weight[weight_index + 3u]);
        weight_index += at.weight_step;
    }
    store_narrow(t, at);
}

// Stores conv2d_wide1_narrow's tile (lanes past the end store nothing).
fn store_narrow(t: Narrow, at: Place) {
    if (!at.in_range) {
        return;
    }
    let channel = at.group * params.out_channels_per_group + at.tile_channel;
    let row = at.out_row;
    store_matrix(t.c00, channel, row, at.first_column, at);
    store_matrix(t.c01, channel, row, at.first_column + 4, at);
    store_matrix(t.c10, channel + 4u, row, at.first_column, at);
    store_matrix(t.c11, channel + 4u, row, at.first_column + 4, at);
    store_matrix(t.c20, channel + 8u, row, at.first_column, at);
    store_matrix(t.c21, channel + 8u, row, at.first_column + 4, at);
    store_matrix(t.c30, channel + 12u, row, at.first_column, at);
    store_matrix(t.c31, channel + 12u, row, at.first_column + 4, at);
}
