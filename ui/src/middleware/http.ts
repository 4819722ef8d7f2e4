// The HTTP transport, for host-web: fetch with relative URLs (the page works behind any host name or path prefix),
// the session cookie, and SSE read from fetch bodies.

import { readSse } from './sse';
import {
  type ApiKey,
  type Assistant,
  type AssistantUpdate,
  type ConnectionState,
  type Deleted,
  type DownloadProgress,
  type DownloadStarted,
  type EngineSettings,
  type EngineSettingsUpdate,
  type ImportOptions,
  type JanClient,
  JanError,
  type JanEvent,
  type Message,
  type MessageUpdate,
  type Model,
  type ModelStateInfo,
  type NewAssistant,
  type NewMessage,
  type NewThread,
  type ReplyEvent,
  type ReplyHandlers,
  type ReplyOutcome,
  type ReplyOptions,
  type Session,
  type SystemInfo,
  type Thread,
  type ThreadUpdate,
} from './types';
import { errorInfo } from './error-codes';

export interface HttpOptions {
  /** Prefix for every path. '' (the default) keeps URLs relative to the page; tests pass the server's address. */
  base?: string;
  /** The fetch to use (tests pass one that keeps cookies). */
  fetch?: typeof fetch;
  /** Delay before the event stream reconnects, in ms. */
  reconnectMs?: number;
}

const enc = encodeURIComponent;

/** Maps a failed response to a JanError (OpenAI's error shape, or the bare status). */
export async function errorFrom(res: Response): Promise<JanError> {
  let message = `${res.status} ${res.statusText}`.trim();
  let code = res.status === 401 ? 'unauthorized' : `http_${res.status}`;
  let type: string | undefined;
  try {
    const body = (await res.json()) as { error?: { message?: string; code?: string; type?: string } };
    if (body?.error) {
      message = body.error.message ?? message;
      code = body.error.code ?? code;
      type = body.error.type;
    }
  } catch {
    // not JSON: keep the status line
  }
  if (res.status === 401 && code !== 'invalid_credentials') code = 'unauthorized';
  let retryAfter: number | undefined;
  if (res.status === 429) {
    const header = Number(res.headers.get('retry-after'));
    const said = /(\d+)\s*s\b/.exec(message);
    retryAfter = header > 0 ? header : said ? Number(said[1]) : undefined;
  }
  return new JanError(message, code, res.status, type, retryAfter);
}

function unreachable(e: unknown): JanError {
  const detail = e instanceof Error ? e.message : String(e);
  return new JanError(`The server cannot be reached (${detail}).`, 'unreachable');
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === 'AbortError';
}

export class HttpClient implements JanClient {
  readonly transport = 'http' as const;
  readonly capabilities = { login: true, apiKeys: true };
  private readonly base: string;
  private readonly fetcher: typeof fetch;
  private readonly reconnectMs: number;

  constructor(options: HttpOptions = {}) {
    this.base = options.base ?? '';
    this.fetcher = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.reconnectMs = options.reconnectMs ?? 2000;
  }

