// The preload: runs sandboxed (it may only require 'electron') in an isolated world, and exposes exactly the
// contract of ui/src/middleware/ipc.ts (`JanIpcApi`) on `window.janIpc`. Nothing else reaches the page: no
// ipcRenderer, no Node API, and never Electron's IpcRendererEvent (its `sender` is the ipcRenderer itself).

'use strict';

const { contextBridge, ipcRenderer, webUtils } = require('electron');

/** The channels the page may listen on, as `jan:<name>` between the processes. */
const LISTEN = ['event', 'reply'];

const api = {
  version: 1,
  capabilities: { apiKeys: false },

  /**
   * Calls one method of the contract; resolves with `{ok, value}` or `{ok: false, error}` (the main process never
   * throws).
   * @param {string} method
   * @param {unknown[]} args
   */
  invoke(method, args) {
    return ipcRenderer.invoke('jan:invoke', method, args);
  },

  /**
   * Listens on `event` (every core event) or `reply` (`(streamId, event)` of the replies under way).
   * @param {string} channel
   * @param {(...payload: unknown[]) => void} listener
   * @returns {() => void} stops listening
   */
  on(channel, listener) {
    if (!LISTEN.includes(channel)) throw new Error(`janIpc.on: unknown channel ${String(channel)}`);
    if (typeof listener !== 'function') throw new TypeError('janIpc.on: the listener must be a function');
    const name = `jan:${channel}`;
    const wrapped = (/** @type {unknown} */ _event, /** @type {unknown[]} */ ...payload) => listener(...payload);
    ipcRenderer.on(name, wrapped);
    let on = true;
    return () => {
      if (!on) return;
      on = false;
      ipcRenderer.removeListener(name, wrapped);
    };
  },

  /**
   * Where a picked or dropped file lives on disk; '' when it has none (or Electron cannot tell).
   * @param {Blob} file
   */
  pathForFile(file) {
    try {
      const found = webUtils.getPathForFile(/** @type {File} */ (file));
      return typeof found === 'string' ? found : '';
    } catch {
      return '';
    }
  },
};

contextBridge.exposeInMainWorld('janIpc', api);
