// conv2d_window_int64: conv2d_window.wgsl's `conv2d_window1_narrow` (a 1x1 convolution at stride
// 1 without padding, in tiles of 16 output channels) reading 8 floats at a time as 64-bit
// words, for any number of output channels, tile after tile (on lavapipe it outruns the
// 32-channel `conv2d_window1` as well). For CPU adapters with subgroups and SHADER_INT64 only:
// llvmpipe (Mesa 25) loads a storage value lane by lane, with a bounds check and a branch each,
// so a vec4<u64> fetches twice the floats of a vec4<f32> for about the same cost (as
// pool2d_int64.wgsl does for the pools).
// Layout: input [N, C_in, H, W] from input_base; weight [C_out, C_in/groups] as given
// (C_in/groups a multiple of 8, so every row starts on an octet: no repacking dispatch); bias
// [C_out]; output [N, C_out, H, W] from output_base; all float32. `conv2d_window1_narrow_int64`
// takes planes (H * W) of whole octets and reads and writes them as vec4<u64>s;
// `conv2d_window1_narrow_int64_quads` takes planes of whole vec4s that are not octets (14x14:
// ResNet's and MobileNetV2's late stages) as vec2<u64> pairs, and stores nothing past a plane's
// end (vec2<u64> costs 1.04-1.09 times vec4<u64> on octet planes, so those keep the first);
// `conv2d_window1_narrow_int64_padded` reads other planes (7x7, 17x17) copied to whole vec4s
// (`pad_rows`) as vec2<u64> pairs and writes them float by float.
// Thread mapping: as conv2d_window1_narrow, one invocation computes 8 consecutive output
// columns (the plane seen as one row) x 16 output channels, TILES_PER_WORKGROUP tiles a
// workgroup. Eight input channels an iteration: lane l of each subgroup of 8 loads the 8 weights
// of output channels l and 8 + l (two vec4<u64>s), subgroupBroadcast hands them to every lane,
// and each lane loads its 8 columns of the 8 channels (8 octets): 10 loads a lane for 1,024
// multiply-adds, against 20 in the vec4<f32> kernel. A lane stores each of its 16 channels'
// 8 columns as one octet (16 stores, not 128 scalar ones: conv1x1_incep's kernel in 0.91-0.93
// of the time, MobileNetV2's 32->16 at 112x112 in 0.80).
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
    channel_tiles_per_group: u32, // unused here (the weights are not repacked)
    // Tiles of 8 columns per plane.
    column_tiles: u32,
}

// Tiles a workgroup holds (`Tiling::per_workgroup` of `NARROW` in src/ops/conv2d/window.rs: 8
// on CPU adapters).
override TILES_PER_WORKGROUP: u32 = 8u;
const COLUMNS: u32 = 8u;
const CHANNELS: u32 = 16u;

var<immediate> params: Conv2dParams;
@group(0) @binding(2) var<storage, read> weight_octets: array<vec4<u64>>;  // [C_out, C_in/groups / 8]
@group(0) @binding(3) var<storage, read> bias: array<f32>;                 // [C_out] (one dummy value when has_bias = 0)
// conv2d_window1_narrow_int64:
@group(0) @binding(1) var<storage, read> input_octets: array<vec4<u64>>;   // [N, C_in, H * W / 8] from input_base / 8
@group(0) @binding(4) var<storage, read_write> output_octets: array<vec4<u64>>; // [N, C_out, H * W / 8] from output_base / 8
// conv2d_window1_narrow_int64_quads (each entry point uses one pair of these bindings):
@group(0) @binding(1) var<storage, read> input_quads: array<vec2<u64>>;    // [N, C_in, H * W / 4] from input_base / 4
@group(0) @binding(4) var<storage, read_write> output_quads: array<vec2<u64>>; // [N, C_out, H * W / 4] from output_base / 4
// conv2d_window1_narrow_int64_padded (input_quads from padded planes):
@group(0) @binding(4) var<storage, read_write> output_floats: array<f32>;   // [N, C_out, H * W] from output_base

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

// Floats 8i..8i+7 of a buffer (little-endian halves, so memory order) as two vec4s.
struct Octet {
    low: vec4<f32>,
    high: vec4<f32>,
}

