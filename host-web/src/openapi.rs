//! The OpenAPI 3 document (`GET /openapi.json`, and `GET /v1/openapi.json` for API-key clients), built from
//! [`OPERATIONS`], one table of every route the router serves. Tests keep the table and the router equal: every
//! `.route(...)` in the sources is in the table, and every entry of the table answers from a handler (not the
//! UI fallback, not 405) with the access rule it documents.
//!
//! The schemas are generated (utoipa) from the types the routes send and take: the core's (its `openapi` feature)
//! and host-web's own; a test keeps the committed `host-web/openapi.json` equal to the document.

use axum::Json;
use jan_core::views::{self, openai};
use serde_json::{Map, Value, json};

use crate::auth::views as auth;
use crate::routes::registry::Routes;

/// Who may call a route (see `auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// `/v1`: a session cookie or an API key (`Authorization: Bearer`).
    Api,
    /// `/metrics`: a session cookie or an API key.
    Metrics,
    /// The UI and `/api`: a session cookie only.
    Session,
}

/// A request body.
#[derive(Debug, Clone, Copy)]
pub enum RequestBody {
    None,
    /// JSON of a schema in `components.schemas`; `required` when the route needs one.
    Json(&'static str, bool),
    /// Raw bytes (the model upload).
    Binary,
}

/// A success response.
#[derive(Debug, Clone, Copy)]
pub enum Reply {
    /// JSON of a schema in `components.schemas`.
    Json(&'static str),
    /// JSON, or with `stream: true` an SSE stream of chunks.
    JsonOrStream(&'static str, &'static str),
    /// Server-sent events of the schema named.
    Stream(&'static str),
    Html,
    Text,
    /// A redirect or an empty answer.
    Empty,
}

/// One route and method.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// Lowercase, as in OpenAPI: get, post, put, patch, delete.
    pub method: &'static str,
    /// axum's syntax, which is OpenAPI's: `/v1/models/{id}`.
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub body: RequestBody,
    pub status: u16,
    pub reply: Reply,
}

#[allow(clippy::too_many_arguments)] // one positional row per route keeps the table readable
const fn op(
    method: &'static str,
    path: &'static str,
    tag: &'static str,
    summary: &'static str,
    access: Access,
    body: RequestBody,
    status: u16,
    reply: Reply,
) -> Operation {
    Operation { method, path, tag, summary, access, body, status, reply }
}

use Access::{Api, Metrics, Public, Session};
use Reply::{Empty, Html, Json as Out, JsonOrStream, Stream, Text};
use RequestBody::{Binary, Json as Body, None as NoBody};

/// Every route of the server, one row each.
#[rustfmt::skip]
pub const OPERATIONS: &[Operation] = &[
    // OpenAI-compatible
    op("post", "/v1/chat/completions", "OpenAI", "Chat completion (SSE with `stream: true`); not saved as a thread", Api, Body("ChatCompletionBody", true), 200, JsonOrStream("ChatCompletion", "ChatCompletionChunk")),
    op("post", "/v1/completions", "OpenAI", "Text completion, no chat template (SSE with `stream: true`)", Api, Body("TextCompletionBody", true), 200, JsonOrStream("TextCompletion", "TextCompletion")),
    // Models
    op("get", "/v1/models", "Models", "The ready models (OpenAI's list; items are Jan's model.json with `owned_by`)", Api, NoBody, 200, Out("List_Model")),
    op("get", "/v1/models/{id}", "Models", "One model", Api, NoBody, 200, Out("Model")),
    op("delete", "/v1/models/{id}", "Models", "Delete a model and its files (a running download or loaded model is stopped first)", Api, NoBody, 200, Out("Deleted")),
    op("put", "/v1/models/{id}/start", "Models", "Load a model; answers when it is ready", Api, NoBody, 200, Out("ModelStateInfo")),
    op("put", "/v1/models/{id}/stop", "Models", "Unload a model", Api, NoBody, 200, Out("ModelStateInfo")),
    op("get", "/v1/models/download/{id}", "Models", "Start downloading a catalog model; progress arrives on /api/events (Jan's GET; from a browser only same-origin)", Api, NoBody, 202, Out("DownloadStarted")),
    op("post", "/v1/models/download/{id}", "Models", "Start downloading a catalog model (what the UI sends); progress arrives on /api/events", Api, NoBody, 202, Out("DownloadStarted")),
    op("post", "/v1/models/import", "Models", "Upload a .gguf as the raw body (no size limit) with ?file_name=x.gguf[&id=][&name=]", Api, Binary, 201, Out("Model")),
    op("get", "/v1/catalog", "Models", "The built-in catalog of recommended models, each with its status", Api, NoBody, 200, Out("List_Model")),
    // Threads and messages
    op("get", "/v1/threads", "Threads", "Every thread, most recently updated first", Api, NoBody, 200, Out("List_Thread")),
    op("post", "/v1/threads", "Threads", "Create a thread (every field optional)", Api, Body("NewThread", false), 201, Out("Thread")),
    op("get", "/v1/threads/{id}", "Threads", "One thread", Api, NoBody, 200, Out("Thread")),
    op("patch", "/v1/threads/{id}", "Threads", "Change a thread's title, model and overrides, instructions or metadata", Api, Body("ThreadUpdate", true), 200, Out("Thread")),
    op("delete", "/v1/threads/{id}", "Threads", "Delete a thread and its messages", Api, NoBody, 200, Out("Deleted")),
    op("get", "/v1/threads/{id}/messages", "Threads", "A thread's messages, oldest first", Api, NoBody, 200, Out("MessageList")),
    op("post", "/v1/threads/{id}/messages", "Threads", "Append a message (then POST /api/threads/{id}/reply for the assistant's answer)", Api, Body("NewMessage", true), 201, Out("Message")),
    op("get", "/v1/threads/{id}/messages/{message_id}", "Threads", "One message", Api, NoBody, 200, Out("Message")),
    op("patch", "/v1/threads/{id}/messages/{message_id}", "Threads", "Change a message's content, status or metadata", Api, Body("MessageUpdate", true), 200, Out("Message")),
    op("delete", "/v1/threads/{id}/messages/{message_id}", "Threads", "Delete a message", Api, NoBody, 200, Out("Deleted")),
    // Assistants
    op("get", "/v1/assistants", "Assistants", "Every assistant, the default `jan` first", Api, NoBody, 200, Out("List_Assistant")),
    op("post", "/v1/assistants", "Assistants", "Create an assistant", Api, Body("NewAssistant", true), 201, Out("Assistant")),
    op("get", "/v1/assistants/{id}", "Assistants", "One assistant", Api, NoBody, 200, Out("Assistant")),
    op("patch", "/v1/assistants/{id}", "Assistants", "Change an assistant", Api, Body("AssistantUpdate", true), 200, Out("Assistant")),
    op("delete", "/v1/assistants/{id}", "Assistants", "Delete an assistant (not the default `jan`: 403)", Api, NoBody, 200, Out("Deleted")),
    // The UI's API
    op("get", "/api/events", "UI", "The core's events as server-sent events (keep-alive comments every 15 s)", Session, NoBody, 200, Stream("JanEvent")),
    op("post", "/api/threads/{id}/reply", "UI", "Generate the assistant's reply to a thread (or with `continue` go on with its last one), streamed and saved; disconnecting stops it", Session, Body("ReplyOptions", false), 200, Stream("ReplyEvent")),
    op("get", "/api/system", "UI", "CPU, memory, GPUs, OS, loaded models and inference counters", Session, NoBody, 200, Out("SystemMonitor")),
    op("get", "/api/engines/{engine}", "UI", "A remote engine's URL and (masked) API key", Session, NoBody, 200, Out("EngineSettings")),
    op("put", "/api/engines/{engine}", "UI", "Set a remote engine's URL and API key (no `api_key`: unchanged)", Session, Body("EngineSettingsUpdate", true), 200, Out("EngineSettings")),
    op("get", "/api/downloads", "UI", "Downloads in flight with their latest progress", Session, NoBody, 200, Out("List_DownloadProgress")),
    op("delete", "/api/downloads/{id}", "UI", "Cancel a download (its partial files are removed)", Session, NoBody, 200, Out("DownloadCancelled")),
    // Login and API keys
    op("get", "/login", "Auth", "The login page", Public, NoBody, 200, Html),
    op("post", "/api/login", "Auth", "Log in: sets the session cookie (rate-limited per client)", Public, Body("Credentials", true), 200, Out("Done")),
    op("post", "/api/logout", "Auth", "Log out: ends the session", Session, NoBody, 200, Out("Done")),
    op("get", "/api/session", "Auth", "Whether a login is required and whether this request has a session", Public, NoBody, 200, Out("Session")),
    op("get", "/api/keys", "Auth", "The API keys (never the keys themselves)", Session, NoBody, 200, Out("List_ApiKey")),
    op("post", "/api/keys", "Auth", "Create an API key (the response is the only time it is shown)", Session, Body("NewApiKey", false), 201, Out("ApiKey")),
    op("delete", "/api/keys/{id}", "Auth", "Revoke an API key", Session, NoBody, 204, Empty),
    // Operations
    op("get", "/health", "Server", "Liveness: `ready`, or `loading` while a model loads (always 200)", Public, NoBody, 200, Out("Health")),
    op("get", "/metrics", "Server", "Prometheus metrics", Metrics, NoBody, 200, Text),
    op("get", "/openapi.json", "Server", "This document", Session, NoBody, 200, Out("OpenApi")),
    op("get", "/v1/openapi.json", "Server", "This document, for API-key clients", Api, NoBody, 200, Out("OpenApi")),
    op("get", "/", "UI", "The web UI (other paths outside /v1 and /api are its files or its client-side routes)", Session, NoBody, 200, Html),
];

pub fn routes() -> Routes {
    Routes::new().get("/openapi.json", serve).get("/v1/openapi.json", serve)
}

async fn serve() -> Json<Value> {
    Json(document())
}

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    let tags: Vec<Value> = ["OpenAI", "Models", "Threads", "Assistants", "UI", "Auth", "Server"]
        .iter()
        .map(|t| json!({"name": t}))
        .collect();
    for o in OPERATIONS {
        let entry = paths.entry(o.path.to_owned()).or_insert_with(|| json!({}));
        entry[o.method] = operation(o);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Jan server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Jan's API (models, threads, assistants), an OpenAI-compatible API and the web UI's API. \
                Errors are OpenAI's shape: {\"error\": {\"message\", \"type\", \"param\", \"code\"}}. `/v1` takes a \
                session cookie or an API key (Authorization: Bearer); `/api` a session cookie; with no credentials \
                configured the server is open on loopback only.",
        },
        "servers": [{"url": "/"}],
        "tags": tags,
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key (JAN_API_KEY or made in the UI)"},
                "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::COOKIE},
            },
            "responses": {
                "Error": {"description": "An error in OpenAI's shape",
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}},
            },
            "schemas": schemas(),
        },
    })
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn operation(o: &Operation) -> Value {
    let id: String = format!("{} {}", o.method, o.path)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    let mut out = json!({"tags": [o.tag], "summary": o.summary, "operationId": id});
    let params: Vec<Value> = o
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if !params.is_empty() {
        out["parameters"] = json!(params);
    }
    if o.path == "/v1/models/import" {
        out["parameters"] = json!(["file_name", "id", "name"].map(|name| json!({
            "name": name, "in": "query", "required": false, "schema": {"type": "string"},
        })));
    }
    match o.body {
        RequestBody::None => {}
        RequestBody::Json(schema, required) => {
            out["requestBody"] =
                json!({"required": required, "content": {"application/json": {"schema": schema_ref(schema)}}});
        }
        RequestBody::Binary => {
            out["requestBody"] = json!({"required": true,
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}});
        }
    }
    let content = match o.reply {
        Reply::Json(schema) => json!({"application/json": {"schema": schema_ref(schema)}}),
        Reply::JsonOrStream(schema, chunk) => json!({
            "application/json": {"schema": schema_ref(schema)},
            "text/event-stream": {"schema": {"type": "string", "description": format!(
                "`data: <{chunk}>` events, then `data: [DONE]`; an error after the stream started is a `data:` \
                 event with `error`")}},
        }),
        Reply::Stream(schema) => json!({"text/event-stream": {"schema": {"type": "string",
            "description": format!("`data: <{schema}>` events (JSON); keep-alive comments every 15 s")}}}),
        Reply::Html => json!({"text/html": {"schema": {"type": "string"}}}),
        Reply::Text => json!({"text/plain": {"schema": {"type": "string"}}}),
        Reply::Empty => Value::Null,
    };
    let mut success = json!({"description": "OK"});
    if !content.is_null() {
        success["content"] = content;
    }
    out["responses"] = json!({o.status.to_string(): success, "default": {"$ref": "#/components/responses/Error"}});
    out["security"] = match o.access {
        Access::Public => json!([]),
        Access::Api | Access::Metrics => json!([{"apiKey": []}, {"session": []}]),
        Access::Session => json!([{"session": []}]),
    };
    out
}

