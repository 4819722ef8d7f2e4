// End to end over IPC: the built UI (ui/dist) in headless Chromium, talking to the desktop host the way it does in
// Electron. host-electron's REAL preload (src/preload.js) runs in the page before the app, with a stand-in
// `electron` module whose ipcRenderer crosses into this Node process (page.exposeBinding); there the REAL IPC
// handler (host-electron/src/ipc.js) calls the REAL addon (bindings-node) on a fresh data folder with the Gemma 3
// 270M test model. Events go back into the page with page.evaluate, in order, and an invoke answers only after
// the events sent before it (Electron's IPC keeps that order too).
//
// What this cannot show: Electron itself (the window, contextBridge's copying, the sandbox); see
// host-electron/README.md.
//
//   ci/build-ui.sh && node e2e/ipc.mjs        (ci/test-ui.sh runs it; the addon must be built)
//
// Screenshots go to e2e/screenshots/ipc-*.png (git-ignored). The steps it shares with run.mjs are in flows.mjs.

import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODEL, dataFolderWithModel } from '../test/server.mjs';
import { manageAssistants } from './assistants-flow.mjs';
import {
  brokenModelSaysSo, check, deleteCurrentThread, deleteModel, editFirstMessageAndResend, importTinyModel,
  launchChromium, log, newPage, openChatTypingMaxTokens, openScreen, pageIdle, recordStreaming,
  regenerateAfterLateSettings, reloadShowsThread, renameCurrentThread, reportFailure, screenshot, sendAndWaitReply,
  setMaxTokens, shownMessages, startLog, stopLongReply, systemShowsNumbers, watchProblems,
} from './flows.mjs';
import { stateFlows } from './state-flows.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dist = join(repo, 'ui', 'dist');
// host-web's policy for the UI: the page must work under it over IPC too.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

startLog('e2e-ipc');

if (!existsSync(join(dist, 'index.html'))) {
  console.error('[e2e-ipc] ui/dist is missing: run ci/build-ui.sh');
  process.exit(1);
}
const addonDir = join(repo, 'bindings-node');
if (!existsSync(join(addonDir, 'index.js')) || !readdirSync(addonDir).some((f) => f.endsWith('.node'))) {
  console.error('[e2e-ipc] the addon is not built (bindings-node/jan-node.<platform>.node): run npm run build in bindings-node');
  process.exit(1);
}
const require = createRequire(import.meta.url);
const { Jan } = require(addonDir);
const { registerIpc } = require(join(repo, 'host-electron', 'src', 'ipc.js'));
const preloadSource = readFileSync(join(repo, 'host-electron', 'src', 'preload.js'), 'utf8');

/** The UI's files over http on 127.0.0.1 (Chromium refuses module scripts from file:// without extra flags). */
function staticServer() {
  const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
  /** Requests the UI made for anything but its own files (an HTTP API call would mean it fell back to HTTP). */
  const strays = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rel = url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname.slice(1));
    const file = normalize(join(dist, rel));
    if (!file.startsWith(dist + sep) || !existsSync(file)) {
      strays.push(`${req.method} ${url.pathname}`);
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': types[extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CSP,
      'Cache-Control': 'no-store',
    });
    res.end(readFileSync(file));
  });
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      done({
        base: `http://127.0.0.1:${port}/`,
        strays,
        close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
      });
    }),
  );
}

/**
 * The init script: a stand-in `electron` for the sandboxed preload (contextBridge puts the API on window;
 * ipcRenderer crosses into Node through the `__janElectronInvoke` binding; listeners get an event object first, as
 * Electron's do), then the real preload's source.
 */
