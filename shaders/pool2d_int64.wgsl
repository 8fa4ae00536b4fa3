// pool2d_int64: pool2d.wgsl's two vector kernels (max k3 s2 p1 and avg k2 s2 p0 along rows a
// multiple of 8 long), reading each 8 input floats as one vec4<u64>. For CPU adapters with
// SHADER_INT64 only: llvmpipe (Mesa 25) loads a storage value lane by lane and component by
// component, with a bounds check and a branch each, so 4 64-bit components fetch twice the
// bytes of 4 32-bit ones for the same work. Same parameters and bits as the vec4 kernels.
// Layout: input [N, C, H, W] from input_base, output [N, C, H_out, W_out] from output_base, both
// row-major float32; input_base a multiple of 8 floats, output_base of 4.
// Thread mapping: an invocation owns 8 consecutive outputs (two 4-output tiles; a row of 4k
// outputs ends in a single tile) in each of VECTOR_ROWS (8: the per-invocation set-up then
// weighs half as much as with 4; stem max pool 0.74 -> 0.69 ms) output rows of one plane, as
// the vec4 kernels do. Tile t of a row reads input floats 8t..8t+7 of each input row its windows
// cover, one vec4<u64>, and writes its 4 outputs as two u64s (stores go component by
// component on llvmpipe too).

// Mirrors `Pool2dParams` in src/ops/pool2d/mod.rs field for field (as pool2d.wgsl does).
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
const VECTOR_TILES: u32 = 2u; // 4-output tiles per invocation (`VECTOR_TILES` in src/ops/pool2d/mod.rs)
const VECTOR_ROWS: u32 = 8u;  // output rows per invocation (`VECTOR_ROWS` in src/ops/pool2d/mod.rs)

var<immediate> params: Pool2dParams;
@group(0) @binding(1) var<storage, read> input_octets: array<vec4<u64>>;    // [N, C, H, W], 8 floats each
@group(0) @binding(2) var<storage, read_write> output_pairs: array<vec2<u64>>;  // [N, C, H_out, W_out], 4 floats each

fn negative_infinity() -> f32 { return bitcast<f32>(0xff800000u); }

fn low_float(bits: u64) -> f32 { return bitcast<f32>(u32(bits & 0xfffffffflu)); }

fn high_float(bits: u64) -> f32 { return bitcast<f32>(u32(bits >> 32u)); }

// 4 floats as two u64s, in memory order.
fn float_pairs(values: vec4<f32>) -> vec2<u64> {
    let bits = vec4<u64>(bitcast<vec4<u32>>(values));
    return vec2<u64>(bits.x | (bits.y << 32u), bits.z | (bits.w << 32u));
}

// Input floats 8i..8i+7 (little-endian halves, so memory order), as two vec4s.
struct Octet {
    low: vec4<f32>,
    high: vec4<f32>,
}

fn input_octet(index: u32) -> Octet {
    let bits = input_octets[index];
    return Octet(vec4<f32>(low_float(bits.x), high_float(bits.x), low_float(bits.y), high_float(bits.y)),
        vec4<f32>(low_float(bits.z), high_float(bits.z), low_float(bits.w), high_float(bits.w)));
}

// Where one invocation works: VECTOR_ROWS output rows of one plane from first_row (those past
// the plane's end are skipped), tiles first_tile and first_tile + 1.
struct VectorBlock {
    plane_valid: bool,
    plane: u32,
    first_row: u32,
    first_tile: u32,
    second: bool,       // the rows have a second tile here
    first_octet: u32,   // input octet of tile first_tile in the plane's row 0
}

fn vector_block(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32) -> VectorBlock {
    let index = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    let row_groups = (params.out_width / COLUMN_TILE + VECTOR_TILES - 1u) / VECTOR_TILES;
    let row_block = index / row_groups; // over all planes
    let blocks_per_plane = (params.out_height + VECTOR_ROWS - 1u) / VECTOR_ROWS;
    let plane = row_block / blocks_per_plane;
    let first_tile = (index - row_block * row_groups) * VECTOR_TILES;
    let plane_octet = (params.input_base + plane * params.in_height * params.in_width) / 8u;
    return VectorBlock(plane < params.planes, plane, (row_block - plane * blocks_per_plane) * VECTOR_ROWS,
        first_tile, first_tile + 1u < params.out_width / COLUMN_TILE, plane_octet + first_tile);
}

// The octet of tile first_tile (or, with `tile` 1, the next one) in input row `row`.
fn octet_index(block: VectorBlock, row: u32, tile: u32) -> u32 {
    return block.first_octet + row * (params.in_width / 8u) + select(0u, tile, block.second);
}

// Output row first_row + row_offset, when inside the plane: its two tiles (the second only
// where the row has one).
fn store_tiles(block: VectorBlock, row_offset: u32, first: vec4<f32>, second: vec4<f32>) {
    let row = block.first_row + row_offset;
    if (row >= params.out_height) {
        return;
    }
    let output = (params.output_base + (block.plane * params.out_height + row) * params.out_width) / 4u
        + block.first_tile;
    output_pairs[output] = float_pairs(first);
    if (block.second) {
        output_pairs[output + 1u] = float_pairs(second);
    }
}

