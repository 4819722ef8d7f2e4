//! Text <-> token ids for GGUF models, from the file's own metadata (no `tokenizer.json`), matching llama.cpp's
//! ids exactly.
//!
//! Jan's reference engine is llama.cpp: a model must see the same ids here as there, or the same prompt gives
//! different answers, and the chat template's special tokens must become their single ids. So this follows
//! llama.cpp's tokenizer (src/llama-vocab.cpp), quirks included, rather than SentencePiece or Hugging Face's:
//!
//! - `tokenizer.ggml.model == "llama"` (Gemma, Llama 2, Mistral, TinyLlama): SentencePiece-style bigram merges by
//!   score over code points, spaces escaped to U+2581, an optional leading space (`add_space_prefix`), byte
//!   fallback to `<0xXX>` tokens. See `spm.rs`.
//! - `"gpt2"` (Qwen, Llama 3, ...): byte-level BPE with ranked merges inside words, words cut by the pre-tokenizer
//!   that `tokenizer.ggml.pre` names. See `bpe.rs` and `pretokenize.rs`.
//! - Special tokens (control, user-defined) are cut out of the text first when asked (`parse_special`), so
//!   `<|im_start|>` is one id; user-defined tokens are cut out always, as in llama.cpp. See `special.rs`.
//!
//! Loading takes the vocabulary from a [`GgufInfo`] read with [`ReadOptions::full`](crate::gguf::ReadOptions::full).
//! A [`Tokenizer`] is immutable, `Send + Sync`; keep one per model in an `Arc`.

mod bpe;
mod pretokenize;
mod special;
mod spm;
mod unicode;
mod unicode_table;
mod vocab;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fmt;

use crate::error::{Error, Result};
use crate::gguf::{GgufInfo, GgufValue};
use pretokenize::PreTokenizer;
use special::{Fragment, Special, SpecialTokens};
use vocab::{Texts, Vocab, attr};

/// Which tokenization algorithm a vocabulary uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerKind {
    /// SentencePiece-style (`tokenizer.ggml.model == "llama"`).
    Spm,
    /// Byte-level BPE (`tokenizer.ggml.model == "gpt2"`).
    Bpe,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    Spm,
    Bpe(PreTokenizer),
}

/// A GGUF model's tokenizer: encodes text to ids and decodes ids to text exactly as llama.cpp does.
pub struct Tokenizer {
    vocab: Vocab,
    model: Model,
    specials: SpecialTokens,
    /// What each token prints as (control tokens included), concatenated; token `i` is
    /// `pieces[piece_ends[i - 1]..piece_ends[i]]`. Precomputed so decoding a token is a slice copy.
    pieces: Vec<u8>,
    piece_ends: Vec<u32>,
    bos: Option<u32>,
    eos: Option<u32>,
    eot: Option<u32>,
    add_bos: bool,
    add_eos: bool,
    add_space_prefix: bool,
    /// Detokenizing removes spaces before punctuation and in contractions (GPT-2-era BPE vocabularies).
    clean_spaces: bool,
    /// Sorted ids that end generation.
    eog: Vec<u32>,
}

impl fmt::Debug for Tokenizer {
    // The vocabulary is far too large to print.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("kind", &self.kind())
            .field("model", &self.model)
            .field("vocab_size", &self.vocab_size())
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("add_bos", &self.add_bos)
            .field("add_eos", &self.add_eos)
            .field("add_space_prefix", &self.add_space_prefix)
            .field("stop_tokens", &self.eog)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Loading

/// Texts llama.cpp recognises as end-of-turn tokens when the file names none (`tokenizer.ggml.eot_token_id`).
const EOT_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];

