// conv2d_pack: prepares a convolution's operands for the window kernels (conv2d_window.wgsl,
// with subgroups, and conv2d_wide.wgsl, without) and the unfolded path (src/ops/conv2d/
// unfold.rs), one small dispatch each.
// `pack_weights`, `pack_weights_quads`, `pack_weights_octets`, `pack_weights_sixteens`: weight
// [C_out, C_in/groups, KH, KW] -> packed [channel tiles of 32 (4, 8, 16) channels, C_in/groups *
// KH * KW, 32 (4, 8, 16)], tiles numbered across groups, zeros past a group's channels: a tile's
// weights are one contiguous run, tap after tap, which a workgroup (the window kernels'
// 32-channel tiles, a tap's channels side by side across a subgroup) or a lane (the wide
// kernels' 4-, 8- and 16-channel tiles) streams through. `pack_weights` writes a buffer, the
// wide kernels' packs the texels of their weight texture (`pack_weights_sixteens_buffer`: a
// buffer that conv2d_wide1_narrow_uniform binds as a uniform buffer). Taps of all channels
// side by side instead (a 16- or 128-byte read every few KiB) measured slower: GL ResNet-18
// 512->512 3x3 at 7x7 39 against 29 ms, Vulkan ResNet-50's 2048->512 1x1 at 7x7 12.2-14.8
// against 11.4-12.4.
// One invocation per 4 packed channels of one tap.
// `pad_rows`: input [N, C_in, H, W] -> [N, C_in, H, padded_width()] with each row's values from
// column pad_left and zeros around, for inputs whose rows are not whole vec4s. One invocation
// per row.
// `subsample`: a 1x1 convolution's input at stride > 1 gathered to the pixels it reads, [N,
// C_in, H, W] -> [N, C_in, H_out, W_out] (adapters without subgroups). One invocation per
// output row.
// `unfold` (im2col): the input each tap of a kernel reads, [N, C_in, H, W] -> [N, C_in * KH *
// KW, H_out, W_out], channel (c, kh, kw) holding what tap (kh, kw) reads of input channel c
// at every output pixel (zero in the padding), so that a 1x1 convolution over it computes the
// convolution. One invocation per output row.

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
    // Tiles of 32 channels per group (not used here).
    channel_tiles_per_group: u32,
    // The convolution's column tiles (not used here).
    column_tiles: u32,
}

const WORKGROUP_SIZE: u32 = 64u; // `WORKGROUP_SIZE` in src/ops/conv2d/window.rs

var<immediate> params: Conv2dParams;
// pack_weights: weight [C_out, C_in/groups, KH, KW]; the others: input [N, C_in, H, W] from
// input_base.
@group(0) @binding(1) var<storage, read> source: array<f32>;
// pack_weights*: [channel tiles, taps, tile channels]; pad_rows: [N, C_in, H, padded_width()] and
// subsample [N, C_in, H_out, W_out], both from output_base. Floats: a vec4 store costs llvmpipe
// 4 stores as well.
@group(0) @binding(2) var<storage, read_write> destination: array<f32>;
// pack_weights_quads and pack_weights_octets (for conv2d_wide.wgsl): the packed weights as
// texels, WEIGHT_TEXTURE_WIDTH a row (each texel the 4 channels of a quad).
@group(0) @binding(0) var packed_texture: texture_storage_2d<rgba32float, write>;

// Texels a row of the weight texture (`WEIGHT_TEXTURE_WIDTH` in src/ops/conv2d/packed_weights.rs).
const WEIGHT_TEXTURE_WIDTH: u32 = 4096u;

fn store4(index: u32, values: vec4<f32>) {
    destination[index] = values.x;
    destination[index + 1u] = values.y;
    destination[index + 2u] = values.z;
    destination[index + 3u] = values.w;
}

// One packed quad: 4 channels of one tap, and where they go (in vec4s).
struct Quad {
    index: u32,
    values: vec4<f32>,
    valid: bool,
}

