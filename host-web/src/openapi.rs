//! The OpenAPI 3 document (`GET /openapi.json`, and `GET /v1/openapi.json` for API-key clients), built from
//! [`OPERATIONS`], one table of every route the router serves. Tests keep the table and the router equal: every
//! `.route(...)` in the sources is in the table, and every entry of the table answers from a handler (not the
//! UI fallback, not 405) with the access rule it documents.
//!
//! Written by hand rather than derived (utoipa): the request and response types are the core's, which knows
//! nothing of HTTP; the schemas below describe their JSON.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::state::AppState;

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
    op("post", "/v1/chat/completions", "OpenAI", "Chat completion (SSE with `stream: true`); not saved as a thread", Api, Body("ChatCompletionRequest", true), 200, JsonOrStream("ChatCompletion", "ChatCompletionChunk")),
    op("post", "/v1/completions", "OpenAI", "Text completion, no chat template (SSE with `stream: true`)", Api, Body("CompletionRequest", true), 200, JsonOrStream("TextCompletion", "TextCompletion")),
    // Models
    op("get", "/v1/models", "Models", "The ready models (OpenAI's list; items are Jan's model.json with `owned_by`)", Api, NoBody, 200, Out("ModelList")),
    op("get", "/v1/models/{id}", "Models", "One model", Api, NoBody, 200, Out("Model")),
    op("delete", "/v1/models/{id}", "Models", "Delete a model and its files (a running download or loaded model is stopped first)", Api, NoBody, 200, Out("Deleted")),
    op("put", "/v1/models/{id}/start", "Models", "Load a model; answers when it is ready", Api, NoBody, 200, Out("ModelState")),
    op("put", "/v1/models/{id}/stop", "Models", "Unload a model", Api, NoBody, 200, Out("ModelState")),
    op("get", "/v1/models/download/{id}", "Models", "Start downloading a catalog model; progress arrives on /api/events", Api, NoBody, 202, Out("DownloadStarted")),
    op("post", "/v1/models/import", "Models", "Upload a .gguf as the raw body (no size limit) with ?file_name=x.gguf[&id=][&name=]", Api, Binary, 201, Out("Model")),
    op("get", "/v1/catalog", "Models", "The built-in catalog of recommended models, each with its status", Api, NoBody, 200, Out("ModelList")),
    // Threads and messages
    op("get", "/v1/threads", "Threads", "Every thread, most recently updated first", Api, NoBody, 200, Out("ThreadList")),
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
    op("get", "/v1/assistants", "Assistants", "Every assistant, the default `jan` first", Api, NoBody, 200, Out("AssistantList")),
    op("post", "/v1/assistants", "Assistants", "Create an assistant", Api, Body("NewAssistant", true), 201, Out("Assistant")),
    op("get", "/v1/assistants/{id}", "Assistants", "One assistant", Api, NoBody, 200, Out("Assistant")),
    op("patch", "/v1/assistants/{id}", "Assistants", "Change an assistant", Api, Body("AssistantUpdate", true), 200, Out("Assistant")),
    op("delete", "/v1/assistants/{id}", "Assistants", "Delete an assistant (not the default `jan`: 403)", Api, NoBody, 200, Out("Deleted")),
    // The UI's API
    op("get", "/api/events", "UI", "The core's events as server-sent events (keep-alive comments every 15 s)", Session, NoBody, 200, Stream("Event")),
    op("post", "/api/threads/{id}/reply", "UI", "Generate the assistant's reply to a thread, streamed and saved; disconnecting stops it", Session, NoBody, 200, Stream("ReplyEvent")),
    op("get", "/api/system", "UI", "CPU, memory, GPUs, OS, loaded models and inference counters", Session, NoBody, 200, Out("SystemInfo")),
    op("get", "/api/engines/{engine}", "UI", "A remote engine's URL and (masked) API key", Session, NoBody, 200, Out("EngineSettings")),
    op("put", "/api/engines/{engine}", "UI", "Set a remote engine's URL and API key (no `api_key`: unchanged)", Session, Body("EngineSettingsUpdate", true), 200, Out("EngineSettings")),
    op("get", "/api/downloads", "UI", "Downloads in flight with their latest progress", Session, NoBody, 200, Out("DownloadList")),
    op("delete", "/api/downloads/{id}", "UI", "Cancel a download (its partial files are removed)", Session, NoBody, 200, Out("DownloadCancelled")),
    // Login and API keys
    op("get", "/login", "Auth", "The login page", Public, NoBody, 200, Html),
    op("post", "/api/login", "Auth", "Log in: sets the session cookie (rate-limited per client)", Public, Body("Credentials", true), 200, Out("Ok")),
    op("post", "/api/logout", "Auth", "Log out: ends the session", Session, NoBody, 200, Out("Ok")),
    op("get", "/api/session", "Auth", "Whether a login is required and whether this request has a session", Public, NoBody, 200, Out("Session")),
    op("get", "/api/keys", "Auth", "The API keys (never the keys themselves)", Session, NoBody, 200, Out("ApiKeyList")),
    op("post", "/api/keys", "Auth", "Create an API key (the response is the only time it is shown)", Session, Body("NewApiKey", false), 201, Out("ApiKey")),
    op("delete", "/api/keys/{id}", "Auth", "Revoke an API key", Session, NoBody, 204, Empty),
    // Operations
    op("get", "/health", "Server", "Liveness: `ready`, or `loading` while a model loads (always 200)", Public, NoBody, 200, Out("Health")),
    op("get", "/metrics", "Server", "Prometheus metrics", Metrics, NoBody, 200, Text),
    op("get", "/openapi.json", "Server", "This document", Session, NoBody, 200, Out("OpenApi")),
    op("get", "/v1/openapi.json", "Server", "This document, for API-key clients", Api, NoBody, 200, Out("OpenApi")),
    op("get", "/", "UI", "The web UI (other paths outside /v1 and /api are its files or its client-side routes)", Session, NoBody, 200, Html),
];

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(serve)).route("/v1/openapi.json", get(serve))
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
        "openapi": "3.0.3",
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
                          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
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

