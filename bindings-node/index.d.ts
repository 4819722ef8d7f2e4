// GENERATED from jan-core's types (core/src/wire_types.rs) by `JAN_UPDATE_GENERATED=1 cargo test -p jan-core
// --features typescript --test it generated`; do not edit. The JSON objects of Jan's API: the same from host-web
// over HTTP and from this addon, so one UI and any client read both alike. (This file is also the header of the
// generated index.d.ts.)


export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

/** Every error code of the core and its hosts (their HTTP statuses: error-codes.json). */
export type ErrorCode = "not_found" | "model_not_found" | "invalid_id" | "invalid_request" | "invalid_value" | "invalid_type" | "missing_field" | "unsupported_value" | "unsupported_content" | "invalid_json" | "invalid_body" | "empty_body" | "context_length_exceeded" | "invalid_gguf" | "unsupported" | "conflict" | "forbidden" | "overloaded" | "cancelled" | "upstream_error" | "network" | "http_status" | "checksum_mismatch" | "disk_full" | "corrupt_file" | "engine_error" | "io" | "request_too_large" | "method_not_allowed" | "unsupported_media_type" | "invalid_name" | "invalid_api_key" | "api_key_not_allowed" | "invalid_credentials" | "too_many_attempts" | "login_not_configured" | "cross_origin" | "host_not_allowed" | "timeout" | "unknown_method" | "internal_error";

/**
 * OpenAI's error object, as every host sends it: `{"message", "type", "param", "code"}` (host-web wraps it in
 * `{"error": ...}`; a thread reply's `error` event carries it; napi's `Error` has the same fields). The message of
 * an internal error is its public sentence.
 */
export type ErrorBody = { message: string, 
/**
 * OpenAI's error type (`invalid_request_error`, `rate_limit_error`, ...), fixed by the code.
 */
type: string, 
/**
 * The request field at fault, when there is one.
 */
param: string | null, code: ErrorCode, };

/**
 * A model as OpenAI's clients expect it (`id`, `object`, `created`, `owned_by`) with all of Jan's model.json.
 */
export type Model = { 
/**
 * The model's author, else `jan`.
 */
owned_by: string, 
/**
 * Catalog entries only.
 */
status?: CatalogStatus, 
/**
 * While the model is loaded: its device, the context of each of its slots, how many slots (requests at
 * once), its memory and its queue.
 */
loaded?: LoadedModel, 
/**
 * Always `"model"`.
 */
object: string, 
/**
 * String or number in Jan's files; kept as written.
 */
version?: JsonValue, 
/**
 * `"gguf"` for local models.
 */
format?: string, 
/**
 * Files to download, and their local names.
 */
sources?: Array<ModelSource>, 
/**
 * The older single-URL form of `sources`.
 */
source_url?: string, 
/**
 * Equals the folder name; filled from it when the file leaves it out.
 */
id: string, name: string, description?: string, 
/**
 * Unix time (seconds in Jan's catalog).
 */
created?: number, settings: ModelSettings, parameters: ModelParameters, metadata: ModelMetadata, 
/**
 * `"nitro"` (local llama.cpp in Jan; the core's own engine here), `"openai"`, ...
 */
engine: string, };

/**
 * One downloadable file of a model.
 */
export type ModelSource = { filename: string, url: string, 
/**
 * Expected digest (hex). Not in Jan's format; Jan ignores it, the core verifies downloads with it.
 */
sha256?: string, };

/**
 * Load-time settings (`settings` in model.json; a thread may override them).
 */
export type ModelSettings = { ctx_len?: number, 
/**
 * Layers to offload to the GPU (`-1`/large = all).
 */
ngl?: number, embedding?: boolean, n_parallel?: number, cpu_threads?: number, 
/**
 * Jan's template with `{system_message}` and `{prompt}`; when set it wins over the GGUF's chat template.
 */
prompt_template?: string, system_prompt?: string, ai_prompt?: string, user_prompt?: string, 
/**
 * The model file's name inside the model's folder.
 */
llama_model_path?: string, cont_batching?: boolean, };

/**
 * Sampling parameters (`parameters` in model.json; a thread may override them).
 */
export type ModelParameters = { temperature?: number, token_limit?: number, top_k?: number, top_p?: number, stream?: boolean, max_tokens?: number, stop?: Array<string>, frequency_penalty?: number, presence_penalty?: number, };

