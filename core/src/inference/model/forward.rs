//! The forward pass: a prompt's tokens of one sequence ([`Model::forward`]) or one new token of each of several
//! ([`Model::forward_batch`]), layer by layer as llama.cpp's graphs compute them.

use candle_core::Tensor;
use rayon::prelude::*;

use super::batch::BatchStep;
use super::geglu::geglu;
use super::profile::{self, Section, timed};
use super::rms_norm::rms_norm;
use super::{Arch, KvCache, Layer, Model, attention, engine_err, rope};
use crate::error::{Error, Result};

/// The sequences a forward pass runs: tokens of one sequence from `pos`, or one new token of each of several
/// (caches in host memory, or sharing a pool on the model's device).
enum Pass<'a, 'c> {
    /// `masks`: the attention masks built so far in this pass, per sliding window (`None`: global layers), so
    /// that a prompt chunk builds (and, on a GPU, uploads) each once rather than once per layer.
    One {
        pos: usize,
        cache: &'a mut KvCache,
        masks: Vec<(Option<usize>, Tensor)>,
    },
    Decode(&'a mut [&'c mut KvCache]),
    Batch(&'a BatchStep),
    /// Prompt chunks of several sequences, their rows one after the other (see [`Model::forward_chunks`]).
    Chunks(Vec<Chunk<'a>>),
}

/// One sequence's rows in a [`Pass::Chunks`].
struct Chunk<'a> {
    pos: usize,
    len: usize,
    cache: &'a mut KvCache,
    masks: Vec<(Option<usize>, Tensor)>,
}

impl Model {
    /// Runs `tokens` at positions `cache.len()..` and returns the logits of the last one (`[n_vocab]`, f32).
    pub fn forward(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        // On the CPU the whole pass runs on one of rayon's workers: a parallel operation started from any other
        // thread is handed to the pool while its caller sleeps, two thread wake-ups per operation, which cost
        // more than the small matrix products of a decoding step (gemma 3 270M decoded 1.2x faster this way).
        if self.device.is_cpu() {
            return on_rayon_worker(|| self.forward_here(tokens, cache));
        }
        self.forward_here(tokens, cache)
    }

    fn forward_here(&self, tokens: &[u32], cache: &mut KvCache) -> Result<Tensor> {
        let pos = cache.len();
        let seq = tokens.len();
        if seq == 0 {
            return Err(Error::InvalidRequest("nothing to process".into()));
        }
        if pos + seq > cache.capacity() {
            return Err(Error::ContextLengthExceeded { prompt_tokens: pos + seq, context: cache.capacity() });
        }
        let x = self.run(tokens, &mut Pass::One { pos, cache: &mut *cache, masks: Vec::new() })?;
        // Only the last position's logits are needed.
        let logits = self.logits(&x.narrow(0, seq - 1, 1).map_err(engine_err)?)?;
        cache.commit(pos, tokens);
        logits.squeeze(0).map_err(engine_err)
    }

    /// Prompt chunks of several sequences (`chunks[i]` continues `caches[i]`) in one pass: every matrix product
    /// reads its weights once for all their rows, and each sequence's attention sees only its own cache. No
    /// logits: the engine runs a prompt's last token in a decoding pass. Each sequence's keys and values are
    /// those [`Model::forward`] of its chunk alone stores (on the CPU, bit for bit).
    pub fn forward_chunks(&self, chunks: &[&[u32]], caches: &mut [&mut KvCache]) -> Result<()> {
        if chunks.is_empty() || chunks.len() != caches.len() || chunks.iter().any(|c| c.is_empty()) {
            return Err(Error::InvalidRequest(format!("{} chunks for {} sequences", chunks.len(), caches.len())));
        }
        if let Some((c, cache)) = chunks.iter().zip(caches.iter()).find(|(c, k)| k.len() + c.len() > k.capacity()) {
            return Err(Error::ContextLengthExceeded {
                prompt_tokens: cache.len() + c.len(),
                context: cache.capacity(),
            });
        }
        let tokens: Vec<u32> = chunks.concat();
        let run = |caches: &mut [&mut KvCache]| -> Result<()> {
            let seqs = chunks
                .iter()
                .zip(caches.iter_mut())
                .map(|(c, cache)| Chunk { pos: cache.len(), len: c.len(), cache, masks: Vec::new() })
                .collect();
            self.run(&tokens, &mut Pass::Chunks(seqs))?;
            for (c, cache) in chunks.iter().zip(caches.iter_mut()) {
                let pos = cache.len();
                cache.commit(pos, c);
            }
            Ok(())
        };
        if self.device.is_cpu() { on_rayon_worker(|| run(caches)) } else { run(caches) }
    }

