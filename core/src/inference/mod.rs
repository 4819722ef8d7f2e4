//! Inference: Jan's inference plugin, done by the core itself. Local GGUF models run on candle behind a
//! scheduler; remote OpenAI-compatible engines stream through the same interface.

mod api;
pub mod cpu_kernels;
mod engine;
pub mod model;
mod outbox;
pub(crate) mod prepare;
mod prompt;
pub mod remote;
pub mod request;
pub mod sampling;
pub mod scheduler;
pub mod stream;
pub mod template;
mod thread_reply;
pub mod tokenizer;
pub mod tool_calls;
pub mod types;

pub use api::{EngineSettings, InferenceApi, InferenceCounters};

/// The remote engines in use, by engine name, with the SHA-256 of the URL and key each was made with.
pub(crate) type RemoteEngines = std::sync::Mutex<std::collections::HashMap<String, ([u8; 32], remote::RemoteEngine)>>;
pub use engine::EngineStats;
pub use request::{ChatCompletionRequest, GenerationFields, InputMessage, TextCompletionRequest};
pub use scheduler::{DeviceChoice, InferenceConfig, LoadedModel};
pub use stream::{CompletionSender, CompletionStream, channel};
pub use thread_reply::{ReplyOptions, ThreadReply};
pub use types::{
    ChatMessage, ChatRequest, Completion, CompletionRequest, FinishReason, FunctionCall, SamplingOptions,
    SamplingParams, StreamItem, Timings, ToolCall, Usage,
};