/**
 * Display facts (`metadata` in model.json).
 */
export type ModelMetadata = { author?: string, tags?: Array<string>, 
/**
 * Bytes.
 */
size?: number, cover?: string, };

/**
 * Where a catalog model stands on this machine.
 */
export type CatalogStatus = "downloaded" | "downloading" | "available";

/** A catalog entry: a model with its status here. */
export type CatalogModel = Model & { status: CatalogStatus };

/**
 * A change to a model.json; absent fields stay as they are, maps merge key by key.
 */
export type ModelUpdate = { name?: string, description?: string, engine?: string, settings?: { [key in string]: JsonValue }, parameters?: { [key in string]: JsonValue }, metadata?: { [key in string]: JsonValue }, };

/**
 * The answer to starting or stopping a model.
 */
export type ModelStateInfo = { id: string, 
/**
 * Always `model`.
 */
object: string, 
/**
 * `ready` or `stopped`.
 */
state: string, message: string, };

/**
 * The answer to starting a download; progress, completion and failure come as events.
 */
export type DownloadStarted = { 
/**
 * The download's id (to cancel it).
 */
id: string, 
/**
 * Always `download`.
 */
object: string, model_id: string, 
/**
 * Always `downloading`.
 */
status: string, message: string, };

/**
 * The answer to cancelling a download (its partial files are removed).
 */
export type DownloadCancelled = { id: string, 
/**
 * Always `download`.
 */
object: string, cancelled: boolean, };

/**
 * Progress of one download.
 */
export type DownloadProgress = { download_id: string, model_id: string, 
/**
 * The file being fetched now (a model may have several; progress is per file).
 */
file_name: string, 
/**
 * Bytes of this file on disk, bytes resumed from an earlier run included.
 */
transferred: number, 
/**
 * This file's size, when the server said.
 */
total: number | null, 
/**
 * Recent speed in bytes per second.
 */
bytes_per_second: number, };

/**
 * One `threads/<id>/thread.json`.
 */
export type Thread = { 
/**
 * Equals the folder name (`<assistant_id>_<unix seconds>` for threads made by the desktop app).
 */
id: string, object: string, title: string, 
/**
 * Milliseconds (Jan writes `Date.now()`); older files may hold seconds.
 */
created?: number, updated?: number, 
/**
 * Jan's free-form metadata; the desktop app keeps the last message's text in `lastMessage`.
 */
metadata?: { lastMessage?: string, [key: string]: unknown }, 
/**
 * The thread's assistant (Jan uses the first entry) with its model and overrides.
 */
assistants: Array<ThreadAssistant>, };

/**
 * The assistant of a thread, with the thread's model choice and overrides.
 */
export type ThreadAssistant = { assistant_id: string, assistant_name?: string, model?: ThreadModel, instructions?: string, tools?: Array<JsonValue>, };

/**
 * The model a thread uses and the thread's overrides of its settings and parameters.
 */
export type ThreadModel = { 
/**
 * A model id, or `"*"` for "the assistant's / any".
 */
id: string, settings?: ModelSettings, parameters?: ModelParameters, engine?: string, };

/**
 * What a new thread starts with; everything is optional.
 */
export type NewThread = { 
/**
 * Defaults to "New Thread", as in the desktop app.
 */
title?: string, 
/**
 * Defaults to the `jan` assistant.
 */
assistant_id?: string, 
/**
 * The model and its overrides; defaults to the assistant's model.
 */
model?: ThreadModel, 
/**
 * Defaults to the assistant's instructions.
 */
instructions?: string, metadata?: { [key in string]: JsonValue }, };

/**
 * A change to a thread; absent fields stay as they are.
 */
export type ThreadUpdate = { title?: string, 
/**
 * Replaces the thread's model choice and its overrides.
 */
model?: ThreadModel, instructions?: string, 
/**
 * Merged key by key into the thread's metadata.
 */
metadata?: { [key in string]: JsonValue }, };

/**
 * Who wrote a message.
 */
export type Role = "system" | "user" | "assistant" | "tool";

/**
 * Where a message is in its life: a reply is `pending` while it is generated, then `ready`, `stopped` or `error`.
 */
export type MessageStatus = "ready" | "pending" | "error" | "stopped";

/**
 * One part of a message's content (Jan writes `{type: "text", text: {value, annotations}}`).
 */
