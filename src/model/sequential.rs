//! `Sequential`: an ordered list of [`Layer`]s built for one input shape (with branches that are
//! models of their own: [`Sequential::push_branches`], [`Sequential::push_residual`]). Every
//! layer's output shape is worked out as it is pushed, so a mismatch is an [`Error::Layer`]
//! naming the layer before anything runs. `forward` records every layer into the Gpu's shared
//! encoder: the whole model runs as one submission when the output is read.

use super::layer::Layer;
use crate::error::{Error, Result};
use crate::ops::activation::Activation;
use crate::tensor::Tensor;

/// A model: layers applied in order, each to the previous one's output.
#[derive(Debug, Clone)]
pub struct Sequential {
    input_shape: Vec<usize>,
    layers: Vec<Layer>,
    /// `output_shapes[i]` is layer `i`'s output shape for `input_shape`.
    output_shapes: Vec<Vec<usize>>,
}

impl Sequential {
    /// An empty model for inputs of `input_shape` (`[N, C, H, W]` for image models; at least 2
    /// dimensions, none zero). `forward` accepts any batch size N with the same other sizes.
    pub fn new(input_shape: &[usize]) -> Result<Sequential> {
        if input_shape.len() < 2 || input_shape.contains(&0) {
            return Err(Error::Shape {
                what: "Sequential input".into(),
                expected: "at least 2 dimensions [N, C, ...], none zero".into(),
                actual: input_shape.to_vec(),
            });
        }
        Ok(Sequential {
            input_shape: input_shape.to_vec(),
            layers: Vec::new(),
            output_shapes: Vec::new(),
        })
    }

    /// A model of `layers` in order (see [`Sequential::push`]).
    pub fn from_layers(input_shape: &[usize], layers: Vec<Layer>) -> Result<Sequential> {
        layers
            .into_iter()
            .try_fold(Sequential::new(input_shape)?, Sequential::push)
    }

    /// Appends `layer` after checking it accepts the current output shape; the error names the
    /// layer's index and kind.
    pub fn push(mut self, layer: impl Into<Layer>) -> Result<Sequential> {
        let layer = layer.into();
        let output = layer
            .output_shape(self.output_shape())
            .map_err(|source| Error::Layer {
                index: self.layers.len().to_string(),
                kind: layer.describe(),
                source: Box::new(source),
            })?;
        self.layers.push(layer);
        self.output_shapes.push(output);
        Ok(self)
    }

    /// Appends a [`Layer::Concat`] of `branches`, each a list of layers applied to the current
    /// output; the branches' outputs are concatenated along the channels. An error inside a
    /// branch names it as `layer.branch.index` (`"4.2.1"`).
    pub fn push_branches(self, branches: Vec<Vec<Layer>>) -> Result<Sequential> {
        let built = self.build_branches(branches)?;
        self.push(Layer::Concat(built))
    }

    /// Appends a [`Layer::Residual`]: `activation(body(x) + shortcut(x))` on the current output
    /// `x`, an empty `shortcut` being the identity (ResNet's basic block is a body of conv-BN-
    /// ReLU-conv-BN, the identity or a strided 1x1 conv-BN as the shortcut, and
    /// `Activation::Relu`). The body's output must have the shortcut's shape. An error inside
    /// names the body as branch 0 and the shortcut as branch 1 (`"3.0.2"`).
    pub fn push_residual(
        self,
        body: Vec<Layer>,
        shortcut: Vec<Layer>,
        activation: Activation,
    ) -> Result<Sequential> {
        let mut built = self.build_branches(vec![body, shortcut])?;
        let shortcut = built.pop().expect("two branches");
        let body = built.pop().expect("two branches");
        self.push(Layer::Residual {
            body,
            shortcut,
            activation,
        })
    }

