//! Inference speed of the core's forward pass, in llama-bench's terms: prompt processing at 128 and 512 tokens
//! (pp128, pp512; `--prompts` chooses others), decoding 128 tokens one at a time (tg128), time to first token of
//! a 128-token prompt, and peak memory beside what the weights and the largest KV cache take. `ci/bench.sh`
//! runs it beside llama.cpp's `llama-bench` and prints the ratios.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p jan-core --example bench -- MODEL.gguf [--reps N] [--json] [--decode]
//!     [--prompts 128,512,2048]
//! RAYON_NUM_THREADS=2 cargo run --release -p jan-core --example bench -- --kernels [--reps N]
//! RAYON_NUM_THREADS=2 cargo run --release -p jan-core --example bench -- --memory [--reps N]
//! ```
//!
//! `--decode` skips prompt processing (for profiling decode alone).
//!
//! `JAN_CPU_KERNELS=candle` runs the model on candle's CPU kernels instead of the core's own (the default).
//!
//! `--kernels` times the quantized matrix products alone (`jan_core::inference::cpu_kernels`) against candle's
//! `QMatMul` on the same weights, for the shapes of the test models (best of N, in GMAC/s).
//!
//! `--memory` measures how fast the threads read memory (a 1 GiB buffer, each thread its share, best of N, in
//! GB/s): divided by the weights a decoding step reads (`read_mb` in the model's report), the most tokens/s any
//! program can decode on this machine with that model.
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
    let first =
        args.next().context("usage: bench MODEL.gguf [--reps N] [--json] [--decode] | bench --kernels [--reps N]")?;
    if first == "--kernels" {
        let reps = match (args.next().as_deref(), args.next()) {
            (Some("--reps"), Some(n)) => n.parse()?,
            _ => 20,
        };
        return kernels(reps);
    }
    if first == "--memory" {
        let reps = match (args.next().as_deref(), args.next()) {
            (Some("--reps"), Some(n)) => n.parse()?,
            _ => 5,
        };
        println!("{:.1}", memory_read_gbs(reps));
        return Ok(());
    }
    let path = PathBuf::from(first);
    let mut reps = 3;
    let mut json = false;
    let mut decode_only = false;
    let mut prompts = vec![128usize, 512];
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().context("--reps N")?.parse()?,
            "--prompts" => {
                prompts = args
                    .next()
                    .context("--prompts N,N,...")?
                    .split(',')
                    .map(|n| n.trim().parse::<usize>().context("--prompts N,N,..."))
                    .collect::<anyhow::Result<_>>()?;
            }
            "--json" => json = true,
            "--decode" => decode_only = true,
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
    for &n in &prompts {
        if decode_only {
            pp.push((n, f64::NAN));
            continue;
        }
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
    // The largest cache the run held (the longest prompt's, or decoding's 512).
    let largest = prompts.iter().map(|n| n + 8).chain([512]).max().unwrap_or(512);
    let kv_mb = (model.config.kv_bytes_per_token() * largest) as f64 / (1 << 20) as f64;
    let read_mb = model.bytes_per_token() as f64 / (1 << 20) as f64;
    if json {
        let mut out = serde_json::json!({
            "model": path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "tg128": tg, "ttft_ms_128": ttft,
            "peak_rss_mb": peak_mb, "file_mb": file_mb, "kv_mb": kv_mb, "load_s": load_s, "read_mb": read_mb,
        });
        for &(n, rate) in &pp {
            out[format!("pp{n}")] = serde_json::json!(rate);
        }
        println!("{out}");
    } else {
        println!("model      {}", path.display());
        println!("load       {load_s:.2} s");
        if !decode_only {
            for &(n, rate) in &pp {
                println!("{:<10} {rate:.1} tokens/s", format!("pp{n}"));
            }
        }
        println!("tg128      {tg:.1} tokens/s (reading {read_mb:.0} MB of weights a token)");
        println!("ttft(128)  {ttft:.0} ms");
        if let Some(mb) = peak_mb {
            println!("peak RSS   {mb:.0} MB (file {file_mb:.0} MB, KV cache of {largest} tokens {kv_mb:.0} MB)");
        }
    }
    Ok(())
}

