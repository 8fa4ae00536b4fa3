// adaptive_pool2d: adaptive and global average / max pooling with PyTorch semantics (the windowed
// pools are in pool2d.wgsl, which shares the parameter struct).
// Layout: input [N, C, H, W] from input_base, output [N, C, H_out, W_out] from output_base, both
// row-major float32.
// Thread mapping: adaptive pools run one invocation per output element, the output column
// fastest; window i along an axis is [floor(i * size / out), ceil((i + 1) * size / out)). Global
// pools reduce a plane with `lanes_per_plane` invocations (a power of two up to 64, so one
// 64-lane workgroup holds 64 / lanes_per_plane planes): each lane folds a strided share of its
// plane, and after one barrier the plane's first lane folds the partial results in lane order.
// NaN: a NaN in the window makes the result NaN (PyTorch); the test is on the bits.

// Mirrors `Pool2dParams` in src/ops/pool2d/mod.rs field for field (as in pool2d.wgsl).
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
// adaptive_max_pool2d_with_indices: each maximum's `row * W + column` in its plane.
@group(0) @binding(3) var<storage, read_write> indices: array<u32>; // [N, C, H_out, W_out]

var<workgroup> partials: array<f32, WORKGROUP_SIZE>;

fn negative_infinity() -> f32 {
    return bitcast<f32>(0xff800000u);
}

fn is_nan(value: f32) -> bool {
    return (bitcast<u32>(value) & 0x7fffffffu) > 0x7f800000u;
}

// The in-bounds taps of a window along one axis: positions first + t * step for t < count.
struct Span {
    first: u32,
    count: u32,
    step: u32,
}

// Adaptive window along one axis: [floor(i * size / out), ceil((i + 1) * size / out)).
fn adaptive_span(index: u32, size: u32, out_size: u32) -> Span {
    let first = index * size / out_size;
    let end = ((index + 1u) * size + out_size - 1u) / out_size;
    return Span(first, end - first, 1u);
}

// The output element this invocation owns; `valid` is false past the end of the grid.
struct OutputPosition {
    valid: bool,
    index: u32,
    plane: u32,
    row: u32,
    column: u32,
}

fn output_position(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32) -> OutputPosition {
    let index = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    let plane_size = params.out_height * params.out_width;
    return OutputPosition(index < params.planes * plane_size, index, index / plane_size,
        (index / params.out_width) % params.out_height, index % params.out_width);
}

struct Maximum {
    value: f32,
    index: u32,
}

// PyTorch's rule: the first strictly greater value wins, and a NaN always takes over. With no
// taps the result is -inf at the window's first position (cannot happen for valid geometry).
fn window_maximum(plane: u32, rows: Span, columns: Span) -> Maximum {
    let plane_base = params.input_base + plane * params.in_height * params.in_width;
    var best = Maximum(negative_infinity(), rows.first * params.in_width + columns.first);
    for (var r = 0u; r < rows.count; r++) {
        let row_start = (rows.first + r * rows.step) * params.in_width;
        for (var c = 0u; c < columns.count; c++) {
            let flat = row_start + columns.first + c * columns.step;
            let value = input[plane_base + flat];
            if (value > best.value || is_nan(value)) {
                best = Maximum(value, flat);
            }
        }
    }
    return best;
}

// Sum of an adaptive window (step 1 on both axes), in f32, row by row.
fn window_sum(plane: u32, rows: Span, columns: Span) -> f32 {
    let plane_base = params.input_base + plane * params.in_height * params.in_width;
    var sum = 0.0;
    for (var r = 0u; r < rows.count; r++) {
        let row_start = plane_base + (rows.first + r) * params.in_width + columns.first;
        for (var c = 0u; c < columns.count; c++) {
            sum += input[row_start + c];
        }
    }
    return sum;
}

@compute @workgroup_size(64)
fn adaptive_avg_pool2d(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                       @builtin(local_invocation_index) lane: u32) {
    let position = output_position(workgroup, groups_launched, lane);
    if (!position.valid) {
        return;
    }
    let rows = adaptive_span(position.row, params.in_height, params.out_height);
    let columns = adaptive_span(position.column, params.in_width, params.out_width);
    let sum = window_sum(position.plane, rows, columns);
    output[params.output_base + position.index] = sum / f32(rows.count * columns.count);
}

// The maximum of the adaptive window of output element `position`.
fn adaptive_maximum(position: OutputPosition) -> Maximum {
    let rows = adaptive_span(position.row, params.in_height, params.out_height);
    let columns = adaptive_span(position.column, params.in_width, params.out_width);
    return window_maximum(position.plane, rows, columns);
}

@compute @workgroup_size(64)
fn adaptive_max_pool2d(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                       @builtin(local_invocation_index) lane: u32) {
    let position = output_position(workgroup, groups_launched, lane);
    if (position.valid) {
        output[params.output_base + position.index] = adaptive_maximum(position).value;
    }
}

@compute @workgroup_size(64)
fn adaptive_max_pool2d_with_indices(@builtin(workgroup_id) workgroup: vec3<u32>,
                                    @builtin(num_workgroups) groups_launched: vec3<u32>,
                                    @builtin(local_invocation_index) lane: u32) {
    let position = output_position(workgroup, groups_launched, lane);
    if (position.valid) {
        let maximum = adaptive_maximum(position);
        output[params.output_base + position.index] = maximum.value;
        indices[params.output_base + position.index] = maximum.index;
    }
}

// The plane this lane reduces and the lane's rank inside it.
struct PlaneLane {
    plane: u32,
    rank: u32,
}

fn plane_lane(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32) -> PlaneLane {
    let planes_per_group = WORKGROUP_SIZE / params.lanes_per_plane;
    let group = workgroup.x + workgroup.y * groups_launched.x;
    return PlaneLane(group * planes_per_group + lane / params.lanes_per_plane, lane % params.lanes_per_plane);
}

@compute @workgroup_size(64)
fn global_avg_pool2d(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                     @builtin(local_invocation_index) lane: u32) {
    let me = plane_lane(workgroup, groups_launched, lane);
    let plane_size = params.in_height * params.in_width;
    var sum = 0.0;
    if (me.plane < params.planes) {
        let plane_base = params.input_base + me.plane * plane_size;
        for (var i = me.rank; i < plane_size; i += params.lanes_per_plane) {
            sum += input[plane_base + i];
        }
    }
    partials[lane] = sum;
    workgroupBarrier();
    if (me.rank == 0u && me.plane < params.planes) {
        var total = 0.0;
        for (var i = 0u; i < params.lanes_per_plane; i++) {
            total += partials[lane + i];
        }
        output[params.output_base + me.plane] = total / f32(plane_size);
    }
}

@compute @workgroup_size(64)
fn global_max_pool2d(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                     @builtin(local_invocation_index) lane: u32) {
    let me = plane_lane(workgroup, groups_launched, lane);
    let plane_size = params.in_height * params.in_width;
    var best = negative_infinity();
    if (me.plane < params.planes) {
        let plane_base = params.input_base + me.plane * plane_size;
        for (var i = me.rank; i < plane_size; i += params.lanes_per_plane) {
            let value = input[plane_base + i];
            if (value > best || is_nan(value)) {
                best = value;
            }
        }
    }
    partials[lane] = best;
    workgroupBarrier();
    if (me.rank == 0u && me.plane < params.planes) {
        var total = negative_infinity();
        for (var i = 0u; i < params.lanes_per_plane; i++) {
            let value = partials[lane + i];
            if (value > total || is_nan(value)) {
                total = value;
            }
        }
        output[params.output_base + me.plane] = total;
    }
}
