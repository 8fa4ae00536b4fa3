// batch_norm: per-channel statistics over N, H and W, PyTorch's running-statistics update, and
// the per-channel normalization y = (x - mean) * gamma / sqrt(var + eps) + beta.
// Layout: input and output [N, C, H, W] row-major float32; per-channel tensors [C]; partial
// moments [C, partials_per_channel] of (count, mean, m2) where m2 = sum((x - mean)^2).
// Thread mapping: partial_moments and normalize give each workgroup one channel and a tile of
// that channel's elements in (n, h, w) order, `per_lane` elements per lane (256 floats on a
// CPU adapter, where a lane's set-up weighs as much as its loads; 64 on a GPU, which wants the
// lanes: see src/ops/batch_norm/kernels.rs). Lanes work in runs of 8: run r
// owns a contiguous stretch of the tile, and its 8 lanes read 8 neighbouring elements at a time
// (32 or 128 contiguous bytes: whole memory sectors on a GPU, streaming cache lines on a CPU
// adapter). The `_vec4` entry points take vec4 elements when H*W % 4 == 0 (plane, counts and
// bases then in vec4s); the others single floats. llvmpipe splits every storage load into
// per-lane scalar loads with a bounds check each, and the vec4 variants ran about 2x faster.
//   merge_moments: one invocation merges up to 64 consecutive partials of one channel.
//   finalize_moments: one invocation per channel merges its last partials, writes the statistics.
//   update_running_stats: one invocation per channel.
// Numerics: never E[x^2] - E[x]^2 (it cancels when |mean| >> std). Moments merge with Chan's
// pairwise formula, and are taken of x - shift with shift = x[0, c, 0, 0]: every mean along the
// way is then of the order of the std, so rounding it cannot leak into m2. finalize adds it back.
// Each entry point binds its own variables, numbered 1.. in the order the Rust side passes them,
// so binding numbers repeat across entry points (WGSL and naga check bindings per entry point).

const WORKGROUP_SIZE: u32 = 64u;
const RUN: u32 = 8u;                // lanes that read one contiguous stretch together
const MERGE_WIDTH: u32 = 64u;

// count, mean and m2 = sum((x - mean)^2) of a set of values; count 0 is the empty set.
struct Moments {
    count: f32,
    mean: f32,
    m2: f32,
}

// How partial_moments and normalize walk a channel, in elements (floats or vec4s): the first
// seven fields of their parameters (flat there, as in the Rust mirrors).
struct ChannelTiles {
    channels: u32,
    plane: u32,                // elements per (n, c) plane
    values_per_channel: u32,   // images in this dispatch * plane
    tiles_per_channel: u32,
    run_step_images: u32,      // RUN / plane
    run_step_pixels: u32,      // RUN % plane
    per_lane: u32,             // elements per lane: 256 floats on a CPU adapter, 64 on a GPU
}

// Mirrors `PartialParams` in src/ops/batch_norm.rs field for field.
struct PartialParams {
    channels: u32,
    plane: u32,
    values_per_channel: u32,
    tiles_per_channel: u32,
    run_step_images: u32,
    run_step_pixels: u32,
    per_lane: u32,
    input_base: u32,           // in elements
    shift_base: u32,           // x[0, 0, 0, 0] inside the shift binding, in floats
    partials_per_channel: u32,
    partial_base: u32,         // this dispatch's first partial inside each channel's row
    slots_per_tile: u32,       // partials per tile: 64, or the lanes holding values of a short channel
}

// Mirrors `MergeParams` in src/ops/batch_norm.rs field for field.
struct MergeParams {
    channels: u32,
    partials_in_per_channel: u32,
    partials_out_per_channel: u32,
}

// Mirrors `FinalizeParams` in src/ops/batch_norm.rs field for field.
struct FinalizeParams {
    channels: u32,
    partials_per_channel: u32, // at most MERGE_WIDTH
    plane: u32,                // in floats
    shift_base: u32,
}

// Mirrors `RunningParams` in src/ops/batch_norm.rs field for field.
struct RunningParams {
    channels: u32,
    momentum: f32,
}

// Mirrors `NormalizeParams` in src/ops/batch_norm.rs field for field.
struct NormalizeParams {
    channels: u32,
    plane: u32,
    values_per_channel: u32,
    tiles_per_channel: u32,
    run_step_images: u32,
    run_step_pixels: u32,
    per_lane: u32,
    input_base: u32,           // in elements
    output_base: u32,          // in elements
    eps: f32,
}

