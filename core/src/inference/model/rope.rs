//! Rotary position embeddings, computed for just the positions of a forward pass (candle's own models
//! precomputed tables for up to 131072 positions in every layer).

use candle_core::{Device, Tensor};

use super::config::RopeStyle;
use crate::error::Result;
use crate::inference::model::engine_err;

/// cos and sin tables `[seq, head_dim / 2]` for positions `pos..pos + seq`.
pub(crate) fn tables(
    pos: usize,
    seq: usize,
    head_dim: usize,
    base: f32,
    freq_scale: f32,
    freq_factors: Option<&[f32]>,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let half = head_dim / 2;
    let (cos, sin) = angles(pos, seq, head_dim, base, freq_scale, freq_factors);
    let cos = Tensor::from_vec(cos, (seq, half), device).map_err(engine_err)?;
    let sin = Tensor::from_vec(sin, (seq, half), device).map_err(engine_err)?;
    Ok((cos, sin))
}

/// The values of [`tables`], row after row.
pub(crate) fn angles(
    pos: usize,
    seq: usize,
    head_dim: usize,
    base: f32,
    freq_scale: f32,
    freq_factors: Option<&[f32]>,
) -> (Vec<f32>, Vec<f32>) {
    let half = head_dim / 2;
    let inv_freq: Vec<f32> = (0..half)
        .map(|i| {
            let theta = base.powf(-2.0 * i as f32 / head_dim as f32);
            theta / freq_factors.and_then(|f| f.get(i)).copied().unwrap_or(1.0)
        })
        .collect();
    let mut cos = Vec::with_capacity(seq * half);
    let mut sin = Vec::with_capacity(seq * half);
    for p in pos..pos + seq {
        let p = p as f32 * freq_scale;
        for f in &inv_freq {
            let (s, c) = (p * f).sin_cos();
            cos.push(c);
            sin.push(s);
        }
    }
    (cos, sin)
}

/// Rotates one head's vector `x` (`head_dim` values) in place by one position's `cos` and `sin`
/// (`head_dim / 2` each), with the same arithmetic as [`apply`].
pub(crate) fn rotate(x: &mut [f32], cos: &[f32], sin: &[f32], style: RopeStyle) {
    let half = x.len() / 2;
    match style {
        RopeStyle::Halves => {
            let (a, b) = x.split_at_mut(half);
            for i in 0..half {
                let (x1, x2) = (a[i], b[i]);
                a[i] = x1 * cos[i] - x2 * sin[i];
                b[i] = x1 * sin[i] + x2 * cos[i];
            }
        }
        RopeStyle::Interleaved => {
            for i in 0..half {
                let (x1, x2) = (x[2 * i], x[2 * i + 1]);
                x[2 * i] = x1 * cos[i] - x2 * sin[i];
                x[2 * i + 1] = x1 * sin[i] + x2 * cos[i];
            }
        }
    }
}

/// Rotates `x` (`[1, heads, seq, head_dim]`, contiguous) by the tables.
pub(crate) fn apply(x: &Tensor, cos: &Tensor, sin: &Tensor, style: RopeStyle) -> Result<Tensor> {
    let x = x.contiguous().map_err(engine_err)?;
    match style {
        RopeStyle::Halves => candle_nn::rotary_emb::rope(&x, cos, sin),
        RopeStyle::Interleaved => candle_nn::rotary_emb::rope_i(&x, cos, sin),
    }
    .map_err(engine_err)
}