  /** A request; rejects with a JanError on a network failure or a non-2xx answer. */
  private async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const init: RequestInit = { method, credentials: 'same-origin', signal, headers: {} };
    if (body instanceof Blob) {
      init.body = body;
      (init.headers as Record<string, string>)['Content-Type'] = 'application/octet-stream';
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['Content-Type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await this.fetcher(this.base + path, init);
    } catch (e) {
      if (isAbort(e)) throw e;
      throw unreachable(e);
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch {
      throw new JanError(`The server sent an unreadable answer to ${method} ${path}.`, 'bad_response', res.status);
    }
  }

  private async list<T>(path: string): Promise<T[]> {
    return (await this.json<{ data: T[] }>('GET', path)).data;
  }

  // Auth
  session(): Promise<Session> {
    return this.json('GET', 'api/session');
  }
  async login(username: string, password: string): Promise<void> {
    await this.json('POST', 'api/login', { username, password });
  }
  async logout(): Promise<void> {
    await this.json('POST', 'api/logout');
  }
  listApiKeys(): Promise<ApiKey[]> {
    return this.list('api/keys');
  }
  createApiKey(name?: string): Promise<ApiKey> {
    return this.json('POST', 'api/keys', { name: name ?? '' });
  }
  async revokeApiKey(id: string): Promise<void> {
    await this.send('DELETE', `api/keys/${enc(id)}`);
  }

  // Models
  listModels(): Promise<Model[]> {
    return this.list('v1/models');
  }
  getModel(id: string): Promise<Model> {
    return this.json('GET', `v1/models/${enc(id)}`);
  }
  deleteModel(id: string): Promise<Deleted> {
    return this.json('DELETE', `v1/models/${enc(id)}`);
  }
  startModel(id: string): Promise<ModelStateInfo> {
    return this.json('PUT', `v1/models/${enc(id)}/start`);
  }
  stopModel(id: string): Promise<ModelStateInfo> {
    return this.json('PUT', `v1/models/${enc(id)}/stop`);
  }
  catalog(): Promise<Model[]> {
    return this.list('v1/catalog');
  }
  downloadModel(id: string): Promise<DownloadStarted> {
    return this.json('POST', `v1/models/download/${enc(id)}`);
  }
  listDownloads(): Promise<DownloadProgress[]> {
    return this.list('api/downloads');
  }
  async cancelDownload(downloadId: string): Promise<void> {
    await this.send('DELETE', `api/downloads/${enc(downloadId)}`);
  }
  async importModel(file: Blob, options: ImportOptions): Promise<Model> {
    const query = new URLSearchParams({ file_name: options.fileName });
    if (options.id) query.set('id', options.id);
    if (options.name) query.set('name', options.name);
    const path = `v1/models/import?${query}`;
    if (options.onProgress && typeof XMLHttpRequest !== 'undefined' && !this.base) {
      return this.uploadWithProgress(path, file, options);
    }
    const res = await this.send('POST', path, file, options.signal);
    options.onProgress?.(1);
    return (await res.json()) as Model;
  }

  /** fetch cannot report upload progress; XMLHttpRequest can (browsers only). */
  private uploadWithProgress(path: string, file: Blob, options: ImportOptions): Promise<Model> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', path);
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.onprogress = (e) => e.lengthComputable && options.onProgress?.(e.loaded / e.total);
      xhr.onerror = () => reject(unreachable(new Error('upload failed')));
      xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
      xhr.onload = () => {
        const res = new Response(xhr.responseText || null, {
          status: xhr.status,
          headers: { 'Content-Type': 'application/json' },
        });
        if (xhr.status >= 200 && xhr.status < 300) {
          options.onProgress?.(1);
          resolve(JSON.parse(xhr.responseText) as Model);
        } else {
          errorFrom(res).then(reject, reject);
        }
      };
      options.signal?.addEventListener('abort', () => xhr.abort());
      xhr.send(file);
    });
  }

  // Threads and messages
  listThreads(): Promise<Thread[]> {
    return this.list('v1/threads');
  }
  createThread(thread: NewThread = {}): Promise<Thread> {
    return this.json('POST', 'v1/threads', thread);
  }
  getThread(id: string): Promise<Thread> {
    return this.json('GET', `v1/threads/${enc(id)}`);
  }
  updateThread(id: string, update: ThreadUpdate): Promise<Thread> {
    return this.json('PATCH', `v1/threads/${enc(id)}`, update);
  }
  deleteThread(id: string): Promise<Deleted> {
    return this.json('DELETE', `v1/threads/${enc(id)}`);
  }
  listMessages(threadId: string): Promise<Message[]> {
    return this.list(`v1/threads/${enc(threadId)}/messages`);
  }
  addMessage(threadId: string, message: NewMessage): Promise<Message> {
    return this.json('POST', `v1/threads/${enc(threadId)}/messages`, message);
  }
  updateMessage(threadId: string, messageId: string, update: MessageUpdate): Promise<Message> {
    return this.json('PATCH', `v1/threads/${enc(threadId)}/messages/${enc(messageId)}`, update);
  }
  deleteMessage(threadId: string, messageId: string): Promise<Deleted> {
    return this.json('DELETE', `v1/threads/${enc(threadId)}/messages/${enc(messageId)}`);
  }

  async reply(
    threadId: string,
    handlers: ReplyHandlers = {},
    signal?: AbortSignal,
    options?: ReplyOptions,
  ): Promise<ReplyOutcome> {
    const outcome: ReplyOutcome = { finish_reason: null, stopped: false };
    if (signal?.aborted) return { ...outcome, stopped: true };
    // Our own controller, so that stopping also ends a body read already under way.
    const controller = new AbortController();
    const stop = () => controller.abort();
    signal?.addEventListener('abort', stop);
    try {
      const res = await this.send('POST', `api/threads/${enc(threadId)}/reply`, options, controller.signal);
      if (!res.body) throw new JanError('The reply stream has no body.', 'bad_response', res.status);
      for await (const raw of readSse(res.body)) {
        const event = raw as ReplyEvent;
        if (event.type === 'message') {
          outcome.message_id = event.message.id;
          handlers.onMessage?.(event.message);
        } else if (event.type === 'delta') {
          handlers.onDelta?.(event.delta);
        } else if (event.type === 'done') {
          // The core's `done` event is the outcome, less its `type` (the same over IPC).
          const { type: _type, ...done } = event;
          return done;
        } else if (event.type === 'error') {
          const code = event.error.code ?? 'reply_failed';
          throw new JanError(event.error.message, code, errorInfo(code).status, event.error.type);
        }
      }
      if (controller.signal.aborted) return { ...outcome, stopped: true };
      throw new JanError('The reply ended before it was complete.', 'cancelled');
    } catch (e) {
      if (controller.signal.aborted) return { ...outcome, stopped: true };
      if (e instanceof JanError) throw e;
      // The body broke off (the server went away, the network dropped).
      throw new JanError('The connection to the server was lost during the reply.', 'connection_lost');
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  }

  // Assistants
  listAssistants(): Promise<Assistant[]> {
    return this.list('v1/assistants');
  }
  createAssistant(assistant: NewAssistant): Promise<Assistant> {
    return this.json('POST', 'v1/assistants', assistant);
  }
  updateAssistant(id: string, update: AssistantUpdate): Promise<Assistant> {
    return this.json('PATCH', `v1/assistants/${enc(id)}`, update);
  }
  deleteAssistant(id: string): Promise<Deleted> {
    return this.json('DELETE', `v1/assistants/${enc(id)}`);
  }

  // System, engines
  system(): Promise<SystemInfo> {
    return this.json('GET', 'api/system');
  }
  getEngine(engine: string): Promise<EngineSettings> {
    return this.json('GET', `api/engines/${enc(engine)}`);
  }
  setEngine(engine: string, update: EngineSettingsUpdate): Promise<EngineSettings> {
    return this.json('PUT', `api/engines/${enc(engine)}`, update);
  }

  subscribe(listener: (event: JanEvent) => void, onState?: (state: ConnectionState) => void): () => void {
    const controller = new AbortController();
    const run = async () => {
      while (!controller.signal.aborted) {
        onState?.('connecting');
        try {
          const res = await this.send('GET', 'api/events', undefined, controller.signal);
          onState?.('open');
          if (res.body) for await (const event of readSse(res.body)) listener(event as JanEvent);
        } catch (e) {
          // The session ended (a logout elsewhere, a server restart): retrying cannot help, a login can.
          if (e instanceof JanError && e.status === 401 && !controller.signal.aborted) {
            onState?.('unauthorized');
            return;
          }
          // unreachable or stopped: retry below unless unsubscribed
        }
        if (controller.signal.aborted) break;
        onState?.('closed');
        await new Promise((r) => setTimeout(r, this.reconnectMs));
      }
    };
    void run();
    return () => {
      controller.abort();
      onState?.('closed');
    };
  }
}
