//! The transformer forward pass on candle's quantized tensors, for the families in [`Arch`].
//!
//! One implementation serves all families: they differ in a few switches (RoPE style, q/k biases or norms,
//! post-norms, GELU or SiLU, sliding windows, soft-capping) read from the GGUF by [`ModelConfig`]. The code
//! follows llama.cpp's graphs, which are the reference the tests compare against.

mod attention;
mod config;
mod kv_cache;
mod repack;
mod rope;
mod weights;

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor, gguf_file};
use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

pub use config::{Arch, ModelConfig, RopeStyle};
pub use kv_cache::KvCache;

use weights::{Embeddings, Linear};

use crate::error::{Error, IoContext, Result};
use crate::inference::cpu_kernels::{QuantLinear, QuantMatrix};

/// The sequences a forward pass runs: tokens of one sequence from `pos`, or one new token of each of several.
enum Pass<'a, 'c> {
    One { pos: usize, cache: &'a mut KvCache },
    Decode(&'a mut [&'c mut KvCache]),
}

/// Wraps a candle error as the core's engine error.
pub(crate) fn engine_err(e: candle_core::Error) -> Error {
    Error::Engine(e.to_string())
}

#[derive(Debug)]
struct Layer {
    attn_norm: Tensor,
    wq: Linear,
    wk: Linear,
    wv: Linear,
    wo: Linear,
    q_norm: Option<Tensor>,
    k_norm: Option<Tensor>,
    post_attn_norm: Option<Tensor>,
    ffn_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
    post_ffn_norm: Option<Tensor>,
}

/// A loaded model: weights on a device plus its config. Immutable and shareable; sequences keep their own
/// [`KvCache`].
#[derive(Debug)]
pub struct Model {
    pub config: ModelConfig,
    device: Device,
    embeddings: Embeddings,
    layers: Vec<Layer>,
    output_norm: Tensor,
    output: Linear,
    rope_freq_factors: Option<Vec<f32>>,
    weight_bytes: usize,
}

/// Reads tensors out of a GGUF file, reporting progress as it goes.
struct Loader<'a> {
    content: gguf_file::Content,
    reader: BufReader<File>,
    device: &'a Device,
    total: u64,
    loaded: u64,
    /// Bytes held after re-encoding (see `repack`) or packing (see `weights`).
    resident: u64,
    progress: &'a mut dyn FnMut(f32),
}