fn floats(bits: vec4<u64>) -> Octet {
    let low = vec4<u32>(bits & vec4<u64>(0xfffffffflu));
    let high = vec4<u32>(bits >> vec4<u32>(32u));
    return Octet(bitcast<vec4<f32>>(vec4<u32>(low.x, high.x, low.y, high.y)),
                 bitcast<vec4<f32>>(vec4<u32>(low.z, high.z, low.w, high.w)));
}

// The accumulators: column j of m_q holds output channels 4q..4q+3 of the tile's column j
// (m0-m3: columns 0-3, m4-m7: columns 4-7).
struct Tile {
    m0: mat4x4<f32>, m1: mat4x4<f32>, m2: mat4x4<f32>, m3: mat4x4<f32>,
    m4: mat4x4<f32>, m5: mat4x4<f32>, m6: mat4x4<f32>, m7: mat4x4<f32>,
}

// Eight taps into one accumulator matrix, column by column (as `taps8` in conv2d_window.wgsl;
// every index a constant, so nothing is indexed per lane).
fn column8(m: vec4<f32>, w: array<vec4<f32>, 8>, x0: f32, x1: f32, x2: f32, x3: f32, x4: f32, x5: f32, x6: f32,
           x7: f32) -> vec4<f32> {
    return fma(w[7], vec4<f32>(x7), fma(w[6], vec4<f32>(x6), fma(w[5], vec4<f32>(x5), fma(w[4], vec4<f32>(x4),
        fma(w[3], vec4<f32>(x3), fma(w[2], vec4<f32>(x2), fma(w[1], vec4<f32>(x1), fma(w[0], vec4<f32>(x0), m))))))));
}

fn taps8(m: mat4x4<f32>, w: array<vec4<f32>, 8>, x: array<vec4<f32>, 8>) -> mat4x4<f32> {
    return mat4x4<f32>(
        column8(m[0], w, x[0].x, x[1].x, x[2].x, x[3].x, x[4].x, x[5].x, x[6].x, x[7].x),
        column8(m[1], w, x[0].y, x[1].y, x[2].y, x[3].y, x[4].y, x[5].y, x[6].y, x[7].y),
        column8(m[2], w, x[0].z, x[1].z, x[2].z, x[3].z, x[4].z, x[5].z, x[6].z, x[7].z),
        column8(m[3], w, x[0].w, x[1].w, x[2].w, x[3].w, x[4].w, x[5].w, x[6].w, x[7].w));
}

// `value` of lanes 4h..4h+3 as one vec4 (lane numbers must be constants, hence the branch).
fn quad(value: f32, h: u32) -> vec4<f32> {
    if (h == 0u) {
        return vec4<f32>(subgroupBroadcast(value, 0u), subgroupBroadcast(value, 1u), subgroupBroadcast(value, 2u),
                         subgroupBroadcast(value, 3u));
    }
    return vec4<f32>(subgroupBroadcast(value, 4u), subgroupBroadcast(value, 5u), subgroupBroadcast(value, 6u),
                     subgroupBroadcast(value, 7u));
}

// The eight taps, as vec4s, of the output channels whose weights lanes 4h..4h+3 hold in `w`
// (lane l loads output channel l of the tile into `low` and channel 8 + l into `high`).
fn quad_taps(w: Octet, h: u32) -> array<vec4<f32>, 8> {
    return array<vec4<f32>, 8>(quad(w.low.x, h), quad(w.low.y, h), quad(w.low.z, h), quad(w.low.w, h),
                               quad(w.high.x, h), quad(w.high.y, h), quad(w.high.z, h), quad(w.high.w, h));
}

// Two floats as one u64, `low` first in memory.
fn pair(low: f32, high: f32) -> u64 {
    return u64(bitcast<u32>(low)) | (u64(bitcast<u32>(high)) << 32u);
}

// Eight floats as one vec4<u64>, `a` first in memory.
fn octet(a: vec4<f32>, b: vec4<f32>) -> vec4<u64> {
    return vec4<u64>(pair(a.x, a.y), pair(a.z, a.w), pair(b.x, b.y), pair(b.z, b.w));
}

