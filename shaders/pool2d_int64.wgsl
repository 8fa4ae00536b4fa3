// pool2d_int64: max pooling with kernel 3, stride 2, padding 1 (ResNet's stem) along rows whose
// length is a multiple of 8: pool2d.wgsl's `max_pool2d_k3s2p1_vec4`, reading each group of 4
// input floats as two u64s. For CPU adapters with SHADER_INT64 only: llvmpipe (Mesa 25) loads a
// storage value lane by lane and component by component, with a bounds check and a branch each,
// so 2 64-bit components cost little more than half of 4 32-bit ones (ResNet's stem max pool,
// 64 x 112 x 112, went 1.10 -> 0.93 ms on lavapipe). Same layout, parameters, grid and bits.
// Layout: input [N, C, H, W] from input_base, output [N, C, H_out, W_out] from output_base, both
// row-major float32, both bases multiples of 4 floats.
// Thread mapping: an invocation owns 8 consecutive outputs (two 4-output tiles; a row of 4k
// outputs ends in a single tile) in each of VECTOR_ROWS output rows of one plane; the 9 input
// rows those windows cover are each read once and folded across with fixed swizzles.

// Mirrors `Pool2dParams` in src/ops/pool2d.rs field for field (as pool2d.wgsl does).
struct Pool2dParams {
    planes: u32, // images x channels in this dispatch
    in_height: u32,
    in_width: u32,
    out_height: u32,
    out_width: u32,
    kernel_height: u32,
    kernel_width: u32,
    stride_height: u32,
    stride_width: u32,
    pad_top: u32,
    pad_left: u32,
    dilation_height: u32,
    dilation_width: u32,
    count_include_pad: u32,
    divisor_override: u32,
    lanes_per_plane: u32,
    input_base: u32,
    output_base: u32,
}

const WORKGROUP_SIZE: u32 = 64u;
const COLUMN_TILE: u32 = 4u;
const VECTOR_TILES: u32 = 2u; // 4-output tiles per invocation (`VECTOR_TILES` in pool2d.rs)
const VECTOR_ROWS: u32 = 4u;  // output rows per invocation (`VECTOR_ROWS` in pool2d.rs)

var<immediate> params: Pool2dParams;
@group(0) @binding(1) var<storage, read> input_pairs: array<vec2<u64>>;      // [N, C, H, W], 4 floats each
@group(0) @binding(2) var<storage, read_write> output_vectors: array<vec4<f32>>; // [N, C, H_out, W_out]

fn negative_infinity() -> f32 { return bitcast<f32>(0xff800000u); }

// The 4 floats of input group `index`, in memory order (little-endian halves).
fn input_floats(index: u32) -> vec4<f32> {
    let pair = input_pairs[index];
    return bitcast<vec4<f32>>(vec4<u32>(u32(pair.x & 0xfffffffflu), u32(pair.x >> 32u),
        u32(pair.y & 0xfffffffflu), u32(pair.y >> 32u)));
}

// Where one invocation works: VECTOR_ROWS output rows of one plane from first_row (those past
// the plane's end are skipped), tiles first_tile and first_tile + 1.
struct VectorBlock {
    plane_valid: bool,
    plane: u32,
    first_row: u32,
    first_tile: u32,
}

fn vector_block(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32) -> VectorBlock {
    let index = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    let row_groups = (params.out_width / COLUMN_TILE + VECTOR_TILES - 1u) / VECTOR_TILES;
    let row_block = index / row_groups; // over all planes
    let blocks_per_plane = (params.out_height + VECTOR_ROWS - 1u) / VECTOR_ROWS;
    let plane = row_block / blocks_per_plane;
    return VectorBlock(plane < params.planes, plane, (row_block - plane * blocks_per_plane) * VECTOR_ROWS,
        (index - row_block * row_groups) * VECTOR_TILES);
}

// Whether the row has a second tile here (windows from input column 8 * tile).
fn has_second_tile(block: VectorBlock) -> bool {
    return block.first_tile + 1u < params.out_width / COLUMN_TILE;
}

