// conv2d: direct 2-D cross-correlation with PyTorch semantics (stride, asymmetric padding,
// dilation, groups, optional bias, fused activation).
// Layout: input [N, C_in, H, W], weight [C_out, C_in/groups, KH, KW], bias [C_out],
// output [N, C_out, H_out, W_out], all row-major float32.
// Thread mapping: one invocation computes a register tile of 8 output channels (of one group)
// x 4 consecutive output columns of one output row. Invocations are numbered with the column
// tile fastest, then the output row, then the channel tile, then the image, so neighbouring
// lanes share weights and overlapping input rows.

// Mirrors `Conv2dParams` in src/ops/conv2d.rs field for field.
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

const CHANNEL_TILE: u32 = 8u;
const COLUMN_TILE: u32 = 4u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Conv2dParams;
@group(0) @binding(1) var<storage, read> input: array<f32>;   // [N, C_in, H, W] from input_base
@group(0) @binding(2) var<storage, read> weight: array<f32>;  // [C_out, C_in/groups, KH, KW]
@group(0) @binding(3) var<storage, read> bias: array<f32>;    // [C_out] (one dummy value when has_bias = 0)
@group(0) @binding(4) var<storage, read_write> output: array<f32>; // [N, C_out, H_out, W_out] from output_base

// Activation codes mirror `Activation::code` in src/ops/activation.rs.
fn activate(value: f32) -> f32 {
    switch params.activation {
        case 1u: { return max(value, 0.0); }
        case 2u: { return clamp(value, 0.0, 6.0); }
        case 3u: { return select(value * params.leaky_slope, value, value >= 0.0); }
        default: { return value; }
    }
}

@compute @workgroup_size(64)
fn conv2d(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
          @builtin(local_invocation_index) lane: u32) {
    let index = (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
    let tiles_per_image = params.groups * params.channel_tiles_per_group * params.out_height * params.column_tiles;
    if (index >= params.batch * tiles_per_image) {
        return;
    }
    let column_tile = index % params.column_tiles;
    let out_row = (index / params.column_tiles) % params.out_height;
    let channel_tile = (index / (params.column_tiles * params.out_height)) % (params.groups * params.channel_tiles_per_group);
    let image = index / tiles_per_image;
    let group = channel_tile / params.channel_tiles_per_group;
    let group_channel_start = (channel_tile % params.channel_tiles_per_group) * CHANNEL_TILE;
    let first_out_channel = group * params.out_channels_per_group + group_channel_start;
    let last_out_channel = (group + 1u) * params.out_channels_per_group - 1u;
    let first_column = column_tile * COLUMN_TILE;

    let taps = params.kernel_height * params.kernel_width;
    let weight_channel_stride = params.in_channels_per_group * taps;
    let plane = params.in_height * params.in_width;
    // Input column of each output column at tap q = 0 (may be negative: padding).
    let column_start = vec4<i32>(vec4<u32>(first_column, first_column + 1u, first_column + 2u, first_column + 3u)
        * params.stride_width) - i32(params.pad_left);

    var acc: array<vec4<f32>, 8>;
    for (var c = 0u; c < params.in_channels_per_group; c++) {
        let in_channel = group * params.in_channels_per_group + c;
        let plane_base = params.input_base + (image * params.in_channels + in_channel) * plane;
        let weight_base = (first_out_channel * params.in_channels_per_group + c) * taps;
        for (var p = 0u; p < params.kernel_height; p++) {
            let in_row = i32(out_row * params.stride_height + p * params.dilation_height) - i32(params.pad_top);
            if (in_row < 0 || in_row >= i32(params.in_height)) {
                continue;
            }
            let row_base = plane_base + u32(in_row) * params.in_width;
            for (var q = 0u; q < params.kernel_width; q++) {
                let columns = column_start + vec4<i32>(i32(q * params.dilation_width));
                let inside = columns >= vec4<i32>(0) & columns < vec4<i32>(i32(params.in_width));
                let safe = vec4<u32>(select(vec4<i32>(0), columns, inside));
                let x = select(vec4<f32>(0.0), vec4<f32>(input[row_base + safe.x], input[row_base + safe.y],
                    input[row_base + safe.z], input[row_base + safe.w]), inside);
                let tap = weight_base + p * params.kernel_width + q;
                for (var i = 0u; i < CHANNEL_TILE; i++) {
                    let channel = min(first_out_channel + i, last_out_channel) - first_out_channel;
                    acc[i] += weight[tap + channel * weight_channel_stride] * x;
                }
            }
        }
    }

    for (var i = 0u; i < CHANNEL_TILE; i++) {
        let out_channel = first_out_channel + i;
        if (out_channel > last_out_channel) {
            break;
        }
        var value = acc[i];
        if (params.has_bias != 0u) {
            value += vec4<f32>(bias[out_channel]);
        }
        let row_base = params.output_base + ((image * params.out_channels + out_channel) * params.out_height + out_row) * params.out_width;
        for (var j = 0u; j < COLUMN_TILE; j++) {
            if (first_column + j < params.out_width) {
                output[row_base + first_column + j] = activate(value[j]);
            }
        }
    }
}