export type ContentPart = { type: string, text?: TextContent, };

/** A text part of a message's content. */
export type TextPart = ContentPart;

/**
 * The text of a content part.
 */
export type TextContent = { value: string, annotations: Array<JsonValue>, };

/**
 * One line of `messages.jsonl`.
 */
export type Message = { 
/**
 * A ULID: sortable by creation time.
 */
id: string, object: string, thread_id: string, assistant_id?: string, role: Role, content: Array<ContentPart>, status: MessageStatus, created?: number, updated?: number, 
/**
 * Free-form; a finished reply has its `usage` and `timings`, a failed one its `error`, one that called tools
 * its `tool_calls`.
 */
metadata?: { usage?: Usage, timings?: Timings, error?: { code: ErrorCode, message: string }, tool_calls?: Array<ToolCall>, [key: string]: unknown }, };

/**
 * A message to append.
 */
export type NewMessage = { role: Role, 
/**
 * A string, OpenAI's parts (`{type: "text", text: "..."}`) or Jan's; saved as Jan's.
 */
content: string | Array<ContentPart | { type: string, text: string }>, 
/**
 * Defaults to `ready`; a reply about to be generated starts as `pending`.
 */
status?: MessageStatus, assistant_id?: string, metadata?: { [key in string]: JsonValue }, };

/**
 * A change to a message; absent fields stay as they are.
 */
export type MessageUpdate = { 
/**
 * Replaces the content (a string or parts, as in [`NewMessage`]).
 */
content: string | Array<ContentPart | { type: string, text: string }>, 
/**
 * `pending` may become anything; a final status (`ready`, `stopped`, `error`) cannot change any more.
 */
status?: MessageStatus, 
/**
 * Merged key by key into the message's metadata.
 */
metadata?: { [key in string]: JsonValue }, };

/**
 * A thread's messages, oldest first, in OpenAI's list shape with its cursor fields (everything fits one page).
 */
export type MessageList = { 
/**
 * Always `list`.
 */
object: string, data: Array<Message>, first_id: string | null, last_id: string | null, has_more: boolean, };

/**
 * One `assistant.json`.
 */
export type Assistant = { avatar?: string, thread_location?: JsonValue, id: string, object: string, 
/**
 * Milliseconds (`Date.now()` in the desktop app).
 */
created_at?: number, name: string, description?: string, 
/**
 * A model id, or `"*"` for any downloaded model.
 */
model?: string, instructions?: string, tools?: Array<JsonValue>, file_ids?: Array<string>, metadata?: { [key in string]: JsonValue }, };

/**
 * What a new assistant starts with.
 */
export type NewAssistant = { 
/**
 * Defaults to a new ULID.
 */
id?: string, name: string, description?: string, avatar?: string, 
/**
 * Defaults to `"*"`.
 */
model?: string, instructions?: string, tools?: Array<JsonValue>, metadata?: { [key in string]: JsonValue }, };

/**
 * A change to an assistant; absent fields stay as they are.
 */
export type AssistantUpdate = { name?: string, description?: string, avatar?: string, model?: string, instructions?: string, tools?: Array<JsonValue>, 
/**
 * Merged key by key.
 */
metadata?: { [key in string]: JsonValue }, };

/**
 * OpenAI's answer to a delete: the id, what was deleted, `deleted: true`.
 */
export type Deleted = { id: string, 
/**
 * `model`, `thread.deleted`, `thread.message.deleted` or `assistant.deleted`, as OpenAI names them.
 */
object: string, deleted: boolean, };

/**
 * OpenAI's list shape, `{"object": "list", "data": [...]}`.
 */
export type List<T> = { 
/**
 * Always `list`.
 */
object: string, data: Array<T>, };

/**
 * The system monitor: the machine, the loaded models and the inference counters.
 */
export type SystemInfo = { loaded_models: Array<LoadedModel>, inference: InferenceCounters, cpu: CpuInfo, memory: MemoryInfo, 
/**
 * Empty when there is no NVIDIA driver.
 */
gpus: Array<GpuInfo>, os: OsInfo, };

export type CpuInfo = { model: string, 
/**
 * Logical cores (what inference threads are counted in).
 */
cores: number, physical_cores: number | null, 
/**
 * Whole-machine usage over the last interval, 0 to 100.
 */
usage_percent: number, arch: string, };

