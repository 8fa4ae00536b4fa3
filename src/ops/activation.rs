//! Activations: the `Activation` choice that conv and projection kernels apply in their
//! epilogue (the fast path after a conv). Standalone activation kernels join this family.

/// An element-wise activation, fused into a conv's epilogue or applied on its own.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Activation {
    /// Identity.
    #[default]
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x` for `x >= 0`, else `slope * x`.
    LeakyRelu(f32),
}

impl Activation {
    /// The code the shaders switch on (`fn activate` in each WGSL file) and the slope.
    pub(crate) fn code(self) -> (u32, f32) {
        match self {
            Activation::None => (0, 0.0),
            Activation::Relu => (1, 0.0),
            Activation::Relu6 => (2, 0.0),
            Activation::LeakyRelu(slope) => (3, slope),
        }
    }

    /// Applies the activation to one value in f64 (the CPU reference's definition).
    pub fn apply(self, value: f64) -> f64 {
        match self {
            Activation::None => value,
            Activation::Relu => value.max(0.0),
            Activation::Relu6 => value.clamp(0.0, 6.0),
            Activation::LeakyRelu(slope) => {
                if value >= 0.0 {
                    value
                } else {
                    value * slope as f64
                }
            }
        }
    }
}