// partial_moments, partial_moments_vec4
var<immediate> partial_params: PartialParams;
@group(0) @binding(1) var<storage, read> partial_input: array<f32>;                  // [N, C, H, W] from input_base
@group(0) @binding(1) var<storage, read> partial_input_vectors: array<vec4<f32>>;    // the same, as vec4s
@group(0) @binding(2) var<storage, read> shift_input: array<f32>;                    // [C, H, W] (image 0) from shift_base
@group(0) @binding(3) var<storage, read_write> partial_output: array<Moments>;       // [C, partials_per_channel]
// merge_moments
var<immediate> merge_params: MergeParams;
@group(0) @binding(1) var<storage, read> merge_input: array<Moments>;                // [C, partials_in_per_channel]
@group(0) @binding(2) var<storage, read_write> merge_output: array<Moments>;         // [C, partials_out_per_channel]
// finalize_moments (binding 1 is merge_input, binding 2 shift_input)
var<immediate> finalize_params: FinalizeParams;
@group(0) @binding(3) var<storage, read_write> mean_output: array<f32>;              // [C]
@group(0) @binding(4) var<storage, read_write> var_biased_output: array<f32>;        // [C]
@group(0) @binding(5) var<storage, read_write> var_unbiased_output: array<f32>;      // [C]
// update_running_stats
var<immediate> running_params: RunningParams;
@group(0) @binding(1) var<storage, read> batch_mean: array<f32>;                     // [C]
@group(0) @binding(2) var<storage, read> batch_var_unbiased: array<f32>;             // [C]
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>;             // [C]
@group(0) @binding(4) var<storage, read_write> running_var: array<f32>;              // [C]
// normalize, normalize_vec4
var<immediate> normalize_params: NormalizeParams;
@group(0) @binding(1) var<storage, read> normalize_input: array<f32>;                // [N, C, H, W] from input_base
@group(0) @binding(1) var<storage, read> normalize_input_vectors: array<vec4<f32>>;  // the same, as vec4s
@group(0) @binding(2) var<storage, read> channel_mean: array<f32>;                   // [C]
@group(0) @binding(3) var<storage, read> channel_var: array<f32>;                    // [C]
@group(0) @binding(4) var<storage, read> gamma: array<f32>;                          // [C]
@group(0) @binding(5) var<storage, read> beta: array<f32>;                           // [C]
@group(0) @binding(6) var<storage, read_write> normalize_output: array<f32>;         // [N, C, H, W] from output_base
@group(0) @binding(6) var<storage, read_write> normalize_output_vectors: array<vec4<f32>>;

// Chan et al.'s pairwise combination of two sets' moments; `b` must not be empty.
fn combine_nonempty(a: Moments, b: Moments) -> Moments {
    let count = a.count + b.count;
    let delta = b.mean - a.mean;
    let weight = b.count / count;
    return Moments(count, a.mean + delta * weight, a.m2 + b.m2 + delta * delta * a.count * weight);
}

fn combine(a: Moments, b: Moments) -> Moments {
    if (b.count == 0.0) {
        return a;
    }
    return combine_nonempty(a, b);
}

// The moments of `count` consecutive partials of merge_input starting at `first`.
fn combine_run(first: u32, count: u32) -> Moments {
    var total = Moments(0.0, 0.0, 0.0);
    for (var i = 0u; i < count; i++) {
        total = combine(total, merge_input[first + i]);
    }
    return total;
}

// A lane's share of a tile: its channel, the element it starts at (as image and pixel of the
// channel), the offset of that channel's first element, and how many elements it takes (0 past
// the end of the channel); it then steps RUN elements at a time.
struct LaneWork {
    channel: u32,
    image: u32,
    pixel: u32,
    channel_offset: u32,
    elements: u32,
}

fn lane_work(tiles: ChannelTiles, group_index: u32, lane: u32) -> LaneWork {
    let per_lane = tiles.per_lane;
    let channel = group_index / tiles.tiles_per_channel;
    let tile_start = (group_index % tiles.tiles_per_channel) * WORKGROUP_SIZE * per_lane;
    let first = tile_start + (lane / RUN) * RUN * per_lane + lane % RUN;
    var elements = 0u;
    if (first < tiles.values_per_channel) {
        elements = min(per_lane, (tiles.values_per_channel - 1u - first) / RUN + 1u);
    }
    return LaneWork(channel, first / tiles.plane, first % tiles.plane, channel * tiles.plane, elements);
}