/// Fill-in-the-middle token texts llama.cpp recognises when the file names none: (key, texts).
const FIM_TEXTS: &[(&str, &[&str])] = &[
    (
        "tokenizer.ggml.fim_pre_token_id",
        &[
            "<|fim_prefix|>",
            "<fim-prefix>",
            "<fim_prefix>",
            "<｜fim▁begin｜>",
            "<PRE>",
            "▁<PRE>",
            "<|code_prefix|>",
            "<|prefix|>",
        ],
    ),
    (
        "tokenizer.ggml.fim_suf_token_id",
        &[
            "<|fim_suffix|>",
            "<fim-suffix>",
            "<fim_suffix>",
            "<｜fim▁hole｜>",
            "<SUF>",
            "▁<SUF>",
            "<|code_suffix|>",
            "<|suffix|>",
        ],
    ),
    (
        "tokenizer.ggml.fim_mid_token_id",
        &[
            "<|fim_middle|>",
            "<fim-middle>",
            "<fim_middle>",
            "<｜fim▁end｜>",
            "<MID>",
            "▁<MID>",
            "<|code_middle|>",
            "<|middle|>",
        ],
    ),
    ("tokenizer.ggml.fim_pad_token_id", &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
    ("tokenizer.ggml.fim_rep_token_id", &["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
    ("tokenizer.ggml.fim_sep_token_id", &["<|file_sep|>"]),
];

/// Texts of tokens that end generation, as llama.cpp's vocabulary loader lists them.
const EOG_TEXTS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

/// How a BPE vocabulary's `tokenizer.ggml.pre` behaves in llama.cpp.
#[derive(Debug, Clone, Copy)]
struct PreConfig {
    pre: PreTokenizer,
    ignore_merges: bool,
    add_bos: bool,
    clean_spaces: bool,
    no_bos: bool,
}

/// The pre-tokenizers supported, by `tokenizer.ggml.pre` value: those whose splitting llama.cpp does with the
/// GPT-2, Llama 3, Qwen 2 or Qwen 3.5 regexes (alone or with digit splitting).
fn pre_config(name: &str) -> Option<PreConfig> {
    let base = |pre| PreConfig { pre, ignore_merges: false, add_bos: false, clean_spaces: true, no_bos: false };
    let no_clean = |pre| PreConfig { clean_spaces: false, ..base(pre) };
    Some(match name {
        "default" => base(PreTokenizer::Default),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0" | "lfm2"
        | "jina-v5-nano" => PreConfig { ignore_merges: true, add_bos: true, ..base(PreTokenizer::Llama3) },
        "dbrx" | "smaug-bpe" => base(PreTokenizer::Llama3),
        "chatglm-bpe" => PreConfig { no_bos: true, ..base(PreTokenizer::Llama3) },
        "glm4" | "glm5" => PreConfig { no_bos: true, ignore_merges: true, ..base(PreTokenizer::Llama3) },
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "hunyuan" | "solar-open" | "grok-2" => {
            no_clean(PreTokenizer::Qwen2)
        }
        "stablelm2" | "megrez" => base(PreTokenizer::Qwen2),
        "qwen35" => no_clean(PreTokenizer::Qwen35),
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de" | "a.x-4.0" | "mellum"
        | "modern-bert" | "jina-v1-en" | "jina-v2-code" | "roberta-bpe" | "mpt" | "olmo" | "jais" | "exaone4" => {
            base(PreTokenizer::Gpt2)
        }
        "trillion" | "granite-docling" => no_clean(PreTokenizer::Gpt2),
        "starcoder" | "refact" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => base(PreTokenizer::Starcoder),
        "command-r" | "smollm" => no_clean(PreTokenizer::Starcoder),
        _ => return None,
    })
}

fn invalid(msg: impl fmt::Display) -> Error {
    Error::InvalidGguf(format!("bad tokenizer metadata: {msg}"))
}

/// Metadata accessors that report wrong types as invalid files.
struct Meta<'a>(&'a GgufInfo);

impl<'a> Meta<'a> {
    fn get(&self, key: &str) -> Option<&'a GgufValue> {
        self.0.get(key)
    }

    fn str(&self, key: &str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(GgufValue::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid(format_args!("{key} is not a string"))),
        }
    }

    /// Booleans; integers are accepted too (non-zero is true), as some converters write them so.
    fn bool(&self, key: &str) -> Option<bool> {
        match self.get(key)? {
            GgufValue::Bool(b) => Some(*b),
            v => v.as_u64().map(|n| n != 0),
        }
    }

    fn array(&self, key: &str) -> Result<Option<&'a [GgufValue]>> {
        match self.get(key) {
            None => Ok(None),
            Some(GgufValue::Array(items)) => Ok(Some(items)),
            Some(GgufValue::SkippedArray { .. }) => Err(Error::InvalidRequest(format!(
                "{key} was skipped when the model's metadata was read; read it with ReadOptions::full() to load the tokenizer"
            ))),
            Some(_) => Err(invalid(format_args!("{key} is not an array"))),
        }
    }
}

