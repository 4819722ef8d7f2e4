// The main-process side of the desktop's IPC contract (ui/src/middleware/ipc.ts): one `jan:invoke` handler that
// validates every call and maps it onto the core (bindings-node), the `jan:reply` stream of each thread reply, and
// the `jan:event` stream of the core's events. Electron is injected (`ipcMain`, `send`), so this module runs, and
// is tested, under plain Node with the real addon.
//
// A handler never throws: Electron would keep only an Error's message. Every call answers
// `{ok: true, value}` or `{ok: false, error: {message, code, param?}}` with the core's stable code; the UI reads
// the code's HTTP status and OpenAI type from the core's one table (bindings-node/error-codes.json), as it does for
// host-web's answers, so this file decides no status itself.

'use strict';

const path = require('node:path');

/** The channels between the preload and the main process. */
const CHANNELS = Object.freeze({ invoke: 'jan:invoke', event: 'jan:event', reply: 'jan:reply' });

/** Longest id or name accepted from the renderer (the core checks ids further: separators, `..`, ...). */
const MAX_ID = 1024;

/** An expected failure, with one of the core's codes (`invalid_request`, `unknown_method`, ...). */
class IpcError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = 'IpcError';
    this.code = code;
  }
}

const invalid = (/** @type {string} */ message) => new IpcError('invalid_request', message);

// Argument checks: each returns the value to pass on, or throws `invalid_request`.

