// The UI's shared state: a tiny store (no library) that screens read with `useApp`, kept current by the core's
// events. Every failure goes through `report`, which turns it into a visible, actionable notice.

import { useEffect, useReducer, useRef } from 'preact/hooks';
import { client } from './client';
import {
  type Assistant,
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
  /** The assistant the thread is made for (the core's default, `jan`, when absent). */
  assistantId?: string;
  modelId: string;
  parameters: ModelParameters;
  ctxLen?: number;
  instructions?: string;
}

export interface AppState {
  threads: Thread[];
  models: Model[];
  assistants: Assistant[];
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
  assistants: [],
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

const HUB_LINK = { href: '#/hub', label: 'Open the Hub' };

/** A user-facing sentence for an error, with what to do about it (a link where the fix is on another screen). */
export function describe(e: unknown): { text: string; link?: Notice['link'] } {
  if (!(e instanceof JanError)) return { text: e instanceof Error ? e.message : String(e) };
  switch (true) {
    case e.code === 'unreachable':
      return { text: 'The server cannot be reached. Check that jan-server is running; retrying…' };
    case e.code === 'invalid_credentials':
      return { text: 'Wrong username or password.' };
    case e.code === 'too_many_attempts':
      return { text: `Too many failed logins. Try again in ${e.retryAfter ?? 'a few'} s.` };
    case e.code === 'unauthorized' || e.status === 401:
      return { text: 'You are no longer logged in. Log in again to continue.' };
    case e.status === 429:
      return {
        text: `The server is busy (its queue is full). ${e.retryAfter ? `Try again in ${e.retryAfter} s.` : 'Wait a moment and try again.'}`,
      };
    case e.code === 'model_not_found' || (e.status === 404 && /model/i.test(e.message)):
      return { text: `Model not found: ${e.message}`, link: HUB_LINK };
    case /load|memory|gguf|unsupported|corrupt/i.test(e.code) || /failed to load|could not load/i.test(e.message):
      return { text: `The model failed to load: ${e.message}`, link: { href: '#/hub', label: 'Pick another model' } };
    case e.code === 'disk_full':
      return { text: `Not enough disk space: ${e.message}`, link: { href: '#/hub', label: 'Delete models in the Hub' } };
    case e.code === 'upstream_error':
      return { text: `The remote engine failed: ${e.message}`, link: { href: '#/settings', label: 'Check its settings' } };
    default:
      return { text: e.message || e.code };
  }
}

/** What a failed download says (`download_failed`'s code and message), with the way to try again. */
export function describeDownloadFailure(
  modelId: string,
  code: string,
  message: string,
): { text: string; link: NonNullable<Notice['link']> } {
  const retry = { href: '#/hub', label: 'Retry in the Hub' };
  switch (code) {
    case 'disk_full':
      return { text: `Not enough disk space to download ${modelId}: ${message}`, link: { href: '#/hub', label: 'Delete models in the Hub' } };
    case 'checksum_mismatch':
      return { text: `The download of ${modelId} was corrupted (its checksum does not match). Download it again.`, link: retry };
    case 'network':
    case 'http_status':
      return { text: `Download of ${modelId} failed: the model's source could not be reached (${message}).`, link: retry };
    default:
      return { text: `Download of ${modelId} failed: ${message}`, link: retry };
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

/** The assistants (the default `jan` first); a new chat's pick is dropped when its assistant is gone. */
export async function refreshAssistants(): Promise<void> {
  try {
    const assistants = await client.listAssistants();
    setState((s) => ({
      assistants,
      draft: !s.draft.assistantId || assistants.some((a) => a.id === s.draft.assistantId)
        ? s.draft
        : { ...s.draft, assistantId: undefined },
    }));
  } catch (e) {
    report(e);
  }
}

/** Makes the next new chat one with `assistant`: its instructions, and its model when that one is downloaded. */
export function chooseAssistant(assistant: Assistant): void {
  setState((s) => ({
    draft: {
      ...s.draft,
      assistantId: assistant.id,
      instructions: assistant.instructions ?? '',
      modelId: s.models.some((m) => m.id === assistant.model) ? assistant.model! : s.draft.modelId,
    },
  }));
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
      else {
        const { text, link } = describeDownloadFailure(event.model_id, event.code, event.message);
        notify(text, 'error', link);
      }
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
      void refreshAssistants();
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
      void refreshAssistants();
    }
    if (connection === 'open') first = false;
  });
  await Promise.all([refreshThreads(), refreshModels(), refreshDownloads(), refreshAssistants()]);
  setState({ loaded: true });
}

export function stop(): void {
  unsubscribe?.();
  unsubscribe = null;
}
