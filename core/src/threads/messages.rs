//! Messages of a thread: `messages.jsonl`, one JSON object per line.
//!
//! Appends add one fsynced line. Updates and deletes rewrite the file atomically and touch only the target line:
//! every other line is kept byte for byte, including lines the core cannot parse, so nothing a newer Jan (or a
//! hand edit) wrote is lost.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::types::{Message, MessageContent, MessageStatus, Role};
use super::{MESSAGES_FILE, THREAD_FILE, ThreadsApi};
use crate::error::{Error, IoContext, Result};
use crate::events::Event;
use crate::ids::{self, IdKind};
use crate::instance::REPLY_OWNER;
use crate::serde_util::overlay;
use crate::storage::{self, blocking};
use crate::time::now_millis;

/// A message to append.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMessage {
    pub role: Role,
    /// A string, OpenAI's parts (`{type: "text", text: "..."}`) or Jan's; saved as Jan's.
    #[serde(default)]
    #[cfg_attr(feature = "typescript", ts(type = "string | Array<ContentPart | { type: string, text: string }>"))]
    pub content: Vec<MessageContent>,
    /// Defaults to `ready`; a reply about to be generated starts as `pending`.
    #[serde(default)]
    pub status: Option<MessageStatus>,
    #[serde(default)]
    pub assistant_id: Option<String>,
    #[serde(default)]
    pub metadata: Option<Map<String, Value>>,
}

impl NewMessage {
    /// A ready text message.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        NewMessage { role, content: vec![MessageContent::text(text)], status: None, assistant_id: None, metadata: None }
    }

    /// An empty assistant reply in `pending` status, to be filled as it is generated.
    pub fn pending_reply(assistant_id: impl Into<String>) -> Self {
        NewMessage {
            role: Role::Assistant,
            content: Vec::new(),
            status: Some(MessageStatus::Pending),
            assistant_id: Some(assistant_id.into()),
            metadata: None,
        }
    }

    /// Names the instance (see [`crate::instance`]) that writes this pending reply: once that instance is gone, the
    /// reply is marked interrupted.
    pub(crate) fn written_by(mut self, owner: &str) -> Self {
        self.metadata.get_or_insert_with(Map::new).insert(REPLY_OWNER.into(), Value::String(owner.to_owned()));
        self
    }
}

/// What an interrupted reply's `metadata.error.message` says.
const INTERRUPTED: &str = "The reply was cut off: the server stopped while it was being written.";

/// A change to a message; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageUpdate {
    /// Replaces the content (a string or parts, as in [`NewMessage`]).
    #[cfg_attr(feature = "typescript", ts(type = "string | Array<ContentPart | { type: string, text: string }>"))]
    pub content: Option<Vec<MessageContent>>,
    /// `pending` may become anything; a final status (`ready`, `stopped`, `error`) cannot change any more.
    pub status: Option<MessageStatus>,
    /// Merged key by key into the message's metadata.
    pub metadata: Option<Map<String, Value>>,
}

impl MessageUpdate {
    /// Finishes a pending reply with its final text.
    pub fn finish(text: impl Into<String>, status: MessageStatus) -> Self {
        MessageUpdate { content: Some(vec![MessageContent::text(text)]), status: Some(status), metadata: None }
    }
}

impl ThreadsApi {
    /// Appends a message to a thread (a new ULID id) and bumps the thread's `updated`.
    pub async fn add_message(&self, thread_id: &str, new: NewMessage) -> Result<Message> {
        if let Some(a) = &new.assistant_id {
            ids::check(IdKind::Assistant, a)?;
        }
        let dir = self.dir(thread_id)?;
        let _guard = self.lock(thread_id).await;
        let thread_id = thread_id.to_owned();
        let (message, thread) = blocking(move || {
            let mut thread = super::read_thread(&dir, &thread_id)?;
            let now = now_millis();
            let message = Message {
                id: ulid::Ulid::new().to_string(),
                object: "thread.message".into(),
                thread_id: thread_id.clone(),
                assistant_id: new.assistant_id,
                role: new.role,
                content: new.content,
                status: new.status.unwrap_or(MessageStatus::Ready),
                created: Some(now),
                updated: Some(now),
                metadata: new.metadata,
                extra: Map::new(),
            };
            storage::append_jsonl(&dir.join(MESSAGES_FILE), &message)?;
            thread.updated = Some(now);
            set_last_message(&mut thread, &message);
            storage::write_json(&dir.join(THREAD_FILE), &thread)?;
            Ok((message, thread))
        })
        .await?;
        self.inner.emit(Event::MessageCreated { message: message.clone() });
        self.inner.emit(Event::ThreadUpdated { thread });
        Ok(message)
    }

