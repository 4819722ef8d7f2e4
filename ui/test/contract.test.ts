// The contract suite against both transports and one real jan-server with a login: HTTP directly, IPC through
// the fake preload (FakePreloadOverHttp) that forwards to the same server.

import { afterAll, beforeAll } from 'vitest';
import { HttpClient, IpcClient, type JanClient } from '../src/middleware';
import { FakePreloadOverHttp } from '../src/middleware/testing/fake-preload';
import { contract } from './contract';
import { PASSWORD, type RunningServer, USERNAME, browserLikeFetch, startServer } from './server.mjs';

let server: RunningServer;
let http: HttpClient;
let ipc: IpcClient;
let preload: FakePreloadOverHttp;
const dead = 'http://127.0.0.1:9/';

beforeAll(async () => {
  server = await startServer({ login: true });
  http = new HttpClient({ base: server.base, fetch: browserLikeFetch(server.base) });
  await http.login(USERNAME, PASSWORD);
  const forwarded = new HttpClient({ base: server.base, fetch: browserLikeFetch(server.base) });
  await forwarded.login(USERNAME, PASSWORD);
  preload = new FakePreloadOverHttp(forwarded);
  await preload.ready;
  ipc = new IpcClient(preload);
}, 90_000);

afterAll(async () => {
  preload?.close();
  await server?.stop();
});

contract('HTTP', {
  client: () => http,
  unreachable: () => new HttpClient({ base: dead, reconnectMs: 50 }),
});

contract('IPC (fake preload over HTTP)', {
  client: () => ipc,
  unreachable: (): JanClient => new IpcClient(new FakePreloadOverHttp(new HttpClient({ base: dead, reconnectMs: 60_000 }))),
});
