//! Speed in llama-bench's terms (prompt processing of 512 and 2048 tokens, decoding 128), plus what a server
//! does: decoding many sequences at once, each step one pass of the engine's batched path.

use std::time::Instant;

use anyhow::Result;
use jan_core::inference::model::{KvCache, Model, profile};
use jan_core::inference::sampling::argmax;
use serde_json::json;

use super::{GpuMemory, Report, logits};

/// Prompt tokens per forward pass, as the engine processes prompts.
const PROMPT_CHUNK: usize = 256;
/// Decoding steps timed per batch size.
const BATCH_STEPS: usize = 32;

/// Ordinary-looking token ids (no special tokens), spread over the vocabulary.
fn ids(model: &Model, n: usize, salt: u32) -> Vec<u32> {
    let vocab = model.config.n_vocab as u32;
    (0..n as u32).map(|i| 1000.min(vocab / 4) + (i + salt).wrapping_mul(2_654_435_761) % (vocab / 2)).collect()
}

pub(super) fn measure(
    model: &Model,
    name: &str,
    gpu: &GpuMemory,
    batches: &[usize],
    profile_sections: bool,
    report: &mut Report,
) -> Result<()> {
    // Untimed warm-up: the first use of each kernel loads it.
    let mut warm = model.new_cache(300)?;
    let l = logits(model, &ids(model, PROMPT_CHUNK + 3, 0), &mut warm)?;
    logits(model, &[argmax(&l)], &mut warm)?;

    let mut prompt = serde_json::Map::new();
    for n in [512usize, 2048] {
        let mut cache = model.new_cache(n + 1)?;
        let tokens = ids(model, n, 1);
        let t = Instant::now();
        for chunk in tokens.chunks(PROMPT_CHUNK) {
            logits(model, chunk, &mut cache)?;
        }
        let tps = n as f64 / t.elapsed().as_secs_f64();
        println!("{name}: pp{n} {tps:.0} tok/s (chunks of {PROMPT_CHUNK}, as the engine runs prompts)");
        prompt.insert(format!("pp{n}"), json!(tps));
    }

    // Decoding one sequence, through the engine's path (forward_batch of one).
    let mut caches = model.new_caches(1, 16 + 129)?;
    let mut next = argmax(&logits(model, &ids(model, 16, 2), &mut caches[0])?);
    let t = Instant::now();
    for _ in 0..128 {
        let mut refs: Vec<&mut KvCache> = caches.iter_mut().collect();
        next = argmax(&model.forward_batch(&[next], &mut refs)?[0]);
    }
    let tg = 128.0 / t.elapsed().as_secs_f64();
    println!("{name}: tg128 {tg:.1} tok/s (one sequence, logits copied to the host every step)");

    let mut batched = Vec::new();
    for &b in batches {
        let mut caches = model.new_caches(b, 16 + 2 * BATCH_STEPS + 2)?;
        let mut next: Vec<u32> = caches
            .iter_mut()
            .enumerate()
            .map(|(i, c)| Ok(argmax(&logits(model, &ids(model, 16, 100 + i as u32), c)?)))
            .collect::<Result<_>>()?;
        // One untimed step: the batch's first use of each kernel shape.
        let mut refs: Vec<&mut KvCache> = caches.iter_mut().collect();
        next = model.forward_batch(&next, &mut refs)?.iter().map(|l| argmax(l)).collect();
        // The host's share, timed apart: the argmax over every row's logits (what sampling costs at least).
        let (mut in_forward, mut in_argmax) = (0f64, 0f64);
        let t = Instant::now();
        for _ in 0..BATCH_STEPS - 1 {
            let mut refs: Vec<&mut KvCache> = caches.iter_mut().collect();
            let f = Instant::now();
            let rows = model.forward_batch(&next, &mut refs)?;
            in_forward += f.elapsed().as_secs_f64();
            let a = Instant::now();
            next = rows.iter().map(|l| argmax(l)).collect();
            in_argmax += a.elapsed().as_secs_f64();
        }
        let secs = t.elapsed().as_secs_f64();
        let steps = (BATCH_STEPS - 1) as f64;
        let aggregate = b as f64 * steps / secs;
        let ms = |s: f64| s * 1000.0 / steps;
        println!(
            "{name}: {b} sequences decoding together: {aggregate:.1} tok/s in all, {:.1} per sequence, {:.2} ms a step \
             ({:.2} in forward_batch, {:.2} in the host's argmax)",
            aggregate / b as f64,
            ms(secs),
            ms(in_forward),
            ms(in_argmax)
        );
        let mut entry = json!({"sequences": b, "aggregate_tok_s": aggregate, "ms_per_step": ms(secs),
                               "ms_in_forward_batch": ms(in_forward), "ms_in_argmax": ms(in_argmax)});
        if profile_sections {
            // The same steps again, each section synchronized and timed (slower in all; the shares are the point).
            profile::set_enabled(true);
            let t = Instant::now();
            for _ in 0..BATCH_STEPS - 1 {
                let mut refs: Vec<&mut KvCache> = caches.iter_mut().collect();
                next = model.forward_batch(&next, &mut refs)?.iter().map(|l| argmax(l)).collect();
            }
            let synced = t.elapsed().as_secs_f64();
            let sections = profile::take();
            profile::set_enabled(false);
            let mut parts = serde_json::Map::new();
            let line: Vec<String> = sections
                .iter()
                .filter(|(_, _, n)| *n > 0)
                .map(|(s, d, n)| {
                    parts.insert(s.name().into(), json!({"ms_per_step": ms(d.as_secs_f64()), "runs": n}));
                    format!("{} {:.2}", s.name(), ms(d.as_secs_f64()))
                })
                .collect();
            println!(
                "{name}:   profiled ({:.2} ms a step with a synchronize per section), ms a step: {}",
                ms(synced),
                line.join(", ")
            );
            entry["profile"] = json!({"ms_per_step_synced": ms(synced), "sections": parts});
        }
        batched.push(entry);
    }
    report.push(
        "speed",
        json!({"model": name, "prompt_chunk": PROMPT_CHUNK, "prompt_tok_s": prompt, "tg128": tg,
               "batched_decode": batched, "gpu_used_mib": gpu.used_mib()}),
    );
    Ok(())
}