    /// The readable messages of a thread in the order they were written. A reply left `pending` by a process that
    /// is gone (killed while it wrote the reply) is saved as `error` first, code `interrupted`, with the text it
    /// had saved so far: it will never end otherwise.
    pub async fn messages(&self, thread_id: &str) -> Result<Vec<Message>> {
        let messages = self.read_messages(thread_id).await?;
        let interrupted: Vec<&str> = messages.iter().filter(|m| self.interrupted(m)).map(|m| m.id.as_str()).collect();
        if interrupted.is_empty() {
            return Ok(messages);
        }
        for id in interrupted {
            let mut meta = Map::new();
            meta.insert("error".into(), serde_json::json!({"code": "interrupted", "message": INTERRUPTED}));
            let update = MessageUpdate { status: Some(MessageStatus::Error), metadata: Some(meta), content: None };
            // Another reader may have finished it meanwhile (a conflict): either way it is final now.
            if let Err(e) = self.update_message(thread_id, id, update).await {
                tracing::warn!(thread = %thread_id, message = %id, error = %e, "could not mark an interrupted reply");
            }
        }
        self.read_messages(thread_id).await
    }

    /// Whether `m` is a reply still `pending` whose writer is gone: another process that ended, or this one when it
    /// writes no reply in the thread (its task ended without saving it).
    fn interrupted(&self, m: &Message) -> bool {
        if m.status != MessageStatus::Pending {
            return false;
        }
        let Some(owner) = m.metadata.as_ref().and_then(|meta| meta.get(REPLY_OWNER)).and_then(Value::as_str) else {
            // A pending message a client made itself (Jan desktop's own flow): the client finishes it.
            return false;
        };
        let instance = &self.inner.instance;
        if owner == instance.id() { !instance.is_writing(&m.thread_id) } else { !instance.alive(owner) }
    }

    async fn read_messages(&self, thread_id: &str) -> Result<Vec<Message>> {
        let dir = self.dir(thread_id)?;
        let thread_id = thread_id.to_owned();
        blocking(move || {
            super::read_thread(&dir, &thread_id)?;
            let mut messages: Vec<Message> = storage::read_jsonl(&dir.join(MESSAGES_FILE))?;
            for m in &mut messages {
                if m.thread_id.is_empty() {
                    m.thread_id.clone_from(&thread_id);
                }
            }
            Ok(messages)
        })
        .await
    }

    /// One message.
    pub async fn message(&self, thread_id: &str, message_id: &str) -> Result<Message> {
        ids::check(IdKind::Message, message_id)?;
        self.messages(thread_id)
            .await?
            .into_iter()
            .rev()
            .find(|m| m.id == message_id)
            .ok_or_else(|| Error::not_found("message", message_id))
    }

    /// Changes a message's content, status or metadata (a reply goes pending -> ready / stopped / error).
    pub async fn update_message(&self, thread_id: &str, message_id: &str, update: MessageUpdate) -> Result<Message> {
        let content_changed = update.content.is_some();
        self.modify_message(thread_id, message_id, content_changed, move |message| {
            let MessageUpdate { content, status, metadata } = update;
            if let Some(status) = status {
                if message.status.is_final() && status != message.status {
                    return Err(Error::Conflict(format!(
                        "message {} is already {:?} and cannot become {status:?}",
                        message.id, message.status
                    )));
                }
                message.status = status;
            }
            if let Some(content) = content {
                message.content = content;
            }
            if let Some(extra) = metadata {
                overlay(message.metadata.get_or_insert_with(Map::new), &extra);
            }
            Ok(())
        })
        .await
    }

    /// Makes a finished reply `pending` again, written by `owner`, to be continued ("Continue" on a reply cut at
    /// max tokens, stopped or interrupted): how it ended (`finish_reason`, `error`) no longer holds. A reply being
    /// written is a conflict, as is a message that is not an assistant's.
    pub(crate) async fn reopen_reply(&self, thread_id: &str, message_id: &str, owner: &str) -> Result<Message> {
        let owner = owner.to_owned();
        self.modify_message(thread_id, message_id, false, move |message| {
            if message.role != Role::Assistant || !message.status.is_final() {
                return Err(Error::Conflict(format!(
                    "message {} is not a finished reply ({:?}, {:?}); there is nothing to continue",
                    message.id, message.role, message.status
                )));
            }
            message.status = MessageStatus::Pending;
            let meta = message.metadata.get_or_insert_with(Map::new);
            meta.remove("finish_reason");
            meta.remove("error");
            meta.insert(REPLY_OWNER.into(), Value::String(owner));
            Ok(())
        })
        .await
    }

