// conv2d_window1_narrow_int64 for GL: a line-for-line port of that entry point in
// conv2d_window_int64.wgsl (a 1x1 convolution at stride 1 without padding, tiles of 8 columns x
// 16 output channels, 8 floats a load as 64-bit words, the weight as given) for llvmpipe
// through GL. naga writes no 64-bit integers and no subgroup operations to GL's GLSL, so this
// kernel reaches GL as GLSL, through wgpu's passthrough shaders: 64-bit words from
// GL_ARB_gpu_shader_int64, subgroupBroadcast as readInvocationARB from GL_ARB_shader_ballot
// (llvmpipe has both, with subgroups of 8 lanes: the Gpu runs this kernel only there).
// Layout: input [N, C_in, H * W] from input_base; weight [C_out, C_in/groups]; bias [C_out];
// output [N, C_out, H * W] from output_base; float32. C_in/groups, the plane H * W and both
// bases are multiples of 8.
// Thread mapping: as the WGSL kernel: one invocation computes 8 consecutive output columns x
// 16 output channels, 8 tiles a workgroup (one subgroup). Eight input channels an iteration:
// lane l loads the 8 weights of output channels l and 8 + l, readInvocationARB hands them to
// every lane, and each lane loads its 8 columns of the 8 channels.
// Bindings: parameters in a uniform block at binding 0 (GL passthrough shaders take no
// immediates), then the WGSL kernel's: input 1, weight 2, bias 3, output 4 (storage blocks
// 0-3: wgpu's GL backend numbers uniform and storage blocks apart).
#version 450
#extension GL_ARB_gpu_shader_int64 : require
#extension GL_ARB_shader_ballot : require
layout(local_size_x = 8) in; // TILES_PER_WORKGROUP (`per_workgroup` of `NARROW` in src/ops/conv2d/window.rs)

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
    uint channel_tiles_per_group; // unused here (the weights are not repacked)
    uint column_tiles;            // tiles of 8 columns per plane
} params;
layout(std430, binding = 0) readonly buffer InputOctets { u64vec4 input_octets[]; };   // [N, C_in, H * W / 8]
layout(std430, binding = 1) readonly buffer WeightOctets { u64vec4 weight_octets[]; }; // [C_out, C_in/groups / 8]
layout(std430, binding = 2) readonly buffer Bias { float bias[]; }; // [C_out] (one dummy value when has_bias = 0)
layout(std430, binding = 3) writeonly buffer OutputOctets { u64vec4 output_octets[]; }; // [N, C_out, H * W / 8]

const uint TILES_PER_WORKGROUP = 8u;
const uint CHANNELS = 16u;

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

// Floats 8i..8i+7 of a buffer (a u64's low half first in memory) as two vec4s.
void floats(u64vec4 bits, out vec4 low, out vec4 high) {
    low = vec4(uintBitsToFloat(unpackUint2x32(bits.x)), uintBitsToFloat(unpackUint2x32(bits.y)));
    high = vec4(uintBitsToFloat(unpackUint2x32(bits.z)), uintBitsToFloat(unpackUint2x32(bits.w)));
}

// Eight floats as one u64vec4, `a` first in memory.
u64vec4 octet(vec4 a, vec4 b) {
    return u64vec4(packUint2x32(floatBitsToUint(a.xy)), packUint2x32(floatBitsToUint(a.zw)),
                   packUint2x32(floatBitsToUint(b.xy)), packUint2x32(floatBitsToUint(b.zw)));
}

// The accumulators: column j of m[q] holds output channels 4q..4q+3 of the tile's column j
// (m[0]-m[3]: columns 0-3, m[4]-m[7]: columns 4-7).
mat4 m[8];

// `value` of lanes 4h..4h+3 as one vec4 (lane numbers constants, as the WGSL kernel's).
vec4 quad(float value, uint h) {
    if (h == 0u) {
        return vec4(readInvocationARB(value, 0u), readInvocationARB(value, 1u), readInvocationARB(value, 2u),
                    readInvocationARB(value, 3u));
    }
    return vec4(readInvocationARB(value, 4u), readInvocationARB(value, 5u), readInvocationARB(value, 6u),
                readInvocationARB(value, 7u));
}

// Eight taps into one accumulator column (as `column8` in the WGSL kernel).
vec4 column8(vec4 acc, vec4 w[8], float x0, float x1, float x2, float x3, float x4, float x5, float x6,
             float x7) {
    return fma(w[7], vec4(x7), fma(w[6], vec4(x6), fma(w[5], vec4(x5), fma(w[4], vec4(x4),
        fma(w[3], vec4(x3), fma(w[2], vec4(x2), fma(w[1], vec4(x1), fma(w[0], vec4(x0), acc))))))));
}

mat4 taps8(mat4 acc, vec4 w[8], vec4 x[8]) {
    return mat4(
        column8(acc[0], w, x[0].x, x[1].x, x[2].x, x[3].x, x[4].x, x[5].x, x[6].x, x[7].x),
        column8(acc[1], w, x[0].y, x[1].y, x[2].y, x[3].y, x[4].y, x[5].y, x[6].y, x[7].y),
        column8(acc[2], w, x[0].z, x[1].z, x[2].z, x[3].z, x[4].z, x[5].z, x[6].z, x[7].z),
        column8(acc[3], w, x[0].w, x[1].w, x[2].w, x[3].w, x[4].w, x[5].w, x[6].w, x[7].w));
}

