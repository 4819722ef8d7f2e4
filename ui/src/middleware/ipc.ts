// The IPC transport, for the desktop: every call goes to the API that Electron's preload exposes on
// `window.janIpc` (contextBridge.exposeInMainWorld('janIpc', ...)), whose main-process side calls the core through
// bindings-node. The preload itself comes with issue 6; this file defines the contract it must meet.

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

/**
 * The request/response methods of the contract: the `JanClient` method of the same name, with the same positional
 * arguments and result. Three more take part in streams:
 *
 * - `reply(threadId, streamId, options?)`: starts a thread's reply (`{continue: true}`: goes on with its last one); resolves with its `ReplyOutcome` when it ends, and
 *   meanwhile sends each `ReplyEvent` on the `reply` channel as `(streamId, event)`;
 * - `stopReply(streamId)`: stops that reply (the core saves it as `stopped`); the `reply` call then resolves with
 *   `stopped: true`;
 * - `importModel(request: IpcImportRequest)`: imports a local GGUF.
 */
export const IPC_METHODS = [
  'session',
  'login',
  'logout',
  'listApiKeys',
  'createApiKey',
  'revokeApiKey',
  'listModels',
  'getModel',
  'deleteModel',
  'startModel',
  'stopModel',
  'catalog',
  'downloadModel',
  'listDownloads',
  'cancelDownload',
  'importModel',
  'listThreads',
  'createThread',
  'getThread',
  'updateThread',
  'deleteThread',
  'listMessages',
  'addMessage',
  'updateMessage',
  'deleteMessage',
  'reply',
  'stopReply',
  'listAssistants',
  'createAssistant',
  'updateAssistant',
  'deleteAssistant',
  'system',
  'getEngine',
  'setEngine',
] as const;

export type IpcMethod = (typeof IPC_METHODS)[number];

/**
 * What every `invoke` resolves with. Electron's `ipcRenderer.invoke` keeps only the message of an Error thrown in
 * the main process, so handlers never throw: they answer `{ok: false, error}` with the core's stable `code` (and
 * the field at fault, `param`); the code's HTTP status and type come from the core's table (`error-codes.ts`), the
 * same host-web answers with, so both transports report the same thing.
 */
export type IpcResult<T = unknown> =
  | { ok: true; value: T }
  | { ok: false; error: { message: string; code: string; param?: string; status?: number; type?: string } };

/** `importModel`'s argument: a path on this machine when the preload can tell one, else the file's bytes. */
export interface IpcImportRequest {
  fileName: string;
  id?: string;
  name?: string;
  path?: string;
  data?: ArrayBuffer;
}

/**
 * The preload's API, exposed on `window.janIpc`. Every argument and result is structured-clonable (plain JSON,
 * plus the ArrayBuffer of an import).
 *
 * ```ts
 * // host-electron/preload.ts (issue 6), in outline:
 * contextBridge.exposeInMainWorld('janIpc', {
 *   version: 1,
 *   capabilities: { apiKeys: false },
 *   invoke: (method, args) => ipcRenderer.invoke('jan:invoke', method, args),
 *   on: (channel, listener) => {
 *     const wrapped = (_e, ...payload) => listener(...payload);
 *     ipcRenderer.on(`jan:${channel}`, wrapped);
 *     return () => ipcRenderer.off(`jan:${channel}`, wrapped);
 *   },
 *   pathForFile: (file) => webUtils.getPathForFile(file),
 * } satisfies JanIpcApi);
 * ```
 */
export interface JanIpcApi {
  /** The contract's version: 1. */
  readonly version: 1;
  /** What the desktop offers beyond the core (no login on the desktop: it is the user's own machine). */
  readonly capabilities?: { apiKeys?: boolean };
  /** Calls one method of the contract with its positional arguments. Never rejects for a failed call. */
  invoke(method: IpcMethod, args: unknown[]): Promise<IpcResult>;
  /**
   * Listens on a channel; returns the function that stops listening.
   * - `event`: `(event: JanEvent)`, every core event;
   * - `reply`: `(streamId: string, event: ReplyEvent)`, the events of the replies under way.
   */
  on(channel: 'event', listener: (event: JanEvent) => void): () => void;
  on(channel: 'reply', listener: (streamId: string, event: ReplyEvent) => void): () => void;
  /** Where a dropped or picked file lives on disk (Electron's `webUtils.getPathForFile`); '' when unknown. */
  pathForFile?(file: Blob): string;
}

declare global {
  interface Window {
    janIpc?: JanIpcApi;
  }
}

let streams = 0;

export class IpcClient implements JanClient {
  readonly transport = 'ipc' as const;
  readonly capabilities: { login: boolean; apiKeys: boolean };

  constructor(private readonly api: JanIpcApi) {
    if (api.version !== 1) throw new JanError(`unsupported preload contract version ${api.version}`, 'bad_preload');
    this.capabilities = { login: false, apiKeys: api.capabilities?.apiKeys ?? false };
  }

  private async call<T>(method: IpcMethod, ...args: unknown[]): Promise<T> {
    let result: IpcResult;
    try {
      result = await this.api.invoke(method, args);
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      throw new JanError(`The desktop app did not answer (${detail}).`, 'unreachable');
    }
    if (!result || typeof result !== 'object' || !('ok' in result)) {
      throw new JanError(`The desktop app sent an unreadable answer to ${method}.`, 'bad_response');
    }
    if (result.ok) return result.value as T;
    const { message, code } = result.error;
    const { status, type } = errorInfo(code);
    return Promise.reject(new JanError(message, code, result.error.status ?? status, result.error.type ?? type));
  }

