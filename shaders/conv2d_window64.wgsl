// conv2d_window64: conv2d_window.wgsl with every input and weight load 64 bits wide, for CPU
// adapters with subgroups and SHADER_INT64 (lavapipe; `Gpu::has_int64_loads`). llvmpipe (Mesa
// 25) loads a storage value lane by lane and component by component, with a bounds check and a
// branch each, so a vec2<u64> fetches a vec4's 4 floats in 2 such steps instead of 4 (lavapipe,
// one process alternating: conv3x3_r18 in 0.83-0.84 of conv2d_window.wgsl's time,
// conv7x7_stem 0.74-0.75, conv5x5_incep 0.84-0.89, conv5x5_naive 0.84; BENCHMARKS.md).
// Layouts, thread mapping, entry points and bits are conv2d_window.wgsl's: below this header
// the file is that one's, line for line, with `input` and `packed_weight` declared as
// array<vec2<u64>> (same indices: one element a vec4 of floats) and every read of them passed
// through `floats4` (at the end). tests/shaders.rs checks exactly that. WGSL has no include, and
// a module that declares u64 does not compile where 64-bit integers are missing (most GPUs
// here take the float kernels), so the two cannot be one file.

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
    // Tiles of 4 columns per output row, counted from `column_origin`.
    column_tiles: u32,
}

// Tiles a workgroup holds, every entry point's `@workgroup_size`: set per adapter by the pipeline
// (`Tiling::per_workgroup` in window.rs: 16, and 8 for conv2d_window1_narrow, on CPU adapters; 64
// on GPUs, whole warps and waves).
override TILES_PER_WORKGROUP: u32 = 16u;
const CHANNEL_TILE: u32 = 32u;

var<immediate> params: Conv2dParams;
@group(0) @binding(1) var<storage, read> input: array<vec2<u64>>;          // [N, C_in, H, W / 4] from input_base / 4
@group(0) @binding(2) var<storage, read> packed_weight: array<vec2<u64>>;  // [channel tiles, taps, 32 / 4]
@group(0) @binding(3) var<storage, read> bias: array<f32>;                 // [C_out] (one dummy value when has_bias = 0)
@group(0) @binding(4) var<storage, read_write> output: array<f32>;         // [N, C_out, H_out, W_out] from output_base

// Activation codes mirror `Activation::code` in src/ops/activation.rs; NaN passes through
// (tested on the bits: GL llvmpipe turns a max or a compare-and-select with NaN into a number).
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

// The accumulators: column j of m_i holds channels 4i..4i+3 of the tile's output column j.
struct Tile {
    m0: mat4x4<f32>, m1: mat4x4<f32>, m2: mat4x4<f32>, m3: mat4x4<f32>,
    m4: mat4x4<f32>, m5: mat4x4<f32>, m6: mat4x4<f32>, m7: mat4x4<f32>,
}

// m + w x^T, one column at a time (column j gains w * x[j]). Updating the columns in place
// measured ~40% faster on llvmpipe than adding a separately built outer-product matrix
// (m += outer(w, x)); llvmpipe emits a multiply and an add for fma either way, GPUs one fma.
fn outer_add(m: mat4x4<f32>, w: vec4<f32>, x: vec4<f32>) -> mat4x4<f32> {
    return mat4x4<f32>(fma(w, vec4<f32>(x.x), m[0]), fma(w, vec4<f32>(x.y), m[1]),
                       fma(w, vec4<f32>(x.z), m[2]), fma(w, vec4<f32>(x.w), m[3]));
}

// One tap: `w` holds channels 4l..4l+3 in lane l; `x` this lane's 4 input values.
fn accumulate(t: Tile, w: vec4<f32>, x: vec4<f32>) -> Tile {
    return Tile(outer_add(t.m0, subgroupBroadcast(w, 0u), x), outer_add(t.m1, subgroupBroadcast(w, 1u), x),
                outer_add(t.m2, subgroupBroadcast(w, 2u), x), outer_add(t.m3, subgroupBroadcast(w, 3u), x),
                outer_add(t.m4, subgroupBroadcast(w, 4u), x), outer_add(t.m5, subgroupBroadcast(w, 5u), x),
                outer_add(t.m6, subgroupBroadcast(w, 6u), x), outer_add(t.m7, subgroupBroadcast(w, 7u), x));
}