    /// One new token for each of several sequences (`tokens[i]` continues `caches[i]`), in one pass: every
    /// matrix product reads its weights once for all of them, which is what a decoding step is bound by. Returns
    /// each sequence's logits. Caches that share a pool (the default off the CPU, see
    /// [`Model::new_caches`]) run as one pass on the model's device (`batch`); host caches on the CPU run the
    /// CPU's own attention, where each row gives what [`Model::forward`] of that token alone gives. Anything
    /// else (caches of different pools, a head size that is not a multiple of 8 on the CPU) runs the sequences
    /// one after the other.
    pub fn forward_batch(&self, tokens: &[u32], caches: &mut [&mut KvCache]) -> Result<Vec<Vec<f32>>> {
        if tokens.is_empty() || tokens.len() != caches.len() {
            return Err(Error::InvalidRequest(format!("{} tokens for {} sequences", tokens.len(), caches.len())));
        }
        if let Some(full) = caches.iter().find(|c| c.len() >= c.capacity()) {
            return Err(Error::ContextLengthExceeded { prompt_tokens: full.len() + 1, context: full.capacity() });
        }
        let positions: Vec<usize> = caches.iter().map(|c| c.len()).collect();
        let commit = |caches: &mut [&mut KvCache]| {
            for ((cache, &pos), &token) in caches.iter_mut().zip(&positions).zip(tokens) {
                cache.commit(pos, &[token]);
            }
        };
        if let Some(step) = timed(&self.device, Section::Prepare, || BatchStep::new(self, caches))? {
            let run = || -> Result<Vec<Vec<f32>>> {
                let x = self.run(tokens, &mut Pass::Batch(&step))?;
                let logits = self.logits(&x)?;
                timed(&self.device, Section::ToHost, || logits.to_vec2::<f32>().map_err(engine_err))
            };
            let logits = if self.device.is_cpu() { on_rayon_worker(run)? } else { run()? };
            commit(caches);
            return Ok(logits);
        }
        let batched =
            self.device.is_cpu() && self.config.head_dim.is_multiple_of(8) && caches.iter().all(|c| c.is_host());
        if !batched {
            return tokens
                .iter()
                .zip(caches.iter_mut())
                .map(|(&t, cache)| self.forward(&[t], cache)?.to_vec1::<f32>().map_err(engine_err))
                .collect();
        }
        let run = |caches: &mut [&mut KvCache]| -> Result<Vec<Vec<f32>>> {
            let x = self.run(tokens, &mut Pass::Decode(&mut *caches))?;
            let logits = self.logits(&x)?.to_vec2::<f32>().map_err(engine_err)?;
            commit(caches);
            Ok(logits)
        };
        on_rayon_worker(|| run(caches))
    }

    /// The hidden states after the last layer, one row per token.
    fn run(&self, tokens: &[u32], pass: &mut Pass<'_, '_>) -> Result<Tensor> {
        let c = &self.config;
        let mut x = timed(&self.device, Section::Embed, || self.embeddings.lookup(tokens, &self.device))?;
        if c.scale_embeddings {
            x = (x * (c.n_embd as f64).sqrt()).map_err(engine_err)?;
        }
        for (il, layer) in self.layers.iter().enumerate() {
            x = self.layer(il, layer, &x, pass)?;
        }
        Ok(x)
    }

    /// Logits (`[rows, n_vocab]`) of hidden states `x` (`[rows, n_embd]`).
    fn logits(&self, x: &Tensor) -> Result<Tensor> {
        timed(&self.device, Section::Logits, || {
            let c = &self.config;
            let x = rms_norm(x, &self.output_norm, c.rms_eps)?;
            let mut logits = self.output.forward(&x)?;
            if let Some(cap) = c.final_softcap {
                logits = ((logits / cap as f64).map_err(engine_err)?.tanh().map_err(engine_err)? * cap as f64)
                    .map_err(engine_err)?;
            }
            Ok(logits)
        })
    }

