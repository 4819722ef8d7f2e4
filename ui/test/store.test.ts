// The store's state machine without a server: a fake client stands in for the middleware, so each test drives the
// store by hand (load, core events, connection changes, failures) and checks what the screens would show.

import { afterEach, beforeEach, describe as group, expect, it, vi } from 'vitest';
import type { JanEvent, Model, Thread, ThreadUpdate } from '../src/middleware';

type Store = typeof import('../src/store');

/** What start() reads, per test; the fake client answers with these. */
const data = {
  threads: [] as Thread[],
  models: [] as Model[],
  assistants: [{ id: 'jan', name: 'Jan' }] as { id: string; name: string; model?: string; instructions?: string }[],
  downloads: [] as unknown[],
};
let emit: (e: JanEvent) => void = () => undefined;
let setConnection: (state: 'connecting' | 'open' | 'closed' | 'unauthorized') => void = () => undefined;
const fake = {
  capabilities: { login: true, apiKeys: true },
  listThreads: vi.fn(async () => data.threads),
  listModels: vi.fn(async () => data.models),
  listAssistants: vi.fn(async () => data.assistants),
  listDownloads: vi.fn(async () => data.downloads),
  getThread: vi.fn(async (id: string) => data.threads.find((t) => t.id === id)!),
  updateThread: vi.fn(async (id: string, update: ThreadUpdate): Promise<Thread> => {
    const t = data.threads.find((x) => x.id === id)!;
    const a = { ...(t.assistants?.[0] ?? { assistant_id: 'jan' }) };
    if (update.model) a.model = update.model;
    if (update.instructions !== undefined) a.instructions = update.instructions;
    const next = { ...t, assistants: [a], updated: (t.updated ?? 0) + 1 };
    data.threads = data.threads.map((x) => (x.id === id ? next : x));
    return next;
  }),
  subscribe: vi.fn((listener: (e: JanEvent) => void, onState: (s: 'connecting' | 'open' | 'closed' | 'unauthorized') => void) => {
    emit = listener;
    setConnection = onState;
    return () => undefined;
  }),
};

let store: Store;
/** The fresh store's own JanError class (each test loads the modules anew, so `instanceof` needs this one). */
let JanError: typeof import('../src/middleware').JanError;
beforeEach(async () => {
  vi.resetModules();
  vi.doMock('../src/client', () => ({ client: fake }));
  store = await import('../src/store');
  ({ JanError } = await import('../src/middleware'));
  Object.assign(data, {
    threads: [
      { id: 'old', title: 'Old', updated: 1 },
      { id: 'new', title: 'New', updated: 5 },
    ],
    models: [{ id: 'gemma' }, { id: 'qwen' }] as Model[],
    assistants: [{ id: 'jan', name: 'Jan' }],
    downloads: [],
  });
  for (const f of [fake.listThreads, fake.listModels, fake.listAssistants, fake.listDownloads]) f.mockClear();
  fake.updateThread.mockClear();
  fake.capabilities.login = true;
});
afterEach(() => {
  vi.useRealTimers();
  vi.doUnmock('../src/client');
});

const texts = () => store.getState().notices.map((n) => `${n.kind}: ${n.text}`);
const settle = () => new Promise((r) => setTimeout(r, 0));
/** A thread as the core sends it, with these fields. */
const thread = (t: Partial<Thread> & { id: string }): Thread => ({ object: 'thread', title: '', assistants: [], ...t });

