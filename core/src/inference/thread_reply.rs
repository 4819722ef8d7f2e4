//! A reply in a Jan thread (Jan's "send"): the thread's messages and effective settings (thread over assistant
//! over model) make a chat that runs through the same preparation as any request; the reply is a `pending`
//! assistant message, its text arrives on the returned stream (only there: tokens are not events), and the message
//! is saved `ready`, `stopped` or `error` when the reply ends. A consumer that leaves the stream unread for the
//! stall timeout stops the reply, which is saved `stopped`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use tokio::task::JoinHandle;

use super::api::InferenceApi;
use super::prepare;
use super::request::GenerationFields;
use super::stream::{CompletionStream, channel};
use super::types::{ChatMessage, FinishReason, StreamItem};
use crate::error::{Error, Result};
use crate::facade::Inner;
use crate::instance::WritingGuard;
use crate::threads::{Message, MessageContent, MessageStatus, MessageUpdate, NewMessage, Role};

/// The metadata key of a saved reply's tool calls (OpenAI's `tool_calls` list), sent back with the conversation.
const TOOL_CALLS: &str = "tool_calls";

/// A reply being generated in a thread.
#[derive(Debug)]
pub struct ThreadReply {
    /// The assistant message, `pending` until the stream ends; then `ready`, `stopped` or `error` in the file.
    pub message: Message,
    /// The reply's text as it is generated; dropping it or calling `stop` stops the reply.
    pub stream: CompletionStream,
}

/// How to reply in a thread.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplyOptions {
    /// Continue the thread's last message, a reply that ended early (cut at max tokens, stopped or interrupted),
    /// instead of writing a new one: the model writes on from its last token and the text is appended to it.
    #[serde(rename = "continue")]
    pub continue_reply: bool,
}

impl InferenceApi {
    /// Generates the assistant's reply to a thread. A request that cannot run (no model, a conversation over the
    /// context) is an `Err` before the pending message is written. Dropping the stream stops the reply. Tool calls
    /// in the reply (the request offers no tools yet, but an upstream may call some anyway) are saved in its
    /// `metadata.tool_calls` and go back to the model with the conversation.
    pub async fn reply_in_thread(&self, thread_id: &str) -> Result<ThreadReply> {
        self.reply_with(thread_id, ReplyOptions::default()).await
    }

    /// [`Self::reply_in_thread`], or with `continue` the continuation of the thread's last reply: the same message
    /// becomes `pending` again (its text kept), the stream carries only the new text, and the message is saved with
    /// both.
    pub async fn reply_with(&self, thread_id: &str, options: ReplyOptions) -> Result<ThreadReply> {
        let jan = self.jan();
        let thread = jan.threads().get(thread_id).await?;
        let settings = jan.threads().effective_settings(thread_id).await?;
        let model_id = settings
            .model_id
            .clone()
            .ok_or_else(|| Error::InvalidRequest("the thread has no model; choose one first".into()))?;
        let model = settings.model.clone().ok_or_else(|| Error::model_not_found(&model_id))?;
        let mut messages = Vec::new();
        if let Some(instructions) = settings.instructions.as_deref().filter(|i| !i.trim().is_empty()) {
            messages.push(ChatMessage::new("system", instructions));
        }
        let mut saved = jan.threads().messages(thread_id).await?;
        let continued = if options.continue_reply { Some(continuable(&mut saved)?) } else { None };
        messages.extend(saved.iter().filter_map(conversation_turn));
        if let Some(last) = &continued {
            // The last turn, unclosed: the prompt ends with its text (see `Prompter::render_chat`).
            messages.push(ChatMessage::new("assistant", last.text()));
        }
        let resolved = prepare::resolve(&settings.parameters, &GenerationFields::default())?;
        let assistant_id = thread.assistant().map_or("jan", |a| a.assistant_id.as_str()).to_owned();
        let engine = self.run_chat(&model, messages, None, resolved).await?;
        // Before the message is pending: a reader must never take it for one whose writer is gone.
        let writing = self.inner.instance.writing(thread_id);
        let owner = self.inner.instance.id();
        let (message, prefix) = match continued {
            Some(last) => {
                let message = jan.threads().reopen_reply(thread_id, &last.id, owner).await?;
                let prefix = message.text();
                (message, prefix)
            }
            None => {
                let pending = NewMessage::pending_reply(assistant_id).written_by(owner);
                (jan.threads().add_message(thread_id, pending).await?, String::new())
            }
        };
        let stream = self.follow(engine, thread_id.to_owned(), message.id.clone(), prefix, writing);
        Ok(ThreadReply { message, stream })
    }