// Eight taps into one accumulator matrix, column by column: each column stays in a register
// through all eight (llvmpipe spills a tile's 128 accumulators; updating every matrix once per
// tap reloads and stores each eight times as often, and tap-major order within the matrix
// measured 10% slower).
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

// Eight taps (`w`: lane l's vec4 of each, as in `accumulate`; `x`: this lane's inputs), one
// matrix at a time. Each matrix takes its own broadcasts (lane numbers must be constants): made
// all up front, 64 vec4s would be live at once (that measured 10% slower on lavapipe).
fn accumulate8(t: Tile, w: array<vec4<f32>, 8>, x: array<vec4<f32>, 8>) -> Tile {
    return Tile(
        taps8(t.m0, array<vec4<f32>, 8>(subgroupBroadcast(w[0], 0u), subgroupBroadcast(w[1], 0u), subgroupBroadcast(w[2], 0u),
            subgroupBroadcast(w[3], 0u), subgroupBroadcast(w[4], 0u), subgroupBroadcast(w[5], 0u), subgroupBroadcast(w[6], 0u),
            subgroupBroadcast(w[7], 0u)), x),
        taps8(t.m1, array<vec4<f32>, 8>(subgroupBroadcast(w[0], 1u), subgroupBroadcast(w[1], 1u), subgroupBroadcast(w[2], 1u),
            subgroupBroadcast(w[3], 1u), subgroupBroadcast(w[4], 1u), subgroupBroadcast(w[5], 1u), subgroupBroadcast(w[6], 1u),
            subgroupBroadcast(w[7], 1u)), x),
        taps8(t.m2, array<vec4<f32>, 8>(subgroupBroadcast(w[0], 2u), subgroupBroadcast(w[1], 2u), subgroupBroadcast(w[2], 2u),
            subgroupBroadcast(w[3], 2u), subgroupBroadcast(w[4], 2u), subgroupBroadcast(w[5], 2u), subgroupBroadcast(w[6], 2u),
            subgroupBroadcast(w[7], 2u)), x),
        taps8(t.m3, array<vec4<f32>, 8>(subgroupBroadcast(w[0], 3u), subgroupBroadcast(w[1], 3u), subgroupBroadcast(w[2], 3u),
            subgroupBroadcast(w[3], 3u), subgroupBroadcast(w[4], 3u), subgroupBroadcast(w[5], 3u), subgroupBroadcast(w[6], 3u),
            subgroupBroadcast(w[7], 3u)), x),
        taps8(t.m4, array<vec4<f32>, 8>(subgroupBroadcast(w[0], 4u), subgroupBroadcast(w[1], 4u), subgroupBroadcast(w[2], 4u),
            subgroupBroadcast(w[3], 4u), subgroupBroadcast(w[4], 4u), subgroupBroadcast(w[5], 4u), subgroupBroadcast(w[6], 4u),
            subgroupBroadcast(w[7], 4u)), x),
        taps8(t.m5, array<vec4<f32>, 8>(subgroupBroadcast(w[0], 5u), subgroupBroadcast(w[1], 5u), subgroupBroadcast(w[2], 5u),
            subgroupBroadcast(w[3], 5u), subgroupBroadcast(w[4], 5u), subgroupBroadcast(w[5], 5u), subgroupBroadcast(w[6], 5u),
            subgroupBroadcast(w[7], 5u)), x),
        taps8(t.m6, array<vec4<f32>, 8>(subgroupBroadcast(w[0], 6u), subgroupBroadcast(w[1], 6u), subgroupBroadcast(w[2], 6u),
            subgroupBroadcast(w[3], 6u), subgroupBroadcast(w[4], 6u), subgroupBroadcast(w[5], 6u), subgroupBroadcast(w[6], 6u),
            subgroupBroadcast(w[7], 6u)), x),
        taps8(t.m7, array<vec4<f32>, 8>(subgroupBroadcast(w[0], 7u), subgroupBroadcast(w[1], 7u), subgroupBroadcast(w[2], 7u),
            subgroupBroadcast(w[3], 7u), subgroupBroadcast(w[4], 7u), subgroupBroadcast(w[5], 7u), subgroupBroadcast(w[6], 7u),
            subgroupBroadcast(w[7], 7u)), x));
}

