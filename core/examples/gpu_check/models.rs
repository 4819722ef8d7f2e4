//! Synthetic GGUF models: random weights with chosen shapes and tensor types, written here because no real
//! model file can be carried to the GPU machine. With a donor's tokenizer and chat template (a few MB, also
//! written here) they load in llama.cpp and jan-server like real models: real kernels and shapes, meaningless
//! text.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use jan_core::gguf::writer::GgufWriter;
use jan_core::gguf::{GgufValue, ReadOptions, read_info};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Which tensor types the layers' matrices get.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Mix {
    /// The test models' mix: Q5_0 for most matrices, Q8_0 or Q5_0 for V, Q6_K or Q4_K for the FFN's down.
    TestModels,
    /// llama.cpp's Q4_K_M: Q4_K, with Q6_K for V and the FFN's down in every other layer.
    Q4KM,
}

/// The shape and layout of a synthetic model.
#[derive(Debug)]
pub(super) struct Spec {
    pub name: &'static str,
    pub arch: &'static str,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub vocab: usize,
    pub embd_type: GgmlDType,
    pub attn_out_type: GgmlDType,
    /// `None`: tied to the embeddings.
    pub output_type: Option<GgmlDType>,
    pub qkv_bias: bool,
    pub qk_norm: bool,
    pub post_norms: bool,
    pub sliding_window: Option<usize>,
    pub rope_base: f32,
    pub mix: Mix,
}

/// qwen2.5-coder-0.5b's shapes and tensor types (its attn_output is Q5_0: 896 columns do not fit K-quants).
pub(super) const QWEN_0_5B: Spec = Spec {
    name: "synthetic-qwen2-0.5b",
    arch: "qwen2",
    n_layer: 24,
    n_embd: 896,
    n_head: 14,
    n_head_kv: 2,
    head_dim: 64,
    n_ff: 4864,
    vocab: 151_936,
    embd_type: GgmlDType::Q5_0,
    attn_out_type: GgmlDType::Q5_0,
    output_type: Some(GgmlDType::Q8_0),
    qkv_bias: true,
    qk_norm: false,
    post_norms: false,
    sliding_window: None,
    rope_base: 1e6,
    mix: Mix::TestModels,
};

/// Qwen2.5 1.5B's shapes (embeddings tied to the output, as there), in Q4_K_M's types.
pub(super) const QWEN_1_5B: Spec = Spec {
    name: "synthetic-qwen2-1.5b",
    arch: "qwen2",
    n_layer: 28,
    n_embd: 1536,
    n_head: 12,
    n_head_kv: 2,
    head_dim: 128,
    n_ff: 8960,
    vocab: 151_936,
    embd_type: GgmlDType::Q6K,
    attn_out_type: GgmlDType::Q4K,
    output_type: None,
    qkv_bias: true,
    qk_norm: false,
    post_norms: false,
    sliding_window: None,
    rope_base: 1e6,
    mix: Mix::Q4KM,
};

/// Qwen2.5 7B's shapes in Q4_K_M (about 4.4 GB).
pub(super) const QWEN_7B: Spec = Spec {
    name: "synthetic-qwen2-7b",
    arch: "qwen2",
    n_layer: 28,
    n_embd: 3584,
    n_head: 28,
    n_head_kv: 4,
    head_dim: 128,
    n_ff: 18_944,
    vocab: 152_064,
    embd_type: GgmlDType::Q4K,
    attn_out_type: GgmlDType::Q4K,
    output_type: Some(GgmlDType::Q6K),
    qkv_bias: true,
    qk_norm: false,
    post_norms: false,
    sliding_window: None,
    rope_base: 1e6,
    mix: Mix::Q4KM,
};

fn ggml_type_id(t: GgmlDType) -> u32 {
    match t {
        GgmlDType::F32 => 0,
        GgmlDType::F16 => 1,
        GgmlDType::Q4_0 => 2,
        GgmlDType::Q4_1 => 3,
        GgmlDType::Q5_0 => 6,
        GgmlDType::Q5_1 => 7,
        GgmlDType::Q8_0 => 8,
        GgmlDType::Q8_1 => 9,
        GgmlDType::Q2K => 10,
        GgmlDType::Q3K => 11,
        GgmlDType::Q4K => 12,
        GgmlDType::Q5K => 13,
        GgmlDType::Q6K => 14,
        GgmlDType::Q8K => 15,
        GgmlDType::BF16 => 30,
    }
}

