//! Threads and messages (Jan's conversational plugin): `threads/<id>/thread.json` and `messages.jsonl`.
//!
//! All writes to one thread (its thread.json and its messages) hold that thread's lock, so concurrent writers
//! take turns; writes to different threads run side by side.

mod messages;
mod types;

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value};

pub use messages::{MessageUpdate, NewMessage};
pub use types::{Message, MessageContent, MessageStatus, Role, TextContent, Thread, ThreadAssistant, ThreadModel};

use crate::assistants::DEFAULT_ASSISTANT_ID;
use crate::error::{Error, ErrorCode, Result};
use crate::events::Event;
use crate::facade::Inner;
use crate::ids::{self, IdKind};
use crate::inference::prepare::MIN_CTX_LEN;
use crate::models::{ModelParameters, ModelSettings};
use crate::serde_util::{overlay, to_map};
use crate::storage::{self, blocking};
use crate::time::{now_millis, now_secs};

pub(crate) const THREAD_FILE: &str = "thread.json";
pub(crate) const MESSAGES_FILE: &str = "messages.jsonl";
const MAX_TITLE_CHARS: usize = 512;

/// What a new thread starts with; everything is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewThread {
    /// Defaults to "New Thread", as in the desktop app.
    pub title: Option<String>,
    /// Defaults to the `jan` assistant.
    pub assistant_id: Option<String>,
    /// The model and its overrides; defaults to the assistant's model.
    pub model: Option<ThreadModel>,
    /// Defaults to the assistant's instructions.
    pub instructions: Option<String>,
    pub metadata: Option<Map<String, Value>>,
}

/// A change to a thread; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadUpdate {
    pub title: Option<String>,
    /// Replaces the thread's model choice and its overrides.
    pub model: Option<ThreadModel>,
    pub instructions: Option<String>,
    /// Merged key by key into the thread's metadata.
    pub metadata: Option<Map<String, Value>>,
}

/// The settings a thread runs with: thread over assistant over model, key by key.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveSettings {
    /// The model to run, if the thread or its assistant names one.
    pub model_id: Option<String>,
    pub engine: Option<String>,
    /// The system prompt: the thread's instructions, else the assistant's.
    pub instructions: Option<String>,
    pub settings: ModelSettings,
    pub parameters: ModelParameters,
    /// The model.json of `model_id`, read once for the whole request; `None` when it does not exist.
    pub model: Option<crate::models::ModelFile>,
}

/// Threads and messages. Get it from [`crate::Jan::threads`].
#[derive(Debug, Clone)]
pub struct ThreadsApi {
    inner: Arc<Inner>,
}