group('describe: each failure as a sentence and where to act on it', () => {
  it('says the server cannot be reached', () => {
    const d = store.describe(new JanError('The server cannot be reached (fetch failed).', 'unreachable'));
    expect(d).toEqual({ text: 'The server cannot be reached. Check that jan-server is running; retrying…' });
  });

  it('says a 401 means logging in again, and a wrong password as such', () => {
    expect(store.describe(new JanError('Log in first', 'unauthorized', 401)).text).toBe(
      'You are no longer logged in. Log in again to continue.',
    );
    expect(store.describe(new JanError('bad', 'invalid_credentials', 401)).text).toBe('Wrong username or password.');
  });

  it('says a full queue (429) means waiting, with the wait when the server gave one', () => {
    const busy = new JanError('the model is busy and its queue is full; try again shortly', 'overloaded', 429);
    expect(store.describe(busy)).toEqual({
      text: 'The server is busy (its queue is full). Wait a moment and try again.',
    });
    const timed = new JanError('busy', 'overloaded', 429, 'rate_limit_error', 7);
    expect(store.describe(timed).text).toBe('The server is busy (its queue is full). Try again in 7 s.');
    expect(store.describe(new JanError('slow down', 'too_many_attempts', 429, undefined, 30)).text).toBe(
      'Too many failed logins. Try again in 30 s.',
    );
  });

  it('says a model failed to load, with a link to pick another', () => {
    const pick = { href: '#/hub', label: 'Pick another model' };
    const gguf = new JanError('not a valid GGUF file: llama.block_count is missing', 'invalid_gguf', 400);
    expect(store.describe(gguf)).toEqual({
      text: 'The model failed to load: not a valid GGUF file: llama.block_count is missing',
      link: pick,
    });
    expect(store.describe(new JanError('weights failed to load', 'engine_error', 500)).link).toEqual(pick);
    expect(store.describe(new JanError('truncated tensor data', 'corrupt_file', 400)).link).toEqual(pick);
  });

  it('sends a missing model and a full disk to the Hub, a failing remote engine to Settings', () => {
    expect(store.describe(new JanError("The model 'x' does not exist", 'model_not_found', 404))).toEqual({
      text: "Model not found: The model 'x' does not exist",
      link: { href: '#/hub', label: 'Open the Hub' },
    });
    expect(store.describe(new JanError('need 4 GB', 'disk_full', 507)).link?.href).toBe('#/hub');
    expect(store.describe(new JanError('401 from upstream', 'upstream_error', 502)).link?.href).toBe('#/settings');
  });

  it('keeps the message of anything else', () => {
    expect(store.describe(new JanError('thread not found', 'not_found', 404))).toEqual({ text: 'thread not found' });
    expect(store.describe(new Error('boom'))).toEqual({ text: 'boom' });
    expect(store.describe('plain')).toEqual({ text: 'plain' });
  });

  it('says why a download failed, with a way to retry', () => {
    const retry = { href: '#/hub', label: 'Retry in the Hub' };
    expect(store.describeDownloadFailure('m', 'network', 'connection reset')).toEqual({
      text: "Download of m failed: the model's source could not be reached (connection reset).",
      link: retry,
    });
    expect(store.describeDownloadFailure('m', 'checksum_mismatch', 'x').text).toMatch(/corrupted/);
    expect(store.describeDownloadFailure('m', 'disk_full', 'need 4 GB').link.label).toBe('Delete models in the Hub');
    expect(store.describeDownloadFailure('m', 'io', 'oops')).toEqual({ text: 'Download of m failed: oops', link: retry });
  });
});

group('notices', () => {
  it('keeps the last four, once each; info goes away after 4 s, errors stay', () => {
    vi.useFakeTimers();
    for (const t of ['a', 'b', 'c', 'd', 'e']) store.notify(t, 'error');
    store.notify('c', 'error');
    expect(texts()).toEqual(['error: b', 'error: d', 'error: e', 'error: c']);
    store.notify('saved');
    expect(texts()).toHaveLength(4);
    vi.advanceTimersByTime(3999);
    expect(texts()).toContain('info: saved');
    vi.advanceTimersByTime(1);
    expect(texts()).not.toContain('info: saved');
    store.dismiss(store.getState().notices[0].id);
    expect(texts()).toEqual(['error: e', 'error: c']);
  });

  it('report: ignores aborts, sends a lost session to the login, shows the rest with their link', () => {
    store.report(new DOMException('stopped', 'AbortError'));
    expect(texts()).toEqual([]);
    store.report(new JanError('Log in first', 'unauthorized', 401));
    expect(store.getState().needLogin).toBe(true);
    expect(texts()).toEqual([]);
    store.report(new JanError('bad gguf', 'invalid_gguf', 400));
    expect(store.getState().notices.at(-1)).toMatchObject({
      kind: 'error',
      text: 'The model failed to load: bad gguf',
      link: { href: '#/hub', label: 'Pick another model' },
    });
  });

  it('report: without a login (the desktop) a 401 is shown, not a login screen', () => {
    fake.capabilities.login = false;
    store.report(new JanError('nope', 'unauthorized', 401));
    expect(store.getState().needLogin).toBe(false);
    expect(texts()).toEqual(['error: You are no longer logged in. Log in again to continue.']);
  });
});

