// Shared by the host-electron tests: the real addon, the real test model, a stand-in for Electron's ipcMain, and
// small GGUF files.

'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const REPO = path.resolve(__dirname, '..', '..');
const ADDON_DIR = path.join(REPO, 'bindings-node');
const MODEL_FILE = 'gemma-3-270m-q4_k_m.gguf';

/** bindings-node's exports; fails with what to do when the addon is not built. */
function loadAddon() {
  const built = fs.existsSync(path.join(ADDON_DIR, 'index.js')) &&
    fs.readdirSync(ADDON_DIR).some((f) => f.endsWith('.node'));
  if (!built) {
    throw new Error(
      `the addon is not built (no ${path.join(ADDON_DIR, 'jan-node.<platform>.node')}): ` +
        'run `npm run build` in bindings-node (ci/test.sh does it)',
    );
  }
  return require(ADDON_DIR);
}

/** The real Gemma 3 270M test model (ci/fetch-test-models.sh); `JAN_TEST_MODELS` overrides the folder. */
function testModel(file = MODEL_FILE) {
  const dir = process.env.JAN_TEST_MODELS ?? path.join(os.homedir(), '.cache', 'jan-test-models');
  const model = path.join(dir, file);
  if (!fs.existsSync(model)) throw new Error(`${model} is missing: run ci/fetch-test-models.sh (or set JAN_TEST_MODELS)`);
  return model;
}

/** A fresh temp folder (the caller removes it). */
function tempDir(prefix = 'jan-electron-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The method names of IPC_METHODS in ui/src/middleware/ipc.ts, read from the source. */
function contractMethods() {
  const source = fs.readFileSync(path.join(REPO, 'ui', 'src', 'middleware', 'ipc.ts'), 'utf8');
  const list = /export const IPC_METHODS = \[([^\]]*)\]/.exec(source);
  if (!list) throw new Error('IPC_METHODS not found in ui/src/middleware/ipc.ts');
  return [...list[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
}

/**
 * A stand-in for Electron's ipcMain: records `handle` registrations; `invoke` calls a handler as Electron does, with
 * an event whose `senderFrame` is the app's page (or `url`).
 */
function fakeIpcMain(appUrl = 'file:///app/ui/index.html') {
  /** @type {Map<string, (event: any, ...args: any[]) => any>} */
  const handlers = new Map();
  return {
    handlers,
    handle(channel, listener) {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, listener);
    },
    removeHandler(channel) {
      handlers.delete(channel);
    },
    /** As `ipcRenderer.invoke('jan:invoke', method, args)` from a frame at `url`. */
    async invoke(method, args = [], { url = appUrl, channel = 'jan:invoke' } = {}) {
      const listener = handlers.get(channel);
      if (!listener) throw new Error(`No handler registered for '${channel}'`);
      const event = { senderFrame: { url, parent: null }, sender: {}, processId: 1, frameId: 1 };
      // Electron passes arguments and results through the structured clone algorithm.
      return structuredClone(await listener(event, ...structuredClone([method, args])));
    },
  };
}

/** A minimal valid GGUF (version 3, no tensors) with an architecture and a name, for imports. */
function tinyGguf(name = 'Tiny test model') {
  /** @type {number[]} */
  const bytes = [];
  const u32 = (v) => bytes.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  const u64 = (v) => (u32(v), u32(0));
  const str = (s) => {
    const b = Buffer.from(s, 'utf8');
    u64(b.length);
    bytes.push(...b);
  };
  bytes.push(...Buffer.from('GGUF'));
  u32(3);
  u64(0); // tensors
  u64(2); // metadata entries
  str('general.architecture');
  u32(8); // string
  str('llama');
  str('general.name');
  u32(8);
  str(name);
  return new Uint8Array(bytes);
}

/** A message's text (Jan's parts or a plain string). */
function messageText(message) {
  const content = message.content;
  if (typeof content === 'string') return content;
  return (content ?? []).map((p) => (typeof p.text === 'string' ? p.text : (p.text?.value ?? ''))).join('');
}

/** Resolves when `predicate()` is true (polling), or rejects after `ms`. */
async function until(predicate, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

module.exports = {
  REPO,
  ADDON_DIR,
  MODEL_FILE,
  loadAddon,
  testModel,
  tempDir,
  contractMethods,
  fakeIpcMain,
  tinyGguf,
  messageText,
  until,
};
