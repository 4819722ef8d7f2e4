// The UI's shared state: a tiny store (no library) that screens read with `useApp`, kept current by the core's
// events. Every failure goes through `report`, which turns it into a visible, actionable notice.

import { useLayoutEffect, useReducer, useRef } from 'preact/hooks';
import { client } from './client';
import type { ChatError, Conversation, LiveReply } from './conversation';
import {
  type Assistant,
  type ConnectionState,
  JanError,
  type JanEvent,
  type Model,
  type ModelParameters,
  type Thread,
  type ThreadUpdate,
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
  /** Why the login is shown again (a session that ended), when it is. */
  loginReason?: string;
  /** Per thread: its messages as last loaded or changed here (conversation.ts). */
  conversations: Record<string, Conversation>;
  /** Per thread: the reply being written. */
  live: Record<string, LiveReply>;
  /** Per thread (or NEW_CHAT): the failure the chat shows. */
  chatErrors: Record<string, ChatError>;
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
  conversations: {},
  live: {},
  chatErrors: {},
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

/** Resolves once the first load is done (at once when it is): the models, and so a new chat's model, are known. */
export function whenLoaded(): Promise<void> {
  if (state.loaded) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (!state.loaded) return;
      listeners.delete(check);
      resolve();
    };
    listeners.add(check);
  });
}

/**
 * The selected part of the state; re-renders the component when it changes (the selector may change per render).
 * It listens from the commit of its first render (a layout effect, not an effect after the next paint: an answer
 * landing in between, the first load's on a fast machine, would never be shown) and catches up on any change
 * since the render.
 */
