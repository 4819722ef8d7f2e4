//! Which local models are loaded, loading on demand, and unloading the least recently used one when memory is
//! short.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::engine::{EngineHandle, EngineParts, EngineStats, Job};
use super::model::{Model, ModelConfig};
use super::prompt::Prompter;
use super::template::ChatTemplate;
use super::tokenizer::Tokenizer;
use crate::error::{Error, Result};
use crate::events::{Event, EventBus, ModelState};
use crate::gguf::{self, ReadOptions};
use crate::locks::KeyedLocks;
use crate::models::ModelFile;
use crate::storage::blocking;

/// How inference runs. Part of [`crate::JanConfig`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InferenceConfig {
    /// Where models run.
    pub device: DeviceChoice,
    /// Requests that may wait per model before new ones are refused with `overloaded`.
    pub queue_size: usize,
    /// Bytes that loaded models (weights plus KV caches) may take together; `None`: 80% of RAM.
    pub memory_budget: Option<u64>,
    /// Context length when a model.json sets none (capped by what the model was trained for).
    pub default_context: usize,
    /// Slots (requests generated at once, each with its own KV cache of the full context) when a model.json sets no
    /// `n_parallel`; `None`: [`AUTO_SLOTS`] on the CPU, [`AUTO_SLOTS_GPU`] on a GPU, fewer when the memory budget
    /// cannot hold their caches.
    pub default_slots: Option<usize>,
    /// How long a client may leave its tokens unread before its request is cancelled (a thread reply is then saved
    /// `stopped`); meanwhile its slot waits and the other requests run on.
    pub stall_timeout: Duration,
}

/// Slots on the CPU when nothing says how many: requests decode together in one forward pass, so each more
/// slot costs little, and a request that finds a free slot starts at once. Measured on 2 cores (gemma 3 270M,
/// 16 streaming clients of 128 tokens): 4 slots 133 tok/s in all and 7.9 s to the first token (p50), 8 slots
/// 158 tok/s and 6.9 s, 16 slots 197 tok/s and 1.0 s (llama.cpp's server at its defaults: 103 tok/s, 10.0 s).
/// A slot's cache is host memory that is touched only as its context fills.
pub const AUTO_SLOTS: usize = 16;

/// Slots on a GPU when nothing says how many: there a slot's cache is allocated whole up front, and the memory
/// budget counts the machine's RAM, not the GPU's, so fewer (`JAN_PARALLEL` sets more).
pub const AUTO_SLOTS_GPU: usize = 4;

impl Default for InferenceConfig {
    fn default() -> Self {
        InferenceConfig {
            device: DeviceChoice::Auto,
            queue_size: 16,
            memory_budget: None,
            default_context: 4096,
            default_slots: None,
            stall_timeout: Duration::from_secs(60),
        }
    }
}

impl InferenceConfig {
    /// Sets the device models are loaded on.
    pub fn with_device(mut self, device: DeviceChoice) -> Self {
        self.device = device;
        self
    }

    /// Sets how many requests may wait per model.
    pub fn with_queue_size(mut self, queue_size: usize) -> Self {
        self.queue_size = queue_size;
        self
    }

    /// Sets the memory loaded models may use together.
    pub fn with_memory_budget(mut self, bytes: u64) -> Self {
        self.memory_budget = Some(bytes);
        self
    }

    /// Sets the context and slots used when a model.json leaves them out.
    pub fn with_defaults(mut self, context: usize, slots: usize) -> Self {
        self.default_context = context;
        self.default_slots = Some(slots);
        self
    }

    /// Sets how long a client may leave its tokens unread.
    pub fn with_stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }
}

/// The device models are loaded on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The first NVIDIA GPU when the `cuda` feature is built and a GPU answers, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// An NVIDIA GPU by ordinal; needs the `cuda` feature.
    Cuda(usize),
}

impl DeviceChoice {
    /// Whether a model whose model.json says `ngl` runs on the CPU whatever the machine has (`Auto` in a CUDA
    /// build may find a GPU: not surely).
    pub(crate) fn surely_cpu(self, ngl: Option<i64>) -> bool {
        ngl == Some(0) || matches!(self, DeviceChoice::Cpu) || (self == DeviceChoice::Auto && !cfg!(feature = "cuda"))
    }