    /// Each list of layers as a model on the current output; an error names the layer inside
    /// as `layer.branch.index`.
    fn build_branches(&self, branches: Vec<Vec<Layer>>) -> Result<Vec<Sequential>> {
        let position = self.layers.len();
        let mut built = Vec::with_capacity(branches.len());
        for (branch_index, layers) in branches.into_iter().enumerate() {
            let branch =
                Sequential::from_layers(self.output_shape(), layers).map_err(
                    |error| match error {
                        Error::Layer {
                            index,
                            kind,
                            source,
                        } => Error::Layer {
                            index: format!("{position}.{branch_index}.{index}"),
                            kind,
                            source,
                        },
                        other => other,
                    },
                )?;
            built.push(branch);
        }
        Ok(built)
    }

    /// The input shape the model was built for.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// The shape of the last layer's output (the input shape for an empty model).
    pub fn output_shape(&self) -> &[usize] {
        self.output_shapes.last().unwrap_or(&self.input_shape)
    }

    /// Each layer's output shape for [`Sequential::input_shape`], in order.
    pub fn output_shapes(&self) -> &[Vec<usize>] {
        &self.output_shapes
    }

    /// The input shape of layer `index` (the previous layer's output).
    pub(crate) fn layer_input_shape(&self, index: usize) -> &[usize] {
        match index {
            0 => &self.input_shape,
            _ => &self.output_shapes[index - 1],
        }
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Mutable access, for example to load new batch-norm statistics. Changing a layer's
    /// shapes here is not re-checked: rebuild the model instead.
    pub fn layers_mut(&mut self) -> &mut [Layer] {
        &mut self.layers
    }

    pub fn len(&self) -> usize {
        self.layers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Trainable parameters of every layer, branches included.
    pub fn parameters(&self) -> u64 {
        self.layers.iter().map(Layer::parameters).sum()
    }

    /// Multiply-accumulates of one forward pass on [`Sequential::input_shape`].
    pub fn macs(&self) -> u64 {
        (0..self.layers.len())
            .map(|index| self.layers[index].macs(self.layer_input_shape(index)))
            .sum()
    }

    /// Puts every batch norm (branches included) in training mode.
    pub fn train(&mut self) {
        self.set_training(true);
    }

    /// Puts every batch norm (branches included) in inference mode.
    pub fn eval(&mut self) {
        self.set_training(false);
    }

    fn set_training(&mut self, training: bool) {
        for layer in &mut self.layers {
            match layer {
                Layer::BatchNorm2d(norm) if training => norm.train(),
                Layer::BatchNorm2d(norm) => norm.eval(),
                _ => layer
                    .branches_mut()
                    .into_iter()
                    .for_each(|branch| branch.set_training(training)),
            }
        }
    }

    /// Records the whole model on `input`, whose shape must be the built input shape except,
    /// possibly, the batch size. Nothing is submitted: reading the output runs every layer in
    /// one submission. Batch norms in training mode update their running statistics.
    pub fn forward(&mut self, input: &Tensor) -> Result<Tensor> {
        let shape = input.shape();
        if shape.len() != self.input_shape.len()
            || shape[1..] != self.input_shape[1..]
            || shape[0] == 0
        {
            let rest: Vec<String> = self.input_shape[1..].iter().map(usize::to_string).collect();
            return Err(Error::Shape {
                what: "Sequential input".into(),
                expected: format!("[N, {}] for any batch size N >= 1", rest.join(", ")),
                actual: shape.to_vec(),
            });
        }
        self.run(input, false)
    }

    /// Records every layer; `owns_input` as in [`Layer::forward`].
    pub(crate) fn run(&mut self, input: &Tensor, owns_input: bool) -> Result<Tensor> {
        let mut current = input.clone();
        let mut owned = owns_input;
        for (index, layer) in self.layers.iter_mut().enumerate() {
            current = layer
                .forward(&current, owned)
                .map_err(|source| Error::Layer {
                    index: index.to_string(),
                    kind: layer.describe(),
                    source: Box::new(source),
                })?;
            // A flatten is a view of its input, so it owns only what its input owned.
            owned = owned || !matches!(layer, Layer::Flatten);
        }
        Ok(current)
    }
}