/// How matrices get their values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Fill {
    /// Every value drawn and quantized (exact, slow: for small models).
    Exact,
    /// What [`Fill::Exact`] draws and quantizes with the same seed, dequantized and stored as f32: the same
    /// model for a computation without quantized activations (the reference the synthetic check measures both
    /// the CPU and the device against).
    Dequantized,
    /// Each block drawn at random from a few thousand quantized blocks of the same type and scale (a 7B model in
    /// seconds; no two rows alike, so no ties in the logits).
    Blocks,
    /// Every matrix in F16, each value drawn, written as the file is (never held in memory whole): the input of
    /// llama.cpp's `llama-quantize`, which then makes the quantized files as it makes real ones.
    F16,
}

/// Distinct blocks per (type, scale) in [`Fill::Blocks`].
const BLOCK_POOL: usize = 4096;

struct Builder {
    w: GgufWriter,
    rng: ChaCha8Rng,
    fill: Fill,
    pools: HashMap<(u32, u32), Vec<u8>>,
}

impl Builder {
    fn uniform(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.rng.random_range(-scale..scale)).collect()
    }

    /// A `rows x cols` matrix (rows = outputs) with entries of standard deviation `gain / sqrt(cols)`.
    fn matrix(&mut self, name: &str, rows: usize, cols: usize, ty: GgmlDType, gain: f32) -> Result<()> {
        let scale = gain * (3.0 / cols as f32).sqrt();
        let dims = [cols as u64, rows as u64]; // GGUF lists the fastest-moving dimension first.
        if self.fill == Fill::F16 {
            let (n, seed) = (rows * cols, self.rng.next_u64());
            self.w.tensor_later(name, &dims, ggml_type_id(GgmlDType::F16), 2 * n as u64, move |w| {
                write_f16_values(w, n, seed, scale)
            });
            return Ok(());
        }
        if ty == GgmlDType::F32 {
            let values = self.uniform(rows * cols, scale);
            self.w.tensor_f32(name, &dims, &values);
            return Ok(());
        }
        let data = match self.fill {
            Fill::Exact => {
                let values = self.uniform(rows * cols, scale);
                QTensor::quantize(&Tensor::from_vec(values, (rows, cols), &Device::Cpu)?, ty)?.data()?.into_owned()
            }
            Fill::Dequantized => {
                let values = self.uniform(rows * cols, scale);
                let q = QTensor::quantize(&Tensor::from_vec(values, (rows, cols), &Device::Cpu)?, ty)?;
                let exact = q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1::<f32>()?;
                self.w.tensor_f32(name, &dims, &exact);
                return Ok(());
            }
            Fill::Blocks => self.pooled_blocks(rows * cols, ty, scale)?,
            Fill::F16 => unreachable!("F16 matrices are written later"),
        };
        self.w.tensor(name, &dims, ggml_type_id(ty), &data);
        Ok(())
    }

    /// `n` values' worth of blocks of type `ty`, each a copy of one of [`BLOCK_POOL`] quantized random blocks.
    fn pooled_blocks(&mut self, n: usize, ty: GgmlDType, scale: f32) -> Result<Vec<u8>> {
        let (block, bytes) = (ty.block_size(), ty.type_size());
        if !n.is_multiple_of(block) {
            bail!("{n} values are not whole blocks of {block}");
        }
        let key = (ggml_type_id(ty), scale.to_bits());
        if !self.pools.contains_key(&key) {
            let values = self.uniform(BLOCK_POOL * block, scale);
            let q = QTensor::quantize(&Tensor::from_vec(values, (BLOCK_POOL, block), &Device::Cpu)?, ty)?;
            self.pools.insert(key, q.data()?.into_owned());
        }
        let pool = &self.pools[&key];
        let mut out = Vec::with_capacity(n / block * bytes);
        for _ in 0..n / block {
            let pick = (self.rng.next_u32() as usize) % BLOCK_POOL;
            out.extend_from_slice(&pool[pick * bytes..(pick + 1) * bytes]);
        }
        Ok(out)
    }

    /// A norm weight near 1.
    fn norm(&mut self, name: &str, n: usize) {
        let v: Vec<f32> = self.uniform(n, 0.2).into_iter().map(|x| 1.0 + x).collect();
        self.w.tensor_f32(name, &[n as u64], &v);
    }

    fn bias(&mut self, name: &str, n: usize) {
        let v = self.uniform(n, 0.5);
        self.w.tensor_f32(name, &[n as u64], &v);
    }
}