// The element index (from the dispatch's base) of a lane's current element.
fn element_index(tiles: ChannelTiles, work: LaneWork) -> u32 {
    return work.image * tiles.channels * tiles.plane + work.channel_offset + work.pixel;
}

// Moves a lane RUN elements along its channel, without dividing.
fn advance(tiles: ChannelTiles, work: ptr<function, LaneWork>) {
    (*work).image += tiles.run_step_images;
    (*work).pixel += tiles.run_step_pixels;
    if ((*work).pixel >= tiles.plane) {
        (*work).pixel -= tiles.plane;
        (*work).image += 1u;
    }
}

fn group_index_of(workgroup: vec3<u32>, launched: vec3<u32>) -> u32 {
    return workgroup.x + workgroup.y * launched.x;
}

fn partial_tiles() -> ChannelTiles {
    let p = partial_params;
    return ChannelTiles(p.channels, p.plane, p.values_per_channel, p.tiles_per_channel, p.run_step_images,
        p.run_step_pixels, p.per_lane);
}

fn write_partial(tiles: ChannelTiles, group_index: u32, lane: u32, channel: u32, moments: Moments) {
    let slots = partial_params.slots_per_tile;
    if (lane < slots) {
        let row = channel * partial_params.partials_per_channel + partial_params.partial_base;
        partial_output[row + (group_index % tiles.tiles_per_channel) * slots + lane] = moments;
    }
}

@compute @workgroup_size(64)
fn partial_moments(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) launched: vec3<u32>,
                   @builtin(local_invocation_index) lane: u32) {
    let tiles = partial_tiles();
    let group_index = group_index_of(workgroup, launched);
    if (group_index >= tiles.channels * tiles.tiles_per_channel) {
        return;
    }
    var work = lane_work(tiles, group_index, lane);
    let shift = shift_input[partial_params.shift_base + work.channel * tiles.plane];
    var moments = Moments(0.0, 0.0, 0.0);
    for (var k = 0u; k < work.elements; k++) {
        let y = partial_input[partial_params.input_base + element_index(tiles, work)] - shift;
        moments = combine_nonempty(moments, Moments(1.0, y, 0.0)); // Welford's update
        advance(tiles, &work);
    }
    write_partial(tiles, group_index, lane, work.channel, moments);
}

@compute @workgroup_size(64)
fn partial_moments_vec4(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) launched: vec3<u32>,
                        @builtin(local_invocation_index) lane: u32) {
    let tiles = partial_tiles();
    let group_index = group_index_of(workgroup, launched);
    if (group_index >= tiles.channels * tiles.tiles_per_channel) {
        return;
    }
    var work = lane_work(tiles, group_index, lane);
    let shift = shift_input[partial_params.shift_base + work.channel * tiles.plane * 4u];
    var moments = Moments(0.0, 0.0, 0.0);
    var k = 0u;
    // Two vec4s per step: their eight values' own moments (two passes in registers), then one
    // merge, so the merge's division and dependency chain come once per 8 values.
    for (; k + 2u <= work.elements; k += 2u) {
        let y0 = partial_input_vectors[partial_params.input_base + element_index(tiles, work)] - vec4<f32>(shift);
        advance(tiles, &work);
        let y1 = partial_input_vectors[partial_params.input_base + element_index(tiles, work)] - vec4<f32>(shift);
        advance(tiles, &work);
        let mean = dot(y0 + y1, vec4<f32>(0.125));
        let d0 = y0 - vec4<f32>(mean);
        let d1 = y1 - vec4<f32>(mean);
        moments = combine_nonempty(moments, Moments(8.0, mean, dot(d0, d0) + dot(d1, d1)));
    }
    if (k < work.elements) {
        let y = partial_input_vectors[partial_params.input_base + element_index(tiles, work)] - vec4<f32>(shift);
        let mean = dot(y, vec4<f32>(0.25));
        let deviation = y - vec4<f32>(mean);
        moments = combine_nonempty(moments, Moments(4.0, mean, dot(deviation, deviation)));
    }
    write_partial(tiles, group_index, lane, work.channel, moments);
}

