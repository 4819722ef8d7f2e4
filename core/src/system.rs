//! The system monitor (Jan's monitoring plugin): CPU, memory, NVIDIA GPUs and the OS.
//!
//! GPUs are read through NVML, loaded at run time from the driver; on a machine without an NVIDIA driver the
//! list is empty, which is not an error.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nvml_wrapper::Nvml;
use serde::Serialize;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind};

use crate::error::{Error, Result};
use crate::facade::Inner;
use crate::storage::blocking;

/// A snapshot of the machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemInfo {
    pub cpu: CpuInfo,
    pub memory: MemoryInfo,
    /// Empty when there is no NVIDIA driver.
    pub gpus: Vec<GpuInfo>,
    pub os: OsInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CpuInfo {
    pub model: String,
    /// Logical cores (what inference threads are counted in).
    pub cores: usize,
    pub physical_cores: Option<usize>,
    /// Whole-machine usage over the last interval, 0 to 100.
    pub usage_percent: f32,
    pub arch: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemoryInfo {
    pub total_bytes: u64,
    pub used_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    pub vram_total_bytes: u64,
    pub vram_used_bytes: u64,
    /// GPU core utilisation, 0 to 100, when the driver reports it.
    pub utilization_percent: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OsInfo {
    pub name: String,
    pub version: String,
    pub kernel: String,
}

/// Keeps the previous CPU sample so that usage is measured between calls.
pub(crate) struct SystemMonitor {
    /// `None` until sysinfo could be initialised (it can fail on exotic platforms).
    state: Arc<Mutex<Option<(sysinfo::System, Instant)>>>,
    nvml: Arc<OnceLock<Option<Nvml>>>,
}

impl std::fmt::Debug for SystemMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SystemMonitor")
    }
}

impl SystemMonitor {
    pub(crate) fn new() -> Self {
        SystemMonitor { state: Arc::new(Mutex::new(sample())), nvml: Arc::new(OnceLock::new()) }
    }
}

/// The system monitor. Get it from [`crate::Jan::system`].
#[derive(Debug, Clone)]
pub struct SystemApi {
    inner: Arc<Inner>,
}

impl SystemApi {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        SystemApi { inner }
    }

    /// The system monitor: a snapshot of the machine with the loaded models and the inference counters.
    pub async fn monitor(&self) -> Result<crate::views::SystemView> {
        let info = self.info().await?;
        let inference = crate::Jan::from_inner(self.inner.clone()).inference();
        Ok(crate::views::SystemView { info, loaded_models: inference.loaded(), inference: inference.counters() })
    }

    /// A snapshot. CPU usage covers the time since the previous call (at least sysinfo's minimum interval,
    /// which the first call waits for).
    pub async fn info(&self) -> Result<SystemInfo> {
        let monitor = &self.inner.system;
        let since = {
            let mut state = monitor.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.is_none() {
                *state = sample();
            }
            state.as_ref().map_or(Duration::ZERO, |s| s.1.elapsed())
        };
        let min = sysinfo::MINIMUM_CPU_UPDATE_INTERVAL.max(Duration::from_millis(100));
        if since < min {
            tokio::time::sleep(min - since).await;
        }
        let (state, nvml) = (monitor.state.clone(), monitor.nvml.clone());
        blocking(move || {
            let (cpu, memory, os) = {
                let mut guard = state.lock().unwrap_or_else(|p| p.into_inner());
                let Some((sys, at)) = guard.as_mut() else {
                    return Err(Error::io("reading system information", std::io::Error::other("unsupported platform")));
                };
                sys.refresh_cpu_usage();
                sys.refresh_memory();
                *at = Instant::now();
                let cpus = sys.cpus();
                let cpu = CpuInfo {
                    model: cpus.first().map(|c| c.brand().trim().to_owned()).unwrap_or_default(),
                    cores: cpus.len(),
                    physical_cores: sysinfo::System::physical_core_count().ok(),
                    usage_percent: sys.global_cpu_usage(),
                    arch: sysinfo::System::cpu_arch(),
                };
                let memory = MemoryInfo { total_bytes: sys.total_memory(), used_bytes: sys.used_memory() };
                let os = OsInfo {
                    name: sysinfo::System::name().unwrap_or_else(|_| std::env::consts::OS.to_owned()),
                    version: sysinfo::System::os_version().unwrap_or_default(),
                    kernel: sysinfo::System::kernel_version().unwrap_or_default(),
                };
                (cpu, memory, os)
            };
            let gpus = nvml.get_or_init(init_nvml).as_ref().map(read_gpus).unwrap_or_default();
            Ok(SystemInfo { cpu, memory, gpus, os })
        })
        .await
    }
}

/// A first CPU and memory sample, the baseline that usage is measured against.
fn sample() -> Option<(sysinfo::System, Instant)> {
    let refresh = RefreshKind::nothing()
        .with_cpu(CpuRefreshKind::nothing().with_usage())
        .with_memory(MemoryRefreshKind::nothing().with_ram());
    match sysinfo::System::new_with_specifics(refresh) {
        Ok(sys) => Some((sys, Instant::now())),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read system information");
            None
        }
    }
}

fn init_nvml() -> Option<Nvml> {
    match Nvml::init() {
        Ok(nvml) => Some(nvml),
        Err(e) => {
            tracing::debug!(error = %e, "NVML is not available; reporting no GPUs");
            None
        }
    }
}

fn read_gpus(nvml: &Nvml) -> Vec<GpuInfo> {
    let count = nvml.device_count().unwrap_or(0);
    (0..count)
        .filter_map(|index| {
            let device = nvml.device_by_index(index).ok()?;
            let memory = device.memory_info().ok();
            Some(GpuInfo {
                index,
                name: device.name().unwrap_or_else(|_| "NVIDIA GPU".into()),
                vram_total_bytes: memory.as_ref().map(|m| m.total).unwrap_or(0),
                vram_used_bytes: memory.as_ref().map(|m| m.used).unwrap_or(0),
                utilization_percent: device.utilization_rates().ok().map(|u| u.gpu),
            })
        })
        .collect()
}
