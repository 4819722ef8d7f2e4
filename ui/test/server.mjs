// Starts the real jan-server binary (target/debug/jan-server, built by `cargo build -p jan-server`) on 127.0.0.1
// with a fresh data folder holding the real Gemma 3 270M test model, the way host-web/tests/common does.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, copyFileSync, linkSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const MODEL = 'gemma-3-270m';
export const MODEL_FILE = 'gemma-3-270m-q4_k_m.gguf';
export const USERNAME = 'admin';
export const PASSWORD = 'correct horse battery staple';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** @returns {string} */
export function serverBinary() {
  const bin =
    process.env.JAN_SERVER_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(repo, 'target'), 'debug/jan-server');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run cargo build -p jan-server`);
  return bin;
}

/** @returns {string} */
export function testModel(file = MODEL_FILE) {
  const dir = process.env.JAN_TEST_MODELS ?? join(homedir(), '.cache/jan-test-models');
  const path = join(dir, file);
  if (!existsSync(path)) throw new Error(`${path} is missing: run ci/fetch-test-models.sh`);
  return path;
}

/** A data folder with the test model as the desktop app leaves it: models/<id>/model.json beside the .gguf. */
/** @returns {string} */
export function dataFolderWithModel() {
  const dir = mkdtempSync(join(tmpdir(), 'jan-ui-test-'));
  const modelDir = join(dir, 'models', MODEL);
  mkdirSync(modelDir, { recursive: true });
  const target = join(modelDir, MODEL_FILE);
  try {
    linkSync(testModel(), target);
  } catch {
    copyFileSync(testModel(), target);
  }
  const modelJson = {
    object: 'model',
    version: '1.0',
    format: 'gguf',
    sources: [{ filename: MODEL_FILE, url: MODEL_FILE }],
    id: MODEL,
    name: 'Gemma 3 270M (test model)',
    description: 'The small test model',
    created: 0,
    settings: { ctx_len: 2048, n_parallel: 2, ngl: 100, llama_model_path: MODEL_FILE },
    parameters: { temperature: 0.7, top_p: 0.95, stream: true, max_tokens: 64, stop: [] },
    metadata: { tags: ['270M', 'Q4_K_M'], size: 253113024 },
    engine: 'nitro',
  };
  writeFileSync(join(modelDir, 'model.json'), JSON.stringify(modelJson, null, 2));
  return dir;
}

/** @returns {Promise<number>} */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = /** @type {import('node:net').AddressInfo} */ (srv.address()).port;
      srv.close(() => resolvePort(port));
    });
  });
}

/**
 * @typedef {object} RunningServer
 * @property {string} base  e.g. http://127.0.0.1:PORT/
 * @property {number} port
 * @property {string} data  the data folder
 * @property {() => Promise<void>} stop
 * @property {() => Promise<void>} kill  SIGKILL, as a crash: the data folder stays (start another on it)
 */

/**
 * Starts jan-server and waits for /health. `login` sets JAN_USERNAME / JAN_PASSWORD; `apiKey` JAN_API_KEY;
 * `hubUrl` is the catalog's Hugging Face mirror (`--hub-url`); `queueSize` JAN_QUEUE_SIZE (requests that may wait
 * per model before the next gets 429); `port` a port to listen on (a restart on the same address), else a free one.
 * @param {{login?: boolean, data?: string, log?: boolean, apiKey?: string, hubUrl?: string, queueSize?: number,
 *   port?: number}} [options]
 * @returns {Promise<RunningServer>}
 */
export async function startServer(options = {}) {
  const data = options.data ?? dataFolderWithModel();
  const port = options.port ?? (await freePort());
  const env = { ...process.env };
  for (const key of ['JAN_USERNAME', 'JAN_PASSWORD', 'JAN_API_KEY', 'JAN_API_HOST', 'JAN_API_PORT']) delete env[key];
  for (const key of ['JAN_HUB_URL', 'JAN_QUEUE_SIZE']) delete env[key];
  if (options.login) Object.assign(env, { JAN_USERNAME: USERNAME, JAN_PASSWORD: PASSWORD });
  if (options.apiKey) env.JAN_API_KEY = options.apiKey;
  if (options.queueSize !== undefined) env.JAN_QUEUE_SIZE = String(options.queueSize);
  const args = ['--data-folder', data, '--port', String(port)];
  if (options.hubUrl) args.push('--hub-url', options.hubUrl);
  const child = spawn(serverBinary(), args, {
    env,
    stdio: ['ignore', options.log ? 'inherit' : 'ignore', options.log ? 'inherit' : 'ignore'],
  });
  const base = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`jan-server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}health`)).ok) break;
    } catch {
      // not yet listening
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('jan-server did not start');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    port,
    data,
    stop: () =>
      new Promise((done) => {
        const cleanup = () => {
          if (!options.data) rmSync(data, { recursive: true, force: true });
          done();
        };
        if (child.exitCode !== null || child.signalCode !== null) return cleanup();
        child.once('exit', cleanup);
        child.kill('SIGTERM');
        setTimeout(() => child.exitCode === null && child.kill('SIGKILL'), 10_000);
      }),
    kill: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGKILL');
      }),
  };
}

/**
 * A fetch that behaves like the page's: keeps the session cookie and sends the server's own Origin on requests
 * that change state (the server refuses cross-origin ones).
 */
/**
 * @param {string} base
 * @returns {typeof fetch}
 */
export function browserLikeFetch(base) {
  let cookie = '';
  const origin = new URL(base).origin;
  return async (input, init = {}) => {
    const headers = new Headers(init.headers);
    if (cookie) headers.set('Cookie', cookie);
    const method = (init.method ?? 'GET').toUpperCase();
    if (!['GET', 'HEAD'].includes(method)) headers.set('Origin', origin);
    const res = await fetch(input, { ...init, headers });
    const set = res.headers.getSetCookie?.() ?? [];
    for (const line of set) {
      const pair = line.split(';')[0];
      cookie = pair.endsWith('=') ? '' : pair;
    }
    return res;
  };
}

/** A minimal valid GGUF (version 3, no tensors) with an architecture and a name, for import tests. */
/** @returns {Uint8Array<ArrayBuffer>} */
export function tinyGguf(name = 'Tiny test model') {
  /** @type {number[]} */
  const parts = [];
  const u32 = (/** @type {number} */ v) => parts.push(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255);
  const u64 = (/** @type {number} */ v) => {
    u32(v);
    u32(0);
  };
  const str = (/** @type {string} */ s) => {
    const bytes = new TextEncoder().encode(s);
    u64(bytes.length);
    parts.push(...bytes);
  };
  parts.push(...new TextEncoder().encode('GGUF'));
  u32(3);
  u64(0); // tensors
  u64(2); // metadata entries
  str('general.architecture');
  u32(8);
  str('llama');
  str('general.name');
  u32(8);
  str(name);
  return new Uint8Array(parts);
}
