//! Inference speed of the core's forward pass, in llama-bench's terms: prompt processing at 128 and 512 tokens
//! (pp128, pp512), decoding 128 tokens one at a time (tg128), time to first token of a 128-token prompt, and
//! peak memory. `ci/bench.sh` runs it beside llama.cpp's `llama-bench` and prints the ratios.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p jan-core --example bench -- MODEL.gguf [--reps N] [--json]
//! ```
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use candle_core::Device;
use jan_core::gguf::{ReadOptions, read_info};
use jan_core::inference::model::Model;
use jan_core::inference::sampling::argmax;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().context("usage: bench MODEL.gguf [--reps N] [--json]")?);
    let mut reps = 3;
    let mut json = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().context("--reps N")?.parse()?,
            "--json" => json = true,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let info = read_info(&path, &ReadOptions::default())?;
    let load_start = Instant::now();
    let model = Model::load(&path, &info, &Device::Cpu, &mut |_| {})?;
    let load_s = load_start.elapsed().as_secs_f64();
    let vocab = model.config.n_vocab as u32;
    // Deterministic, ordinary token ids (avoid the special tokens at both ends of the vocabulary).
    let tokens = |n: usize, seed: u32| -> Vec<u32> {
        (0..n as u32).map(|i| 1000 + (i.wrapping_mul(2_654_435_761).wrapping_add(seed) % (vocab / 2))).collect()
    };

    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut pp = Vec::new();
    for n in [128usize, 512] {
        let mut rates = Vec::new();
        for r in 0..reps {
            let mut cache = model.new_cache(n + 8)?;
            let t = Instant::now();
            // As the engine does: chunks of 256.
            for chunk in tokens(n, r as u32).chunks(256) {
                model.forward(chunk, &mut cache)?;
            }
            rates.push(n as f64 / t.elapsed().as_secs_f64());
        }
        pp.push((n, median(rates)));
    }

    let mut tg = Vec::new();
    let mut ttft = Vec::new();
    for r in 0..reps {
        let mut cache = model.new_cache(512)?;
        let t = Instant::now();
        let logits = model.forward(&tokens(128, 99 + r as u32), &mut cache)?;
        let mut next = argmax(&logits.to_vec1::<f32>()?);
        ttft.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        for _ in 0..128 {
            let logits = model.forward(&[next], &mut cache)?;
            next = argmax(&logits.to_vec1::<f32>()?);
        }
        tg.push(128.0 / t.elapsed().as_secs_f64());
    }
    let (tg, ttft) = (median(tg), median(ttft));
    let peak_mb = peak_rss_kb().map(|kb| kb as f64 / 1024.0);
    let file_mb = std::fs::metadata(&path)?.len() as f64 / (1 << 20) as f64;
    if json {
        println!(
            "{}",
            serde_json::json!({
                "model": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                "pp128": pp[0].1, "pp512": pp[1].1, "tg128": tg, "ttft_ms_128": ttft,
                "peak_rss_mb": peak_mb, "file_mb": file_mb, "load_s": load_s,
            })
        );
    } else {
        println!("model      {}", path.display());
        println!("load       {load_s:.2} s");
        println!("pp128      {:.1} tokens/s", pp[0].1);
        println!("pp512      {:.1} tokens/s", pp[1].1);
        println!("tg128      {tg:.1} tokens/s");
        println!("ttft(128)  {ttft:.0} ms");
        if let Some(mb) = peak_mb {
            println!("peak RSS   {mb:.0} MB (file {file_mb:.0} MB)");
        }
    }
    Ok(())
}

/// Peak resident memory (Linux `VmHWM`), in KiB.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim().parse().ok())
}