export type MemoryInfo = { total_bytes: number, used_bytes: number, };

export type GpuInfo = { index: number, name: string, vram_total_bytes: number, vram_used_bytes: number, 
/**
 * GPU core utilisation, 0 to 100, when the driver reports it.
 */
utilization_percent: number | null, };

export type OsInfo = { name: string, version: string, kernel: string, };

/**
 * A model that is loaded, as reported to hosts.
 */
export type LoadedModel = { model_id: string, architecture: string, 
/**
 * `cpu` or `cuda:N`.
 */
device: string, context: number, slots: number, 
/**
 * Weights plus KV caches.
 */
memory_bytes: number, queued: number, active: number, };

/**
 * Totals over loaded models.
 */
export type InferenceCounters = { queued: number, active: number, prompt_tokens: number, generated_tokens: number, cached_tokens: number, };

/**
 * A remote engine's settings as clients see them: the key is never sent back in full.
 */
export type EngineSettings = { engine: string, full_url: string, 
/**
 * Masked: at most the last 4 characters (see [`mask_key`]).
 */
api_key: string, api_key_set: boolean, };

/**
 * A change to a remote engine's settings.
 */
export type EngineSettingsUpdate = { 
/**
 * The chat completions URL or the API's base URL (http or https).
 */
full_url: string, 
/**
 * Left out: the key stays as it is (clients never have it); `""` removes it.
 */
api_key?: string, };

/**
 * Runtime state of a model in an engine.
 */
export type ModelState = { "state": "loading", progress: number, } | { "state": "ready" } | { "state": "failed", code: ErrorCode, message: string, } | { "state": "stopped" };

/**
 * Something the UI may want to show.
 */
export type JanEvent = { "type": "download_progress" } & DownloadProgress | { "type": "download_done", download_id: string, model_id: string, } | { "type": "download_failed", download_id: string, model_id: string, code: ErrorCode, message: string, } | { "type": "model_updated", model_id: string, } | { "type": "model_deleted", model_id: string, } | { "type": "model_state", model_id: string, state: ModelState, } | { "type": "thread_updated", thread: Thread, } | { "type": "thread_deleted", thread_id: string, } | { "type": "message_created", message: Message, } | { "type": "message_updated", message: Message, } | { "type": "lagged", missed: number, };

/**
 * One event of a thread's reply, in order: `message` (the pending assistant message), `delta`s, then exactly one
 * `done` or `error`. `done` is the reply's outcome as both hosts' clients get it (host-web's last SSE event,
 * napi's `wait()`): how it ended, whether it was stopped, the message as saved, usage and timings.
 */
export type ReplyEvent = { "type": "message", message: Message, } | { "type": "delta", delta: string, } | { "type": "done", finish_reason: FinishReason, 
/**
 * The user (or the client going away) stopped it: the message is saved `stopped`.
 */
stopped: boolean, message_id: string, usage: Usage, timings: Timings, 
/**
 * The message as saved.
 */
message: Message | null, } | { "type": "error", error: ErrorBody, };

/**
 * How to reply in a thread.
 */
export type ReplyOptions = { 
/**
 * Continue the thread's last message, a reply that ended early (cut at max tokens, stopped or interrupted),
 * instead of writing a new one: the model writes on from its last token and the text is appended to it.
 */
continue: boolean, };

/**
 * The generation fields both endpoints take: OpenAI's, plus llama.cpp's sampling extensions. A field left out
 * takes the model's (or thread's) parameter, else the engine's default. Unknown fields are ignored.
 */
export type GenerationFields = { 
/**
 * 0 to 2; 0 always picks the most likely token.
 */
temperature?: number, 
/**
 * 0 to 1.
 */
top_p?: number, 
/**
 * 0 (or less) disables.
 */
top_k?: number, 
/**
 * 0 to 1.
 */
min_p?: number, 
/**
 * A negative seed means a random one.
 */
seed?: number, 
/**
 * -2 to 2.
 */
presence_penalty?: number, 
/**
 * -2 to 2.
 */
frequency_penalty?: number, 
/**
 * 0 to 10; 1 disables.
 */
repeat_penalty?: number, 
/**
 * How many recent tokens the penalties look at.
 */
repeat_last_n?: number, 
/**
 * At least 1.
 */
max_tokens?: number, 
/**
 * OpenAI's newer name for `max_tokens`; wins when both are given.
 */
max_completion_tokens?: number, 
/**
 * A string or an array of strings that end the completion (never part of the output).
 */
stop?: JsonValue, 
/**
 * Only 1.
 */
n?: number, };