    /// Forwards the engine's stream, saves the text so far every [`PARTIAL_SAVE`] (what a killed process leaves is
    /// kept) and saves the message when it ends.
    fn follow(
        &self,
        mut engine: CompletionStream,
        thread_id: String,
        message_id: String,
        prefix: String,
        writing: WritingGuard,
    ) -> CompletionStream {
        let (tx, stream) = channel();
        let inner = self.inner.clone();
        let stall = inner.config.inference.stall_timeout;
        tokio::spawn(async move {
            // The saved text: a continued reply's own, then what is generated.
            let mut text = prefix;
            let prefix_len = text.len();
            let mut partial = PartialSaves::new(inner.clone(), &thread_id, &message_id);
            // The consumer took what it was given in time; once it has not, the rest is not sent.
            let mut reading = true;
            let outcome = loop {
                let item = tokio::select! {
                    item = engine.recv() => item,
                    _ = tx.cancelled() => { engine.stop(); engine.recv().await }
                };
                let forward = match item {
                    Some(StreamItem::Delta(delta)) => {
                        text.push_str(&delta);
                        partial.maybe_save(&text);
                        StreamItem::Delta(delta)
                    }
                    Some(StreamItem::ToolCall(call)) => StreamItem::ToolCall(call),
                    Some(StreamItem::Done(done)) => break Ok(done),
                    Some(StreamItem::Error(e)) => break Err(e),
                    None => break Err(Error::Cancelled("the reply".into())),
                };
                if reading && tokio::time::timeout(stall, tx.send(forward)).await.is_err() {
                    tracing::warn!(thread = %thread_id, after = ?stall, "a client stopped reading its reply; it is stopped");
                    reading = false;
                    engine.stop();
                }
            };
            let update = match &outcome {
                Ok(done) => {
                    let status = match done.finish_reason {
                        FinishReason::Cancelled => MessageStatus::Stopped,
                        _ => MessageStatus::Ready,
                    };
                    let mut update = MessageUpdate::finish(format!("{}{}", &text[..prefix_len], done.text), status);
                    let mut meta = Map::new();
                    meta.insert("usage".into(), serde_json::to_value(done.usage).unwrap_or(Value::Null));
                    meta.insert("timings".into(), serde_json::to_value(done.timings).unwrap_or(Value::Null));
                    // `length`: cut at max tokens (or a full context); the UI marks it.
                    meta.insert(
                        "finish_reason".into(),
                        serde_json::to_value(done.finish_reason).unwrap_or(Value::Null),
                    );
                    if !done.tool_calls.is_empty() {
                        meta.insert(TOOL_CALLS.into(), serde_json::to_value(&done.tool_calls).unwrap_or(Value::Null));
                    }
                    update.metadata = Some(meta);
                    update
                }
                Err(e) => {
                    if e.code().is_internal() {
                        tracing::error!(thread = %thread_id, error = %e, "the reply failed");
                    }
                    let mut update = MessageUpdate::finish(text, MessageStatus::Error);
                    let mut meta = Map::new();
                    meta.insert("error".into(), serde_json::json!({"code": e.code(), "message": e.public_message()}));
                    update.metadata = Some(meta);
                    update
                }
            };
            partial.finish().await;
            let jan = crate::Jan::from_inner(inner);
            if let Err(e) = jan.threads().update_message(&thread_id, &message_id, update).await {
                tracing::warn!(thread = %thread_id, error = %e, "could not save the finished reply");
            }
            drop(writing);
            let last = match outcome {
                Ok(done) => StreamItem::Done(done),
                Err(e) => StreamItem::Error(e),
            };
            // A consumer that stopped reading does not keep this task (and the reply's memory) alive.
            let _ = tokio::time::timeout(stall, tx.send(last)).await;
        });
        stream
    }
}

