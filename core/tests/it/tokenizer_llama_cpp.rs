//! The core's tokenizer against llama.cpp's: token ids for every text of `core/tests/data/tokenizer/*.json`
//! (written by `ci/gen-tokenizer-data.sh` with llama.cpp's `llama-tokenize`) on the real test models, with special
//! tokens parsed and not, plus variants of their metadata (other BPE pre-tokenizers on Qwen's vocabulary,
//! `add_space_prefix` and Phi-3's whitespace stripping on Gemma's). Also checks that decoding gives the text back.
//!
//! The models come from `ci/fetch-test-models.sh` (`$JAN_TEST_MODELS`, else `~/.cache/jan-test-models`).

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use jan_core::gguf::{GgufInfo, GgufValue, ReadOptions, read_info};
use jan_core::inference::tokenizer::{Tokenizer, TokenizerKind};
use serde_json::Value;

/// Full metadata of a model, read once per test binary (Gemma's vocabulary takes a moment).
fn model_info(file: &str) -> GgufInfo {
    static CACHE: OnceLock<Mutex<HashMap<String, GgufInfo>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(info) = cache.lock().unwrap().get(file) {
        return info.clone();
    }
    let info = read_info(&common::test_model(file), &ReadOptions::full()).unwrap();
    cache.lock().unwrap().insert(file.to_owned(), info.clone());
    info
}

struct Case {
    text: String,
    parse_special: bool,
    ids: Vec<u32>,
}

struct DataSet {
    name: String,
    tokenizer: Tokenizer,
    cases: Vec<Case>,
    overrides: BTreeMap<String, Value>,
    /// The end-of-generation ids llama.cpp's loader listed.
    eog: Vec<u32>,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tokenizer")
}

/// Loads one data file and the tokenizer of its model, with the file's metadata overrides applied.
fn load(path: &Path) -> DataSet {
    let data: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut info = model_info(data["model"].as_str().unwrap());
    let overrides: BTreeMap<String, Value> =
        data["overrides"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, value) in &overrides {
        let value = match value {
            Value::String(s) => GgufValue::String(s.clone()),
            Value::Bool(b) => GgufValue::Bool(*b),
            other => panic!("unsupported override {key} = {other}"),
        };
        info.metadata.insert(key.clone(), value);
    }
    let tokenizer = Tokenizer::from_gguf(&info).unwrap();
    let cases = data["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            text: c["text"].as_str().unwrap().to_owned(),
            parse_special: c["parse_special"].as_bool().unwrap(),
            ids: c["ids"].as_array().unwrap().iter().map(|id| u32::try_from(id.as_u64().unwrap()).unwrap()).collect(),
        })
        .collect();
    let name = path.file_stem().unwrap().to_string_lossy().into_owned();
    let eog = data["eog"].as_array().unwrap().iter().map(|id| u32::try_from(id.as_u64().unwrap()).unwrap()).collect();
    DataSet { name, tokenizer, cases, overrides, eog }
}

fn data_sets() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
}

/// Shows a text with its control characters escaped, shortened.
fn show(text: &str) -> String {
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() > 160 {
        format!("{}...", escaped.chars().take(160).collect::<String>())
    } else {
        escaped
    }
}

/// Where two id lists first differ, with a few ids of context.
fn diff(ours: &[u32], theirs: &[u32]) -> String {
    let at = ours.iter().zip(theirs).position(|(a, b)| a != b).unwrap_or(ours.len().min(theirs.len()));
    let from = at.saturating_sub(3);
    format!(
        "first difference at index {at} (lengths {} vs {}): ours {:?} theirs {:?}",
        ours.len(),
        theirs.len(),
        &ours[from..(at + 6).min(ours.len())],
        &theirs[from..(at + 6).min(theirs.len())],
    )
}

