//! Assistants (Jan's assistant plugin): `assistants/<id>/assistant.json`. The default `jan` assistant is created
//! when the data folder is opened and cannot be deleted.

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::facade::Inner;
use crate::ids::{self, IdKind};
use crate::serde_util::{lenient_i64, overlay};
use crate::storage::{self, blocking};
use crate::time::now_millis;

/// The id of the assistant every data folder has.
pub const DEFAULT_ASSISTANT_ID: &str = "jan";
const ASSISTANT_FILE: &str = "assistant.json";

/// One `assistant.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assistant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_location: Option<Value>,
    #[serde(default)]
    pub id: String,
    #[serde(default = "assistant_object")]
    pub object: String,
    /// Milliseconds (`Date.now()` in the desktop app).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_i64")]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A model id, or `"*"` for any downloaded model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// Fields the core does not know, preserved. `settings` and `parameters` objects here (an extension of Jan's
    /// format) take part in [`crate::threads::ThreadsApi::effective_settings`].
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

fn assistant_object() -> String {
    "assistant".to_owned()
}

/// What a new assistant starts with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAssistant {
    /// Defaults to a new ULID.
    pub id: Option<String>,
    pub name: String,
    pub description: Option<String>,
    pub avatar: Option<String>,
    /// Defaults to `"*"`.
    pub model: Option<String>,
    pub instructions: Option<String>,
    pub tools: Option<Vec<Value>>,
    pub metadata: Option<Map<String, Value>>,
}

/// A change to an assistant; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssistantUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub avatar: Option<String>,
    pub model: Option<String>,
    pub instructions: Option<String>,
    pub tools: Option<Vec<Value>>,
    /// Merged key by key.
    pub metadata: Option<Map<String, Value>>,
}

/// Assistants. Get it from [`crate::Jan::assistants`].
#[derive(Debug, Clone)]
pub struct AssistantsApi {
    inner: Arc<Inner>,
}

impl AssistantsApi {
    pub(crate) fn new(inner: Arc<Inner>) -> Self {
        AssistantsApi { inner }
    }

    fn dir(&self, id: &str) -> Result<PathBuf> {
        self.inner.object_dir("assistants", IdKind::Assistant, id)
    }