/// Writes `n` values drawn uniformly from `-scale..scale` as F16, made in parallel chunks of their own seeds.
fn write_f16_values(w: &mut dyn std::io::Write, n: usize, seed: u64, scale: f32) -> std::io::Result<()> {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 20;
    let chunks: Vec<usize> = (0..n.div_ceil(CHUNK)).collect();
    for group in chunks.chunks(16) {
        let bytes: Vec<Vec<u8>> = group
            .par_iter()
            .map(|&c| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let len = CHUNK.min(n - c * CHUNK);
                (0..len).flat_map(|_| f16_bits(rng.random_range(-scale..scale)).to_le_bytes()).collect()
            })
            .collect();
        for b in bytes {
            w.write_all(&b)?;
        }
    }
    Ok(())
}

/// `x` as IEEE half precision, rounded to nearest; magnitudes under F16's smallest normal (2^-14) become zero.
fn f16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
    if exp <= 0 {
        return sign;
    }
    if exp >= 31 {
        return sign | 0x7c00;
    }
    let mant = b & 0x7f_ffff;
    // A carry out of the mantissa correctly bumps the exponent.
    sign | ((((exp as u32) << 10) | (mant >> 13)) + ((mant >> 12) & 1)) as u16
}

/// The tokenizer entries (`tokenizer.*`) of a GGUF file, vocabulary included.
fn tokenizer_entries(path: &Path) -> Result<Vec<(String, GgufValue)>> {
    let info = read_info(path, &ReadOptions::full()).with_context(|| format!("reading {}", path.display()))?;
    let entries: Vec<(String, GgufValue)> =
        info.metadata.into_iter().filter(|(k, _)| k.starts_with("tokenizer.")).collect();
    if !entries.iter().any(|(k, _)| k == "tokenizer.ggml.tokens") {
        bail!("{} has no tokenizer.ggml.tokens", path.display());
    }
    Ok(entries)
}

fn vocab_len(entries: &[(String, GgufValue)]) -> usize {
    entries
        .iter()
        .find_map(|(k, v)| match (k.as_str(), v) {
            ("tokenizer.ggml.tokens", GgufValue::Array(a)) => Some(a.len()),
            _ => None,
        })
        .unwrap_or(0)
}

/// `gpu_check --vocab-donor SRC OUT`.
pub(super) fn write_vocab_donor(src: &Path, out: &Path) -> Result<()> {
    let entries = tokenizer_entries(src)?;
    let mut w = GgufWriter::new();
    w.kv("general.architecture", GgufValue::String("vocab-donor".into()));
    let n = vocab_len(&entries);
    for (k, v) in entries {
        w.kv(k, v);
    }
    w.write_to(out)?;
    println!(
        "{}: the tokenizer of {} ({n} tokens), {} bytes",
        out.display(),
        src.display(),
        std::fs::metadata(out)?.len()
    );
    Ok(())
}