// One iteration: this lane's 8 columns of 8 input channels (x0-x7) against the weights the
// subgroup's lanes hold in `low` and `high` (see `quad_taps`).
fn step(t: Tile, low: Octet, high: Octet, x0: Octet, x1: Octet, x2: Octet, x3: Octet, x4: Octet, x5: Octet,
        x6: Octet, x7: Octet) -> Tile {
    let left = array<vec4<f32>, 8>(x0.low, x1.low, x2.low, x3.low, x4.low, x5.low, x6.low, x7.low);
    let right = array<vec4<f32>, 8>(x0.high, x1.high, x2.high, x3.high, x4.high, x5.high, x6.high, x7.high);
    let w0 = quad_taps(low, 0u);
    let w1 = quad_taps(low, 1u);
    let w2 = quad_taps(high, 0u);
    let w3 = quad_taps(high, 1u);
    return Tile(taps8(t.m0, w0, left), taps8(t.m1, w1, left), taps8(t.m2, w2, left), taps8(t.m3, w3, left),
                taps8(t.m4, w0, right), taps8(t.m5, w1, right), taps8(t.m6, w2, right), taps8(t.m7, w3, right));
}

// Output channel channel + k of the tile's 8 columns (`l`: columns 0-3, `r`: 4-7, transposed
// accumulators) after bias and activation, as one octet.
fn output_octet(l: mat4x4<f32>, r: mat4x4<f32>, channel: u32, k: u32) -> vec4<u64> {
    var b = 0.0;
    if (params.has_bias != 0u) {
        b = bias[channel + k];
    }
    return octet(activate(l[k] + b), activate(r[k] + b));
}

// Stores output channels channel..channel+3 (those inside the group) of the tile's 8 columns
// (`left`: columns 0-3, `right`: 4-7), after bias and activation: one vec4<u64> a channel.
fn store_channels(left: mat4x4<f32>, right: mat4x4<f32>, channel: u32, group_end: u32, image: u32, tile: u32) {
    let plane = params.out_height * params.out_width / 8u;
    let index = (params.output_base + (image * params.out_channels + channel) * params.out_height * params.out_width) / 8u
        + tile;
    let l = transpose(left);
    let r = transpose(right);
    for (var k = 0u; k < 4u; k++) {
        if (channel + k < group_end) {
            output_octets[index + k * plane] = output_octet(l, r, channel, k);
        }
    }
}

// Every lane runs the loop (subgroupBroadcast needs the whole subgroup); its bound is uniform.
// Tiles past the plane's end repeat the last tile and store nothing.
@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_window1_narrow_int64(@builtin(workgroup_id) workgroup: vec3<u32>,
                               @builtin(num_workgroups) groups_launched: vec3<u32>,
                               @builtin(local_invocation_index) lane: u32,
                               @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    // Workgroups run channel tiles fastest, then blocks of tiles of one plane, then images.
    let block_index = workgroup.x + workgroup.y * groups_launched.x;
    let tiles_per_group = (params.out_channels_per_group + CHANNELS - 1u) / CHANNELS;
    let channel_tiles = params.groups * tiles_per_group;
    let pixel_blocks = (params.column_tiles + TILES_PER_WORKGROUP - 1u) / TILES_PER_WORKGROUP;
    let unclamped_tile = ((block_index / channel_tiles) % pixel_blocks) * TILES_PER_WORKGROUP + lane;
    let pixel_tile = min(unclamped_tile, params.column_tiles - 1u);
    let image = min(block_index / (pixel_blocks * channel_tiles), params.batch - 1u);
    let channel_tile = block_index % channel_tiles;
    let group = channel_tile / tiles_per_group;
    let group_start = group * params.out_channels_per_group;
    let group_end = group_start + params.out_channels_per_group;
    let tile_channel = group_start + (channel_tile % tiles_per_group) * CHANNELS;

    // This lane's two weight rows (clamped to the group's last channel: those lanes' values are
    // never stored), one octet of taps each.
    let octets_per_row = params.in_channels_per_group / 8u;
    var low_weights = min(tile_channel + subgroup_lane % 8u, group_end - 1u) * octets_per_row;
    var high_weights = min(tile_channel + 8u + subgroup_lane % 8u, group_end - 1u) * octets_per_row;
    let plane = params.in_height * params.in_width / 8u;
    var index = (params.input_base + (image * params.in_channels + group * params.in_channels_per_group)
        * params.in_height * params.in_width) / 8u + pixel_tile;
    var t: Tile;
    for (var c = 0u; c < params.in_channels_per_group; c += 8u) {
        t = step(t, floats(weight_octets[low_weights]), floats(weight_octets[high_weights]),
                 floats(input_octets[index]), floats(input_octets[index + plane]),
                 floats(input_octets[index + 2u * plane]), floats(input_octets[index + 3u * plane]),
                 floats(input_octets[index + 4u * plane]), floats(input_octets[index + 5u * plane]),
                 floats(input_octets[index + 6u * plane]), floats(input_octets[index + 7u * plane]));
        low_weights += 1u;
        high_weights += 1u;
        index += 8u * plane;
    }
    if (unclamped_tile >= params.column_tiles || block_index >= params.batch * pixel_blocks * channel_tiles) {
        return;
    }
    store_channels(t.m0, t.m4, tile_channel, group_end, image, pixel_tile);
    store_channels(t.m1, t.m5, tile_channel + 4u, group_end, image, pixel_tile);
    store_channels(t.m2, t.m6, tile_channel + 8u, group_end, image, pixel_tile);
    store_channels(t.m3, t.m7, tile_channel + 12u, group_end, image, pixel_tile);
}

