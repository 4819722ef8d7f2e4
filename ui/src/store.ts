// The UI's shared state: a tiny store (no library) that screens read with `useApp`, kept current by the core's
// events. Every failure goes through `report`, which turns it into a visible, actionable notice.

import { useEffect, useReducer, useRef } from 'preact/hooks';
import { client } from './client';
import {
  type ConnectionState,
  JanError,
  type JanEvent,
  type Model,
  type ModelParameters,
  type Thread,
} from './middleware';

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
  /** Where the user can act on it. */
  link?: { href: string; label: string };
}

export interface DownloadView {
  downloadId: string;
  modelId: string;
  fileName: string;
  transferred: number;
  total: number | null;
  bytesPerSecond: number;
  failed?: string;
}

/** What a new chat starts with (the right panel edits it until the thread exists). */
export interface Draft {
  modelId: string;
  parameters: ModelParameters;
  ctxLen?: number;
  instructions?: string;
}

export interface AppState {
  threads: Thread[];
  models: Model[];
  connection: ConnectionState;
  /** False until the first load. */
  loaded: boolean;
  needLogin: boolean;
  notices: Notice[];
  downloads: Record<string, DownloadView>;
  /** model id -> 'loading 40%' | 'ready' | 'failed: ...' | 'stopped' */
  modelStates: Record<string, string>;
  draft: Draft;
}

let state: AppState = {
  threads: [],
  models: [],
  connection: 'connecting',
  loaded: false,
  needLogin: false,
  notices: [],
  downloads: {},
  modelStates: {},
  draft: { modelId: '', parameters: {} },
};
const listeners = new Set<() => void>();
const eventListeners = new Set<(e: JanEvent) => void>();

export function getState(): AppState {
  return state;
}

export function setState(patch: Partial<AppState> | ((s: AppState) => Partial<AppState>)): void {
  state = { ...state, ...(typeof patch === 'function' ? patch(state) : patch) };
  listeners.forEach((l) => l());
}

/** The selected part of the state; re-renders the component when it changes (the selector may change per render). */
export function useApp<T>(select: (s: AppState) => T): T {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const selectRef = useRef(select);
  selectRef.current = select;
  const value = select(state);
  const last = useRef(value);
  last.current = value;
  useEffect(() => {
    const update = () => {
      if (selectRef.current(state) !== last.current) rerender(0);
    };
    listeners.add(update);
    return () => void listeners.delete(update);
  }, []);
  return value;
}

/** The core's events, for screens that follow one thread. */
export function onEvent(listener: (e: JanEvent) => void): () => void {
  eventListeners.add(listener);
  return () => void eventListeners.delete(listener);
}

let noticeId = 0;
export function notify(text: string, kind: Notice['kind'] = 'info', link?: Notice['link']): void {
  const id = ++noticeId;
  setState((s) => ({ notices: [...s.notices.filter((n) => n.text !== text), { id, kind, text, link }].slice(-4) }));
  if (kind === 'info') setTimeout(() => dismiss(id), 4000);
}

export function dismiss(id: number): void {
  setState((s) => ({ notices: s.notices.filter((n) => n.id !== id) }));
}

/** A user-facing sentence for an error, with what to do about it. */
export function describe(e: unknown): { text: string; link?: Notice['link'] } {
  if (!(e instanceof JanError)) return { text: e instanceof Error ? e.message : String(e) };
  switch (true) {
    case e.code === 'unreachable':
      return { text: 'The server cannot be reached. Check that jan-server is running; retrying…' };
    case e.code === 'too_many_attempts':
      return { text: `Too many failed logins. Try again in ${e.retryAfter ?? 'a few'} s.` };
    case e.status === 429:
      return { text: 'The server is busy (its queue is full). Wait a moment and try again.' };
    case e.code === 'model_not_found' || (e.status === 404 && /model/i.test(e.message)):
      return { text: `Model not found: ${e.message}`, link: { href: '#/hub', label: 'Open the Hub' } };
    case /load|memory|gguf|unsupported/i.test(e.code) || /failed to load|could not load/i.test(e.message):
      return { text: `The model failed to load: ${e.message}`, link: { href: '#/hub', label: 'Pick another model' } };
    default:
      return { text: e.message || e.code };
  }
}

