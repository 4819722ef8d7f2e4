//! A device check for the CUDA build: the core's forward pass on CUDA device 0, checked against the CPU and
//! llama.cpp, and its speed, on models it can write itself (no model file can be carried to the GPU machine).
//!
//! ```text
//! gpu_check [--cpu] MODEL.gguf... [--data FILE.json] [--json OUT]
//!     Greedy continuations of the prompts in core/tests/data/greedy/<model>.json (or --data, as
//!     ci/gen-greedy-data.py writes it); per case how many tokens agree with llama.cpp, then the model's speed.
//!     Fails a case where fewer than 32 tokens agree, unless llama.cpp's top-2 gap at the divergence is under
//!     0.2 nats or llama.cpp's own f16-cache run already leaves its f32 run there (the reference is unstable).
//! gpu_check [--cpu] --speed MODEL.gguf... [--batches 1,4,16,64] [--profile] [--json OUT]
//!     Speed only: prompt processing of 512 and 2048 tokens, decoding one sequence, and decoding 1, 4, 16, 64
//!     sequences at once in one pass per step (the engine's batched path), aggregate tokens/s, with the time in
//!     forward_batch and in the host's argmax apart. --profile: each batch's steps again with every section of
//!     the pass synchronized and timed (model::profile: embeddings, attention projections, KV cache, attention
//!     math, feed-forward, logits, copy to the host).
//! gpu_check [--cpu] --synthetic [--steps N] [--tol X] [--keep DIR] [--json OUT]
//!     Writes three tiny random-weight models (llama, qwen2 and gemma3 layouts; Q8_0, Q5_0, Q4_K, Q6_K and F32
//!     tensors, like the test models), runs each on the CPU and on the device with the same tokens (a chunked
//!     prompt, then N greedy steps chosen by the CPU), then four sequences decoding together through the
//!     device's batched path, and compares the logits, and both with the same weights in f32 on the CPU (the
//!     exact computation that both quantized paths approximate). Fails where the device gives a non-finite
//!     logit, or where the largest device-CPU difference exceeds X times the CPU logits' standard deviation
//!     (default 0.1) while the device is also further than 1.25x the CPU's distance from the exact logits.
//! gpu_check --vocab-donor SRC.gguf OUT.gguf
//!     Writes OUT with SRC's tokenizer and chat template and no tensors (a few MB: carried where SRC cannot be).
//! gpu_check --make-models DIR --vocab-from DONOR.gguf [--only 0.5b,1.5b,7b] [--f16]
//!     Writes DIR/synthetic-qwen2-<size>.gguf (by default 0.5b and 7b): random weights with the shapes and
//!     tensor types of Qwen2.5 0.5B (as the qwen test model), 1.5B and 7B (Q4_K_M), and the donor's tokenizer
//!     and chat template, so that llama.cpp and jan-server load them like real models. --f16: every matrix in
//!     F16 instead (DIR/synthetic-qwen2-<size>-f16.gguf), for llama.cpp's llama-quantize to quantize
//!     (ci/bench-models.sh).
//! ```
//! Built with `--features cuda` (ci/build-cuda.sh) it runs on CUDA device 0. `--cpu`, or a build without the
//! feature, puts the "device" side on the CPU instead, to rehearse this program (the pooled, device-style caches
//! still run, so the batched device path is exercised). Exit status: 0 all checks passed, 1 a check failed, 2 the
//! program could not run.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod greedy;
mod models;
mod speed;
mod synthetic;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use candle_core::Device;
use jan_core::gguf::GgufInfo;
use jan_core::inference::model::{KvCache, Model};
use serde_json::{Value, json};

const USAGE: &str = "usage: gpu_check [--cpu] MODEL.gguf... [--data FILE.json] [--json OUT]\n       \
                     gpu_check [--cpu] --speed MODEL.gguf... [--batches 1,4,16,64] [--profile] [--json OUT]\n       \
                     gpu_check [--cpu] --synthetic [--steps N] [--tol X] [--keep DIR] [--json OUT]\n       \
                     gpu_check --vocab-donor SRC.gguf OUT.gguf\n       \
                     gpu_check --make-models DIR --vocab-from DONOR.gguf [--only 0.5b,1.5b,7b] [--f16]";

#[derive(Debug, Default)]
struct Args {
    cpu: bool,
    synthetic: bool,
    speed: bool,
    models: Vec<PathBuf>,
    data: Option<PathBuf>,
    steps: usize,
    tol: f32,
    keep: Option<PathBuf>,
    json: Option<PathBuf>,
    batches: Vec<usize>,
    profile: bool,
    vocab_donor: Option<(PathBuf, PathBuf)>,
    make_models: Option<PathBuf>,
    vocab_from: Option<PathBuf>,
    only: Option<String>,
    /// --make-models: every matrix in F16.
    f16: bool,
}

