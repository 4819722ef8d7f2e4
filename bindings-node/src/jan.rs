//! The `Jan` class: the core's facade, one async method per operation. Results are the same JSON objects that
//! host-web sends (`jan_core::views`), so the one UI reads both hosts alike; arguments are those objects too.

use std::path::PathBuf;

use bytes::Bytes;
use futures::StreamExt;
use jan_core::error::ErrorCode;
use jan_core::inference::{
    ChatCompletionRequest, CompletionStream, DeviceChoice, InferenceConfig, ReplyOptions, StreamItem,
    TextCompletionRequest,
};
use jan_core::models::{ImportMode, ImportRequest, ModelFile, ModelUpdate, UploadRequest};
use jan_core::threads::{NewThread, ThreadUpdate};
use jan_core::views::{self, EngineSettingsUpdate, ModelView, ReplyEvent};
use jan_core::{JanConfig, assistants};
use napi::Env;
use napi::bindgen_prelude::{PromiseRaw, Uint8Array};
use napi_derive::napi;
use serde_json::Value;

use crate::error::{Failure, spawn};
use crate::generation::{Callback, Generation, Item, Subscription};

/// How to open Jan.
#[napi(object)]
#[derive(Debug, Default)]
pub struct OpenOptions {
    /// The data folder. Default: `~/jan`, the desktop app's, so an existing Jan folder just works.
    pub data_folder: Option<String>,
    /// Where catalog downloads come from: a Hugging Face mirror. Default: `https://huggingface.co`.
    pub hub_url: Option<String>,
    /// Where models run: `auto`, `cpu`, `cuda` or `cuda:N`. Default: `auto` (a GPU when there is one).
    pub device: Option<String>,
    /// Requests that may wait per model before new ones are refused with `overloaded`. Default: 16.
    pub queue_size: Option<u32>,
    /// Requests each model generates at once (a model.json's `n_parallel` wins). Default: 16 on the CPU, 4 on a
    /// GPU, fewer when memory is short.
    pub parallel: Option<u32>,
    /// Seconds a consumer may leave its tokens unread before its generation is cancelled. Default: 60.
    pub stall_timeout_secs: Option<u32>,
}

/// A `.gguf` to import: a file on this machine (`path`), or its bytes (`data`, e.g. read by a page), not both.
#[napi(object)]
pub struct ImportOptions {
    /// The file on this machine.
    pub path: Option<String>,
    /// The file's bytes; the core stages them in the data folder (then `fileName` or `id` is needed).
    pub data: Option<Uint8Array>,
    /// The model's id. Default: a slug of the file name.
    pub id: Option<String>,
    /// The model's display name. Default: the GGUF's `general.name`, else the id.
    pub name: Option<String>,
    /// The file's name in the model's folder. Default: the original name.
    pub file_name: Option<String>,
    /// `true` moves the file instead of copying it. Default: `false`.
    pub move_file: Option<bool>,
}

impl std::fmt::Debug for ImportOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("path", &self.path)
            .field("data_bytes", &self.data.as_ref().map(|d| d.len()))
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Jan on one data folder.
#[napi]
#[derive(Debug)]
pub struct Jan {
    jan: jan_core::Jan,
}

type Json<'env> = napi::Result<PromiseRaw<'env, Value>>;

/// A JSON value from a serialisable core object.
fn json_of<T: serde::Serialize>(value: &T) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|e| Failure::new(ErrorCode::InternalError, format!("serialisation: {e}")))
}

