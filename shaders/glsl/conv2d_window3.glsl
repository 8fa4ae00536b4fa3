// conv2d_window3 for GL: a line-for-line port of that entry point in conv2d_window64.wgsl (a
// 3x3 convolution at stride 1, any padding, no dilation, on input rows of whole vec4s; tiles of
// 4 output columns x 32 output channels; input and packed weights read as 64-bit words) for
// llvmpipe through GL. naga writes no subgroup operations and no 64-bit integers to GL's GLSL,
// so this kernel reaches GL as GLSL, through wgpu's passthrough shaders: subgroupBroadcast as
// readInvocationARB (GL_ARB_shader_ballot), u64 from GL_ARB_gpu_shader_int64 (llvmpipe has both,
// with subgroups of 8 lanes: the Gpu runs this kernel only there).
// Layout: input [N, C_in, H, W] from input_base (W and input_base multiples of 4); weights
// repacked by `pack_weights` (conv2d_pack.wgsl) to [channel tiles of 32, C_in/groups * 9, 32];
// bias [C_out]; output [N, C_out, H_out, W_out] from output_base; float32.
// Thread mapping: as the WGSL kernel: one invocation computes 4 consecutive output columns x 32
// output channels, 16 tiles a workgroup (two subgroups); lane l of a subgroup loads channels
// 4l..4l+3 of a tap and readInvocationARB hands them to every lane; one loop iteration is one
// input channel's 9 taps.
// Bindings: parameters in a uniform block at binding 0 (GL passthrough shaders take no
// immediates), then the WGSL kernel's: input 1, packed weights 2, bias 3, output 4 (storage
// blocks 0-3: wgpu's GL backend numbers uniform and storage blocks apart).
#version 450
#extension GL_ARB_gpu_shader_int64 : require
#extension GL_ARB_shader_ballot : require
layout(local_size_x = 16) in; // TILES_PER_WORKGROUP (`per_workgroup` of `WINDOW` in src/ops/conv2d/window.rs)

// Mirrors `Conv2dParams` in src/ops/conv2d/mod.rs field for field (as the WGSL kernel does).
layout(std140, binding = 0) uniform Conv2dParams {
    uint batch;
    uint in_channels;
    uint in_height;
    uint in_width;
    uint out_channels;
    uint out_height;
    uint out_width;
    uint groups;
    uint in_channels_per_group;
    uint out_channels_per_group;
    uint kernel_height;
    uint kernel_width;
    uint stride_height;
    uint stride_width;
    uint dilation_height;
    uint dilation_width;
    uint pad_top;
    uint pad_left;
    uint has_bias;
    uint activation;
    float leaky_slope;
    uint input_base;
    uint output_base;
    uint channel_tiles_per_group; // tiles of 32 channels per group
    uint column_tiles;            // tiles of 4 columns per output row, from `column_origin`
} params;
layout(std430, binding = 0) readonly buffer Input { u64vec2 input_quads[]; };           // [N, C_in, H, W / 4]
layout(std430, binding = 1) readonly buffer PackedWeight { u64vec2 packed_weight[]; };  // [channel tiles, taps, 32 / 4]
layout(std430, binding = 2) readonly buffer Bias { float bias[]; }; // [C_out] (one dummy value when has_bias = 0)
layout(std430, binding = 3) writeonly buffer Output { float outputs[]; }; // [N, C_out, H_out, W_out]

const uint TILES_PER_WORKGROUP = 16u;
const uint CHANNEL_TILE = 32u;

// Activation codes mirror `Activation::code` in src/ops/activation.rs; NaN passes through.
vec4 activate(vec4 value) {
    vec4 result = value;
    switch (params.activation) {
        case 1u: result = max(value, vec4(0.0)); break;
        case 2u: result = clamp(value, vec4(0.0), vec4(6.0)); break;
        case 3u: result = mix(value * params.leaky_slope, value, greaterThanEqual(value, vec4(0.0))); break;
        default: break;
    }
    bvec4 nan = greaterThan(floatBitsToUint(value) & uvec4(0x7fffffffu), uvec4(0x7f800000u));
    return mix(result, value, nan);
}

