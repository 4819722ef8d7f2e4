//! A device smoke test for the CUDA build: the core's forward pass on CUDA device 0, checked against llama.cpp's
//! greedy continuations of a real model, or against the CPU in the same run on small models it writes itself.
//!
//! ```text
//! gpu_check [--cpu] MODEL.gguf... [--data FILE.json]
//!     Greedy continuations of the prompts in core/tests/data/greedy/<model>.json (or --data), as the CPU test
//!     greedy_llama_cpp.rs runs them; prints per case how many tokens agree with llama.cpp, prompt and decode
//!     speed, then pp512 / tg128 speed and GPU memory. Fails a case where fewer than 32 tokens agree, unless
//!     llama.cpp's own f16-cache run already leaves its f32 run there (the reference is unstable).
//! gpu_check [--cpu] --synthetic [--steps N] [--tol X] [--keep DIR] [--speed]
//!     Writes three tiny random-weight models (llama, qwen2 and gemma3 layouts; Q8_0, Q5_0, Q4_K, Q6_K and F32
//!     tensors, like the test models) to a temporary folder, runs each on the CPU and on the device with the
//!     same tokens (a chunked prompt, then N greedy steps chosen by the CPU) and compares the logits. Fails where
//!     the largest difference exceeds X times the CPU logits' standard deviation (default 0.1) or the device
//!     gives a non-finite logit. Needs no model files, so it runs where none can be carried. `--speed` then
//!     also writes a random model with the shapes and tensor types of qwen2.5-coder-0.5b (about 400 MB) and
//!     measures pp512 / tg128 on the device: real kernels and shapes, meaningless tokens.
//! ```
//! Built with `--features cuda` (ci/build-cuda.sh) it runs on CUDA device 0. `--cpu`, or a build without the
//! feature, puts the "device" side on the CPU instead, to test this program itself (the synthetic comparison
//! is then exact). Exit status: 0 all checks passed, 1 a check failed, 2 the program could not run.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use jan_core::gguf::writer::GgufWriter;
use jan_core::gguf::{GgufValue, ReadOptions, read_info};
use jan_core::inference::model::Model;
use jan_core::inference::sampling::argmax;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

/// Tokens of a greedy continuation that must equal llama.cpp's (as in the CPU test).
const MUST_MATCH: usize = 32;

const USAGE: &str = "usage: gpu_check [--cpu] MODEL.gguf... [--data FILE.json]\n       \
                     gpu_check [--cpu] --synthetic [--steps N] [--tol X] [--keep DIR] [--speed]";

#[derive(Debug)]
struct Args {
    cpu: bool,
    synthetic: bool,
    models: Vec<PathBuf>,
    data: Option<PathBuf>,
    steps: usize,
    tol: f32,
    keep: Option<PathBuf>,
    speed: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        cpu: false,
        synthetic: false,
        models: Vec::new(),
        data: None,
        steps: 32,
        tol: 0.1,
        keep: None,
        speed: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--cpu" => a.cpu = true,
            "--synthetic" => a.synthetic = true,
            "--data" => a.data = Some(value("--data")?.into()),
            "--steps" => a.steps = value("--steps")?.parse().context("--steps N")?,
            "--tol" => a.tol = value("--tol")?.parse().context("--tol X")?,
            "--keep" => a.keep = Some(value("--keep")?.into()),
            "--speed" => a.speed = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with('-') => bail!("unknown argument {s}\n{USAGE}"),
            path => a.models.push(path.into()),
        }
    }
    if a.synthetic != a.models.is_empty() {
        bail!("give either --synthetic or model files\n{USAGE}");
    }
    if a.speed && !a.synthetic {
        bail!("--speed goes with --synthetic (a real model's speed is always measured)");
    }
    if a.data.is_some() && a.models.len() != 1 {
        bail!("--data goes with exactly one model");
    }
    Ok(a)
}