#[test]
fn token_ids_match_llama_cpp() {
    let paths = data_sets();
    let names: Vec<String> = paths.iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    for expected in ["gemma-3-270m", "qwen2.5-coder-0.5b"] {
        assert!(names.iter().any(|n| n == expected), "no data for {expected} in {}", data_dir().display());
    }

    let mut failures = Vec::new();
    let mut total = 0;
    for path in &paths {
        let set = load(path);
        assert!(set.cases.len() >= 40, "{}: only {} cases", set.name, set.cases.len());
        let mut passed = 0;
        for case in &set.cases {
            let ours = set.tokenizer.encode(&case.text, true, case.parse_special);
            if ours == case.ids {
                passed += 1;
            } else {
                failures.push(format!(
                    "{} (parse_special = {}): \"{}\"\n    {}\n    ours:   {:?}\n    theirs: {:?}",
                    set.name,
                    case.parse_special,
                    show(&case.text),
                    diff(&ours, &case.ids),
                    &ours[..ours.len().min(40)],
                    &case.ids[..case.ids.len().min(40)],
                ));
            }
        }
        total += set.cases.len();
        eprintln!("{}: {passed}/{} cases match llama.cpp", set.name, set.cases.len());
        if set.tokenizer.stop_token_ids() != set.eog {
            failures.push(format!(
                "{}: end-of-generation ids {:?}, llama.cpp's {:?}",
                set.name,
                set.tokenizer.stop_token_ids(),
                set.eog
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {total} cases differ from llama.cpp:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn decode_gives_the_text_back() {
    let mut failures = Vec::new();
    for path in data_sets() {
        let set = load(&path);
        let t = &set.tokenizer;
        // Variants whose decoding is lossy by design: GPT-2-era BPE cleans up spaces before punctuation, a
        // SentencePiece prefix space shows after special tokens, Phi-3 drops whitespace after special tokens.
        let exact = set.overrides.is_empty();
        let mut texts: Vec<&str> = set.cases.iter().map(|c| c.text.as_str()).collect();
        texts.dedup();
        for text in texts {
            // SentencePiece spells spaces as U+2581, so a U+2581 in the text comes back as a space (in llama.cpp too).
            if t.kind() == TokenizerKind::Spm && text.contains('\u{2581}') {
                continue;
            }
            // Special tokens not parsed, BOS added and removed again.
            let ids = t.encode(text, true, false);
            let plain = t.decode(&ids, true);
            // Special tokens parsed and printed back.
            let rendered = t.decode(&t.encode(text, false, true), false);
            if exact {
                if plain != text {
                    failures.push(format!("{}: \"{}\" decodes to \"{}\"", set.name, show(text), show(&plain)));
                }
                if rendered != text {
                    failures.push(format!(
                        "{}: \"{}\" with special tokens decodes to \"{}\"",
                        set.name,
                        show(text),
                        show(&rendered)
                    ));
                }
            } else if set.overrides.contains_key("tokenizer.ggml.add_space_prefix") {
                // Without BOS the prefix space is removed again, for texts with no special token in them.
                let ids = t.encode(text, false, false);
                if !ids.iter().any(|&id| t.is_special(id)) && t.decode(&ids, false) != text {
                    failures.push(format!("{}: \"{}\" decodes to \"{}\"", set.name, show(text), show(&plain)));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} texts do not round-trip:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn special_tokens_of_the_real_models() {
    let gemma = Tokenizer::from_gguf(&model_info("gemma-3-270m-q4_k_m.gguf")).unwrap();
    assert_eq!(gemma.vocab_size(), 262_144);
    assert_eq!(gemma.bos_id(), Some(2));
    assert_eq!(gemma.eos_id(), Some(1));
    assert!(gemma.add_bos());
    let end_of_turn = gemma.token_id("<end_of_turn>").unwrap();
    assert_eq!(end_of_turn, 106);
    assert_eq!(gemma.eot_id(), Some(106));
    // EOS, <end_of_turn> and </s>, as llama.cpp's loader lists them.
    assert_eq!(gemma.stop_token_ids(), &[1, 106, 212]);
    assert!(gemma.is_end_of_generation(106));
    assert!(!gemma.is_end_of_generation(105));
    assert!(gemma.is_special(105) && gemma.is_control(105));
    assert_eq!(gemma.token_bytes(106), b"");
    assert_eq!(gemma.token_piece(106, true), b"<end_of_turn>");
    assert_eq!(gemma.token_bytes(gemma.token_id("<0x0A>").unwrap()), b"\n");
    assert_eq!(gemma.token_bytes(gemma.token_id("\u{2581}the").unwrap()), b" the");
    assert_eq!(gemma.encode("<start_of_turn>user", false, true), [105, 2364]);

    let qwen = Tokenizer::from_gguf(&model_info("qwen2.5-coder-0.5b-instruct.gguf")).unwrap();
    assert_eq!(qwen.vocab_size(), 151_936);
    assert!(!qwen.add_bos());
    assert_eq!(qwen.eos_id(), Some(151_645));
    // "</s>" (an ordinary token in Qwen's vocabulary, which llama.cpp turns into a control token because of its
    // text), <|endoftext|>, <|im_end|>, and the FIM pad / repo name / file separator tokens.
    assert_eq!(qwen.stop_token_ids(), &[128_247, 151_643, 151_645, 151_662, 151_663, 151_664]);
    assert!(qwen.is_control(128_247));
    assert_eq!(qwen.encode("<|im_start|>user\nhi<|im_end|>", true, true), [151_644, 872, 198, 6023, 151_645]);
    assert_eq!(qwen.token_bytes(qwen.token_id("\u{120}the").unwrap()), b" the");
    assert_eq!(qwen.decode(&[151_644, 872], false), "<|im_start|>user");
    assert_eq!(qwen.decode(&[151_644, 872], true), "user");
}

/// The fastest of `runs` runs of `f`, and its last result (timings on a shared machine are noisy).
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (std::time::Duration, T) {
    let mut best = std::time::Duration::MAX;
    let mut result = None;
    for _ in 0..runs {
        let started = Instant::now();
        result = Some(f());
        best = best.min(started.elapsed());
    }
    (best, result.unwrap())
}

/// Release-mode timings, for the record: `cargo test --release -p jan-core --test it tokenizer_llama_cpp::timings -- --ignored
/// --nocapture`.
#[test]
#[ignore = "timing only; run in release"]
fn timings() {
    for file in ["gemma-3-270m-q4_k_m.gguf", "qwen2.5-coder-0.5b-instruct.gguf"] {
        let (read, info) = best_of(3, || read_info(&common::test_model(file), &ReadOptions::full()).unwrap());
        let (load, tokenizer) = best_of(5, || Tokenizer::from_gguf(&info).unwrap());

        let prose = "The quick brown fox jumps over the lazy dog, and then it writes some Rust: \
                     `fn main() { println!(\"{}\", 1 + 2); }` while 漢字 and émojis 🎉 pass by.\n";
        let text = prose.repeat(100_000 / prose.len() + 1);
        let (encode, ids) = best_of(5, || tokenizer.encode(&text, true, true));
        let (decode, decoded) = best_of(5, || tokenizer.decode(&ids, true));
        assert_eq!(decoded, text);
        let chat = "<|im_start|>user\nhello there, how are you?<|im_end|>\n<start_of_turn>model\nfine<end_of_turn>\n";
        let chat = chat.repeat(100_000 / chat.len() + 1);
        let (encode_chat, n_chat) = best_of(5, || tokenizer.encode(&chat, true, true).len());
        let spaces = " ".repeat(100_000);
        let (encode_spaces, n_spaces) = best_of(5, || tokenizer.encode(&spaces, true, true).len());
        let word = "a".repeat(100_000);
        let (encode_word, n_word) = best_of(5, || tokenizer.encode(&word, true, true).len());
        eprintln!(
            "{file}: read metadata {read:.1?}, build tokenizer {load:.1?}; {} bytes of prose -> {} ids in {encode:.1?}, \
             decoded in {decode:.1?}; 100 KB of chat markup -> {n_chat} ids in {encode_chat:.1?}; 100 KB of spaces -> \
             {n_spaces} ids in {encode_spaces:.1?}; a 100 KB word -> {n_word} ids in {encode_word:.1?}",
            text.len(),
            ids.len()
        );
    }
}
