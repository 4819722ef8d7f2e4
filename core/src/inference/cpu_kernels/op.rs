//! The kernels as a candle operation: a linear layer (`x * W^T + b`) over f32 activations on the CPU.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};

use super::QuantMatrix;

/// A quantized linear layer run by this module's kernels (CPU tensors only).
#[derive(Debug, Clone)]
pub struct QuantLinear {
    matrix: Arc<QuantMatrix>,
    bias: Option<Arc<[f32]>>,
}

impl QuantLinear {
    /// `bias`, if any, has one value per output.
    pub fn new(matrix: Arc<QuantMatrix>, bias: Option<Vec<f32>>) -> crate::error::Result<QuantLinear> {
        if let Some(b) = &bias
            && b.len() != matrix.rows()
        {
            return Err(crate::error::Error::InvalidGguf(format!(
                "a bias of {} values for {} outputs",
                b.len(),
                matrix.rows()
            )));
        }
        Ok(QuantLinear { matrix, bias: bias.map(Arc::from) })
    }

    pub fn matrix(&self) -> &Arc<QuantMatrix> {
        &self.matrix
    }

    /// `x` (`[..., cols]`, f32, CPU) times the matrix: `[..., rows]`.
    pub fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for QuantLinear {
    fn name(&self) -> &'static str {
        "jan-quant-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(data) = storage else { candle_core::bail!("{}: f32 activations only", self.name()) };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("{}: contiguous activations only", self.name())
        };
        let dims = layout.shape().dims();
        let (k, n) = (self.matrix.cols(), self.matrix.rows());
        if dims.last() != Some(&k) {
            candle_core::bail!("{}: activations {dims:?} for a matrix of {k} inputs", self.name())
        }
        let x = &data[start..end];
        let m = x.len() / k;
        let mut out = vec![0f32; m * n];
        self.matrix.matmul(x, m, &mut out).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        if let Some(bias) = &self.bias {
            for row in out.chunks_exact_mut(n) {
                for (o, b) in row.iter_mut().zip(bias.iter()) {
                    *o += b;
                }
            }
        }
        let mut shape = dims.to_vec();
        if let Some(last) = shape.last_mut() {
            *last = n;
        }
        Ok((CpuStorage::F32(out), Shape::from(shape)))
    }
}
