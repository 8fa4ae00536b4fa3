//! `Sequential::summary()`: one row per layer (branch layers indented under their `Concat`) with
//! the output shape, parameters, multiply-accumulates and the receptive field of the layer's
//! outputs on the model input (size, jump, start; see [`crate::receptive_field`]), and totals.
//! A `Concat` row carries its branches' totals and the largest of their fields.

use super::layer::{FieldStep, Layer};
use super::Sequential;
use crate::receptive_field::ReceptiveField;

/// One line of a [`Summary`].
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryRow {
    /// Position, with a branch's path: `"4"`, `"4.2.1"` (layer 1 of branch 2 of layer 4).
    pub index: String,
    /// Nesting depth: 0 for the model's own layers, 1 inside a branch, ...
    pub depth: usize,
    pub kind: String,
    pub output_shape: Vec<usize>,
    pub parameters: u64,
    pub macs: u64,
    /// `None` once the arithmetic no longer applies (uneven adaptive windows, flattening a map).
    pub receptive_field: Option<ReceptiveField>,
}

/// The table returned by [`Sequential::summary`]; `Display` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub input_shape: Vec<usize>,
    pub rows: Vec<SummaryRow>,
    /// Totals over the whole model (each branch counted once).
    pub parameters: u64,
    pub macs: u64,
}

impl Sequential {
    /// The model's table of layers; see the module docs.
    pub fn summary(&self) -> Summary {
        let mut rows = Vec::new();
        summarize(self, Some(ReceptiveField::INPUT), "", 0, &mut rows);
        Summary {
            input_shape: self.input_shape().to_vec(),
            rows,
            parameters: self.parameters(),
            macs: self.macs(),
        }
    }

    /// The receptive field of the model's outputs on its input (`None` past a layer the
    /// arithmetic does not cover).
    pub fn receptive_field(&self) -> Option<ReceptiveField> {
        let mut rows = Vec::new();
        summarize(self, Some(ReceptiveField::INPUT), "", 0, &mut rows)
    }
}

/// Appends `model`'s rows and returns the field of its output.
fn summarize(
    model: &Sequential,
    input_field: Option<ReceptiveField>,
    prefix: &str,
    depth: usize,
    rows: &mut Vec<SummaryRow>,
) -> Option<ReceptiveField> {
    let mut field = input_field;
    for (position, layer) in model.layers().iter().enumerate() {
        let index = format!("{prefix}{position}");
        let input_shape = model.layer_input_shape(position);
        let row = rows.len();
        rows.push(SummaryRow {
            index: index.clone(),
            depth,
            kind: layer.describe(),
            output_shape: model.output_shapes()[position].clone(),
            parameters: layer.parameters(),
            macs: layer.macs(input_shape),
            receptive_field: None,
        });
        field = match layer {
            // A concatenation's or a sum's field: the largest of its models' (the identity
            // shortcut's is the input's).
            Layer::Concat(_) | Layer::Residual { .. } => {
                let fields: Vec<Option<ReceptiveField>> = layer
                    .branches()
                    .into_iter()
                    .enumerate()
                    .map(|(branch, model)| {
                        let prefix = format!("{index}.{branch}.");
                        summarize(model, field, &prefix, depth + 1, rows)
                    })
                    .collect();
                union(&fields)
            }
            _ => match (field, layer.field_step(input_shape)) {
                (Some(field), FieldStep::Window(window)) => Some(field.then(&window)),
                _ => None,
            },
        };
        rows[row].receptive_field = field;
    }
    field
}

/// The field of a concatenation: the largest branch field, when every branch has one and all
/// share a jump (outputs side by side must step alike); else `None`.
fn union(fields: &[Option<ReceptiveField>]) -> Option<ReceptiveField> {
    let fields: Vec<ReceptiveField> = fields.iter().copied().collect::<Option<_>>()?;
    let first = fields.first()?;
    if fields.iter().any(|f| f.jump != first.jump) {
        return None;
    }
    fields.into_iter().max_by_key(|f| f.size[0] * f.size[1])
}

/// `1234567` as `1,234,567`.
pub(crate) fn group_digits(value: u64) -> String {
    let digits = value.to_string();
    let mut text = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

fn pair<T: std::fmt::Display>(values: [T; 2], separator: &str) -> String {
    format!("{}{separator}{}", values[0], values[1])
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind_width = self
            .rows
            .iter()
            .map(|row| row.kind.len() + 2 * row.depth)
            .max()
            .unwrap_or(0)
            .max(5);
        let index_width = self.rows.iter().map(|r| r.index.len()).max().unwrap_or(0);
        let index_width = index_width.max(5);
        writeln!(f, "input {:?}", self.input_shape)?;
        writeln!(
            f,
            "{:<index_width$}  {:<kind_width$}  {:<18} {:>12} {:>15} {:>9} {:>7} {:>12}",
            "layer", "kind", "output shape", "parameters", "MACs", "field", "jump", "start"
        )?;
        for row in &self.rows {
            let kind = format!("{}{}", "  ".repeat(row.depth), row.kind);
            let (size, jump, start) = match &row.receptive_field {
                Some(field) => (
                    pair(field.size, "x"),
                    pair(field.jump, "x"),
                    format!("({})", pair(field.start, ", ")),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            writeln!(
                f,
                "{:<index_width$}  {kind:<kind_width$}  {:<18} {:>12} {:>15} {size:>9} {jump:>7} {start:>12}",
                row.index,
                format!("{:?}", row.output_shape),
                group_digits(row.parameters),
                group_digits(row.macs),
            )?;
        }
        write!(
            f,
            "{:<index_width$}  {:<kind_width$}  {:<18} {:>12} {:>15}",
            "total",
            "",
            "",
            group_digits(self.parameters),
            group_digits(self.macs)
        )
    }
}