/**
 * One message of a chat request, as OpenAI's clients send it.
 */
export type InputMessage = { 
/**
 * `system`, `developer` (read as `system`), `user`, `assistant` or `tool`.
 */
role: string, 
/**
 * A string, an array of content parts (`{type: "text", text}`), or null (an assistant turn with tool calls).
 */
content?: JsonValue, 
/**
 * The calls an assistant turn made, in OpenAI's shape.
 */
tool_calls?: JsonValue, 
/**
 * For `tool` turns: the call this answers.
 */
tool_call_id?: string, name?: string, };

/**
 * A chat completion request (OpenAI's `POST /v1/chat/completions` body, less the transport's `stream`). Read one
 * from JSON with [`ChatCompletionRequest::from_json`].
 */
export type ChatCompletionRequest = { 
/**
 * A model's id (see the models API).
 */
model: string, 
/**
 * Required; `None` only so that a missing list is named as such.
 */
messages?: Array<InputMessage>, 
/**
 * OpenAI tool definitions, passed to the chat template (local) or the upstream (remote).
 */
tools?: JsonValue, 
/**
 * 0 to 2; 0 always picks the most likely token.
 */
temperature?: number, 
/**
 * 0 to 1.
 */
top_p?: number, 
/**
 * 0 (or less) disables.
 */
top_k?: number, 
/**
 * 0 to 1.
 */
min_p?: number, 
/**
 * A negative seed means a random one.
 */
seed?: number, 
/**
 * -2 to 2.
 */
presence_penalty?: number, 
/**
 * -2 to 2.
 */
frequency_penalty?: number, 
/**
 * 0 to 10; 1 disables.
 */
repeat_penalty?: number, 
/**
 * How many recent tokens the penalties look at.
 */
repeat_last_n?: number, 
/**
 * At least 1.
 */
max_tokens?: number, 
/**
 * OpenAI's newer name for `max_tokens`; wins when both are given.
 */
max_completion_tokens?: number, 
/**
 * A string or an array of strings that end the completion (never part of the output).
 */
stop?: JsonValue, 
/**
 * Only 1.
 */
n?: number, };

/**
 * A text completion request of a raw prompt, no chat template (OpenAI's `POST /v1/completions`). Read one from
 * JSON with [`TextCompletionRequest::from_json`].
 */
export type TextCompletionRequest = { model: string, 
/**
 * A string, or an array of one string.
 */
prompt?: JsonValue, 
/**
 * 0 to 2; 0 always picks the most likely token.
 */
temperature?: number, 
/**
 * 0 to 1.
 */
top_p?: number, 
/**
 * 0 (or less) disables.
 */
top_k?: number, 
/**
 * 0 to 1.
 */
min_p?: number, 
/**
 * A negative seed means a random one.
 */
seed?: number, 
/**
 * -2 to 2.
 */
presence_penalty?: number, 
/**
 * -2 to 2.
 */
frequency_penalty?: number, 
/**
 * 0 to 10; 1 disables.
 */
repeat_penalty?: number, 
/**
 * How many recent tokens the penalties look at.
 */
repeat_last_n?: number, 
/**
 * At least 1.
 */
max_tokens?: number, 
/**
 * OpenAI's newer name for `max_tokens`; wins when both are given.
 */
max_completion_tokens?: number, 
/**
 * A string or an array of strings that end the completion (never part of the output).
 */
stop?: JsonValue, 
/**
 * Only 1.
 */
n?: number, };

/**
 * Why a completion ended.
 */
export type FinishReason = "stop" | "length" | "cancelled" | "tool_calls";

/**
 * Token counts, as OpenAI reports them.
 */
export type Usage = { prompt_tokens: number, completion_tokens: number, total_tokens: number, };

/**
 * Where the time went, as llama.cpp's server reports it (`timings`).
 */
export type Timings = { 
/**
 * Prompt tokens actually processed (the rest came from the KV cache).
 */
prompt_n: number, 
/**
 * Prompt tokens reused from the KV cache of an earlier request.
 */
cache_n: number, prompt_ms: number, prompt_per_second: number, predicted_n: number, predicted_ms: number, predicted_per_second: number, 
/**
 * From the request reaching the engine to its first output token.
 */
time_to_first_token_ms: number, 
/**
 * Time spent waiting in the queue before the engine took the request.
 */
queued_ms: number, };