// Octet `index / 2` of `input_quads` (`index` counts vec2<u64>s) as floats.
fn quad_floats(index: u32) -> Octet {
    return floats(vec4<u64>(input_quads[index], input_quads[index + 1u]));
}

// As `store_channels`, as two vec2<u64>s a channel, the second only inside the plane.
fn store_channel_quads(left: mat4x4<f32>, right: mat4x4<f32>, channel: u32, group_end: u32, image: u32, tile: u32) {
    let plane = params.out_height * params.out_width / 4u;
    let index = (params.output_base + (image * params.out_channels + channel) * params.out_height * params.out_width) / 4u
        + 2u * tile;
    let whole = 2u * tile + 1u < plane;
    let l = transpose(left);
    let r = transpose(right);
    for (var k = 0u; k < 4u; k++) {
        if (channel + k < group_end) {
            let values = output_octet(l, r, channel, k);
            output_quads[index + k * plane] = values.xy;
            if (whole) {
                output_quads[index + k * plane + 1u] = values.zw;
            }
        }
    }
}

// What a vec2<u64> entry point computes before its stores: the tile's accumulators and where
// they go (`live` false for tiles past the plane's end, which repeat the last tile).
struct QuadTile {
    t: Tile,
    tile_channel: u32,
    group_end: u32,
    image: u32,
    pixel_tile: u32,
    live: bool,
}

// The set-up and loop of `conv2d_window1_narrow_int64` on vec2<u64>s: planes of whole vec4s
// (`params.in_height * params.in_width` floats, padded or not). When the plane ends mid-octet,
// the last tile's second half reads the next plane's first floats (or zeros past the binding)
// into columns that are never stored. (The octet kernel keeps its own copy: sharing it through a
// struct cost that kernel 2-4%.)
fn quad_tile(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32, subgroup_lane: u32) -> QuadTile {
    // Workgroups run channel tiles fastest, then blocks of tiles of one plane, then images.
    let block_index = workgroup.x + workgroup.y * groups_launched.x;
    let tiles_per_group = (params.out_channels_per_group + CHANNELS - 1u) / CHANNELS;
    let channel_tiles = params.groups * tiles_per_group;
    let pixel_blocks = (params.column_tiles + TILES_PER_WORKGROUP - 1u) / TILES_PER_WORKGROUP;
    let unclamped_tile = ((block_index / channel_tiles) % pixel_blocks) * TILES_PER_WORKGROUP + lane;
    let pixel_tile = min(unclamped_tile, params.column_tiles - 1u);
    let image = min(block_index / (pixel_blocks * channel_tiles), params.batch - 1u);
    let channel_tile = block_index % channel_tiles;
    let group = channel_tile / tiles_per_group;
    let group_start = group * params.out_channels_per_group;
    let group_end = group_start + params.out_channels_per_group;
    let tile_channel = group_start + (channel_tile % tiles_per_group) * CHANNELS;

    // This lane's two weight rows (clamped to the group's last channel: those lanes' values are
    // never stored), one octet of taps each.
    let octets_per_row = params.in_channels_per_group / 8u;
    var low_weights = min(tile_channel + subgroup_lane % 8u, group_end - 1u) * octets_per_row;
    var high_weights = min(tile_channel + 8u + subgroup_lane % 8u, group_end - 1u) * octets_per_row;
    let plane = params.in_height * params.in_width / 4u;
    var index = (params.input_base + (image * params.in_channels + group * params.in_channels_per_group)
        * params.in_height * params.in_width) / 4u + 2u * pixel_tile;
    var t: Tile;
    for (var c = 0u; c < params.in_channels_per_group; c += 8u) {
        t = step(t, floats(weight_octets[low_weights]), floats(weight_octets[high_weights]), quad_floats(index),
                 quad_floats(index + plane), quad_floats(index + 2u * plane), quad_floats(index + 3u * plane),
                 quad_floats(index + 4u * plane), quad_floats(index + 5u * plane), quad_floats(index + 6u * plane),
                 quad_floats(index + 7u * plane));
        low_weights += 1u;
        high_weights += 1u;
        index += 8u * plane;
    }
    let live = unclamped_tile < params.column_tiles && block_index < params.batch * pixel_blocks * channel_tiles;
    return QuadTile(t, tile_channel, group_end, image, pixel_tile, live);
}