impl Loader<'_> {
    fn qtensor(&mut self, name: &str) -> Result<QTensor> {
        let t = self.content.tensor(&mut self.reader, name, self.device).map_err(|e| {
            if self.content.tensor_infos.contains_key(name) {
                engine_err(e)
            } else {
                Error::InvalidGguf(format!("the model has no tensor '{name}'"))
            }
        })?;
        self.advance(t.storage_size_in_bytes() as u64);
        let t = repack::for_device(t, self.device)?;
        self.resident += t.storage_size_in_bytes() as u64;
        Ok(t)
    }

    fn advance(&mut self, bytes: u64) {
        self.loaded += bytes;
        (self.progress)((self.loaded as f64 / self.total.max(1) as f64).min(1.0) as f32);
    }

    /// The matrix `name` packed for the core's kernels, streamed from the file (no second copy), or `None`
    /// where candle multiplies it (see `weights`).
    fn packed(&mut self, name: &str) -> Result<Option<QuantMatrix>> {
        let Some(info) = self.content.tensor_infos.get(name) else { return Ok(None) };
        let Some(ty) = weights::packed_type(info.ggml_dtype, self.device) else { return Ok(None) };
        let Ok((rows, cols)) = info.shape.dims2() else { return Ok(None) };
        let start = self.content.tensor_data_offset.saturating_add(info.offset);
        let bytes = (info.shape.elem_count() / info.ggml_dtype.block_size() * info.ggml_dtype.type_size()) as u64;
        self.reader.seek(SeekFrom::Start(start)).context(|| format!("reading tensor '{name}'"))?;
        let m = QuantMatrix::read(ty, rows, cols, &mut self.reader)?;
        self.advance(bytes);
        self.resident += m.size_in_bytes() as u64;
        Ok(Some(m))
    }

    /// The weight matrix `name` and an optional bias: packed where the core's kernels take it, else candle's.
    fn matrix(&mut self, name: &str, bias: Option<Tensor>) -> Result<Linear> {
        match self.packed(name)? {
            Some(m) => {
                let bias = bias.map(|b| b.to_vec1::<f32>()).transpose().map_err(engine_err)?;
                Ok(Linear::Packed(QuantLinear::new(Arc::new(m), bias)?))
            }
            None => {
                let weight = QMatMul::from_qtensor(self.qtensor(name)?).map_err(engine_err)?;
                Ok(Linear::Candle { weight, bias })
            }
        }
    }

    fn has(&self, name: &str) -> bool {
        self.content.tensor_infos.contains_key(name)
    }

    fn vector(&mut self, name: &str) -> Result<Tensor> {
        self.qtensor(name)?.dequantize(self.device).map_err(engine_err)
    }

    fn optional_vector(&mut self, name: &str) -> Result<Option<Tensor>> {
        if self.has(name) { self.vector(name).map(Some) } else { Ok(None) }
    }

    fn linear(&mut self, name: &str) -> Result<Linear> {
        let bias = self.optional_vector(&format!("{name}.bias"))?;
        self.matrix(&format!("{name}.weight"), bias)
    }
}

impl Model {
    /// Loads the model at `path` onto `device`. `progress` gets the loaded fraction, 0 to 1.
    pub fn load(
        path: &Path,
        info: &crate::gguf::GgufInfo,
        device: &Device,
        progress: &mut dyn FnMut(f32),
    ) -> Result<Model> {
        let config = ModelConfig::from_gguf(info)?;
        let file = File::open(path).context(|| format!("opening {}", path.display()))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let content = gguf_file::Content::read(&mut reader).map_err(|e| Error::InvalidGguf(e.to_string()))?;
        let total = content
            .tensor_infos
            .values()
            .map(|t| (t.shape.elem_count() / t.ggml_dtype.block_size() * t.ggml_dtype.type_size()) as u64)
            .sum();
        let mut l = Loader { content, reader, device, total, loaded: 0, resident: 0, progress };

        let (embeddings, output) = if l.has("output.weight") {
            (Embeddings::Candle(Arc::new(l.qtensor("token_embd.weight")?)), l.matrix("output.weight", None)?)
        } else if let Some(m) = l.packed("token_embd.weight")? {
            // Tied embeddings: the same quantized matrix serves both ends.
            let m = Arc::new(m);
            (Embeddings::Packed(m.clone()), Linear::Packed(QuantLinear::new(m, None)?))
        } else {
            let t = Arc::new(l.qtensor("token_embd.weight")?);
            let weight = QMatMul::from_arc(t.clone()).map_err(engine_err)?;
            (Embeddings::Candle(t), Linear::Candle { weight, bias: None })
        };
        let output_norm = l.vector("output_norm.weight")?;
        let rope_freq_factors = if l.has("rope_freqs.weight") {
            Some(l.vector("rope_freqs.weight")?.to_vec1::<f32>().map_err(engine_err)?)
        } else {
            None
        };
        let mut layers = Vec::with_capacity(config.n_layer);
        for il in 0..config.n_layer {
            let p = format!("blk.{il}");
            layers.push(Layer {
                attn_norm: l.vector(&format!("{p}.attn_norm.weight"))?,
                wq: l.linear(&format!("{p}.attn_q"))?,
                wk: l.linear(&format!("{p}.attn_k"))?,
                wv: l.linear(&format!("{p}.attn_v"))?,
                wo: l.linear(&format!("{p}.attn_output"))?,
                q_norm: l.optional_vector(&format!("{p}.attn_q_norm.weight"))?,
                k_norm: l.optional_vector(&format!("{p}.attn_k_norm.weight"))?,
                post_attn_norm: l.optional_vector(&format!("{p}.post_attention_norm.weight"))?,
                ffn_norm: l.vector(&format!("{p}.ffn_norm.weight"))?,
                gate: l.linear(&format!("{p}.ffn_gate"))?,
                up: l.linear(&format!("{p}.ffn_up"))?,
                down: l.linear(&format!("{p}.ffn_down"))?,
                post_ffn_norm: l.optional_vector(&format!("{p}.post_ffw_norm.weight"))?,
            });
        }
        (l.progress)(1.0);
        Ok(Model {
            config,
            device: device.clone(),
            embeddings,
            layers,
            output_norm,
            output,
            rope_freq_factors,
            weight_bytes: l.resident as usize,
        })
    }