/**
 * A call of one of the request's tools, in OpenAI's shape: `{"id", "type": "function", "function": {"name",
 * "arguments"}}`.
 */
export type ToolCall = { 
/**
 * `call_<random>` when the model gave none.
 */
id: string, 
/**
 * Always `function`.
 */
type: string, function: FunctionCall, };

/**
 * Which function a [`ToolCall`] calls, and with what.
 */
export type FunctionCall = { name: string, 
/**
 * The arguments as JSON text, as OpenAI sends them (`{"city":"Paris"}`); not checked against the tool's schema.
 */
arguments: string, };

/**
 * The end of a completion.
 */
export type Completion = { 
/**
 * All generated text (stop strings and tool-call markup excluded).
 */
text: string, 
/**
 * The calls of the request's tools the turn made, in order (finish reason `tool_calls`).
 */
tool_calls: Array<ToolCall>, finish_reason: FinishReason, usage: Usage, timings: Timings, };


/**
 * Which binding artifact the generated loader actually loaded: `'native'` for
 * a native addon, otherwise the `platformArchABI` of the WASI flavor. Every
 * flavor napi-rs can build is listed, because `NAPI_RS_NATIVE_LIBRARY_PATH`
 * can point the loader at a WASI artifact this package does not build itself.
 */
export declare const __napiBindingTarget: 'native' | 'wasm32-wasi' | 'wasm32-wasip1'

/**
 * A generation under way: its events reach the callback given when it started.
 * (No `Debug`: it holds a JS callback's channel.)
 */
export declare class Generation {
  /** The assistant message this reply writes (thread replies only). */
  get messageId(): string | null
  /** Stops the generation; it then ends normally (a thread reply is saved as `stopped`). */
  stop(): void
  /**
   * Settles when the generation has ended and its last event was delivered: with the result (a completion's
   * text, finish reason, usage and timings; a reply's `done` event), or rejects with the core's error. Only the
   * first call waits; later calls reject with `invalid_request`.
   */
  wait(): Promise<any>
}

