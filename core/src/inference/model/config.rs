//! A model's hyperparameters, read from its GGUF metadata the way llama.cpp reads them.

use crate::error::{Error, Result};
use crate::gguf::GgufInfo;

/// The transformer families the core runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Llama 2/3, Mistral, TinyLlama: interleaved RoPE, SiLU MLP.
    Llama,
    /// Qwen2 / Qwen2.5: NeoX RoPE, biases on q/k/v.
    Qwen2,
    /// Qwen3: NeoX RoPE, RMS-normed q/k per head.
    Qwen3,
    /// Gemma 2: GELU MLP, post-norms, soft-capped logits, every other layer local.
    Gemma2,
    /// Gemma 3: GELU MLP, post-norms, q/k norms, five local layers for each global one.
    Gemma3,
}

impl Arch {
    /// The architecture named by `general.architecture`; anything else is a clear error naming it.
    pub fn from_name(name: &str) -> Result<Arch> {
        Ok(match name {
            "llama" | "mistral" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "qwen3" => Arch::Qwen3,
            "gemma2" => Arch::Gemma2,
            "gemma3" => Arch::Gemma3,
            other => {
                return Err(Error::Unsupported(format!(
                    "the model architecture '{other}' is not supported (supported: llama, mistral, qwen2, qwen3, \
                     gemma2, gemma3)"
                )));
            }
        })
    }

    fn is_gemma(self) -> bool {
        matches!(self, Arch::Gemma2 | Arch::Gemma3)
    }
}

/// How RoPE pairs the dimensions of a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RopeStyle {
    /// Adjacent pairs (llama.cpp's `NORM`; GGUF llama weights are permuted for it).
    Interleaved,
    /// First half with second half (llama.cpp's `NEOX`).
    Halves,
}

/// Everything the forward pass needs to know about the model's shape.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub arch: Arch,
    pub n_layer: usize,
    pub n_embd: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    pub head_dim: usize,
    pub n_ff: usize,
    pub n_vocab: usize,
    /// The context the model was trained for.
    pub context_length: usize,
    pub rms_eps: f32,
    pub rope_style: RopeStyle,
    pub rope_base: f32,
    /// RoPE base of sliding-window layers (Gemma 3 uses 10000 there).
    pub rope_base_local: f32,
    /// Linear RoPE scaling (positions are multiplied by it).
    pub rope_freq_scale: f32,
    /// The window of sliding-window layers, in tokens (a token sees itself and the `window - 1` before it).
    pub sliding_window: Option<usize>,
    /// Which layers use the sliding window.
    pub is_local_layer: Vec<bool>,
    /// Multiplies queries before the dot product with keys.
    pub attention_scale: f32,
    pub attn_softcap: Option<f32>,
    pub final_softcap: Option<f32>,
    /// Token embeddings are multiplied by sqrt(n_embd) (Gemma).
    pub scale_embeddings: bool,
}

impl ModelConfig {
    /// Reads the hyperparameters of `info`'s architecture.
    pub fn from_gguf(info: &GgufInfo) -> Result<ModelConfig> {
        let arch_name =
            info.architecture().ok_or_else(|| Error::InvalidGguf("general.architecture is missing".into()))?;
        let arch = Arch::from_name(arch_name)?;
        let key = |k: &str| format!("{arch_name}.{k}");
        let int = |k: &str| -> Option<usize> { info.get(&key(k)).and_then(|v| v.as_u64()).map(|v| v as usize) };
        let float = |k: &str| -> Option<f32> { info.get(&key(k)).and_then(|v| v.as_f64()).map(|v| v as f32) };
        let need = |k: &str| int(k).ok_or_else(|| Error::InvalidGguf(format!("{} is missing", key(k))));

        let n_layer = need("block_count")?;
        let n_embd = need("embedding_length")?;
        let n_head = need("attention.head_count")?;
        let n_head_kv = int("attention.head_count_kv").unwrap_or(n_head);
        let head_dim = int("attention.key_length").unwrap_or(n_embd / n_head.max(1));
        if n_head == 0 || n_head_kv == 0 || n_head % n_head_kv != 0 || head_dim == 0 || head_dim % 2 != 0 {
            return Err(Error::InvalidGguf(format!(
                "inconsistent attention shape: {n_head} heads, {n_head_kv} kv heads, head size {head_dim}"
            )));
        }
        let n_vocab = info
            .get("tokenizer.ggml.tokens")
            .and_then(|v| match v {
                crate::gguf::GgufValue::Array(a) => Some(a.len()),
                crate::gguf::GgufValue::SkippedArray { len, .. } => Some(*len as usize),
                _ => None,
            })
            .or_else(|| int("vocab_size"))
            .ok_or_else(|| Error::InvalidGguf("the vocabulary size is unknown".into()))?;

        let swa = if arch.is_gemma() { int("attention.sliding_window").filter(|w| *w > 0) } else { None };
        let pattern = match arch {
            Arch::Gemma3 => int("attention.sliding_window_pattern").unwrap_or(6),
            Arch::Gemma2 => 2,
            _ => 0,
        };
        // llama.cpp: a layer is local when `il % pattern < pattern - 1` (the last of each group is global).
        let is_local_layer =
            (0..n_layer).map(|il| swa.is_some() && pattern > 0 && il % pattern < pattern - 1).collect();

        let scale_factor = float("rope.scaling.factor").filter(|f| *f > 0.0);
        let rope_style = match arch {
            Arch::Llama => RopeStyle::Interleaved,
            _ => RopeStyle::Halves,
        };
        Ok(ModelConfig {
            arch,
            n_layer,
            n_embd,
            n_head,
            n_head_kv,
            head_dim,
            n_ff: int("feed_forward_length").unwrap_or(4 * n_embd),
            n_vocab,
            context_length: int("context_length").unwrap_or(4096),
            rms_eps: float("attention.layer_norm_rms_epsilon").unwrap_or(1e-5),
            rope_style,
            rope_base: float("rope.freq_base").unwrap_or(10_000.0),
            rope_base_local: float("rope.local_freq_base").unwrap_or(10_000.0),
            rope_freq_scale: scale_factor.map_or(1.0, |f| 1.0 / f),
            sliding_window: swa,
            is_local_layer,
            // Gemma's 27B models scale by the model width per head, the others by the head size (llama.cpp
            // follows gemma_pytorch's config here).
            attention_scale: if (arch == Arch::Gemma3 && n_layer == 62) || (arch == Arch::Gemma2 && n_layer == 46) {
                1.0 / ((n_embd / n_head) as f32).sqrt()
            } else {
                1.0 / (head_dim as f32).sqrt()
            },
            attn_softcap: if arch == Arch::Gemma2 { float("attn_logit_softcapping").or(Some(50.0)) } else { None },
            final_softcap: match arch {
                Arch::Gemma2 => float("final_logit_softcapping").or(Some(30.0)),
                Arch::Gemma3 => float("final_logit_softcapping").filter(|c| *c > 0.0),
                _ => None,
            },
            scale_embeddings: arch.is_gemma(),
        })
    }

    /// The RoPE base of layer `il`.
    pub fn rope_base_of(&self, il: usize) -> f32 {
        if self.is_local_layer[il] && self.arch == Arch::Gemma3 { self.rope_base_local } else { self.rope_base }
    }

    /// Key/value cache bytes per token (f32 keys and values over all layers).
    pub fn kv_bytes_per_token(&self) -> usize {
        2 * self.n_layer * self.n_head_kv * self.head_dim * std::mem::size_of::<f32>()
    }
}