    /// Bytes of weights held on the device.
    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A cache for `capacity` tokens of one sequence.
    pub fn new_cache(&self, capacity: usize) -> Result<KvCache> {
        let c = &self.config;
        KvCache::new(c.n_layer, c.n_head_kv, c.head_dim, capacity, &self.device)
    }

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
        let x = self.run(tokens, &mut Pass::One { pos, cache: &mut *cache })?;
        // Only the last position's logits are needed.
        let logits = self.logits(&x.narrow(0, seq - 1, 1).map_err(engine_err)?)?;
        cache.commit(pos, tokens);
        logits.squeeze(0).map_err(engine_err)
    }

    /// One new token for each of several sequences (`tokens[i]` continues `caches[i]`), in one pass: every
    /// matrix product reads its weights once for all of them, which is what a decoding step is bound by. Returns
    /// each sequence's logits, the same values as [`Model::forward`] of that token alone gives on the CPU (rows
    /// of a product do not depend on each other). Where the batched path does not apply (a GPU, a head size
    /// that is not a multiple of 8), the sequences run one after the other.
    pub fn forward_batch(&self, tokens: &[u32], caches: &mut [&mut KvCache]) -> Result<Vec<Vec<f32>>> {
        if tokens.is_empty() || tokens.len() != caches.len() {
            return Err(Error::InvalidRequest(format!("{} tokens for {} sequences", tokens.len(), caches.len())));
        }
        if let Some(full) = caches.iter().find(|c| c.len() >= c.capacity()) {
            return Err(Error::ContextLengthExceeded { prompt_tokens: full.len() + 1, context: full.capacity() });
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
            let positions: Vec<usize> = caches.iter().map(|c| c.len()).collect();
            let x = self.run(tokens, &mut Pass::Decode(&mut *caches))?;
            let logits = self.logits(&x)?.to_vec2::<f32>().map_err(engine_err)?;
            for ((cache, &pos), &token) in caches.iter_mut().zip(&positions).zip(tokens) {
                cache.commit(pos, &[token]);
            }
            Ok(logits)
        };
        on_rayon_worker(|| run(caches))
    }

    /// The hidden states after the last layer, one row per token.
    fn run(&self, tokens: &[u32], pass: &mut Pass<'_, '_>) -> Result<Tensor> {
        let c = &self.config;
        let mut x = self.embeddings.lookup(tokens, &self.device)?;
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
        let c = &self.config;
        let x = rms_norm(x, &self.output_norm, c.rms_eps)?;
        let mut logits = self.output.forward(&x)?;
        if let Some(cap) = c.final_softcap {
            logits = ((logits / cap as f64).map_err(engine_err)?.tanh().map_err(engine_err)? * cap as f64)
                .map_err(engine_err)?;
        }
        Ok(logits)
    }

    fn layer(&self, il: usize, l: &Layer, x: &Tensor, pass: &mut Pass<'_, '_>) -> Result<Tensor> {
        let c = &self.config;
        let h = rms_norm(x, &l.attn_norm, c.rms_eps)?;
        let mut attn = match pass {
            Pass::One { pos, cache } => self.attention(il, l, &h, *pos, cache)?,
            Pass::Decode(caches) => self.decode_attention(il, l, &h, caches)?,
        };
        if let Some(norm) = &l.post_attn_norm {
            attn = rms_norm(&attn, norm, c.rms_eps)?;
        }
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
    }

    fn attention(&self, il: usize, l: &Layer, h: &Tensor, pos: usize, cache: &mut KvCache) -> Result<Tensor> {
        let c = &self.config;
        let seq = h.dim(0).map_err(engine_err)?;
        if seq == 1 && c.head_dim.is_multiple_of(8) && cache.is_host() {
            return self.decode_attention(il, l, h, std::slice::from_mut(&mut &mut *cache));
        }
        let (hd, nh, nkv) = (c.head_dim, c.n_head, c.n_head_kv);
        // [seq, heads * hd] -> [1, heads, seq, hd]
        let heads = |t: Tensor, n: usize| -> Result<Tensor> {
            t.reshape((seq, n, hd)).and_then(|t| t.transpose(0, 1)).and_then(|t| t.unsqueeze(0)).map_err(engine_err)
        };
        let mut q = heads(l.wq.forward(h)?, nh)?;
        let mut k = heads(l.wk.forward(h)?, nkv)?;
        let v = heads(l.wv.forward(h)?, nkv)?;
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
        let (k_all, v_all) = cache.append(il, pos, &k0, &v0, from)?;
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
            let mask = self.mask(pos, seq, from, kv_len, window)?;
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
        l.wo.forward(&out)
    }

    /// [`Model::attention`] of one new token per sequence (row `i` of `h` continues `caches[i]`), caches in host
    /// memory (see `attention`); the sequences' attention runs in parallel.
    fn decode_attention(&self, il: usize, l: &Layer, h: &Tensor, caches: &mut [&mut KvCache]) -> Result<Tensor> {
        let values = |t: Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(engine_err);
        let mut q = values(l.wq.forward(h)?)?;
        let mut k = values(l.wk.forward(h)?)?;
        let v = values(l.wv.forward(h)?)?;
        let q_norm = l.q_norm.as_ref().map(|t| t.to_vec1::<f32>()).transpose().map_err(engine_err)?;
        let k_norm = l.k_norm.as_ref().map(|t| t.to_vec1::<f32>()).transpose().map_err(engine_err)?;
        let c = &self.config;
        let (qn, kn, rows) = (c.n_head * c.head_dim, c.n_head_kv * c.head_dim, caches.len());
        if q.len() != rows * qn || k.len() != rows * kn || v.len() != k.len() {
            return Err(Error::Engine(format!("projections of {}, {} and {} values", q.len(), k.len(), v.len())));
        }
        let one = |cache: &mut KvCache, q: &mut [f32], k: &mut [f32], v: &[f32]| -> Result<Vec<f32>> {
            let step = attention::Step {
                config: c,
                layer: il,
                pos: cache.len(),
                q_norm: q_norm.as_deref(),
                k_norm: k_norm.as_deref(),
                freq_factors: self.rope_freq_factors.as_deref(),
            };
            let layer = cache.host_layer(il).ok_or_else(|| Error::Engine("the cache is not in host memory".into()))?;
            Ok(attention::decode(&step, q, k, v, layer))
        };
        let out: Vec<Vec<f32>> = if rows == 1 {
            vec![one(caches[0], &mut q, &mut k, &v)?]
        } else {
            caches
                .par_iter_mut()
                .zip(q.par_chunks_mut(qn))
                .zip(k.par_chunks_mut(kn))
                .zip(v.par_chunks(kn))
                .map(|(((cache, q), k), v)| one(cache, q, k, v))
                .collect::<Result<_>>()?
        };
        let out = Tensor::from_vec(out.concat(), (rows, qn), &self.device).map_err(engine_err)?;
        l.wo.forward(&out)
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

/// Runs `f` on one of rayon's workers (see [`Model::forward`]): here when already on one, else on the pool while
/// this thread waits.
fn on_rayon_worker<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() { f() } else { rayon::scope(|_| f()) }
}

