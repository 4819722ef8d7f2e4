// A catalog model downloaded through the addon from a Hugging Face mirror on 127.0.0.1 (`hubUrl`): progress
// events, the sha256 check, the model listed when done, then cancelling a second download.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const { test } = require('node:test');

const { Jan, rejection, tempDir, testModel } = require('./helpers');

/** The catalog entry whose file and sha256 are those of the cached qwen test model. */
const CATALOG_ID = 'qwen2.5-coder-0.5b-instruct-q4_k_m';

/** A mirror that serves `bytes` at any path, `chunk` bytes every `delayMs` (to watch progress and cancel). */
async function mirror(bytes, { chunk = 4 << 20, delayMs = 0 } = {}) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    requests.push(req.url);
    res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' });
    for (let at = 0; at < bytes.length && !res.destroyed; at += chunk) {
      const more = res.write(bytes.subarray(at, at + chunk));
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      else if (!more) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() };
}

test('a catalog model downloads with progress events, is verified, then listed and ready', async () => {
  const bytes = fs.readFileSync(testModel('qwen2.5-coder-0.5b-instruct.gguf'));
  const hub = await mirror(bytes);
  try {
    const jan = await Jan.open({ dataFolder: tempDir(), hubUrl: hub.url });
    const entry = (await jan.catalog()).find((m) => m.id === CATALOG_ID);
    assert.equal(entry.status, 'available');
    assert.ok(entry.sources[0].url.startsWith(hub.url), `the catalog points at the mirror: ${entry.sources[0].url}`);

    const events = [];
    let resolveDone;
    const done = new Promise((r) => (resolveDone = r));
    const sub = jan.subscribe((e) => {
      if (e.model_id !== CATALOG_ID) return;
      events.push(e);
      if (e.type === 'download_done' || e.type === 'download_failed') resolveDone(e);
    });
    const started = await jan.downloadModel(CATALOG_ID);
    assert.deepEqual([started.model_id, started.status], [CATALOG_ID, 'downloading']);
    const end = await done;
    sub.close();
    assert.equal(end.type, 'download_done', JSON.stringify(end));
    const progress = events.filter((e) => e.type === 'download_progress');
    assert.ok(progress.length >= 1, 'progress events');
    assert.equal(progress.at(-1).transferred, bytes.length);
    assert.ok(progress.every((p, i) => i === 0 || p.transferred >= progress[i - 1].transferred), 'monotonic');
    assert.ok(hub.requests.some((u) => u.endsWith('/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf')), hub.requests.join());

    assert.deepEqual((await jan.listModels()).map((m) => m.id), [CATALOG_ID]);
    assert.equal((await jan.catalog()).find((m) => m.id === CATALOG_ID).status, 'downloaded');
    const again = await rejection(jan.downloadModel(CATALOG_ID));
    assert.equal(again.code, 'conflict', again.message);
  } finally {
    hub.close();
  }
});

test('a download in flight is listed and can be cancelled; the partial file is removed', async () => {
  const bytes = fs.readFileSync(testModel('qwen2.5-coder-0.5b-instruct.gguf'));
  const hub = await mirror(bytes, { chunk: 256 << 10, delayMs: 50 });
  try {
    const jan = await Jan.open({ dataFolder: tempDir(), hubUrl: hub.url });
    let resolveEnd;
    const ended = new Promise((r) => (resolveEnd = r));
    let firstProgress;
    const progressed = new Promise((r) => (firstProgress = r));
    const sub = jan.subscribe((e) => {
      if (e.type === 'download_progress') firstProgress(e);
      if (e.type === 'download_failed' || e.type === 'download_done') resolveEnd(e);
    });
    const started = await jan.downloadModel(CATALOG_ID);
    await progressed;
    const inFlight = await jan.listDownloads();
    assert.deepEqual(inFlight.map((d) => d.download_id), [started.id]);
    assert.equal((await jan.catalog()).find((m) => m.id === CATALOG_ID).status, 'downloading');
    await jan.cancelDownload(started.id);
    const end = await ended;
    sub.close();
    assert.deepEqual([end.type, end.code], ['download_failed', 'cancelled']);
    assert.deepEqual(await jan.listDownloads(), []);
    assert.deepEqual(await jan.listModels(), []);
    const leftovers = fs.readdirSync(jan.dataFolder, { recursive: true }).filter((f) => String(f).endsWith('.download'));
    assert.deepEqual(leftovers, []);
    assert.equal((await rejection(jan.cancelDownload(started.id))).code, 'not_found');
  } finally {
    hub.close();
  }
});