/// Every type a route takes or answers with, from the core's types and host-web's own (auth, health); utoipa
/// collects the types they hold.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(
    ErrorResponse,
    crate::routes::openai::ChatCompletionBody,
    crate::routes::openai::TextCompletionBody,
    openai::ChatCompletion,
    openai::ChatCompletionChunk,
    openai::TextCompletion,
    views::ModelView,
    views::List<views::ModelView>,
    jan_core::models::ModelUpdate,
    views::ModelStateInfo,
    views::DownloadStarted,
    views::DownloadCancelled,
    jan_core::events::DownloadProgress,
    views::List<jan_core::events::DownloadProgress>,
    views::Deleted,
    jan_core::threads::Thread,
    views::List<jan_core::threads::Thread>,
    jan_core::threads::NewThread,
    jan_core::threads::ThreadUpdate,
    jan_core::threads::Message,
    views::MessageList,
    jan_core::threads::NewMessage,
    jan_core::threads::MessageUpdate,
    jan_core::assistants::Assistant,
    views::List<jan_core::assistants::Assistant>,
    jan_core::assistants::NewAssistant,
    jan_core::assistants::AssistantUpdate,
    jan_core::Event,
    views::ReplyEvent,
    jan_core::inference::ReplyOptions,
    views::SystemView,
    views::EngineView,
    views::EngineSettingsUpdate,
    auth::Credentials,
    auth::Done,
    auth::Session,
    auth::NewApiKey,
    auth::ApiKey,
    views::List<auth::ApiKey>,
    crate::routes::health::Health,
    crate::routes::health::ModelDevice,
)))]
struct Schemas;