// The output column where the tiles start (0 or negative): the one whose input window starts
// on a vec4 boundary. Mirrors `origin_shift` in src/ops/conv2d/window.rs.
fn column_origin() -> i32 {
    if (params.stride_width == 1u) {
        let phase = i32(params.pad_left % 4u);
        return select(phase - 4, 0, phase == 0);
    }
    return -i32(((params.pad_left + 1u) / 2u) % 2u);
}

// Where one invocation works.
struct Place {
    image: u32,
    out_row: u32,
    first_column: i32,
    // The input column where this tile's window starts (a multiple of 4), and for stride 2
    // whether the tile's first tap sits one column further (odd pad_left).
    first_input: i32,
    odd: bool,
    top: i32, // the input row of the tile's first kernel row (negative in the padding)
    in_range: bool,
    group: u32,
    tile_channel: u32,
    // Index of this lane's weight vec4 for tap 0, and the step from one tap to the next.
    weight_index: u32,
    weight_step: u32,
}

// The tile of `lane` for tiles of `columns` output columns x `channels` output channels,
// `per_workgroup` tiles a workgroup (constants at every call; mirrored by the `Tiling` constants
// in src/ops/conv2d/window.rs). `weight_index` is the tile's first weight vec4, without the lane's
// share.
fn place_tile(block_index: u32, lane: u32, columns: u32, channels: u32, per_workgroup: u32) -> Place {
    let tiles_per_group = (params.out_channels_per_group + channels - 1u) / channels;
    let channel_tiles = params.groups * tiles_per_group;
    let tiles_per_plane = params.out_height * params.column_tiles;
    let pixel_blocks = (tiles_per_plane + per_workgroup - 1u) / per_workgroup;
    let unclamped_tile = ((block_index / channel_tiles) % pixel_blocks) * per_workgroup + lane;
    let pixel_tile = min(unclamped_tile, tiles_per_plane - 1u);
    let first_column = column_origin() + i32((pixel_tile % params.column_tiles) * columns);
    let odd = params.stride_width == 2u && params.pad_left % 2u == 1u;
    let channel_tile = block_index % channel_tiles;
    let group = channel_tile / tiles_per_group;
    let tile_channel = (channel_tile % tiles_per_group) * channels;
    let taps = params.in_channels_per_group * params.kernel_height * params.kernel_width;
    let weight_step = CHANNEL_TILE / 4u;
    return Place(
        min(block_index / (pixel_blocks * channel_tiles), params.batch - 1u),
        pixel_tile / params.column_tiles,
        first_column,
        first_column * i32(params.stride_width) - i32(params.pad_left) - i32(odd),
        odd,
        i32((pixel_tile / params.column_tiles) * params.stride_height) - i32(params.pad_top),
        block_index < params.batch * pixel_blocks * channel_tiles && unclamped_tile < tiles_per_plane,
        group,
        tile_channel,
        (group * params.channel_tiles_per_group + tile_channel / CHANNEL_TILE) * taps * weight_step
            + tile_channel % CHANNEL_TILE / 4u,
        weight_step);
}

// The 4-column x 32-channel tiles: lane l loads channels 4l..4l+3 of each tap.
fn place(block_index: u32, lane: u32, subgroup_lane: u32) -> Place {
    var at = place_tile(block_index, lane, 4u, CHANNEL_TILE, TILES_PER_WORKGROUP);
    at.weight_index += subgroup_lane % 8u;
    return at;
}

// A kernel row's place in the input: the vec4 index of the row's start, and whether the row
// exists (rows in the padding read as 0).
struct InputRow {
    index: u32,
    inside: bool,
}

fn input_row(plane_index: u32, row: i32) -> InputRow {
    let inside = row >= 0 && row < i32(params.in_height);
    return InputRow((plane_index + u32(select(0, row, inside)) * params.in_width) / 4u, inside);
}