/// `gelu(gate) * up` as llama.cpp computes it on CPU (see `cpu_kernels::geglu`); elsewhere the same rounding
/// with candle's operations.
fn geglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    if gate.device().is_cpu() && gate.dtype() == DType::F32 && up.dtype() == DType::F32 {
        let dims = gate.dims().to_vec();
        let values = |t: &Tensor| t.flatten_all().and_then(|t| t.to_vec1::<f32>()).map_err(engine_err);
        let out = crate::inference::cpu_kernels::geglu(&values(gate)?, &values(up)?);
        return Tensor::from_vec(out, dims, gate.device()).map_err(engine_err);
    }
    (gelu_f16_table(gate)? * up).map_err(engine_err)
}

/// GELU (tanh form) as llama.cpp computes it on CPU: the input rounded to f16, looked up in a table of f16
/// results, identity above 10 and zero below -10.
fn gelu_f16_table(x: &Tensor) -> Result<Tensor> {
    let f16 = |t: &Tensor| t.to_dtype(DType::F16).and_then(|t| t.to_dtype(DType::F32));
    let inner = (|| {
        let y = f16(&f16(x)?.gelu()?)?;
        let y = x.ge(10f32)?.where_cond(x, &y)?;
        x.le(-10f32)?.where_cond(&y.zeros_like()?, &y)
    })();
    inner.map_err(engine_err)
}