fn fold_maximum4(best: vec4<f32>, taps: vec4<f32>) -> vec4<f32> {
    let nan = (bitcast<vec4<u32>>(taps) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
    return select(best, taps, taps > best | nan);
}

// Taps of a tile with input floats A, B and `left` the column before A:
// (left A.x A.y), (A.y A.z A.w), (A.w B.x B.y), (B.y B.z B.w).
fn fold_k3s2p1(left: f32, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    var folded = fold_maximum4(vec4<f32>(negative_infinity()), vec4<f32>(left, a.y, a.w, b.y));
    folded = fold_maximum4(folded, vec4<f32>(a.x, a.z, b.x, b.z));
    return fold_maximum4(folded, vec4<f32>(a.y, a.w, b.y, b.w));
}

// Both tiles' 3-tap maxima along input row `row`; -inf for a row outside the input.
fn row_maxima(block: VectorBlock, row: i32) -> array<vec4<f32>, 2> {
    let inside = row >= 0 && row < i32(params.in_height);
    let index = octet_index(block, u32(select(0, row, inside)), 0u);
    let has_left = block.first_tile > 0u;
    let left = select(negative_infinity(), high_float(input_octets[index - select(0u, 1u, has_left)].w), has_left);
    let first = input_octet(index);
    let second = input_octet(octet_index(block, u32(select(0, row, inside)), 1u)); // no second tile: A, B again
    let none = vec4<f32>(negative_infinity());
    return array<vec4<f32>, 2>(select(none, fold_k3s2p1(left, first.low, first.high), inside),
        select(none, fold_k3s2p1(first.high.w, second.low, second.high), inside));
}

fn window_maxima(a: array<vec4<f32>, 2>, b: array<vec4<f32>, 2>, c: array<vec4<f32>, 2>, tile: u32) -> vec4<f32> {
    return fold_maximum4(fold_maximum4(fold_maximum4(vec4<f32>(negative_infinity()), a[tile]), b[tile]), c[tile]);
}

// The VECTOR_ROWS output rows read 2 * VECTOR_ROWS + 1 input rows (windows share rows), each
// folded across once; folding rows first changes no bit, as max keeps the first of equals and
// the last NaN either way.
@compute @workgroup_size(64)
fn max_pool2d_k3s2p1_int64(@builtin(workgroup_id) workgroup: vec3<u32>,
                           @builtin(num_workgroups) groups_launched: vec3<u32>,
                           @builtin(local_invocation_index) lane: u32) {
    let block = vector_block(workgroup, groups_launched, lane);
    if (!block.plane_valid) {
        return;
    }
    let top = i32(block.first_row * 2u) - 1;
    var above = row_maxima(block, top);
    for (var r = 0u; r < VECTOR_ROWS; r++) {
        let middle = row_maxima(block, top + i32(2u * r) + 1);
        let below = row_maxima(block, top + i32(2u * r) + 2);
        store_tiles(block, r, window_maxima(above, middle, below, 0u), window_maxima(above, middle, below, 1u));
        above = below;
    }
}

// Average pooling, width 2 / stride 2 / no pad: taps (A.x A.y) (A.z A.w) (B.x B.y) (B.z B.w),
// summed row by row, columns ascending, as pool2d.wgsl's kernels do.
@compute @workgroup_size(64)
fn avg_pool2d_k2s2_int64(@builtin(workgroup_id) workgroup: vec3<u32>,
                         @builtin(num_workgroups) groups_launched: vec3<u32>,
                         @builtin(local_invocation_index) lane: u32) {
    let block = vector_block(workgroup, groups_launched, lane);
    if (!block.plane_valid) {
        return;
    }
    for (var r = 0u; r < VECTOR_ROWS; r++) {
        // The window's rows (any height, stride and padding; avg_pool2d has no dilation),
        // cut to the input.
        let row_start = i32((block.first_row + r) * params.stride_height) - i32(params.pad_top);
        let row_end = row_start + i32(params.kernel_height);
        let first_row = u32(max(row_start, 0));
        let rows = u32(max(min(row_end, i32(params.in_height)) - i32(first_row), 0));
        var first = vec4<f32>(0.0);
        var second = first;
        for (var k = 0u; k < rows; k++) {
            let a = input_octet(octet_index(block, first_row + k, 0u));
            let b = input_octet(octet_index(block, first_row + k, 1u));
            first += vec4<f32>(a.low.x, a.low.z, a.high.x, a.high.z);
            first += vec4<f32>(a.low.y, a.low.w, a.high.y, a.high.w);
            second += vec4<f32>(b.low.x, b.low.z, b.high.x, b.high.z);
            second += vec4<f32>(b.low.y, b.low.w, b.high.y, b.high.w);
        }
        var divisor = rows * 2u;
        if (params.divisor_override != 0u) {
            divisor = params.divisor_override;
        } else if (params.count_include_pad != 0u) {
            divisor = u32(min(row_end, i32(params.in_height + params.pad_top)) - row_start) * 2u;
        }
        store_tiles(block, r, first / f32(divisor), second / f32(divisor));
    }
}