fn object(properties: Value, required: &[&str]) -> Value {
    let mut schema = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        schema["required"] = json!(required);
    }
    schema
}

fn list_of(item: &str) -> Value {
    object(
        json!({"object": {"type": "string", "enum": ["list"]}, "data": {"type": "array", "items": schema_ref(item)}}),
        &["object", "data"],
    )
}

fn schemas() -> Value {
    let string = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let number = json!({"type": "number"});
    let any_object = json!({"type": "object", "additionalProperties": true});
    let content_parts = json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "object", "properties": {
        "type": {"type": "string", "enum": ["text"]},
        "text": {"oneOf": [{"type": "string"}, {"type": "object", "properties": {"value": {"type": "string"}, "annotations": {"type": "array", "items": {}}}}]},
    }}}]});
    let sampling = json!({
        "model": string, "stream": {"type": "boolean"},
        "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
        "max_tokens": int, "max_completion_tokens": int,
        "temperature": {"type": "number", "minimum": 0, "maximum": 2}, "top_p": {"type": "number", "minimum": 0, "maximum": 1},
        "top_k": int, "min_p": {"type": "number", "minimum": 0, "maximum": 1}, "seed": int,
        "stop": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "presence_penalty": number, "frequency_penalty": number, "repeat_penalty": number, "repeat_last_n": int,
        "n": {"type": "integer", "enum": [1]},
    });
    let mut chat_request = object(sampling.clone(), &["model", "messages"]);
    chat_request["properties"]["messages"] = json!({"type": "array", "minItems": 1, "items": object(json!({
        "role": {"type": "string", "enum": ["system", "developer", "user", "assistant", "tool"]},
        "content": content_parts, "tool_calls": {"type": "array", "items": {}}, "tool_call_id": string, "name": string,
    }), &["role"])});
    chat_request["properties"]["tools"] = json!({"type": "array", "items": any_object});
    chat_request["description"] = json!(
        "Fields left out take the model's model.json parameters; what neither sets keeps llama.cpp's default on a \
         local model, and is not sent to a remote model's upstream (its own default applies). With `tools`, the \
         reply's tool calls come back in `message.tool_calls` / `delta.tool_calls`, finish reason `tool_calls`."
    );
    let mut completion_request = object(sampling, &["model", "prompt"]);
    completion_request["properties"]["prompt"] =
        json!({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 1}]});
    let usage = object(json!({"prompt_tokens": int, "completion_tokens": int, "total_tokens": int}), &[]);
    let timings = object(
        json!({"prompt_n": int, "cache_n": int, "prompt_ms": number, "prompt_per_second": number,
        "predicted_n": int, "predicted_ms": number, "predicted_per_second": number, "time_to_first_token_ms": number,
        "queued_ms": number}),
        &[],
    );
    let finish = json!({"type": "string", "enum": ["stop", "length", "tool_calls"], "nullable": true});
    let function = object(json!({"name": string, "arguments": {"type": "string", "description": "JSON text"}}), &[]);
    let tool_call = json!({"id": string, "type": {"type": "string", "enum": ["function"]}, "function": function});
    let mut tool_call_delta = tool_call.clone();
    tool_call_delta["index"] = int.clone();
    let completion_head = json!({"id": string, "object": string, "created": int, "model": string,
        "usage": {"$ref": "#/components/schemas/Usage"}, "timings": {"$ref": "#/components/schemas/Timings"}});
    let mut chat_completion = object(completion_head.clone(), &["id", "object", "created", "model", "choices"]);
    chat_completion["properties"]["choices"] = json!({"type": "array", "items": object(json!({"index": int,
        "message": object(json!({"role": string, "content": {"type": "string", "nullable": true},
            "tool_calls": {"type": "array", "items": object(tool_call, &[])}}), &[]),
        "finish_reason": finish}), &[])});
    let mut chunk = object(completion_head.clone(), &["id", "object", "created", "model", "choices"]);
    chunk["properties"]["choices"] = json!({"type": "array", "items": object(json!({"index": int,
        "delta": object(json!({"role": string, "content": string,
            "tool_calls": {"type": "array", "items": object(tool_call_delta, &[])}}), &[]),
        "finish_reason": finish}), &[])});
    let mut text_completion = object(completion_head, &["id", "object", "created", "model", "choices"]);
    text_completion["properties"]["choices"] = json!({"type": "array", "items": object(json!({"index": int,
        "text": string, "finish_reason": finish}), &[])});
    let model = json!({"type": "object", "additionalProperties": true, "required": ["id", "object", "created", "owned_by"],
        "description": "Jan's model.json (id, name, version, format, sources, settings, parameters, metadata, engine, ...) \
            with OpenAI's `object`, `created` and `owned_by`; catalog entries add `status`.",
        "properties": {"id": string, "object": {"type": "string", "enum": ["model"]}, "created": int, "owned_by": string,
            "name": string, "engine": string, "settings": any_object, "parameters": any_object, "metadata": any_object,
            "status": {"type": "string", "enum": ["downloaded", "downloading", "available"]}}});
    let thread_model =
        object(json!({"id": string, "settings": any_object, "parameters": any_object, "engine": string}), &["id"]);
    let thread = json!({"type": "object", "additionalProperties": true, "properties": {"id": string,
        "object": {"type": "string", "enum": ["thread"]}, "title": string, "created": int, "updated": int,
        "metadata": any_object, "assistants": {"type": "array", "items": object(json!({"assistant_id": string,
            "assistant_name": string, "model": thread_model, "instructions": string}), &["assistant_id"])}}});
    let message = json!({"type": "object", "additionalProperties": true, "properties": {"id": string,
        "object": {"type": "string", "enum": ["thread.message"]}, "thread_id": string, "assistant_id": string,
        "role": {"type": "string", "enum": ["system", "user", "assistant", "tool"]}, "content": content_parts,
        "status": {"type": "string", "enum": ["ready", "pending", "error", "stopped"]},
        "created": int, "updated": int, "metadata": any_object}});
    let assistant = json!({"type": "object", "additionalProperties": true, "properties": {"id": string,
        "object": {"type": "string", "enum": ["assistant"]}, "name": string, "description": string, "avatar": string,
        "model": string, "instructions": string, "created_at": int, "tools": {"type": "array", "items": any_object},
        "metadata": any_object}});
    let assistant_fields = json!({"name": string, "description": string, "avatar": string, "model": string,
        "instructions": string, "tools": {"type": "array", "items": any_object}, "metadata": any_object});
    let mut new_assistant = object(assistant_fields.clone(), &["name"]);
    new_assistant["properties"]["id"] = string.clone();
    let progress = object(
        json!({"download_id": string, "model_id": string, "file_name": string,
        "transferred": int, "total": {"type": "integer", "nullable": true}, "bytes_per_second": int}),
        &[],
    );
    let mut schemas = Map::new();
    schemas.insert(
        "Error".into(),
        object(
            json!({"error": object(json!({"message": string, "type": string,
            "param": {"type": "string", "nullable": true}, "code": string}), &["message", "type", "code"])}),
            &["error"],
        ),
    );
    schemas.insert("Usage".into(), usage);
    schemas.insert("Timings".into(), timings);
    schemas.insert("ChatCompletionRequest".into(), chat_request);
    schemas.insert("CompletionRequest".into(), completion_request);
    schemas.insert("ChatCompletion".into(), chat_completion);
    schemas.insert("ChatCompletionChunk".into(), chunk);
    schemas.insert("TextCompletion".into(), text_completion);
    schemas.insert("Model".into(), model);
    schemas.insert("ModelList".into(), list_of("Model"));
    schemas.insert("ModelState".into(), object(json!({"id": string, "object": string, "state": {"type": "string", "enum": ["ready", "stopped"]}, "message": string}), &[]));
    schemas.insert(
        "DownloadStarted".into(),
        object(json!({"id": string, "object": string, "model_id": string, "status": string, "message": string}), &[]),
    );
    schemas.insert("DownloadProgress".into(), progress);
    schemas.insert("DownloadList".into(), list_of("DownloadProgress"));
    schemas.insert(
        "DownloadCancelled".into(),
        object(json!({"id": string, "object": string, "cancelled": {"type": "boolean"}}), &[]),
    );
    schemas.insert(
        "Deleted".into(),
        object(json!({"id": string, "object": string, "deleted": {"type": "boolean"}}), &["id", "object", "deleted"]),
    );
    schemas.insert("Thread".into(), thread);
    schemas.insert("ThreadList".into(), list_of("Thread"));
    schemas.insert("NewThread".into(), object(json!({"title": string, "assistant_id": string, "model": thread_model, "instructions": string, "metadata": any_object}), &[]));
    schemas.insert(
        "ThreadUpdate".into(),
        object(json!({"title": string, "model": thread_model, "instructions": string, "metadata": any_object}), &[]),
    );
    schemas.insert("Message".into(), message);
    schemas.insert("MessageList".into(), list_of("Message"));
    schemas.insert(
        "NewMessage".into(),
        object(
            json!({"role": {"type": "string", "enum": ["system", "user", "assistant", "tool"]},
            "content": content_parts, "status": string, "assistant_id": string, "metadata": any_object}),
            &["role"],
        ),
    );
    schemas.insert(
        "MessageUpdate".into(),
        object(json!({"content": content_parts, "status": string, "metadata": any_object}), &[]),
    );
    schemas.insert("Assistant".into(), assistant);
    schemas.insert("AssistantList".into(), list_of("Assistant"));
    schemas.insert("NewAssistant".into(), new_assistant);
    schemas.insert("AssistantUpdate".into(), object(assistant_fields, &[]));
    schemas.insert("Event".into(), json!({"type": "object", "additionalProperties": true, "required": ["type"], "properties": {"type": {"type": "string", "enum": [
            "download_progress", "download_done", "download_failed", "model_updated", "model_deleted", "model_state",
            "thread_updated", "thread_deleted", "message_created", "message_updated", "message_delta", "lagged"]}}}));
    schemas.insert("ReplyEvent".into(), json!({"type": "object", "additionalProperties": true, "required": ["type"], "description":
            "`message` (the pending reply), `delta` ({delta}), then `done` ({finish_reason, usage, timings, message}) or `error` ({error})",
            "properties": {"type": {"type": "string", "enum": ["message", "delta", "done", "error"]}}}));
    schemas.insert("SystemInfo".into(), json!({"type": "object", "additionalProperties": true, "properties": {"cpu": any_object, "memory": any_object,
            "gpus": {"type": "array", "items": any_object}, "os": any_object, "loaded_models": {"type": "array", "items": any_object},
            "inference": any_object}}));
    schemas.insert("EngineSettings".into(), object(json!({"engine": string, "full_url": string, "api_key": {"type": "string", "description": "masked: at most the last 4 characters"}, "api_key_set": {"type": "boolean"}}), &[]));
    schemas
        .insert("EngineSettingsUpdate".into(), object(json!({"full_url": string, "api_key": string}), &["full_url"]));
    schemas.insert(
        "Credentials".into(),
        object(json!({"username": string, "password": string}), &["username", "password"]),
    );
    schemas.insert("Ok".into(), object(json!({"ok": {"type": "boolean"}}), &[]));
    schemas.insert(
        "Session".into(),
        object(json!({"login_required": {"type": "boolean"}, "authenticated": {"type": "boolean"}}), &[]),
    );
    schemas.insert("NewApiKey".into(), object(json!({"name": string}), &[]));
    schemas.insert("ApiKey".into(), object(json!({"id": string, "name": string, "created": int, "prefix": string, "key": {"type": "string", "description": "only in the answer to its creation"}}), &[]));
    schemas.insert("ApiKeyList".into(), list_of("ApiKey"));
    schemas.insert(
        "Health".into(),
        object(
            json!({"status": {"type": "string", "enum": ["ready", "loading"]},
                   "models_loaded": {"type": "array", "items": string},
                   "models_loading": {"type": "array", "items": string}}),
            &["status"],
        ),
    );
    schemas.insert("OpenApi".into(), any_object);
    Value::Object(schemas)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_resolves_and_operations_are_unique() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().cloned().unwrap_or_default();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            assert!(schemas.contains_key(&name), "missing schema {name}");
        }
        let mut seen = std::collections::HashSet::new();
        for o in OPERATIONS {
            assert!(seen.insert((o.method, o.path)), "{} {} twice", o.method, o.path);
        }
    }
}