impl Tokenizer {
    /// Builds the tokenizer from a GGUF file's `tokenizer.ggml.*` metadata, read with
    /// [`ReadOptions::full`](crate::gguf::ReadOptions::full) so the vocabulary arrays are present.
    ///
    /// Errors: [`Error::Unsupported`] for tokenizer models other than `llama` and `gpt2`, or a BPE pre-tokenizer
    /// this module does not implement (ids would silently differ from llama.cpp's); [`Error::InvalidGguf`] for
    /// malformed metadata (missing or mistyped arrays, arrays shorter than the vocabulary, duplicate tokens, merges
    /// naming tokens that do not exist); [`Error::InvalidRequest`] if the arrays were skipped when reading.
    pub fn from_gguf(info: &GgufInfo) -> Result<Tokenizer> {
        let meta = Meta(info);
        let model_name = meta.str("tokenizer.ggml.model")?.ok_or_else(|| invalid("tokenizer.ggml.model is missing"))?;
        let pre_name = meta.str("tokenizer.ggml.pre")?;

        // Per-model defaults, before the file's own settings.
        let (model, pre_config) = match model_name {
            "llama" => (Model::Spm, None),
            "gpt2" => {
                let name = pre_name.unwrap_or_else(|| {
                    tracing::warn!("GGUF names no BPE pre-tokenizer (tokenizer.ggml.pre); using llama.cpp's default");
                    "default"
                });
                let config = pre_config(name).ok_or_else(|| {
                    Error::Unsupported(format!(
                        "the BPE pre-tokenizer '{}' (tokenizer.ggml.pre) is not supported",
                        name.escape_debug()
                    ))
                })?;
                (Model::Bpe(config.pre), Some(config))
            }
            other => {
                return Err(Error::Unsupported(format!(
                    "the tokenizer model '{}' (tokenizer.ggml.model) is not supported; only 'llama' (SentencePiece) \
                     and 'gpt2' (byte-level BPE) are",
                    other.escape_debug()
                )));
            }
        };
        let (mut bos, mut eos, mut unk) = match model {
            Model::Spm => (Some(1), Some(2), Some(0)),
            Model::Bpe(_) => (Some(11), Some(11), None),
        };
        if pre_config.is_some_and(|c| c.no_bos) {
            bos = None;
        }
        let mut add_bos = pre_config.is_none_or(|c| c.add_bos);
        let mut add_eos = false;
        let add_space_prefix = meta.bool("tokenizer.ggml.add_space_prefix").unwrap_or(model == Model::Spm);
        let clean_spaces = pre_config.is_some_and(|c| c.clean_spaces);

        // The vocabulary.
        let token_values =
            meta.array("tokenizer.ggml.tokens")?.ok_or_else(|| invalid("tokenizer.ggml.tokens is missing"))?;
        let n = token_values.len();
        if n == 0 {
            return Err(invalid("tokenizer.ggml.tokens is empty"));
        }
        let n_u32 = u32::try_from(n).ok().filter(|&n| n < i32::MAX as u32).ok_or_else(|| {
            invalid(format_args!("tokenizer.ggml.tokens has {n} entries, more than token ids can number"))
        })?;
        let mut renamed: Vec<(usize, String)> = Vec::new();
        let mut total_len = 0usize;
        for (i, v) in token_values.iter().enumerate() {
            let GgufValue::String(s) = v else {
                return Err(invalid(format_args!("tokenizer.ggml.tokens[{i}] is not a string")));
            };
            // llama.cpp renames empty tokens so they stay distinct.
            if s.is_empty() {
                renamed.push((i, format!("[EMPTY_{i}]")));
            }
            total_len += s.len().max(32);
        }
        if u32::try_from(total_len).is_err() {
            return Err(invalid("tokenizer.ggml.tokens holds more than 4 GiB of text"));
        }
        let token_text = |i: usize| match renamed.binary_search_by_key(&i, |r| r.0) {
            Ok(j) => renamed[j].1.as_str(),
            Err(_) => token_values[i].as_str().unwrap_or(""),
        };

        let scores = read_scores(&meta, n)?;
        let mut attrs = read_attrs(&meta, n)?;

        let (texts, duplicates) = Texts::new((0..n).map(token_text));
        for d in duplicates {
            let text = texts.text(d.first);
            // GGUF strings are decoded lossily, so a file whose tokens differ only in invalid UTF-8 can collide
            // here; the first keeps the text rather than refusing a model that llama.cpp would load.
            if text.contains(char::REPLACEMENT_CHARACTER) {
                tracing::warn!(first = d.first, second = d.second, "duplicate token text after UTF-8 decoding");
            } else {
                return Err(invalid(format_args!(
                    "tokens {} and {} are both '{}' in tokenizer.ggml.tokens",
                    d.first,
                    d.second,
                    short(text)
                )));
            }
        }

        let byte_tokens = std::array::from_fn(|b| {
            let b = b as u8;
            match model {
                // llama.cpp: `<0xXX>`, else the byte itself as a one-byte token.
                Model::Spm => texts
                    .id(&format!("<0x{b:02X}>"))
                    .or_else(|| if b.is_ascii() { texts.id(char::from(b).encode_utf8(&mut [0; 4])) } else { None }),
                Model::Bpe(_) => texts.id(bpe::byte_to_char(b).encode_utf8(&mut [0; 4])),
            }
        });

        let merges = match model {
            Model::Spm => HashMap::new(),
            Model::Bpe(_) => read_merges(&meta, &texts)?,
        };

        // Special token ids: defaults that exist, then the file's, when they name a token.
        let in_range = |id: Option<u32>| id.filter(|&id| id < n_u32);
        bos = in_range(bos);
        eos = in_range(eos);
        unk = in_range(unk);
        let id_key = |key: &str, default: Option<u32>| -> Option<u32> {
            let Some(v) = meta.get(key) else {
                return default;
            };
            match v.as_u64().and_then(|id| u32::try_from(id).ok()).filter(|&id| id < n_u32) {
                Some(id) => Some(id),
                None => {
                    tracing::warn!(key, value = ?v, "special token id out of the vocabulary; ignoring it");
                    default
                }
            }
        };
        bos = id_key("tokenizer.ggml.bos_token_id", bos);
        eos = id_key("tokenizer.ggml.eos_token_id", eos);
        unk = id_key("tokenizer.ggml.unknown_token_id", unk);
        let mut eot = id_key("tokenizer.ggml.eot_token_id", None);
        let mut eom = id_key("tokenizer.ggml.eom_token_id", None);
        let mut fim: Vec<Option<u32>> = FIM_TEXTS.iter().map(|(key, _)| id_key(key, None)).collect();
        // Deprecated names of the first three.
        for (i, key) in
            ["tokenizer.ggml.prefix_token_id", "tokenizer.ggml.suffix_token_id", "tokenizer.ggml.middle_token_id"]
                .iter()
                .enumerate()
        {
            fim[i] = id_key(key, fim[i]);
        }
        if let Some(v) = meta.bool("tokenizer.ggml.add_bos_token") {
            add_bos = v;
        }
        if let Some(v) = meta.bool("tokenizer.ggml.add_eos_token") {
            add_eos = v;
        }

        // Tokens recognised by their text, as llama.cpp does for files that predate the keys. Where several texts
        // qualify llama.cpp's pick depends on hash-map order; the lowest id is taken here.
        let lookup = |text: &str| texts.id(text);
        let first_of = |candidates: &[&str]| candidates.iter().filter_map(|t| lookup(t)).min();
        fn force_control(id: u32, attrs: &mut [u16]) {
            attrs[id as usize] |= attr::CONTROL;
        }
        if eot.is_none() {
            eot = first_of(EOT_TEXTS);
            if let Some(id) = eot {
                force_control(id, &mut attrs);
            }
        }
        if eom.is_none() {
            eom = lookup("<|eom_id|>");
            if let Some(id) = eom {
                force_control(id, &mut attrs);
            }
        }
        for (slot, (_, candidates)) in fim.iter_mut().zip(FIM_TEXTS) {
            if slot.is_none() {
                *slot = first_of(candidates);
                if let Some(id) = *slot {
                    force_control(id, &mut attrs);
                }
            }
        }
        // Control tokens named "unused" are unused.
        for (text, a) in texts.iter().zip(attrs.iter_mut()) {
            if *a & attr::CONTROL != 0 && text.contains("unused") {
                *a |= attr::UNUSED;
            }
        }

        // End-of-generation tokens.
        let mut eog: Vec<u32> = fim[3..].iter().flatten().copied().collect();
        for text in EOG_TEXTS {
            if let Some(id) = lookup(text) {
                eog.push(id);
                force_control(id, &mut attrs);
            }
        }
        // gpt-oss: these always render.
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let Some(id) = lookup(text) {
                attrs[id as usize] = attr::USER_DEFINED;
            }
        }
        eog.extend([eos, eot, eom].into_iter().flatten());
        eog.sort_unstable();
        eog.dedup();
        let eog_has = |eog: &[u32], text: &str| lookup(text).filter(|id| eog.contains(id));
        // o200k_harmony and solar-open: "<|end|>" ends a message, not the generation.
        if let Some(end) = eog_has(&eog, "<|end|>") {
            let call = eog_has(&eog, "<|call|>").or_else(|| eog_has(&eog, "<|calls|>")).is_some();
            let ret = eog_has(&eog, "<|return|>").is_some();
            let flush = eog_has(&eog, "<|flush|>").is_some();
            if call && (ret || flush) {
                eog.retain(|&id| id != end);
                attrs[end as usize] = attr::USER_DEFINED;
            }
        }
        // Gemma 4 and PLaMo have an ordinary "</s>".
        if let Some(s) = eog_has(&eog, "</s>")
            && (eog_has(&eog, "<|tool_response>").is_some() || eog_has(&eog, "<|plamo:eos|>").is_some())
        {
            eog.retain(|&id| id != s);
            attrs[s as usize] = attr::NORMAL;
        }