/** Jan on one data folder. */
export declare class Jan {
  /** Opens (and creates when missing) a data folder. */
  static open(options?: OpenOptions | undefined | null): Promise<Jan>
  /** The data folder's absolute path. */
  get dataFolder(): string
  /** The models ready to run (all files present; remote models always). */
  listModels(): Promise<Model[]>
  getModel(id: string): Promise<Model>
  /** Adds a model.json (a remote engine's model, usually). */
  createModel(model: Partial<Model> & { id: string }): Promise<Model>
  /** Changes a model.json: absent fields stay, `settings` and `parameters` merge key by key. */
  updateModel(id: string, update: ModelUpdate): Promise<Model>
  /** Deletes a model's folder (cancelling its download, unloading it). */
  deleteModel(id: string): Promise<Deleted>
  /** Imports a local `.gguf` (its model.json comes from the GGUF's metadata). */
  importModel(options: ImportOptions): Promise<Model>
  /** The built-in catalog, each entry with `status`: `downloaded`, `downloading` or `available`. */
  catalog(): Promise<CatalogModel[]>
  /** Starts downloading a catalog model; progress, completion and failure come as events (`subscribe`). */
  downloadModel(id: string): Promise<DownloadStarted>
  /** The downloads in flight. */
  listDownloads(): Promise<DownloadProgress[]>
  /** Cancels a download (its partial file is removed). */
  cancelDownload(downloadId: string): Promise<DownloadCancelled>
  /** Loads a model; settles when it is ready (progress comes as `model_state` events). */
  startModel(id: string): Promise<ModelStateInfo>
  /** Unloads a model; one that is not loaded is already stopped. */
  stopModel(id: string): Promise<ModelStateInfo>
  /** The threads, most recently updated first. */
  listThreads(): Promise<Thread[]>
  createThread(thread?: NewThread): Promise<Thread>
  getThread(id: string): Promise<Thread>
  updateThread(id: string, update: ThreadUpdate): Promise<Thread>
  deleteThread(id: string): Promise<Deleted>
  listMessages(threadId: string): Promise<Message[]>
  /** Appends a message; `content` may be a string, OpenAI's parts or Jan's. */
  addMessage(threadId: string, message: NewMessage): Promise<Message>
  getMessage(threadId: string, messageId: string): Promise<Message>
  updateMessage(threadId: string, messageId: string, update: MessageUpdate): Promise<Message>
  deleteMessage(threadId: string, messageId: string): Promise<Deleted>
  listAssistants(): Promise<Assistant[]>
  createAssistant(assistant: NewAssistant): Promise<Assistant>
  getAssistant(id: string): Promise<Assistant>
  updateAssistant(id: string, update: AssistantUpdate): Promise<Assistant>
  deleteAssistant(id: string): Promise<Deleted>
  /** The system monitor: CPU, memory, GPUs, the loaded models and the inference counters. */
  system(): Promise<SystemInfo>
  /** A remote engine's URL and whether a key is set (the key itself is never returned). */
  getEngine(engine: string): Promise<EngineSettings>
  /** Sets a remote engine's URL; without `api_key` the key stays, `""` removes it. */
  setEngine(engine: string, update: EngineSettingsUpdate): Promise<EngineSettings>
  /**
   * Generates the assistant's reply to a thread (its last message is usually the user's). `onEvent` gets the
   * pending message, then each text delta, then `done` or `error`; `wait()` settles after the last one. The
   * core saves the message as it ends (`stopped` after `stop()`). With `{continue: true}` it goes on with the
   * thread's last reply: the `message` event carries its text so far, the deltas the new text.
   */
  reply(threadId: string, onEvent: (event: ReplyEvent) => void, options?: ReplyOptions): Promise<Generation>
  /**
   * A chat completion: OpenAI's request body (`model`, `messages`, `temperature`, `max_tokens`, `stop`,
   * `tools`, ...), checked and prepared by the core exactly as host-web's `/v1/chat/completions` (a mistake, an
   * unknown model or a prompt over the context rejects with the same `code`). `onDelta` gets the text as it
   * is generated and `wait()` settles with `{text, tool_calls?, finish_reason, usage, timings}`.
   */
  chat(request: ChatCompletionRequest, onDelta: (delta: string) => void): Promise<Generation>
  /** A text completion of a raw prompt (OpenAI's `/v1/completions` body); as `chat`. */
  complete(request: TextCompletionRequest, onDelta: (delta: string) => void): Promise<Generation>
  /**
   * Every event of the core from now on (downloads, model states, threads, message deltas) until `close()`.
   * The subscription does not keep Node's event loop alive.
   */
  subscribe(onEvent: (event: JanEvent) => void): Subscription
}

/** The core's events, forwarded to a callback until `close()`. */
export declare class Subscription {
  /** Stops forwarding events; calling it again does nothing. */
  close(): void
}

/** A `.gguf` to import: a file on this machine (`path`), or its bytes (`data`, e.g. read by a page), not both. */
export interface ImportOptions {
  /** The file on this machine. */
  path?: string
  /** The file's bytes; the core stages them in the data folder (then `fileName` or `id` is needed). */
  data?: Uint8Array
  /** The model's id. Default: a slug of the file name. */
  id?: string
  /** The model's display name. Default: the GGUF's `general.name`, else the id. */
  name?: string
  /** The file's name in the model's folder. Default: the original name. */
  fileName?: string
  /** `true` moves the file instead of copying it. Default: `false`. */
  moveFile?: boolean
}

/** How to open Jan. */
export interface OpenOptions {
  /** The data folder. Default: `~/jan`, the desktop app's, so an existing Jan folder just works. */
  dataFolder?: string
  /** Where catalog downloads come from: a Hugging Face mirror. Default: `https://huggingface.co`. */
  hubUrl?: string
  /** Where models run: `auto`, `cpu`, `cuda` or `cuda:N`. Default: `auto` (a GPU when there is one). */
  device?: string
  /** Requests that may wait per model before new ones are refused with `overloaded`. Default: 16. */
  queueSize?: number
  /**
   * Requests each model generates at once (a model.json's `n_parallel` wins). Default: 16 on the CPU, 4 on a
   * GPU, fewer when memory is short.
   */
  parallel?: number
  /** Seconds a consumer may leave its tokens unread before its generation is cancelled. Default: 60. */
  stallTimeoutSecs?: number
}