function preloadInitScript() {
  return `(() => {
  const listeners = new Map();
  const bytes = (value) => {
    const view = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    let text = '';
    for (let i = 0; i < view.length; i += 0x8000) text += String.fromCharCode(...view.subarray(i, i + 0x8000));
    return { __janBytes: btoa(text) };
  };
  // Playwright's bindings carry JSON: ArrayBuffers travel as base64 (Electron's structured clone keeps them).
  const encode = (value) => {
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return bytes(value);
    if (Array.isArray(value)) return value.map(encode);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)]));
    return value;
  };
  const ipcRenderer = {
    invoke: (channel, ...args) => window.__janElectronInvoke(channel, encode(args)),
    on(channel, listener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel).add(listener);
      return ipcRenderer;
    },
    removeListener(channel, listener) {
      listeners.get(channel)?.delete(listener);
      return ipcRenderer;
    },
  };
  ipcRenderer.off = ipcRenderer.removeListener;
  Object.defineProperty(window, '__janElectronDeliver', {
    value: (channel, payload) => {
      for (const listener of [...(listeners.get(channel) ?? [])]) listener({ sender: ipcRenderer, ports: [] }, ...payload);
    },
  });
  const electron = {
    contextBridge: {
      exposeInMainWorld: (key, api) => Object.defineProperty(window, key, { value: Object.freeze(api), enumerable: true }),
    },
    ipcRenderer,
    webUtils: { getPathForFile: () => '' },
  };
  const require = (name) => {
    if (name !== 'electron') throw new Error('a sandboxed preload cannot require ' + name);
    return electron;
  };
  (function (require, module, exports) {
${preloadSource}
  })(require, { exports: {} }, {});
})();`;
}

/** Undoes the page's encoding of byte arrays. */
function decode(value) {
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object') {
    if (typeof value.__janBytes === 'string') {
      const buf = Buffer.from(value.__janBytes, 'base64');
      return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)]));
  }
  return value;
}

const data = dataFolderWithModel();
const jan = await Jan.open({ dataFolder: data });
const web = await staticServer();
const origin = new URL(web.base).origin;
const browser = await launchChromium();
const problems = [];
let failed = false;
/** @type {{dispose(): void} | null} */
let ipc = null;