// The 4 input columns starting at `column` (a multiple of 4) of `row`, 0 outside.
fn load_vec4(row: InputRow, column: i32) -> vec4<f32> {
    let inside = row.inside && column >= 0 && column < i32(params.in_width);
    return select(vec4<f32>(0.0), floats4(input[select(0u, row.index + u32(column) / 4u, inside)]), inside);
}

// One kernel row of a 3x3 kernel: input columns first..first+5 feed the 3 taps.
fn row3(t: Tile, plane_index: u32, row_number: i32, at: Place, weight_index: u32) -> Tile {
    let row = input_row(plane_index, row_number);
    let first = at.first_input;
    let step = at.weight_step;
    let v0 = load_vec4(row, first);
    let v1 = load_vec4(row, first + 4);
    var u = accumulate(t, floats4(packed_weight[weight_index]), v0);
    u = accumulate(u, floats4(packed_weight[weight_index + step]), vec4<f32>(v0.yzw, v1.x));
    return accumulate(u, floats4(packed_weight[weight_index + 2u * step]), vec4<f32>(v0.zw, v1.xy));
}

// One kernel row of a 5x5 kernel: input columns first..first+7 feed the 5 taps.
fn row5(t: Tile, plane_index: u32, row_number: i32, at: Place, weight_index: u32) -> Tile {
    let row = input_row(plane_index, row_number);
    let first = at.first_input;
    let step = at.weight_step;
    let v0 = load_vec4(row, first);
    let v1 = load_vec4(row, first + 4);
    var u = accumulate(t, floats4(packed_weight[weight_index]), v0);
    u = accumulate(u, floats4(packed_weight[weight_index + step]), vec4<f32>(v0.yzw, v1.x));
    u = accumulate(u, floats4(packed_weight[weight_index + 2u * step]), vec4<f32>(v0.zw, v1.xy));
    u = accumulate(u, floats4(packed_weight[weight_index + 3u * step]), vec4<f32>(v0.w, v1.xyz));
    return accumulate(u, floats4(packed_weight[weight_index + 4u * step]), v1);
}

// Stride 2: the 4 inputs of tap q are window elements q, q+2, q+4, q+6, or one further for an
// odd pad_left. `q` is a constant once inlined.
fn stride2_input(v0: vec4<f32>, v1: vec4<f32>, v2: vec4<f32>, v3: vec4<f32>, q: u32, odd: bool) -> vec4<f32> {
    switch q {
        case 0u: { return select(vec4<f32>(v0.x, v0.z, v1.x, v1.z), vec4<f32>(v0.y, v0.w, v1.y, v1.w), odd); }
        case 1u: { return select(vec4<f32>(v0.y, v0.w, v1.y, v1.w), vec4<f32>(v0.z, v1.x, v1.z, v2.x), odd); }
        case 2u: { return select(vec4<f32>(v0.z, v1.x, v1.z, v2.x), vec4<f32>(v0.w, v1.y, v1.w, v2.y), odd); }
        case 3u: { return select(vec4<f32>(v0.w, v1.y, v1.w, v2.y), vec4<f32>(v1.x, v1.z, v2.x, v2.z), odd); }
        case 4u: { return select(vec4<f32>(v1.x, v1.z, v2.x, v2.z), vec4<f32>(v1.y, v1.w, v2.y, v2.w), odd); }
        case 5u: { return select(vec4<f32>(v1.y, v1.w, v2.y, v2.w), vec4<f32>(v1.z, v2.x, v2.z, v3.x), odd); }
        case 6u: { return select(vec4<f32>(v1.z, v2.x, v2.z, v3.x), vec4<f32>(v1.w, v2.y, v2.w, v3.y), odd); }
        default: { return vec4<f32>(0.0); }
    }
}

// One kernel row of a 3x3 stride-2 kernel: window elements 0..9.
fn row3_stride2(t: Tile, plane_index: u32, row_number: i32, at: Place, weight_index: u32) -> Tile {
    let row = input_row(plane_index, row_number);
    let step = at.weight_step;
    let v0 = load_vec4(row, at.first_input);
    let v1 = load_vec4(row, at.first_input + 4);
    let v2 = load_vec4(row, at.first_input + 8);
    let v3 = vec4<f32>(0.0);
    var u = accumulate(t, floats4(packed_weight[weight_index]), stride2_input(v0, v1, v2, v3, 0u, at.odd));
    u = accumulate(u, floats4(packed_weight[weight_index + step]), stride2_input(v0, v1, v2, v3, 1u, at.odd));
    return accumulate(u, floats4(packed_weight[weight_index + 2u * step]), stride2_input(v0, v1, v2, v3, 2u, at.odd));
}

