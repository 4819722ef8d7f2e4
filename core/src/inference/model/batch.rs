//! One decoding step of several sequences whose caches share a [`KvPool`], as one forward pass on the model's
//! device: every matrix product reads its weights once for the whole batch, the new keys and values go to the
//! pool with one scatter per layer, and attention is one batched product over the slots' cached positions
//! (gathered, padded to the longest and masked). Nothing but the token ids and the final logits crosses between
//! host and device. The same code runs on the CPU (a pool there is plain tensors), which is how it is tested.

use std::sync::Arc;

use candle_core::Tensor;

use super::kv_cache::KvPool;
use super::profile::{self, Section, timed};
use super::rms_norm::rms_norm;
use super::{KvCache, Layer, Model, engine_err, rope};
use crate::error::Result;

/// What every layer of one batched step shares, built once per step.
pub(super) struct BatchStep {
    pool: Arc<KvPool>,
    /// The sequences' slots in the pool (u32 `[batch]`).
    slots: Tensor,
    /// Where the new keys go (see [`KvPool::write_index`]).
    index: Tensor,
    /// Positions gathered: one past the furthest new token.
    len: usize,
    /// Additive masks `[batch, 1, 1, len]`: global layers, and local (sliding-window) layers where there are any.
    mask: Tensor,
    local_mask: Option<Tensor>,
    /// RoPE tables `[batch, 1, head_dim / 2]` per base frequency in use.
    rope: Vec<(f32, Tensor, Tensor)>,
}

impl BatchStep {
    /// The step for the next token of each of `caches`, or `None` when they do not all share one pool (then
    /// the batched pass does not apply).
    pub(super) fn new(model: &Model, caches: &[&mut KvCache]) -> Result<Option<Self>> {
        let Some((pool, _)) = caches.first().and_then(|c| c.pool_slot()) else { return Ok(None) };
        let mut at = Vec::with_capacity(caches.len());
        for c in caches {
            match c.pool_slot() {
                Some((p, slot)) if Arc::ptr_eq(p, pool) => at.push((slot, c.len())),
                _ => return Ok(None),
            }
        }
        let pool = pool.clone();
        let device = pool.device().clone();
        let c = &model.config;
        let rows = at.len();
        let len = at.iter().map(|&(_, pos)| pos + 1).max().unwrap_or(1);
        let slots: Vec<u32> = at.iter().map(|&(slot, _)| slot as u32).collect();
        let slots = Tensor::from_vec(slots, rows, &device).map_err(engine_err)?;
        let index = pool.write_index(&at)?;
        // Row `b` sees its own positions up to the new token's; a local layer only the last `window` of them.
        let mask_for = |window: Option<usize>| -> Result<Tensor> {
            let mut m = vec![f32::NEG_INFINITY; rows * len];
            for (b, &(_, pos)) in at.iter().enumerate() {
                let from = window.map_or(0, |w| (pos + 1).saturating_sub(w));
                m[b * len + from..b * len + pos + 1].fill(0.0);
            }
            Tensor::from_vec(m, (rows, 1, 1, len), &device).map_err(engine_err)
        };
        let mask = mask_for(None)?;
        let local_mask = match c.sliding_window {
            Some(w) if c.is_local_layer.iter().any(|&l| l) => Some(mask_for(Some(w))?),
            _ => None,
        };
        let mut rope = Vec::new();
        for il in 0..c.n_layer {
            let base = c.rope_base_of(il);
            if rope.iter().any(|(b, _, _): &(f32, Tensor, Tensor)| *b == base) {
                continue;
            }
            let half = c.head_dim / 2;
            let (mut cos, mut sin) = (Vec::with_capacity(rows * half), Vec::with_capacity(rows * half));
            for &(_, pos) in &at {
                let (co, si) =
                    rope::angles(pos, 1, c.head_dim, base, c.rope_freq_scale, model.rope_freq_factors.as_deref());
                cos.extend(co);
                sin.extend(si);
            }
            let cos = Tensor::from_vec(cos, (rows, 1, half), &device).map_err(engine_err)?;
            let sin = Tensor::from_vec(sin, (rows, 1, half), &device).map_err(engine_err)?;
            rope.push((base, cos, sin));
        }
        Ok(Some(BatchStep { pool, slots, index, len, mask, local_mask, rope }))
    }
}