fn parse_args() -> Result<Args> {
    let mut a = Args { steps: 32, tol: 0.1, batches: vec![1, 4, 16, 64], ..Args::default() };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--cpu" => a.cpu = true,
            "--synthetic" => a.synthetic = true,
            "--speed" => a.speed = true,
            "--data" => a.data = Some(value("--data")?.into()),
            "--steps" => a.steps = value("--steps")?.parse().context("--steps N")?,
            "--tol" => a.tol = value("--tol")?.parse().context("--tol X")?,
            "--keep" => a.keep = Some(value("--keep")?.into()),
            "--json" => a.json = Some(value("--json")?.into()),
            "--profile" => a.profile = true,
            "--batches" => {
                a.batches = value("--batches")?
                    .split(',')
                    .map(|n| n.trim().parse::<usize>().context("--batches N,N,..."))
                    .collect::<Result<_>>()?;
            }
            "--vocab-donor" => a.vocab_donor = Some((value("--vocab-donor")?.into(), value("--vocab-donor")?.into())),
            "--make-models" => a.make_models = Some(value("--make-models")?.into()),
            "--vocab-from" => a.vocab_from = Some(value("--vocab-from")?.into()),
            "--only" => a.only = Some(value("--only")?),
            "--f16" => a.f16 = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            s if s.starts_with('-') => bail!("unknown argument {s}\n{USAGE}"),
            path => a.models.push(path.into()),
        }
    }
    if a.vocab_donor.is_some() || a.make_models.is_some() {
        if a.make_models.is_some() && a.vocab_from.is_none() {
            bail!("--make-models needs --vocab-from DONOR.gguf\n{USAGE}");
        }
        return Ok(a);
    }
    if a.synthetic != a.models.is_empty() {
        bail!("give either --synthetic or model files\n{USAGE}");
    }
    if a.data.is_some() && (a.models.len() != 1 || a.speed) {
        bail!("--data goes with exactly one model, without --speed");
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
    if let Some((src, out)) = &args.vocab_donor {
        models::write_vocab_donor(src, out)?;
        return Ok(true);
    }
    if let Some(dir) = &args.make_models {
        let donor = args.vocab_from.as_deref().context("--vocab-from")?;
        models::make_models(dir, donor, args.only.as_deref(), args.f16)?;
        return Ok(true);
    }
    let device = open_device(args.cpu)?;
    let gpu = GpuMemory::new(&device);
    let mut report = Report::new(&device, &gpu);
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
        for (i, spec) in synthetic::SPECS.iter().enumerate() {
            ok &= synthetic::check(spec, dir, &device, args.steps, args.tol, 1000 + i as u64, &mut report)?;
        }
    } else if args.speed {
        for path in &args.models {
            let info = jan_core::gguf::read_info(path, &jan_core::gguf::ReadOptions::default())?;
            let model = load(path, &info, &device, &gpu, &mut report)?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            speed::measure(&model, &name, &gpu, &args.batches, args.profile, &mut report)?;
        }
    } else {
        for path in &args.models {
            ok &= greedy::check(path, args.data.as_deref(), &device, &gpu, &mut report)?;
        }
    }
    if let Some(used) = gpu.used_mib() {
        println!("GPU memory used at the end: {used} MiB (all processes, from NVML)");
    }
    report.set("pass", json!(ok));
    if let Some(path) = &args.json {
        report.write(path)?;
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

/// Every figure of the run, written as one JSON object by `--json`.
struct Report(serde_json::Map<String, Value>);

impl Report {
    fn new(device: &Device, gpu: &GpuMemory) -> Self {
        let mut m = serde_json::Map::new();
        m.insert("device".into(), json!(describe(device)));
        m.insert("gpu".into(), json!(gpu.name()));
        m.insert("cuda_build".into(), json!(cfg!(feature = "cuda")));
        Report(m)
    }

    fn set(&mut self, key: &str, value: Value) {
        self.0.insert(key.into(), value);
    }

    /// Appends `value` to the list under `key`.
    fn push(&mut self, key: &str, value: Value) {
        match self.0.entry(key).or_insert_with(|| json!([])) {
            Value::Array(list) => list.push(value),
            other => *other = json!([value]),
        }
    }

    fn write(&self, path: &std::path::Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&Value::Object(self.0.clone()))?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }
}

fn logits(model: &Model, tokens: &[u32], cache: &mut KvCache) -> Result<Vec<f32>> {
    Ok(model.forward(tokens, cache)?.to_vec1::<f32>()?)
}

fn load(
    path: &std::path::Path,
    info: &GgufInfo,
    device: &Device,
    gpu: &GpuMemory,
    report: &mut Report,
) -> Result<Model> {
    let before = gpu.used_mib();
    let t = Instant::now();
    let model = Model::load(path, info, device, &mut |_| {})?;
    device.synchronize()?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{}: loaded in {secs:.2} s, {} MiB of weights{}",
        path.display(),
        model.weight_bytes() >> 20,
        match (before, gpu.used_mib()) {
            (Some(b), Some(a)) => format!(", GPU memory used {b} -> {a} MiB"),
            _ => String::new(),
        }
    );
    report.push(
        "loads",
        json!({"model": path.display().to_string(), "seconds": secs, "weight_mib": model.weight_bytes() >> 20,
               "gpu_used_mib_before": before, "gpu_used_mib_after": gpu.used_mib()}),
    );
    Ok(model)
}