// One kernel row of a 7x7 stride-2 kernel: window elements 0..13.
fn row7_stride2(t: Tile, plane_index: u32, row_number: i32, at: Place, weight_index: u32) -> Tile {
    let row = input_row(plane_index, row_number);
    let step = at.weight_step;
    let v0 = load_vec4(row, at.first_input);
    let v1 = load_vec4(row, at.first_input + 4);
    let v2 = load_vec4(row, at.first_input + 8);
    let v3 = load_vec4(row, at.first_input + 12);
    var u = accumulate(t, floats4(packed_weight[weight_index]), stride2_input(v0, v1, v2, v3, 0u, at.odd));
    u = accumulate(u, floats4(packed_weight[weight_index + step]), stride2_input(v0, v1, v2, v3, 1u, at.odd));
    u = accumulate(u, floats4(packed_weight[weight_index + 2u * step]), stride2_input(v0, v1, v2, v3, 2u, at.odd));
    u = accumulate(u, floats4(packed_weight[weight_index + 3u * step]), stride2_input(v0, v1, v2, v3, 3u, at.odd));
    u = accumulate(u, floats4(packed_weight[weight_index + 4u * step]), stride2_input(v0, v1, v2, v3, 4u, at.odd));
    u = accumulate(u, floats4(packed_weight[weight_index + 5u * step]), stride2_input(v0, v1, v2, v3, 5u, at.odd));
    return accumulate(u, floats4(packed_weight[weight_index + 6u * step]), stride2_input(v0, v1, v2, v3, 6u, at.odd));
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

// Stores channels channel..channel+3 (those inside the group) of one output column at `index`.
fn store_column(values: vec4<f32>, index: u32, channel: u32, group_end: u32, column: i32) {
    if (column < 0 || column >= i32(params.out_width)) {
        return;
    }
    let out_plane = params.out_height * params.out_width;
    let at_channel = index + u32(column) + channel * out_plane;
    let activated = activate(values);
    if (channel < group_end) { output[at_channel] = activated.x; }
    if (channel + 1u < group_end) { output[at_channel + out_plane] = activated.y; }
    if (channel + 2u < group_end) { output[at_channel + 2u * out_plane] = activated.z; }
    if (channel + 3u < group_end) { output[at_channel + 3u * out_plane] = activated.w; }
}

// Adds bias, activates and stores one 4x4 matrix of the tile (every index a constant, so
// nothing is indexed per lane).
fn store_matrix(m: mat4x4<f32>, channel: u32, at: Place) {
    let group_end = (at.group + 1u) * params.out_channels_per_group;
    let b = bias4(channel, group_end);
    let index = params.output_base + (at.image * params.out_channels * params.out_height + at.out_row) * params.out_width;
    store_column(m[0] + b, index, channel, group_end, at.first_column);
    store_column(m[1] + b, index, channel, group_end, at.first_column + 1);
    store_column(m[2] + b, index, channel, group_end, at.first_column + 2);
    store_column(m[3] + b, index, channel, group_end, at.first_column + 3);
}

fn matrix(t: Tile, i: u32) -> mat4x4<f32> {
    switch i {
        case 0u: { return t.m0; }
        case 1u: { return t.m1; }
        case 2u: { return t.m2; }
        case 3u: { return t.m3; }
        case 4u: { return t.m4; }
        case 5u: { return t.m5; }
        case 6u: { return t.m6; }
        default: { return t.m7; }
    }
}

// Stores the tile (lanes past the end store nothing).
fn store_tile(t: Tile, at: Place) {
    if (!at.in_range) {
        return;
    }
    let channel = at.group * params.out_channels_per_group + at.tile_channel;
    for (var i = 0u; i < 8u; i++) {
        store_matrix(matrix(t, i), channel + 4u * i, at);
    }
}

fn plane_index(at: Place, c: u32) -> u32 {
    return params.input_base + ((at.image * params.in_channels + at.group * params.in_channels_per_group + c)
        * params.in_height) * params.in_width;
}

// Every lane runs the loops (subgroupBroadcast needs the whole subgroup); the bounds are
// uniform. One iteration covers one input channel: all 9 (or 25) taps, so the accumulators'
// per-iteration bookkeeping on llvmpipe is amortised over 9 (25) taps.
@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_window3(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                  @builtin(local_invocation_index) lane: u32, @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, subgroup_lane);
    var weight_index = at.weight_index;
    var t: Tile;
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        let plane = plane_index(at, c);
        t = row3(t, plane, at.top, at, weight_index);
        t = row3(t, plane, at.top + 1, at, weight_index + 3u * at.weight_step);
        t = row3(t, plane, at.top + 2, at, weight_index + 6u * at.weight_step);
        weight_index += 9u * at.weight_step;
    }
    store_tile(t, at);
}