try {
  const page = await newPage(browser);
  watchProblems(page, problems, { allConsoleErrors: true });

  // The main process's side: Electron's ipcMain, standing in; webContents.send as page.evaluate, in order.
  const handlers = new Map();
  const ipcMain = {
    handle: (channel, listener) => handlers.set(channel, listener),
    removeHandler: (channel) => handlers.delete(channel),
  };
  /** The late calls and answers in force (flows.mjs's SlowApi), by method, and the calls held by them. */
  const slowRules = new Map();
  /** Every method the page invoked, in order. @type {string[]} */
  const calls = [];
  /** @type {Set<Promise<unknown>>} */
  const held = new Set();
  /** @type {import('./flows.mjs').SlowApi} */
  const slow = async (rules) => {
    const names = Object.keys(rules);
    for (const name of names) slowRules.set(name, rules[name]);
    return {
      async settled() {
        while (held.size) await Promise.all([...held]);
        await pageIdle(page);
      },
      async restore() {
        for (const name of names) if (slowRules.get(name) === rules[name]) slowRules.delete(name);
      },
    };
  };
  let delivery = Promise.resolve();
  const send = (channel, ...payload) => {
    delivery = delivery
      .then(() => page.evaluate(([c, p]) => window.__janElectronDeliver?.(c, p), [channel, payload]))
      .catch(() => undefined); // the page is reloading: Electron drops those too
  };
  ipc = registerIpc({
    ipcMain,
    jan,
    send,
    isTrustedSender: (event) => event.senderFrame?.parent === null && event.senderFrame.url.startsWith(`${origin}/`),
    log: (message, error) => problems.push(`main process: ${message}: ${error}`),
  });
  await page.exposeBinding('__janElectronInvoke', async (source, channel, args) => {
    const listener = handlers.get(channel);
    if (!listener) throw new Error(`No handler registered for '${channel}'`);
    const event = { senderFrame: { url: source.frame.url(), parent: source.frame.parentFrame() ? {} : null } };
    const decoded = decode(args);
    calls.push(decoded[0]);
    const rule = slowRules.get(decoded[0]);
    const work = (async () => {
      if (rule?.call) await new Promise((r) => setTimeout(r, rule.call));
      const result = await listener(event, ...decoded);
      if (rule?.answer) await new Promise((r) => setTimeout(r, rule.answer));
      await rule?.until;
      // The events sent before the answer arrive before it. A page.evaluate caught in a reload can stall: do not
      // hold the answer behind it for more than 2 s (Electron would not either: it drops what a reloading page
      // misses).
      await Promise.race([delivery, new Promise((r) => setTimeout(r, 2000))]);
      return result;
    })();
    if (!rule) return work;
    held.add(work);
    try {
      return await work;
    } finally {
      held.delete(work);
    }
  });
  await page.addInitScript({ content: preloadInitScript() });

  log('the app starts over IPC: no login, the model is listed');
  await page.goto(web.base);
  await page.waitForSelector('textarea[aria-label=Message]');
  const api = await page.evaluate(() => ({
    keys: Object.keys(window.janIpc ?? {}).sort(),
    version: window.janIpc?.version,
    capabilities: window.janIpc?.capabilities,
    ipcRenderer: 'ipcRenderer' in window || 'require' in window || 'process' in window,
  }));
  check(api.version === 1, `window.janIpc version 1 (${api.version})`);
  check(api.keys.join() === 'capabilities,invoke,on,pathForFile,version', `the contract's keys (${api.keys})`);
  check(api.capabilities?.apiKeys === false, 'no API keys on the desktop');
  check(!api.ipcRenderer, 'no ipcRenderer, require or process in the page');
  check((await page.locator('input[name=password]').count()) === 0, 'no login screen');
  await page.waitForSelector(`.model-line:has-text("${MODEL}")`);

  log('import a GGUF in the Hub (its bytes cross IPC), then delete it');
  await importTinyModel(page, 'Tiny e2e model');
  check((await jan.listModels()).some((m) => m.name === 'Tiny e2e model'), 'the core has the imported model');
  await page.waitForSelector('.hub .models li:has-text("Qwen2.5")'); // the catalog
  await screenshot(page, 'ipc-hub-desktop.png');
  log('the imported GGUF has no weights: the chat says the model failed to load');
  await brokenModelSaysSo(page, 'Tiny e2e model');
  await openScreen(page, 'Hub');
  await deleteModel(page, 'Tiny e2e model');
  check(!(await jan.listModels()).some((m) => m.name === 'Tiny e2e model'), 'and deleted it');

  log('a short reply: tokens arrive one by one over jan:reply (max tokens typed as the panel opens)');
  await openChatTypingMaxTokens(page, 24);
  await recordStreaming(page);
  // Thread lists answered late from here: the one asked for when this reply ends lands after the next step's changes.
  const lateLists = await slow({ listThreads: { answer: 2500 } });
  const threadUrl = await sendAndWaitReply(page, 'Hello! Who are you?');
  const threadId = decodeURIComponent(threadUrl.split('#/t/')[1]);
  const saved = (await jan.listMessages(threadId)).at(-1);
  check(saved.role === 'assistant' && saved.status === 'ready', 'the core saved the reply');
  check(saved.metadata?.usage?.completion_tokens <= 24, `max_tokens from the panel (${JSON.stringify(saved.metadata?.usage)})`);
  await page.waitForSelector('.thread.current:has-text("Hello! Who are you?")');
  await screenshot(page, 'ipc-chat-desktop.png');

  log('regenerate the reply right after changing the panel (changes and thread lists reach the page late)');
  const replied = (await jan.listMessages(threadId)).at(-1);
  await regenerateAfterLateSettings(page, slow, lateLists);
  await lateLists.restore();
  const regenerated = await jan.listMessages(threadId);
  check(regenerated.length === 2 && regenerated[1].id !== replied.id, 'the core replaced the reply');
  check(regenerated[1].status === 'ready', `and saved the new one ready (${regenerated[1].status})`);
  const usage = regenerated[1].metadata?.usage;
  check(usage?.completion_tokens <= 8, `the new reply has the panel's max tokens (${JSON.stringify(usage)})`);
  const parameters = (await jan.getThread(threadId)).assistants?.[0]?.model?.parameters;
  check(parameters?.max_tokens === 8 && parameters.temperature === 0.5, `the core has both changes (${JSON.stringify(parameters)})`);

  log('stop a long reply mid-way (stopReply)');
  await stopLongReply(page);
  const stopped = (await jan.listMessages(threadId)).at(-1);
  check(stopped.status === 'stopped', `the core saved it stopped (${stopped.status})`);
  check((stopped.metadata?.usage?.completion_tokens ?? 0) < 400, 'stopped early');

  log('reload on a busy machine (late frames, the lists answered at the first render): the thread and its messages');
  await reloadShowsThread(page, 'Hello! Who are you?', slow);

  log('edit the first message and resend it');
  await setMaxTokens(page, 12);
  await editFirstMessageAndResend(page, 'Hello again! What can you do?');
  const resent = (await jan.listMessages(threadId)).at(-1);
  check(resent.metadata?.usage?.completion_tokens <= 12, `the resent reply has the panel's max tokens (${JSON.stringify(resent.metadata?.usage)})`);
  const inCore = (await jan.listMessages(threadId)).map((m) => `${m.id} ${m.status}`);
  const onPage = (await shownMessages(page)).map((m) => `${m.id} ${m.status}`);
  check(inCore.join() === onPage.join(), `the core has what the page shows (${inCore} / ${onPage})`);

  log('rename the thread; the list follows');
  await renameCurrentThread(page, 'Renamed by e2e');

  log('a thread made outside the window appears through jan:event');
  const outside = await jan.createThread({ title: 'Made outside the window' });
  await page.waitForSelector('.thread:has-text("Made outside the window")');
  await jan.deleteThread(outside.id);
  await page.waitForSelector('.thread:has-text("Made outside the window")', { state: 'detached' });

  /** The core through the addon (state-flows.mjs's Core). */
  const core = {
    /** @param {string} id */
    messages: (id) => jan.listMessages(id),
    /** @param {string} id */
    thread: (id) => jan.getThread(id),
    /** @param {string} title @param {{role: string, text: string}[]} messages */
    makeThread: async (title, messages) => {
      const t = await jan.createThread({ title });
      for (const m of messages) await jan.addMessage(t.id, { role: m.role, content: m.text });
      return t.id;
    },
    countThreadUpdates: () => {
      const from = calls.length;
      return () => calls.slice(from).filter((method) => method === 'updateThread').length;
    },
  };
  await stateFlows(page, core);

  log('the system monitor shows numbers');
  await systemShowsNumbers(page);
  await screenshot(page, 'ipc-system-desktop.png');

  log('settings: no API keys and no logout on the desktop; the remote engine saves over IPC (its settings read late)');
  let readEngine = () => undefined;
  const engineRead = await slow({ getEngine: { until: new Promise((r) => (readEngine = () => r(undefined))) } });
  await openScreen(page, 'Settings');
  await page.waitForSelector('input[name=full_url]');
  check((await page.locator('h3:has-text("API keys")').count()) === 0, 'no API keys card');
  check((await page.locator('button:has-text("Log out")').count()) === 0, 'no log out');
  await page.fill('input[name=full_url]', 'https://example.invalid/v1/chat/completions');
  readEngine(); // the saved settings land after the typing
  await engineRead.settled();
  await engineRead.restore();
  const typedUrl = await page.inputValue('input[name=full_url]');
  check(typedUrl === 'https://example.invalid/v1/chat/completions', `the typed URL stays (${typedUrl})`);
  await page.click('form.card button:has-text("Save")');
  await page.waitForSelector('text=Remote engine saved.');
  check((await jan.getEngine('openai')).full_url === 'https://example.invalid/v1/chat/completions', 'saved in the core');
  await screenshot(page, 'ipc-settings-desktop.png');

  log('assistants: create, edit, reload, a chat with one, delete');
  const assistant = await manageAssistants(page, {
    model: MODEL,
    shot: 'ipc-assistants-desktop.png',
    slow,
    checkThread: async (id, assistantId) => {
      const made = (await jan.getThread(id)).assistants?.[0];
      check(made?.assistant_id === assistantId && made.assistant_name === 'E2E reviewer', `made for it (${JSON.stringify(made)})`);
      check(made.instructions === 'Answer in one short sentence.', 'with its instructions');
      check(made.model?.id === MODEL && made.model.parameters?.max_tokens === 8, `its model and max tokens (${JSON.stringify(made.model)})`);
    },
  });
  check(!(await jan.listAssistants()).some((a) => a.id === assistant.id), 'the core deleted the assistant');
  check(!(await jan.listThreads()).some((t) => t.id === assistant.threadId), 'and the chat made with it');

  log('delete the thread');
  await page.goto(threadUrl);
  await deleteCurrentThread(page, 'Renamed by e2e');
  check(!(await jan.listThreads()).some((t) => t.id === threadId), 'gone from the core');

  check(web.strays.length === 0, `the UI made no HTTP API calls: ${web.strays.join(', ')}`);
  check(problems.length === 0, `no page errors, console errors or CSP violations:\n${problems.join('\n')}`);
  log('passed');
} catch (e) {
  failed = true;
  await reportFailure(e, problems, browser, 'ipc-failure.png');
} finally {
  ipc?.dispose();
  await browser.close();
  await web.close();
  rmSync(data, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
