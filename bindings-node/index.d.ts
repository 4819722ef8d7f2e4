// The JSON objects of Jan's API, as the core's views (`jan_core::views`) produce them: the same from host-web over
// HTTP and from this addon, so one UI and any client read both alike. Only the fields clients usually read are
// typed; the rest pass through untouched. (This file is also the header of the generated index.d.ts.)
//
// The shapes follow Jan's data folder (model.json, thread.json, messages.jsonl) and OpenAI's objects.

/** A model.json, with OpenAI's `object`/`owned_by`; catalog entries add `status`. */
export interface Model {
  id: string;
  object?: 'model';
  name?: string;
  description?: string;
  engine?: string;
  created?: number;
  settings?: Record<string, unknown> & { ctx_len?: number };
  parameters?: ModelParameters;
  metadata?: Record<string, unknown> & { size?: number; tags?: string[]; author?: string };
  sources?: { filename: string; url: string }[];
  /** Catalog entries only. */
  status?: 'downloaded' | 'downloading' | 'available';
  [key: string]: unknown;
}

/** Sampling parameters, as in model.json and a thread's model overrides. */
export interface ModelParameters {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  max_tokens?: number;
  stop?: string[];
  frequency_penalty?: number;
  presence_penalty?: number;
  stream?: boolean;
  [key: string]: unknown;
}

export interface ThreadModel {
  id: string;
  settings?: Record<string, unknown> & { ctx_len?: number };
  parameters?: ModelParameters;
  engine?: string;
}

export interface ThreadAssistant {
  assistant_id: string;
  assistant_name?: string;
  model?: ThreadModel;
  instructions?: string;
  [key: string]: unknown;
}

export interface Thread {
  id: string;
  object?: 'thread';
  title?: string;
  created?: number;
  updated?: number;
  metadata?: Record<string, unknown> & { lastMessage?: string };
  assistants?: ThreadAssistant[];
  [key: string]: unknown;
}

export interface NewThread {
  title?: string;
  assistant_id?: string;
  model?: ThreadModel;
  instructions?: string;
  metadata?: Record<string, unknown>;
}

export interface ThreadUpdate {
  title?: string;
  model?: ThreadModel;
  instructions?: string;
  metadata?: Record<string, unknown>;
}

export type Role = 'system' | 'user' | 'assistant' | 'tool';
export type MessageStatus = 'ready' | 'pending' | 'error' | 'stopped';

export interface TextPart {
  type: 'text';
  text: { value: string; annotations?: unknown[] } | string;
}

export interface Message {
  id: string;
  object?: 'thread.message';
  thread_id: string;
  assistant_id?: string;
  role: Role;
  content: TextPart[] | string;
  status?: MessageStatus;
  created?: number;
  updated?: number;
  metadata?: Record<string, unknown> & { usage?: Usage; timings?: Timings; error?: unknown };
  [key: string]: unknown;
}

export interface NewMessage {
  role: Role;
  content: string | TextPart[];
  status?: MessageStatus;
  assistant_id?: string;
  metadata?: Record<string, unknown>;
}

export interface MessageUpdate {
  content?: string | TextPart[];
  status?: MessageStatus;
  metadata?: Record<string, unknown>;
}

export interface Assistant {
  id: string;
  object?: 'assistant';
  name: string;
  description?: string;
  avatar?: string;
  model?: string;
  instructions?: string;
  created_at?: number;
  [key: string]: unknown;
}

export interface NewAssistant {
  id?: string;
  name: string;
  description?: string;
  model?: string;
  instructions?: string;
}

export type AssistantUpdate = Partial<Omit<NewAssistant, 'id'>>;

export interface Deleted {
  id: string;
  object?: string;
  deleted: boolean;
}

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

export interface Timings {
  prompt_n?: number;
  predicted_n?: number;
  predicted_per_second?: number;
  time_to_first_token_ms?: number;
  [key: string]: unknown;
}

export interface ModelStateInfo {
  id?: string;
  state: string;
  message?: string;
}

export interface DownloadStarted {
  id: string;
  model_id: string;
  status?: string;
  message?: string;
}

export interface DownloadProgress {
  download_id: string;
  model_id: string;
  file_name: string;
  transferred: number;
  total: number | null;
  bytes_per_second: number;
}

export interface SystemInfo {
  cpu?: { model?: string; cores?: number; physical_cores?: number; usage_percent?: number; arch?: string };
  memory?: { total_bytes?: number; used_bytes?: number };
  gpus?: {
    index?: number;
    name?: string;
    vram_total_bytes?: number;
    vram_used_bytes?: number;
    utilization_percent?: number | null;
    [key: string]: unknown;
  }[];
  os?: { name?: string; version?: string; kernel?: string };
  loaded_models?: { model_id: string; memory_bytes?: number; slots?: number; queued?: number; active?: number }[];
  inference?: { queued?: number; active?: number; prompt_tokens?: number; generated_tokens?: number };
  [key: string]: unknown;
}

export interface EngineSettings {
  engine: string;
  full_url: string;
  /** Masked: at most the last 4 characters. */
  api_key: string;
  api_key_set: boolean;
}