// The eight taps, as vec4s, of the output channels whose weights lanes 4h..4h+3 hold (lane l
// holds output channel l of the tile in `low`/`high` and channel 8 + l in the next call's).
void quad_taps(vec4 low, vec4 high, uint h, out vec4 w[8]) {
    w[0] = quad(low.x, h); w[1] = quad(low.y, h); w[2] = quad(low.z, h); w[3] = quad(low.w, h);
    w[4] = quad(high.x, h); w[5] = quad(high.y, h); w[6] = quad(high.z, h); w[7] = quad(high.w, h);
}

// Output channel channel + k of the tile's 8 columns (`l`: columns 0-3, `r`: 4-7, transposed
// accumulators) after bias and activation, as one octet.
u64vec4 output_octet(mat4 l, mat4 r, uint channel, uint k) {
    float b = 0.0;
    if (params.has_bias != 0u) {
        b = bias[channel + k];
    }
    return octet(activate(l[k] + b), activate(r[k] + b));
}

// Stores output channels channel..channel+3 (those inside the group) of the tile's 8 columns.
void store_channels(mat4 left, mat4 right, uint channel, uint group_end, uint image, uint tile) {
    uint plane = params.out_height * params.out_width / 8u;
    uint index = (params.output_base + (image * params.out_channels + channel) * params.out_height * params.out_width) / 8u
        + tile;
    mat4 l = transpose(left);
    mat4 r = transpose(right);
    for (uint k = 0u; k < 4u; k++) {
        if (channel + k < group_end) {
            output_octets[index + k * plane] = output_octet(l, r, channel, k);
        }
    }
}

// Every lane runs the loop (readInvocationARB needs the whole subgroup); its bound is uniform.
// Tiles past the plane's end repeat the last tile and store nothing.
void main() {
    uint lane = gl_LocalInvocationIndex;
    // Workgroups run channel tiles fastest, then blocks of tiles of one plane, then images.
    uint block_index = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    uint tiles_per_group = (params.out_channels_per_group + CHANNELS - 1u) / CHANNELS;
    uint channel_tiles = params.groups * tiles_per_group;
    uint pixel_blocks = (params.column_tiles + TILES_PER_WORKGROUP - 1u) / TILES_PER_WORKGROUP;
    uint unclamped_tile = ((block_index / channel_tiles) % pixel_blocks) * TILES_PER_WORKGROUP + lane;
    uint pixel_tile = min(unclamped_tile, params.column_tiles - 1u);
    uint image = min(block_index / (pixel_blocks * channel_tiles), params.batch - 1u);
    uint channel_tile = block_index % channel_tiles;
    uint group = channel_tile / tiles_per_group;
    uint group_start = group * params.out_channels_per_group;
    uint group_end = group_start + params.out_channels_per_group;
    uint tile_channel = group_start + (channel_tile % tiles_per_group) * CHANNELS;

    // This lane's two weight rows (clamped to the group's last channel: those lanes' values are
    // never stored), one octet of taps each.
    uint subgroup_lane = gl_SubGroupInvocationARB;
    uint octets_per_row = params.in_channels_per_group / 8u;
    uint low_weights = min(tile_channel + subgroup_lane % 8u, group_end - 1u) * octets_per_row;
    uint high_weights = min(tile_channel + 8u + subgroup_lane % 8u, group_end - 1u) * octets_per_row;
    uint plane = params.in_height * params.in_width / 8u;
    uint index = (params.input_base + (image * params.in_channels + group * params.in_channels_per_group)
        * params.in_height * params.in_width) / 8u + pixel_tile;
    for (int q = 0; q < 8; q++) {
        m[q] = mat4(0.0);
    }
    for (uint c = 0u; c < params.in_channels_per_group; c += 8u) {
        vec4 low_low, low_high, high_low, high_high;
        floats(weight_octets[low_weights], low_low, low_high);
        floats(weight_octets[high_weights], high_low, high_high);
        vec4 left[8];
        vec4 right[8];
        for (uint k = 0u; k < 8u; k++) {
            floats(input_octets[index + k * plane], left[k], right[k]);
        }
        vec4 w0[8], w1[8], w2[8], w3[8];
        quad_taps(low_low, low_high, 0u, w0);
        quad_taps(low_low, low_high, 1u, w1);
        quad_taps(high_low, high_high, 0u, w2);
        quad_taps(high_low, high_high, 1u, w3);
        m[0] = taps8(m[0], w0, left);
        m[1] = taps8(m[1], w1, left);
        m[2] = taps8(m[2], w2, left);
        m[3] = taps8(m[3], w3, left);
        m[4] = taps8(m[4], w0, right);
        m[5] = taps8(m[5], w1, right);
        m[6] = taps8(m[6], w2, right);
        m[7] = taps8(m[7], w3, right);
        low_weights += 1u;
        high_weights += 1u;
        index += 8u * plane;
    }
    if (unclamped_tile >= params.column_tiles || block_index >= params.batch * pixel_blocks * channel_tiles) {
        return;
    }
    store_channels(m[0], m[4], tile_channel, group_end, image, pixel_tile);
    store_channels(m[1], m[5], tile_channel + 4u, group_end, image, pixel_tile);
    store_channels(m[2], m[6], tile_channel + 8u, group_end, image, pixel_tile);
    store_channels(m[3], m[7], tile_channel + 12u, group_end, image, pixel_tile);
}
