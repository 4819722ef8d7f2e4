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