@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_window5(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                  @builtin(local_invocation_index) lane: u32, @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, subgroup_lane);
    var weight_index = at.weight_index;
    var t: Tile;
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        let plane = plane_index(at, c);
        t = row5(t, plane, at.top, at, weight_index);
        t = row5(t, plane, at.top + 1, at, weight_index + 5u * at.weight_step);
        t = row5(t, plane, at.top + 2, at, weight_index + 10u * at.weight_step);
        t = row5(t, plane, at.top + 3, at, weight_index + 15u * at.weight_step);
        t = row5(t, plane, at.top + 4, at, weight_index + 20u * at.weight_step);
        weight_index += 25u * at.weight_step;
    }
    store_tile(t, at);
}

@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_window3_stride2(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                          @builtin(local_invocation_index) lane: u32, @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, subgroup_lane);
    var weight_index = at.weight_index;
    var t: Tile;
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        let plane = plane_index(at, c);
        t = row3_stride2(t, plane, at.top, at, weight_index);
        t = row3_stride2(t, plane, at.top + 1, at, weight_index + 3u * at.weight_step);
        t = row3_stride2(t, plane, at.top + 2, at, weight_index + 6u * at.weight_step);
        weight_index += 9u * at.weight_step;
    }
    store_tile(t, at);
}

// One iteration per kernel row (7 taps).
@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_window7_stride2(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                          @builtin(local_invocation_index) lane: u32, @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, subgroup_lane);
    var weight_index = at.weight_index;
    var t: Tile;
    for (var r = 0u; r < params.in_channels_per_group * 7u; r++) {
        t = row7_stride2(t, plane_index(at, r / 7u), at.top + i32(r % 7u), at, weight_index);
        weight_index += 7u * at.weight_step;
    }
    store_tile(t, at);
}

// 1x1 kernels (channel projections) with the plane seen as one row of H*W columns: each
// input channel is one tap, eight per iteration, summed matrix by matrix (`accumulate8`:
// conv1x1_proj 7.1 -> 5.8 ms on lavapipe). With no padding and H*W a multiple of 4 every
// tile's 4 columns are inside the plane (tiles past the end repeat the last), so the loads
// need no bounds.
@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_window1(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                  @builtin(local_invocation_index) lane: u32, @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let at = place(workgroup.x + workgroup.y * groups_launched.x, lane, subgroup_lane);
    var weight_index = at.weight_index;
    let step = at.weight_step;
    var index = (plane_index(at, 0u) + u32(at.first_input)) / 4u;
    let plane = params.in_width / 4u;
    var t: Tile;
    var c = 0u;
    for (; c + 8u <= params.in_channels_per_group; c += 8u) {
        let w = array<vec4<f32>, 8>(floats4(packed_weight[weight_index]), floats4(packed_weight[weight_index + step]),
            floats4(packed_weight[weight_index + 2u * step]), floats4(packed_weight[weight_index + 3u * step]),
            floats4(packed_weight[weight_index + 4u * step]), floats4(packed_weight[weight_index + 5u * step]),
            floats4(packed_weight[weight_index + 6u * step]), floats4(packed_weight[weight_index + 7u * step]));
        let x = array<vec4<f32>, 8>(floats4(input[index]), floats4(input[index + plane]), floats4(input[index + 2u * plane]),
            floats4(input[index + 3u * plane]), floats4(input[index + 4u * plane]), floats4(input[index + 5u * plane]), floats4(input[index + 6u * plane]),
            floats4(input[index + 7u * plane]));
        t = accumulate8(t, w, x);
        weight_index += 8u * step;
        index += 8u * plane;
    }
    for (; c < params.in_channels_per_group; c++) {
        t = accumulate(t, floats4(packed_weight[weight_index]), floats4(input[index]));
        weight_index += step;
        index += plane;
    }
    store_tile(t, at);
}