/** Shows an error; a lost session sends the user to the login. */
export function report(e: unknown): void {
  if (e instanceof DOMException && e.name === 'AbortError') return;
  if (e instanceof JanError && e.code === 'unauthorized' && client.capabilities.login) {
    setState({ needLogin: true });
    return;
  }
  const { text, link } = describe(e);
  notify(text, 'error', link);
}

function sortThreads(threads: Thread[]): Thread[] {
  return [...threads].sort((a, b) => (b.updated ?? b.created ?? 0) - (a.updated ?? a.created ?? 0));
}

export async function refreshThreads(): Promise<void> {
  try {
    setState({ threads: sortThreads(await client.listThreads()) });
  } catch (e) {
    report(e);
  }
}

export async function refreshModels(): Promise<void> {
  try {
    const models = await client.listModels();
    setState((s) => ({
      models,
      draft: models.some((m) => m.id === s.draft.modelId) ? s.draft : { ...s.draft, modelId: models[0]?.id ?? '' },
    }));
  } catch (e) {
    report(e);
  }
}

async function refreshDownloads(): Promise<void> {
  try {
    const list = await client.listDownloads();
    const downloads: Record<string, DownloadView> = {};
    for (const d of list) {
      downloads[d.model_id] = {
        downloadId: d.download_id,
        modelId: d.model_id,
        fileName: d.file_name,
        transferred: d.transferred,
        total: d.total,
        bytesPerSecond: d.bytes_per_second,
      };
    }
    setState({ downloads });
  } catch (e) {
    report(e);
  }
}

function handle(event: JanEvent): void {
  switch (event.type) {
    case 'thread_updated':
      setState((s) => ({ threads: sortThreads([event.thread, ...s.threads.filter((t) => t.id !== event.thread.id)]) }));
      break;
    case 'thread_deleted':
      setState((s) => ({ threads: s.threads.filter((t) => t.id !== event.thread_id) }));
      break;
    case 'model_updated':
    case 'model_deleted':
      void refreshModels();
      break;
    case 'download_progress':
      setState((s) => ({
        downloads: {
          ...s.downloads,
          [event.model_id]: {
            downloadId: event.download_id,
            modelId: event.model_id,
            fileName: event.file_name,
            transferred: event.transferred,
            total: event.total,
            bytesPerSecond: event.bytes_per_second,
          },
        },
      }));
      break;
    case 'download_done':
      setState((s) => {
        const { [event.model_id]: _, ...rest } = s.downloads;
        return { downloads: rest };
      });
      notify(`${event.model_id} is downloaded and ready.`);
      void refreshModels();
      break;
    case 'download_failed': {
      const cancelled = event.code === 'cancelled';
      setState((s) => {
        const { [event.model_id]: _, ...rest } = s.downloads;
        return { downloads: rest };
      });
      if (cancelled) notify(`Download of ${event.model_id} cancelled.`);
      else notify(`Download of ${event.model_id} failed: ${event.message}`, 'error', { href: '#/hub', label: 'Retry' });
      break;
    }
    case 'model_state': {
      const st = event.state;
      const text =
        st.state === 'loading'
          ? `loading ${Math.round(st.progress * 100)}%`
          : st.state === 'failed'
            ? `failed: ${st.message}`
            : st.state;
      setState((s) => ({ modelStates: { ...s.modelStates, [event.model_id]: text } }));
      if (st.state === 'failed') {
        notify(`The model ${event.model_id} failed to load: ${st.message}`, 'error', {
          href: '#/hub',
          label: 'Pick another model',
        });
      }
      break;
    }
    case 'lagged':
      void refreshThreads();
      void refreshModels();
      break;
    default:
      break;
  }
  eventListeners.forEach((l) => l(event));
}

let unsubscribe: (() => void) | null = null;

/** Loads everything and follows the core's events (again after a login). */
export async function start(): Promise<void> {
  unsubscribe?.();
  let first = true;
  unsubscribe = client.subscribe(handle, (connection) => {
    setState({ connection });
    // Re-read after every reconnection: events were missed while away.
    if (connection === 'open' && !first) {
      void refreshThreads();
      void refreshModels();
    }
    if (connection === 'open') first = false;
  });
  await Promise.all([refreshThreads(), refreshModels(), refreshDownloads()]);
  setState({ loaded: true });
}

export function stop(): void {
  unsubscribe?.();
  unsubscribe = null;
}