  // Auth: the desktop has no login.
  async session(): Promise<Session> {
    return { login_required: false, authenticated: true };
  }
  async login(): Promise<void> {
    throw new JanError('The desktop app has no login.', 'login_not_configured', errorInfo('login_not_configured').status);
  }
  async logout(): Promise<void> {}
  listApiKeys(): Promise<ApiKey[]> {
    return this.call('listApiKeys');
  }
  createApiKey(name?: string): Promise<ApiKey> {
    return this.call('createApiKey', name ?? '');
  }
  revokeApiKey(id: string): Promise<void> {
    return this.call('revokeApiKey', id);
  }

  listModels(): Promise<Model[]> {
    return this.call('listModels');
  }
  getModel(id: string): Promise<Model> {
    return this.call('getModel', id);
  }
  deleteModel(id: string): Promise<Deleted> {
    return this.call('deleteModel', id);
  }
  startModel(id: string): Promise<ModelStateInfo> {
    return this.call('startModel', id);
  }
  stopModel(id: string): Promise<ModelStateInfo> {
    return this.call('stopModel', id);
  }
  catalog(): Promise<Model[]> {
    return this.call('catalog');
  }
  downloadModel(id: string): Promise<DownloadStarted> {
    return this.call('downloadModel', id);
  }
  listDownloads(): Promise<DownloadProgress[]> {
    return this.call('listDownloads');
  }
  async cancelDownload(downloadId: string): Promise<void> {
    await this.call('cancelDownload', downloadId);
  }
  async importModel(file: Blob, options: ImportOptions): Promise<Model> {
    const request: IpcImportRequest = { fileName: options.fileName, id: options.id, name: options.name };
    const path = this.api.pathForFile?.(file);
    if (path) request.path = path;
    else request.data = await file.arrayBuffer();
    const model = await this.call<Model>('importModel', request);
    options.onProgress?.(1);
    return model;
  }

  listThreads(): Promise<Thread[]> {
    return this.call('listThreads');
  }
  createThread(thread: NewThread = {}): Promise<Thread> {
    return this.call('createThread', thread);
  }
  getThread(id: string): Promise<Thread> {
    return this.call('getThread', id);
  }
  updateThread(id: string, update: ThreadUpdate): Promise<Thread> {
    return this.call('updateThread', id, update);
  }
  deleteThread(id: string): Promise<Deleted> {
    return this.call('deleteThread', id);
  }
  listMessages(threadId: string): Promise<Message[]> {
    return this.call('listMessages', threadId);
  }
  addMessage(threadId: string, message: NewMessage): Promise<Message> {
    return this.call('addMessage', threadId, message);
  }
  updateMessage(threadId: string, messageId: string, update: MessageUpdate): Promise<Message> {
    return this.call('updateMessage', threadId, messageId, update);
  }
  deleteMessage(threadId: string, messageId: string): Promise<Deleted> {
    return this.call('deleteMessage', threadId, messageId);
  }

  async reply(
    threadId: string,
    handlers: ReplyHandlers = {},
    signal?: AbortSignal,
    options?: ReplyOptions,
  ): Promise<ReplyOutcome> {
    if (signal?.aborted) return { finish_reason: null, stopped: true };
    const streamId = `r${Date.now().toString(36)}-${++streams}`;
    let messageId: string | undefined;
    const off = this.api.on('reply', (id, event) => {
      if (id !== streamId) return;
      if (event.type === 'message') {
        messageId = event.message.id;
        handlers.onMessage?.(event.message);
      } else if (event.type === 'delta') {
        handlers.onDelta?.(event.delta);
      }
    });
    const stop = () => void this.call('stopReply', streamId).catch(() => undefined);
    signal?.addEventListener('abort', stop);
    try {
      const outcome = await this.call<ReplyOutcome>('reply', threadId, streamId, ...(options ? [options] : []));
      return { ...outcome, message_id: outcome.message_id ?? messageId };
    } catch (e) {
      if (signal?.aborted) return { finish_reason: null, stopped: true, message_id: messageId };
      throw e;
    } finally {
      signal?.removeEventListener('abort', stop);
      off();
    }
  }

  listAssistants(): Promise<Assistant[]> {
    return this.call('listAssistants');
  }
  createAssistant(assistant: NewAssistant): Promise<Assistant> {
    return this.call('createAssistant', assistant);
  }
  updateAssistant(id: string, update: AssistantUpdate): Promise<Assistant> {
    return this.call('updateAssistant', id, update);
  }
  deleteAssistant(id: string): Promise<Deleted> {
    return this.call('deleteAssistant', id);
  }

  system(): Promise<SystemInfo> {
    return this.call('system');
  }
  getEngine(engine: string): Promise<EngineSettings> {
    return this.call('getEngine', engine);
  }
  setEngine(engine: string, update: EngineSettingsUpdate): Promise<EngineSettings> {
    return this.call('setEngine', engine, update);
  }

  subscribe(listener: (event: JanEvent) => void, onState?: (state: ConnectionState) => void): () => void {
    const off = this.api.on('event', listener);
    onState?.('open');
    return () => {
      off();
      onState?.('closed');
    };
  }
}
