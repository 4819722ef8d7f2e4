//! Tokenizer tests on tiny hand-built vocabularies; `core/tests/it/tokenizer_llama_cpp.rs` compares real models with
//! llama.cpp.

use std::collections::BTreeMap;

use super::*;
use crate::gguf::GgufInfo;

const NORMAL: i32 = 1;
const UNKNOWN: i32 = 2;
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;
const UNUSED: i32 = 5;
const BYTE: i32 = 6;

fn info(entries: Vec<(&str, GgufValue)>) -> GgufInfo {
    let metadata: BTreeMap<String, GgufValue> = entries.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    GgufInfo { version: 3, metadata, tensors: Vec::new(), data_offset: 0 }
}

fn strings(items: &[&str]) -> GgufValue {
    GgufValue::Array(items.iter().map(|s| GgufValue::String((*s).to_owned())).collect())
}

/// A SentencePiece vocabulary: (text, score, type) per token, plus the 256 byte tokens at the end.
fn spm_info(tokens: &[(&str, f32, i32)], extra: Vec<(&str, GgufValue)>) -> GgufInfo {
    let mut texts: Vec<String> = tokens.iter().map(|t| t.0.to_owned()).collect();
    let mut scores: Vec<f32> = tokens.iter().map(|t| t.1).collect();
    let mut types: Vec<i32> = tokens.iter().map(|t| t.2).collect();
    for b in 0..=255u8 {
        texts.push(format!("<0x{b:02X}>"));
        scores.push(0.0);
        types.push(BYTE);
    }
    let mut entries = vec![
        ("tokenizer.ggml.model", GgufValue::String("llama".into())),
        ("tokenizer.ggml.tokens", GgufValue::Array(texts.into_iter().map(GgufValue::String).collect())),
        ("tokenizer.ggml.scores", GgufValue::Array(scores.into_iter().map(GgufValue::F32).collect())),
        ("tokenizer.ggml.token_type", GgufValue::Array(types.into_iter().map(GgufValue::I32).collect())),
    ];
    entries.extend(extra);
    info(entries)
}

/// The SentencePiece test vocabulary: ids 0..=2 are unk / bos / eos.
const SPM_TOKENS: &[(&str, f32, i32)] = &[
    ("<unk>", 0.0, UNKNOWN),         // 0
    ("<s>", 0.0, CONTROL),           // 1
    ("</s>", 0.0, CONTROL),          // 2
    ("\u{2581}", -1.0, NORMAL),      // 3
    ("a", -2.0, NORMAL),             // 4
    ("b", -2.0, NORMAL),             // 5
    ("c", -2.0, NORMAL),             // 6
    ("ab", -5.0, NORMAL),            // 7
    ("bc", -4.0, NORMAL),            // 8: preferred over "ab"
    ("\u{2581}a", -3.0, NORMAL),     // 9
    ("<ctl>", 0.0, CONTROL),         // 10
    ("<ud>", 0.0, USER_DEFINED),     // 11
    ("<end_of_turn>", 0.0, CONTROL), // 12
    ("<unused3>", 0.0, CONTROL),     // 13
    ("x", -2.0, NORMAL),             // 14
    ("xx", -6.0, NORMAL),            // 15
    ("[PAD9]", 0.0, UNUSED),         // 16
];

fn spm(extra: Vec<(&str, GgufValue)>) -> Tokenizer {
    Tokenizer::from_gguf(&spm_info(SPM_TOKENS, extra)).unwrap()
}

fn byte_id(b: u8) -> u32 {
    SPM_TOKENS.len() as u32 + u32::from(b)
}

#[test]
fn spm_merges_by_score_and_adds_bos_and_space_prefix() {
    let t = spm(vec![]);
    assert_eq!(t.kind(), TokenizerKind::Spm);
    assert!(t.add_bos());
    assert_eq!(t.bos_id(), Some(1));
    assert_eq!(t.eos_id(), Some(2));
    // "▁abc": "bc" (-4) beats "ab" (-5) and "▁a" (-3) beats both; then nothing merges with "▁a".
    assert_eq!(t.encode("abc", true, false), [1, 9, 8]);
    assert_eq!(t.encode("abc", false, false), [9, 8]);
    // Equal scores merge leftmost first: "xxx" -> "xx" + "x".
    assert_eq!(t.encode("xxx", false, false), [3, 15, 14]);
}