    /// Rewrites one message's line with `change` under the thread's lock, then tells subscribers (and keeps
    /// thread.json's last message current when the content of the last one changed).
    async fn modify_message(
        &self,
        thread_id: &str,
        message_id: &str,
        content_changed: bool,
        change: impl FnOnce(&mut Message) -> Result<()> + Send + 'static,
    ) -> Result<Message> {
        ids::check(IdKind::Message, message_id)?;
        let dir = self.dir(thread_id)?;
        let _guard = self.lock(thread_id).await;
        let (thread_id, message_id) = (thread_id.to_owned(), message_id.to_owned());
        let (message, thread) = blocking(move || {
            let mut thread = super::read_thread(&dir, &thread_id)?;
            let mut updated = None;
            let was_last = rewrite_line(&dir.join(MESSAGES_FILE), &message_id, |line| {
                let mut message: Message = serde_json::from_slice(line).map_err(|e| Error::CorruptFile {
                    path: dir.join(MESSAGES_FILE),
                    message: format!("message {message_id}: {e}"),
                })?;
                change(&mut message)?;
                message.updated = Some(now_millis());
                let line = serde_json::to_vec(&message)
                    .map_err(|e| Error::InvalidRequest(format!("cannot serialise message: {e}")))?;
                updated = Some(message);
                Ok(Some(line))
            })?;
            let message = updated.ok_or_else(|| Error::not_found("message", message_id))?;
            // The desktop app shows a thread's last message from thread.json; keep it current.
            let thread = (was_last && content_changed && set_last_message(&mut thread, &message))
                .then(|| storage::write_json(&dir.join(THREAD_FILE), &thread).map(|()| thread))
                .transpose()?;
            Ok((message, thread))
        })
        .await?;
        self.inner.emit(Event::MessageUpdated { message: message.clone() });
        if let Some(thread) = thread {
            self.inner.emit(Event::ThreadUpdated { thread });
        }
        Ok(message)
    }

    /// Removes a message from a thread (used by "regenerate" and "edit and resend").
    pub async fn delete_message(&self, thread_id: &str, message_id: &str) -> Result<()> {
        ids::check(IdKind::Message, message_id)?;
        let dir = self.dir(thread_id)?;
        let _guard = self.lock(thread_id).await;
        let (thread_id, message_id) = (thread_id.to_owned(), message_id.to_owned());
        blocking(move || {
            super::read_thread(&dir, &thread_id)?;
            let mut found = false;
            let _ = rewrite_line(&dir.join(MESSAGES_FILE), &message_id, |_| {
                found = true;
                Ok(None)
            })?;
            if found { Ok(()) } else { Err(Error::not_found("message", message_id)) }
        })
        .await
    }
}

/// Sets Jan's `metadata.lastMessage` (the preview the desktop app shows) from a message with text; returns
/// whether it changed.
fn set_last_message(thread: &mut super::Thread, message: &super::Message) -> bool {
    let text = message.text();
    if text.is_empty() {
        return false;
    }
    thread.metadata.get_or_insert_with(Map::new).insert("lastMessage".into(), Value::String(text));
    true
}

/// Rewrites the last line whose `id` is `id` with what `edit` returns (`None` removes it), keeping every other
/// line byte for byte. Does nothing when no line has that id. Returns whether the line was the file's last.
fn rewrite_line(path: &Path, id: &str, edit: impl FnOnce(&[u8]) -> Result<Option<Vec<u8>>>) -> Result<bool> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e).context(|| format!("reading {}", path.display())),
    };
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let line_id = |line: &[u8]| -> Option<String> {
        #[derive(Deserialize)]
        struct Id {
            id: String,
        }
        serde_json::from_slice::<Id>(line).ok().map(|v| v.id)
    };
    let Some(index) = lines.iter().rposition(|l| line_id(l).as_deref() == Some(id)) else { return Ok(false) };
    let replacement = edit(lines[index])?;
    let mut out = Vec::with_capacity(bytes.len() + 256);
    for (i, line) in lines.iter().enumerate() {
        let line: &[u8] = if i == index {
            match &replacement {
                Some(r) => r,
                None => continue,
            }
        } else {
            line
        };
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    storage::write_atomic(path, &out)?;
    Ok(index + 1 == lines.len())
}
