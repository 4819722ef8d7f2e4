//! The forward pass against llama.cpp: greedy continuations of the real test models must equal llama.cpp's
//! (`core/tests/data/greedy/*.json`, written by `ci/gen-greedy-data.py` with llama-server; prompts are given as
//! token ids, so the tokenizer is not involved here).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use crate::common;

use std::path::PathBuf;

use candle_core::Device;
use jan_core::gguf::{ReadOptions, read_info};
use jan_core::inference::model::Model;
use jan_core::inference::sampling::argmax;
use serde::Deserialize;

/// Two checks per case.
///
/// 1. Teacher-forced, every position: fed llama.cpp's own tokens, the model's log-probability of llama.cpp's
///    token must be within `MAX_LOGPROB_ERROR` nats of llama.cpp's (`MEAN_LOGPROB_ERROR` on average). Where
///    llama.cpp's two best candidates are that close, the model may prefer the other one: counted, not failed.
/// 2. Free-running greedy: the continuation must equal llama.cpp's. A divergence is accepted only where the
///    reference itself is not stable: where llama.cpp with its default f16 cache already disagrees with llama.cpp
///    in f32 (the reference data holds both runs), or after `MUST_MATCH` tokens at a near-tie (llama.cpp's two
///    best candidates within `TIE` nats, so float rounding order decides).
///
/// Why `TIE` is 0.2 nats: that far into a continuation llama.cpp disagrees with itself by that much. Measured at
/// token 41 of qwen's "def fibonacci(n):": llama.cpp's incremental run puts its two best candidates 0.179 nats
/// apart, its batched evaluation of the same tokens (one forward pass, f32 cache, no flash attention) 0.069.
const MUST_MATCH: usize = 32;
const TIE: f64 = 0.2;
const MAX_LOGPROB_ERROR: f64 = 0.5;
const MEAN_LOGPROB_ERROR: f64 = 0.15;

#[derive(Deserialize)]
struct Case {
    prompt: String,
    prompt_ids: Vec<u32>,
    expected_ids: Vec<u32>,
    top2_logprobs: Vec<Vec<f64>>,
    default_config_ids: Vec<u32>,
}

#[derive(Deserialize)]
struct Data {
    cases: Vec<Case>,
}

fn check(model_file: &str, data_file: &str) {
    let path = common::test_model(model_file);
    let info = read_info(&path, &ReadOptions::default()).unwrap();
    let model = Model::load(&path, &info, &Device::Cpu, &mut |_| {}).unwrap();
    let data: Data = serde_json::from_str(
        &std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/greedy").join(data_file))
            .unwrap(),
    )
    .unwrap();
    let mut failures = Vec::new();
    for case in &data.cases {
        let gap = |i: usize| case.top2_logprobs.get(i).and_then(|t| Some(t.first()? - t.get(1)?));

        // 1. Teacher-forced over every position.
        let mut cache = model.new_cache(4096).unwrap();
        let mut logits = model.forward(&case.prompt_ids, &mut cache).unwrap().to_vec1::<f32>().unwrap();
        let (mut errors, mut flipped) = (Vec::new(), 0);
        for (i, &expected) in case.expected_ids.iter().enumerate() {
            flipped += usize::from(argmax(&logits) != expected);
            if let Some(reference) = case.top2_logprobs.get(i).and_then(|t| t.first()) {
                errors.push((log_softmax_at(&logits, expected) - reference).abs());
            }
            logits = model.forward(&[expected], &mut cache).unwrap().to_vec1::<f32>().unwrap();
        }
        let max = errors.iter().copied().fold(0.0, f64::max);
        let mean = errors.iter().sum::<f64>() / errors.len().max(1) as f64;
        println!(
            "{model_file}: {:?}: log-probability error vs llama.cpp mean {mean:.4}, max {max:.4} nats; \
             prefers another token at {flipped} of {} positions",
            short(&case.prompt),
            case.expected_ids.len()
        );
        if max > MAX_LOGPROB_ERROR || mean > MEAN_LOGPROB_ERROR {
            failures.push(format!("{:?}: log-probability error mean {mean:.4}, max {max:.4}", short(&case.prompt)));
        }

        // 2. Free-running greedy.
        let mut cache = model.new_cache(4096).unwrap();
        let mut logits = model.forward(&case.prompt_ids, &mut cache).unwrap().to_vec1::<f32>().unwrap();
        let mut ours = Vec::new();
        for _ in 0..case.expected_ids.len() {
            let next = argmax(&logits);
            ours.push(next);
            logits = model.forward(&[next], &mut cache).unwrap().to_vec1::<f32>().unwrap();
        }
        let agree = ours.iter().zip(&case.expected_ids).take_while(|(a, b)| a == b).count();
        println!(
            "{model_file}: {agree}/{} tokens agree for {:?}{}",
            case.expected_ids.len(),
            short(&case.prompt),
            gap(agree).map(|g| format!(" (llama.cpp's top-2 gap there: {g:.4} nats)")).unwrap_or_default()
        );
        let tie = gap(agree).is_some_and(|g| g < TIE);
        let reference_stable_for =
            case.expected_ids.iter().zip(&case.default_config_ids).take_while(|(a, b)| a == b).count();
        let unstable = agree >= reference_stable_for;
        if agree < case.expected_ids.len() && !unstable && (agree < MUST_MATCH || !tie) {
            failures.push(format!(
                "{:?}: diverged at token {agree}\n  ours:      {:?}\n  llama.cpp: {:?}",
                short(&case.prompt),
                ours,
                case.expected_ids
            ));
        }
    }
    assert!(failures.is_empty(), "the model differs from llama.cpp:\n{}", failures.join("\n"));
}

/// `log_softmax(logits)[token]`, in f64.
fn log_softmax_at(logits: &[f32], token: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    logits[token as usize] as f64 - max - sum.ln()
}

fn short(s: &str) -> String {
    s.chars().take(50).collect()
}

#[test]
fn gemma3_greedy_matches_llama_cpp() {
    check("gemma-3-270m-q4_k_m.gguf", "gemma-3-270m-q4_k_m.json");
}

#[test]
fn qwen2_greedy_matches_llama_cpp() {
    check("qwen2.5-coder-0.5b-instruct.gguf", "qwen2.5-coder-0.5b-instruct.json");
}