    /// The device for a model whose model.json says `ngl` (Jan's GPU layers). candle cannot split a model
    /// between devices, so `ngl: 0` means the CPU and any other value (or none) the configured device.
    pub(crate) fn device(self, ngl: Option<i64>) -> Result<(candle_core::Device, String)> {
        let cpu = || (candle_core::Device::Cpu, "cpu".to_owned());
        match self {
            _ if ngl == Some(0) => Ok(cpu()),
            DeviceChoice::Cpu => Ok(cpu()),
            DeviceChoice::Cuda(ordinal) => candle_core::Device::new_cuda(ordinal)
                .map(|d| (d, format!("cuda:{ordinal}")))
                .map_err(|e| Error::Unsupported(format!("CUDA device {ordinal} is not available: {e}"))),
            DeviceChoice::Auto if cfg!(feature = "cuda") => match candle_core::Device::new_cuda(0) {
                Ok(d) => Ok((d, "cuda:0".to_owned())),
                Err(e) => {
                    tracing::warn!("no usable CUDA device ({e}); running on the CPU");
                    Ok(cpu())
                }
            },
            DeviceChoice::Auto => Ok(cpu()),
        }
    }
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;

    /// `auto`, `cpu`, `cuda` (GPU 0) or `cuda:N`.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" | "gpu" => Ok(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(|| format!("unknown device '{s}': use auto, cpu, cuda or cuda:N")),
        }
    }
}

/// A model that is loaded, as reported to hosts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadedModel {
    pub model_id: String,
    pub architecture: String,
    /// `cpu` or `cuda:N`.
    pub device: String,
    pub context: usize,
    pub slots: usize,
    /// Weights plus KV caches.
    pub memory_bytes: u64,
    pub queued: usize,
    pub active: usize,
}

struct Loaded {
    handle: EngineHandle,
    prompter: Arc<Prompter>,
    info: LoadedModel,
    last_used: Instant,
    /// Requests between finding the model loaded and queueing on it (see [`Pin`]).
    pins: Arc<AtomicUsize>,
}

impl Loaded {
    /// Whether nothing uses the model: no request queued, running or about to be queued.
    fn idle(&self) -> bool {
        self.pins.load(Ordering::SeqCst) == 0
            && self.handle.stats.active.load(Ordering::SeqCst) == 0
            && self.handle.stats.queued.load(Ordering::SeqCst) == 0
    }
}

/// Keeps a loaded model from being evicted to make room for another while a request prepares its prompt, from
/// the moment it found the model loaded (or loaded it) until it is queued, where the engine's counters take over.
/// Without it a model just loaded for a request looks idle and can be unloaded before that request is queued.
#[derive(Debug)]
pub(crate) struct Pin(Arc<AtomicUsize>);

impl Pin {
    fn new(pins: &Arc<AtomicUsize>) -> Pin {
        pins.fetch_add(1, Ordering::SeqCst);
        Pin(pins.clone())
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The loaded models, and the ones loading. It owns what loading needs (the inference config, where to publish
/// `model_state` events, a lock per model so that one load runs at a time), so it stands alone: the facade builds
/// one, and tests can too.
pub(crate) struct Scheduler {
    config: InferenceConfig,
    events: EventBus,
    /// Taken per model id for the whole of a load.
    load_locks: KeyedLocks,
    loaded: Mutex<HashMap<String, Loaded>>,
    loading: Mutex<Vec<String>>,
    /// Memory of the loads in progress (from the moment room was made for them until they are loaded), counted
    /// with the loaded models' so that two loads at once cannot together exceed the budget.
    reserved: Mutex<HashMap<String, u64>>,
}

/// Memory reserved for a load in progress, for as long as it lives.
struct Reservation<'a>(&'a Scheduler, String);

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.0.reserved.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.1);
    }
}

/// Marks a model as loading for as long as it lives.
struct Loading<'a>(&'a Scheduler, String);

impl Drop for Loading<'_> {
    fn drop(&mut self) {
        self.0.loading.lock().unwrap_or_else(|p| p.into_inner()).retain(|id| *id != self.1);
    }
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scheduler")
    }
}

