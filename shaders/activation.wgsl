// activation: element-wise relu, relu6 and leaky_relu on a flat float32 tensor of any shape,
// out of place (input -> output) or in place (data), and the residual sum with an activation
// (output = activation(input + addend), ResNet's `out += identity; relu(out)`).
// Layout: row-major float32, seen as vec4 for the bulk and as scalars for the last len % 4
// elements (the bulk bindings start at aligned offsets, so they need no base).
// Thread mapping: a workgroup owns 64 x 16 consecutive vec4s and each invocation handles 16 of
// them, 64 apart, so the lanes of every step touch one contiguous run (`activation_vec4*`; on
// lavapipe, where every load and store costs per lane, 4 per invocation moves ~1.5x more than 1
// and 16 another ~10% more than 4). The tail entry points run one invocation per element. The
// grid is 1-D, laid out in 2-D past 65,535 workgroups.
// NaN propagates (PyTorch) and -0.0 comes out of relu as 0.0; no min/max/clamp builtin is used
// (their NaN result is implementation-defined).

// Mirrors `ActivationParams` in src/ops/activation.rs field for field.
struct ActivationParams {
    count: u32,      // vec4s (bulk entry points) or elements (tail entry points)
    base: u32,       // first element inside the binding (tail entry points only)
    activation: u32, // code of `Activation::code`
    slope: f32,      // leaky_relu's negative slope
}

const WORKGROUP_SIZE: u32 = 64u;
const VECTORS_PER_INVOCATION: u32 = 16u;

var<immediate> params: ActivationParams;

// Sign bit set and not NaN: -0.0 down to -inf. The ordering tests run on the bits, because GL
// llvmpipe folds a float `x <= 0.0 ? 0.0 : x` into a max() that turns NaN into 0.
fn is_negative(bits: vec4<u32>) -> vec4<bool> {
    return bits >= vec4<u32>(0x80000000u) & bits <= vec4<u32>(0xff800000u);
}

// Above +0.0 (subnormals, +inf and positive NaN included) or a negative NaN: where leaky_relu
// keeps x.
fn keeps_leaky_value(bits: vec4<u32>) -> vec4<bool> {
    return (bits >= vec4<u32>(1u) & bits <= vec4<u32>(0x7fffffffu)) | bits > vec4<u32>(0xff800000u);
}

// 6.0 up to +inf (positive floats order like their bits).
fn is_at_least_six(bits: vec4<u32>) -> vec4<bool> {
    return bits >= vec4<u32>(0x40c00000u) & bits <= vec4<u32>(0x7f800000u);
}

// Codes mirror `Activation::code` in src/ops/activation.rs; 0 is the identity. leaky_relu is
// PyTorch's `x > 0 ? x : x * slope`, with the test on the bits: NaN passes through unchanged, and
// a positive subnormal too on GPUs that flush subnormals in float comparisons (NVIDIA's Vulkan
// driver does; x * slope of a negative subnormal may still flush to -0 there, as WGSL allows).
fn activate(x: vec4<f32>) -> vec4<f32> {
    let bits = bitcast<vec4<u32>>(x);
    switch params.activation {
        case 1u: { return select(x, vec4<f32>(0.0), is_negative(bits)); }
        case 2u: { return select(select(x, vec4<f32>(6.0), is_at_least_six(bits)), vec4<f32>(0.0), is_negative(bits)); }
        case 3u: { return select(x * params.slope, x, keeps_leaky_value(bits)); }
        default: { return x; }
    }
}

fn invocation_index(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32) -> u32 {
    return (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE + lane;
}

// The first vec4 of this invocation; the others follow WORKGROUP_SIZE apart.
fn first_vector(workgroup: vec3<u32>, groups_launched: vec3<u32>, lane: u32) -> u32 {
    return (workgroup.x + workgroup.y * groups_launched.x) * WORKGROUP_SIZE * VECTORS_PER_INVOCATION + lane;
}

@group(0) @binding(1) var<storage, read> input_vectors: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> output_vectors: array<vec4<f32>>;

@compute @workgroup_size(64)
fn activation_vec4(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                   @builtin(local_invocation_index) lane: u32) {
    let first = first_vector(workgroup, groups_launched, lane);
    for (var i = 0u; i < VECTORS_PER_INVOCATION; i++) {
        let index = first + i * WORKGROUP_SIZE;
        if (index < params.count) {
            output_vectors[index] = activate(input_vectors[index]);
        }
    }
}

@group(0) @binding(1) var<storage, read_write> data_vectors: array<vec4<f32>>;

@compute @workgroup_size(64)
fn activation_vec4_in_place(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                            @builtin(local_invocation_index) lane: u32) {
    let first = first_vector(workgroup, groups_launched, lane);
    for (var i = 0u; i < VECTORS_PER_INVOCATION; i++) {
        let index = first + i * WORKGROUP_SIZE;
        if (index < params.count) {
            data_vectors[index] = activate(data_vectors[index]);
        }
    }
}

@group(0) @binding(1) var<storage, read> input_scalars: array<f32>;
@group(0) @binding(2) var<storage, read_write> output_scalars: array<f32>;

@compute @workgroup_size(64)
fn activation_tail(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                   @builtin(local_invocation_index) lane: u32) {
    let index = invocation_index(workgroup, groups_launched, lane);
    if (index < params.count) {
        output_scalars[params.base + index] = activate(vec4<f32>(input_scalars[params.base + index])).x;
    }
}

@group(0) @binding(1) var<storage, read_write> data_scalars: array<f32>;

@compute @workgroup_size(64)
fn activation_tail_in_place(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
                            @builtin(local_invocation_index) lane: u32) {
    let index = invocation_index(workgroup, groups_launched, lane);
    if (index < params.count) {
        data_scalars[params.base + index] = activate(vec4<f32>(data_scalars[params.base + index])).x;
    }
}

// The residual sum: `add_vec4` and `add_tail` are `activation_vec4` and `activation_tail` on
// input + addend (the addend bound at the same offsets as the input).
@group(0) @binding(3) var<storage, read> addend_vectors: array<vec4<f32>>;

@compute @workgroup_size(64)
fn add_vec4(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
            @builtin(local_invocation_index) lane: u32) {
    let first = first_vector(workgroup, groups_launched, lane);
    for (var i = 0u; i < VECTORS_PER_INVOCATION; i++) {
        let index = first + i * WORKGROUP_SIZE;
        if (index < params.count) {
            output_vectors[index] = activate(input_vectors[index] + addend_vectors[index]);
        }
    }
}

@group(0) @binding(3) var<storage, read> addend_scalars: array<f32>;

@compute @workgroup_size(64)
fn add_tail(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(num_workgroups) groups_launched: vec3<u32>,
            @builtin(local_invocation_index) lane: u32) {
    let index = invocation_index(workgroup, groups_launched, lane);
    if (index < params.count) {
        let sum = input_scalars[params.base + index] + addend_scalars[params.base + index];
        output_scalars[params.base + index] = activate(vec4<f32>(sum)).x;
    }
}
