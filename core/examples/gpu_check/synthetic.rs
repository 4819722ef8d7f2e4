//! Synthetic models, device against CPU: the same tokens through both, logits compared, one sequence at a time
//! and then several decoding together through the device's batched path.

use std::path::Path;

use anyhow::Result;
use candle_core::Device;
use candle_core::quantized::GgmlDType;
use jan_core::gguf::{ReadOptions, read_info};
use jan_core::inference::model::{KvCache, Model};
use jan_core::inference::sampling::argmax;
use serde_json::json;

use super::models::{self, Fill, Mix, Spec};
use super::{Report, logits};

/// Small models for the device-against-CPU comparison. Rows of K-quant matrices must be multiples of 256 values,
/// so every input width is.
pub(super) const SPECS: [Spec; 3] = [
    Spec {
        name: "synthetic-llama",
        arch: "llama",
        n_layer: 3,
        n_embd: 256,
        n_head: 4,
        n_head_kv: 2,
        head_dim: 64,
        n_ff: 512,
        vocab: 1024,
        embd_type: GgmlDType::Q6K,
        attn_out_type: GgmlDType::Q4K,
        output_type: Some(GgmlDType::Q6K),
        qkv_bias: false,
        qk_norm: false,
        post_norms: false,
        sliding_window: None,
        rope_base: 1e4,
        mix: Mix::TestModels,
    },
    Spec {
        name: "synthetic-qwen2",
        arch: "qwen2",
        n_layer: 3,
        n_embd: 256,
        n_head: 4,
        n_head_kv: 1,
        head_dim: 64,
        n_ff: 768,
        vocab: 1536,
        embd_type: GgmlDType::Q5_0,
        attn_out_type: GgmlDType::Q4K,
        output_type: Some(GgmlDType::Q8_0),
        qkv_bias: true,
        qk_norm: false,
        post_norms: false,
        sliding_window: None,
        rope_base: 1e4,
        mix: Mix::TestModels,
    },
    Spec {
        name: "synthetic-gemma3",
        arch: "gemma3",
        n_layer: 4,
        n_embd: 256,
        n_head: 8,
        n_head_kv: 2,
        head_dim: 64,
        n_ff: 512,
        vocab: 2048,
        embd_type: GgmlDType::Q8_0,
        attn_out_type: GgmlDType::Q4K,
        output_type: None,
        qkv_bias: false,
        qk_norm: true,
        post_norms: true,
        sliding_window: Some(16),
        rope_base: 1e6,
        mix: Mix::TestModels,
    },
];