// Tiles of `tile_width` (32, 4 or 8) channels; a quad is 4 channels of a tile. Tap fastest
// across lanes (neighbouring lanes read neighbouring weights); only the workgroup index is
// divided (the same for every lane: on llvmpipe a per-lane division is 8 scalar divides). Grid:
// groups x quads x blocks of 64 taps.
fn pack_quad(block: u32, lane: u32, tile_width: u32) -> Quad {
    let taps = params.in_channels_per_group * params.kernel_height * params.kernel_width;
    let tap_blocks = (taps + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
    let quads_per_tile = tile_width / 4u;
    let tiles = (params.out_channels_per_group + tile_width - 1u) / tile_width;
    let quads = tiles * quads_per_tile;
    let tap = (block % tap_blocks) * WORKGROUP_SIZE + lane;
    let quad = (block / tap_blocks) % quads;
    let group = block / (tap_blocks * quads);
    if (group >= params.groups || tap >= taps) {
        return Quad(0u, vec4<f32>(0.0), false);
    }
    let channel = 4u * quad;
    let row = (group * params.out_channels_per_group + channel) * taps + tap;
    var values = vec4<f32>(0.0);
    let last = params.out_channels_per_group;
    if (channel < last) { values.x = source[row]; }
    if (channel + 1u < last) { values.y = source[row + taps]; }
    if (channel + 2u < last) { values.z = source[row + 2u * taps]; }
    if (channel + 3u < last) { values.w = source[row + 3u * taps]; }
    let tile = group * tiles + quad / quads_per_tile;
    return Quad((tile * taps + tap) * quads_per_tile + quad % quads_per_tile, values, true);
}

// The window kernels' 32-channel tiles, into the destination buffer.
@compute @workgroup_size(64)
fn pack_weights(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                @builtin(local_invocation_index) lane: u32) {
    let quad = pack_quad(workgroup.x + workgroup.y * groups_launched.x, lane, 32u);
    if (quad.valid) {
        store4(4u * quad.index, quad.values);
    }
}

fn store_texel(quad: Quad) {
    if (quad.valid) {
        textureStore(packed_texture, vec2<u32>(quad.index % WEIGHT_TEXTURE_WIDTH, quad.index / WEIGHT_TEXTURE_WIDTH),
                     quad.values);
    }
}

// conv2d_wide3's 4-channel tiles, into the weight texture.
@compute @workgroup_size(64)
fn pack_weights_quads(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                      @builtin(local_invocation_index) lane: u32) {
    store_texel(pack_quad(workgroup.x + workgroup.y * groups_launched.x, lane, 4u));
}

// conv2d_wide1_narrow's 16-channel tiles, into the weight texture.
@compute @workgroup_size(64)
fn pack_weights_sixteens(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                         @builtin(local_invocation_index) lane: u32) {
    store_texel(pack_quad(workgroup.x + workgroup.y * groups_launched.x, lane, 16u));
}

// conv2d_wide1_narrow_uniform's 16-channel tiles, into the destination buffer (bound there as
// a uniform buffer).
@compute @workgroup_size(64)
fn pack_weights_sixteens_buffer(@builtin(workgroup_id) workgroup: vec3<u32>,
                                @builtin(num_workgroups) groups_launched: vec3<u32>,
                                @builtin(local_invocation_index) lane: u32) {
    let quad = pack_quad(workgroup.x + workgroup.y * groups_launched.x, lane, 16u);
    if (quad.valid) {
        store4(4u * quad.index, quad.values);
    }
}

// The other wide kernels' 8-channel tiles, into the weight texture.
@compute @workgroup_size(64)
fn pack_weights_octets(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                       @builtin(local_invocation_index) lane: u32) {
    store_texel(pack_quad(workgroup.x + workgroup.y * groups_launched.x, lane, 8u));
}

// The padded rows' length: the row and its left padding, rounded up to whole vec4s (the right
// padding is left to the kernels' bounds checks). Mirrors `padded_width` in
// src/ops/conv2d/padded_rows.rs.
fn padded_width() -> u32 {
    return (params.in_width + params.pad_left + 3u) / 4u * 4u;
}

// One invocation per row (rows one after another): a division per lane costs llvmpipe a
// scalar division per lane, so the per-value index arithmetic has none.
@compute @workgroup_size(64)
fn pad_rows(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
            @builtin(local_invocation_index) lane: u32) {
    let row = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    if (row >= params.batch * params.in_channels * params.in_height) {
        return;
    }
    let width = padded_width();
    let start = params.input_base + row * params.in_width;
    let out = params.output_base + row * width;
    for (var column = 0u; column < width; column++) {
        let source_column = i32(column) - i32(params.pad_left);
        let inside = source_column >= 0 && source_column < i32(params.in_width);
        destination[out + column] = select(0.0, source[start + u32(select(0, source_column, inside))], inside);
    }
}

// One invocation per output row, as in pad_rows.
@compute @workgroup_size(64)
fn subsample(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
             @builtin(local_invocation_index) lane: u32) {
    let row = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    if (row >= params.batch * params.in_channels * params.out_height) {
        return;
    }
    let plane = row / params.out_height;
    let input_row = (row % params.out_height) * params.stride_height;
    let start = params.input_base + (plane * params.in_height + input_row) * params.in_width;
    let out = params.output_base + row * params.out_width;
    for (var column = 0u; column < params.out_width; column++) {
        destination[out + column] = source[start + column * params.stride_width];
    }
}

// One invocation per output row, as in pad_rows: rows of (image, c, kh, kw) planes.
@compute @workgroup_size(64)
fn unfold(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
          @builtin(local_invocation_index) lane: u32) {
    let row = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    let taps = params.kernel_height * params.kernel_width;
    if (row >= params.batch * params.in_channels * taps * params.out_height) {
        return;
    }
    let plane = row / params.out_height;
    let tap = plane % taps;
    let input_row = i32((row % params.out_height) * params.stride_height
        + tap / params.kernel_width * params.dilation_height) - i32(params.pad_top);
    let row_inside = input_row >= 0 && input_row < i32(params.in_height);
    let start = params.input_base + (plane / taps * params.in_height + u32(select(0, input_row, row_inside)))
        * params.in_width;
    let first_column = i32(tap % params.kernel_width * params.dilation_width) - i32(params.pad_left);
    let out = params.output_base + row * params.out_width;
    for (var column = 0u; column < params.out_width; column++) {
        let input_column = first_column + i32(column * params.stride_width);
        let inside = row_inside && input_column >= 0 && input_column < i32(params.in_width);
        destination[out + column] = select(0.0, source[start + u32(select(0, input_column, inside))], inside);
    }
}