        let vocab = Vocab {
            texts,
            scores,
            attrs,
            byte_tokens,
            merges,
            ignore_merges: pre_config.is_some_and(|c| c.ignore_merges),
            unk,
        };

        // Special tokens for splitting: control, user-defined and unknown ones.
        let mut specials = SpecialTokens::new(vocab.texts.iter().enumerate().filter_map(|(i, text)| {
            let a = vocab.attrs[i];
            (a & (attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN) != 0).then(|| {
                let special = Special {
                    id: i as u32,
                    len: text.len() as u32,
                    always: a & (attr::CONTROL | attr::UNKNOWN) == 0,
                    lstrip: false,
                    rstrip: false,
                };
                (text, special)
            })
        }));
        apply_strip_rules(&meta, &vocab, &mut specials)?;

        let (pieces, piece_ends) = build_pieces(&vocab, model);

        Ok(Tokenizer {
            vocab,
            model,
            specials,
            pieces,
            piece_ends,
            bos,
            eos,
            eot,
            add_bos,
            add_eos,
            add_space_prefix,
            clean_spaces,
            eog,
        })
    }
}

/// At most the first 80 characters of `s`, for error messages.
fn short(s: &str) -> &str {
    s.char_indices().nth(80).map_or(s, |(i, _)| &s[..i])
}