/// Times the kernels against candle's `QMatMul` (best of `reps`), for each weight type and the test models'
/// shapes, decoding (1 row) and prompt processing (128 rows).
fn kernels(reps: usize) -> anyhow::Result<()> {
    use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
    use candle_core::{Module, Tensor};
    use jan_core::inference::cpu_kernels::{QuantMatrix, WeightType};

    let types = [
        (WeightType::Q5_0, GgmlDType::Q5_0),
        (WeightType::Q8_0, GgmlDType::Q8_0),
        (WeightType::Q4_K, GgmlDType::Q4K),
        (WeightType::Q6_K, GgmlDType::Q6K),
        (WeightType::Q4_0, GgmlDType::Q4_0),
        (WeightType::Q5_K, GgmlDType::Q5K),
    ];
    let shapes = [(896usize, 896usize), (4864, 896), (896, 4864), (640, 2048), (2048, 640)];
    let best = |f: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<f64> {
        let mut best = f64::INFINITY;
        for _ in 0..reps {
            let t = Instant::now();
            f()?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        Ok(best)
    };
    println!("{:<6} {:>5} {:>5} {:>4} {:>10} {:>10} {:>7}", "type", "n", "k", "m", "ours GM/s", "candle", "ratio");
    for (ty, gty) in types {
        for &(n, k) in &shapes {
            if k % ty.block_elems() != 0 {
                continue;
            }
            let w: Vec<f32> = (0..n * k).map(|i| ((i * 7919 % 1013) as f32 / 506.0 - 1.0) * 0.1).collect();
            let wt = Tensor::from_vec(w, (n, k), &Device::Cpu)?;
            let qt = QTensor::quantize(&wt, gty)?;
            let ours = QuantMatrix::from_ggml(ty, n, k, &qt.data()?)?;
            let theirs = QMatMul::from_qtensor(qt)?;
            for m in [1usize, 128] {
                let x: Vec<f32> = (0..m * k).map(|i| (i * 104_729 % 2003) as f32 / 1001.0 - 1.0).collect();
                let xt = Tensor::from_vec(x.clone(), (m, k), &Device::Cpu)?;
                let mut out = vec![0f32; m * n];
                let t_ours = best(&mut || Ok(ours.matmul(&x, m, &mut out)?))?;
                let t_candle = best(&mut || {
                    theirs.forward(&xt)?;
                    Ok(())
                })?;
                let gmacs = (m * n * k) as f64 / 1e9;
                println!(
                    "{:<6} {n:>5} {k:>5} {m:>4} {:>10.1} {:>10.1} {:>6.2}x",
                    format!("{ty:?}"),
                    gmacs / t_ours,
                    gmacs / t_candle,
                    t_candle / t_ours
                );
            }
        }
    }
    Ok(())
}

/// Memory read speed of all the pool's threads together, GB/s (best of `reps` passes over 1 GiB).
fn memory_read_gbs(reps: usize) -> f64 {
    use rayon::prelude::*;
    let buf = vec![1u64; 1 << 27];
    let threads = rayon::current_num_threads().max(1);
    let share = buf.len().div_ceil(threads);
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        let sum: u64 = buf
            .par_chunks(share)
            .map(|part| {
                let mut acc = [0u64; 8];
                for c in part.chunks_exact(8) {
                    for (a, v) in acc.iter_mut().zip(c) {
                        *a = a.wrapping_add(*v);
                    }
                }
                acc.iter().fold(0u64, |a, b| a.wrapping_add(*b))
            })
            .sum();
        std::hint::black_box(sum);
        best = best.min(t.elapsed().as_secs_f64());
    }
    (buf.len() * 8) as f64 / best / 1e9
}

/// Peak resident memory (Linux `VmHWM`), in KiB.
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim().parse().ok())
}
