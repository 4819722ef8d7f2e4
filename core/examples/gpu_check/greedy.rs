//! Real models against llama.cpp's greedy continuations (the format `ci/gen-greedy-data.py` writes).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::Device;
use jan_core::gguf::{ReadOptions, read_info};
use jan_core::inference::sampling::argmax;
use serde::Deserialize;
use serde_json::json;

use super::{GpuMemory, Report, load, logits};

/// Tokens of a greedy continuation that must equal llama.cpp's (as in the CPU test).
const MUST_MATCH: usize = 32;
/// A divergence where llama.cpp's top two are closer than this (nats) is a near-tie either side may break.
const NEAR_TIE: f64 = 0.2;

#[derive(Deserialize)]
struct Case {
    prompt: String,
    prompt_ids: Vec<u32>,
    expected_ids: Vec<u32>,
    #[serde(default)]
    top2_logprobs: Vec<Vec<f64>>,
    #[serde(default)]
    default_config_ids: Vec<u32>,
}

#[derive(Deserialize)]
struct Data {
    cases: Vec<Case>,
}

/// The reference data of `model`: `core/tests/data/greedy/<stem>.json` under the working directory (the repo root
/// on the GPU machine), else under the source tree this was built from.
fn data_file(model: &Path) -> Result<PathBuf> {
    let stem = model.file_stem().context("model path has no file name")?.to_string_lossy().into_owned();
    let rel = PathBuf::from("core/tests/data/greedy").join(format!("{stem}.json"));
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/greedy").join(format!("{stem}.json"));
    [rel, built].into_iter().find(|p| p.is_file()).with_context(|| {
        format!("no reference data core/tests/data/greedy/{stem}.json for {}: pass --data", model.display())
    })
}

pub(super) fn check(
    path: &Path,
    data: Option<&Path>,
    device: &Device,
    gpu: &GpuMemory,
    report: &mut Report,
) -> Result<bool> {
    let data_path = match data {
        Some(d) => d.to_path_buf(),
        None => data_file(path)?,
    };
    let data: Data = serde_json::from_str(
        &std::fs::read_to_string(&data_path).with_context(|| format!("reading {}", data_path.display()))?,
    )
    .with_context(|| format!("parsing {}", data_path.display()))?;
    let info = read_info(path, &ReadOptions::default())?;
    let model = load(path, &info, device, gpu, report)?;

    // One untimed pass first: the first use of each kernel loads it.
    if let Some(c) = data.cases.first() {
        let mut cache = model.new_cache(c.prompt_ids.len() + 2)?;
        let l = logits(&model, &c.prompt_ids, &mut cache)?;
        logits(&model, &[argmax(&l)], &mut cache)?;
    }

    let mut ok = true;
    for (i, case) in data.cases.iter().enumerate() {
        let mut cache = model.new_cache(case.prompt_ids.len() + case.expected_ids.len() + 1)?;
        let t = Instant::now();
        let mut l = logits(&model, &case.prompt_ids, &mut cache)?;
        let prompt_s = t.elapsed().as_secs_f64();
        let mut ours = Vec::with_capacity(case.expected_ids.len());
        let t = Instant::now();
        for _ in 0..case.expected_ids.len() {
            let next = argmax(&l);
            ours.push(next);
            l = logits(&model, &[next], &mut cache)?;
        }
        let decode_s = t.elapsed().as_secs_f64();
        let n = case.expected_ids.len();
        let agree = ours.iter().zip(&case.expected_ids).take_while(|(a, b)| a == b).count();
        let stable_for = if case.default_config_ids.is_empty() {
            n
        } else {
            case.expected_ids.iter().zip(&case.default_config_ids).take_while(|(a, b)| a == b).count()
        };
        let gap = case.top2_logprobs.get(agree).and_then(|t| Some(t.first()? - t.get(1)?));
        let (verdict, pass) = if agree == n {
            ("ok".to_string(), true)
        } else if agree >= MUST_MATCH.min(n) {
            (format!("ok (diverged after the {MUST_MATCH} that must match)"), true)
        } else if gap.is_some_and(|g| g < NEAR_TIE) {
            (format!("accepted: a near-tie in llama.cpp's own run (top-2 gap under {NEAR_TIE} nats)"), true)
        } else if agree >= stable_for {
            (format!("accepted: llama.cpp's f16-cache run already leaves its f32 run at token {stable_for}"), true)
        } else {
            let detail = format!(
                "FAIL: fewer than {MUST_MATCH} agree\n    ours:      {ours:?}\n    llama.cpp: {:?}",
                case.expected_ids
            );
            (detail, false)
        };
        ok &= pass;
        let prompt_tps = case.prompt_ids.len() as f64 / prompt_s;
        let decode_tps = n as f64 / decode_s;
        println!(
            "  case {}: {agree}/{n} tokens agree{} for {:?}; prompt {} tok at {prompt_tps:.0} tok/s, decode {n} tok \
             at {decode_tps:.1} tok/s: {verdict}",
            i + 1,
            gap.filter(|_| agree < n)
                .map(|g| format!(" (llama.cpp's top-2 gap there: {g:.4} nats)"))
                .unwrap_or_default(),
            case.prompt.chars().take(40).collect::<String>(),
            case.prompt_ids.len(),
        );
        report.push(
            "greedy",
            json!({"model": path.display().to_string(), "case": i + 1, "prompt_tokens": case.prompt_ids.len(),
                   "agree": agree, "of": n, "gap_at_divergence": gap.filter(|_| agree < n), "pass": pass,
                   "ours": ours, "reference": case.expected_ids,
                   "prompt_tok_s": prompt_tps, "decode_tok_s": decode_tps}),
        );
    }
    Ok(ok)
}
