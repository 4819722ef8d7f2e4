// The one client interface of the UI: everything a screen does goes through `JanClient`. Two transports implement
// it (`http.ts` for host-web, `ipc.ts` for Electron's preload); `index.ts` picks one at start-up. No other UI code
// knows which one is in use.
//
// The data types are the core's JSON (`jan_core::views`), declared once in the npm package's bindings-node/wire.d.ts.
export type {
  Model,
  ModelParameters,
  ThreadModel,
  ThreadAssistant,
  Thread,
  NewThread,
  ThreadUpdate,
  Role,
  MessageStatus,
  TextPart,
  Message,
  NewMessage,
  MessageUpdate,
  Assistant,
  NewAssistant,
  AssistantUpdate,
  Deleted,
  Usage,
  Timings,
  ModelStateInfo,
  DownloadStarted,
  DownloadProgress,
  SystemInfo,
  EngineSettings,
  EngineSettingsUpdate,
  JanEvent,
  ReplyEvent,
  ReplyOptions,
} from '../../../bindings-node/wire';
import type {
  Assistant,
  AssistantUpdate,
  Deleted,
  DownloadProgress,
  DownloadStarted,
  EngineSettings,
  EngineSettingsUpdate,
  JanEvent,
  Message,
  MessageUpdate,
  Model,
  ModelStateInfo,
  NewAssistant,
  NewMessage,
  NewThread,
  ReplyOptions,
  SystemInfo,
  Thread,
  ThreadUpdate,
  Timings,
  Usage,
} from '../../../bindings-node/wire';

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

/** Where the event subscription stands. `unauthorized`: the session ended; it stops until the next login. */
export type ConnectionState = 'connecting' | 'open' | 'closed' | 'unauthorized';

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
   * With `{continue: true}` it goes on with the thread's last reply (the `onMessage` message carries its text so
   * far, the deltas the new text).
   */
  reply(threadId: string, handlers?: ReplyHandlers, signal?: AbortSignal, options?: ReplyOptions): Promise<ReplyOutcome>;

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
