// A stand-in for Hugging Face on 127.0.0.1, so the e2e can download a catalog model with no network: jan-server's
// --hub-url points the catalog's URLs here. It serves one file for any path ending in that file's name (GET with
// `Range: bytes=N-` for the downloader's resume, and HEAD), throttled to `chunk` bytes every `everyMs`, so the
// download lasts a few seconds and the Hub's progress can be watched and cancelled.

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename } from 'node:path';

/**
 * @param {string} file  the file to serve
 * @param {{chunk?: number, everyMs?: number}} [options]
 * @returns {Promise<{url: string, requests: string[], close: () => Promise<void>}>}
 */
export function startHubMirror(file, { chunk = 8 << 20, everyMs = 100 } = {}) {
  const name = basename(file);
  const size = statSync(file).size;
  /** `METHOD path range`, for the e2e's checks and its failure log. */
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://mirror').pathname;
    requests.push(`${req.method} ${path} ${req.headers.range ?? ''}`.trim());
    res.on('error', () => undefined); // the downloader hung up (a cancel): nothing to do
    if (!path.endsWith(`/${name}`)) return void res.writeHead(404).end();
    if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405).end();
    const headers = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    let start = 0;
    let status = 200;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (start >= size) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      status = 206;
      headers['content-range'] = `bytes ${start}-${size - 1}/${size}`;
    }
    res.writeHead(status, { ...headers, 'content-length': String(size - start) });
    if (req.method === 'HEAD') return void res.end();
    const stream = createReadStream(file, { start, highWaterMark: chunk });
    try {
      for await (const piece of stream) {
        if (res.destroyed) break;
        res.write(piece);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    } finally {
      stream.destroy();
      res.end();
    }
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        close: () => new Promise((done) => (server.closeAllConnections(), server.close(() => done()))),
      });
    }),
  );
}