#[test]
fn spm_without_space_prefix_and_byte_fallback() {
    let t = spm(vec![("tokenizer.ggml.add_space_prefix", GgufValue::Bool(false))]);
    assert_eq!(t.encode("abc", false, false), [4, 8]);
    // "é" is not a token: its UTF-8 bytes are; a space is U+2581.
    assert_eq!(t.encode("é a", false, false), [byte_id(0xC3), byte_id(0xA9), 9]);
    assert_eq!(t.decode(&t.encode("é a", true, false), true), "é a");
}

#[test]
fn spm_special_tokens_are_split_only_when_asked() {
    let t = spm(vec![]);
    // Control token recognised, and the text after a special token gets the prefix space again.
    assert_eq!(t.encode("a<ctl>a", false, true), [9, 10, 9]);
    // Not parsed: spelled with bytes ("<", "c", "t", "l", ">" are not tokens, except c).
    let plain = t.encode("<ctl>", false, false);
    assert_eq!(plain, [3, byte_id(b'<'), 6, byte_id(b't'), byte_id(b'l'), byte_id(b'>')]);
    // User-defined tokens are always split out.
    assert_eq!(t.encode("a<ud>a", false, false), [9, 11, 9]);
    assert_eq!(t.decode(&[9, 11, 9], true), "a<ud> a");
}

#[test]
fn spm_decode_and_pieces() {
    let t = spm(vec![]);
    assert_eq!(t.token_bytes(9), b" a");
    assert_eq!(t.token_bytes(byte_id(b'\n')), b"\n");
    assert_eq!(t.token_bytes(10), b"");
    assert_eq!(t.token_piece(10, true), b"<ctl>");
    assert_eq!(t.token_bytes(11), b"<ud>", "user-defined tokens always print");
    assert_eq!(t.token_piece(16, true), b"", "unused tokens print as nothing");
    assert_eq!(t.token_bytes(u32::MAX), b"");
    assert_eq!(t.token_text(9), Some("\u{2581}a"));
    // The prefix space is removed, but not after a BOS llama.cpp keeps it then (remove_special drops the BOS).
    assert_eq!(t.decode(&[9, 8], true), "abc");
    assert_eq!(t.decode(&[1, 9, 8], true), " abc");
    assert_eq!(t.decode(&[1, 9, 8, 2], false), "<s> abc</s>");
    // Bytes of a split character come back together.
    assert_eq!(t.decode(&[byte_id(0xC3), byte_id(0xA9)], false), "é");
    assert_eq!(t.decode(&[byte_id(0xC3)], false), "\u{FFFD}");
}

#[test]
fn spm_special_ids_and_end_of_generation() {
    let t = spm(vec![]);
    // EOS and <end_of_turn>, found by its text.
    assert_eq!(t.stop_token_ids(), &[2, 12]);
    assert_eq!(t.eot_id(), Some(12));
    assert!(t.is_end_of_generation(12) && !t.is_end_of_generation(10));
    assert!(t.is_special(10) && t.is_control(10));
    assert!(t.is_special(11) && !t.is_control(11));
    assert!(t.is_special(0), "unknown");
    assert!(!t.is_special(4));

    let t = spm(vec![
        ("tokenizer.ggml.bos_token_id", GgufValue::U32(10)),
        ("tokenizer.ggml.eos_token_id", GgufValue::U32(12)),
        ("tokenizer.ggml.eot_token_id", GgufValue::U32(13)),
        ("tokenizer.ggml.add_bos_token", GgufValue::Bool(false)),
        ("tokenizer.ggml.add_eos_token", GgufValue::Bool(true)),
    ]);
    assert!(!t.add_bos() && t.add_eos());
    assert_eq!(t.encode("a", true, false), [9, 12]);
    // "</s>" by its text, the EOS and the EOT from the keys.
    assert_eq!(t.stop_token_ids(), &[2, 12, 13]);
    // Ids outside the vocabulary are ignored.
    let t = spm(vec![("tokenizer.ggml.bos_token_id", GgufValue::U32(99_999))]);
    assert_eq!(t.bos_id(), Some(1));
}

