// src/ipc.js under plain Node: a stand-in ipcMain calls the handler as Electron would (structured clone both ways),
// backed by the REAL addon on a fresh data folder with the real Gemma 3 270M test model.

'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { registerIpc, IPC_METHODS, CHANNELS } = require('../src/ipc');
const {
  loadAddon,
  testModel,
  tempDir,
  contractMethods,
  fakeIpcMain,
  tinyGguf,
  messageText,
  until,
} = require('./helpers');

/** The core's code -> HTTP status and OpenAI type table, which the UI reads (ipc.js sends codes only). */
const ERROR_CODES = require('../../bindings-node/error-codes.json');
const APP_URL = 'file:///opt/Jan/resources/ui/index.html#/';
const GEMMA = 'gemma-3-270m';
/** A catalog entry downloaded from the stalled hub below. */
const CATALOG_GEMMA = 'gemma3-270m-q4_k_m';

/** @type {any} */ let jan;
/** @type {ReturnType<typeof fakeIpcMain>} */ let ipcMain;
/** @type {ReturnType<typeof registerIpc>} */ let ipc;
/** Everything `send` got: [channel, ...payload]. @type {any[][]} */ const sent = [];
/** Internal failures logged by ipc.js. @type {unknown[][]} */ const logged = [];
/** The methods called through the handler. */ const called = new Set();
/** @type {string} */ let dataFolder;
/** @type {{url: string, close(): Promise<void>, requests: number}} */ let hub;
/** @type {any} */ let imported;

/** Calls the handler as the app's page would. */
async function call(method, ...args) {
  called.add(method);
  return ipcMain.invoke(method, args);
}

/** Calls and expects `{ok: true}`; returns the value. */
async function ok(method, ...args) {
  const result = await call(method, ...args);
  assert.equal(result.ok, true, `${method} failed: ${JSON.stringify(result.error)}`);
  return result.value;
}

/**
 * Calls and expects `{ok: false}` with `code` (whose status in the core's table is `status`); returns the error
 * with the table's `status` and `type` added, as the UI reads it.
 */
async function fails(method, args, code, status) {
  called.add(method);
  const result = await ipcMain.invoke(method, args);
  assert.equal(result.ok, false, `${method}(${JSON.stringify(args)}) should fail with ${code}`);
  assert.deepEqual(Object.keys(result.error).filter((k) => k !== 'param').sort(), ['code', 'message']);
  assert.equal(result.error.code, code, `${method}: ${JSON.stringify(result.error)}`);
  assert.ok(ERROR_CODES[code], `${code} is one of the core's codes`);
  Object.assign(result.error, ERROR_CODES[code]);
  if (status !== undefined) assert.equal(result.error.status, status);
  assert.equal(typeof result.error.message, 'string');
  assert.ok(result.error.message.length > 0);
  assert.equal(typeof result.error.type, 'string');
  return result.error;
}

const events = (type) => sent.filter(([ch, ev]) => ch === CHANNELS.event && ev.type === type).map(([, ev]) => ev);
const replyEvents = (streamId) => sent.filter(([ch, id]) => ch === CHANNELS.reply && id === streamId).map(([, , ev]) => ev);
const importDirs = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('jan-import-'));