export interface EngineSettingsUpdate {
  full_url: string;
  /** Left out: unchanged; "": removed. */
  api_key?: string;
}

/** The core's events (`type`-tagged). */
export type JanEvent =
  | ({ type: 'download_progress' } & DownloadProgress)
  | { type: 'download_done'; download_id: string; model_id: string }
  | { type: 'download_failed'; download_id: string; model_id: string; code: string; message: string }
  | { type: 'model_updated'; model_id: string }
  | { type: 'model_deleted'; model_id: string }
  | {
      type: 'model_state';
      model_id: string;
      state: { state: 'loading'; progress: number } | { state: 'ready' } | { state: 'stopped' } | {
        state: 'failed';
        code: string;
        message: string;
      };
    }
  | { type: 'thread_updated'; thread: Thread }
  | { type: 'thread_deleted'; thread_id: string }
  | { type: 'message_created'; message: Message }
  | { type: 'message_updated'; message: Message }
  | { type: 'message_delta'; thread_id: string; message_id: string; delta: string }
  | { type: 'lagged'; missed: number };

/** One event of a thread's reply stream (host-web's `POST /api/threads/{id}/reply`). */
export type ReplyEvent =
  | { type: 'message'; message: Message }
  | { type: 'delta'; delta: string }
  | { type: 'done'; finish_reason: string | null; usage?: Usage; timings?: Timings; message?: Message | null }
  | { type: 'error'; error: { message: string; type?: string; code?: string } };

/** A catalog entry: a model with its `status`. */
export type CatalogModel = Model & { status: 'downloaded' | 'downloading' | 'available' };

/** A change to a model.json: absent fields stay; `settings` and `parameters` merge key by key. */
export interface ModelUpdate {
  name?: string;
  description?: string;
  engine?: string;
  settings?: Record<string, unknown>;
  parameters?: ModelParameters;
  metadata?: Record<string, unknown>;
}

/** One message of a chat request, as OpenAI's clients send it. */
export interface InputMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  /** A string, OpenAI's content parts (text only), or null for an assistant turn that only called tools. */
  content?: string | { type: string; text?: string }[] | null;
  name?: string;
  tool_call_id?: string;
  tool_calls?: unknown;
}

/**
 * The generation fields both requests take: OpenAI's, plus llama.cpp's sampling extensions. A field left out
 * takes the model's parameter (model.json), else the engine's default (llama.cpp's for a local model).
 */
export interface GenerationFields {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  min_p?: number;
  /** Negative: a random seed. */
  seed?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
  repeat_penalty?: number;
  repeat_last_n?: number;
  max_tokens?: number;
  /** OpenAI's newer name for `max_tokens`; wins when both are given. */
  max_completion_tokens?: number;
  stop?: string | string[];
  /** Only 1. */
  n?: number;
}

/** A chat completion request: OpenAI's `/v1/chat/completions` body (without `stream`: napi always streams). */
export interface ChatRequest extends GenerationFields {
  model: string;
  messages: InputMessage[];
  tools?: unknown;
}

/** A text completion of a raw prompt: OpenAI's `/v1/completions` body. */
export interface CompletionRequest extends GenerationFields {
  model: string;
  prompt: string | [string];
}

/** A call of one of the request's tools (OpenAI's shape); `arguments` is JSON text. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** How a chat or text completion ended. */
export interface Completion {
  /** The text, without tool-call markup. */
  text: string;
  /** Present when the turn called tools (`finish_reason` is then `tool_calls`). */
  tool_calls?: ToolCall[];
  finish_reason: 'stop' | 'length' | 'cancelled' | 'tool_calls' | string;
  usage: Usage;
  timings: Timings;
}

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
  cancelDownload(downloadId: string): Promise<void>
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
  setEngine(engine: string, update: { full_url: string; api_key?: string }): Promise<EngineSettings>
  /**
   * Generates the assistant's reply to a thread (its last message is usually the user's). `onEvent` gets the
   * pending message, then each text delta, then `done` or `error`; `wait()` settles after the last one. The
   * core saves the message as it ends (`stopped` after `stop()`).
   */
  reply(threadId: string, onEvent: (event: ReplyEvent) => void): Promise<Generation>
  /**
   * A chat completion: OpenAI's request body (`model`, `messages`, `temperature`, `max_tokens`, `stop`,
   * `tools`, ...), checked and prepared by the core exactly as host-web's `/v1/chat/completions` (a mistake, an
   * unknown model or a prompt over the context rejects with the same `code`). `onDelta` gets the text as it
   * is generated and `wait()` settles with `{text, tool_calls?, finish_reason, usage, timings}`.
   */
  chat(request: ChatRequest, onDelta: (delta: string) => void): Promise<Generation>
  /** A text completion of a raw prompt (OpenAI's `/v1/completions` body); as `chat`. */
  complete(request: CompletionRequest, onDelta: (delta: string) => void): Promise<Generation>
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

/** A local `.gguf` to import. */
export interface ImportOptions {
  /** The file on this machine. */
  path: string
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
}
