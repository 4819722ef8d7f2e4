//! Inference: Jan's inference plugin, done by the core itself. Local GGUF models run on candle behind a
//! scheduler; remote OpenAI-compatible engines stream through the same interface.

mod api;
pub mod cpu_kernels;
mod engine;
pub mod model;
pub mod remote;
pub mod sampling;
pub mod scheduler;
pub mod stream;
pub mod template;
pub mod tokenizer;
pub mod tool_calls;
pub mod types;

pub use api::{EngineSettings, InferenceApi, InferenceCounters, ThreadReply, sampling_from};
pub use engine::EngineStats;
pub use scheduler::{DeviceChoice, InferenceConfig, LoadedModel};
pub use stream::{CompletionSender, CompletionStream, channel};
pub use types::{
    ChatMessage, ChatRequest, Completion, CompletionRequest, FinishReason, FunctionCall, SamplingOptions,
    SamplingParams, StreamItem, Timings, ToolCall, Usage,
};