impl Model {
    /// Attention of one new token per sequence (row `b` of `h`) with the caches of `step`.
    pub(super) fn batch_attention(&self, il: usize, l: &Layer, h: &Tensor, step: &BatchStep) -> Result<Tensor> {
        let c = &self.config;
        let (hd, nh, nkv) = (c.head_dim, c.n_head, c.n_head_kv);
        let rows = h.dim(0).map_err(engine_err)?;
        let mark = profile::mark();
        let mut q = l.wq.forward(h)?.reshape((rows, nh, 1, hd)).map_err(engine_err)?;
        let mut k = l.wk.forward(h)?.reshape((rows, nkv, 1, hd)).map_err(engine_err)?;
        let v = l.wv.forward(h)?.reshape((rows * nkv, hd)).map_err(engine_err)?;
        if let Some(norm) = &l.q_norm {
            q = rms_norm(&q, norm, c.rms_eps)?;
        }
        if let Some(norm) = &l.k_norm {
            k = rms_norm(&k, norm, c.rms_eps)?;
        }
        let base = c.rope_base_of(il);
        let (_, cos, sin) = step
            .rope
            .iter()
            .find(|(b, _, _)| *b == base)
            .ok_or_else(|| crate::error::Error::Engine(format!("no RoPE table for base {base}")))?;
        let q = rope::apply(&q, cos, sin, c.rope_style)?;
        let k = rope::apply(&k, cos, sin, c.rope_style)?;
        let q = (q * c.attention_scale as f64).map_err(engine_err)?;
        mark.end(&self.device, Section::AttentionProjections)?;

        let mark = profile::mark();
        step.pool.write(il, &step.index, &k.reshape((rows * nkv, hd)).map_err(engine_err)?, &v)?;
        let (keys, values) = step.pool.gather(il, &step.slots, step.len)?; // [rows, nkv, len, hd]
        mark.end(&self.device, Section::KvCache)?;
        let mark = profile::mark();

        // Query head `h` uses key head `h / groups`: the groups of one key head are rows of one product.
        let groups = nh / nkv;
        let q = q.reshape((rows, nkv, groups, hd)).map_err(engine_err)?;
        let mut scores = q.matmul(&keys.transpose(2, 3).map_err(engine_err)?).map_err(engine_err)?;
        if let Some(cap) = c.attn_softcap {
            scores = ((scores / cap as f64).map_err(engine_err)?.tanh().map_err(engine_err)? * cap as f64)
                .map_err(engine_err)?;
        }
        let mask = match (&step.local_mask, c.is_local_layer[il]) {
            (Some(local), true) => local,
            _ => &step.mask,
        };
        let scores = scores.broadcast_add(mask).map_err(engine_err)?;
        let probs = candle_nn::ops::softmax_last_dim(&scores).map_err(engine_err)?;
        let out = probs.matmul(&values).map_err(engine_err)?; // [rows, nkv, groups, hd]
        let out = out.reshape((rows, nh * hd)).map_err(engine_err)?;
        mark.end(&self.device, Section::AttentionMath)?;
        timed(&self.device, Section::AttentionProjections, || l.wo.forward(&out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use candle_core::Device;

    use super::super::tiny;
    use crate::gguf::{ReadOptions, read_info};
    use crate::inference::model::Model;

    /// The tiny model's batched step through a pool gives each sequence what the CPU's own path gives it
    /// alone (to rounding), whatever the slots' positions and whichever slots take part.
    #[test]
    fn a_pooled_step_matches_each_sequence_alone() {
        for arch in ["llama", "qwen2"] {
            pooled_step(arch);
        }
    }

    /// With profiling on, a pooled batched step reports every section of its pass (the GPU check reads these).
    #[test]
    fn a_profiled_pooled_step_times_each_section() {
        use super::super::profile::{self, Section};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        tiny::writer_of("qwen2").write_to(&path).unwrap();
        let info = read_info(&path, &ReadOptions::default()).unwrap();
        let model = Model::load(&path, &info, &Device::Cpu, &mut |_| {}).unwrap();
        let mut pooled = model.new_pooled_caches(2, 16).unwrap();
        model.forward(&[1, 4, 5], &mut pooled[0]).unwrap();
        model.forward(&[1, 7], &mut pooled[1]).unwrap();
        profile::set_enabled(true);
        let mut refs: Vec<_> = pooled.iter_mut().collect();
        model.forward_batch(&[9, 10], &mut refs).unwrap();
        let sections = profile::take();
        profile::set_enabled(false);
        for s in Section::ALL {
            let runs = sections.iter().find(|(x, _, _)| *x == s).map_or(0, |&(_, _, n)| n);
            assert!(runs > 0, "{} was not timed: {sections:?}", s.name());
        }
    }

    fn pooled_step(arch: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        tiny::writer_of(arch).write_to(&path).unwrap();
        let info = read_info(&path, &ReadOptions::default()).unwrap();
        let model = Model::load(&path, &info, &Device::Cpu, &mut |_| {}).unwrap();
        let long: Vec<u32> = (0..70).map(|i| 8 + i * 3).collect();
        let prompts: [&[u32]; 3] = [&[1, 4, 5, 6], &long, &[1, 7]];
        let mut pooled = model.new_pooled_caches(4, 80).unwrap();
        let mut host: Vec<_> = prompts.iter().map(|_| model.new_cache(80).unwrap()).collect();
        for (i, p) in prompts.iter().enumerate() {
            model.forward(p, &mut host[i]).unwrap();
            model.forward(p, &mut pooled[i + 1]).unwrap();
        }
        for step in 0..3u32 {
            let tokens: Vec<u32> = (0..3).map(|i| 10 + step * 3 + i).collect();
            let alone: Vec<Vec<f32>> = host
                .iter_mut()
                .zip(&tokens)
                .map(|(c, &t)| model.forward(&[t], c).unwrap().to_vec1::<f32>().unwrap())
                .collect();
            let mut refs: Vec<_> = pooled.iter_mut().skip(1).collect();
            let together = model.forward_batch(&tokens, &mut refs).unwrap();
            for (i, (a, b)) in alone.iter().zip(&together).enumerate() {
                let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
                assert!(worst < 1e-4, "{arch}: step {step}, sequence {i}: logits differ by {worst}");
            }
        }
    }
}