/// `tokenizer.ggml.scores`: f32 (or i32) per token, at least as many as tokens; all 0 when absent.
fn read_scores(meta: &Meta<'_>, n: usize) -> Result<Vec<f32>> {
    let Some(values) = meta.array("tokenizer.ggml.scores")? else {
        return Ok(vec![0.0; n]);
    };
    if values.len() < n {
        return Err(invalid(format_args!(
            "tokenizer.ggml.scores has {} entries but tokenizer.ggml.tokens has {n}",
            values.len()
        )));
    }
    values[..n]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let score = match *v {
                GgufValue::F32(s) => s,
                GgufValue::I32(s) => s as f32,
                _ => return Err(invalid(format_args!("tokenizer.ggml.scores[{i}] is not a 32-bit number"))),
            };
            // NaN would make the merge order meaningless; -0.0 must compare equal to 0.0.
            Ok(if score.is_nan() { f32::NEG_INFINITY } else { score + 0.0 })
        })
        .collect()
}

/// `tokenizer.ggml.token_type` as attribute bits; all normal when absent.
fn read_attrs(meta: &Meta<'_>, n: usize) -> Result<Vec<u16>> {
    let Some(values) = meta.array("tokenizer.ggml.token_type")? else {
        return Ok(vec![attr::NORMAL; n]);
    };
    if values.len() < n {
        return Err(invalid(format_args!(
            "tokenizer.ggml.token_type has {} entries but tokenizer.ggml.tokens has {n}",
            values.len()
        )));
    }
    values[..n]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let t = match *v {
                GgufValue::I32(t) => i64::from(t),
                GgufValue::U32(t) => i64::from(t),
                _ => return Err(invalid(format_args!("tokenizer.ggml.token_type[{i}] is not a 32-bit integer"))),
            };
            // GGUF token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte; anything else
            // (0 "undefined" included) has no attribute and prints as nothing.
            Ok(match t {
                1 => attr::NORMAL,
                2 => attr::UNKNOWN,
                3 => attr::CONTROL,
                4 => attr::USER_DEFINED,
                5 => attr::UNUSED,
                6 => attr::BYTE,
                _ => 0,
            })
        })
        .collect()
}

