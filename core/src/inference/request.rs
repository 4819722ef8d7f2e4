//! What clients send to generate text: OpenAI's request bodies (`/v1/chat/completions`, `/v1/completions`), the
//! same from host-web over HTTP and from bindings-node over napi. Fields keep the client's JSON types so that
//! [`super::prepare`] can say exactly which one is wrong; it turns a request into the engines' typed
//! [`ChatRequest`](super::ChatRequest) / [`CompletionRequest`](super::CompletionRequest).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;
use crate::json;

/// The generation fields both endpoints take: OpenAI's, plus llama.cpp's sampling extensions. A field left out
/// takes the model's (or thread's) parameter, else the engine's default. Unknown fields are ignored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenerationFields {
    /// 0 to 2; 0 always picks the most likely token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// 0 to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// 0 (or less) disables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<i64>,
    /// 0 to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_p: Option<f32>,
    /// A negative seed means a random one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// -2 to 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f32>,
    /// -2 to 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f32>,
    /// 0 to 10; 1 disables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_penalty: Option<f32>,
    /// How many recent tokens the penalties look at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_last_n: Option<i64>,
    /// At least 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// OpenAI's newer name for `max_tokens`; wins when both are given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// A string or an array of strings that end the completion (never part of the output).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Value>,
    /// Only 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
}

impl GenerationFields {
    /// Temperature 0: always the most likely token.
    pub fn greedy() -> Self {
        GenerationFields { temperature: Some(0.0), ..Default::default() }
    }

    /// These fields with `max_tokens` set.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }
}

/// The fields that set these sampling options (a Rust caller's shortcut; unset stays unset).
impl From<super::SamplingOptions> for GenerationFields {
    fn from(o: super::SamplingOptions) -> Self {
        let int = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        GenerationFields {
            temperature: o.temperature,
            top_p: o.top_p,
            top_k: o.top_k.map(int),
            min_p: o.min_p,
            seed: o.seed.and_then(|s| i64::try_from(s).ok()),
            presence_penalty: o.presence_penalty,
            frequency_penalty: o.frequency_penalty,
            repeat_penalty: o.repeat_penalty,
            repeat_last_n: o.repeat_last_n.map(int),
            ..Default::default()
        }
    }
}

/// One message of a chat request, as OpenAI's clients send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InputMessage {
    /// `system`, `developer` (read as `system`), `user`, `assistant` or `tool`.
    pub role: String,
    /// A string, an array of content parts (`{type: "text", text}`), or null (an assistant turn with tool calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Value>,
    /// The calls an assistant turn made, in OpenAI's shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Value>,
    /// For `tool` turns: the call this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl InputMessage {
    /// A plain text message.
    pub fn text(role: impl Into<String>, text: impl Into<String>) -> Self {
        InputMessage {
            role: role.into(),
            content: Some(Value::String(text.into())),
            tool_calls: None,
            tool_call_id: None,
            name: None,
        }
    }
}

/// A chat completion request (OpenAI's `POST /v1/chat/completions` body, less the transport's `stream`). Read one
/// from JSON with [`ChatCompletionRequest::from_json`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatCompletionRequest {
    /// A model's id (see the models API).
    pub model: String,
    /// Required; `None` only so that a missing list is named as such.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<Vec<InputMessage>>,
    #[serde(flatten)]
    pub fields: GenerationFields,
    /// OpenAI tool definitions, passed to the chat template (local) or the upstream (remote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Value>,
}

/// The fields of a chat request other than [`GenerationFields`] (read apart: serde's `flatten` loses the path of a
/// mistyped field).
#[derive(Deserialize)]
struct ChatHead {
    model: String,
    #[serde(default)]
    messages: Option<Vec<InputMessage>>,
    #[serde(default)]
    tools: Option<Value>,
}

#[derive(Deserialize)]
struct TextHead {
    model: String,
    #[serde(default)]
    prompt: Option<Value>,
}

impl ChatCompletionRequest {
    /// A client's JSON as a request, with an error naming the field at fault (`invalid_body`, `param`). Hosts
    /// read requests with this, never with serde directly.
    pub fn from_json(value: &Value) -> Result<Self> {
        let head: ChatHead = json::from_ref(value)?;
        let fields = json::from_ref(value)?;
        Ok(ChatCompletionRequest { model: head.model, messages: head.messages, fields, tools: head.tools })
    }

    /// A request for `model` with these messages and fields.
    pub fn new(model: impl Into<String>, messages: Vec<InputMessage>, fields: GenerationFields) -> Self {
        ChatCompletionRequest { model: model.into(), messages: Some(messages), fields, tools: None }
    }
}

/// A text completion request of a raw prompt, no chat template (OpenAI's `POST /v1/completions`). Read one from
/// JSON with [`TextCompletionRequest::from_json`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "typescript", derive(ts_rs::TS), ts(optional_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextCompletionRequest {
    pub model: String,
    /// A string, or an array of one string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<Value>,
    #[serde(flatten)]
    pub fields: GenerationFields,
}

impl TextCompletionRequest {
    /// A client's JSON as a request (see [`ChatCompletionRequest::from_json`]).
    pub fn from_json(value: &Value) -> Result<Self> {
        let head: TextHead = json::from_ref(value)?;
        let fields = json::from_ref(value)?;
        Ok(TextCompletionRequest { model: head.model, prompt: head.prompt, fields })
    }

    /// A request for `model` with this prompt and fields.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>, fields: GenerationFields) -> Self {
        TextCompletionRequest { model: model.into(), prompt: Some(Value::String(prompt.into())), fields }
    }
}