/// How often a reply's text so far is saved while it is generated.
const PARTIAL_SAVE: Duration = Duration::from_secs(2);

/// The saves of a reply's text while it is generated: at most one at a time, in the background (the tokens do not
/// wait for the disk), at most every [`PARTIAL_SAVE`].
struct PartialSaves {
    inner: Arc<Inner>,
    thread_id: String,
    message_id: String,
    last: Instant,
    saving: Option<JoinHandle<()>>,
}

impl PartialSaves {
    fn new(inner: Arc<Inner>, thread_id: &str, message_id: &str) -> Self {
        let (thread_id, message_id) = (thread_id.to_owned(), message_id.to_owned());
        PartialSaves { inner, thread_id, message_id, last: Instant::now(), saving: None }
    }

    fn maybe_save(&mut self, text: &str) {
        if self.last.elapsed() < PARTIAL_SAVE || self.saving.as_ref().is_some_and(|s| !s.is_finished()) {
            return;
        }
        self.last = Instant::now();
        let jan = crate::Jan::from_inner(self.inner.clone());
        let (thread_id, message_id) = (self.thread_id.clone(), self.message_id.clone());
        let update = MessageUpdate { content: Some(vec![MessageContent::text(text)]), ..Default::default() };
        self.saving = Some(tokio::spawn(async move {
            if let Err(e) = jan.threads().update_message(&thread_id, &message_id, update).await {
                tracing::warn!(thread = %thread_id, error = %e, "could not save a reply's text so far");
            }
        }));
    }

    /// Waits for the save in flight, so that the final save comes after it.
    async fn finish(&mut self) {
        if let Some(saving) = self.saving.take() {
            let _ = saving.await;
        }
    }
}

/// The thread's last message, taken off `saved`, when it is a reply that can be continued: an assistant's, with
/// text, finished (a reply being written cannot be continued yet).
fn continuable(saved: &mut Vec<Message>) -> Result<Message> {
    let nothing = |why: &str| Error::InvalidRequest(format!("there is nothing to continue: {why}"));
    let last = saved.pop().ok_or_else(|| nothing("the thread has no messages"))?;
    if last.role != Role::Assistant {
        return Err(nothing("the thread's last message is not a reply"));
    }
    if last.status == MessageStatus::Pending {
        return Err(Error::Conflict(format!("message {} is still being written", last.id)));
    }
    if last.text().is_empty() {
        return Err(nothing("the last reply has no text"));
    }
    Ok(last)
}

/// A saved message as a turn of the conversation: only finished ones with text (or tool calls, which a reply
/// keeps in `metadata.tool_calls`).
fn conversation_turn(m: &Message) -> Option<ChatMessage> {
    let usable = matches!(m.status, MessageStatus::Ready | MessageStatus::Stopped);
    let text = m.text();
    let tool_calls = match m.role {
        Role::Assistant => m.metadata.as_ref().and_then(|meta| meta.get(TOOL_CALLS)),
        _ => None,
    }
    .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()));
    if !usable || (text.is_empty() && tool_calls.is_none()) {
        return None;
    }
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
        Role::Tool => "tool",
    };
    Some(ChatMessage { tool_calls: tool_calls.cloned(), ..ChatMessage::new(role, text) })
}