/// `tokenizer.ggml.merges` ("left right" strings, best first) keyed by token ids.
fn read_merges(meta: &Meta<'_>, texts: &Texts) -> Result<HashMap<u64, (u32, u32)>> {
    let values = meta
        .array("tokenizer.ggml.merges")?
        .ok_or_else(|| invalid("tokenizer.ggml.merges is missing (a BPE vocabulary needs its merges)"))?;
    let mut merges = HashMap::with_capacity(values.len());
    let mut joined = String::new();
    for (rank, v) in values.iter().enumerate() {
        let GgufValue::String(line) = v else {
            return Err(invalid(format_args!("tokenizer.ggml.merges[{rank}] is not a string")));
        };
        // The parts are separated by the first space after the first byte (a part may itself be a space).
        let split = line.as_bytes().iter().skip(1).position(|&b| b == b' ').map(|i| i + 1);
        let Some((left, right)) = split.map(|i| (&line[..i], &line[i + 1..])) else {
            return Err(invalid(format_args!("tokenizer.ggml.merges[{rank}] '{}' is not two tokens", short(line))));
        };
        let id = |part: &str| {
            texts.id(part).ok_or_else(|| {
                invalid(format_args!(
                    "tokenizer.ggml.merges[{rank}] '{}' names '{}', which is not in the vocabulary",
                    short(line),
                    short(part)
                ))
            })
        };
        let (l, r) = (id(left)?, id(right)?);
        joined.clear();
        joined.push_str(left);
        joined.push_str(right);
        let merged = id(&joined)?;
        // Like llama.cpp, the first occurrence of a pair ranks.
        merges.entry(u64::from(l) << 32 | u64::from(r)).or_insert((rank as u32, merged));
    }
    Ok(merges)
}

/// llama.cpp's per-model LSTRIP / RSTRIP rules (whitespace dropped next to some special tokens).
fn apply_strip_rules(meta: &Meta<'_>, vocab: &Vocab, specials: &mut SpecialTokens) -> Result<()> {
    let name = meta.str("general.name")?.unwrap_or("").to_lowercase();
    let pre = meta.str("tokenizer.ggml.pre")?.unwrap_or("");
    let arch = meta.str("general.architecture")?.unwrap_or("");
    let contains_any = |s: &str, needles: &[&str]| needles.iter().any(|n| s.contains(n));
    if contains_any(pre, &["jina-v2-de", "jina-v2-es", "jina-v2-code"])
        || contains_any(arch, &["nomic-bert-moe", "jina-bert-v3"])
    {
        if let Some(id) = vocab.id_of("<mask>") {
            specials.set_strip(id, Some(true), None);
        }
    } else if contains_any(&name, &["phi-3", "phi3"]) {
        let all: Vec<u32> = specials.ids().collect();
        for id in all {
            specials.set_strip(id, None, Some(true));
        }
        if let Some(id) = vocab.id_of("</s>") {
            specials.set_strip(id, None, Some(true));
        }
        for text in ["<unk>", "<s>", "<|endoftext|>"] {
            if let Some(id) = vocab.id_of(text) {
                specials.set_strip(id, None, Some(false));
            }
        }
    } else if name.contains("modern-bert")
        && let Some(id) = vocab.id_of("[MASK]")
    {
        specials.set_strip(id, Some(true), None);
    }
    Ok(())
}

/// What every token prints as, with control tokens shown (llama.cpp's token-to-piece cache).
fn build_pieces(vocab: &Vocab, model: Model) -> (Vec<u8>, Vec<u32>) {
    let mut pieces = Vec::with_capacity(vocab.texts.iter().map(str::len).sum());
    let mut ends = Vec::with_capacity(vocab.texts.len());
    for (text, &a) in vocab.texts.iter().zip(&vocab.attrs) {
        if a & (attr::UNKNOWN | attr::CONTROL | attr::USER_DEFINED) != 0 {
            pieces.extend_from_slice(text.as_bytes());
        } else if a & attr::NORMAL != 0 {
            match model {
                Model::Spm => {
                    for part in text.split('\u{2581}').enumerate() {
                        if part.0 > 0 {
                            pieces.push(b' ');
                        }
                        pieces.extend_from_slice(part.1.as_bytes());
                    }
                }
                Model::Bpe(_) => {
                    for c in text.chars() {
                        match bpe::char_to_byte(c) {
                            Some(b) => pieces.push(b),
                            None => {
                                // llama.cpp's marker for a code point outside the byte-level alphabet.
                                pieces.extend_from_slice(b"[UNK_BYTE_0x");
                                for b in c.encode_utf8(&mut [0; 4]).bytes() {
                                    pieces.extend_from_slice(format!("{b:02x}").as_bytes());
                                }
                                pieces.extend_from_slice(text.as_bytes());
                                pieces.push(b']');
                            }
                        }
                    }
                }
            }
        } else if a & attr::BYTE != 0 {
            pieces.push(byte_of_byte_token(text));
        }
        ends.push(pieces.len() as u32);
    }
    (pieces, ends)
}

