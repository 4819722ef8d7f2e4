//! Jan's `thread.json` and the lines of `messages.jsonl`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::models::{ModelParameters, ModelSettings};
use crate::serde_util::lenient_i64;

/// One `threads/<id>/thread.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Thread {
    /// Equals the folder name (`<assistant_id>_<unix seconds>` for threads made by the desktop app).
    #[serde(default)]
    pub id: String,
    #[serde(default = "thread_object")]
    pub object: String,
    #[serde(default)]
    pub title: String,
    /// Milliseconds (Jan writes `Date.now()`); older files may hold seconds.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_i64")]
    pub created: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_i64")]
    pub updated: Option<i64>,
    /// Jan's free-form metadata; the desktop app keeps the last message's text in `lastMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "typescript", ts(type = "{ lastMessage?: string, [key: string]: unknown }"))]
    pub metadata: Option<Map<String, Value>>,
    /// The thread's assistant (Jan uses the first entry) with its model and overrides.
    #[serde(default)]
    pub assistants: Vec<ThreadAssistant>,
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

/// The assistant of a thread, with the thread's model choice and overrides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadAssistant {
    pub assistant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ThreadModel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Value>>,
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

/// The model a thread uses and the thread's overrides of its settings and parameters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreadModel {
    /// A model id, or `"*"` for "the assistant's / any".
    #[serde(default)]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<ModelSettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<ModelParameters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

/// One line of `messages.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    /// A ULID: sortable by creation time.
    pub id: String,
    #[serde(default = "message_object")]
    pub object: String,
    #[serde(default)]
    pub thread_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistant_id: Option<String>,
    pub role: Role,
    #[serde(default)]
    pub content: Vec<MessageContent>,
    #[serde(default = "ready")]
    pub status: MessageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_i64")]
    pub created: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_i64")]
    pub updated: Option<i64>,
    /// Free-form; a finished reply has its `usage` and `timings`, a failed one its `error`, one that called tools
    /// its `tool_calls`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "typescript",
        ts(type = "{ usage?: Usage, timings?: Timings, error?: { code: ErrorCode, message: string }, \
                   tool_calls?: Array<ToolCall>, [key: string]: unknown }")
    )]
    pub metadata: Option<Map<String, Value>>,
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// Where a message is in its life: a reply is `pending` while it is generated, then `ready`, `stopped` or `error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum MessageStatus {
    Ready,
    Pending,
    Error,
    Stopped,
}

impl MessageStatus {
    /// Whether a message in this status is finished (no more generation will change it).
    pub fn is_final(self) -> bool {
        !matches!(self, MessageStatus::Pending)
    }
}

/// One part of a message's content (Jan writes `{type: "text", text: {value, annotations}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields), ts(rename = "ContentPart"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ContentPart))]
pub struct MessageContent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextContent>,
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

/// The text of a content part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextContent {
    pub value: String,
    #[serde(default)]
    pub annotations: Vec<Value>,
    /// Other keys (Jan 0.4 put an attachment's `name` and `size` here), preserved.
    #[serde(flatten)]
    #[cfg_attr(feature = "typescript", ts(skip))]
    pub extra: Map<String, Value>,
}

impl MessageContent {
    /// A text part, as Jan writes it.
    pub fn text(value: impl Into<String>) -> Self {
        MessageContent {
            kind: "text".to_owned(),
            text: Some(TextContent { value: value.into(), annotations: Vec::new(), extra: Map::new() }),
            extra: Map::new(),
        }
    }
}

impl Message {
    /// The message's text: its text parts joined.
    pub fn text(&self) -> String {
        self.content.iter().filter_map(|c| c.text.as_ref()).map(|t| t.value.as_str()).collect::<Vec<_>>().join("")
    }
}

impl Thread {
    /// The thread's assistant entry (Jan uses the first).
    pub fn assistant(&self) -> Option<&ThreadAssistant> {
        self.assistants.first()
    }

    /// When the thread last changed, in milliseconds, for sorting.
    pub fn updated_millis(&self) -> i64 {
        crate::time::as_millis(self.updated.or(self.created).unwrap_or(0))
    }
}

fn thread_object() -> String {
    "thread".to_owned()
}

fn message_object() -> String {
    "thread.message".to_owned()
}

fn ready() -> MessageStatus {
    MessageStatus::Ready
}