export function useApp<T>(select: (s: AppState) => T): T {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const selectRef = useRef(select);
  selectRef.current = select;
  const value = select(state);
  const last = useRef(value);
  last.current = value;
  useLayoutEffect(() => {
    const update = () => {
      if (selectRef.current(state) !== last.current) rerender(0);
    };
    listeners.add(update);
    update();
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

/** What the login says when a session ended under the user. */
export const SESSION_ENDED =
  'Your session has ended (the server may have restarted). Log in again to continue: what you typed is kept.';

/** Shows an error; a lost session sends the user to the login, which says why. */
export function report(e: unknown): void {
  if (e instanceof DOMException && e.name === 'AbortError') return;
  if (e instanceof JanError && (e.code === 'unauthorized' || e.status === 401) && client.capabilities.login) {
    setState({ needLogin: true, loginReason: SESSION_ENDED });
    return;
  }
  // While the events are down the top bar already says the server is unreachable.
  if (e instanceof JanError && e.code === 'unreachable' && state.connection === 'closed') return;
  const { text, link } = describe(e);
  notify(text, 'error', link);
}

function sortThreads(threads: Thread[]): Thread[] {
  return [...threads].sort((a, b) => (b.updated ?? b.created ?? 0) - (a.updated ?? a.created ?? 0));
}

// Threads reach the store three ways: whole lists (refreshThreads), the core's events and the answers to this
// tab's own changes. Lists and events can land after a newer copy of a thread (a list asked for before a settings
// change can answer after it): a thread is never replaced by an older copy (`updated`, the core's clock), and a
// list does not bring back a thread deleted, or drop one made, while it was on its way.

/** Counts the thread changes this tab has seen; `changedAt` holds, per thread, the count at its last change. */
let threadChanges = 0;
const changedAt = new Map<string, number>();

/** Whether `next` is at least as new as `current` (so it may replace it). */
function notOlder(next: Thread, current: Thread | undefined): boolean {
  return !current || (next.updated ?? 0) >= (current.updated ?? 0);
}

/** A thread as the core just sent it (an event, or the answer to a change); ignored when the store has a newer copy. */
export function putThread(thread: Thread): void {
  changedAt.set(thread.id, ++threadChanges);
  setState((s) => {
    const current = s.threads.find((t) => t.id === thread.id);
    if (!notOlder(thread, current)) return {};
    return { threads: sortThreads([thread, ...s.threads.filter((t) => t.id !== thread.id)]) };
  });
}

/** A thread the core deleted. */
export function removeThread(id: string): void {
  changedAt.set(id, ++threadChanges);
  setState((s) => ({ threads: s.threads.filter((t) => t.id !== id) }));
}

export async function refreshThreads(): Promise<void> {
  const asked = threadChanges;
  const changedSince = (id: string) => (changedAt.get(id) ?? 0) > asked;
  try {
    const list = await client.listThreads();
    setState((s) => {
      const current = new Map(s.threads.map((t) => [t.id, t]));
      const listed = new Set(list.map((t) => t.id));
      const threads: Thread[] = [];
      for (const t of list) {
        const mine = current.get(t.id);
        if (changedSince(t.id) && !mine) continue; // deleted since the list was asked for
        threads.push(notOlder(t, mine) ? t : mine!);
      }
      for (const t of s.threads) if (!listed.has(t.id) && changedSince(t.id)) threads.push(t); // made since
      return { threads: sortThreads(threads) };
    });
  } catch (e) {
    report(e);
  }
}

const LAST_MODEL = 'jan.lastModel';

/** Remembers the model of the last chat sent (this browser): the next new chat starts with it. */
export function rememberModel(id: string): void {
  try {
    localStorage.setItem(LAST_MODEL, id);
  } catch {
    // storage off: new chats start with the default pick
  }
}

function lastModel(): string | null {
  try {
    return localStorage.getItem(LAST_MODEL);
  } catch {
    return null;
  }
}

/** Whether a model looks made for chat (an instruct or chat tune), by its id and name. */
export function looksLikeChat(m: Model): boolean {
  return /(instruct|chat|[-_.]it\b|\bit[-_.]|assistant|hermes)/i.test(`${m.id} ${m.name ?? ''}`);
}

/**
 * The model a new chat gets when its own is not (or no longer) among `models`: its assistant's, when downloaded
 * (the assistant may have been picked before the models were known), else the last one used here, else the first
 * that looks made for chat (never a base model only because its name sorts first), else the first.
 */
function draftWithModels(s: AppState, models: Model[]): Draft {
  if (models.some((m) => m.id === s.draft.modelId)) return s.draft;
  const listed = (id: string | null | undefined) => (id && models.some((m) => m.id === id) ? id : undefined);
  const wanted = s.assistants.find((a) => a.id === s.draft.assistantId)?.model;
  const modelId = listed(wanted) ?? listed(lastModel()) ?? models.find(looksLikeChat)?.id ?? models[0]?.id ?? '';
  return { ...s.draft, modelId };
}

export async function refreshModels(): Promise<void> {
  try {
    const models = await client.listModels();
    setState((s) => ({ models, draft: draftWithModels(s, models) }));
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

/**
 * Changes what the next new chat starts with. Each change is applied to the store's draft as it is now (one field
 * at a time: a change never writes back a copy of other fields read earlier), synchronously, so a chat sent right
 * after it gets it.
 */
export function updateDraft(change: (draft: Draft) => Draft): void {
  setState((s) => ({ draft: change(s.draft) }));
}

/** Each thread's settings changes, in the order made; a thread's entry is there while one is on its way. */
const settingsSaves = new Map<string, Promise<void>>();

/**
 * Saves a change to a thread's settings (model, parameters, instructions). `change` builds the update from the
 * thread as the store has it when the change's turn comes: after the thread's earlier changes were saved, so one
 * change never undoes another. Failures are reported; the returned promise settles when this change is done, with
 * whether it was saved.
 */
export function saveThreadSettings(id: string, change: (thread: Thread) => ThreadUpdate): Promise<boolean> {
  const saving = (settingsSaves.get(id) ?? Promise.resolve()).then(async () => {
    const thread = getState().threads.find((t) => t.id === id) ?? (await client.getThread(id));
    putThread(await client.updateThread(id, change(thread)));
    return true;
  });
  const result = saving.catch((e: unknown) => {
    report(e);
    return false;
  });
  const save = result.then(() => undefined);
  settingsSaves.set(id, save);
  void save.then(() => {
    if (settingsSaves.get(id) === save) settingsSaves.delete(id);
  });
  return result;
}

/** Resolves when the thread's settings changes made so far are saved: a reply asked for after that uses them. */
export function threadSettingsSaved(id: string): Promise<void> {
  return settingsSaves.get(id) ?? Promise.resolve();
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
      putThread(event.thread);
      break;
    case 'thread_deleted':
      removeThread(event.thread_id);
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
    if (connection === 'unauthorized') {
      report(new JanError('The session has ended.', 'unauthorized', 401));
      setState({ connection: 'closed' });
      return;
    }
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
