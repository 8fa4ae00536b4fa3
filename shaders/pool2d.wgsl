// pool2d: max, average, adaptive and global 2-D pooling with PyTorch semantics.
// Layout: input [N, C, H, W] from input_base, output [N, C, H_out, W_out] from output_base, both
// row-major float32; indices (max_pool2d_with_indices) are u32 laid out like the output, each the
// flat index row * W + column of the maximum inside its own H x W plane.
// Thread mapping: max_pool2d and avg_pool2d run one invocation per 4 consecutive outputs of one
// output row (the column tile fastest); the 4 windows live in vec4 registers and each input row
// they touch is swept once, every value feeding the windows it belongs to (on the software
// adapters an invocation costs more than its loads, so fewer, fuller invocations win). Two common
// shapes (k3 s2 p1 max, k2 s2 avg along rows whose length is a multiple of 8) have vec4
// variants with 8 outputs x 8 rows per invocation and fixed swizzles ("Vector variants"). Adaptive
// and global pools are in adaptive_pool2d.wgsl.
// NaN: a NaN in the window makes the result NaN (PyTorch); the test is on the bits, so no
// fast-math assumption can drop it.

// Mirrors `Pool2dParams` in src/ops/pool2d/mod.rs field for field.
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
    divisor_override: u32, // 0: divide by the window size
    lanes_per_plane: u32,  // global pools only
    input_base: u32,
    output_base: u32,
}

const WORKGROUP_SIZE: u32 = 64u;

var<immediate> params: Pool2dParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;         // [N, C, H, W]
@group(0) @binding(2) var<storage, read_write> output: array<f32>;  // [N, C, H_out, W_out]
@group(0) @binding(3) var<storage, read_write> indices: array<u32>; // [N, C, H_out, W_out]

fn negative_infinity() -> f32 { return bitcast<f32>(0xff800000u); }

fn is_nan(value: f32) -> bool { return (bitcast<u32>(value) & 0x7fffffffu) > 0x7f800000u; }

// The in-bounds taps of a window along one axis: positions first + t * step for t < count.
struct Span {
    first: u32,
    count: u32,
    step: u32,
}

// Taps of a window that starts at `start` (negative inside the leading padding) with `kernel`
// taps `dilation` apart, keeping those inside [0, size).
fn window_span(start: i32, kernel: u32, dilation: u32, size: u32) -> Span {
    if (dilation == 1u) {
        let first = max(start, 0);
        return Span(u32(first), u32(max(min(start + i32(kernel), i32(size)) - first, 0)), 1u);
    }
    var first_tap = 0u;
    if (start < 0) {
        first_tap = (u32(-start) + dilation - 1u) / dilation;
    }
    var end_tap = 0u;
    let room = i32(size) - start;
    if (room > 0) {
        end_tap = min(kernel, (u32(room) + dilation - 1u) / dilation);
    }
    let count = max(end_tap, first_tap) - first_tap;
    return Span(u32(start + i32(first_tap * dilation)), count, dilation);
}

const COLUMN_TILE: u32 = 4u;

// COLUMN_TILE consecutive outputs of one output row; vector lane t is output column
// first_column + t (lanes past the row's end repeat its last window and are never stored).
struct RowTile {
    valid: bool,
    plane: u32,
    first_column: u32,
    output_index: u32, // flat index of the tile's first output
    row_start: i32,    // the windows' first row (negative inside the padding)
    rows: Span,        // the input rows every window of the tile covers
    column_start: vec4<i32>, // each window's first column (negative inside the padding)
    first: vec4<u32>,  // each window's first in-bounds column
    last: vec4<u32>,   // each window's last in-bounds column
    count: vec4<u32>,  // each window's in-bounds columns
}

