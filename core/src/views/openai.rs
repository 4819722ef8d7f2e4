//! OpenAI's completion objects (`/v1/chat/completions`, `/v1/completions`), typed: the whole answer, and the
//! chunks of a stream. host-web sends them; their OpenAPI schemas come from these types.

use serde::Serialize;

use crate::inference::{Completion, FinishReason, Timings, ToolCall, Usage};

/// OpenAI's name for why a completion ended; a completion the server stopped (its model unloaded) reads `stop`.
pub fn finish_reason(reason: FinishReason) -> &'static str {
    match reason {
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::Stop | FinishReason::Cancelled => "stop",
    }
}

/// What every object of one completion carries: its id, creation time and model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionMeta {
    pub id: String,
    pub created: i64,
    pub model: String,
}

impl CompletionMeta {
    /// A new id (`chatcmpl-...` or `cmpl-...`) for a completion of `model` starting now.
    pub fn new(model: &str, chat: bool) -> Self {
        let prefix = if chat { "chatcmpl" } else { "cmpl" };
        let id = format!("{prefix}-{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
        CompletionMeta { id, created: crate::time::now_secs(), model: model.to_owned() }
    }
}

/// A chat completion, whole (`object: "chat.completion"`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatCompletion {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub model: String,
    pub system_fingerprint: Option<String>,
    pub choices: Vec<ChatChoice>,
    pub usage: Usage,
    /// llama.cpp's timings.
    pub timings: Timings,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatChoice {
    pub index: u32,
    pub message: AssistantMessage,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub logprobs: Option<serde_json::Value>,
    pub finish_reason: String,
}

/// The reply: its text, and the calls of the request's tools it made (`content: null` when it only called).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssistantMessage {
    pub role: String,
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
}

impl ChatCompletion {
    pub fn new(meta: &CompletionMeta, done: Completion) -> Self {
        let content = (done.tool_calls.is_empty() || !done.text.is_empty()).then_some(done.text);
        let message = AssistantMessage { role: "assistant".into(), content, tool_calls: done.tool_calls };
        let choice =
            ChatChoice { index: 0, message, logprobs: None, finish_reason: finish_reason(done.finish_reason).into() };
        ChatCompletion {
            id: meta.id.clone(),
            object: "chat.completion".into(),
            created: meta.created,
            model: meta.model.clone(),
            system_fingerprint: None,
            choices: vec![choice],
            usage: done.usage,
            timings: done.timings,
        }
    }
}

/// One chunk of a streamed chat completion (`object: "chat.completion.chunk"`): the role first, then text and
/// tool calls, then the finish reason with llama.cpp's timings, then (when asked) a chunk with only `usage`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChatCompletionChunk {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub model: String,
    pub system_fingerprint: Option<String>,
    pub choices: Vec<ChunkChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChunkChoice {
    pub index: u32,
    pub delta: ChunkDelta,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub logprobs: Option<serde_json::Value>,
    pub finish_reason: Option<String>,
}

/// What a chunk adds to the reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChunkDelta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Each call whole, in one chunk (OpenAI's clients join fragments by `index`; one fragment works as well).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCallDelta>,
}

/// A tool call in a chunk, with its position among the reply's calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ToolCallDelta {
    pub index: usize,
    #[serde(flatten)]
    pub call: ToolCall,
}

impl ChatCompletionChunk {
    fn with(meta: &CompletionMeta, choices: Vec<ChunkChoice>) -> Self {
        ChatCompletionChunk {
            id: meta.id.clone(),
            object: "chat.completion.chunk".into(),
            created: meta.created,
            model: meta.model.clone(),
            system_fingerprint: None,
            choices,
            usage: None,
            timings: None,
        }
    }

    fn delta(meta: &CompletionMeta, delta: ChunkDelta, finish: Option<&str>) -> Self {
        let choice = ChunkChoice { index: 0, delta, logprobs: None, finish_reason: finish.map(str::to_owned) };
        ChatCompletionChunk::with(meta, vec![choice])
    }

    /// The first chunk: the assistant's role, no text yet.
    pub fn role(meta: &CompletionMeta) -> Self {
        let delta = ChunkDelta { role: Some("assistant".into()), content: Some(String::new()), ..Default::default() };
        ChatCompletionChunk::delta(meta, delta, None)
    }

    pub fn text(meta: &CompletionMeta, text: String) -> Self {
        ChatCompletionChunk::delta(meta, ChunkDelta { content: Some(text), ..Default::default() }, None)
    }

    /// The `index`th tool call of the reply.
    pub fn tool_call(meta: &CompletionMeta, index: usize, call: ToolCall) -> Self {
        let delta = ChunkDelta { tool_calls: vec![ToolCallDelta { index, call }], ..Default::default() };
        ChatCompletionChunk::delta(meta, delta, None)
    }

    /// The last chunk of the reply: its finish reason and timings.
    pub fn finish(meta: &CompletionMeta, done: &Completion) -> Self {
        let mut chunk =
            ChatCompletionChunk::delta(meta, ChunkDelta::default(), Some(finish_reason(done.finish_reason)));
        chunk.timings = Some(done.timings);
        chunk
    }

    /// The usage chunk (`stream_options.include_usage`): no choices.
    pub fn usage(meta: &CompletionMeta, usage: Usage) -> Self {
        ChatCompletionChunk { usage: Some(usage), ..ChatCompletionChunk::with(meta, Vec::new()) }
    }
}

/// A text completion (`object: "text_completion"`), whole or one chunk of a stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextCompletion {
    pub id: String,
    pub object: String,
    pub created: i64,
    pub model: String,
    pub system_fingerprint: Option<String>,
    pub choices: Vec<TextChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timings: Option<Timings>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TextChoice {
    pub index: u32,
    pub text: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub logprobs: Option<serde_json::Value>,
    pub finish_reason: Option<String>,
}

impl TextCompletion {
    fn with(meta: &CompletionMeta, choices: Vec<TextChoice>) -> Self {
        TextCompletion {
            id: meta.id.clone(),
            object: "text_completion".into(),
            created: meta.created,
            model: meta.model.clone(),
            system_fingerprint: None,
            choices,
            usage: None,
            timings: None,
        }
    }

    fn choice(meta: &CompletionMeta, text: String, finish: Option<&str>) -> Self {
        let choice = TextChoice { index: 0, text, logprobs: None, finish_reason: finish.map(str::to_owned) };
        TextCompletion::with(meta, vec![choice])
    }

    /// The whole answer.
    pub fn new(meta: &CompletionMeta, done: Completion) -> Self {
        let reason = finish_reason(done.finish_reason);
        TextCompletion {
            usage: Some(done.usage),
            timings: Some(done.timings),
            ..TextCompletion::choice(meta, done.text, Some(reason))
        }
    }

    /// A chunk of text.
    pub fn text(meta: &CompletionMeta, text: String) -> Self {
        TextCompletion::choice(meta, text, None)
    }

    /// The last chunk: the finish reason and timings.
    pub fn finish(meta: &CompletionMeta, done: &Completion) -> Self {
        let chunk = TextCompletion::choice(meta, String::new(), Some(finish_reason(done.finish_reason)));
        TextCompletion { timings: Some(done.timings), ..chunk }
    }

    /// The usage chunk: no choices.
    pub fn usage(meta: &CompletionMeta, usage: Usage) -> Self {
        TextCompletion { usage: Some(usage), ..TextCompletion::with(meta, Vec::new()) }
    }
}
