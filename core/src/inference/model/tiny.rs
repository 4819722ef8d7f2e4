//! A tiny llama-family GGUF for unit tests: two layers, 32 wide, a SentencePiece vocabulary of 264 tokens and
//! pseudo-random weights (Q8_0 matrices, F32 norms, embeddings tied to the output). Small enough to write in a
//! millisecond, complete enough to load and run through every path a real model takes (tokenizer, template,
//! config, packed or candle matrices).

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use crate::gguf::GgufValue;
use crate::gguf::writer::GgufWriter;

pub(crate) const N_EMBD: usize = 32;
const N_HEAD: usize = 4;
const N_HEAD_KV: usize = 2;
const N_FF: usize = 64;
const N_LAYER: usize = 2;
pub(crate) const CONTEXT: u32 = 128;
/// Q8_0 in ggml's type ids.
const Q8_0: u32 = 8;

/// The tiny model's file.
pub(crate) fn writer() -> GgufWriter {
    writer_of("llama")
}

/// The tiny model's file as architecture `arch` (`llama`, `qwen2`: the same tensors, the RoPE style differs).
pub(crate) fn writer_of(arch: &str) -> GgufWriter {
    let mut tokens: Vec<String> =
        ["<unk>", "<s>", "</s>", "\u{2581}", "a", "b", "\u{2581}a", "ab"].map(String::from).into();
    let mut types = vec![2, 3, 3, 1, 1, 1, 1, 1];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(6);
    }
    let scores: Vec<GgufValue> = (0..tokens.len()).map(|i| GgufValue::F32(-(i as f32))).collect();
    let n_vocab = tokens.len();

    let mut w = GgufWriter::new();
    let u32v = |v: usize| GgufValue::U32(v as u32);
    w.kv("general.architecture", GgufValue::String(arch.into()))
        .kv("general.name", GgufValue::String("tiny".into()))
        .kv(format!("{arch}.context_length"), GgufValue::U32(CONTEXT))
        .kv(format!("{arch}.block_count"), u32v(N_LAYER))
        .kv(format!("{arch}.embedding_length"), u32v(N_EMBD))
        .kv(format!("{arch}.feed_forward_length"), u32v(N_FF))
        .kv(format!("{arch}.attention.head_count"), u32v(N_HEAD))
        .kv(format!("{arch}.attention.head_count_kv"), u32v(N_HEAD_KV))
        .kv(format!("{arch}.attention.layer_norm_rms_epsilon"), GgufValue::F32(1e-5))
        .kv("tokenizer.ggml.model", GgufValue::String("llama".into()))
        .kv("tokenizer.ggml.tokens", GgufValue::Array(tokens.into_iter().map(GgufValue::String).collect()))
        .kv("tokenizer.ggml.scores", GgufValue::Array(scores))
        .kv("tokenizer.ggml.token_type", GgufValue::Array(types.into_iter().map(GgufValue::I32).collect()))
        .kv("tokenizer.chat_template", GgufValue::String("{% for m in messages %}{{ m.content }}{% endfor %}".into()));

    let mut seed = 1u64;
    let head_dim = N_EMBD / N_HEAD;
    matrix(&mut w, "token_embd.weight", n_vocab, N_EMBD, &mut seed);
    norm(&mut w, "output_norm.weight", N_EMBD);
    for il in 0..N_LAYER {
        let p = format!("blk.{il}");
        norm(&mut w, &format!("{p}.attn_norm.weight"), N_EMBD);
        matrix(&mut w, &format!("{p}.attn_q.weight"), N_HEAD * head_dim, N_EMBD, &mut seed);
        matrix(&mut w, &format!("{p}.attn_k.weight"), N_HEAD_KV * head_dim, N_EMBD, &mut seed);
        matrix(&mut w, &format!("{p}.attn_v.weight"), N_HEAD_KV * head_dim, N_EMBD, &mut seed);
        matrix(&mut w, &format!("{p}.attn_output.weight"), N_EMBD, N_HEAD * head_dim, &mut seed);
        norm(&mut w, &format!("{p}.ffn_norm.weight"), N_EMBD);
        matrix(&mut w, &format!("{p}.ffn_gate.weight"), N_FF, N_EMBD, &mut seed);
        matrix(&mut w, &format!("{p}.ffn_up.weight"), N_FF, N_EMBD, &mut seed);
        matrix(&mut w, &format!("{p}.ffn_down.weight"), N_EMBD, N_FF, &mut seed);
    }
    w
}

/// The tiny model with an output projection of its own (untied embeddings).
pub(crate) fn untied() -> GgufWriter {
    let mut w = writer();
    let mut seed = 7u64;
    matrix(&mut w, "output.weight", 264, N_EMBD, &mut seed);
    w
}

/// A `rows x cols` Q8_0 matrix of values in -0.5..0.5 (ggml lists its dimensions innermost first).
#[allow(clippy::unwrap_used)]
fn matrix(w: &mut GgufWriter, name: &str, rows: usize, cols: usize, seed: &mut u64) {
    let values: Vec<f32> = (0..rows * cols)
        .map(|_| {
            *seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (*seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect();
    let t = Tensor::from_vec(values, (rows, cols), &Device::Cpu).unwrap();
    let q = QTensor::quantize(&t, GgmlDType::Q8_0).unwrap();
    w.tensor(name, &[cols as u64, rows as u64], Q8_0, &q.data().unwrap());
}

fn norm(w: &mut GgufWriter, name: &str, n: usize) {
    w.tensor_f32(name, &[n as u64], &vec![1.0; n]);
}