fn fold_maximum4(best: vec4<f32>, taps: vec4<f32>) -> vec4<f32> {
    let nan = (bitcast<vec4<u32>>(taps) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
    return select(best, taps, taps > best | nan);
}

// Taps of a tile with input groups A, B and `left` the column before A:
// (left A.x A.y), (A.y A.z A.w), (A.w B.x B.y), (B.y B.z B.w).
fn fold_k3s2p1(best: vec4<f32>, left: f32, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    var folded = fold_maximum4(best, vec4<f32>(left, a.y, a.w, b.y));
    folded = fold_maximum4(folded, vec4<f32>(a.x, a.z, b.x, b.z));
    return fold_maximum4(folded, vec4<f32>(a.y, a.w, b.y, b.w));
}

// Both tiles' 3-tap maxima along input row `row`; -inf for a row outside the input.
fn row_maxima(block: VectorBlock, row: i32) -> array<vec4<f32>, 2> {
    let inside = row >= 0 && row < i32(params.in_height);
    let plane_start = (params.input_base + block.plane * params.in_height * params.in_width) / 4u;
    let index = plane_start + 2u * block.first_tile + u32(select(0, row, inside)) * params.in_width / 4u;
    let has_left = block.first_tile > 0u;
    let left = select(negative_infinity(), input_floats(index - select(0u, 1u, has_left)).w, has_left);
    let a = input_floats(index);
    let b = input_floats(index + 1u);
    let next = index + select(0u, 2u, has_second_tile(block)); // a missing tile reads A, B again
    let none = vec4<f32>(negative_infinity());
    return array<vec4<f32>, 2>(select(none, fold_k3s2p1(none, left, a, b), inside),
        select(none, fold_k3s2p1(none, b.w, input_floats(next), input_floats(next + 1u)), inside));
}

// Output row first_row + row_offset: the maxima of three consecutive input rows' maxima.
fn store_window_maxima(block: VectorBlock, row_offset: u32, a: array<vec4<f32>, 2>, b: array<vec4<f32>, 2>,
                       c: array<vec4<f32>, 2>) {
    let row = block.first_row + row_offset;
    if (row >= params.out_height) {
        return;
    }
    let none = vec4<f32>(negative_infinity());
    let output = (params.output_base + (block.plane * params.out_height + row) * params.out_width) / 4u
        + block.first_tile;
    output_vectors[output] = fold_maximum4(fold_maximum4(fold_maximum4(none, a[0]), b[0]), c[0]);
    if (has_second_tile(block)) {
        output_vectors[output + 1u] = fold_maximum4(fold_maximum4(fold_maximum4(none, a[1]), b[1]), c[1]);
    }
}

// The 4 output rows read 9 input rows (windows share rows), each folded across once; folding
// rows first changes no bit, as max keeps the first of equals and the last NaN either way.
@compute @workgroup_size(64)
fn max_pool2d_k3s2p1_int64(@builtin(workgroup_id) workgroup: vec3<u32>,
                           @builtin(num_workgroups) groups_launched: vec3<u32>,
                           @builtin(local_invocation_index) lane: u32) {
    let block = vector_block(workgroup, groups_launched, lane);
    if (!block.plane_valid) {
        return;
    }
    let top = i32(block.first_row * 2u) - 1;
    let r0 = row_maxima(block, top);
    let r1 = row_maxima(block, top + 1);
    let r2 = row_maxima(block, top + 2);
    let r3 = row_maxima(block, top + 3);
    let r4 = row_maxima(block, top + 4);
    let r5 = row_maxima(block, top + 5);
    let r6 = row_maxima(block, top + 6);
    let r7 = row_maxima(block, top + 7);
    let r8 = row_maxima(block, top + 8);
    store_window_maxima(block, 0u, r0, r1, r2);
    store_window_maxima(block, 1u, r2, r3, r4);
    store_window_maxima(block, 2u, r4, r5, r6);
    store_window_maxima(block, 3u, r6, r7, r8);
}