#[napi]
impl Jan {
    /// Opens (and creates when missing) a data folder.
    #[napi(ts_return_type = "Promise<Jan>")]
    pub fn open(env: &Env, options: Option<OpenOptions>) -> napi::Result<PromiseRaw<'_, Jan>> {
        let options = options.unwrap_or_default();
        spawn(env, async move {
            let folder = options.data_folder.map(PathBuf::from).unwrap_or_else(JanConfig::default_data_folder);
            let mut inference = InferenceConfig::default();
            if let Some(device) = options.device {
                inference.device = device.parse::<DeviceChoice>().map_err(|e| Failure::invalid(e.to_string()))?;
            }
            if let Some(size) = options.queue_size {
                inference.queue_size = size as usize;
            }
            if let Some(slots) = options.parallel {
                inference.default_slots = Some((slots as usize).clamp(1, 64));
            }
            if let Some(secs) = options.stall_timeout_secs {
                inference.stall_timeout = std::time::Duration::from_secs(u64::from(secs.max(1)));
            }
            let mut config = JanConfig::new(folder).with_inference(inference);
            if let Some(url) = options.hub_url {
                config = config.with_hub_base_url(url);
            }
            Ok(Jan { jan: jan_core::Jan::open(config).await? })
        })
    }

    /// The data folder's absolute path.
    #[napi(getter)]
    pub fn data_folder(&self) -> String {
        self.jan.data_folder().display().to_string()
    }

    // Models.

    /// The models ready to run (all files present; remote models always).
    #[napi(ts_return_type = "Promise<Model[]>")]
    pub fn list_models<'env>(&self, env: &'env Env) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let loaded = jan.inference().loaded();
            json_of(
                &jan.models().list().await?.iter().map(|m| ModelView::of(m).with_loaded(&loaded)).collect::<Vec<_>>(),
            )
        })
    }

    #[napi(ts_return_type = "Promise<Model>")]
    pub fn get_model<'env>(&self, env: &'env Env, id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let model = jan.models().get(&id).await?;
            json_of(&ModelView::of(&model).with_loaded(&jan.inference().loaded()))
        })
    }

    /// Adds a model.json (a remote engine's model, usually).
    #[napi(ts_args_type = "model: Partial<Model> & { id: string }", ts_return_type = "Promise<Model>")]
    pub fn create_model<'env>(&self, env: &'env Env, model: Value) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let model: ModelFile = views::parse(model)?;
            json_of(&ModelView::of(&jan.models().create(model).await?))
        })
    }

    /// Changes a model.json: absent fields stay, `settings` and `parameters` merge key by key.
    #[napi(ts_args_type = "id: string, update: ModelUpdate", ts_return_type = "Promise<Model>")]
    pub fn update_model<'env>(&self, env: &'env Env, id: String, update: Value) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let update: ModelUpdate = views::parse(update)?;
            json_of(&ModelView::of(&jan.models().update(&id, update).await?))
        })
    }

    /// Deletes a model's folder (cancelling its download, unloading it).
    #[napi(ts_return_type = "Promise<Deleted>")]
    pub fn delete_model<'env>(&self, env: &'env Env, id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            jan.models().delete(&id).await?;
            json_of(&views::Deleted::model(&id))
        })
    }

    /// Imports a local `.gguf` (its model.json comes from the GGUF's metadata).
    #[napi(ts_return_type = "Promise<Model>")]
    pub fn import_model<'env>(&self, env: &'env Env, options: ImportOptions) -> Json<'env> {
        let jan = self.jan.clone();
        let (path, data) = (options.path.filter(|p| !p.is_empty()), options.data.map(|d| Bytes::from(d.to_vec())));
        spawn(env, async move {
            let model = match (path, data) {
                (Some(path), None) => {
                    let mode = if options.move_file.unwrap_or(false) { ImportMode::Move } else { ImportMode::Copy };
                    let request = ImportRequest {
                        path: PathBuf::from(path),
                        id: options.id,
                        name: options.name,
                        file_name: options.file_name,
                        mode,
                    };
                    jan.models().import(request).await?
                }
                (None, Some(data)) => {
                    let request = UploadRequest { file_name: options.file_name, id: options.id, name: options.name };
                    let body = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(data) });
                    jan.models().import_upload(request, body).await?
                }
                _ => return Err(Failure::invalid("importModel takes either a path or the data, not both or neither")),
            };
            json_of(&ModelView::of(&model))
        })
    }

    /// The built-in catalog, each entry with `status`: `downloaded`, `downloading` or `available`.
    #[napi(ts_return_type = "Promise<CatalogModel[]>")]
    pub fn catalog<'env>(&self, env: &'env Env) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.models().catalog_with_status().await?) })
    }

    /// Starts downloading a catalog model; progress, completion and failure come as events (`subscribe`).
    #[napi(ts_return_type = "Promise<DownloadStarted>")]
    pub fn download_model<'env>(&self, env: &'env Env, id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.models().start_download(&id).await?) })
    }

    /// The downloads in flight.
    #[napi(ts_return_type = "Promise<DownloadProgress[]>")]
    pub fn list_downloads<'env>(&self, env: &'env Env) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.downloads().list()) })
    }

    /// Cancels a download (its partial file is removed).
    #[napi(ts_return_type = "Promise<DownloadCancelled>")]
    pub fn cancel_download<'env>(&self, env: &'env Env, download_id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            jan.downloads().cancel(&download_id).await?;
            json_of(&views::DownloadCancelled::of(&download_id))
        })
    }

    /// Loads a model; settles when it is ready (progress comes as `model_state` events).
    #[napi(ts_return_type = "Promise<ModelStateInfo>")]
    pub fn start_model<'env>(&self, env: &'env Env, id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.inference().start(&id).await?) })
    }

    /// Unloads a model; one that is not loaded is already stopped.
    #[napi(ts_return_type = "Promise<ModelStateInfo>")]
    pub fn stop_model<'env>(&self, env: &'env Env, id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.inference().stop(&id).await?) })
    }

    // Threads and messages.

    /// The threads, most recently updated first.
    #[napi(ts_return_type = "Promise<Thread[]>")]
    pub fn list_threads<'env>(&self, env: &'env Env) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.threads().list().await?) })
    }

    #[napi(ts_args_type = "thread?: NewThread", ts_return_type = "Promise<Thread>")]
    pub fn create_thread<'env>(&self, env: &'env Env, thread: Option<Value>) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let new: NewThread = views::parse(thread.unwrap_or(Value::Null))?;
            json_of(&jan.threads().create(new).await?)
        })
    }

    #[napi(ts_return_type = "Promise<Thread>")]
    pub fn get_thread<'env>(&self, env: &'env Env, id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.threads().get(&id).await?) })
    }

    #[napi(ts_args_type = "id: string, update: ThreadUpdate", ts_return_type = "Promise<Thread>")]
    pub fn update_thread<'env>(&self, env: &'env Env, id: String, update: Value) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let update: ThreadUpdate = views::parse(update)?;
            json_of(&jan.threads().update(&id, update).await?)
        })
    }

    #[napi(ts_return_type = "Promise<Deleted>")]
    pub fn delete_thread<'env>(&self, env: &'env Env, id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            jan.threads().delete(&id).await?;
            json_of(&views::Deleted::thread(&id))
        })
    }

    #[napi(ts_return_type = "Promise<Message[]>")]
    pub fn list_messages<'env>(&self, env: &'env Env, thread_id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.threads().messages(&thread_id).await?) })
    }

    /// Appends a message; `content` may be a string, OpenAI's parts or Jan's.
    #[napi(ts_args_type = "threadId: string, message: NewMessage", ts_return_type = "Promise<Message>")]
    pub fn add_message<'env>(&self, env: &'env Env, thread_id: String, message: Value) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let new = views::new_message(message)?;
            json_of(&jan.threads().add_message(&thread_id, new).await?)
        })
    }

    #[napi(ts_return_type = "Promise<Message>")]
    pub fn get_message<'env>(&self, env: &'env Env, thread_id: String, message_id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.threads().message(&thread_id, &message_id).await?) })
    }

    #[napi(
        ts_args_type = "threadId: string, messageId: string, update: MessageUpdate",
        ts_return_type = "Promise<Message>"
    )]
    pub fn update_message<'env>(
        &self,
        env: &'env Env,
        thread_id: String,
        message_id: String,
        update: Value,
    ) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let update = views::message_update(update)?;
            json_of(&jan.threads().update_message(&thread_id, &message_id, update).await?)
        })
    }

    #[napi(ts_return_type = "Promise<Deleted>")]
    pub fn delete_message<'env>(&self, env: &'env Env, thread_id: String, message_id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            jan.threads().delete_message(&thread_id, &message_id).await?;
            json_of(&views::Deleted::message(&message_id))
        })
    }

    // Assistants.

    #[napi(ts_return_type = "Promise<Assistant[]>")]
    pub fn list_assistants<'env>(&self, env: &'env Env) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.assistants().list().await?) })
    }

    #[napi(ts_args_type = "assistant: NewAssistant", ts_return_type = "Promise<Assistant>")]
    pub fn create_assistant<'env>(&self, env: &'env Env, assistant: Value) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let new: assistants::NewAssistant = views::parse(assistant)?;
            json_of(&jan.assistants().create(new).await?)
        })
    }

    #[napi(ts_return_type = "Promise<Assistant>")]
    pub fn get_assistant<'env>(&self, env: &'env Env, id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.assistants().get(&id).await?) })
    }

    #[napi(ts_args_type = "id: string, update: AssistantUpdate", ts_return_type = "Promise<Assistant>")]
    pub fn update_assistant<'env>(&self, env: &'env Env, id: String, update: Value) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let update: assistants::AssistantUpdate = views::parse(update)?;
            json_of(&jan.assistants().update(&id, update).await?)
        })
    }

    #[napi(ts_return_type = "Promise<Deleted>")]
    pub fn delete_assistant<'env>(&self, env: &'env Env, id: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            jan.assistants().delete(&id).await?;
            json_of(&views::Deleted::assistant(&id))
        })
    }

    // System and engines.

    /// The system monitor: CPU, memory, GPUs, the loaded models and the inference counters.
    #[napi(ts_return_type = "Promise<SystemInfo>")]
    pub fn system<'env>(&self, env: &'env Env) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.system().monitor().await?) })
    }

    /// A remote engine's URL and whether a key is set (the key itself is never returned).
    #[napi(ts_return_type = "Promise<EngineSettings>")]
    pub fn get_engine<'env>(&self, env: &'env Env, engine: String) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move { json_of(&jan.inference().engine(&engine).await?) })
    }

    /// Sets a remote engine's URL; without `api_key` the key stays, `""` removes it.
    #[napi(ts_args_type = "engine: string, update: EngineSettingsUpdate", ts_return_type = "Promise<EngineSettings>")]
    pub fn set_engine<'env>(&self, env: &'env Env, engine: String, update: Value) -> Json<'env> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let update: EngineSettingsUpdate = views::parse(update)?;
            json_of(&jan.inference().set_engine(&engine, update).await?)
        })
    }

    // Inference.

    /// Generates the assistant's reply to a thread (its last message is usually the user's). `onEvent` gets the
    /// pending message, then each text delta, then `done` or `error`; `wait()` settles after the last one. The
    /// core saves the message as it ends (`stopped` after `stop()`). With `{continue: true}` it goes on with the
    /// thread's last reply: the `message` event carries its text so far, the deltas the new text.
    #[napi(
        ts_args_type = "threadId: string, onEvent: (event: ReplyEvent) => void, options?: ReplyOptions",
        ts_return_type = "Promise<Generation>"
    )]
    pub fn reply<'env>(
        &self,
        env: &'env Env,
        thread_id: String,
        on_event: Callback,
        options: Option<Value>,
    ) -> napi::Result<PromiseRaw<'env, Generation>> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let options: ReplyOptions = views::parse(options.unwrap_or(Value::Null))?;
            let reply = jan.inference().reply_with(&thread_id, options).await?;
            let stop = reply.stream.stop_handle();
            let message_id = reply.message.id.clone();
            let items = views::reply_events(jan, thread_id, reply).map(|event| {
                let value = serde_json::to_value(&event).unwrap_or(Value::Null);
                match event {
                    ReplyEvent::Error { error } => Item::End { last: Some(value), result: Err(error.into()) },
                    e if e.is_last() => Item::End { last: Some(value.clone()), result: Ok(value) },
                    _ => Item::Event(value),
                }
            });
            Ok(Generation::start(items, on_event, stop, Some(message_id)))
        })
    }

    /// A chat completion: OpenAI's request body (`model`, `messages`, `temperature`, `max_tokens`, `stop`,
    /// `tools`, ...), checked and prepared by the core exactly as host-web's `/v1/chat/completions` (a mistake, an
    /// unknown model or a prompt over the context rejects with the same `code`). `onDelta` gets the text as it
    /// is generated and `wait()` settles with `{text, tool_calls?, finish_reason, usage, timings}`.
    #[napi(
        ts_args_type = "request: ChatCompletionRequest, onDelta: (delta: string) => void",
        ts_return_type = "Promise<Generation>"
    )]
    pub fn chat<'env>(
        &self,
        env: &'env Env,
        request: Value,
        on_delta: Callback,
    ) -> napi::Result<PromiseRaw<'env, Generation>> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let request = ChatCompletionRequest::from_json(&request)?;
            let stream = jan.inference().chat(request).await?;
            Ok(completion(stream, on_delta))
        })
    }

    /// A text completion of a raw prompt (OpenAI's `/v1/completions` body); as `chat`.
    #[napi(
        ts_args_type = "request: TextCompletionRequest, onDelta: (delta: string) => void",
        ts_return_type = "Promise<Generation>"
    )]
    pub fn complete<'env>(
        &self,
        env: &'env Env,
        request: Value,
        on_delta: Callback,
    ) -> napi::Result<PromiseRaw<'env, Generation>> {
        let jan = self.jan.clone();
        spawn(env, async move {
            let request = TextCompletionRequest::from_json(&request)?;
            let stream = jan.inference().complete(request).await?;
            Ok(completion(stream, on_delta))
        })
    }

    /// Every event of the core from now on (downloads, model states, threads, message deltas) until `close()`.
    /// The subscription does not keep Node's event loop alive.
    #[napi(ts_args_type = "onEvent: (event: JanEvent) => void")]
    pub fn subscribe(&self, on_event: Callback<true>) -> Subscription {
        Subscription::start(self.jan.subscribe(), on_event)
    }
}

/// A completion stream as a [`Generation`]: deltas as strings, the end as the completion's JSON.
fn completion(stream: CompletionStream, on_delta: Callback) -> Generation {
    let stop = stream.stop_handle();
    let items = futures::stream::unfold(Some(stream), |stream| async move {
        let mut stream = stream?;
        let item = loop {
            break match stream.recv().await {
                Some(StreamItem::Delta(delta)) => return Some((Item::Event(Value::String(delta)), Some(stream))),
                // Tool calls are in the completion `wait()` settles with (`tool_calls`).
                Some(StreamItem::ToolCall(_)) => continue,
                Some(StreamItem::Done(done)) => Item::End { last: None, result: json_of(&done) },
                Some(StreamItem::Error(e)) => Item::End { last: None, result: Err(e.into()) },
                None => Item::End {
                    last: None,
                    result: Err(Failure::from(jan_core::Error::Cancelled("the completion".into()))),
                },
            };
        };
        Some((item, None))
    });
    Generation::start(items, on_delta, stop, None)
}