    fn layer(&self, il: usize, l: &Layer, x: &Tensor, pass: &mut Pass<'_, '_>) -> Result<Tensor> {
        let c = &self.config;
        let h = timed(&self.device, Section::AttentionProjections, || rms_norm(x, &l.attn_norm, c.rms_eps))?;
        let attn = match pass {
            Pass::One { pos, cache, masks } => self.attention(il, l, &h, *pos, cache, masks)?,
            Pass::Decode(caches) => {
                timed(&self.device, Section::AttentionMath, || self.decode_attention(il, l, &h, caches))?
            }
            Pass::Batch(step) => self.batch_attention(il, l, &h, step)?,
            Pass::Chunks(seqs) => self.chunks_attention(il, l, &h, seqs)?,
        };
        timed(&self.device, Section::FeedForward, || {
            let attn = match &l.post_attn_norm {
                Some(norm) => rms_norm(&attn, norm, c.rms_eps)?,
                None => attn,
            };
            let x = (x + attn).map_err(engine_err)?;
            let h = rms_norm(&x, &l.ffn_norm, c.rms_eps)?;
            let gate = l.gate.forward(&h)?;
            let up = l.up.forward(&h)?;
            let act = match c.arch {
                Arch::Gemma2 | Arch::Gemma3 => geglu(&gate, &up)?,
                _ => (gate.silu().map_err(engine_err)? * up).map_err(engine_err)?,
            };
            let mut ffn = l.down.forward(&act)?;
            if let Some(norm) = &l.post_ffn_norm {
                ffn = rms_norm(&ffn, norm, c.rms_eps)?;
            }
            (x + ffn).map_err(engine_err)
        })
    }

    fn attention(
        &self,
        il: usize,
        l: &Layer,
        h: &Tensor,
        pos: usize,
        cache: &mut KvCache,
        masks: &mut Vec<(Option<usize>, Tensor)>,
    ) -> Result<Tensor> {
        let c = &self.config;
        let seq = h.dim(0).map_err(engine_err)?;
        if seq == 1 && c.head_dim.is_multiple_of(8) && cache.is_host() {
            return timed(&self.device, Section::AttentionMath, || {
                self.decode_attention(il, l, h, std::slice::from_mut(&mut &mut *cache))
            });
        }
        let out = self.attend(il, l, self.projections(l, h)?, pos, cache, masks)?;
        timed(&self.device, Section::AttentionProjections, || l.wo.forward(&out))
    }

