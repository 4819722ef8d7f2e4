//! The TypeScript declarations of every JSON object the hosts send and take, generated from the core's types
//! (ts-rs): bindings-node commits them as its `wire.d.ts` (the header of the addon's `index.d.ts`), and the UI
//! imports its data types from there. A test (`core/tests/it/generated.rs`) fails when the committed file differs.

use ts_rs::{Config, TS};

use crate::assistants::{Assistant, AssistantUpdate, NewAssistant};
use crate::error::{ErrorBody, ErrorCode};
use crate::events::{DownloadProgress, Event, ModelState};
use crate::inference::types::{Completion, FinishReason, FunctionCall, Timings, ToolCall, Usage};
use crate::inference::{
    ChatCompletionRequest, GenerationFields, InferenceCounters, InputMessage, LoadedModel, ReplyOptions,
    TextCompletionRequest,
};
use crate::models::{ModelMetadata, ModelParameters, ModelSettings, ModelSource, ModelUpdate};
use crate::system::{CpuInfo, GpuInfo, MemoryInfo, OsInfo};
use crate::threads::{
    Message, MessageContent, MessageStatus, MessageUpdate, NewMessage, NewThread, Role, TextContent, Thread,
    ThreadAssistant, ThreadModel, ThreadUpdate,
};
use crate::views::{
    CatalogStatus, Deleted, DownloadCancelled, DownloadStarted, EngineSettingsUpdate, EngineView, List, MessageList,
    ModelStateInfo, ModelView, ReplyEvent, SystemView,
};

const HEADER: &str = "\
// GENERATED from jan-core's types (core/src/wire_types.rs) by `JAN_UPDATE_GENERATED=1 cargo test -p jan-core
// --features typescript --test it generated`; do not edit. The JSON objects of Jan's API: the same from host-web
// over HTTP and from this addon, so one UI and any client read both alike. (This file is also the header of the
// generated index.d.ts.)
";

/// Any JSON value (ts-rs's name for `serde_json::Value`).
const JSON_VALUE: &str =
    "export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;";

/// One declaration, exported, with its doc comment.
fn export<T: TS + ?Sized>(cfg: &Config) -> String {
    let docs = T::docs().map(|d| format!("{}\n", d.trim_end())).unwrap_or_default();
    format!("{docs}export {}", T::decl(cfg))
}

/// The whole file.
pub fn declarations() -> String {
    let cfg = Config::default().with_large_int("number");
    let codes: Vec<String> = ErrorCode::ALL.iter().map(|c| format!("\"{c}\"")).collect();
    let mut out = vec![
        HEADER.to_owned(),
        JSON_VALUE.to_owned(),
        format!(
            "/** Every error code of the core and its hosts (their HTTP statuses: error-codes.json). */\nexport type \
             ErrorCode = {};",
            codes.join(" | ")
        ),
        export::<ErrorBody>(&cfg),
        // Models
        export::<ModelView>(&cfg),
        export::<ModelSource>(&cfg),
        export::<ModelSettings>(&cfg),
        export::<ModelParameters>(&cfg),
        export::<ModelMetadata>(&cfg),
        export::<CatalogStatus>(&cfg),
        "/** A catalog entry: a model with its status here. */\nexport type CatalogModel = Model & { status: \
         CatalogStatus };"
            .to_owned(),
        export::<ModelUpdate>(&cfg),
        export::<ModelStateInfo>(&cfg),
        export::<DownloadStarted>(&cfg),
        export::<DownloadCancelled>(&cfg),
        export::<DownloadProgress>(&cfg),
        // Threads and messages
        export::<Thread>(&cfg),
        export::<ThreadAssistant>(&cfg),
        export::<ThreadModel>(&cfg),
        export::<NewThread>(&cfg),
        export::<ThreadUpdate>(&cfg),
        export::<Role>(&cfg),
        export::<MessageStatus>(&cfg),
        export::<MessageContent>(&cfg),
        "/** A text part of a message's content. */\nexport type TextPart = ContentPart;".to_owned(),
        export::<TextContent>(&cfg),
        export::<Message>(&cfg),
        export::<NewMessage>(&cfg),
        export::<MessageUpdate>(&cfg),
        export::<MessageList>(&cfg),
        // Assistants
        export::<Assistant>(&cfg),
        export::<NewAssistant>(&cfg),
        export::<AssistantUpdate>(&cfg),
        // Common answers
        export::<Deleted>(&cfg),
        export::<List<()>>(&cfg),
        // System and engines
        export::<SystemView>(&cfg),
        export::<CpuInfo>(&cfg),
        export::<MemoryInfo>(&cfg),
        export::<GpuInfo>(&cfg),
        export::<OsInfo>(&cfg),
        export::<LoadedModel>(&cfg),
        export::<InferenceCounters>(&cfg),
        export::<EngineView>(&cfg),
        export::<EngineSettingsUpdate>(&cfg),
        // Events and streams
        export::<ModelState>(&cfg),
        export::<Event>(&cfg),
        export::<ReplyEvent>(&cfg),
        export::<ReplyOptions>(&cfg),
        // Generation
        export::<GenerationFields>(&cfg),
        export::<InputMessage>(&cfg),
        export::<ChatCompletionRequest>(&cfg),
        export::<TextCompletionRequest>(&cfg),
        export::<FinishReason>(&cfg),
        export::<Usage>(&cfg),
        export::<Timings>(&cfg),
        export::<ToolCall>(&cfg),
        export::<FunctionCall>(&cfg),
        export::<Completion>(&cfg),
    ];
    out.push(String::new());
    out.join("\n\n")
}