// Eight taps of a narrow tile (`conv2d_window1_narrow`): `w[k]` holds, in lane l, channels
// 4(l%4)..+3 of tap 2k + l/4; `left` and `right` are this lane's inputs of the tile's columns 0-3
// and 4-7. Column quad q of the tile is m_q (left) and m_{4+q} (right).
// (Lane numbers must be constants, hence the switch.)
fn narrow_taps(w: array<vec4<f32>, 4>, q: u32) -> array<vec4<f32>, 8> {
    switch q {
        case 0u: {
            return array<vec4<f32>, 8>(subgroupBroadcast(w[0], 0u), subgroupBroadcast(w[0], 4u), subgroupBroadcast(w[1], 0u),
                subgroupBroadcast(w[1], 4u), subgroupBroadcast(w[2], 0u), subgroupBroadcast(w[2], 4u),
                subgroupBroadcast(w[3], 0u), subgroupBroadcast(w[3], 4u));
        }
        case 1u: {
            return array<vec4<f32>, 8>(subgroupBroadcast(w[0], 1u), subgroupBroadcast(w[0], 5u), subgroupBroadcast(w[1], 1u),
                subgroupBroadcast(w[1], 5u), subgroupBroadcast(w[2], 1u), subgroupBroadcast(w[2], 5u),
                subgroupBroadcast(w[3], 1u), subgroupBroadcast(w[3], 5u));
        }
        case 2u: {
            return array<vec4<f32>, 8>(subgroupBroadcast(w[0], 2u), subgroupBroadcast(w[0], 6u), subgroupBroadcast(w[1], 2u),
                subgroupBroadcast(w[1], 6u), subgroupBroadcast(w[2], 2u), subgroupBroadcast(w[2], 6u),
                subgroupBroadcast(w[3], 2u), subgroupBroadcast(w[3], 6u));
        }
        default: {
            return array<vec4<f32>, 8>(subgroupBroadcast(w[0], 3u), subgroupBroadcast(w[0], 7u), subgroupBroadcast(w[1], 3u),
                subgroupBroadcast(w[1], 7u), subgroupBroadcast(w[2], 3u), subgroupBroadcast(w[2], 7u),
                subgroupBroadcast(w[3], 3u), subgroupBroadcast(w[3], 7u));
        }
    }
}

fn accumulate8_narrow(t: Tile, w: array<vec4<f32>, 4>, left: array<vec4<f32>, 8>,
                      right: array<vec4<f32>, 8>) -> Tile {
    let w0 = narrow_taps(w, 0u);
    let w1 = narrow_taps(w, 1u);
    let w2 = narrow_taps(w, 2u);
    let w3 = narrow_taps(w, 3u);
    return Tile(taps8(t.m0, w0, left), taps8(t.m1, w1, left), taps8(t.m2, w2, left), taps8(t.m3, w3, left),
                taps8(t.m4, w0, right), taps8(t.m5, w1, right), taps8(t.m6, w2, right), taps8(t.m7, w3, right));
}

// One tap of a narrow tile: lane l < 4 holds channels 4l..4l+3 of it.
fn accumulate_narrow(t: Tile, w: vec4<f32>, left: vec4<f32>, right: vec4<f32>) -> Tile {
    let w0 = subgroupBroadcast(w, 0u);
    let w1 = subgroupBroadcast(w, 1u);
    let w2 = subgroupBroadcast(w, 2u);
    let w3 = subgroupBroadcast(w, 3u);
    return Tile(outer_add(t.m0, w0, left), outer_add(t.m1, w1, left), outer_add(t.m2, w2, left),
                outer_add(t.m3, w3, left), outer_add(t.m4, w0, right), outer_add(t.m5, w1, right),
                outer_add(t.m6, w2, right), outer_add(t.m7, w3, right));
}