    /// Writes the default `jan` assistant if it is missing (it is never overwritten).
    pub(crate) async fn ensure_default(&self) -> Result<()> {
        match self.get(DEFAULT_ASSISTANT_ID).await {
            Ok(_) => Ok(()),
            Err(Error::NotFound { .. }) => {
                let jan = NewAssistant {
                    id: Some(DEFAULT_ASSISTANT_ID.into()),
                    name: "Jan".into(),
                    description: Some("A default assistant that can use all downloaded models".into()),
                    avatar: Some(String::new()),
                    model: Some("*".into()),
                    instructions: Some("Your name is Jan.".into()),
                    tools: Some(vec![serde_json::json!({"type": "retrieval", "enabled": false, "settings": {}})]),
                    metadata: None,
                };
                match self.create(jan).await {
                    Ok(_) | Err(Error::Conflict(_)) => Ok(()),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Creates an assistant; an existing id is a conflict.
    pub async fn create(&self, new: NewAssistant) -> Result<Assistant> {
        let id = new.id.unwrap_or_else(|| ulid::Ulid::new().to_string().to_lowercase());
        let dir = self.dir(&id)?;
        check_name(&new.name)?;
        if let Some(m) = new.model.as_deref().filter(|m| *m != "*") {
            ids::check(IdKind::Model, m)?;
        }
        let assistant = Assistant {
            avatar: new.avatar,
            thread_location: None,
            id: id.clone(),
            object: assistant_object(),
            created_at: Some(now_millis()),
            name: new.name,
            description: new.description,
            model: Some(new.model.unwrap_or_else(|| "*".into())),
            instructions: new.instructions,
            tools: Some(new.tools.unwrap_or_default()),
            file_ids: Some(Vec::new()),
            metadata: new.metadata,
            extra: Map::new(),
        };
        let _guard = self.inner.locks.lock(format!("assistant/{id}")).await;
        let out = assistant.clone();
        blocking(move || {
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && !dir.join(ASSISTANT_FILE).exists() => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(Error::Conflict(format!("assistant '{id}' already exists")));
                }
                Err(e) => return Err(Error::io(format!("creating {}", dir.display()), e)),
            }
            storage::write_json(&dir.join(ASSISTANT_FILE), &assistant)
        })
        .await?;
        Ok(out)
    }

    /// Every readable assistant, the default first, then by name.
    pub async fn list(&self) -> Result<Vec<Assistant>> {
        let area = self.inner.area_dir("assistants");
        blocking(move || {
            let mut out = Vec::new();
            for id in storage::list_object_dirs(&area, IdKind::Assistant)? {
                match read_assistant(&area.join(&id), &id) {
                    Ok(a) => out.push(a),
                    Err(Error::NotFound { .. }) => {}
                    Err(e) => tracing::warn!(assistant = %id, error = %e, "skipping unreadable assistant"),
                }
            }
            out.sort_by(|a, b| {
                (a.id != DEFAULT_ASSISTANT_ID, a.name.to_lowercase())
                    .cmp(&(b.id != DEFAULT_ASSISTANT_ID, b.name.to_lowercase()))
            });
            Ok(out)
        })
        .await
    }

    /// One assistant.
    pub async fn get(&self, id: &str) -> Result<Assistant> {
        let dir = self.dir(id)?;
        let id = id.to_owned();
        blocking(move || read_assistant(&dir, &id)).await
    }

    /// Changes an assistant.
    pub async fn update(&self, id: &str, update: AssistantUpdate) -> Result<Assistant> {
        let dir = self.dir(id)?;
        if let Some(name) = &update.name {
            check_name(name)?;
        }
        if let Some(m) = update.model.as_deref().filter(|m| *m != "*") {
            ids::check(IdKind::Model, m)?;
        }
        let _guard = self.inner.locks.lock(format!("assistant/{id}")).await;
        let id = id.to_owned();
        blocking(move || {
            let mut a = read_assistant(&dir, &id)?;
            if let Some(v) = update.name {
                a.name = v;
            }
            if let Some(v) = update.description {
                a.description = Some(v);
            }
            if let Some(v) = update.avatar {
                a.avatar = Some(v);
            }
            if let Some(v) = update.model {
                a.model = Some(v);
            }
            if let Some(v) = update.instructions {
                a.instructions = Some(v);
            }
            if let Some(v) = update.tools {
                a.tools = Some(v);
            }
            if let Some(extra) = update.metadata {
                overlay(a.metadata.get_or_insert_with(Map::new), &extra);
            }
            storage::write_json(&dir.join(ASSISTANT_FILE), &a)?;
            Ok(a)
        })
        .await
    }

    /// Deletes an assistant. The default `jan` assistant cannot be deleted; threads that used a deleted
    /// assistant keep their own copy of its name and instructions.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let dir = self.dir(id)?;
        if id == DEFAULT_ASSISTANT_ID {
            return Err(Error::Forbidden("the default assistant 'jan' cannot be deleted".into()));
        }
        let _guard = self.inner.locks.lock(format!("assistant/{id}")).await;
        let id = id.to_owned();
        blocking(move || {
            read_assistant(&dir, &id)?;
            storage::remove_dir(&dir)
        })
        .await
    }
}

fn read_assistant(dir: &std::path::Path, id: &str) -> Result<Assistant> {
    let path = dir.join(ASSISTANT_FILE);
    if !path.is_file() {
        return Err(Error::not_found("assistant", id));
    }
    let mut a: Assistant = storage::read_json(&path)?;
    a.id = id.to_owned();
    Ok(a)
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(Error::InvalidRequest(
            "an assistant needs a name of 1 to 256 characters without control characters".into(),
        ));
    }
    Ok(())
}