/** @param {unknown} v */
function isPlainObject(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * @typedef {object} Arg
 * @property {string} name
 * @property {boolean} [optional]
 * @property {(value: any, name: string) => any} check
 */

/** A non-empty string: an id of a thread, message, model, assistant, download, stream or engine. */
const id = (/** @type {string} */ name) => /** @type {Arg} */ ({
  name,
  check(v) {
    if (typeof v !== 'string' || v.length === 0) throw invalid(`${name} must be a non-empty string`);
    if (v.length > MAX_ID) throw invalid(`${name} is too long`);
    return v;
  },
});

/** Any string (a name; may be empty). */
const text = (/** @type {string} */ name, optional = false) => /** @type {Arg} */ ({
  name,
  optional,
  check(v) {
    if (typeof v !== 'string') throw invalid(`${name} must be a string`);
    return v;
  },
});

/** A plain object (a JSON body; the core checks its fields). */
const object = (/** @type {string} */ name, optional = false) => /** @type {Arg} */ ({
  name,
  optional,
  check(v) {
    if (!isPlainObject(v)) throw invalid(`${name} must be an object`);
    return v;
  },
});

/** `setEngine`'s update: `{full_url: string, api_key?: string}`. */
const engineUpdate = /** @type {Arg} */ ({
  name: 'update',
  check(v) {
    if (!isPlainObject(v)) throw invalid('update must be an object');
    if (typeof v.full_url !== 'string') throw invalid('update.full_url must be a string');
    if (v.api_key !== undefined && v.api_key !== null && typeof v.api_key !== 'string') {
      throw invalid('update.api_key must be a string');
    }
    /** @type {{full_url: string, api_key?: string}} */
    const update = { full_url: v.full_url };
    if (typeof v.api_key === 'string') update.api_key = v.api_key;
    return update;
  },
});

/**
 * A file name the user picked: a plain name (no folder, no `..`, no leading dot, no control characters) ending in
 * `.gguf`. It names the temp file and the model's file.
 * @param {unknown} v
 */
function ggufFileName(v) {
  if (typeof v !== 'string' || v.length === 0) throw invalid('fileName must be a non-empty string');
  if (v.length > 255) throw invalid('fileName is too long');
  // eslint-disable-next-line no-control-regex
  if (/[/\\\u0000-\u001f\u007f]/.test(v) || v.startsWith('.') || v === '..') {
    throw invalid('fileName must be a plain file name');
  }
  if (!v.toLowerCase().endsWith('.gguf') || v.length === '.gguf'.length) {
    throw invalid('fileName must end in .gguf');
  }
  return v;
}

/** @param {unknown} v @returns {Uint8Array} */
function bytesOf(v) {
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw invalid('importModel: data must be an ArrayBuffer or a typed array');
}

/**
 * `importModel`'s request (`IpcImportRequest`): `fileName`, optional `id` and `name`, and exactly one of `path` (a
 * file on this machine) or `data` (its bytes).
 */
const importRequest = /** @type {Arg} */ ({
  name: 'request',
  check(v) {
    if (!isPlainObject(v)) throw invalid('request must be an object');
    const known = new Set(['fileName', 'id', 'name', 'path', 'data']);
    for (const key of Object.keys(v)) if (!known.has(key)) throw invalid(`request.${key} is not a known field`);
    /** @type {{fileName: string, id?: string, name?: string, path?: string, data?: Uint8Array}} */
    const request = { fileName: ggufFileName(v.fileName) };
    for (const key of /** @type {const} */ (['id', 'name'])) {
      if (v[key] === undefined || v[key] === null) continue;
      if (typeof v[key] !== 'string' || v[key].length === 0 || v[key].length > MAX_ID) {
        throw invalid(`request.${key} must be a non-empty string`);
      }
      request[key] = v[key];
    }
    const hasPath = v.path !== undefined && v.path !== null && v.path !== '';
    const hasData = v.data !== undefined && v.data !== null;
    if (hasPath === hasData) throw invalid('importModel takes either a path or the data, not both or neither');
    if (hasPath) {
      if (typeof v.path !== 'string' || !path.isAbsolute(v.path) || v.path.includes('\0')) {
        throw invalid('request.path must be an absolute path');
      }
      request.path = v.path;
    } else {
      request.data = bytesOf(v.data);
    }
    return request;
  },
});

/**
 * The contract's methods (IPC_METHODS in ui/src/middleware/ipc.ts, same order; a test keeps them equal) and their
 * positional arguments.
 * @type {Record<string, Arg[]>}
 */
const SIGNATURES = {
  session: [],
  login: [text('username', true), text('password', true)],
  logout: [],
  listApiKeys: [],
  createApiKey: [text('name', true)],
  revokeApiKey: [id('id')],
  listModels: [],
  getModel: [id('id')],
  deleteModel: [id('id')],
  startModel: [id('id')],
  stopModel: [id('id')],
  catalog: [],
  downloadModel: [id('id')],
  listDownloads: [],
  cancelDownload: [id('downloadId')],
  importModel: [importRequest],
  listThreads: [],
  createThread: [object('thread', true)],
  getThread: [id('id')],
  updateThread: [id('id'), object('update')],
  deleteThread: [id('id')],
  listMessages: [id('threadId')],
  addMessage: [id('threadId'), object('message')],
  updateMessage: [id('threadId'), id('messageId'), object('update')],
  deleteMessage: [id('threadId'), id('messageId')],
  reply: [id('threadId'), id('streamId'), object('options', true)],
  stopReply: [id('streamId')],
  listAssistants: [],
  createAssistant: [object('assistant')],
  updateAssistant: [id('id'), object('update')],
  deleteAssistant: [id('id')],
  system: [],
  getEngine: [id('engine')],
  setEngine: [id('engine'), engineUpdate],
};

/** @type {readonly string[]} */
const IPC_METHODS = Object.freeze(Object.keys(SIGNATURES));

/**
 * Checks a call's arguments against its signature.
 * @param {string} method
 * @param {unknown} args
 * @returns {any[]}
 */
function checkArgs(method, args) {
  if (!Array.isArray(args)) throw invalid(`${method}: the arguments must be an array`);
  const signature = SIGNATURES[method];
  if (args.length > signature.length) {
    throw invalid(`${method} takes at most ${signature.length} argument${signature.length === 1 ? '' : 's'}`);
  }
  return signature.map((arg, i) => {
    const value = args[i];
    if (value === undefined) {
      if (arg.optional) return undefined;
      throw invalid(`${method}: missing argument ${arg.name}`);
    }
    return arg.check(value, arg.name);
  });
}

/** napi's codes for an argument of the wrong kind. */
const NAPI_ARGUMENT = /^(InvalidArg|\w+Expected)$/;

/**
 * The contract's error object for any failure: the core's errors (and ours) carry a `code`; anything else is
 * internal, and its message stays in the main process's log.
 * @param {unknown} e
 * @returns {{message: string, code: string, param?: string}}
 */
function toIpcError(e) {
  const err = /** @type {any} */ (e);
  if (err instanceof IpcError) return { message: err.message, code: err.code };
  // The core's errors come from the addon with `status` (the table's) and, for a bad field, `param`.
  if (err && typeof err.code === 'string' && typeof err.status === 'number') {
    /** @type {{message: string, code: string, param?: string}} */
    const error = { message: String(err.message), code: err.code };
    if (typeof err.param === 'string') error.param = err.param;
    return error;
  }
  // napi's own argument errors (a value the core could not take): the caller's mistake.
  if (err && typeof err.code === 'string' && NAPI_ARGUMENT.test(err.code)) {
    return { message: String(err.message), code: 'invalid_request' };
  }
  return { message: 'Internal error; the app\'s log has the detail.', code: 'internal_error' };
}

/** Whether a failure is the app's own fault (logged) rather than the caller's. @param {unknown} e */
function isInternal(e) {
  const err = /** @type {any} */ (e);
  if (err instanceof IpcError) return err.code === 'internal_error';
  if (err && typeof err.code === 'string' && typeof err.status === 'number') return err.status >= 500;
  return !(err && typeof err.code === 'string' && NAPI_ARGUMENT.test(err.code));
}

/**
 * @typedef {object} IpcOptions
 * @property {{handle(channel: string, listener: (event: any, ...args: any[]) => any): void,
 *             removeHandler(channel: string): void}} ipcMain  Electron's ipcMain (or a stand-in)
 * @property {any} jan  an open `Jan` from bindings-node
 * @property {(channel: string, ...payload: any[]) => void} send  sends to the app's window (main.js drops sends
 *   when there is no live window)
 * @property {(event: any) => boolean} [isTrustedSender]  whether a call comes from the app's own page; default:
 *   every sender
 * @property {(message: string, error: unknown) => void} [log]  internal failures (default: console.error)
 */

/**
 * Registers the `jan:invoke` handler and forwards the core's events on `jan:event`.
 * @param {IpcOptions} options
 * @returns {{dispose(): void, stopReplies(): void, readonly activeReplies: number}}
 */
function registerIpc({ ipcMain, jan, send, isTrustedSender = () => true, log = console.error }) {
  let disposed = false;
  /** The replies under way, by the renderer's stream id. @type {Map<string, {generation: any, stopped: boolean}>} */
  const replies = new Map();

  const forward = (/** @type {string} */ channel, /** @type {any[]} */ ...payload) => {
    if (disposed) return;
    try {
      send(channel, ...payload);
    } catch (e) {
      log(`jan: could not send on ${channel}`, e);
    }
  };

  /** @param {string} threadId @param {string} streamId @param {object} [options] ReplyOptions (the core checks it) */
  async function reply(threadId, streamId, options) {
    if (replies.has(streamId)) throw invalid(`the stream id ${streamId} is already in use`);
    // Registered before the first await: a `stopReply` right behind this call finds it.
    const entry = { generation: /** @type {any} */ (null), stopped: false };
    replies.set(streamId, entry);
    try {
      /** @type {string | undefined} */
      let messageId;
      const generation = await jan.reply(threadId, (/** @type {any} */ event) => {
        if (event?.type === 'message') messageId = event.message?.id;
        forward(CHANNELS.reply, streamId, event);
      }, options ?? undefined);
      entry.generation = generation;
      if (entry.stopped || disposed) generation.stop();
      messageId = generation.messageId ?? messageId;
      let done;
      try {
        done = await generation.wait();
      } catch (e) {
        if (entry.stopped) return { finish_reason: null, stopped: true, message_id: messageId, message: null };
        throw e;
      }
      // The core's `done` event is the outcome (ui/src/middleware/ipc.ts's ReplyOutcome), less its `type`.
      const { type: _type, ...outcome } = done;
      return { ...outcome, stopped: outcome.stopped || entry.stopped };
    } finally {
      replies.delete(streamId);
    }
  }

  /**
   * A local file by path (copied), or its bytes from the page (the core stages them in the data folder).
   * @param {{fileName: string, id?: string, name?: string, path?: string, data?: Uint8Array}} request
   */
  async function importModel(request) {
    const { fileName, id: modelId, name } = request;
    /** @type {Record<string, unknown>} */
    const options = { fileName };
    if (modelId !== undefined) options.id = modelId;
    if (name !== undefined) options.name = name;
    if (request.path !== undefined) return jan.importModel({ ...options, path: request.path, moveFile: false });
    return jan.importModel({ ...options, data: request.data });
  }

  const unsupported = () => {
    throw new IpcError('unsupported', 'The desktop app has no API keys (they are for the web server).');
  };

  /** The implementation of each method, with checked arguments. @type {Record<string, (...args: any[]) => any>} */
  const methods = {
    session: () => ({ login_required: false, authenticated: true }),
    login: () => {
      throw new IpcError('login_not_configured', 'The desktop app has no login.');
    },
    logout: () => null,
    listApiKeys: unsupported,
    createApiKey: unsupported,
    revokeApiKey: unsupported,
    listModels: () => jan.listModels(),
    getModel: (modelId) => jan.getModel(modelId),
    deleteModel: (modelId) => jan.deleteModel(modelId),
    startModel: (modelId) => jan.startModel(modelId),
    stopModel: (modelId) => jan.stopModel(modelId),
    catalog: () => jan.catalog(),
    downloadModel: (modelId) => jan.downloadModel(modelId),
    listDownloads: () => jan.listDownloads(),
    cancelDownload: (downloadId) => jan.cancelDownload(downloadId),
    importModel,
    listThreads: () => jan.listThreads(),
    createThread: (thread) => jan.createThread(thread ?? {}),
    getThread: (threadId) => jan.getThread(threadId),
    updateThread: (threadId, update) => jan.updateThread(threadId, update),
    deleteThread: (threadId) => jan.deleteThread(threadId),
    listMessages: (threadId) => jan.listMessages(threadId),
    addMessage: (threadId, message) => jan.addMessage(threadId, message),
    updateMessage: (threadId, messageId, update) => jan.updateMessage(threadId, messageId, update),
    deleteMessage: (threadId, messageId) => jan.deleteMessage(threadId, messageId),
    reply,
    stopReply: (streamId) => {
      // Idempotent: a reply that already ended has nothing to stop.
      const entry = replies.get(streamId);
      if (entry) {
        entry.stopped = true;
        entry.generation?.stop();
      }
      return null;
    },
    listAssistants: () => jan.listAssistants(),
    createAssistant: (assistant) => jan.createAssistant(assistant),
    updateAssistant: (assistantId, update) => jan.updateAssistant(assistantId, update),
    deleteAssistant: (assistantId) => jan.deleteAssistant(assistantId),
    system: () => jan.system(),
    getEngine: (engine) => jan.getEngine(engine),
    setEngine: (engine, update) => jan.setEngine(engine, update),
  };

  /**
   * Electron's `ipcMain.handle` listener.
   * @param {any} event
   * @param {unknown} method
   * @param {unknown} args
   */
  async function invoke(event, method, args) {
    try {
      let trusted = false;
      try {
        trusted = Boolean(isTrustedSender(event));
      } catch {
        trusted = false;
      }
      if (!trusted) throw new IpcError('forbidden', 'This page may not call Jan.');
      if (typeof method !== 'string' || !Object.hasOwn(methods, method)) {
        throw new IpcError('unknown_method', `Unknown method ${JSON.stringify(String(method)).slice(0, 80)}.`);
      }
      if (disposed) throw new IpcError('internal_error', 'Jan is shutting down.');
      const checked = checkArgs(method, args);
      const value = await methods[method](...checked);
      return { ok: true, value: value === undefined ? null : value };
    } catch (e) {
      if (isInternal(e)) log(`jan: ${String(method)} failed`, e);
      return { ok: false, error: toIpcError(e) };
    }
  }

  ipcMain.handle(CHANNELS.invoke, invoke);
  const subscription = jan.subscribe((/** @type {any} */ event) => forward(CHANNELS.event, event));

  const stopReplies = () => {
    for (const entry of replies.values()) {
      entry.stopped = true;
      entry.generation?.stop();
    }
  };

  return {
    /** Stops every reply under way (the window went away); they are saved as `stopped`. */
    stopReplies,
    get activeReplies() {
      return replies.size;
    },
    /** Removes the handler, stops forwarding events and stops the replies under way. Idempotent. */
    dispose() {
      if (disposed) return;
      disposed = true;
      ipcMain.removeHandler(CHANNELS.invoke);
      subscription.close();
      stopReplies();
    },
  };
}

module.exports = { registerIpc, IPC_METHODS, CHANNELS, toIpcError, IpcError };