/// The byte a `<0xXX>` token stands for (llama.cpp reads the two characters after `<0x` as hex, 0 if they are not).
fn byte_of_byte_token(text: &str) -> u8 {
    let digits = text.get(3..).unwrap_or("");
    let hex: String = digits.chars().take(2).take_while(char::is_ascii_hexdigit).collect();
    u8::from_str_radix(&hex, 16).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding and decoding

impl Tokenizer {
    /// Which algorithm this vocabulary uses.
    pub fn kind(&self) -> TokenizerKind {
        match self.model {
            Model::Spm => TokenizerKind::Spm,
            Model::Bpe(_) => TokenizerKind::Bpe,
        }
    }

    /// Tokenizes `text` like llama.cpp's `llama_tokenize`.
    ///
    /// `add_special` adds BOS / EOS where the file says the model wants them ([`Tokenizer::add_bos`]); pass false
    /// for text that continues a prompt. `parse_special` turns special-token texts in `text` (`<|im_start|>`,
    /// `<start_of_turn>`) into their ids: true for chat templates' output, false for text from users or tools so
    /// they cannot forge control tokens (user-defined tokens are still recognised, as in llama.cpp).
    ///
    /// Texts over 4 GiB are not supported (each fragment is indexed with 32 bits); such fragments yield no ids.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        let mut fragments = Vec::new();
        self.specials.partition(text, parse_special, &mut fragments);
        if add_special && self.add_bos {
            out.extend(self.bos);
        }
        match self.model {
            Model::Spm => {
                // A leading space is added to the start of the text and after every special token.
                let mut after_special = true;
                let mut escaped = String::new();
                for fragment in fragments {
                    match fragment {
                        Fragment::Text(t) => {
                            escaped.clear();
                            if self.add_space_prefix && after_special {
                                escaped.push('\u{2581}');
                            }
                            for c in t.chars() {
                                escaped.push(if c == ' ' { '\u{2581}' } else { c });
                            }
                            spm::tokenize(&self.vocab, &escaped, &mut out);
                            after_special = false;
                        }
                        Fragment::Token(id) => {
                            out.push(id);
                            after_special = true;
                        }
                    }
                }
            }
            Model::Bpe(pre) => {
                let mut scratch = bpe::Scratch::default();
                for fragment in fragments {
                    match fragment {
                        Fragment::Text(t) => bpe::tokenize(&self.vocab, pre, t, &mut scratch, &mut out),
                        Fragment::Token(id) => out.push(id),
                    }
                }
            }
        }
        if add_special && self.add_eos {
            out.extend(self.eos);
        }
        out
    }

    /// The bytes token `id` prints as, with control and unknown tokens hidden unless `render_special`: U+2581 is a
    /// space (SentencePiece), byte tokens are their byte, byte-level BPE code points are their raw bytes. A token
    /// may be part of a UTF-8 sequence, so stream output by buffering bytes, not by converting each piece. Empty
    /// for ids outside the vocabulary and for unused tokens.
    pub fn token_piece(&self, id: u32, render_special: bool) -> &[u8] {
        let i = id as usize;
        if i >= self.piece_ends.len() {
            return &[];
        }
        if !render_special && self.vocab.attr(id) & (attr::UNKNOWN | attr::CONTROL) != 0 {
            return &[];
        }
        let start = if i == 0 { 0 } else { self.piece_ends[i - 1] as usize };
        &self.pieces[start..self.piece_ends[i] as usize]
    }

    /// [`Tokenizer::token_piece`] with control tokens hidden, owned: what a token adds to generated text.
    pub fn token_bytes(&self, id: u32) -> Vec<u8> {
        self.token_piece(id, false).to_vec()
    }

    /// The token's text exactly as the vocabulary stores it (`▁the`, `Ġthe`, `<|im_end|>`), for logs and for
    /// matching tokens by name; `None` outside the vocabulary.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        ((id as usize) < self.vocab.texts.len()).then(|| self.vocab.texts.text(id))
    }

    /// Turns ids back into text like llama.cpp's `llama_detokenize`, invalid UTF-8 replaced by U+FFFD.
    ///
    /// With `skip_special`, a leading BOS and a trailing EOS that [`Tokenizer::encode`] would have added are dropped
    /// and control tokens print as nothing; without it, control tokens print as their text. The leading space that
    /// SentencePiece's `add_space_prefix` put in front of the text is removed, and GPT-2-era vocabularies get
    /// llama.cpp's clean-up of spaces before punctuation, so `decode(encode(x))` gives back `x` for these models.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> String {
        let mut ids = ids;
        let mut remove_space = self.add_space_prefix;
        if skip_special && self.add_bos && ids.first().is_some_and(|&id| Some(id) == self.bos) {
            remove_space = false;
            ids = &ids[1..];
        }
        if skip_special && self.add_eos && ids.last().is_some_and(|&id| Some(id) == self.eos) {
            ids = &ids[..ids.len() - 1];
        }
        let mut out = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let mut piece = self.token_piece(id, !skip_special);
            if i == 0 && remove_space {
                piece = piece.strip_prefix(b" ").unwrap_or(piece);
            }
            out.extend_from_slice(piece);
        }
        if self.clean_spaces {
            out = clean_up_spaces(&out);
        }
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Number of tokens in the vocabulary (the model's logits are this wide or wider).
    pub fn vocab_size(&self) -> usize {
        self.vocab.texts.len()
    }

    /// The beginning-of-sequence token, if the vocabulary has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    /// The end-of-sequence token, if the vocabulary has one.
    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    /// The end-of-turn token (`<|im_end|>`, `<end_of_turn>`, ...), from the file or recognised by its text.
    pub fn eot_id(&self) -> Option<u32> {
        self.eot
    }

    /// Whether `encode(.., add_special = true, ..)` starts with BOS: chat templates that write BOS themselves must
    /// be encoded without it, or the prompt gets two.
    pub fn add_bos(&self) -> bool {
        self.add_bos && self.bos.is_some()
    }

    /// Whether `encode(.., add_special = true, ..)` ends with EOS (rare; some embedding models).
    pub fn add_eos(&self) -> bool {
        self.add_eos && self.eos.is_some()
    }

    /// The id of the token whose vocabulary text is exactly `text` (see [`Tokenizer::token_text`]).
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.id_of(text)
    }

    /// Whether `id` is a special token: control, user-defined or unknown, the kinds matched whole in text.
    pub fn is_special(&self, id: u32) -> bool {
        self.vocab.attr(id) & (attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN) != 0
    }

    /// Whether `id` is a control token (BOS, `<|im_start|>`...), which prints as nothing in generated text.
    pub fn is_control(&self, id: u32) -> bool {
        self.vocab.attr(id) & attr::CONTROL != 0
    }

    /// Whether generating `id` ends the reply: EOS, end-of-turn and the other tokens llama.cpp's loader marks as
    /// end-of-generation (`<|im_end|>`, `<end_of_turn>`, `<|eot_id|>`, `<|endoftext|>`, FIM pad / repo / file
    /// separators...).
    pub fn is_end_of_generation(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// All end-of-generation ids, ascending (see [`Tokenizer::is_end_of_generation`]).
    pub fn stop_token_ids(&self) -> &[u32] {
        &self.eog
    }
}