fn main() {
    let code = match run() {
        Ok(true) => {
            println!("gpu_check: PASS");
            0
        }
        Ok(false) => {
            println!("gpu_check: FAIL");
            1
        }
        Err(e) => {
            eprintln!("gpu_check: error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

fn run() -> Result<bool> {
    let args = parse_args()?;
    let device = open_device(args.cpu)?;
    let gpu = GpuMemory::new(&device);
    println!(
        "gpu_check: device {} (binary built {} the cuda feature){}",
        describe(&device),
        if cfg!(feature = "cuda") { "with" } else { "without" },
        gpu.name().map(|n| format!(", {n}")).unwrap_or_default()
    );
    let mut ok = true;
    if args.synthetic {
        let tmp;
        let dir = match &args.keep {
            Some(d) => {
                std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
                d.as_path()
            }
            None => {
                tmp = tempfile::tempdir()?;
                tmp.path()
            }
        };
        for (i, spec) in SPECS.iter().enumerate() {
            ok &= synthetic_check(spec, dir, &device, args.steps, args.tol, 1000 + i as u64)?;
        }
        if args.speed {
            let path = dir.join("synthetic-qwen2-0.5b-shape.gguf");
            let t = Instant::now();
            write_synthetic(&SPEED_SPEC, &path, 7)?;
            println!("wrote {} in {:.1} s", path.display(), t.elapsed().as_secs_f64());
            let info = read_info(&path, &ReadOptions::default())?;
            let model = load(&path, &info, &device, &gpu)?;
            speed(&model, "synthetic qwen2-0.5b-shape", &gpu)?;
        }
    } else {
        for path in &args.models {
            ok &= greedy_check(path, args.data.as_deref(), &device, &gpu)?;
        }
    }
    if let Some(used) = gpu.used_mib() {
        println!("GPU memory used at the end: {used} MiB (all processes, from NVML)");
    }
    Ok(ok)
}

fn open_device(cpu: bool) -> Result<Device> {
    if cpu {
        return Ok(Device::Cpu);
    }
    if !cfg!(feature = "cuda") {
        bail!("this build has no CUDA support: build with `--features cuda` (ci/build-cuda.sh), or pass --cpu");
    }
    let device = Device::new_cuda(0).context("opening CUDA device 0")?;
    Ok(device)
}

fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => "CPU".into(),
        d => format!("{:?}", d.location()),
    }
}

/// GPU memory through NVML (the driver's libnvidia-ml, loaded at run time), when the device is a GPU.
struct GpuMemory(Option<nvml_wrapper::Nvml>);

impl GpuMemory {
    fn new(device: &Device) -> Self {
        GpuMemory(if device.is_cuda() { nvml_wrapper::Nvml::init().ok() } else { None })
    }

    fn name(&self) -> Option<String> {
        self.0.as_ref()?.device_by_index(0).ok()?.name().ok()
    }

    fn used_mib(&self) -> Option<u64> {
        Some(self.0.as_ref()?.device_by_index(0).ok()?.memory_info().ok()?.used >> 20)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Real models against llama.cpp's greedy continuations.

#[derive(Deserialize)]
struct Case {
    prompt: String,
    prompt_ids: Vec<u32>,
    expected_ids: Vec<u32>,
    #[serde(default)]
    top2_logprobs: Vec<Vec<f64>>,
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

fn logits(model: &Model, tokens: &[u32], cache: &mut jan_core::inference::model::KvCache) -> Result<Vec<f32>> {
    Ok(model.forward(tokens, cache)?.to_vec1::<f32>()?)
}

fn greedy_check(path: &Path, data: Option<&Path>, device: &Device, gpu: &GpuMemory) -> Result<bool> {
    let data_path = match data {
        Some(d) => d.to_path_buf(),
        None => data_file(path)?,
    };
    let data: Data = serde_json::from_str(
        &std::fs::read_to_string(&data_path).with_context(|| format!("reading {}", data_path.display()))?,
    )
    .with_context(|| format!("parsing {}", data_path.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let info = read_info(path, &ReadOptions::default())?;
    let model = load(path, &info, device, gpu)?;

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
        let stable_for = case.expected_ids.iter().zip(&case.default_config_ids).take_while(|(a, b)| a == b).count();
        let gap = case.top2_logprobs.get(agree).and_then(|t| Some(t.first()? - t.get(1)?));
        let verdict = if agree == n {
            "ok".to_string()
        } else if agree >= MUST_MATCH.min(n) {
            format!("ok (diverged after the {MUST_MATCH} that must match)")
        } else if agree >= stable_for {
            format!("accepted: llama.cpp's f16-cache run already leaves its f32 run at token {stable_for}")
        } else {
            ok = false;
            format!(
                "FAIL: fewer than {MUST_MATCH} agree\n    ours:      {ours:?}\n    llama.cpp: {:?}",
                case.expected_ids
            )
        };
        println!(
            "  case {}: {agree}/{n} tokens agree{} for {:?}; prompt {} tok at {:.0} tok/s, decode {n} tok at {:.1} \
             tok/s: {verdict}",
            i + 1,
            gap.filter(|_| agree < n)
                .map(|g| format!(" (llama.cpp's top-2 gap there: {g:.4} nats)"))
                .unwrap_or_default(),
            case.prompt.chars().take(40).collect::<String>(),
            case.prompt_ids.len(),
            case.prompt_ids.len() as f64 / prompt_s,
            n as f64 / decode_s,
        );
    }

    speed(&model, &name, gpu)?;
    Ok(ok)
}

fn load(path: &Path, info: &jan_core::gguf::GgufInfo, device: &Device, gpu: &GpuMemory) -> Result<Model> {
    let before = gpu.used_mib();
    let t = Instant::now();
    let model = Model::load(path, info, device, &mut |_| {})?;
    device.synchronize()?;
    println!(
        "{}: loaded in {:.2} s, {} MiB of weights{}",
        path.display(),
        t.elapsed().as_secs_f64(),
        model.weight_bytes() >> 20,
        match (before, gpu.used_mib()) {
            (Some(b), Some(a)) => format!(", GPU memory used {b} -> {a} MiB"),
            _ => String::new(),
        }
    );
    Ok(model)
}

/// Speed in llama-bench's terms on ordinary token ids, after one untimed warm-up: pp512 (prompt processing in
/// chunks of 256, as the engine does) and tg128 (decoding one token at a time).
fn speed(model: &Model, name: &str, gpu: &GpuMemory) -> Result<()> {
    let vocab = model.config.n_vocab as u32;
    let ids: Vec<u32> =
        (0..512u32).map(|i| 1000.min(vocab / 4) + i.wrapping_mul(2_654_435_761) % (vocab / 2)).collect();
    let mut warm = model.new_cache(64)?;
    let l = logits(model, &ids[..32], &mut warm)?;
    logits(model, &[argmax(&l)], &mut warm)?;
    let mut cache = model.new_cache(512 + 129)?;
    let t = Instant::now();
    let mut l = Vec::new();
    for chunk in ids.chunks(256) {
        l = logits(model, chunk, &mut cache)?;
    }
    let pp = 512.0 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..128 {
        l = logits(model, &[argmax(&l)], &mut cache)?;
    }
    let tg = 128.0 / t.elapsed().as_secs_f64();
    println!(
        "{name}: pp512 {pp:.0} tok/s, tg128 {tg:.1} tok/s (one run each, logits copied to the host every step){}",
        gpu.used_mib().map(|m| format!("; GPU memory used {m} MiB")).unwrap_or_default()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Synthetic models: device against CPU.

/// The shape and layout of a synthetic model.
#[derive(Debug)]
struct Spec {
    arch: &'static str,
    n_layer: usize,
    n_embd: usize,
    n_head: usize,
    n_head_kv: usize,
    head_dim: usize,
    n_ff: usize,
    vocab: usize,
    embd_type: GgmlDType,
    attn_out_type: GgmlDType,
    /// `None`: tied to the embeddings.
    output_type: Option<GgmlDType>,
    qkv_bias: bool,
    qk_norm: bool,
    post_norms: bool,
    sliding_window: Option<usize>,
}

/// Small models for the device-against-CPU comparison. Rows of K-quant matrices must be multiples of 256 values,
/// so every input width is.
const SPECS: [Spec; 3] = [
    Spec {
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
    },
    Spec {
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
    },
    Spec {
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
    },
];

/// qwen2.5-coder-0.5b's shapes and tensor types (its attn_output is Q5_0: 896 columns do not fit K-quants).
const SPEED_SPEC: Spec = Spec {
    arch: "qwen2",
    n_layer: 24,
    n_embd: 896,
    n_head: 14,
    n_head_kv: 2,
    head_dim: 64,
    n_ff: 4864,
    vocab: 151_936,
    embd_type: GgmlDType::Q5_0,
    attn_out_type: GgmlDType::Q5_0,
    output_type: Some(GgmlDType::Q8_0),
    qkv_bias: true,
    qk_norm: false,
    post_norms: false,
    sliding_window: None,
};

fn ggml_type_id(t: GgmlDType) -> u32 {
    match t {
        GgmlDType::F32 => 0,
        GgmlDType::F16 => 1,
        GgmlDType::Q4_0 => 2,
        GgmlDType::Q4_1 => 3,
        GgmlDType::Q5_0 => 6,
        GgmlDType::Q5_1 => 7,
        GgmlDType::Q8_0 => 8,
        GgmlDType::Q8_1 => 9,
        GgmlDType::Q2K => 10,
        GgmlDType::Q3K => 11,
        GgmlDType::Q4K => 12,
        GgmlDType::Q5K => 13,
        GgmlDType::Q6K => 14,
        GgmlDType::Q8K => 15,
        GgmlDType::BF16 => 30,
    }
}

struct Builder {
    w: GgufWriter,
    rng: ChaCha8Rng,
}

impl Builder {
    fn uniform(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.rng.random_range(-scale..scale)).collect()
    }

    /// A `rows x cols` matrix (rows = outputs) with entries of standard deviation `gain / sqrt(cols)`.
    fn matrix(&mut self, name: &str, rows: usize, cols: usize, ty: GgmlDType, gain: f32) -> Result<()> {
        let values = self.uniform(rows * cols, gain * (3.0 / cols as f32).sqrt());
        let dims = [cols as u64, rows as u64]; // GGUF lists the fastest-moving dimension first.
        if ty == GgmlDType::F32 {
            self.w.tensor_f32(name, &dims, &values);
        } else {
            let q = QTensor::quantize(&Tensor::from_vec(values, (rows, cols), &Device::Cpu)?, ty)?;
            self.w.tensor(name, &dims, ggml_type_id(ty), &q.data()?);
        }
        Ok(())
    }

    /// A norm weight near 1.
    fn norm(&mut self, name: &str, n: usize) {
        let v: Vec<f32> = self.uniform(n, 0.2).into_iter().map(|x| 1.0 + x).collect();
        self.w.tensor_f32(name, &[n as u64], &v);
    }

    fn bias(&mut self, name: &str, n: usize) {
        let v = self.uniform(n, 0.5);
        self.w.tensor_f32(name, &[n as u64], &v);
    }
}

fn write_synthetic(s: &Spec, path: &Path, seed: u64) -> Result<()> {
    let mut b = Builder { w: GgufWriter::new(), rng: ChaCha8Rng::seed_from_u64(seed) };
    let a = s.arch;
    let u = |v: usize| GgufValue::U32(v as u32);
    b.w.kv("general.architecture", GgufValue::String(a.into()))
        .kv("general.name", GgufValue::String(format!("gpu_check synthetic {a}")))
        .kv(format!("{a}.block_count"), u(s.n_layer))
        .kv(format!("{a}.context_length"), u(4096))
        .kv(format!("{a}.embedding_length"), u(s.n_embd))
        .kv(format!("{a}.feed_forward_length"), u(s.n_ff))
        .kv(format!("{a}.attention.head_count"), u(s.n_head))
        .kv(format!("{a}.attention.head_count_kv"), u(s.n_head_kv))
        .kv(format!("{a}.attention.key_length"), u(s.head_dim))
        .kv(format!("{a}.attention.value_length"), u(s.head_dim))
        .kv(format!("{a}.attention.layer_norm_rms_epsilon"), GgufValue::F32(1e-6))
        .kv(format!("{a}.rope.freq_base"), GgufValue::F32(if s.sliding_window.is_some() { 1e6 } else { 1e4 }))
        .kv(format!("{a}.vocab_size"), u(s.vocab));
    if let Some(w) = s.sliding_window {
        b.w.kv(format!("{a}.attention.sliding_window"), u(w))
            .kv(format!("{a}.attention.sliding_window_pattern"), u(2))
            .kv(format!("{a}.rope.local_freq_base"), GgufValue::F32(10_000.0));
    }

    let (q_dim, kv_dim) = (s.n_head * s.head_dim, s.n_head_kv * s.head_dim);
    // Embedding rows of unit-ish size; the output projection is scaled up so that logits spread over several
    // nats (clear winners, as in a trained model, rather than a near-uniform distribution of near-ties).
    b.matrix("token_embd.weight", s.vocab, s.n_embd, s.embd_type, (s.n_embd as f32).sqrt() * 0.5)?;
    if let Some(ty) = s.output_type {
        b.matrix("output.weight", s.vocab, s.n_embd, ty, 4.0)?;
    }
    b.norm("output_norm.weight", s.n_embd);
    for il in 0..s.n_layer {
        let p = format!("blk.{il}");
        // The test models' mix: Q5_0 for most matrices, Q8_0 or Q5_0 for V, Q4_K or Q6_K down, Q4_K output.
        let v_type = if il % 2 == 0 { GgmlDType::Q8_0 } else { GgmlDType::Q5_0 };
        let down_type = if il % 2 == 0 { GgmlDType::Q6K } else { GgmlDType::Q4K };
        b.norm(&format!("{p}.attn_norm.weight"), s.n_embd);
        b.matrix(&format!("{p}.attn_q.weight"), q_dim, s.n_embd, GgmlDType::Q5_0, 1.0)?;
        b.matrix(&format!("{p}.attn_k.weight"), kv_dim, s.n_embd, GgmlDType::Q5_0, 1.0)?;
        b.matrix(&format!("{p}.attn_v.weight"), kv_dim, s.n_embd, v_type, 1.0)?;
        b.matrix(&format!("{p}.attn_output.weight"), s.n_embd, q_dim, s.attn_out_type, 1.0)?;
        if s.qkv_bias {
            b.bias(&format!("{p}.attn_q.bias"), q_dim);
            b.bias(&format!("{p}.attn_k.bias"), kv_dim);
            b.bias(&format!("{p}.attn_v.bias"), kv_dim);
        }
        if s.qk_norm {
            b.norm(&format!("{p}.attn_q_norm.weight"), s.head_dim);
            b.norm(&format!("{p}.attn_k_norm.weight"), s.head_dim);
        }
        if s.post_norms {
            b.norm(&format!("{p}.post_attention_norm.weight"), s.n_embd);
            b.norm(&format!("{p}.post_ffw_norm.weight"), s.n_embd);
        }
        b.norm(&format!("{p}.ffn_norm.weight"), s.n_embd);
        b.matrix(&format!("{p}.ffn_gate.weight"), s.n_ff, s.n_embd, GgmlDType::Q5_0, 1.0)?;
        b.matrix(&format!("{p}.ffn_up.weight"), s.n_ff, s.n_embd, GgmlDType::Q5_0, 1.0)?;
        b.matrix(&format!("{p}.ffn_down.weight"), s.n_embd, s.n_ff, down_type, 1.0)?;
    }
    b.w.write_to(path)?;
    Ok(())
}

fn synthetic_check(s: &Spec, dir: &Path, device: &Device, steps: usize, tol: f32, seed: u64) -> Result<bool> {
    let path = dir.join(format!("synthetic-{}.gguf", s.arch));
    write_synthetic(s, &path, seed)?;
    let info = read_info(&path, &ReadOptions::default())?;
    let cpu = Model::load(&path, &info, &Device::Cpu, &mut |_| {})?;
    let dev = Model::load(&path, &info, device, &mut |_| {})?;

    // A 48-token prompt in chunks of 20, 5 and 23 (the device's quantized matmul has separate kernels for one
    // row, up to 8 rows and more), then `steps` single tokens. The positions pass the sliding window.
    let vocab = s.vocab as u32;
    let prompt: Vec<u32> =
        (0..48u32).map(|i| i.wrapping_mul(2_654_435_761).wrapping_add(seed as u32) % vocab).collect();
    let mut cc = cpu.new_cache(prompt.len() + steps + 1)?;
    let mut dc = dev.new_cache(prompt.len() + steps + 1)?;
    let (mut lc, mut ld) = (Vec::new(), Vec::new());
    for chunk in [&prompt[..20], &prompt[20..25], &prompt[25..]] {
        lc = logits(&cpu, chunk, &mut cc)?;
        ld = logits(&dev, chunk, &mut dc)?;
    }

    let mut worst = (0f32, 0usize); // (max |diff| / std, step)
    let mut same_argmax = 0;
    let mut first_divergence = None;
    let mut non_finite = false;
    let mut std_sum = 0f32;
    for step in 0..=steps {
        let std = std_dev(&lc);
        std_sum += std;
        non_finite |= ld.iter().any(|v| !v.is_finite());
        let diff = lc.iter().zip(&ld).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let rel = diff / std.max(1e-6);
        if rel > worst.0 || rel.is_nan() {
            worst = (rel, step);
        }
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
    }
    let pass = !non_finite && worst.0 <= tol;
    println!(
        "synthetic {}: {} layers, {} MiB on the device; {} positions; logits std {:.2}; max |device - CPU| = {:.4} \
         std (step {}, tolerance {tol}); same argmax at {same_argmax}/{} steps{}{}: {}",
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
        if pass { "ok" } else { "FAIL" }
    );
    Ok(pass)
}

fn std_dev(v: &[f32]) -> f32 {
    let n = v.len() as f32;
    let mean = v.iter().sum::<f32>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n).sqrt()
}