impl ThreadsApi {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        ThreadsApi { inner }
    }

    fn dir(&self, id: &str) -> Result<PathBuf> {
        self.inner.object_dir("threads", IdKind::Thread, id)
    }

    async fn lock(&self, id: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.inner.locks.lock(format!("thread/{id}")).await
    }

    /// Creates a thread for an assistant (default `jan`), copying the assistant's name, instructions and model.
    pub async fn create(&self, new: NewThread) -> Result<Thread> {
        let assistant_id = new.assistant_id.unwrap_or_else(|| DEFAULT_ASSISTANT_ID.to_owned());
        let assistant = crate::Jan::from_inner(self.inner.clone()).assistants().get(&assistant_id).await?;
        let title = check_title(new.title.unwrap_or_else(|| "New Thread".to_owned()))?;
        if let Some(model) = &new.model {
            check_thread_model(model)?;
        }
        let now = now_millis();
        let model = new
            .model
            .or_else(|| assistant.model.as_ref().map(|id| ThreadModel { id: id.clone(), ..Default::default() }));
        let mut metadata = new.metadata.unwrap_or_default();
        metadata.insert("title".into(), Value::String(title.clone()));
        let mut thread = Thread {
            id: String::new(),
            object: "thread".into(),
            title,
            created: Some(now),
            updated: Some(now),
            metadata: Some(metadata),
            assistants: vec![ThreadAssistant {
                assistant_id: assistant.id.clone(),
                assistant_name: Some(assistant.name.clone()),
                model,
                instructions: new.instructions.or(assistant.instructions.clone()),
                tools: assistant.tools.clone(),
                extra: Map::new(),
            }],
            extra: Map::new(),
        };
        let area = self.inner.area_dir("threads");
        let thread = blocking(move || {
            let base = format!("{assistant_id}_{}", now_secs());
            for n in 0..1000u32 {
                let id = if n == 0 { base.clone() } else { format!("{base}_{n}") };
                let id = if ids::check(IdKind::Thread, &id).is_ok() { id } else { ulid::Ulid::new().to_string() };
                let dir = area.join(&id);
                match std::fs::create_dir(&dir) {
                    Ok(()) => {
                        thread.id = id;
                        storage::write_json(&dir.join(THREAD_FILE), &thread)?;
                        storage::sync_dir(&area)?;
                        return Ok(thread);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
                }
            }
            Err(Error::Conflict(format!("no free thread id left for {base}")))
        })
        .await?;
        self.inner.emit(Event::ThreadUpdated { thread: thread.clone() });
        Ok(thread)
    }

    /// Every readable thread, most recently updated first. Unreadable ones are skipped with a warning.
    pub async fn list(&self) -> Result<Vec<Thread>> {
        let area = self.inner.area_dir("threads");
        blocking(move || {
            let mut threads = Vec::new();
            for id in storage::list_object_dirs(&area, IdKind::Thread)? {
                match read_thread(&area.join(&id), &id) {
                    Ok(t) => threads.push(t),
                    Err(e) => tracing::warn!(thread = %id, error = %e, "skipping unreadable thread"),
                }
            }
            threads.sort_by(|a, b| b.updated_millis().cmp(&a.updated_millis()).then_with(|| b.id.cmp(&a.id)));
            Ok(threads)
        })
        .await
    }

    /// One thread.
    pub async fn get(&self, id: &str) -> Result<Thread> {
        let dir = self.dir(id)?;
        let id = id.to_owned();
        blocking(move || read_thread(&dir, &id)).await
    }

    /// Sets a thread's title (and `metadata.title`, which the desktop app reads).
    pub async fn rename(&self, id: &str, title: &str) -> Result<Thread> {
        self.update(id, ThreadUpdate { title: Some(title.to_owned()), ..Default::default() }).await
    }

    /// Changes a thread's title, model and overrides, instructions or metadata.
    pub async fn update(&self, id: &str, update: ThreadUpdate) -> Result<Thread> {
        let title = update.title.map(check_title).transpose()?;
        if let Some(model) = &update.model {
            check_thread_model(model)?;
        }
        let dir = self.dir(id)?;
        let _guard = self.lock(id).await;
        let id = id.to_owned();
        let thread = blocking(move || {
            let mut thread = read_thread(&dir, &id)?;
            let metadata = thread.metadata.get_or_insert_with(Map::new);
            if let Some(extra) = update.metadata {
                overlay(metadata, &extra);
            }
            if let Some(title) = title {
                metadata.insert("title".into(), Value::String(title.clone()));
                thread.title = title;
            }
            if update.model.is_some() || update.instructions.is_some() {
                if thread.assistants.is_empty() {
                    thread.assistants.push(ThreadAssistant {
                        assistant_id: DEFAULT_ASSISTANT_ID.into(),
                        assistant_name: None,
                        model: None,
                        instructions: None,
                        tools: None,
                        extra: Map::new(),
                    });
                }
                let assistant = &mut thread.assistants[0];
                if let Some(model) = update.model {
                    assistant.model = Some(model);
                }
                if let Some(instructions) = update.instructions {
                    assistant.instructions = Some(instructions);
                }
            }
            thread.updated = Some(now_millis());
            storage::write_json(&dir.join(THREAD_FILE), &thread)?;
            Ok(thread)
        })
        .await?;
        self.inner.emit(Event::ThreadUpdated { thread: thread.clone() });
        Ok(thread)
    }

    /// Deletes a thread and its messages.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let dir = self.dir(id)?;
        let _guard = self.lock(id).await;
        let thread_id = id.to_owned();
        blocking(move || {
            if !dir.join(THREAD_FILE).is_file() {
                return Err(Error::not_found("thread", thread_id));
            }
            storage::remove_dir(&dir)
        })
        .await?;
        self.inner.emit(Event::ThreadDeleted { thread_id: id.to_owned() });
        Ok(())
    }

    /// The settings the thread runs with: the thread's overrides over its assistant's over its model's.
    pub async fn effective_settings(&self, id: &str) -> Result<EffectiveSettings> {
        let thread = self.get(id).await?;
        let jan = crate::Jan::from_inner(self.inner.clone());
        let entry = thread.assistant();
        let assistant = match entry {
            Some(a) => match jan.assistants().get(&a.assistant_id).await {
                Ok(a) => Some(a),
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let thread_model = entry.and_then(|a| a.model.as_ref());
        let named = |id: Option<&String>| id.filter(|m| !m.is_empty() && *m != "*").cloned();
        let model_id =
            named(thread_model.map(|m| &m.id)).or_else(|| named(assistant.as_ref().and_then(|a| a.model.as_ref())));
        let model = match &model_id {
            Some(m) => match jan.models().get(m).await {
                Ok(model) => Some(model),
                Err(Error::ModelNotFound { .. }) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };

        let assistant_layer = |key: &str| -> Map<String, Value> {
            match assistant.as_ref().and_then(|a| a.extra.get(key)) {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            }
        };
        let mut settings = model.as_ref().map(|m| to_map(&m.settings)).unwrap_or_default();
        overlay(&mut settings, &assistant_layer("settings"));
        overlay(&mut settings, &thread_model.and_then(|m| m.settings.as_ref()).map(to_map).unwrap_or_default());
        let mut parameters = model.as_ref().map(|m| to_map(&m.parameters)).unwrap_or_default();
        overlay(&mut parameters, &assistant_layer("parameters"));
        overlay(&mut parameters, &thread_model.and_then(|m| m.parameters.as_ref()).map(to_map).unwrap_or_default());

        fn parse<T: serde::de::DeserializeOwned>(map: Map<String, Value>, id: &str, what: &str) -> Result<T> {
            serde_json::from_value(Value::Object(map))
                .map_err(|e| Error::InvalidRequest(format!("thread {id} has invalid {what}: {e}")))
        }
        Ok(EffectiveSettings {
            engine: thread_model.and_then(|m| m.engine.clone()).or_else(|| model.as_ref().map(|m| m.engine.clone())),
            model_id,
            instructions: entry
                .and_then(|a| a.instructions.clone())
                .or_else(|| assistant.as_ref().and_then(|a| a.instructions.clone())),
            settings: parse(settings, id, "settings")?,
            parameters: parse(parameters, id, "parameters")?,
            model,
        })
    }
}

/// Reads `thread.json`; the folder name is the thread's id whatever the file says.
fn read_thread(dir: &std::path::Path, id: &str) -> Result<Thread> {
    let path = dir.join(THREAD_FILE);
    if !path.is_file() {
        return Err(Error::not_found("thread", id));
    }
    let mut thread: Thread = storage::read_json(&path)?;
    thread.id = id.to_owned();
    Ok(thread)
}

fn check_title(title: String) -> Result<String> {
    let title = title.trim().to_owned();
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(Error::InvalidRequest(format!("a thread title may have at most {MAX_TITLE_CHARS} characters")));
    }
    if title.chars().any(char::is_control) {
        return Err(Error::InvalidRequest("a thread title may not contain control characters".into()));
    }
    Ok(title)
}

fn check_thread_model(model: &ThreadModel) -> Result<()> {
    if !model.id.is_empty() && model.id != "*" {
        ids::check(IdKind::Model, &model.id)?;
    }
    if let Some(path) = model.settings.as_ref().and_then(|s| s.llama_model_path.as_deref()) {
        ids::check(IdKind::FileName, path)?;
    }
    if let Some(parameters) = &model.parameters {
        crate::inference::prepare::check_parameters(parameters)?;
    }
    if let Some(ctx) = model.settings.as_ref().and_then(|s| s.ctx_len).filter(|&c| c < MIN_CTX_LEN) {
        return Err(Error::field(
            ErrorCode::InvalidValue,
            "ctx_len",
            format!("`ctx_len` must be at least {MIN_CTX_LEN}, not {ctx}"),
        ));
    }
    Ok(())
}