/// RMS norm over the last dimension, times `weight`. On the CPU it rounds exactly as ggml's CPU backend does
/// (squares summed in f64, `x * (1 / sqrt(mean + eps))` then `* weight`, all in f32): its output is what the
/// next matrix product quantizes to 8 bits, and a last-bit difference there flips roundings that the small
/// models amplify (measured on gemma 3 270M: with candle's norm the layer-0 queries already differ from
/// llama.cpp's in two of six rows; with this one layer 0's norm output is bit-identical).
fn rms_norm(x: &Tensor, weight: &Tensor, eps: f32) -> Result<Tensor> {
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
fn rms_norm_row(row: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let sum: f64 = row.iter().map(|&v| f64::from(v * v)).sum();
    let mean = (sum / row.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    row.iter().zip(w).map(|(&v, &w)| (v * scale) * w).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table-based GEGLU on the CPU gives exactly what the same rounding does with candle's operations:
    /// a dense grid over the table's range, values near zero, and the cut-offs at plus and minus 10.
    #[test]
    fn geglu_equals_the_candle_formulation() {
        let mut gate: Vec<f32> = (0..240_000).map(|i| -12.0 + i as f32 * 1e-4).collect();
        gate.extend((0..200).flat_map(|i| {
            let x = 1e-7 * 1.1f32.powi(i);
            [x, -x]
        }));
        gate.extend([-10.0, 10.0, -10.000_001, 9.999_999]);
        let up: Vec<f32> = (0..gate.len()).map(|i| 0.5 + (i % 7) as f32 * 0.25).collect();
        let n = gate.len();
        let g = Tensor::from_vec(gate, n, &Device::Cpu).unwrap();
        let u = Tensor::from_vec(up, n, &Device::Cpu).unwrap();
        let ours = geglu(&g, &u).unwrap().to_vec1::<f32>().unwrap();
        let candle = (gelu_f16_table(&g).unwrap() * &u).unwrap().to_vec1::<f32>().unwrap();
        let differ = ours.iter().zip(&candle).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(differ, 0, "{differ} of {n} values differ");
    }
}
