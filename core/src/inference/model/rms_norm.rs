//! RMS norm, rounded as ggml's CPU backend rounds it.

use candle_core::{DType, Tensor};

use super::engine_err;
use crate::error::{Error, Result};

/// RMS norm over the last dimension, times `weight`. On the CPU it rounds exactly as ggml's CPU backend does
/// (squares summed in f64, `x * (1 / sqrt(mean + eps))` then `* weight`, all in f32): its output is what the
/// next matrix product quantizes to 8 bits, and a last-bit difference there flips roundings that the small
/// models amplify (measured on gemma 3 270M: with candle's norm the layer-0 queries already differ from
/// llama.cpp's in two of six rows; with this one layer 0's norm output is bit-identical).
pub(super) fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
    let x = x.contiguous().map_err(engine_err)?;
    if !x.device().is_cpu() || x.dtype() != DType::F32 {
        return candle_nn::ops::rms_norm(&x, weight, eps).map_err(engine_err);
    }
    let dims = x.dims().to_vec();
    let n = dims.last().copied().unwrap_or(1).max(1);
    let xs = x.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(engine_err)?;
    let w = weight.to_vec1::<f32>().map_err(engine_err)?;
    if w.len() != n {
        return Err(Error::Engine(format!("norm weight has {} elements for rows of {n}", w.len())));
    }
    let out: Vec<f32> = xs.chunks_exact(n).flat_map(|row| rms_norm_row(row, &w, eps)).collect();
    Tensor::from_vec(out, dims, x.device()).map_err(engine_err)
}

/// One row of [`rms_norm`] on the CPU.
pub(super) fn rms_norm_row(row: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let sum: f64 = row.iter().map(|&v| f64::from(v * v)).sum();
    let mean = (sum / row.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    row.iter().zip(w).map(|(&v, &w)| (v * scale) * w).collect()
}