/** A hub mirror that answers a download with headers and 1 KiB, then holds the connection: it stays in flight. */
function stalledHub() {
  return new Promise((resolve) => {
    const state = { requests: 0 };
    const server = http.createServer((req, res) => {
      state.requests++;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(253_113_024) });
      res.write(Buffer.alloc(1024));
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      resolve({
        url: `http://127.0.0.1:${port}`,
        get requests() {
          return state.requests;
        },
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

before(async () => {
  const { Jan } = loadAddon();
  const model = testModel();
  dataFolder = tempDir();
  hub = await stalledHub();
  jan = await Jan.open({ dataFolder, hubUrl: hub.url });
  ipcMain = fakeIpcMain(APP_URL);
  ipc = registerIpc({
    ipcMain,
    jan,
    send: (channel, ...payload) => sent.push([channel, ...structuredClone(payload)]),
    isTrustedSender: (event) => event.senderFrame?.url === APP_URL && event.senderFrame.parent === null,
    log: (...args) => logged.push(args),
  });
  imported = await ok('importModel', { fileName: path.basename(model), id: GEMMA, name: 'Gemma (IPC test)', path: model });
});

after(async () => {
  ipc?.dispose();
  await hub?.close();
  if (dataFolder) fs.rmSync(dataFolder, { recursive: true, force: true });
});

test('the handled methods are exactly the UI contract\'s IPC_METHODS', () => {
  assert.deepEqual([...IPC_METHODS], contractMethods());
  assert.ok(ipcMain.handlers.has('jan:invoke'));
  assert.equal(ipcMain.handlers.size, 1);
});

test('the desktop has no login and no API keys', async () => {
  assert.deepEqual(await ok('session'), { login_required: false, authenticated: true });
  await fails('login', ['admin', 'secret'], 'login_not_configured', 400);
  assert.equal(await ok('logout'), null);
  await fails('listApiKeys', [], 'unsupported', 422);
  await fails('createApiKey', ['my key'], 'unsupported', 422);
  await fails('createApiKey', [''], 'unsupported', 422);
  await fails('revokeApiKey', ['key-1'], 'unsupported', 422);
});

test('importModel with a path copies the file into the data folder', async () => {
  assert.equal(imported.id, GEMMA);
  assert.equal(imported.name, 'Gemma (IPC test)');
  assert.ok(fs.existsSync(testModel()), 'the source file is left in place (copied, not moved)');
  assert.ok(fs.existsSync(path.join(dataFolder, 'models', GEMMA, path.basename(testModel()))));
  const models = await ok('listModels');
  assert.ok(Array.isArray(models));
  assert.ok(models.some((m) => m.id === GEMMA));
  const model = await ok('getModel', GEMMA);
  assert.equal(model.id, GEMMA);
  assert.equal(typeof model.settings?.ctx_len, 'number');
});

test('importModel with the bytes (ArrayBuffer or typed array) goes through a temp file that is always removed', async () => {
  const before = importDirs();
  const bytes = tinyGguf('Tiny IPC model');
  const model = await ok('importModel', { fileName: 'tiny-ipc.gguf', data: bytes.buffer.slice(0) });
  assert.equal(model.name, 'Tiny IPC model');
  assert.equal(model.id, 'tiny-ipc');
  const second = await ok('importModel', { fileName: 'Tiny Two.GGUF', id: 'tiny-two', name: 'Second', data: tinyGguf('x') });
  assert.equal(second.id, 'tiny-two');
  assert.equal(second.name, 'Second');
  assert.deepEqual(importDirs(), before, 'no temp folder left behind');

  // Not a GGUF: the core refuses it, and the temp folder still goes.
  const error = await fails('importModel', [{ fileName: 'junk.gguf', data: new TextEncoder().encode('not a gguf').buffer }], 'invalid_gguf', 400);
  assert.match(error.message, /gguf/i);
  assert.deepEqual(importDirs(), before, 'no temp folder left behind after a failure');

  // An id that exists already.
  await fails('importModel', [{ fileName: 'tiny-ipc.gguf', data: bytes }], 'conflict', 409);
  assert.deepEqual(importDirs(), before);

  const deleted = await ok('deleteModel', 'tiny-ipc');
  assert.equal(deleted.id, 'tiny-ipc');
  assert.equal(deleted.deleted, true);
  await ok('deleteModel', 'tiny-two');
  const models = await ok('listModels');
  assert.ok(!models.some((m) => m.id === 'tiny-ipc' || m.id === 'tiny-two'));
  await fails('getModel', ['tiny-ipc'], 'model_not_found', 404);
  await fails('deleteModel', ['tiny-ipc'], 'model_not_found', 404);
  await until(() => events('model_deleted').some((e) => e.model_id === 'tiny-ipc'), 'a model_deleted event');
});

test('errors carry the core\'s code, the HTTP status and the OpenAI type', async () => {
  const thread = await fails('getThread', ['no-such-thread'], 'not_found', 404);
  assert.equal(thread.type, 'not_found_error');
  await fails('listMessages', ['no-such-thread'], 'not_found', 404);
  await fails('deleteThread', ['no-such-thread'], 'not_found', 404);
  const model = await fails('getModel', ['no-such-model'], 'model_not_found', 404);
  assert.equal(model.type, 'invalid_request_error');
  await fails('startModel', ['no-such-model'], 'model_not_found', 404);
  await fails('downloadModel', ['no-such-model'], 'model_not_found', 404);
  // An id the core refuses to turn into a path.
  await fails('getThread', ['../etc'], 'invalid_id', 400);
  assert.deepEqual(logged, [], 'client errors are not logged as internal failures');
});

test('models: start and stop', async () => {
  const started = await ok('startModel', GEMMA);
  assert.equal(started.state, 'ready');
  // Events travel apart from the call's answer: the `ready` one may land just after it.
  const states = () => events('model_state').filter((e) => e.model_id === GEMMA).map((e) => e.state.state);
  await until(() => states().includes('ready'), 'a model_state ready event on jan:event');
  assert.equal(states()[0], 'loading', `loading first (${states()})`);
  const system = await ok('system');
  assert.ok(system.loaded_models.some((m) => m.model_id === GEMMA), 'the system monitor lists the loaded model');
  const stopped = await ok('stopModel', GEMMA);
  assert.equal(stopped.state, 'stopped');
  assert.equal((await ok('stopModel', GEMMA)).state, 'stopped', 'stopping a stopped model is fine');
  await until(() => states().at(-1) === 'stopped', 'a model_state stopped event');
});

test('catalog and downloads: start, list, cancel', async () => {
  const catalog = await ok('catalog');
  assert.ok(Array.isArray(catalog) && catalog.length > 0);
  for (const entry of catalog) assert.ok(['downloaded', 'downloading', 'available'].includes(entry.status), entry.id);
  assert.ok(catalog.some((m) => m.id === CATALOG_GEMMA));

  const started = await ok('downloadModel', CATALOG_GEMMA);
  assert.equal(started.model_id, CATALOG_GEMMA);
  assert.equal(typeof started.id, 'string');
  await until(() => hub.requests > 0, 'the download to reach the hub');
  const downloads = await ok('listDownloads');
  const mine = downloads.find((d) => d.download_id === started.id);
  assert.ok(mine, `listed: ${JSON.stringify(downloads)}`);
  assert.equal(mine.model_id, CATALOG_GEMMA);
  assert.equal(typeof mine.transferred, 'number');
  assert.equal((await ok('catalog')).find((m) => m.id === CATALOG_GEMMA).status, 'downloading');

  assert.deepEqual(await ok('cancelDownload', started.id), { id: started.id, object: 'download', cancelled: true });
  await until(() => events('download_failed').some((e) => e.download_id === started.id), 'download_failed after cancel');
  const failed = events('download_failed').find((e) => e.download_id === started.id);
  assert.equal(failed.code, 'cancelled');
  assert.ok(!(await ok('listDownloads')).some((d) => d.download_id === started.id));
  await fails('cancelDownload', ['no-such-download'], 'not_found', 404);
});

test('threads and messages: create, read, update, delete; events forwarded', async () => {
  const bare = await ok('createThread');
  assert.equal(typeof bare.id, 'string');
  const thread = await ok('createThread', { title: 'IPC thread', metadata: { from: 'ipc.test' } });
  assert.equal(thread.title, 'IPC thread');
  assert.deepEqual(await ok('getThread', thread.id), thread);

  const renamed = await ok('updateThread', thread.id, { title: 'Renamed over IPC' });
  assert.equal(renamed.title, 'Renamed over IPC');
  await until(
    () => events('thread_updated').some((e) => e.thread.id === thread.id && e.thread.title === 'Renamed over IPC'),
    'a thread_updated event on jan:event',
  );
  assert.ok((await ok('listThreads')).some((t) => t.id === thread.id && t.title === 'Renamed over IPC'));

  const user = await ok('addMessage', thread.id, { role: 'user', content: 'first words' });
  assert.equal(user.role, 'user');
  assert.equal(user.thread_id, thread.id);
  assert.equal(messageText(user), 'first words');
  await until(() => events('message_created').some((e) => e.message.id === user.id), 'message_created');
  const edited = await ok('updateMessage', thread.id, user.id, { content: 'edited words' });
  assert.equal(messageText(edited), 'edited words');
  const listed = await ok('listMessages', thread.id);
  assert.deepEqual(listed.map((m) => [m.id, messageText(m)]), [[user.id, 'edited words']]);
  const gone = await ok('deleteMessage', thread.id, user.id);
  assert.equal(gone.deleted, true);
  assert.deepEqual(await ok('listMessages', thread.id), []);
  await fails('deleteMessage', [thread.id, user.id], 'not_found', 404);
  await fails('addMessage', [thread.id, { role: 'wizard', content: 'x' }], 'invalid_body', 400);

  const deleted = await ok('deleteThread', bare.id);
  assert.deepEqual([deleted.id, deleted.deleted], [bare.id, true]);
  await until(() => events('thread_deleted').some((e) => e.thread_id === bare.id), 'thread_deleted');
  await fails('getThread', [bare.id], 'not_found', 404);
  await ok('deleteThread', thread.id);
});

test('assistants: list, create, update, delete', async () => {
  const list = await ok('listAssistants');
  assert.ok(list.some((a) => a.id === 'jan'), 'the default assistant');
  const created = await ok('createAssistant', { name: 'IPC helper', instructions: 'Be brief.' });
  assert.equal(created.name, 'IPC helper');
  const updated = await ok('updateAssistant', created.id, { name: 'IPC helper 2' });
  assert.equal(updated.name, 'IPC helper 2');
  assert.equal((await ok('deleteAssistant', created.id)).deleted, true);
  await fails('updateAssistant', [created.id, { name: 'x' }], 'not_found', 404);
  const refused = await call('deleteAssistant', 'jan');
  assert.equal(refused.ok, false, 'the default assistant cannot be deleted');
  assert.equal(refused.error.code, 'forbidden', JSON.stringify(refused.error));
  assert.ok((await ok('listAssistants')).some((a) => a.id === 'jan'));
});

test('system and the remote engine settings', async () => {
  const system = await ok('system');
  assert.equal(typeof system.cpu.cores, 'number');
  assert.equal(typeof system.cpu.usage_percent, 'number');
  assert.ok(system.memory.total_bytes > 0);
  assert.ok(Array.isArray(system.gpus));
  const engine = await ok('getEngine', 'openai');
  assert.equal(engine.engine, 'openai');
  assert.equal(engine.api_key_set, false);
  const set = await ok('setEngine', 'openai', { full_url: 'https://example.invalid/v1/chat/completions', api_key: 'sk-ipc-test-123456' });
  assert.equal(set.full_url, 'https://example.invalid/v1/chat/completions');
  assert.equal(set.api_key_set, true);
  assert.ok(!set.api_key.includes('sk-ipc'), 'the key never comes back');
  const kept = await ok('setEngine', 'openai', { full_url: 'https://example.invalid/v2' });
  assert.equal(kept.api_key_set, true, 'no api_key: the key stays');
});

/** A thread on the Gemma test model with a user message, ready for a reply. */
async function chatThread(maxTokens, text = 'Hello! Who are you?') {
  const thread = await ok('createThread', { title: 'reply', model: { id: GEMMA, parameters: { max_tokens: maxTokens } } });
  await ok('addMessage', thread.id, { role: 'user', content: text });
  return thread;
}

test('reply: message, deltas, done on jan:reply in order, then the outcome; the text is saved', async () => {
  const thread = await chatThread(24);
  const t0 = Date.now();
  const outcome = await ok('reply', thread.id, 'stream-1');
  const seen = replyEvents('stream-1');
  // Every event was sent before the call answered.
  assert.deepEqual([...new Set(seen.map((e) => e.type))].join(' '), 'message delta done');
  assert.equal(seen[0].type, 'message');
  assert.equal(seen.at(-1).type, 'done');
  assert.ok(seen.slice(1, -1).every((e) => e.type === 'delta'), seen.map((e) => e.type).join(','));
  const deltas = seen.filter((e) => e.type === 'delta').map((e) => e.delta);
  assert.ok(deltas.length >= 2, `several deltas (${deltas.length})`);

  const pending = seen[0].message;
  assert.equal(pending.role, 'assistant');
  assert.equal(pending.status, 'pending');
  assert.equal(outcome.message_id, pending.id);
  assert.equal(outcome.stopped, false);
  assert.ok(['length', 'stop'].includes(outcome.finish_reason), outcome.finish_reason);
  assert.equal(outcome.message.id, pending.id);
  assert.equal(outcome.message.status, 'ready');
  assert.equal(messageText(outcome.message), deltas.join(''), 'the concatenated deltas are the saved text');
  assert.ok(outcome.usage.completion_tokens > 0 && outcome.usage.completion_tokens <= 24, JSON.stringify(outcome.usage));
  assert.equal(typeof outcome.timings.predicted_per_second, 'number');
  assert.deepEqual(Object.keys(outcome).sort(), ['finish_reason', 'message', 'message_id', 'stopped', 'timings', 'usage']);

  const saved = (await ok('listMessages', thread.id)).at(-1);
  assert.equal(saved.id, pending.id);
  assert.equal(saved.status, 'ready');
  assert.equal(messageText(saved), deltas.join(''));
  // The core's own events went out on jan:event too.
  assert.ok(events('message_created').some((e) => e.message.id === pending.id));
  assert.equal(events('message_delta').length, 0, 'tokens go to jan:reply only');
  assert.ok(events('message_updated').some((e) => e.message.id === pending.id && e.message.status === 'ready'));
  assert.equal(ipc.activeReplies, 0);
  console.log(`# reply: ${deltas.length} deltas in ${Date.now() - t0} ms`);
});

test('stopReply mid-generation: stopped: true, the message saved as stopped', async () => {
  const thread = await chatThread(400, 'Write a very long story about a cat.');
  const running = call('reply', thread.id, 'stream-2');
  await until(() => replyEvents('stream-2').filter((e) => e.type === 'delta').length >= 3, 'three deltas', 60_000);
  // The stream id is taken while the reply runs.
  await fails('reply', [thread.id, 'stream-2'], 'invalid_request', 400);
  assert.equal(await ok('stopReply', 'stream-2'), null);
  const result = await running;
  assert.equal(result.ok, true, JSON.stringify(result.error));
  const outcome = result.value;
  assert.equal(outcome.stopped, true);
  const deltas = replyEvents('stream-2').filter((e) => e.type === 'delta').map((e) => e.delta);
  assert.ok(deltas.length < 400, `stopped early (${deltas.length} deltas)`);
  const saved = (await ok('listMessages', thread.id)).at(-1);
  assert.equal(saved.id, outcome.message_id);
  assert.equal(saved.role, 'assistant');
  assert.equal(saved.status, 'stopped');
  assert.equal(messageText(saved), deltas.join(''));
  assert.equal(await ok('stopReply', 'stream-2'), null, 'stopping an ended reply is a no-op');
  assert.equal(ipc.activeReplies, 0);
});

test('stopReply right behind reply (before the generation exists) still stops it', async () => {
  const thread = await chatThread(400, 'Count from one to one hundred.');
  const running = call('reply', thread.id, 'stream-3');
  const stopped = call('stopReply', 'stream-3');
  assert.equal((await stopped).ok, true);
  const result = await running;
  assert.equal(result.ok, true, JSON.stringify(result.error));
  assert.equal(result.value.stopped, true);
  const saved = (await ok('listMessages', thread.id)).at(-1);
  assert.equal(saved.role, 'assistant');
  assert.equal(saved.status, 'stopped');
});

test('reply failures answer with the core\'s error and leave no stream behind', async () => {
  await fails('reply', ['no-such-thread', 'stream-4'], 'not_found', 404);
  const orphan = await ok('createThread', { title: 'no model', model: { id: 'no-such-model' } });
  await ok('addMessage', orphan.id, { role: 'user', content: 'hi' });
  // The core's own answer, as host-web's reply route gives it (the UI shows "Model not found" with a Hub link).
  const error = await fails('reply', [orphan.id, 'stream-5'], 'model_not_found', 404);
  assert.match(error.message, /model 'no-such-model'/);
  assert.equal(ipc.activeReplies, 0);
});

/** A core that must not be reached: every property access is recorded and fails. */
function untouchableJan() {
  const touched = [];
  const jan = new Proxy(
    {},
    {
      get(_target, key) {
        if (key === 'subscribe') return () => ({ close() {} });
        if (key === 'then') return undefined;
        touched.push(String(key));
        return () => {
          throw new Error(`the core was called: ${String(key)}`);
        };
      },
    },
  );
  return { jan, touched };
}

test('arguments are validated before the core is touched', async () => {
  const { jan: trap, touched } = untouchableJan();
  const main = fakeIpcMain(APP_URL);
  const checked = registerIpc({ ipcMain: main, jan: trap, send: () => {}, log: () => {} });
  const gguf = tinyGguf().buffer;
  /** @type {[unknown, unknown, string][]} method, args, expected code */
  const cases = [
    ['nope', [], 'unknown_method'],
    [42, [], 'unknown_method'],
    ['constructor', [], 'unknown_method'],
    ['__proto__', [], 'unknown_method'],
    ['hasOwnProperty', [], 'unknown_method'],
    ['listThreads', 'not an array', 'invalid_request'],
    ['listThreads', null, 'invalid_request'],
    ['listThreads', { 0: 'x' }, 'invalid_request'],
    ['listThreads', ['extra'], 'invalid_request'],
    ['getThread', [], 'invalid_request'],
    ['getThread', [''], 'invalid_request'],
    ['getThread', [42], 'invalid_request'],
    ['getThread', [{ id: 'x' }], 'invalid_request'],
    ['getThread', [null], 'invalid_request'],
    ['getThread', ['x'.repeat(5000)], 'invalid_request'],
    ['getThread', ['a', 'b'], 'invalid_request'],
    ['getModel', [['gemma']], 'invalid_request'],
    ['createThread', ['title'], 'invalid_request'],
    ['createThread', [[1, 2]], 'invalid_request'],
    ['createThread', [null], 'invalid_request'],
    ['createThread', [{}, {}], 'invalid_request'],
    ['updateThread', ['t'], 'invalid_request'],
    ['updateThread', ['t', []], 'invalid_request'],
    ['updateThread', ['t', new Date()], 'invalid_request'],
    ['addMessage', ['t', 'hello'], 'invalid_request'],
    ['addMessage', [undefined, { role: 'user', content: 'x' }], 'invalid_request'],
    ['updateMessage', ['t', 'm'], 'invalid_request'],
    ['deleteMessage', ['t'], 'invalid_request'],
    ['reply', ['t'], 'invalid_request'],
    ['reply', ['t', 5], 'invalid_request'],
    ['stopReply', [], 'invalid_request'],
    ['createAssistant', [], 'invalid_request'],
    ['createAssistant', ['jan'], 'invalid_request'],
    ['updateAssistant', ['a'], 'invalid_request'],
    ['getEngine', [3], 'invalid_request'],
    ['setEngine', ['openai'], 'invalid_request'],
    ['setEngine', ['openai', {}], 'invalid_request'],
    ['setEngine', ['openai', { full_url: 1 }], 'invalid_request'],
    ['setEngine', ['openai', { full_url: 'https://x', api_key: 3 }], 'invalid_request'],
    ['cancelDownload', [''], 'invalid_request'],
    ['revokeApiKey', [], 'invalid_request'],
    ['createApiKey', [7], 'invalid_request'],
    ['importModel', [], 'invalid_request'],
    ['importModel', ['x.gguf'], 'invalid_request'],
    ['importModel', [{ fileName: '../x.gguf', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: '..\\x.gguf', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: 'sub/x.gguf', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: '/etc/x.gguf', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.txt', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf.exe', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: '.gguf', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: '.hidden.gguf', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: 'a\u0000b.gguf', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: '', data: gguf }], 'invalid_request'],
    ['importModel', [{ data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf' }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf', path: '/tmp/x.gguf', data: gguf }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf', path: 'relative/x.gguf' }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf', path: 42 }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf', data: 'bytes as text' }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf', data: [1, 2, 3] }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf', data: gguf, id: '' }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf', data: gguf, name: 5 }], 'invalid_request'],
    ['importModel', [{ fileName: 'x.gguf', data: gguf, moveFile: true }], 'invalid_request'],
  ];
  for (const [method, args, code] of cases) {
    const result = await main.invoke(/** @type {any} */ (method), /** @type {any} */ (args));
    const what = `${String(method)}(${JSON.stringify(args)?.slice(0, 60)})`;
    assert.equal(result.ok, false, `${what} should fail`);
    assert.equal(result.error.code, code, `${what}: ${JSON.stringify(result.error)}`);
    assert.deepEqual(ERROR_CODES[code], { status: 400, type: 'invalid_request_error' }, what);
  }
  assert.deepEqual(touched, [], 'the core was never called');
  checked.dispose();
});

test('calls from an untrusted sender are refused before anything runs', async () => {
  const { jan: trap, touched } = untouchableJan();
  const main = fakeIpcMain(APP_URL);
  const guarded = registerIpc({
    ipcMain: main,
    jan: trap,
    send: () => {},
    isTrustedSender: (event) => event.senderFrame?.url === APP_URL,
  });
  for (const url of ['https://evil.example/', 'file:///tmp/other.html', 'about:blank']) {
    for (const [method, args] of [['listThreads', []], ['session', []], ['nope', []], ['getThread', [42]]]) {
      const result = await main.invoke(method, args, { url });
      assert.equal(result.ok, false);
      assert.deepEqual(result.error, { message: 'This page may not call Jan.', code: 'forbidden' });
    }
  }
  // A check that throws refuses too.
  const throwing = fakeIpcMain(APP_URL);
  const guarded2 = registerIpc({ ipcMain: throwing, jan: trap, send: () => {}, isTrustedSender: () => { throw new Error('no frame'); } });
  assert.equal((await throwing.invoke('session', [])).error.code, 'forbidden');
  assert.deepEqual(touched, []);
  // The app's own page is served.
  assert.deepEqual(await main.invoke('session', []), { ok: true, value: { login_required: false, authenticated: true } });
  guarded.dispose();
  guarded2.dispose();
  // Without a check, every sender is trusted.
  const open = fakeIpcMain(APP_URL);
  const unguarded = registerIpc({ ipcMain: open, jan: trap, send: () => {} });
  assert.equal((await open.invoke('session', [], { url: 'https://anywhere.example/' })).ok, true);
  unguarded.dispose();
});

test('core events are forwarded on jan:event until dispose()', async () => {
  const main = fakeIpcMain(APP_URL);
  /** @type {any[]} */
  const mine = [];
  const second = registerIpc({ ipcMain: main, jan, send: (channel, ...payload) => mine.push([channel, ...payload]) });
  const before = await jan.createThread({ title: 'before dispose' });
  await until(
    () => mine.some(([ch, ev]) => ch === 'jan:event' && ev.type === 'thread_updated' && ev.thread.id === before.id),
    'the thread_updated event',
  );
  second.dispose();
  second.dispose(); // idempotent
  assert.equal(main.handlers.has('jan:invoke'), false, 'the handler is removed');
  const count = mine.length;
  const after = await jan.createThread({ title: 'after dispose' });
  // The first registration still forwards: wait for its copy, then check the disposed one got nothing.
  await until(() => events('thread_updated').some((e) => e.thread.id === after.id), 'the live registration\'s event');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(mine.length, count, 'nothing forwarded after dispose');
  await jan.deleteThread(before.id);
  await jan.deleteThread(after.id);
});

test('every method of the contract was exercised', () => {
  const missing = IPC_METHODS.filter((m) => !called.has(m));
  assert.deepEqual(missing, []);
  assert.deepEqual(logged, [], `no internal failures: ${logged.map((l) => l.join(' ')).join('\n')}`);
});