fn row_tile(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32) -> RowTile {
    var tile: RowTile;
    let index = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    let column_tiles = (params.out_width + COLUMN_TILE - 1u) / COLUMN_TILE;
    let output_row = index / column_tiles; // over all planes
    tile.valid = output_row < params.planes * params.out_height;
    tile.plane = output_row / params.out_height;
    tile.first_column = (index % column_tiles) * COLUMN_TILE;
    tile.output_index = output_row * params.out_width + tile.first_column;
    tile.row_start = i32((output_row % params.out_height) * params.stride_height) - i32(params.pad_top);
    tile.rows = window_span(tile.row_start, params.kernel_height, params.dilation_height, params.in_height);
    let columns = min(vec4<u32>(tile.first_column) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(params.out_width - 1u));
    tile.column_start = vec4<i32>(columns * params.stride_width) - vec4<i32>(i32(params.pad_left));
    var spans: array<Span, 4>;
    for (var t = 0u; t < COLUMN_TILE; t++) {
        spans[t] = window_span(tile.column_start[t], params.kernel_width, params.dilation_width, params.in_width);
    }
    tile.first = vec4<u32>(spans[0].first, spans[1].first, spans[2].first, spans[3].first);
    tile.count = vec4<u32>(spans[0].count, spans[1].count, spans[2].count, spans[3].count);
    tile.last = tile.first + (max(tile.count, vec4<u32>(1u)) - vec4<u32>(1u)) * params.dilation_width;
    return tile;
}

// The input columns some window of the tile covers. With dilation a later window can start
// left of an earlier one (its first tap inside the input comes sooner), so take both extremes.
fn sweep_start(tile: RowTile) -> u32 {
    return min(min(tile.first.x, tile.first.y), min(tile.first.z, tile.first.w));
}

fn sweep_end(tile: RowTile) -> u32 {
    return min(max(max(tile.last.x, tile.last.y), max(tile.last.z, tile.last.w)) + 1u, params.in_width);
}

// Which windows take input column `column`, given each window's next tap; advances the taps.
struct Taps {
    hit: vec4<bool>,
    next: vec4<u32>,
}

// Without dilation every valid window has a tap inside the input, so [first, last] is the test;
// with dilation a window can fall between the columns (PyTorch then gives -inf).
fn take_column(tile: RowTile, next: vec4<u32>, column: u32) -> Taps {
    if (params.dilation_width == 1u) {
        return Taps(vec4<u32>(column) >= tile.first & vec4<u32>(column) <= tile.last, next);
    }
    let hit = vec4<u32>(column) == next & vec4<u32>(column) <= tile.last & tile.count > vec4<u32>(0u);
    return Taps(hit, select(next, next + vec4<u32>(params.dilation_width), hit));
}

struct TileMaximum {
    value: vec4<f32>,
    index: vec4<u32>,
}

// PyTorch's rule per window, taps in row-major order: the first strictly greater value wins,
// and a NaN always takes over; a window of -inf (or, with dilation, without taps) keeps -inf at
// its first tap past the leading padding.
fn tile_maximum(tile: RowTile) -> TileMaximum {
    let first_tap = vec4<u32>(tile.rows.first * params.in_width) + tile.first;
    var best = TileMaximum(vec4<f32>(negative_infinity()), first_tap);
    let plane_base = params.input_base + tile.plane * params.in_height * params.in_width;
    let end = sweep_end(tile);
    for (var r = 0u; r < tile.rows.count; r++) {
        let row_start = (tile.rows.first + r * tile.rows.step) * params.in_width;
        var taps = Taps(vec4<bool>(false), tile.first);
        for (var column = sweep_start(tile); column < end; column++) {
            taps = take_column(tile, taps.next, column);
            let value = input[plane_base + row_start + column];
            let wins = taps.hit & (vec4<f32>(value) > best.value | vec4<bool>(is_nan(value)));
            best.value = select(best.value, vec4<f32>(value), wins);
            best.index = select(best.index, vec4<u32>(row_start + column), wins);
        }
    }
    return best;
}

fn store_tile(tile: RowTile, values: vec4<f32>) {
    for (var t = 0u; t < COLUMN_TILE; t++) {
        if (tile.first_column + t < params.out_width) {
            output[params.output_base + tile.output_index + t] = values[t];
        }
    }
}

@compute @workgroup_size(64)
fn max_pool2d(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
              @builtin(local_invocation_index) lane: u32) {
    let tile = row_tile(workgroup, groups_launched, lane);
    if (tile.valid) {
        store_tile(tile, tile_maximum(tile).value);
    }
}

@compute @workgroup_size(64)
fn max_pool2d_with_indices(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                           @builtin(local_invocation_index) lane: u32) {
    let tile = row_tile(workgroup, groups_launched, lane);
    if (!tile.valid) {
        return;
    }
    let maximum = tile_maximum(tile);
    store_tile(tile, maximum.value);
    for (var t = 0u; t < COLUMN_TILE; t++) {
        if (tile.first_column + t < params.out_width) {
            indices[params.output_base + tile.output_index + t] = maximum.index[t];
        }
    }
}

