//! Weight matrices and who multiplies them. Where enabled ([`own_kernels`]), on a CPU with AVX2 the core's own
//! kernels (`cpu_kernels`) take every format they handle: candle's are scalar for some formats (Q5_0) and much
//! slower for prompts, and ours quantize activations as ggml does. Other formats, GPUs and other CPUs keep
//! candle's `QMatMul`.

use std::sync::{Arc, OnceLock};

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};

use super::engine_err;
use crate::error::{Error, Result};
use crate::inference::cpu_kernels::{Isa, QuantLinear, QuantMatrix, WeightType};

/// Whether the core's kernels run matrix products on `device`: on every CPU with AVX2 unless
/// `JAN_CPU_KERNELS=candle` (kept to compare with candle's). On the test models they process prompts 3 to 6
/// times faster than candle's and decode 1.4 times faster, quantizing activations exactly as ggml does.
pub(super) fn own_kernels(device: &Device) -> bool {
    static OWN: OnceLock<bool> = OnceLock::new();
    let own = *OWN.get_or_init(|| std::env::var("JAN_CPU_KERNELS").map_or(true, |v| v != "candle"));
    own && device.is_cpu() && Isa::detect() == Isa::Avx2
}

/// The kernels' format for `dtype`, where they multiply it on `device`.
pub(super) fn packed_type(dtype: GgmlDType, device: &Device) -> Option<WeightType> {
    if !own_kernels(device) {
        return None;
    }
    match dtype {
        GgmlDType::Q4_0 => Some(WeightType::Q4_0),
        GgmlDType::Q5_0 => Some(WeightType::Q5_0),
        GgmlDType::Q8_0 => Some(WeightType::Q8_0),
        GgmlDType::Q4K => Some(WeightType::Q4_K),
        GgmlDType::Q5K => Some(WeightType::Q5_K),
        GgmlDType::Q6K => Some(WeightType::Q6_K),
        _ => None,
    }
}

/// A matrix with an optional bias: `x * W^T + b`.
#[derive(Debug)]
pub(super) enum Linear {
    Candle {
        weight: QMatMul,
        bias: Option<Tensor>,
    },
    /// The bias, if any, is added by the kernel's operation.
    Packed(QuantLinear),
}

impl Linear {
    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Linear::Candle { weight, bias } => {
                let y = weight.forward(x).map_err(engine_err)?;
                match bias {
                    Some(b) => y.broadcast_add(b).map_err(engine_err),
                    None => Ok(y),
                }
            }
            Linear::Packed(op) => op.forward(&x.contiguous().map_err(engine_err)?).map_err(engine_err),
        }
    }
}

/// The token embeddings. A packed matrix when they double as the output projection (tied), so that one copy
/// serves both ends.
#[derive(Debug)]
pub(super) enum Embeddings {
    Candle(Arc<QTensor>),
    Packed(Arc<QuantMatrix>),
}

impl Embeddings {
    /// The rows of `ids`: `[ids.len(), n_embd]`.
    pub(super) fn lookup(&self, ids: &[u32], device: &Device) -> Result<Tensor> {
        match self {
            Embeddings::Candle(t) => {
                let ids = Tensor::new(ids, device).map_err(engine_err)?;
                t.embedding(&ids).map_err(engine_err)
            }
            Embeddings::Packed(m) => {
                let cols = m.cols();
                let mut out = vec![0f32; ids.len() * cols];
                for (&id, row) in ids.iter().zip(out.chunks_exact_mut(cols)) {
                    if id as usize >= m.rows() {
                        return Err(Error::InvalidRequest(format!("token id {id} is not in the vocabulary")));
                    }
                    m.dequantize_row(id as usize, row)?;
                }
                Tensor::from_vec(out, (ids.len(), cols), device).map_err(engine_err)
            }
        }
    }
}