/// A byte-level BPE vocabulary over the bytes of `alphabet`, plus `extra` tokens; merges as given.
fn bpe_info(alphabet: &str, extra: &[(&str, i32)], merges: &[&str], meta: Vec<(&str, GgufValue)>) -> GgufInfo {
    let mut texts: Vec<String> = alphabet.bytes().map(|b| bpe::byte_to_char(b).to_string()).collect();
    let mut types = vec![NORMAL; texts.len()];
    for (text, ty) in extra {
        texts.push((*text).to_owned());
        types.push(*ty);
    }
    let mut entries = vec![
        ("tokenizer.ggml.model", GgufValue::String("gpt2".into())),
        ("tokenizer.ggml.pre", GgufValue::String("qwen2".into())),
        ("tokenizer.ggml.tokens", GgufValue::Array(texts.into_iter().map(GgufValue::String).collect())),
        ("tokenizer.ggml.token_type", GgufValue::Array(types.into_iter().map(GgufValue::I32).collect())),
        ("tokenizer.ggml.merges", strings(merges)),
    ];
    for (k, v) in meta {
        entries.retain(|e| e.0 != k);
        entries.push((k, v));
    }
    info(entries)
}

/// Ids: a b c Ġ(space) Ċ(newline) 1 2 ' s = 0..=8; then bc abc Ġa Ġab <|im_start|> <|im_end|> <tool> 's.
fn bpe(meta: Vec<(&str, GgufValue)>) -> Tokenizer {
    Tokenizer::from_gguf(&bpe_info(
        "abc \n12's",
        &[
            ("bc", NORMAL),            // 9
            ("abc", NORMAL),           // 10
            ("Ġa", NORMAL),            // 11
            ("Ġab", NORMAL),           // 12
            ("<|im_start|>", CONTROL), // 13
            ("<|im_end|>", CONTROL),   // 14
            ("<tool>", USER_DEFINED),  // 15
            ("'s", NORMAL),            // 16
            ("ab", NORMAL),            // 17
        ],
        &["b c", "a bc", "Ġ a", "a b", "Ġa b", "' s"],
        meta,
    ))
    .unwrap()
}

#[test]
fn bpe_merges_by_rank_inside_words() {
    let t = bpe(vec![]);
    assert_eq!(t.kind(), TokenizerKind::Bpe);
    assert!(!t.add_bos(), "BPE adds no BOS unless told");
    // "b c" ranks first, so "abc" is a + bc -> abc, never ab + c.
    assert_eq!(t.encode("abc", true, false), [10]);
    // " ab": "Ġ a" (rank 2) before "a b" (rank 3), then "Ġa b".
    assert_eq!(t.encode(" ab", false, false), [12]);
    // Words are merged separately. In " abc", "b c" (rank 0) then "a bc" (1) leave "Ġa" (2) no "a" to take.
    assert_eq!(t.encode("ab abc", false, false), [17, 3, 10]);
    // Qwen 2 splits every digit; contractions are words.
    assert_eq!(t.encode("12's", false, false), [5, 6, 16]);
    assert_eq!(t.decode(&t.encode("ab abc\n12's", false, false), false), "ab abc\n12's");
}

#[test]
fn bpe_drops_bytes_the_vocabulary_cannot_spell() {
    let t = bpe(vec![]);
    // "x" has no token; llama.cpp silently drops it.
    assert_eq!(t.encode("axb", false, false), [0, 1]);
}

#[test]
fn bpe_special_tokens() {
    let t = bpe(vec![]);
    assert_eq!(t.encode("<|im_start|>ab<|im_end|>", false, true), [13, 17, 14]);
    assert_eq!(t.encode("a<tool>b", false, false), [0, 15, 1]);
    // <|im_end|> by its text, and llama.cpp's default BPE EOS id (11) since the file names none.
    assert_eq!(t.stop_token_ids(), &[11, 14]);
    assert_eq!(t.decode(&[13, 17, 14], false), "<|im_start|>ab<|im_end|>");
    assert_eq!(t.decode(&[13, 17, 14], true), "ab");
    assert_eq!(t.token_bytes(11), b" a");
}