// The 4 floats of a u64vec2 (a u64's low half first in memory).
vec4 floats4(u64vec2 bits) {
    return vec4(uintBitsToFloat(unpackUint2x32(bits.x)), uintBitsToFloat(unpackUint2x32(bits.y)));
}

// The accumulators: column j of m[i] holds channels 4i..4i+3 of the tile's output column j.
mat4 m[8];

// m + w x^T, one column at a time (column j gains w * x[j]).
mat4 outer_add(mat4 acc, vec4 w, vec4 x) {
    return mat4(fma(w, vec4(x.x), acc[0]), fma(w, vec4(x.y), acc[1]), fma(w, vec4(x.z), acc[2]),
                fma(w, vec4(x.w), acc[3]));
}

// One tap: `w` holds channels 4l..4l+3 in lane l; `x` this lane's 4 input values.
void accumulate(vec4 w, vec4 x) {
    m[0] = outer_add(m[0], readInvocationARB(w, 0u), x);
    m[1] = outer_add(m[1], readInvocationARB(w, 1u), x);
    m[2] = outer_add(m[2], readInvocationARB(w, 2u), x);
    m[3] = outer_add(m[3], readInvocationARB(w, 3u), x);
    m[4] = outer_add(m[4], readInvocationARB(w, 4u), x);
    m[5] = outer_add(m[5], readInvocationARB(w, 5u), x);
    m[6] = outer_add(m[6], readInvocationARB(w, 6u), x);
    m[7] = outer_add(m[7], readInvocationARB(w, 7u), x);
}

// The output column where the tiles start (0 or negative): the one whose input window starts
// on a vec4 boundary. Mirrors `origin_shift` in src/ops/conv2d/window.rs (stride 1).
int column_origin() {
    int phase = int(params.pad_left % 4u);
    return phase == 0 ? 0 : phase - 4;
}

// Where this invocation works (the WGSL kernel's Place for 4 columns x 32 channels).
uint image;
uint out_row;
int first_column;
int first_input; // the input column where the tile's window starts (a multiple of 4)
int top;         // the input row of the tile's first kernel row (negative in the padding)
bool in_range;
uint group;
uint tile_channel;
uint weight_index; // this lane's weight vec4 for tap 0
uint weight_step;  // vec4s from one tap to the next

void place(uint block_index, uint lane, uint subgroup_lane) {
    uint tiles_per_group = (params.out_channels_per_group + CHANNEL_TILE - 1u) / CHANNEL_TILE;
    uint channel_tiles = params.groups * tiles_per_group;
    uint tiles_per_plane = params.out_height * params.column_tiles;
    uint pixel_blocks = (tiles_per_plane + TILES_PER_WORKGROUP - 1u) / TILES_PER_WORKGROUP;
    uint unclamped_tile = ((block_index / channel_tiles) % pixel_blocks) * TILES_PER_WORKGROUP + lane;
    uint pixel_tile = min(unclamped_tile, tiles_per_plane - 1u);
    first_column = column_origin() + int((pixel_tile % params.column_tiles) * 4u);
    uint channel_tile = block_index % channel_tiles;
    group = channel_tile / tiles_per_group;
    tile_channel = (channel_tile % tiles_per_group) * CHANNEL_TILE;
    uint taps = params.in_channels_per_group * params.kernel_height * params.kernel_width;
    weight_step = CHANNEL_TILE / 4u;
    image = min(block_index / (pixel_blocks * channel_tiles), params.batch - 1u);
    out_row = pixel_tile / params.column_tiles;
    first_input = first_column * int(params.stride_width) - int(params.pad_left);
    top = int(out_row * params.stride_height) - int(params.pad_top);
    in_range = block_index < params.batch * pixel_blocks * channel_tiles && unclamped_tile < tiles_per_plane;
    weight_index = (group * params.channel_tiles_per_group + tile_channel / CHANNEL_TILE) * taps * weight_step
        + tile_channel % CHANNEL_TILE / 4u + subgroup_lane % 8u;
}