/// `gpu_check --make-models DIR --vocab-from DONOR [--only 0.5b,1.5b,7b] [--f16]`: by default 0.5b and 7b in
/// their quantized types; with `f16`, every matrix in F16 (`synthetic-qwen2-<size>-f16.gguf`).
pub(super) fn make_models(dir: &Path, donor: &Path, only: Option<&str>, f16: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let entries = tokenizer_entries(donor)?;
    let wanted: Vec<&str> = only.unwrap_or("0.5b,7b").split(',').map(str::trim).collect();
    let known = [("0.5b", &QWEN_0_5B), ("1.5b", &QWEN_1_5B), ("7b", &QWEN_7B)];
    if let Some(bad) = wanted.iter().find(|w| !known.iter().any(|(k, _)| k == *w)) {
        bail!("--only {bad}: the sizes are 0.5b, 1.5b and 7b");
    }
    for (key, spec) in known {
        if !wanted.contains(&key) {
            continue;
        }
        let (file, fill) =
            if f16 { (format!("{}-f16", spec.name), Fill::F16) } else { (spec.name.into(), Fill::Blocks) };
        let path = dir.join(format!("{file}.gguf"));
        let t = Instant::now();
        write(spec, &path, 7, fill, Some(&entries))?;
        println!(
            "wrote {} ({} MiB) in {:.1} s",
            path.display(),
            std::fs::metadata(&path)?.len() >> 20,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// Writes the model of `spec` to `path`; with `tokenizer`, its vocabulary size is the tokenizer's.
pub(super) fn write(
    s: &Spec,
    path: &Path,
    seed: u64,
    fill: Fill,
    tokenizer: Option<&[(String, GgufValue)]>,
) -> Result<()> {
    let mut b = Builder { w: GgufWriter::new(), rng: ChaCha8Rng::seed_from_u64(seed), fill, pools: HashMap::new() };
    let a = s.arch;
    let vocab = tokenizer.map(vocab_len).filter(|&n| n > 0).unwrap_or(s.vocab);
    let u = |v: usize| GgufValue::U32(v as u32);
    b.w.kv("general.architecture", GgufValue::String(a.into()))
        .kv("general.name", GgufValue::String(format!("gpu_check {}", s.name)))
        .kv(format!("{a}.block_count"), u(s.n_layer))
        .kv(format!("{a}.context_length"), u(32_768))
        .kv(format!("{a}.embedding_length"), u(s.n_embd))
        .kv(format!("{a}.feed_forward_length"), u(s.n_ff))
        .kv(format!("{a}.attention.head_count"), u(s.n_head))
        .kv(format!("{a}.attention.head_count_kv"), u(s.n_head_kv))
        .kv(format!("{a}.attention.key_length"), u(s.head_dim))
        .kv(format!("{a}.attention.value_length"), u(s.head_dim))
        .kv(format!("{a}.attention.layer_norm_rms_epsilon"), GgufValue::F32(1e-6))
        .kv(format!("{a}.rope.freq_base"), GgufValue::F32(s.rope_base))
        .kv(format!("{a}.vocab_size"), u(vocab));
    if let Some(w) = s.sliding_window {
        b.w.kv(format!("{a}.attention.sliding_window"), u(w))
            .kv(format!("{a}.attention.sliding_window_pattern"), u(2))
            .kv(format!("{a}.rope.local_freq_base"), GgufValue::F32(10_000.0));
    }
    for (k, v) in tokenizer.unwrap_or_default() {
        b.w.kv(k.clone(), v.clone());
    }

    let (q_dim, kv_dim) = (s.n_head * s.head_dim, s.n_head_kv * s.head_dim);
    // Embedding rows of unit-ish size; the output projection is scaled up so that logits spread over several
    // nats (clear winners, as in a trained model, rather than a near-uniform distribution of near-ties).
    b.matrix("token_embd.weight", vocab, s.n_embd, s.embd_type, (s.n_embd as f32).sqrt() * 0.5)?;
    if let Some(ty) = s.output_type {
        b.matrix("output.weight", vocab, s.n_embd, ty, 4.0)?;
    }
    b.norm("output_norm.weight", s.n_embd);
    for il in 0..s.n_layer {
        let p = format!("blk.{il}");
        let (qk_type, v_type, ffn_type, down_type) = match s.mix {
            Mix::TestModels => (
                GgmlDType::Q5_0,
                if il % 2 == 0 { GgmlDType::Q8_0 } else { GgmlDType::Q5_0 },
                GgmlDType::Q5_0,
                if il % 2 == 0 { GgmlDType::Q6K } else { GgmlDType::Q4K },
            ),
            Mix::Q4KM => {
                let wide = if il % 2 == 0 { GgmlDType::Q6K } else { GgmlDType::Q4K };
                (GgmlDType::Q4K, wide, GgmlDType::Q4K, wide)
            }
        };
        b.norm(&format!("{p}.attn_norm.weight"), s.n_embd);
        b.matrix(&format!("{p}.attn_q.weight"), q_dim, s.n_embd, qk_type, 1.0)?;
        b.matrix(&format!("{p}.attn_k.weight"), kv_dim, s.n_embd, qk_type, 1.0)?;
        b.matrix(&format!("{p}.attn_v.weight"), kv_dim, s.n_embd, v_type, 1.0)?;
        b.matrix(&format!("{p}.attn_output.weight"), s.n_embd, q_dim, s.attn_out_type, 1.0)?;
        if s.qkv_bias {
            b.bias(&format!("{p}.attn_q.bias"), q_dim);
            b.bias(&format!("{p}.attn_k.bias"), kv_dim);
            b.bias(&format!("{p}.attn_v.bias"), kv_dim);
        }
        if s.qk_norm {
            b.norm(&format!("{p}.attn_q_norm.weight"), s.head_dim);
            b.norm(&format!("{p}.attn_k_norm.weight"), s.head_dim);
        }
        if s.post_norms {
            b.norm(&format!("{p}.post_attention_norm.weight"), s.n_embd);
            b.norm(&format!("{p}.post_ffw_norm.weight"), s.n_embd);
        }
        b.norm(&format!("{p}.ffn_norm.weight"), s.n_embd);
        b.matrix(&format!("{p}.ffn_gate.weight"), s.n_ff, s.n_embd, ffn_type, 1.0)?;
        b.matrix(&format!("{p}.ffn_up.weight"), s.n_ff, s.n_embd, ffn_type, 1.0)?;
        b.matrix(&format!("{p}.ffn_down.weight"), s.n_embd, s.n_ff, down_type, 1.0)?;
    }
    b.w.write_to(path)?;
    Ok(())
}
