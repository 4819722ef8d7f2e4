// A FAKE of Electron's preload (`window.janIpc`) for tests only: it meets the `JanIpcApi` contract by forwarding
// every call to a real jan-server through the HTTP client, passing arguments and results through structuredClone
// as Electron's IPC would. The real preload, which calls the core through bindings-node, comes with issue 6.

import { HttpClient } from '../http';
import type { IpcImportRequest, IpcMethod, IpcResult, JanIpcApi } from '../ipc';
import { type ConnectionState, JanError, type JanEvent, type ReplyEvent, type ReplyOptions } from '../types';

type EventListener = (event: JanEvent) => void;
type ReplyListener = (streamId: string, event: ReplyEvent) => void;

export class FakePreloadOverHttp implements JanIpcApi {
  readonly version = 1 as const;
  readonly capabilities = { apiKeys: true };
  /** Resolves once the forwarded event stream is open (so a test sees every event after it). */
  readonly ready: Promise<void>;
  private readonly http: HttpClient;
  private readonly eventListeners = new Set<EventListener>();
  private readonly replyListeners = new Set<ReplyListener>();
  private readonly replies = new Map<string, AbortController>();
  private readonly unsubscribe: () => void;

  constructor(http: HttpClient) {
    this.http = http;
    let opened: () => void = () => undefined;
    this.ready = new Promise((r) => (opened = r));
    this.unsubscribe = http.subscribe(
      (event) => this.eventListeners.forEach((l) => l(structuredClone(event))),
      (state: ConnectionState) => state === 'open' && opened(),
    );
  }

  close(): void {
    this.unsubscribe();
    this.replies.forEach((c) => c.abort());
  }

  on(channel: 'event', listener: EventListener): () => void;
  on(channel: 'reply', listener: ReplyListener): () => void;
  on(channel: 'event' | 'reply', listener: EventListener | ReplyListener): () => void {
    const set = (channel === 'event' ? this.eventListeners : this.replyListeners) as Set<unknown>;
    set.add(listener);
    return () => set.delete(listener);
  }

  async invoke(method: IpcMethod, args: unknown[]): Promise<IpcResult> {
    try {
      const value = await this.dispatch(method, structuredClone(args));
      return { ok: true, value: structuredClone(value) };
    } catch (e) {
      if (e instanceof JanError) {
        return { ok: false, error: { message: e.message, code: e.code, status: e.status, type: e.type } };
      }
      return { ok: false, error: { message: String(e), code: 'internal' } };
    }
  }

  private async dispatch(method: IpcMethod, args: unknown[]): Promise<unknown> {
    const a = args as never[];
    switch (method) {
      case 'reply': {
        const [threadId, streamId, options] = args as [string, string, ReplyOptions | undefined];
        const controller = new AbortController();
        this.replies.set(streamId, controller);
        const emit = (event: ReplyEvent) => this.replyListeners.forEach((l) => l(streamId, structuredClone(event)));
        try {
          return await this.http.reply(
            threadId,
            {
              onMessage: (message) => emit({ type: 'message', message }),
              onDelta: (delta) => emit({ type: 'delta', delta }),
            },
            controller.signal,
            options,
          );
        } finally {
          this.replies.delete(streamId);
        }
      }
      case 'stopReply':
        this.replies.get(args[0] as string)?.abort();
        return null;
      case 'importModel': {
        const request = args[0] as IpcImportRequest;
        if (!request.data) throw new JanError('the fake preload takes bytes, not paths', 'invalid_request', 400);
        return this.http.importModel(new Blob([request.data]), request);
      }
      default: {
        const fn = (this.http as unknown as Record<string, (...x: never[]) => Promise<unknown>>)[method];
        if (typeof fn !== 'function') throw new JanError(`no method ${method}`, 'not_found', 404);
        return fn.apply(this.http, a);
      }
    }
  }
}
