// avg_pool2d_k2s2_int64 for GL: a line-for-line port of that entry point in pool2d_int64.wgsl
// (average pool, width 2, stride 2, no padding, along rows a multiple of 8 long; any window
// height, stride and padding down the columns),
// for llvmpipe through GL. naga writes no 64-bit integers to GLSL, so this kernel reaches GL as
// GLSL, through wgpu's passthrough shaders; llvmpipe loads a storage value lane by lane and
// component by component, so a u64vec4 fetches 8 floats for what a vec4 costs for 4.
// Layout: input [N, C, H, W] from input_base, output [N, C, H_out, W_out] from output_base, both
// row-major float32; input_base a multiple of 8 floats, output_base of 4.
// Thread mapping: as the WGSL twin: an invocation owns 8 consecutive outputs (two 4-output
// tiles) in each of VECTOR_ROWS output rows of one plane.
// Bindings: parameters in a uniform block (GL passthrough shaders take no immediates), then the
// twin's storage bindings 1 and 2; wgpu's GL backend numbers uniform and storage blocks apart.
#version 450
#extension GL_ARB_gpu_shader_int64 : require
layout(local_size_x = 64) in;

// Mirrors `Pool2dParams` in src/ops/pool2d/mod.rs field for field (as pool2d_int64.wgsl does).
layout(std140, binding = 0) uniform Pool2dParams {
    uint planes; // images x channels in this dispatch
    uint in_height;
    uint in_width;
    uint out_height;
    uint out_width;
    uint kernel_height;
    uint kernel_width;
    uint stride_height;
    uint stride_width;
    uint pad_top;
    uint pad_left;
    uint dilation_height;
    uint dilation_width;
    uint count_include_pad;
    uint divisor_override;
    uint lanes_per_plane;
    uint input_base;
    uint output_base;
} params;
layout(std430, binding = 0) readonly buffer InputOctets { u64vec4 input_octets[]; }; // 8 floats each
layout(std430, binding = 1) writeonly buffer OutputPairs { u64vec2 output_pairs[]; }; // 4 floats each

const uint WORKGROUP_SIZE = 64u;
const uint COLUMN_TILE = 4u;
const uint VECTOR_TILES = 2u; // `VECTOR_TILES` in src/ops/pool2d/mod.rs
const uint VECTOR_ROWS = 8u;  // `VECTOR_ROWS` in src/ops/pool2d/mod.rs

// Input floats 8i..8i+7 in memory order: a u64's low half comes first.
void input_octet(uint index, out vec4 low, out vec4 high) {
    u64vec4 bits = input_octets[index];
    low = vec4(uintBitsToFloat(unpackUint2x32(bits.x)), uintBitsToFloat(unpackUint2x32(bits.y)));
    high = vec4(uintBitsToFloat(unpackUint2x32(bits.z)), uintBitsToFloat(unpackUint2x32(bits.w)));
}

// 4 floats as two u64s, in memory order.
u64vec2 float_pairs(vec4 values) {
    uvec4 bits = floatBitsToUint(values);
    return u64vec2(packUint2x32(bits.xy), packUint2x32(bits.zw));
}

// Where this invocation works (the twin's VectorBlock).
bool plane_valid;
uint plane;
uint first_row;
uint first_tile;
bool second;      // the rows have a second tile here
uint first_octet; // input octet of tile first_tile in the plane's row 0

void vector_block() {
    uint index = (gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * WORKGROUP_SIZE
        + gl_LocalInvocationIndex;
    uint row_groups = (params.out_width / COLUMN_TILE + VECTOR_TILES - 1u) / VECTOR_TILES;
    uint row_block = index / row_groups; // over all planes
    uint blocks_per_plane = (params.out_height + VECTOR_ROWS - 1u) / VECTOR_ROWS;
    plane = row_block / blocks_per_plane;
    plane_valid = plane < params.planes;
    first_tile = (index - row_block * row_groups) * VECTOR_TILES;
    first_row = (row_block - plane * blocks_per_plane) * VECTOR_ROWS;
    second = first_tile + 1u < params.out_width / COLUMN_TILE;
    first_octet = (params.input_base + plane * params.in_height * params.in_width) / 8u + first_tile;
}

// The octet of tile first_tile (or, with `tile` 1, the next one) in input row `row`.
uint octet_index(uint row, uint tile) {
    return first_octet + row * (params.in_width / 8u) + (second ? tile : 0u);
}

// Output row first_row + row_offset, when inside the plane: its two tiles (the second only
// where the row has one).
void store_tiles(uint row_offset, vec4 first, vec4 second_tile) {
    uint row = first_row + row_offset;
    if (row >= params.out_height) {
        return;
    }
    uint output_index = (params.output_base + (plane * params.out_height + row) * params.out_width) / 4u
        + first_tile;
    output_pairs[output_index] = float_pairs(first);
    if (second) {
        output_pairs[output_index + 1u] = float_pairs(second_tile);
    }
}

// Average pooling, width 2 / stride 2 / no pad: taps (A.x A.y) (A.z A.w) (B.x B.y) (B.z B.w),
// summed row by row, columns ascending, as the twin does.
void main() {
    vector_block();
    if (!plane_valid) {
        return;
    }
    for (uint r = 0u; r < VECTOR_ROWS; r++) {
        // The window's rows (any height, stride and padding; avg_pool2d has no dilation),
        // cut to the input.
        int row_start = int((first_row + r) * params.stride_height) - int(params.pad_top);
        int row_end = row_start + int(params.kernel_height);
        uint window_first_row = uint(max(row_start, 0));
        uint rows = uint(max(min(row_end, int(params.in_height)) - int(window_first_row), 0));
        vec4 first = vec4(0.0);
        vec4 second_tile = first;
        for (uint k = 0u; k < rows; k++) {
            vec4 a_low, a_high, b_low, b_high;
            input_octet(octet_index(window_first_row + k, 0u), a_low, a_high);
            input_octet(octet_index(window_first_row + k, 1u), b_low, b_high);
            first += vec4(a_low.x, a_low.z, a_high.x, a_high.z);
            first += vec4(a_low.y, a_low.w, a_high.y, a_high.w);
            second_tile += vec4(b_low.x, b_low.z, b_high.x, b_high.z);
            second_tile += vec4(b_low.y, b_low.w, b_high.y, b_high.w);
        }
        uint divisor = rows * 2u;
        if (params.divisor_override != 0u) {
            divisor = params.divisor_override;
        } else if (params.count_include_pad != 0u) {
            divisor = uint(min(row_end, int(params.in_height + params.pad_top)) - row_start) * 2u;
        }
        store_tiles(r, first / float(divisor), second_tile / float(divisor));
    }
}
