// src/preload.js loaded with a stand-in `electron` module (what a sandboxed preload gets: contextBridge,
// ipcRenderer, webUtils): the object it exposes must be exactly the contract of ui/src/middleware/ipc.ts.

'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const Module = require('node:module');
const { EventEmitter } = require('node:events');
const path = require('node:path');

const PRELOAD = path.join(__dirname, '..', 'src', 'preload.js');

/** Loads a fresh copy of the preload with a stand-in electron; records what it requires and exposes. */
function loadPreload({ getPathForFile = (/** @type {any} */ f) => f?.path ?? '' } = {}) {
  const ipcRenderer = Object.assign(new EventEmitter(), {
    /** @type {any[][]} */
    invoked: [],
    /** @param {string} channel @param {any[]} args */
    invoke(channel, ...args) {
      this.invoked.push([channel, ...args]);
      return Promise.resolve({ ok: true, value: 'answer' });
    },
  });
  /** @type {[string, any][]} */
  const exposed = [];
  const electron = {
    contextBridge: { exposeInMainWorld: (/** @type {string} */ key, /** @type {any} */ api) => exposed.push([key, api]) },
    ipcRenderer,
    webUtils: { getPathForFile },
  };
  /** @type {string[]} */
  const required = [];
  const original = Module._load;
  Module._load = function (request, parent, isMain) {
    if (parent?.filename === PRELOAD) {
      required.push(request);
      if (request === 'electron') return electron;
      throw new Error(`a sandboxed preload cannot require ${request}`);
    }
    return original.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[PRELOAD];
    require(PRELOAD);
  } finally {
    Module._load = original;
    delete require.cache[PRELOAD];
  }
  return { exposed, required, ipcRenderer };
}

/** A fake IpcRendererEvent: what must never reach the page. */
const ipcEvent = () => ({ sender: 'the ipcRenderer itself', senderId: 0, ports: [] });

test('it requires only electron and exposes one object, janIpc', () => {
  const { exposed, required } = loadPreload();
  assert.deepEqual(required, ['electron']);
  assert.equal(exposed.length, 1);
  assert.equal(exposed[0][0], 'janIpc');
});

test('the exposed object has exactly the contract\'s keys: version 1, capabilities, invoke, on, pathForFile', () => {
  const [[, api]] = loadPreload().exposed;
  assert.deepEqual(Object.keys(api).sort(), ['capabilities', 'invoke', 'on', 'pathForFile', 'version']);
  assert.equal(api.version, 1);
  assert.deepEqual(api.capabilities, { apiKeys: false });
  for (const key of ['invoke', 'on', 'pathForFile']) assert.equal(typeof api[key], 'function', key);
  // Nothing Electron or Node leaks through: only numbers, plain objects of booleans, and functions.
  const json = JSON.stringify(api);
  assert.equal(json, '{"version":1,"capabilities":{"apiKeys":false}}');
  assert.equal(Object.getPrototypeOf(api), Object.prototype);
});

test('invoke forwards to jan:invoke with the method and its arguments, and returns the answer', async () => {
  const { exposed, ipcRenderer } = loadPreload();
  const [[, api]] = exposed;
  const answer = await api.invoke('getThread', ['thread-1']);
  assert.deepEqual(answer, { ok: true, value: 'answer' });
  await api.invoke('listThreads', []);
  assert.deepEqual(ipcRenderer.invoked, [
    ['jan:invoke', 'getThread', ['thread-1']],
    ['jan:invoke', 'listThreads', []],
  ]);
});

test('on(event) and on(reply) hand the payload to the listener without Electron\'s event', () => {
  const { exposed, ipcRenderer } = loadPreload();
  const [[, api]] = exposed;
  /** @type {any[][]} */
  const events = [];
  /** @type {any[][]} */
  const replies = [];
  const offEvent = api.on('event', (/** @type {any[]} */ ...args) => events.push(args));
  const offReply = api.on('reply', (/** @type {any[]} */ ...args) => replies.push(args));
  assert.equal(typeof offEvent, 'function');
  assert.equal(ipcRenderer.listenerCount('jan:event'), 1);
  assert.equal(ipcRenderer.listenerCount('jan:reply'), 1);

  const threadEvent = { type: 'thread_updated', thread: { id: 't1' } };
  ipcRenderer.emit('jan:event', ipcEvent(), threadEvent);
  ipcRenderer.emit('jan:reply', ipcEvent(), 'r1-1', { type: 'delta', delta: 'Hi' });
  assert.deepEqual(events, [[threadEvent]]);
  assert.deepEqual(replies, [['r1-1', { type: 'delta', delta: 'Hi' }]]);

  // Unsubscribing stops delivery and removes Electron's listener; calling it again is harmless.
  offEvent();
  offEvent();
  offReply();
  assert.equal(ipcRenderer.listenerCount('jan:event'), 0);
  assert.equal(ipcRenderer.listenerCount('jan:reply'), 0);
  ipcRenderer.emit('jan:event', ipcEvent(), threadEvent);
  ipcRenderer.emit('jan:reply', ipcEvent(), 'r1-1', { type: 'done' });
  assert.equal(events.length, 1);
  assert.equal(replies.length, 1);
});

test('two listeners on one channel are independent', () => {
  const { exposed, ipcRenderer } = loadPreload();
  const [[, api]] = exposed;
  const a = [];
  const b = [];
  const offA = api.on('event', (/** @type {any} */ e) => a.push(e));
  api.on('event', (/** @type {any} */ e) => b.push(e));
  offA();
  ipcRenderer.emit('jan:event', ipcEvent(), { type: 'lagged', missed: 1 });
  assert.deepEqual([a.length, b.length], [0, 1]);
});

test('on() refuses other channels and non-function listeners', () => {
  const { exposed, ipcRenderer } = loadPreload();
  const [[, api]] = exposed;
  for (const channel of ['invoke', 'jan:event', 'Event', '', 'ipc', undefined]) {
    assert.throws(() => api.on(channel, () => {}), /unknown channel/, String(channel));
  }
  assert.throws(() => api.on('event', 'not a function'), TypeError);
  assert.equal(ipcRenderer.eventNames().length, 0, 'nothing was registered');
});

test('pathForFile returns webUtils.getPathForFile, or "" when there is none or it fails', () => {
  const [[, api]] = loadPreload().exposed;
  assert.equal(api.pathForFile({ path: '/home/me/model.gguf' }), '/home/me/model.gguf');
  assert.equal(api.pathForFile({}), '');
  const [[, failing]] = loadPreload({
    getPathForFile: () => {
      throw new TypeError('not a File');
    },
  }).exposed;
  assert.equal(failing.pathForFile({}), '');
  const [[, odd]] = loadPreload({ getPathForFile: () => /** @type {any} */ (undefined) }).exposed;
  assert.equal(odd.pathForFile({}), '');
});