uint plane_index(uint c) {
    return params.input_base + ((image * params.in_channels + group * params.in_channels_per_group + c)
        * params.in_height) * params.in_width;
}

// The 4 input columns starting at `column` (a multiple of 4) of input row `row` of the plane
// at `plane`, 0 outside the input.
vec4 load_vec4(uint plane, int row, int column) {
    bool inside = row >= 0 && row < int(params.in_height) && column >= 0 && column < int(params.in_width);
    uint index = (plane + uint(inside ? row : 0) * params.in_width) / 4u + uint(inside ? column : 0) / 4u;
    return inside ? floats4(input_quads[index]) : vec4(0.0);
}

// One kernel row: input columns first_input..first_input+5 feed the 3 taps.
void row3(uint plane, int row, uint w) {
    vec4 v0 = load_vec4(plane, row, first_input);
    vec4 v1 = load_vec4(plane, row, first_input + 4);
    accumulate(floats4(packed_weight[w]), v0);
    accumulate(floats4(packed_weight[w + weight_step]), vec4(v0.yzw, v1.x));
    accumulate(floats4(packed_weight[w + 2u * weight_step]), vec4(v0.zw, v1.xy));
}

// Bias of channels channel..channel+3 (clamped to the group; 0 without bias).
vec4 bias4(uint channel, uint group_end) {
    if (params.has_bias == 0u) {
        return vec4(0.0);
    }
    uint last = group_end - 1u;
    return vec4(bias[min(channel, last)], bias[min(channel + 1u, last)], bias[min(channel + 2u, last)],
                bias[min(channel + 3u, last)]);
}

// Stores channels channel..channel+3 (those inside the group) of one output column at `index`.
void store_column(vec4 values, uint index, uint channel, uint group_end, int column) {
    if (column < 0 || column >= int(params.out_width)) {
        return;
    }
    uint out_plane = params.out_height * params.out_width;
    uint at_channel = index + uint(column) + channel * out_plane;
    vec4 activated = activate(values);
    if (channel < group_end) { outputs[at_channel] = activated.x; }
    if (channel + 1u < group_end) { outputs[at_channel + out_plane] = activated.y; }
    if (channel + 2u < group_end) { outputs[at_channel + 2u * out_plane] = activated.z; }
    if (channel + 3u < group_end) { outputs[at_channel + 3u * out_plane] = activated.w; }
}

// Adds bias, activates and stores one 4x4 matrix of the tile.
void store_matrix(mat4 acc, uint channel) {
    uint group_end = (group + 1u) * params.out_channels_per_group;
    vec4 b = bias4(channel, group_end);
    uint index = params.output_base + (image * params.out_channels * params.out_height + out_row) * params.out_width;
    store_column(acc[0] + b, index, channel, group_end, first_column);
    store_column(acc[1] + b, index, channel, group_end, first_column + 1);
    store_column(acc[2] + b, index, channel, group_end, first_column + 2);
    store_column(acc[3] + b, index, channel, group_end, first_column + 3);
}

// Every lane runs the loop (readInvocationARB needs the whole subgroup); its bound is uniform.
void main() {
    place(gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x, gl_LocalInvocationIndex,
          gl_SubGroupInvocationARB);
    for (int i = 0; i < 8; i++) {
        m[i] = mat4(0.0);
    }
    uint w = weight_index;
    for (uint c = 0u; c < params.in_channels_per_group; c++) {
        uint plane = plane_index(c);
        row3(plane, top, w);
        row3(plane, top + 1, w + 3u * weight_step);
        row3(plane, top + 2, w + 6u * weight_step);
        w += 9u * weight_step;
    }
    if (!in_range) {
        return;
    }
    uint channel = group * params.out_channels_per_group + tile_channel;
    store_matrix(m[0], channel);
    store_matrix(m[1], channel + 4u);
    store_matrix(m[2], channel + 8u);
    store_matrix(m[3], channel + 12u);
    store_matrix(m[4], channel + 16u);
    store_matrix(m[5], channel + 20u);
    store_matrix(m[6], channel + 24u);
    store_matrix(m[7], channel + 28u);
}
