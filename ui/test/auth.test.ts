// The web login (HTTP only: the desktop has none) and the transport choice.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, IpcClient, JanError, createClient } from '../src/middleware';
import { FakePreloadOverHttp } from '../src/middleware/testing/fake-preload';
import { PASSWORD, type RunningServer, USERNAME, browserLikeFetch, startServer } from './server.mjs';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer({ login: true });
}, 90_000);
afterAll(() => server?.stop());

describe('login over HTTP', () => {
  it('needs a session, logs in and out', async () => {
    const c = new HttpClient({ base: server.base, fetch: browserLikeFetch(server.base) });
    expect(await c.session()).toEqual({ login_required: true, authenticated: false });
    const e = await c.listThreads().catch((x) => x);
    expect(e).toBeInstanceOf(JanError);
    expect(e.code).toBe('unauthorized');
    await c.login(USERNAME, PASSWORD);
    expect((await c.session()).authenticated).toBe(true);
    expect(Array.isArray(await c.listThreads())).toBe(true);
    await c.logout();
    expect((await c.session()).authenticated).toBe(false);
  });

  it('says wrong password, then too many attempts with the wait', async () => {
    const c = new HttpClient({ base: server.base, fetch: browserLikeFetch(server.base) });
    const wrong = await c.login(USERNAME, 'nope').catch((x) => x);
    expect(wrong.code).toBe('invalid_credentials');
    expect(wrong.status).toBe(401);
    let limited: JanError | undefined;
    for (let i = 0; i < 20 && !limited; i++) {
      const e = await c.login(USERNAME, 'nope').catch((x) => x);
      if (e.status === 429) limited = e;
    }
    expect(limited?.code).toBe('too_many_attempts');
    expect(limited?.retryAfter).toBeGreaterThan(0);
  });
});

describe('transport choice', () => {
  it('picks IPC when the preload exposed window.janIpc, HTTP otherwise', () => {
    expect(createClient({})).toBeInstanceOf(HttpClient);
    const preload = new FakePreloadOverHttp(new HttpClient({ base: 'http://127.0.0.1:9/', reconnectMs: 60_000 }));
    const client = createClient({ janIpc: preload });
    expect(client).toBeInstanceOf(IpcClient);
    expect(client.capabilities.login).toBe(false);
    preload.close();
  });
});
