// The one client interface of the UI: everything a screen does goes through `JanClient`. Two transports implement
// it (`http.ts` for host-web, `ipc.ts` for Electron's preload); `index.ts` picks one at start-up. No other UI code
// knows which one is in use.
//
// The data types are Jan's JSON (see ../shared/reference/jan-formats.md and host-web's /openapi.json): only the
// fields the UI reads are typed; the rest pass through untouched.

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

export interface Session {
  login_required: boolean;
  authenticated: boolean;
}

export interface ApiKey {
  id: string;
  name: string;
  created?: number;
  prefix?: string;
  /** Only in the answer to its creation. */
  key?: string;
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

/** How a reply ended. `stopped`: the caller aborted it (the core saves the message as `stopped`). */
export interface ReplyOutcome {
  finish_reason: string | null;
  stopped: boolean;
  /** The pending message's id, when the server got as far as creating it. */
  message_id?: string;
  /** The message as saved (not when stopped: re-read the thread's messages). */
  message?: Message | null;
  usage?: Usage;
  timings?: Timings;
}

export interface ReplyHandlers {
  /** The pending assistant message, before any token. */
  onMessage?: (message: Message) => void;
  /** Text generated since the last delta. */
  onDelta?: (delta: string) => void;
}

export interface ImportOptions {
  /** The file's name (must end in .gguf). */
  fileName: string;
  id?: string;
  name?: string;
  /** Fraction sent, 0..1 (HTTP only reports it where the runtime can). */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/** Where the event subscription stands. */
export type ConnectionState = 'connecting' | 'open' | 'closed';

/** The whole API the UI uses. Every method rejects with a `JanError`. */
export interface JanClient {
  /** 'http' or 'ipc': for diagnostics only; screens must not branch on it (use `capabilities`). */
  readonly transport: 'http' | 'ipc';
  /** What this host offers: the web has a login; the desktop does not. */
  readonly capabilities: { login: boolean; apiKeys: boolean };

  // Auth (web only; the IPC transport answers as if always logged in)
  session(): Promise<Session>;
  login(username: string, password: string): Promise<void>;
  logout(): Promise<void>;
  listApiKeys(): Promise<ApiKey[]>;
  createApiKey(name?: string): Promise<ApiKey>;
  revokeApiKey(id: string): Promise<void>;

  // Models, catalog, downloads
  listModels(): Promise<Model[]>;
  getModel(id: string): Promise<Model>;
  deleteModel(id: string): Promise<Deleted>;
  startModel(id: string): Promise<ModelStateInfo>;
  stopModel(id: string): Promise<ModelStateInfo>;
  catalog(): Promise<Model[]>;
  downloadModel(id: string): Promise<DownloadStarted>;
  listDownloads(): Promise<DownloadProgress[]>;
  cancelDownload(downloadId: string): Promise<void>;
  importModel(file: Blob, options: ImportOptions): Promise<Model>;

  // Threads and messages
  listThreads(): Promise<Thread[]>;
  createThread(thread?: NewThread): Promise<Thread>;
  getThread(id: string): Promise<Thread>;
  updateThread(id: string, update: ThreadUpdate): Promise<Thread>;
  deleteThread(id: string): Promise<Deleted>;
  listMessages(threadId: string): Promise<Message[]>;
  addMessage(threadId: string, message: NewMessage): Promise<Message>;
  updateMessage(threadId: string, messageId: string, update: MessageUpdate): Promise<Message>;
  deleteMessage(threadId: string, messageId: string): Promise<Deleted>;
  /**
   * Generates the assistant's reply to a thread, streamed token by token and saved by the core. Aborting `signal`
   * stops it: the promise then resolves with `stopped: true` (the core saves what was generated as `stopped`).
   */
  reply(threadId: string, handlers?: ReplyHandlers, signal?: AbortSignal): Promise<ReplyOutcome>;

  // Assistants
  listAssistants(): Promise<Assistant[]>;
  createAssistant(assistant: NewAssistant): Promise<Assistant>;
  updateAssistant(id: string, update: AssistantUpdate): Promise<Assistant>;
  deleteAssistant(id: string): Promise<Deleted>;

  // System, engines
  system(): Promise<SystemInfo>;
  getEngine(engine: string): Promise<EngineSettings>;
  setEngine(engine: string, update: EngineSettingsUpdate): Promise<EngineSettings>;

  /**
   * The core's events from now on (download progress, model state, thread and message changes). Reconnects by
   * itself; `onState` says whether events are flowing. Returns the unsubscribe function.
   */
  subscribe(listener: (event: JanEvent) => void, onState?: (state: ConnectionState) => void): () => void;
}

/** Every failure, from either transport. */
export class JanError extends Error {
  /** Stable machine code: the server's (`not_found`, `overloaded`, `invalid_credentials`, `too_many_attempts`,
   * ...) or the transport's (`unreachable`, `unauthorized`, `bad_response`). */
  readonly code: string;
  /** The HTTP status where there was one (the IPC transport maps the same codes to the same statuses). */
  readonly status?: number;
  /** OpenAI's error type (`invalid_request_error`, `authentication_error`, ...). */
  readonly type?: string;
  /** For 429s: seconds to wait, when the server said. */
  readonly retryAfter?: number;

  constructor(message: string, code: string, status?: number, type?: string, retryAfter?: number) {
    super(message);
    this.name = 'JanError';
    this.code = code;
    this.status = status;
    this.type = type;
    this.retryAfter = retryAfter;
  }
}

/** The text of a message's content (Jan's parts or a plain string). */
export function messageText(message: Pick<Message, 'content'>): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (typeof part.text === 'string' ? part.text : (part.text?.value ?? '')))
    .join('');
}