// 1x1 kernels with at most 16 output channels a group (conv1x1_incep: 192 -> 16), where a
// 32-channel tile would be half empty: 8 columns x 16 channels an invocation, 8 invocations a
// workgroup on CPU adapters (`NARROW` in window.rs; on lavapipe conv1x1_incep's kernel took 0.40 ms so, 0.64 in
// conv2d_window1, 0.73 with 16-invocation workgroups). Eight input channels an iteration: lanes
// load 4 weight vec4s (two taps each) and 2 input vec4s per channel. A tile that ends past the
// plane reads its right half from the plane's last vec4 and stores only its columns inside.
// CPU adapters with 64-bit integers run its twin in conv2d_window_int64.wgsl where it applies.
@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_window1_narrow(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                         @builtin(local_invocation_index) lane: u32, @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let at = place_tile(workgroup.x + workgroup.y * groups_launched.x, lane, 8u, 16u, TILES_PER_WORKGROUP);
    let step = at.weight_step;
    var weight_index = at.weight_index + (subgroup_lane % 8u / 4u) * step + subgroup_lane % 4u;
    let plane = params.in_width / 4u;
    var left = (plane_index(at, 0u) + u32(at.first_input)) / 4u;
    var right = left + min(1u, plane - 1u - u32(at.first_input) / 4u);
    var t: Tile;
    var c = 0u;
    for (; c + 8u <= params.in_channels_per_group; c += 8u) {
        let w = array<vec4<f32>, 4>(floats4(packed_weight[weight_index]), floats4(packed_weight[weight_index + 2u * step]),
            floats4(packed_weight[weight_index + 4u * step]), floats4(packed_weight[weight_index + 6u * step]));
        let x = array<vec4<f32>, 8>(floats4(input[left]), floats4(input[left + plane]), floats4(input[left + 2u * plane]),
            floats4(input[left + 3u * plane]), floats4(input[left + 4u * plane]), floats4(input[left + 5u * plane]), floats4(input[left + 6u * plane]),
            floats4(input[left + 7u * plane]));
        let y = array<vec4<f32>, 8>(floats4(input[right]), floats4(input[right + plane]), floats4(input[right + 2u * plane]),
            floats4(input[right + 3u * plane]), floats4(input[right + 4u * plane]), floats4(input[right + 5u * plane]), floats4(input[right + 6u * plane]),
            floats4(input[right + 7u * plane]));
        t = accumulate8_narrow(t, w, x, y);
        weight_index += 8u * step;
        left += 8u * plane;
        right += 8u * plane;
    }
    // The last channels one at a time: lanes 0-3 hold the tap's 16 channels.
    weight_index -= (subgroup_lane % 8u / 4u) * step;
    for (; c < params.in_channels_per_group; c++) {
        t = accumulate_narrow(t, floats4(packed_weight[weight_index]), floats4(input[left]), floats4(input[right]));
        weight_index += step;
        left += plane;
        right += plane;
    }
    if (!at.in_range) {
        return;
    }
    var right_half = at;
    right_half.first_column += 4;
    let channel = at.group * params.out_channels_per_group + at.tile_channel;
    store_matrix(t.m0, channel, at);
    store_matrix(t.m1, channel + 4u, at);
    store_matrix(t.m2, channel + 8u, at);
    store_matrix(t.m3, channel + 12u, at);
    store_matrix(t.m4, channel, right_half);
    store_matrix(t.m5, channel + 4u, right_half);
    store_matrix(t.m6, channel + 8u, right_half);
    store_matrix(t.m7, channel + 12u, right_half);
}

// The 4 floats of a vec2<u64> (little-endian halves, so memory order).
fn floats4(bits: vec2<u64>) -> vec4<f32> {
    let low = vec2<u32>(bits & vec2<u64>(0xfffffffflu));
    let high = vec2<u32>(bits >> vec2<u32>(32u));
    return bitcast<vec4<f32>>(vec4<u32>(low.x, high.x, low.y, high.y));
}