@compute @workgroup_size(64)
fn merge_moments(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) launched: vec3<u32>,
                 @builtin(local_invocation_index) lane: u32) {
    let index = group_index_of(workgroup, launched) * WORKGROUP_SIZE + lane;
    if (index >= merge_params.channels * merge_params.partials_out_per_channel) {
        return;
    }
    let channel = index / merge_params.partials_out_per_channel;
    let first = (index % merge_params.partials_out_per_channel) * MERGE_WIDTH;
    let count = min(MERGE_WIDTH, merge_params.partials_in_per_channel - first);
    merge_output[index] = combine_run(channel * merge_params.partials_in_per_channel + first, count);
}

@compute @workgroup_size(64)
fn finalize_moments(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) launched: vec3<u32>,
                    @builtin(local_invocation_index) lane: u32) {
    let channel = group_index_of(workgroup, launched) * WORKGROUP_SIZE + lane;
    if (channel >= finalize_params.channels) {
        return;
    }
    let count = finalize_params.partials_per_channel;
    let total = combine_run(channel * count, count);
    let shift = shift_input[finalize_params.shift_base + channel * finalize_params.plane];
    mean_output[channel] = shift + total.mean;
    var_biased_output[channel] = total.m2 / total.count;
    var_unbiased_output[channel] = total.m2 / (total.count - 1.0);
}

// PyTorch: running = (1 - momentum) * running + momentum * batch, with the unbiased variance.
@compute @workgroup_size(64)
fn update_running_stats(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) launched: vec3<u32>,
                        @builtin(local_invocation_index) lane: u32) {
    let channel = group_index_of(workgroup, launched) * WORKGROUP_SIZE + lane;
    if (channel >= running_params.channels) {
        return;
    }
    let keep = 1.0 - running_params.momentum;
    running_mean[channel] = keep * running_mean[channel] + running_params.momentum * batch_mean[channel];
    running_var[channel] = keep * running_var[channel] + running_params.momentum * batch_var_unbiased[channel];
}

fn normalize_tiles() -> ChannelTiles {
    let p = normalize_params;
    return ChannelTiles(p.channels, p.plane, p.values_per_channel, p.tiles_per_channel, p.run_step_images,
        p.run_step_pixels, p.per_lane);
}

// gamma / sqrt(var + eps) of a channel. Outputs are (x - mean) * scale + beta: subtracting the
// mean first keeps large-offset data accurate (x * scale + (beta - mean * scale) would not).
fn channel_scale(channel: u32) -> f32 {
    return gamma[channel] / sqrt(channel_var[channel] + normalize_params.eps);
}

@compute @workgroup_size(64)
fn normalize(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) launched: vec3<u32>,
             @builtin(local_invocation_index) lane: u32) {
    let tiles = normalize_tiles();
    let group_index = group_index_of(workgroup, launched);
    if (group_index >= tiles.channels * tiles.tiles_per_channel) {
        return;
    }
    var work = lane_work(tiles, group_index, lane);
    let mean = channel_mean[work.channel];
    let scale = channel_scale(work.channel);
    let shift = beta[work.channel];
    for (var k = 0u; k < work.elements; k++) {
        let index = element_index(tiles, work);
        let x = normalize_input[normalize_params.input_base + index];
        normalize_output[normalize_params.output_base + index] = (x - mean) * scale + shift;
        advance(tiles, &work);
    }
}

@compute @workgroup_size(64)
fn normalize_vec4(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) launched: vec3<u32>,
                  @builtin(local_invocation_index) lane: u32) {
    let tiles = normalize_tiles();
    let group_index = group_index_of(workgroup, launched);
    if (group_index >= tiles.channels * tiles.tiles_per_channel) {
        return;
    }
    var work = lane_work(tiles, group_index, lane);
    let mean = vec4<f32>(channel_mean[work.channel]);
    let scale = channel_scale(work.channel);
    let shift = vec4<f32>(beta[work.channel]);
    for (var k = 0u; k < work.elements; k++) {
        let index = element_index(tiles, work);
        let x = normalize_input_vectors[normalize_params.input_base + index];
        normalize_output_vectors[normalize_params.output_base + index] = (x - mean) * scale + shift;
        advance(tiles, &work);
    }
}