group('start and the core events', () => {
  it('loads threads (newest first), models (the first picked for a new chat), downloads and assistants', async () => {
    data.downloads = [
      { download_id: 'd1', model_id: 'qwen', file_name: 'q.gguf', transferred: 5, total: 10, bytes_per_second: 2 },
    ];
    await store.start();
    const s = store.getState();
    expect(s.loaded).toBe(true);
    expect(s.threads.map((t) => t.id)).toEqual(['new', 'old']);
    expect(s.draft.modelId).toBe('gemma');
    expect(s.assistants.map((a) => a.id)).toEqual(['jan']);
    expect(s.downloads.qwen).toEqual({
      downloadId: 'd1', modelId: 'qwen', fileName: 'q.gguf', transferred: 5, total: 10, bytesPerSecond: 2,
    });
  });

  it('an event stream refused with 401 (a session ended by a restart) leads to the login, which says why', async () => {
    await store.start();
    setConnection('unauthorized');
    expect(store.getState().needLogin).toBe(true);
    expect(store.getState().loginReason).toMatch(/session has ended/);
    expect(store.getState().connection).toBe('closed');
    expect(texts()).toEqual([]);
  });

  it('while the events are down, an unreachable server is said by the top bar only, not again as a notice', async () => {
    await store.start();
    setConnection('closed');
    store.report(new JanError('The server cannot be reached (x).', 'unreachable'));
    expect(texts()).toEqual([]);
    store.report(new JanError('bad gguf', 'invalid_gguf', 400));
    expect(texts()).toHaveLength(1);
  });

  it("a new chat's model: the last one used here, else one made for chat, never a base model for sorting first", async () => {
    const kept = new Map<string, string>();
    vi.stubGlobal('localStorage', {
      getItem: (k: string) => kept.get(k) ?? null,
      setItem: (k: string, v: string) => void kept.set(k, v),
      removeItem: (k: string) => void kept.delete(k),
    });
    data.models = [{ id: 'aaa-base-7b' }, { id: 'qwen2.5-0.5b-instruct' }, { id: 'zz-chat' }] as Model[];
    await store.start();
    expect(store.getState().draft.modelId).toBe('qwen2.5-0.5b-instruct');
    store.rememberModel('zz-chat');
    store.setState((s) => ({ draft: { ...s.draft, modelId: 'gone' } }));
    await store.refreshModels();
    expect(store.getState().draft.modelId).toBe('zz-chat');
    vi.unstubAllGlobals();
  });

  it('a failed load shows its error and still ends loading', async () => {
    fake.listThreads.mockRejectedValueOnce(new JanError('The server cannot be reached (x).', 'unreachable'));
    await store.start();
    expect(store.getState().loaded).toBe(true);
    expect(texts()).toEqual(['error: The server cannot be reached. Check that jan-server is running; retrying…']);
  });

  it('follows thread events, and hands every event to onEvent listeners', async () => {
    await store.start();
    const seen: string[] = [];
    const off = store.onEvent((e) => seen.push(e.type));
    emit({ type: 'thread_updated', thread: { id: 'old', object: 'thread', title: 'Renamed', updated: 9, assistants: [] } });
    expect(store.getState().threads.map((t) => `${t.id}:${t.title}`)).toEqual(['old:Renamed', 'new:New']);
    emit({ type: 'thread_updated', thread: { id: 'made', object: 'thread', title: 'Made', updated: 3, assistants: [] } });
    expect(store.getState().threads.map((t) => t.id)).toEqual(['old', 'new', 'made']);
    emit({ type: 'thread_deleted', thread_id: 'old' });
    expect(store.getState().threads.map((t) => t.id)).toEqual(['new', 'made']);
    off();
    emit({ type: 'thread_deleted', thread_id: 'made' });
    expect(seen).toEqual(['thread_updated', 'thread_updated', 'thread_deleted']);
  });

  it('downloads: progress, done (listed, models re-read), cancelled (info) and failed (error with a retry)', async () => {
    await store.start();
    emit({
      type: 'download_progress', download_id: 'd', model_id: 'm', file_name: 'm.gguf',
      transferred: 40, total: 100, bytes_per_second: 8,
    } as JanEvent);
    expect(store.getState().downloads.m).toMatchObject({ transferred: 40, total: 100, bytesPerSecond: 8 });
    fake.listModels.mockClear();
    data.models = [...data.models, { id: 'm' } as Model];
    emit({ type: 'download_done', download_id: 'd', model_id: 'm' });
    expect(store.getState().downloads).toEqual({});
    expect(texts()).toEqual(['info: m is downloaded and ready.']);
    await settle();
    expect(fake.listModels).toHaveBeenCalledOnce();
    expect(store.getState().models.map((x) => x.id)).toContain('m');

    emit({ type: 'download_progress', download_id: 'd2', model_id: 'n', file_name: 'n', transferred: 1, total: null, bytes_per_second: 0 } as JanEvent);
    emit({ type: 'download_failed', download_id: 'd2', model_id: 'n', code: 'cancelled', message: 'cancelled' });
    expect(store.getState().downloads).toEqual({});
    expect(texts().at(-1)).toBe('info: Download of n cancelled.');
    emit({ type: 'download_failed', download_id: 'd3', model_id: 'n', code: 'http_status', message: 'HTTP 404' });
    expect(store.getState().notices.at(-1)).toMatchObject({
      kind: 'error',
      text: "Download of n failed: the model's source could not be reached (HTTP 404).",
      link: { href: '#/hub', label: 'Retry in the Hub' },
    });
  });

  it('model state: loading with its percentage, ready, failed (with a notice)', async () => {
    await store.start();
    const state = (st: unknown) => emit({ type: 'model_state', model_id: 'gemma', state: st } as JanEvent);
    state({ state: 'loading', progress: 0.4 });
    expect(store.getState().modelStates.gemma).toBe('loading 40%');
    state({ state: 'ready' });
    expect(store.getState().modelStates.gemma).toBe('ready');
    state({ state: 'failed', message: 'out of memory' });
    expect(store.getState().modelStates.gemma).toBe('failed: out of memory');
    expect(store.getState().notices.at(-1)).toMatchObject({
      text: 'The model gemma failed to load: out of memory',
      link: { href: '#/hub', label: 'Pick another model' },
    });
  });

  it('re-reads everything after a reconnection or lagging, not on the first open', async () => {
    await store.start();
    const calls = () => [fake.listThreads, fake.listModels, fake.listAssistants].map((f) => f.mock.calls.length);
    setConnection('open');
    expect(store.getState().connection).toBe('open');
    expect(calls()).toEqual([1, 1, 1]);
    setConnection('closed');
    expect(store.getState().connection).toBe('closed');
    setConnection('open');
    expect(calls()).toEqual([2, 2, 2]);
    emit({ type: 'lagged', missed: 3 });
    expect(calls()).toEqual([3, 3, 3]);
  });

  it('model changes: a new chat keeps its model while it exists, else takes the first', async () => {
    await store.start();
    store.setState((s) => ({ draft: { ...s.draft, modelId: 'qwen' } }));
    emit({ type: 'model_updated', model_id: 'gemma' });
    await settle();
    expect(store.getState().draft.modelId).toBe('qwen');
    data.models = [{ id: 'gemma' } as Model];
    emit({ type: 'model_deleted', model_id: 'qwen' });
    await settle();
    expect(store.getState().draft.modelId).toBe('gemma');
  });
});