/// The components' schemas, as JSON.
fn schemas() -> Value {
    let doc = <Schemas as utoipa::OpenApi>::openapi();
    let schemas = doc.components.map(|c| c.schemas).unwrap_or_default();
    let mut out = serde_json::to_value(schemas).unwrap_or_else(|_| json!({}));
    // The document itself: any JSON.
    out["OpenApi"] = json!({"type": "object"});
    out
}

/// An error answer: `{"error": {message, type, param, code}}`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    pub error: jan_core::error::ErrorBody,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed `host-web/openapi.json` is the document the server serves (for review and for clients that
    /// generate code); `JAN_UPDATE_GENERATED=1 cargo test -p jan-server --lib openapi` rewrites it.
    #[test]
    fn the_committed_document_is_current() {
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let text = serde_json::to_string_pretty(&document()).unwrap_or_default() + "\n";
        if std::env::var_os("JAN_UPDATE_GENERATED").is_some_and(|v| v == "1") {
            std::fs::write(file, &text).unwrap_or_default();
            return;
        }
        let committed = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            committed == text,
            "host-web/openapi.json is not the served document; run `JAN_UPDATE_GENERATED=1 cargo test -p jan-server \
             --lib openapi` and commit it"
        );
    }

    #[test]
    fn every_reference_resolves_and_operations_are_unique() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            assert!(schemas.contains_key(&name), "missing schema {name}");
        }
        let mut seen = std::collections::HashSet::new();
        for o in OPERATIONS {
            assert!(seen.insert((o.method, o.path)), "{} {} twice", o.method, o.path);
        }
    }
}