pub(super) fn check(
    s: &Spec,
    dir: &Path,
    device: &Device,
    steps: usize,
    tol: f32,
    seed: u64,
    report: &mut Report,
) -> Result<bool> {
    let path = dir.join(format!("synthetic-{}.gguf", s.arch));
    models::write(s, &path, seed, Fill::Exact, None)?;
    let info = read_info(&path, &ReadOptions::default())?;
    let cpu = Model::load(&path, &info, &Device::Cpu, &mut |_| {})?;
    let dev = Model::load(&path, &info, device, &mut |_| {})?;
    // The same weights in f32 on the CPU: the computation both quantized paths approximate.
    let exact_path = dir.join(format!("synthetic-{}-f32.gguf", s.arch));
    models::write(s, &exact_path, seed, Fill::Dequantized, None)?;
    let exact_info = read_info(&exact_path, &ReadOptions::default())?;
    let exact = Model::load(&exact_path, &exact_info, &Device::Cpu, &mut |_| {})?;

    // A 48-token prompt in chunks of 20, 5 and 23 (the device's quantized matmul has separate kernels for one
    // row, up to 8 rows and more), then `steps` single tokens. The positions pass the sliding window.
    let vocab = s.vocab as u32;
    let prompt: Vec<u32> =
        (0..48u32).map(|i| i.wrapping_mul(2_654_435_761).wrapping_add(seed as u32) % vocab).collect();
    let mut cc = cpu.new_cache(prompt.len() + steps + 1)?;
    let mut dc = dev.new_cache(prompt.len() + steps + 1)?;
    let mut ec = exact.new_cache(prompt.len() + steps + 1)?;
    let (mut lc, mut ld, mut le) = (Vec::new(), Vec::new(), Vec::new());
    for chunk in [&prompt[..20], &prompt[20..25], &prompt[25..]] {
        lc = logits(&cpu, chunk, &mut cc)?;
        ld = logits(&dev, chunk, &mut dc)?;
        le = logits(&exact, chunk, &mut ec)?;
    }

    let mut off_exact = Distance::default();
    let mut worst = (0f32, 0usize); // (max |diff| / std, step)
    let mut same_argmax = 0;
    let mut first_divergence = None;
    let mut non_finite = false;
    let mut std_sum = 0f32;
    for step in 0..=steps {
        let std = std_dev(&lc);
        std_sum += std;
        non_finite |= ld.iter().any(|v| !v.is_finite());
        let rel = max_diff(&lc, &ld) / std.max(1e-6);
        if rel > worst.0 || rel.is_nan() {
            worst = (rel, step);
        }
        off_exact.add(&le, &lc, &ld);
        let next = argmax(&lc);
        if next == argmax(&ld) {
            same_argmax += 1;
        } else if first_divergence.is_none() {
            first_divergence = Some(step);
        }
        if step == steps {
            break;
        }
        // Both sides get the CPU's choice, so the inputs stay equal and every step compares like with like.
        lc = logits(&cpu, &[next], &mut cc)?;
        ld = logits(&dev, &[next], &mut dc)?;
        le = logits(&exact, &[next], &mut ec)?;
    }
    let pass = !non_finite && (worst.0 <= tol || off_exact.device_no_worse());
    println!(
        "synthetic {}: {} layers, {} MiB on the device; {} positions; logits std {:.2}; max |device - CPU| = {:.4} \
         std (step {}, tolerance {tol}); same argmax at {same_argmax}/{} steps{}{}; {}: {}",
        s.arch,
        s.n_layer,
        dev.weight_bytes() >> 20,
        prompt.len() + steps,
        std_sum / (steps + 1) as f32,
        worst.0,
        worst.1,
        steps + 1,
        first_divergence.map(|d| format!(" (first difference at step {d})")).unwrap_or_default(),
        if non_finite { "; NON-FINITE logits on the device" } else { "" },
        off_exact.describe(),
        if pass { "ok" } else { "FAIL" }
    );
    report.push(
        "synthetic",
        json!({"model": s.name, "path": "one sequence", "max_diff_over_std": worst.0, "at_step": worst.1,
               "same_argmax": same_argmax, "of": steps + 1, "non_finite": non_finite, "tolerance": tol,
               "cpu_off_exact": off_exact.cpu, "device_off_exact": off_exact.device, "pass": pass}),
    );
    let batched = batched_check(s, &cpu, &dev, &exact, &prompt, tol, report)?;
    Ok(pass && batched)
}