#[test]
fn special_tokens_are_cut_longest_first_like_llama_cpp() {
    // llama.cpp cuts every occurrence of the longest special token first, so in "abcd" the 3-byte "bcd" wins over
    // the leftmost "ab" (leftmost-longest matching would give "ab" + "cd").
    let t = Tokenizer::from_gguf(&bpe_info(
        "abcd",
        &[("ab", CONTROL), ("bcd", CONTROL), ("<x>", CONTROL), ("<x><y>", CONTROL)],
        &[],
        vec![],
    ))
    .unwrap();
    assert_eq!(t.encode("abcd", false, true), [0, 5]);
    assert_eq!(t.encode("abab", false, true), [4, 4]);
    assert_eq!(t.encode("<x><y><x>", false, true), [7, 6]);

    // Overlapping occurrences of one token are taken leftmost first.
    let t = Tokenizer::from_gguf(&bpe_info("a", &[("aa", USER_DEFINED)], &[], vec![])).unwrap();
    assert_eq!(t.encode("aaaaa", false, false), [1, 1, 0]);
}

#[test]
fn phi3_drops_whitespace_after_special_tokens() {
    let t = spm(vec![("general.name", GgufValue::String("Phi-3 mini".into()))]);
    assert_eq!(t.encode("<ud>  \n a", false, false), [11, 9]);
    assert_eq!(t.encode("a <ctl>  a", false, true), [9, 3, 10, 9]);
}

#[test]
fn pre_tokenizers_by_name() {
    let words = |pre: &str, text: &str| {
        let t = Tokenizer::from_gguf(&bpe_info(
            "abc 12'sABCS",
            &[],
            &[],
            vec![("tokenizer.ggml.pre", GgufValue::String(pre.into()))],
        ))
        .unwrap();
        t.encode(text, false, false).len()
    };
    // Without merges every byte is a token, so these count bytes: all pre-tokenizers agree on it.
    for pre in ["qwen2", "llama-bpe", "gpt-2", "default", "starcoder", "llama3", "dbrx", "smollm"] {
        assert_eq!(words(pre, "abc 12's"), 8, "{pre}");
    }
    let t = Tokenizer::from_gguf(&bpe_info(
        "ab",
        &[],
        &[],
        vec![
            ("tokenizer.ggml.pre", GgufValue::String("llama-bpe".into())),
            ("tokenizer.ggml.bos_token_id", GgufValue::U32(0)),
        ],
    ))
    .unwrap();
    assert!(t.add_bos(), "Llama 3 adds BOS by default");
}

#[test]
fn llama3_ignore_merges_takes_whole_words() {
    // "abc" is a token but no merge builds it: Llama 3's tokenizers take the word whole anyway.
    let info =
        bpe_info("abc", &[("abc", NORMAL)], &[], vec![("tokenizer.ggml.pre", GgufValue::String("llama-bpe".into()))]);
    assert_eq!(Tokenizer::from_gguf(&info).unwrap().encode("abc", false, false), [3]);
    let info = bpe_info("abc", &[("abc", NORMAL)], &[], vec![]);
    assert_eq!(Tokenizer::from_gguf(&info).unwrap().encode("abc", false, false), [0, 1, 2]);
}

#[test]
fn clean_spaces_for_gpt2_era_vocabularies() {
    assert_eq!(clean_up_spaces(b"Hello , world ! It 's a ' quote ' you 're"), b"Hello, world! It's a'quote'you're");
    assert_eq!(clean_up_spaces(b" ."), b".");
    assert_eq!(clean_up_spaces(b""), b"");
    let t = Tokenizer::from_gguf(&bpe_info(
        "a ,",
        &[],
        &[],
        vec![("tokenizer.ggml.pre", GgufValue::String("gpt-2".into()))],
    ))
    .unwrap();
    assert_eq!(t.decode(&t.encode("a , a", false, false), false), "a, a");
    // Qwen 2 does not clean up.
    let t = Tokenizer::from_gguf(&bpe_info("a ,", &[], &[], vec![])).unwrap();
    assert_eq!(t.decode(&t.encode("a , a", false, false), false), "a , a");
}

fn error_of(info: &GgufInfo) -> Error {
    Tokenizer::from_gguf(info).unwrap_err()
}

#[test]
fn unsupported_tokenizers_are_refused_clearly() {
    let e = error_of(&bpe_info("ab", &[], &[], vec![("tokenizer.ggml.pre", GgufValue::String("mystery".into()))]));
    assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
    assert!(e.to_string().contains("'mystery'"), "{e}");

    let e = error_of(&bpe_info("ab", &[], &[], vec![("tokenizer.ggml.model", GgufValue::String("bert".into()))]));
    assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
    assert!(e.to_string().contains("'bert'"), "{e}");
}