@compute @workgroup_size(64)
fn avg_pool2d(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
              @builtin(local_invocation_index) lane: u32) {
    let tile = row_tile(workgroup, groups_launched, lane);
    if (!tile.valid) {
        return;
    }
    // Each window sums its taps row by row, columns ascending (dilation is 1).
    var sum = vec4<f32>(0.0);
    let plane_base = params.input_base + tile.plane * params.in_height * params.in_width;
    let end = sweep_end(tile);
    for (var r = 0u; r < tile.rows.count; r++) {
        let row_start = plane_base + (tile.rows.first + r) * params.in_width;
        var taps = Taps(vec4<bool>(false), tile.first);
        for (var column = sweep_start(tile); column < end; column++) {
            taps = take_column(tile, taps.next, column);
            sum = select(sum, sum + vec4<f32>(input[row_start + column]), taps.hit);
        }
    }
    store_tile(tile, sum / vec4<f32>(average_divisor(tile)));
}

// Each window's divisor: the override, the window clipped at the end of the padding
// (count_include_pad; the ceil_mode overhang never counts), or its in-bounds taps.
fn average_divisor(tile: RowTile) -> vec4<u32> {
    if (params.divisor_override != 0u) {
        return vec4<u32>(params.divisor_override);
    }
    if (params.count_include_pad != 0u) {
        let row_end = min(tile.row_start + i32(params.kernel_height), i32(params.in_height + params.pad_top));
        let column_end = min(tile.column_start + vec4<i32>(i32(params.kernel_width)),
            vec4<i32>(i32(params.in_width + params.pad_left)));
        return vec4<u32>(u32(row_end - tile.row_start)) * vec4<u32>(column_end - tile.column_start);
    }
    return vec4<u32>(tile.rows.count) * tile.count;
}

// Vector variants for two common shapes (input rows a multiple of 8 long, output rows half
// that, bases multiples of 4): an invocation owns 8 consecutive outputs (two 4-output tiles; a
// row of 4k outputs ends in a single tile) of VECTOR_ROWS rows, reads input rows as whole vec4s
// and takes the taps with fixed swizzles. Same bits as the general kernels, and the same
// structure as their twins in pool2d_int64.wgsl.
@group(0) @binding(1) var<storage, read> input_vectors: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> output_vectors: array<vec4<f32>>;

const VECTOR_TILES: u32 = 2u; // 4-output tiles per invocation (`VECTOR_TILES` in src/ops/pool2d/mod.rs)
const VECTOR_ROWS: u32 = 8u;  // output rows per invocation (`VECTOR_ROWS` in src/ops/pool2d/mod.rs)

// Where one invocation works: VECTOR_ROWS output rows of one plane from first_row (those past
// the plane's end are skipped), tiles first_tile and first_tile + 1.
struct VectorBlock {
    plane_valid: bool,
    plane: u32,
    first_row: u32,
    first_tile: u32,
    second: bool,       // the rows have a second tile here
    first_vector: u32,  // input vec4 of tile first_tile in the plane's row 0
}

fn vector_block(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32) -> VectorBlock {
    let index = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    let row_groups = (params.out_width / COLUMN_TILE + VECTOR_TILES - 1u) / VECTOR_TILES;
    let row_block = index / row_groups; // over all planes
    let blocks_per_plane = (params.out_height + VECTOR_ROWS - 1u) / VECTOR_ROWS;
    let plane = row_block / blocks_per_plane;
    let first_tile = (index - row_block * row_groups) * VECTOR_TILES;
    let plane_vector = (params.input_base + plane * params.in_height * params.in_width) / 4u;
    return VectorBlock(plane < params.planes, plane, (row_block - plane * blocks_per_plane) * VECTOR_ROWS,
        first_tile, first_tile + 1u < params.out_width / COLUMN_TILE, plane_vector + 2u * first_tile);
}

// The first vec4 of tile first_tile (or, with `tile` 1, of the next one) in input row `row`.
fn vector_index(block: VectorBlock, row: u32, tile: u32) -> u32 {
    return block.first_vector + row * (params.in_width / 4u) + select(0u, 2u * tile, block.second);
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
    output_vectors[output] = first;
    if (block.second) {
        output_vectors[output + 1u] = second;
    }
}