impl Scheduler {
    /// A scheduler with nothing loaded, loading with `config` and publishing `model_state` events on `events`.
    pub(crate) fn new(config: InferenceConfig, events: EventBus) -> Scheduler {
        Scheduler {
            config,
            events,
            load_locks: KeyedLocks::default(),
            loaded: Mutex::default(),
            loading: Mutex::default(),
            reserved: Mutex::default(),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Loaded>> {
        self.loaded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a job on a loaded model; `None` when it is not loaded.
    pub(crate) fn submit(&self, model_id: &str, job: Job) -> Option<Result<()>> {
        let mut map = self.map();
        let loaded = map.get_mut(model_id)?;
        loaded.last_used = Instant::now();
        Some(loaded.handle.submit(job))
    }

    /// A loaded model's template and tokenizer, to prepare prompts with, and a pin that keeps the model loaded
    /// until the request is queued; `None` when it is not loaded.
    pub(crate) fn pin(&self, model_id: &str) -> Option<(Arc<Prompter>, Pin)> {
        let mut map = self.map();
        let loaded = map.get_mut(model_id)?;
        loaded.last_used = Instant::now();
        Some((loaded.prompter.clone(), Pin::new(&loaded.pins)))
    }

    pub(crate) fn is_loaded(&self, model_id: &str) -> bool {
        self.map().contains_key(model_id)
    }

    pub(crate) fn list(&self) -> Vec<LoadedModel> {
        let mut out: Vec<_> = self
            .map()
            .values()
            .map(|l| LoadedModel {
                queued: l.handle.stats.queued.load(Ordering::Relaxed),
                active: l.handle.stats.active.load(Ordering::Relaxed),
                ..l.info.clone()
            })
            .collect();
        out.sort_by(|a, b| a.model_id.cmp(&b.model_id));
        out
    }

    /// The models being loaded now.
    pub(crate) fn loading(&self) -> Vec<String> {
        self.loading.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Counters of every loaded model, for metrics.
    pub(crate) fn stats(&self) -> Vec<(String, Arc<EngineStats>)> {
        self.map().iter().map(|(id, l)| (id.clone(), l.handle.stats.clone())).collect()
    }

    /// Loads `model` (weights at `path`) unless it is loaded; unloads idle models first when memory is short.
    /// Emits `model_state` events: loading (with progress), then ready or failed. The model stays pinned (not
    /// evicted for another) while the returned [`Pin`] lives.
    pub(crate) async fn load(&self, model: &ModelFile, path: PathBuf) -> Result<Pin> {
        let _guard = self.load_locks.lock(model.id.clone()).await;
        if let Some((_, pin)) = self.pin(&model.id) {
            return Ok(pin);
        }
        let model_id = model.id.clone();
        self.loading.lock().unwrap_or_else(|p| p.into_inner()).push(model_id.clone());
        let marked = Loading(self, model_id.clone());
        self.events
            .emit(Event::ModelState { model_id: model_id.clone(), state: ModelState::Loading { progress: 0.0 } });
        let result = self.load_now(model, path).await;
        drop(marked);
        let state = match &result {
            Ok(_) => ModelState::Ready,
            Err(e) => ModelState::Failed { code: e.code(), message: e.public_message() },
        };
        self.events.emit(Event::ModelState { model_id, state });
        result
    }

    async fn load_now(&self, model: &ModelFile, path: PathBuf) -> Result<Pin> {
        let config = self.config.clone();
        let settings = model.settings.clone();
        let read_path = path.clone();
        // One read of the header serves the config, the tokenizer, the template and then the weights.
        let (info, model_config, tokenizer, template, context, slots) = blocking(move || {
            let info = gguf::read_info(&read_path, &ReadOptions::full())?;
            // The architecture first: an unsupported one is the clearest error.
            let model_config = ModelConfig::from_gguf(&info)?;
            let tokenizer = Tokenizer::from_gguf(&info)?;
            let text = |id: Option<u32>| id.and_then(|i| tokenizer.token_text(i)).unwrap_or("").to_owned();
            let (bos, eos) = (text(tokenizer.bos_id()), text(tokenizer.eos_id()));
            let template = ChatTemplate::select(
                settings.prompt_template.as_deref(),
                info.chat_template(),
                info.architecture().unwrap_or(""),
                &bos,
                &eos,
            )?;
            let trained = model_config.context_length;
            let context = settings.ctx_len.map_or(config.default_context, |c| c as usize).min(trained).max(16);
            // `None`: as many as fit, up to AUTO_SLOTS or AUTO_SLOTS_GPU (decided below, with the memory budget).
            let slots = settings.n_parallel.map(|n| n as usize).or(config.default_slots).map(|n| n.clamp(1, 64));
            Ok((info, model_config, tokenizer, template, context, slots))
        })
        .await?;
        let file_bytes = tokio::fs::metadata(&path).await.map(|m| m.len()).unwrap_or(0);
        let kv_per_slot = (model_config.kv_bytes_per_token() * context) as u64;
        let budget = config.memory_budget.unwrap_or_else(default_budget);
        let most = if config.device.surely_cpu(model.settings.ngl) { AUTO_SLOTS } else { AUTO_SLOTS_GPU };
        let slots = slots.unwrap_or_else(|| auto_slots(file_bytes, kv_per_slot, budget, most));
        let memory_bytes = file_bytes + kv_per_slot * slots as u64;
        if memory_bytes > budget {
            return Err(Error::Overloaded(format!(
                "'{}' needs about {} MB with a context of {context} tokens, more than the {} MB allowed; lower ctx_len",
                model.id,
                memory_bytes >> 20,
                budget >> 20
            )));
        }
        let reservation = self.reserve(&model.id, memory_bytes, budget)?;

        let events = self.events.clone();
        let model_id = model.id.clone();
        let ngl = model.settings.ngl;
        let arch = model_config.arch;
        let (handle, prompter, device_name) = blocking(move || {
            let (device, device_name) = config.device.device(ngl)?;
            let mut last = Instant::now();
            let mut report = |p: f32| {
                if p < 1.0 && last.elapsed().as_millis() >= 200 {
                    last = Instant::now();
                    let state = ModelState::Loading { progress: p };
                    events.emit(Event::ModelState { model_id: model_id.clone(), state });
                }
            };
            let model = Arc::new(Model::load_with(&path, &info, model_config, &device, &mut report)?);
            let prompter = Arc::new(Prompter { tokenizer: Arc::new(tokenizer), template, context });
            let parts = EngineParts { model, prompter: prompter.clone(), slots, stall_timeout: config.stall_timeout };
            Ok((EngineHandle::start(&model_id, parts, config.queue_size)?, prompter, device_name))
        })
        .await?;
        tracing::info!(model = %model.id, device = %device_name, context, slots, "model loaded");
        let info = LoadedModel {
            model_id: model.id.clone(),
            architecture: format!("{arch:?}").to_lowercase(),
            device: device_name,
            context,
            slots,
            memory_bytes,
            queued: 0,
            active: 0,
        };
        let pins = Arc::new(AtomicUsize::new(0));
        let pin = Pin::new(&pins);
        self.map().insert(model.id.clone(), Loaded { handle, prompter, info, last_used: Instant::now(), pins });
        drop(reservation);
        Ok(pin)
    }

    /// Reserves `needed` bytes for loading `loading`, unloading idle models (least recently used first) until they
    /// fit in `budget` beside the loaded models and the other loads in progress. The reservation ends when the
    /// returned guard is dropped (once the model is in the loaded map, or its load failed).
    fn reserve(&self, loading: &str, needed: u64, budget: u64) -> Result<Reservation<'_>> {
        let mut map = self.map();
        loop {
            let reserved: u64 = {
                let r = self.reserved.lock().unwrap_or_else(|p| p.into_inner());
                r.iter().filter(|(id, _)| id.as_str() != loading).map(|(_, bytes)| bytes).sum()
            };
            let used: u64 = map.values().map(|l| l.info.memory_bytes).sum::<u64>() + reserved;
            if used + needed <= budget {
                self.reserved.lock().unwrap_or_else(|p| p.into_inner()).insert(loading.to_owned(), needed);
                return Ok(Reservation(self, loading.to_owned()));
            }
            let idle = map.iter().filter(|(_, l)| l.idle()).min_by_key(|(_, l)| l.last_used).map(|(id, _)| id.clone());
            let Some(victim) = idle else {
                let why = if reserved > 0 && map.values().all(Loaded::idle) {
                    "while other models are loading"
                } else {
                    "while the other loaded models are busy"
                };
                return Err(Error::Overloaded(format!("not enough memory to load '{loading}' {why}")));
            };
            if let Some(l) = map.remove(&victim) {
                tracing::info!(model = %victim, "unloading the least recently used model to make room");
                drop(map);
                self.stopped(victim, l);
                map = self.map();
            }
        }
    }

    /// Unloads a model; its in-flight requests end as cancelled. Emits `model_state` stopped; `false` (and no
    /// event) when it was not loaded.
    pub(crate) fn unload(&self, model_id: &str) -> bool {
        let removed = self.map().remove(model_id);
        match removed {
            Some(l) => {
                self.stopped(model_id.to_owned(), l);
                true
            }
            None => false,
        }
    }

    /// Stops the engine of a model taken out of the loaded map (its in-flight requests end as cancelled) and
    /// publishes `model_state` stopped.
    fn stopped(&self, model_id: String, loaded: Loaded) {
        loaded.handle.shutdown();
        self.events.emit(Event::ModelState { model_id, state: ModelState::Stopped });
    }
}

/// `most`, or as many as the budget holds beside the weights (at least one).
fn auto_slots(file_bytes: u64, kv_per_slot: u64, budget: u64, most: usize) -> usize {
    let room = budget.saturating_sub(file_bytes);
    let fit = room.checked_div(kv_per_slot).unwrap_or(most as u64);
    (fit as usize).clamp(1, most)
}

/// 80% of the machine's memory.
fn default_budget() -> u64 {
    let refresh = sysinfo::RefreshKind::nothing().with_memory(sysinfo::MemoryRefreshKind::nothing().with_ram());
    // Without a reading (exotic platforms) assume 8 GB.
    sysinfo::System::new_with_specifics(refresh).map_or(8 << 30, |s| s.total_memory()) / 10 * 8
}

#[cfg(test)]
mod slot_tests {
    #[test]
    fn auto_slots_fit_the_budget() {
        assert_eq!(super::auto_slots(100, 10, 1_000, 16), 16);
        assert_eq!(super::auto_slots(100, 10, 1_000, 4), 4);
        assert_eq!(super::auto_slots(100, 300, 1_000, 16), 3);
        assert_eq!(super::auto_slots(900, 300, 1_000, 16), 1, "at least one: the budget check then says why");
        assert_eq!(super::auto_slots(100, 0, 1_000, 16), 16);
    }
}

#[cfg(test)]
mod device_tests {
    use super::DeviceChoice;

    #[test]
    fn devices_parse_and_ngl_zero_means_the_cpu() {
        assert_eq!("auto".parse::<DeviceChoice>(), Ok(DeviceChoice::Auto));
        assert_eq!("CPU".parse::<DeviceChoice>(), Ok(DeviceChoice::Cpu));
        assert_eq!("cuda".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:3".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(3)));
        assert!("tpu".parse::<DeviceChoice>().unwrap_err().contains("unknown device 'tpu'"));
        assert!("cuda:x".parse::<DeviceChoice>().is_err());

        // ngl 0 is the CPU whatever the configuration says, even a GPU this machine lacks.
        let (device, name) = DeviceChoice::Cuda(7).device(Some(0)).unwrap();
        assert!(device.is_cpu() && name == "cpu");
        let (device, name) = DeviceChoice::Auto.device(Some(99)).unwrap();
        if cfg!(feature = "cuda") {
            assert!(name == "cpu" || name == "cuda:0");
        } else {
            assert!(device.is_cpu() && name == "cpu");
            // A GPU asked for by name in a build without CUDA is a clear error, not a silent CPU.
            let e = DeviceChoice::Cuda(0).device(None).unwrap_err();
            assert_eq!(e.code(), "unsupported");
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use futures::FutureExt;
    use serde_json::json;

    use super::*;
    use crate::events::Events;
    use crate::inference::model::tiny;

    fn model_file(id: &str) -> ModelFile {
        serde_json::from_value(json!({"id": id, "settings": {"ctx_len": 64, "n_parallel": 2}})).unwrap()
    }

    /// The `model_state` events published so far, as (model id, state).
    fn states(events: &mut Events) -> Vec<(String, ModelState)> {
        std::iter::from_fn(|| events.recv().now_or_never().flatten())
            .filter_map(|e| match e {
                Event::ModelState { model_id, state } => Some((model_id, state)),
                _ => None,
            })
            .collect()
    }

    /// A scheduler on its own (no facade, no data folder) loads and unloads the tiny model, publishing loading,
    /// ready and stopped; a second load of a loaded model does nothing.
    #[tokio::test]
    async fn loads_and_unloads_alone_with_model_state_events() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        tiny::writer().write_to(&path).unwrap();
        let bus = EventBus::new();
        let mut events = bus.subscribe();
        let scheduler = Scheduler::new(InferenceConfig::default().with_device(DeviceChoice::Cpu), bus);

        scheduler.load(&model_file("tiny"), path.clone()).await.unwrap();
        assert!(scheduler.is_loaded("tiny") && scheduler.loading().is_empty());
        let (prompter, _pin) = scheduler.pin("tiny").unwrap();
        assert_eq!(prompter.context, 64);
        let [loaded] = &scheduler.list()[..] else { panic!("{:?}", scheduler.list()) };
        let (memory_bytes, _) = one_model_budget(&path);
        let expected = LoadedModel {
            model_id: "tiny".into(),
            architecture: "llama".into(),
            device: "cpu".into(),
            context: 64,
            slots: 2,
            memory_bytes,
            queued: 0,
            active: 0,
        };
        assert_eq!(loaded, &expected);
        scheduler.load(&model_file("tiny"), path).await.unwrap();

        assert!(scheduler.unload("tiny"));
        assert!(!scheduler.unload("tiny") && !scheduler.is_loaded("tiny") && scheduler.list().is_empty());
        let tiny = |state| ("tiny".to_owned(), state);
        assert_eq!(
            states(&mut events),
            [tiny(ModelState::Loading { progress: 0.0 }), tiny(ModelState::Ready), tiny(ModelState::Stopped)]
        );
    }

    /// A file that is not a GGUF, and a model over the memory budget, fail with their codes in a `failed` event
    /// and leave nothing loaded or loading.
    #[tokio::test]
    async fn failed_loads_publish_failed() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.gguf");
        std::fs::write(&bad, b"PK\x03\x04 not a model").unwrap();
        let tiny_path = dir.path().join("tiny.gguf");
        tiny::writer().write_to(&tiny_path).unwrap();
        let bus = EventBus::new();
        let mut events = bus.subscribe();
        let config = InferenceConfig::default().with_device(DeviceChoice::Cpu).with_memory_budget(1 << 10);
        let scheduler = Scheduler::new(config, bus);

        let err = scheduler.load(&model_file("bad"), bad).await.unwrap_err();
        assert_eq!(err.code(), "invalid_gguf");
        let err = scheduler.load(&model_file("tiny"), tiny_path).await.unwrap_err();
        assert_eq!(err.code(), "overloaded");
        assert!(scheduler.list().is_empty() && scheduler.loading().is_empty());

        let codes: Vec<_> = states(&mut events)
            .into_iter()
            .map(|(id, state)| match state {
                ModelState::Loading { progress } => format!("{id} loading {progress}"),
                ModelState::Failed { code, .. } => format!("{id} failed {code}"),
                other => format!("{id} {other:?}"),
            })
            .collect();
        assert_eq!(codes, ["bad loading 0", "bad failed invalid_gguf", "tiny loading 0", "tiny failed overloaded"]);
    }

    /// Room for one tiny model: the memory its load needs, and a budget that holds one and not two.
    fn one_model_budget(path: &std::path::Path) -> (u64, u64) {
        let kv_bytes = 2 * 2 * 2 * 8 * 4 * 64 * 2; // K and V, 2 layers, 2 kv heads of 8, f32, 64 tokens, 2 slots
        let one = std::fs::metadata(path).unwrap().len() + kv_bytes;
        (one, one + one / 2)
    }

    /// A model pinned by a request that has not been queued yet is not evicted for another (that load is
    /// refused); once the pin is gone the idle model is evicted, with a `stopped` event. Without pins a model
    /// just loaded for a request looked idle and was unloaded before the request reached it.
    #[tokio::test]
    async fn a_pinned_model_is_not_evicted_and_an_idle_one_is_with_an_event() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.gguf"), dir.path().join("b.gguf"));
        tiny::writer().write_to(&a).unwrap();
        std::fs::copy(&a, &b).unwrap();
        let (_, budget) = one_model_budget(&a);
        let bus = EventBus::new();
        let mut events = bus.subscribe();
        let config = InferenceConfig::default().with_device(DeviceChoice::Cpu).with_memory_budget(budget);
        let scheduler = Scheduler::new(config, bus);

        let pin = scheduler.load(&model_file("a"), a.clone()).await.unwrap();
        let err = scheduler.load(&model_file("b"), b.clone()).await.unwrap_err();
        assert_eq!(err.code(), "overloaded", "{err}");
        assert!(scheduler.is_loaded("a") && !scheduler.is_loaded("b"));

        drop(pin);
        let _b = scheduler.load(&model_file("b"), b).await.unwrap();
        assert!(!scheduler.is_loaded("a") && scheduler.is_loaded("b"));
        let stopped: Vec<_> = states(&mut events).into_iter().filter(|(_, s)| *s == ModelState::Stopped).collect();
        assert_eq!(stopped, [("a".to_owned(), ModelState::Stopped)]);
    }

    /// A load in progress holds its memory: another load that would not fit beside it is refused rather than
    /// both loading over the budget, and fits once the reservation is gone.
    #[tokio::test]
    async fn a_load_in_progress_reserves_its_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny.gguf");
        tiny::writer().write_to(&path).unwrap();
        let (one, budget) = one_model_budget(&path);
        let config = InferenceConfig::default().with_device(DeviceChoice::Cpu).with_memory_budget(budget);
        let scheduler = Scheduler::new(config, EventBus::new());

        let loading = scheduler.reserve("other", one, budget).unwrap();
        let err = scheduler.load(&model_file("tiny"), path.clone()).await.unwrap_err();
        assert_eq!(err.code(), "overloaded");
        assert!(err.to_string().contains("while other models are loading"), "{err}");
        assert!(!scheduler.is_loaded("tiny"));
        drop(loading);
        let _pin = scheduler.load(&model_file("tiny"), path).await.unwrap();
        assert!(scheduler.is_loaded("tiny"));
        assert!(scheduler.reserved.lock().unwrap().is_empty(), "a finished load keeps no reservation");
    }

    /// Two loads at once of models that do not fit together: never both (whichever order they reach the
    /// budget in), and the one refused says why.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_loads_at_once_never_exceed_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.gguf"), dir.path().join("b.gguf"));
        tiny::writer().write_to(&a).unwrap();
        std::fs::copy(&a, &b).unwrap();
        let (_, budget) = one_model_budget(&a);
        for _ in 0..20 {
            let config = InferenceConfig::default().with_device(DeviceChoice::Cpu).with_memory_budget(budget);
            let scheduler = Arc::new(Scheduler::new(config, EventBus::new()));
            let load = |id: &'static str, path: &std::path::Path| {
                let (scheduler, path) = (scheduler.clone(), path.to_owned());
                tokio::spawn(async move { scheduler.load(&model_file(id), path).await })
            };
            let (ra, rb) = (load("a", &a), load("b", &b));
            let (ra, rb) = (ra.await.unwrap(), rb.await.unwrap());
            assert!(ra.is_ok() != rb.is_ok(), "exactly one of two loads fits: {ra:?} / {rb:?}");
            let refused = ra.err().or(rb.err()).unwrap();
            assert_eq!(refused.code(), "overloaded", "{refused}");
            assert!(scheduler.list().iter().map(|m| m.memory_bytes).sum::<u64>() <= budget);
        }
    }
}