/// llama.cpp's detokenizer clean-up for GPT-2-era vocabularies: drop the space before `?!.,`, around a lone
/// apostrophe (` ' `), and before the contractions `'s`, `'m`, `'re`, `'ve`.
fn clean_up_spaces(text: &[u8]) -> Vec<u8> {
    // Space before punctuation.
    let mut a = Vec::with_capacity(text.len());
    for (i, &x) in text.iter().enumerate() {
        if i > 0 && text[i - 1] == b' ' && matches!(x, b'?' | b'!' | b'.' | b',') {
            a.pop();
        }
        a.push(x);
    }
    // A lone apostrophe between spaces loses both; the byte after it is then seen as following a NUL.
    let mut src = a.clone();
    let mut b = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        let x = src[i];
        if i > 0 && x == b'\'' && i + 1 < src.len() && src[i - 1] == b' ' && src[i + 1] == b' ' {
            b.pop();
            i += 1;
            src[i] = 0;
        }
        b.push(x);
        i += 1;
    }
    // Contractions.
    let mut c = Vec::with_capacity(b.len());
    for (i, &x) in b.iter().enumerate() {
        if i > 0 && b[i - 1] == b' ' && x == b'\'' && i + 1 < b.len() {
            let x1 = b[i + 1];
            let x2 = b.get(i + 2).copied();
            if matches!(x1, b's' | b'm') || matches!((x1, x2), (b'r', Some(b'e')) | (b'v', Some(b'e'))) {
                c.pop();
            }
        }
        c.push(x);
    }
    c
}