#[test]
fn malformed_metadata_is_refused_clearly() {
    let check = |info: GgufInfo, needle: &str| {
        let e = error_of(&info);
        assert!(matches!(e, Error::InvalidGguf(_)), "{e:?}");
        assert!(e.to_string().contains(needle), "{e} should mention {needle}");
    };
    // token_type shorter than the vocabulary.
    let mut i = spm_info(SPM_TOKENS, vec![]);
    i.metadata.insert("tokenizer.ggml.token_type".into(), GgufValue::Array(vec![GgufValue::I32(1); 5]));
    check(i, "tokenizer.ggml.token_type has 5 entries");
    // Scores shorter, or of the wrong type.
    let mut i = spm_info(SPM_TOKENS, vec![]);
    i.metadata.insert("tokenizer.ggml.scores".into(), GgufValue::Array(vec![GgufValue::F32(0.0); 3]));
    check(i, "tokenizer.ggml.scores has 3 entries");
    let mut i = spm_info(SPM_TOKENS, vec![]);
    let n = SPM_TOKENS.len() + 256;
    i.metadata.insert("tokenizer.ggml.scores".into(), GgufValue::Array(vec![GgufValue::String("x".into()); n]));
    check(i, "tokenizer.ggml.scores[0]");
    // Merges naming tokens that do not exist, or not two tokens, or missing.
    check(bpe_info("ab", &[], &["a x"], vec![]), "'x', which is not in the vocabulary");
    check(bpe_info("ab", &[], &["a b"], vec![]), "'ab', which is not in the vocabulary");
    check(bpe_info("ab", &[], &["ab"], vec![]), "is not two tokens");
    let mut i = bpe_info("ab", &[], &[], vec![]);
    i.metadata.remove("tokenizer.ggml.merges");
    check(i, "tokenizer.ggml.merges is missing");
    // No vocabulary, an empty one, a non-string token, duplicates, no model.
    let mut i = bpe_info("ab", &[], &[], vec![]);
    i.metadata.remove("tokenizer.ggml.tokens");
    check(i, "tokenizer.ggml.tokens is missing");
    check(bpe_info("", &[], &[], vec![]), "tokenizer.ggml.tokens is empty");
    let mut i = bpe_info("ab", &[], &[], vec![]);
    i.metadata.insert("tokenizer.ggml.tokens".into(), GgufValue::Array(vec![GgufValue::U32(1)]));
    check(i, "tokenizer.ggml.tokens[0] is not a string");
    check(bpe_info("aa", &[], &[], vec![]), "tokens 0 and 1 are both 'a'");
    let mut i = bpe_info("ab", &[], &[], vec![]);
    i.metadata.remove("tokenizer.ggml.model");
    check(i, "tokenizer.ggml.model is missing");
    check(bpe_info("ab", &[], &[], vec![("tokenizer.ggml.model", GgufValue::U32(3))]), "is not a string");

    // Arrays skipped when reading: a caller mistake, said so.
    let mut i = bpe_info("ab", &[], &[], vec![]);
    i.metadata.insert("tokenizer.ggml.tokens".into(), GgufValue::SkippedArray { elem_type: 8, len: 262_144 });
    let e = error_of(&i);
    assert!(matches!(e, Error::InvalidRequest(_)) && e.to_string().contains("ReadOptions::full"), "{e}");
}

#[test]
fn empty_tokens_are_renamed_like_llama_cpp() {
    let t = Tokenizer::from_gguf(&bpe_info("ab", &[("", NORMAL)], &[], vec![])).unwrap();
    assert_eq!(t.token_text(2), Some("[EMPTY_2]"));
}

#[test]
fn tokenizer_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tokenizer>();
}

#[test]
fn empty_text() {
    let t = spm(vec![]);
    assert_eq!(t.encode("", true, true), [1]);
    assert_eq!(t.encode("", false, true), Vec::<u32>::new());
    assert_eq!(t.decode(&[], true), "");
    let t = bpe(vec![]);
    assert_eq!(t.encode("", true, true), Vec::<u32>::new());
}