group('assistants for a new chat', () => {
  it('chooseAssistant takes its instructions, and its model when downloaded', async () => {
    await store.start();
    store.chooseAssistant({ id: 'coder', object: 'assistant', name: 'Coder', model: 'qwen', instructions: 'Write code.' });
    expect(store.getState().draft).toMatchObject({ assistantId: 'coder', modelId: 'qwen', instructions: 'Write code.' });
    store.chooseAssistant({ id: 'any', object: 'assistant', name: 'Any', model: '*' });
    expect(store.getState().draft).toMatchObject({ assistantId: 'any', modelId: 'qwen', instructions: '' });
    store.chooseAssistant({ id: 'gone', object: 'assistant', name: 'Gone', model: 'not-downloaded' });
    expect(store.getState().draft.modelId).toBe('qwen');
  });

  it('a deleted assistant is no longer the new chat\'s', async () => {
    data.assistants = [{ id: 'jan', name: 'Jan' }, { id: 'coder', name: 'Coder' }];
    await store.start();
    store.chooseAssistant({ id: 'coder', object: 'assistant', name: 'Coder' });
    await store.refreshAssistants();
    expect(store.getState().draft.assistantId).toBe('coder');
    data.assistants = [{ id: 'jan', name: 'Jan' }];
    await store.refreshAssistants();
    expect(store.getState().draft.assistantId).toBeUndefined();
    expect(store.getState().assistants.map((a) => a.id)).toEqual(['jan']);
  });
});

/** A promise and its resolve, for answers that land when the test says. */
function later<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

