//! [`Jan`], the one entry point hosts use.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::assistants::AssistantsApi;
use crate::config::{FOLDERS, JanConfig};
use crate::downloads::{DownloadRegistry, DownloadsApi};
use crate::error::{Error, Result};
use crate::events::{Event, EventBus, Events};
use crate::ids::{self, IdKind};
use crate::inference::InferenceApi;
use crate::inference::scheduler::Scheduler;
use crate::instance::Instance;
use crate::locks::KeyedLocks;
use crate::models::ModelsApi;
use crate::storage::{self, blocking};
use crate::system::{SystemApi, SystemMonitor};
use crate::threads::ThreadsApi;

/// Jan's plugins on one data folder. Cheap to clone (an `Arc` inside) and safe to share across threads; every
/// clone sees the same state and events.
#[derive(Clone, Debug)]
pub struct Jan {
    inner: Arc<Inner>,
}

/// State shared by the area APIs.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: JanConfig,
    pub(crate) events: EventBus,
    pub(crate) locks: KeyedLocks,
    pub(crate) http: reqwest::Client,
    pub(crate) downloads: DownloadRegistry,
    pub(crate) system: SystemMonitor,
    pub(crate) scheduler: Scheduler,
    /// One remote engine per engine name and settings, so that what an upstream refused is remembered across
    /// requests (see `InferenceApi::remote`).
    pub(crate) remotes: crate::inference::RemoteEngines,
    /// This process's claim on the data folder: tells replies being written from ones whose writer is gone.
    pub(crate) instance: Instance,
}

impl Jan {
    /// Opens (and if needed creates) the data folder: its sub-folders and the default `jan` assistant.
    pub async fn open(config: JanConfig) -> Result<Jan> {
        let root = config.data_folder.clone();
        let instance = blocking(move || {
            for sub in FOLDERS {
                storage::create_dir_all(&root.join(sub))?;
            }
            Instance::claim(&root)
        })
        .await?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("jan-core/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|e| Error::Network(format!("cannot start the HTTP client: {e}")))?;
        let events = EventBus::new();
        let scheduler = Scheduler::new(config.inference.clone(), events.clone());
        let jan = Jan {
            inner: Arc::new(Inner {
                config,
                events,
                locks: KeyedLocks::default(),
                http,
                downloads: DownloadRegistry::default(),
                system: SystemMonitor::new(),
                scheduler,
                remotes: Default::default(),
                instance,
            }),
        };
        jan.assistants().ensure_default().await?;
        Ok(jan)
    }

    /// The data folder this facade works on.
    pub fn data_folder(&self) -> &Path {
        &self.inner.config.data_folder
    }

    /// Models: the downloaded ones, the catalog, import, update, delete.
    pub fn models(&self) -> ModelsApi {
        ModelsApi::new(self.inner.clone())
    }

    /// Downloads: start, cancel, list the ones in progress.
    pub fn downloads(&self) -> DownloadsApi {
        DownloadsApi::new(self.inner.clone())
    }

    /// Threads and their messages.
    pub fn threads(&self) -> ThreadsApi {
        ThreadsApi::new(self.inner.clone())
    }

    /// Assistants.
    pub fn assistants(&self) -> AssistantsApi {
        AssistantsApi::new(self.inner.clone())
    }

    /// Inference: load and unload models, chat, replies in threads.
    pub fn inference(&self) -> InferenceApi {
        InferenceApi::new(self.inner.clone())
    }

    /// CPU, memory, GPUs and OS.
    pub fn system(&self) -> SystemApi {
        SystemApi::new(self.inner.clone())
    }

    /// Subscribes to every event published from now on.
    pub fn subscribe(&self) -> Events {
        self.inner.events.subscribe()
    }
}

impl Jan {
    /// The facade around shared state, for area APIs that call into other areas.
    pub(crate) fn from_inner(inner: Arc<Inner>) -> Jan {
        Jan { inner }
    }
}

impl Inner {
    pub(crate) fn emit(&self, event: Event) {
        self.events.emit(event);
    }

    /// `<data>/<area>/<id>` after checking `id`; the only way the core turns a caller's id into a path.
    pub(crate) fn object_dir(&self, area: &str, kind: IdKind, id: &str) -> Result<PathBuf> {
        ids::check(kind, id)?;
        Ok(self.config.folder(area).join(id))
    }

    /// `<data>/<area>`.
    pub(crate) fn area_dir(&self, area: &str) -> PathBuf {
        self.config.folder(area)
    }
}