    /// [`Model::attention`] of the rows of several sequences' prompt chunks: the projections of all rows at once,
    /// then each sequence's attention with its own cache.
    fn chunks_attention(&self, il: usize, l: &Layer, h: &Tensor, seqs: &mut [Chunk<'_>]) -> Result<Tensor> {
        let (q, k, v) = self.projections(l, h)?;
        let mut outs = Vec::with_capacity(seqs.len());
        let mut row = 0;
        let host_kernel = self.config.head_dim.is_multiple_of(8);
        for s in seqs.iter_mut() {
            let rows = |t: &Tensor| t.narrow(0, row, s.len).map_err(engine_err);
            let qkv = (rows(&q)?, rows(&k)?, rows(&v)?);
            // A chunk of one token takes the kernel `attention` takes for it alone, so that it stores the same.
            let out = if s.len == 1 && host_kernel && s.cache.is_host() {
                timed(&self.device, Section::AttentionMath, || {
                    self.decode_attend(il, l, qkv, std::slice::from_mut(&mut &mut *s.cache))
                })?
            } else {
                self.attend(il, l, qkv, s.pos, s.cache, &mut s.masks)?
            };
            outs.push(out);
            row += s.len;
        }
        let out = Tensor::cat(&outs, 0).map_err(engine_err)?;
        timed(&self.device, Section::AttentionProjections, || l.wo.forward(&out))
    }

    /// The query, key and value projections of the rows of `h`, timed as such.
    fn projections(&self, l: &Layer, h: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        timed(&self.device, Section::AttentionProjections, || {
            Ok((l.wq.forward(h)?, l.wk.forward(h)?, l.wv.forward(h)?))
        })
    }

    /// Attention of one sequence's new rows, given their projections (`[seq, heads * head_dim]` each) at
    /// positions `pos..`: norms and RoPE, then the keys and values into the cache, then the product with every
    /// cached position each row may see. Returns `[seq, n_head * head_dim]`, before the output projection.
    fn attend(
        &self,
        il: usize,
        l: &Layer,
        (q, k, v): (Tensor, Tensor, Tensor),
        pos: usize,
        cache: &mut KvCache,
        masks: &mut Vec<(Option<usize>, Tensor)>,
    ) -> Result<Tensor> {
        let c = &self.config;
        let seq = q.dim(0).map_err(engine_err)?;
        let mark = profile::mark();
        let (hd, nh, nkv) = (c.head_dim, c.n_head, c.n_head_kv);
        // [seq, heads * hd] -> [1, heads, seq, hd]
        let heads = |t: Tensor, n: usize| -> Result<Tensor> {
            t.reshape((seq, n, hd)).and_then(|t| t.transpose(0, 1)).and_then(|t| t.unsqueeze(0)).map_err(engine_err)
        };
        let mut q = heads(q, nh)?;
        let mut k = heads(k, nkv)?;
        let v = heads(v, nkv)?;
        if let Some(norm) = &l.q_norm {
            q = rms_norm(&q.contiguous().map_err(engine_err)?, norm, c.rms_eps)?;
        }
        if let Some(norm) = &l.k_norm {
            k = rms_norm(&k.contiguous().map_err(engine_err)?, norm, c.rms_eps)?;
        }
        let (cos, sin) = rope::tables(
            pos,
            seq,
            hd,
            c.rope_base_of(il),
            c.rope_freq_scale,
            self.rope_freq_factors.as_deref(),
            &self.device,
        )?;
        let q = rope::apply(&q, &cos, &sin, c.rope_style)?;
        let k = rope::apply(&k, &cos, &sin, c.rope_style)?;
        let q = (q * c.attention_scale as f64).map_err(engine_err)?;

        // Which cached positions this pass can see at all: local layers only the last `window` ones.
        let window = if c.is_local_layer[il] { c.sliding_window } else { None };
        let from = window.map_or(0, |w| (pos + 1).saturating_sub(w));
        let k0 = k.squeeze(0).map_err(engine_err)?;
        let v0 = v.squeeze(0).map_err(engine_err)?;
        mark.end(&self.device, Section::AttentionProjections)?;
        let mark = profile::mark();
        let (k_all, v_all) = cache.append(il, pos, &k0, &v0, from)?;
        mark.end(&self.device, Section::KvCache)?;
        let mark = profile::mark();
        let kv_len = pos + seq - from;

        // Grouped-query attention without copying keys: the `groups` query heads that share a key head are
        // stacked as rows of one matrix.
        let groups = nh / nkv;
        let q = q.squeeze(0).and_then(|q| q.reshape((nkv, groups * seq, hd))).map_err(engine_err)?;
        let k_t = k_all.transpose(1, 2).map_err(engine_err)?;
        let mut scores = q.matmul(&k_t).map_err(engine_err)?; // [nkv, groups * seq, kv_len]
        if let Some(cap) = c.attn_softcap {
            scores = ((scores / cap as f64).map_err(engine_err)?.tanh().map_err(engine_err)? * cap as f64)
                .map_err(engine_err)?;
        }
        if seq > 1 || window.is_some() {
            let mask = match masks.iter().find(|(w, _)| *w == window) {
                Some((_, m)) => m.clone(),
                None => {
                    let m = self.mask(pos, seq, from, kv_len, window)?;
                    masks.push((window, m.clone()));
                    m
                }
            };
            scores = scores
                .reshape((nkv, groups, seq, kv_len))
                .and_then(|s| s.broadcast_add(&mask))
                .and_then(|s| s.reshape((nkv, groups * seq, kv_len)))
                .map_err(engine_err)?;
        }
        let probs = candle_nn::ops::softmax_last_dim(&scores).map_err(engine_err)?;
        let out = probs.matmul(&v_all.contiguous().map_err(engine_err)?).map_err(engine_err)?; // [nkv, g*seq, hd]
        let out = out
            .reshape((nh, seq, hd))
            .and_then(|o| o.transpose(0, 1))
            .and_then(|o| o.reshape((seq, nh * hd)))
            .map_err(engine_err)?;
        mark.end(&self.device, Section::AttentionMath)?;
        Ok(out)
    }

    /// [`Model::attention`] of one new token per sequence (row `i` of `h` continues `caches[i]`), caches in host
    /// memory (see `attention`); the sequences' attention runs in parallel.
    fn decode_attention(&self, il: usize, l: &Layer, h: &Tensor, caches: &mut [&mut KvCache]) -> Result<Tensor> {
        let out = self.decode_attend(il, l, (l.wq.forward(h)?, l.wk.forward(h)?, l.wv.forward(h)?), caches)?;
        l.wo.forward(&out)
    }

    /// [`Model::decode_attention`] given the projections, before the output projection.
    fn decode_attend(
        &self,
        il: usize,
        l: &Layer,
        (q, k, v): (Tensor, Tensor, Tensor),
        caches: &mut [&mut KvCache],
    ) -> Result<Tensor> {
        let values = |t: Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(engine_err);
        let mut q = values(q)?;
        let mut k = values(k)?;
        let v = values(v)?;
        let q_norm = l.q_norm.as_ref().map(|t| t.to_vec1::<f32>()).transpose().map_err(engine_err)?;
        let k_norm = l.k_norm.as_ref().map(|t| t.to_vec1::<f32>()).transpose().map_err(engine_err)?;
        let c = &self.config;
        let (qn, kn, rows) = (c.n_head * c.head_dim, c.n_head_kv * c.head_dim, caches.len());
        if q.len() != rows * qn || k.len() != rows * kn || v.len() != k.len() {
            return Err(Error::Engine(format!("projections of {}, {} and {} values", q.len(), k.len(), v.len())));
        }
        let step = |pos: usize| attention::Step {
            config: c,
            layer: il,
            pos,
            q_norm: q_norm.as_deref(),
            k_norm: k_norm.as_deref(),
            freq_factors: self.rope_freq_factors.as_deref(),
        };
        let mut layers = Vec::with_capacity(rows);
        for (r, cache) in caches.iter_mut().enumerate() {
            let pos = cache.len();
            let mut layer =
                cache.host_layer(il).ok_or_else(|| Error::Engine("the cache is not in host memory".into()))?;
            let (qr, kr) = (&mut q[r * qn..(r + 1) * qn], &mut k[r * kn..(r + 1) * kn]);
            attention::prepare(&step(pos), qr, kr, &v[r * kn..(r + 1) * kn], &mut layer);
            layers.push((pos, layer));
        }
        // Every query head of every sequence on its own: spread over the threads once there is enough of it.
        let hd = c.head_dim;
        let mut out = vec![0f32; rows * qn];
        let per_row = |r: usize| (layers[r].0 + 1) * c.n_head * hd;
        let one = |i: usize, out: &mut [f32], scores: &mut Vec<f32>| {
            let (r, h) = (i / c.n_head, i % c.n_head);
            let (pos, layer) = &layers[r];
            let qh = &q[r * qn + h * hd..r * qn + (h + 1) * hd];
            attention::head(&step(*pos), h, qh, layer.k, layer.v, layer.capacity, scores, out);
        };
        if (0..rows).map(per_row).sum::<usize>() >= PARALLEL_ATTENTION {
            out.par_chunks_mut(hd).enumerate().for_each_init(Vec::new, |scores, (i, o)| one(i, o, scores));
        } else {
            let mut scores = Vec::new();
            for (i, o) in out.chunks_exact_mut(hd).enumerate() {
                one(i, o, &mut scores);
            }
        }
        Tensor::from_vec(out, (rows, qn), &self.device).map_err(engine_err)
    }

    /// Additive mask `[seq, kv_len]`: query `i` (position `pos + i`) sees key position `from + j` when it is not
    /// in the future and, in a local layer, less than `window` positions back (llama.cpp's rule).
    fn mask(&self, pos: usize, seq: usize, from: usize, kv_len: usize, window: Option<usize>) -> Result<Tensor> {
        let mut m = vec![0f32; seq * kv_len];
        for i in 0..seq {
            let p1 = pos + i;
            for j in 0..kv_len {
                let p0 = from + j;
                let masked = p0 > p1 || window.is_some_and(|w| p1 - p0 >= w);
                if masked {
                    m[i * kv_len + j] = f32::NEG_INFINITY;
                }
            }
        }
        Tensor::from_vec(m, (seq, kv_len), &self.device).map_err(engine_err)
    }
}

/// Multiply-adds of a decoding step's attention (all sequences, one layer) from which its heads run on several
/// threads: below it, handing them out costs more than it saves.
const PARALLEL_ATTENTION: usize = 1 << 15;

/// Runs `f` on one of rayon's workers (see [`Model::forward`]): here when already on one, else on the pool while
/// this thread waits.
fn on_rayon_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() { f() } else { rayon::scope(|_| f()) }
}