group('answers that land late', () => {
  it('a thread list asked for before a change does not undo it when it lands after', async () => {
    await store.start();
    const stale = later<Thread[]>();
    fake.listThreads.mockReturnValueOnce(stale.promise);
    const refreshing = store.refreshThreads();
    const listed = data.threads.map((t) => ({ ...t }));
    store.putThread(thread({ id: 'old', title: 'Renamed', updated: 7 }));
    emit({ type: 'thread_updated', thread: thread({ id: 'made', title: 'Made', updated: 8 }) });
    emit({ type: 'thread_deleted', thread_id: 'new' });
    stale.resolve(listed); // old (updated 1) and new: both from before the changes
    await refreshing;
    expect(store.getState().threads.map((t) => `${t.id}:${t.title}`)).toEqual(['made:Made', 'old:Renamed']);
    // A later list is taken as it is.
    data.threads = [thread({ id: 'old', title: 'Again', updated: 9 })];
    await store.refreshThreads();
    expect(store.getState().threads.map((t) => `${t.id}:${t.title}`)).toEqual(['old:Again']);
  });

  it('an event carrying an older copy of a thread is ignored', async () => {
    await store.start();
    store.putThread(thread({ id: 'new', title: 'Newer', updated: 20 }));
    emit({ type: 'thread_updated', thread: thread({ id: 'new', title: 'Older', updated: 10 }) });
    expect(store.getState().threads.find((t) => t.id === 'new')?.title).toBe('Newer');
  });

  it('thread settings: each change is built on the one before, and a reply can wait for them', async () => {
    data.threads = [thread({ id: 't', updated: 1, assistants: [{ assistant_id: 'jan', model: { id: 'gemma', parameters: { max_tokens: 24 } } }] })];
    await store.start();
    const first = later<void>();
    const answer = fake.updateThread.getMockImplementation()!;
    fake.updateThread.mockImplementationOnce(async (id, update) => {
      await first.promise;
      return answer(id, update);
    });
    const withTemperature = (t: Thread) => ({
      model: { ...t.assistants![0].model!, parameters: { ...t.assistants![0].model!.parameters, temperature: 0.5 } },
    });
    const withMaxTokens = (t: Thread) => ({
      model: { ...t.assistants![0].model!, parameters: { ...t.assistants![0].model!.parameters, max_tokens: 8 } },
    });
    void store.saveThreadSettings('t', withTemperature);
    void store.saveThreadSettings('t', withMaxTokens);
    let saved = false;
    void store.threadSettingsSaved('t').then(() => (saved = true));
    await settle();
    expect(saved).toBe(false);
    expect(fake.updateThread).toHaveBeenCalledTimes(1);
    first.resolve();
    await store.threadSettingsSaved('t');
    expect(fake.updateThread).toHaveBeenCalledTimes(2);
    const parameters = store.getState().threads.find((t) => t.id === 't')?.assistants?.[0].model?.parameters;
    expect(parameters).toEqual({ max_tokens: 8, temperature: 0.5 });
    expect(await Promise.race([store.threadSettingsSaved('t').then(() => 'done'), settle().then(() => 'waiting')])).toBe('done');
  });

  it('a failed settings change is reported and does not stop the next', async () => {
    data.threads = [thread({ id: 't', updated: 1 })];
    await store.start();
    fake.updateThread.mockRejectedValueOnce(new JanError('disk full', 'disk_full', 507));
    void store.saveThreadSettings('t', () => ({ instructions: 'a' }));
    await store.saveThreadSettings('t', () => ({ instructions: 'b' }));
    expect(texts()).toEqual(['error: Not enough disk space: disk full']);
    expect(store.getState().threads[0].assistants?.[0].instructions).toBe('b');
  });

  it('an assistant picked before the models are known gets its model when they come', async () => {
    data.assistants = [{ id: 'jan', name: 'Jan' }, { id: 'coder', name: 'Coder', model: 'qwen' }];
    const models = later<Model[]>();
    fake.listModels.mockReturnValueOnce(models.promise);
    const starting = store.start();
    let loaded = false;
    void store.whenLoaded().then(() => (loaded = true));
    await settle();
    store.chooseAssistant(store.getState().assistants[1]);
    expect(store.getState().draft.modelId).toBe('');
    store.updateDraft((d) => ({ ...d, parameters: { max_tokens: 8 } }));
    expect(loaded).toBe(false);
    models.resolve([{ id: 'gemma' }, { id: 'qwen' }] as Model[]);
    await starting;
    expect(loaded).toBe(true);
    expect(store.getState().draft).toMatchObject({ assistantId: 'coder', modelId: 'qwen', parameters: { max_tokens: 8 } });
  });
});