// Every lane runs the loop (subgroupBroadcast needs the whole subgroup); its bound is uniform.
@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_window1_narrow_int64_quads(@builtin(workgroup_id) workgroup: vec3<u32>,
                                     @builtin(num_workgroups) groups_launched: vec3<u32>,
                                     @builtin(local_invocation_index) lane: u32,
                                     @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let q = quad_tile(workgroup, groups_launched, lane, subgroup_lane);
    if (!q.live) {
        return;
    }
    store_channel_quads(q.t.m0, q.t.m4, q.tile_channel, q.group_end, q.image, q.pixel_tile);
    store_channel_quads(q.t.m1, q.t.m5, q.tile_channel + 4u, q.group_end, q.image, q.pixel_tile);
    store_channel_quads(q.t.m2, q.t.m6, q.tile_channel + 8u, q.group_end, q.image, q.pixel_tile);
    store_channel_quads(q.t.m3, q.t.m7, q.tile_channel + 12u, q.group_end, q.image, q.pixel_tile);
}

// As `store_channels`, one float at a time, columns past the plane's end left out.
fn store_channel_floats(left: mat4x4<f32>, right: mat4x4<f32>, channel: u32, group_end: u32, image: u32, tile: u32) {
    let plane = params.out_height * params.out_width;
    let first = tile * 8u;
    let index = params.output_base + (image * params.out_channels + channel) * plane + first;
    let columns = min(plane - first, 8u);
    let l = transpose(left);
    let r = transpose(right);
    for (var k = 0u; k < 4u; k++) {
        if (channel + k < group_end) {
            var b = 0.0;
            if (params.has_bias != 0u) {
                b = bias[channel + k];
            }
            let low = activate(l[k] + b);
            let high = activate(r[k] + b);
            let at = index + k * plane;
            let values = array<f32, 8>(low.x, low.y, low.z, low.w, high.x, high.y, high.z, high.w);
            for (var j = 0u; j < 8u; j++) {
                if (j < columns) {
                    output_floats[at + j] = values[j];
                }
            }
        }
    }
}

// As `conv2d_window1_narrow_int64_quads` on input planes copied to whole vec4s (`pad_rows`:
// in_width is the padded plane, out_width the plane), storing floats one by one up to the
// plane's end.
@compute @workgroup_size(TILES_PER_WORKGROUP)
fn conv2d_window1_narrow_int64_padded(@builtin(workgroup_id) workgroup: vec3<u32>,
                                      @builtin(num_workgroups) groups_launched: vec3<u32>,
                                      @builtin(local_invocation_index) lane: u32,
                                      @builtin(subgroup_invocation_id) subgroup_lane: u32) {
    let q = quad_tile(workgroup, groups_launched, lane, subgroup_lane);
    if (!q.live) {
        return;
    }
    store_channel_floats(q.t.m0, q.t.m4, q.tile_channel, q.group_end, q.image, q.pixel_tile);
    store_channel_floats(q.t.m1, q.t.m5, q.tile_channel + 4u, q.group_end, q.image, q.pixel_tile);
    store_channel_floats(q.t.m2, q.t.m6, q.tile_channel + 8u, q.group_end, q.image, q.pixel_tile);
    store_channel_floats(q.t.m3, q.t.m7, q.tile_channel + 12u, q.group_end, q.image, q.pixel_tile);
}