/// Four sequences at different positions decoding together on the device (caches in one pool, one pass a
/// step: the engine's path there) against each run alone on the CPU, for 16 steps of tokens chosen by the CPU;
/// every other step leaves one sequence out.
fn batched_check(
    s: &Spec,
    cpu: &Model,
    dev: &Model,
    exact: &Model,
    prompt: &[u32],
    tol: f32,
    report: &mut Report,
) -> Result<bool> {
    const STEPS: usize = 16;
    let lens = [5usize, prompt.len(), 1, 30];
    let capacity = prompt.len() + STEPS + 2;
    let mut host: Vec<KvCache> = lens.iter().map(|_| cpu.new_cache(capacity)).collect::<Result<_, _>>()?;
    let mut reference: Vec<KvCache> = lens.iter().map(|_| exact.new_cache(capacity)).collect::<Result<_, _>>()?;
    let mut pooled = dev.new_pooled_caches(lens.len(), capacity)?;
    let mut next = Vec::new();
    for (i, &n) in lens.iter().enumerate() {
        let l = logits(cpu, &prompt[..n], &mut host[i])?;
        logits(dev, &prompt[..n], &mut pooled[i])?;
        logits(exact, &prompt[..n], &mut reference[i])?;
        next.push(argmax(&l));
    }
    let mut off_exact = Distance::default();
    let (mut worst, mut non_finite, mut same, mut compared) = (0f32, false, 0usize, 0usize);
    for step in 0..STEPS {
        let take: Vec<usize> = (0..lens.len()).filter(|&i| step % 2 == 0 || i != 1).collect();
        let tokens: Vec<u32> = take.iter().map(|&i| next[i]).collect();
        let mut refs: Vec<&mut KvCache> =
            pooled.iter_mut().enumerate().filter(|(i, _)| take.contains(i)).map(|(_, c)| c).collect();
        let together = dev.forward_batch(&tokens, &mut refs)?;
        for (&i, ld) in take.iter().zip(&together) {
            let lc = logits(cpu, &[next[i]], &mut host[i])?;
            let le = logits(exact, &[next[i]], &mut reference[i])?;
            non_finite |= ld.iter().any(|v| !v.is_finite());
            worst = worst.max(max_diff(&lc, ld) / std_dev(&lc).max(1e-6));
            off_exact.add(&le, &lc, ld);
            compared += 1;
            if argmax(&lc) == argmax(ld) {
                same += 1;
            }
            next[i] = argmax(&lc);
        }
        if !take.contains(&1) {
            // The one left out catches up alone, through its pool's one-sequence path.
            let lc = logits(cpu, &[next[1]], &mut host[1])?;
            let ld = logits(dev, &[next[1]], &mut pooled[1])?;
            let le = logits(exact, &[next[1]], &mut reference[1])?;
            worst = worst.max(max_diff(&lc, &ld) / std_dev(&lc).max(1e-6));
            off_exact.add(&le, &lc, &ld);
            non_finite |= ld.iter().any(|v| !v.is_finite());
            next[1] = argmax(&lc);
        }
    }
    let pass = !non_finite && (worst <= tol || off_exact.device_no_worse());
    println!(
        "synthetic {} batched: 4 sequences at positions {lens:?}.., {STEPS} steps; max |device - CPU| = {worst:.4} std \
         (tolerance {tol}); same argmax {same}/{compared}{}; {}: {}",
        s.arch,
        if non_finite { "; NON-FINITE logits on the device" } else { "" },
        off_exact.describe(),
        if pass { "ok" } else { "FAIL" }
    );
    report.push(
        "synthetic",
        json!({"model": s.name, "path": "batched (pool)", "max_diff_over_std": worst, "same_argmax": same,
               "of": compared, "non_finite": non_finite, "tolerance": tol, "cpu_off_exact": off_exact.cpu,
               "device_off_exact": off_exact.device, "pass": pass}),
    );
    Ok(pass)
}

/// How far the CPU's and the device's logits stray from the exact (f32-weight, f32-activation) computation:
/// the largest difference over all steps, in standard deviations of the exact logits. Both paths quantize
/// activations (the CPU to q8_K or q8_0 blocks, the device to q8_1), so neither is the reference for the other;
/// a device no further from the exact result than the CPU (with 25% slack) computes what the CPU does.
#[derive(Default)]
struct Distance {
    cpu: f32,
    device: f32,
}

impl Distance {
    fn add(&mut self, exact: &[f32], cpu: &[f32], device: &[f32]) {
        let std = std_dev(exact).max(1e-6);
        self.cpu = self.cpu.max(max_diff(exact, cpu) / std);
        self.device = self.device.max(max_diff(exact, device) / std);
    }

    fn device_no_worse(&self) -> bool {
        self.device.is_finite() && self.device <= 1.25 * self.cpu
    }

    fn describe(&self) -> String {
        format!(
            "off the exact f32 computation: CPU {:.4} std, device {:.4} std{}",
            self.cpu,
            self.device,
            if self.device_no_worse() { " (device no further)" } else { "" }
        )
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
}

fn std_dev(v: &[f32]) -> f32 {
    let n = v.len() as f32;
    let mean = v.iter().sum::<f32>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n).sqrt()
}