fn fold_maximum4(best: vec4<f32>, taps: vec4<f32>) -> vec4<f32> {
    let nan = (bitcast<vec4<u32>>(taps) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u);
    return select(best, taps, taps > best | nan);
}

// Taps of a tile with input vec4s A, B and `left` the column before A:
// (left A.x A.y), (A.y A.z A.w), (A.w B.x B.y), (B.y B.z B.w).
fn fold_k3s2p1(left: f32, a: vec4<f32>, b: vec4<f32>) -> vec4<f32> {
    var folded = fold_maximum4(vec4<f32>(negative_infinity()), vec4<f32>(left, a.y, a.w, b.y));
    folded = fold_maximum4(folded, vec4<f32>(a.x, a.z, b.x, b.z));
    return fold_maximum4(folded, vec4<f32>(a.y, a.w, b.y, b.w));
}

// Both tiles' 3-tap maxima along input row `row`; -inf for a row outside the input.
fn row_maxima(block: VectorBlock, row: i32) -> array<vec4<f32>, 2> {
    let inside = row >= 0 && row < i32(params.in_height);
    let index = vector_index(block, u32(select(0, row, inside)), 0u);
    let has_left = block.first_tile > 0u;
    let left = select(negative_infinity(), input_vectors[index - select(0u, 1u, has_left)].w, has_left);
    let a = input_vectors[index];
    let b = input_vectors[index + 1u];
    let next = vector_index(block, u32(select(0, row, inside)), 1u); // no second tile: A, B again
    let c = input_vectors[next];
    let d = input_vectors[next + 1u];
    let none = vec4<f32>(negative_infinity());
    return array<vec4<f32>, 2>(select(none, fold_k3s2p1(left, a, b), inside),
        select(none, fold_k3s2p1(b.w, c, d), inside));
}

fn window_maxima(a: array<vec4<f32>, 2>, b: array<vec4<f32>, 2>, c: array<vec4<f32>, 2>, tile: u32) -> vec4<f32> {
    return fold_maximum4(fold_maximum4(fold_maximum4(vec4<f32>(negative_infinity()), a[tile]), b[tile]), c[tile]);
}

// Max pooling with kernel 3, stride 2, padding 1 both ways (ResNet's stem): the VECTOR_ROWS
// output rows read 2 * VECTOR_ROWS + 1 input rows (windows share rows), each folded across once;
// folding rows first changes no bit, as max keeps the first of equals and the last NaN either way.
@compute @workgroup_size(64)
fn max_pool2d_k3s2p1_vec4(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
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
// summed row by row, columns ascending, as the general kernel does.
@compute @workgroup_size(64)
fn avg_pool2d_k2s2_vec4(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                        @builtin(local_invocation_index) lane: u32) {
    let block = vector_block(workgroup, groups_launched, lane);
    if (!block.plane_valid) {
        return;
    }
    for (var r = 0u; r < VECTOR_ROWS; r++) {
        // The window's rows (any height, stride and padding; avg_pool2d has no dilation),
        // cut to the input.
        let row_start = i32((block.first_row + r) * params.stride_height) - i32(params.pad_top);
        let rows = window_span(row_start, params.kernel_height, 1u, params.in_height);
        var first = vec4<f32>(0.0);
        var second = first;
        for (var k = 0u; k < rows.count; k++) {
            let index = vector_index(block, rows.first + k, 0u);
            let a = input_vectors[index];
            let b = input_vectors[index + 1u];
            let next = vector_index(block, rows.first + k, 1u);
            let c = input_vectors[next];
            let d = input_vectors[next + 1u];
            first += vec4<f32>(a.x, a.z, b.x, b.z);
            first += vec4<f32>(a.y, a.w, b.y, b.w);
            second += vec4<f32>(c.x, c.z, d.x, d.z);
            second += vec4<f32>(c.y, c.w, d.y, d.w);
        }
        var divisor = rows.count * 2u;
        if (params.divisor_override != 0u) {
            divisor = params.divisor_override;
        } else if (params.count_include_pad != 0u) {
            let row_end = min(row_start + i32(params.kernel_height), i32(params.in_height + params.pad_top));
            divisor = u32(row_end - row_start) * 2u;
        }
        store_tiles(block, r, first / f32(divisor), second / f32(divisor));
    }
}
