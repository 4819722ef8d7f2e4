// The one contract suite every transport must pass: it drives a `JanClient` only through its interface, against
// a real jan-server (directly for HTTP, through the fake preload for IPC).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JanClient, JanError, type JanEvent, type Message, messageText } from '../src/middleware';
import { type Field, LIMITS, invalidReason } from '../src/limits';
import { MODEL, tinyGguf } from './server.mjs';

export interface ContractContext {
  /** The client under test, logged in where the transport has a login. */
  client(): JanClient;
  /** A client of the same transport whose server cannot be reached. */
  unreachable(): JanClient;
}

async function rejection(promise: Promise<unknown>): Promise<JanError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(JanError);
    return e as JanError;
  }
  throw new Error('expected a rejection');
}

function until<T>(events: T[], test: (e: T) => boolean, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const found = events.find(test);
      if (found) return resolve(found);
      if (Date.now() > deadline) return reject(new Error('event did not arrive'));
      setTimeout(poll, 25);
    };
    poll();
  });
}

export function contract(name: string, ctx: ContractContext): void {
  describe(`JanClient contract: ${name}`, () => {
    let c: JanClient;
    const events: JanEvent[] = [];
    let unsubscribe: () => void = () => undefined;

    beforeAll(async () => {
      c = ctx.client();
      let opened: () => void = () => undefined;
      const open = new Promise<void>((r) => (opened = r));
      unsubscribe = c.subscribe(
        (e) => events.push(e),
        (state) => state === 'open' && opened(),
      );
      await open;
    });
    afterAll(() => unsubscribe());

    it('reports the session', async () => {
      const s = await c.session();
      expect(s.authenticated).toBe(true);
      expect(s.login_required).toBe(c.capabilities.login);
    });

    it('lists models, the catalog and downloads, and names a missing model', async () => {
      const models = await c.listModels();
      expect(models.map((m) => m.id)).toContain(MODEL);
      expect((await c.getModel(MODEL)).id).toBe(MODEL);
      const missing = await rejection(c.getModel('no-such-model'));
      expect(missing.status).toBe(404);
      expect(missing.code).toMatch(/not_found/);
      const catalog = await c.catalog();
      expect(catalog.length).toBeGreaterThan(0);
      for (const m of catalog) expect(['downloaded', 'downloading', 'available']).toContain(m.status);
      expect(Array.isArray(await c.listDownloads())).toBe(true);
      expect((await rejection(c.downloadModel('no-such-model'))).status).toBe(404);
      expect((await rejection(c.cancelDownload('no-such-download'))).status).toBe(404);
    });

    it('imports a GGUF, lists it, and deletes it', async () => {
      const id = `tiny-${c.transport}`;
      const file = new Blob([tinyGguf()]);
      let progress = 0;
      const model = await c.importModel(file, { fileName: 'tiny.gguf', id, onProgress: (f) => (progress = f) });
      expect(model.id).toBe(id);
      expect(progress).toBe(1);
      expect((await c.listModels()).map((m) => m.id)).toContain(id);
      await until(events, (e) => e.type === 'model_updated' && e.model_id === id);
      expect((await c.deleteModel(id)).deleted).toBe(true);
      expect((await rejection(c.getModel(id))).status).toBe(404);
      const bad = await rejection(c.importModel(new Blob(['not a gguf']), { fileName: 'bad.gguf', id: `bad-${id}` }));
      expect(bad.status).toBeGreaterThanOrEqual(400);
      expect(bad.status).toBeLessThan(500);
    });

    it('creates, lists, renames and deletes threads and messages', async () => {
      const a = await c.createThread({ title: 'first', model: { id: MODEL } });
      await new Promise((r) => setTimeout(r, 5));
      const b = await c.createThread({ title: 'second' });
      const ids = (await c.listThreads()).map((t) => t.id);
      expect(ids.indexOf(b.id)).toBeLessThan(ids.indexOf(a.id));
      const renamed = await c.updateThread(a.id, { title: 'renamed' });
      expect(renamed.title).toBe('renamed');
      expect((await c.getThread(a.id)).title).toBe('renamed');
      const m1 = await c.addMessage(a.id, { role: 'user', content: 'hello' });
      const m2 = await c.addMessage(a.id, { role: 'assistant', content: 'hi there' });
      let list = await c.listMessages(a.id);
      expect(list.map((m) => m.id)).toEqual([m1.id, m2.id]);
      expect(messageText(list[0])).toBe('hello');
      const edited = await c.updateMessage(a.id, m2.id, { content: 'edited' });
      expect(messageText(edited)).toBe('edited');
      expect((await c.deleteMessage(a.id, m1.id)).deleted).toBe(true);
      list = await c.listMessages(a.id);
      expect(list.map((m) => m.id)).toEqual([m2.id]);
      await until(events, (e) => e.type === 'message_created' && e.message.id === m2.id);
      await until(events, (e) => e.type === 'thread_updated' && e.thread.id === a.id);
      for (const t of [a, b]) expect((await c.deleteThread(t.id)).deleted).toBe(true);
      await until(events, (e) => e.type === 'thread_deleted' && e.thread_id === a.id);
      expect((await rejection(c.getThread(a.id))).status).toBe(404);
      expect((await rejection(c.listMessages(a.id))).status).toBe(404);
    });

    it("refuses thread settings outside the panel's ranges and takes their ends", async () => {
      const t = await c.createThread({ title: 'ranges', model: { id: MODEL } });
      const update = (field: Field, value: number) =>
        c.updateThread(t.id, {
          model:
            field === 'ctx_len'
              ? { id: MODEL, settings: { ctx_len: value } }
              : { id: MODEL, parameters: { [field]: value } },
        });
      for (const [field, limit] of Object.entries(LIMITS) as [Field, (typeof LIMITS)[Field]][]) {
        const below = await rejection(update(field, limit.min - 1));
        expect([below.status, below.code], `${field} below ${limit.min}`).toEqual([400, 'invalid_value']);
        expect(below.message).toContain(field);
        expect(invalidReason(field, String(limit.min - 1))).toBeDefined();
        await update(field, limit.min);
        expect(invalidReason(field, String(limit.min))).toBeUndefined();
        if (limit.max !== undefined) {
          const above = await rejection(update(field, limit.max + 0.5));
          expect([above.status, above.code], `${field} above ${limit.max}`).toEqual([400, 'invalid_value']);
          expect(invalidReason(field, String(limit.max + 0.5))).toBeDefined();
          await update(field, limit.max);
        }
      }
      await c.deleteThread(t.id);
    });

    it('streams a reply token by token and saves it', async () => {
      const t = await c.createThread({ title: 'reply', model: { id: MODEL, parameters: { max_tokens: 8 } } });
      await c.addMessage(t.id, { role: 'user', content: 'Say hello.' });
      const deltas: string[] = [];
      let pendingId = '';
      const outcome = await c.reply(t.id, {
        onMessage: (m) => {
          expect(m.status).toBe('pending');
          pendingId = m.id;
        },
        onDelta: (d) => deltas.push(d),
      });
      expect(outcome.stopped).toBe(false);
      expect(deltas.length).toBeGreaterThan(1);
      expect(pendingId).not.toBe('');
      expect(outcome.message_id).toBe(pendingId);
      expect(outcome.message?.status).toBe('ready');
      expect(messageText(outcome.message!)).toBe(deltas.join(''));
      expect(outcome.usage?.completion_tokens).toBe(8);
      const saved = await c.listMessages(t.id);
      expect(saved.at(-1)?.id).toBe(pendingId);
      await until(events, (e) => e.type === 'message_updated' && e.message.id === pendingId);
      expect(events.some((e) => (e.type as string) === 'message_delta')).toBe(false);
      await c.deleteThread(t.id);
    });

    it('stops a reply mid-way; the core saves it as stopped', async () => {
      const t = await c.createThread({ title: 'stop', model: { id: MODEL, parameters: { max_tokens: 200 } } });
      await c.addMessage(t.id, { role: 'user', content: 'Write a long story about a cat.' });
      const controller = new AbortController();
      let count = 0;
      const outcome = await c.reply(
        t.id,
        {
          onDelta: () => {
            if (++count === 3) controller.abort();
          },
        },
        controller.signal,
      );
      expect(outcome.stopped).toBe(true);
      expect(outcome.message_id).toBeTruthy();
      const saved = await until(
        events,
        (e) => e.type === 'message_updated' && e.message.id === outcome.message_id && e.message.status !== 'pending',
      );
      expect(saved.type === 'message_updated' && saved.message.status).toBe('stopped');
      const messages = await c.listMessages(t.id);
      expect(messages.at(-1)?.status).toBe('stopped');
      await c.deleteThread(t.id);
    });

    it('continues a reply cut at max tokens in the same message; nothing to continue is a 400', async () => {
      const t = await c.createThread({ title: 'continue', model: { id: MODEL, parameters: { max_tokens: 6 } } });
      await c.addMessage(t.id, { role: 'user', content: 'Count from 1 to 50, separated by commas.' });
      const nothing = await rejection(c.reply(t.id, {}, undefined, { continue: true }));
      expect([nothing.status, nothing.code]).toEqual([400, 'invalid_request']);
      const first = await c.reply(t.id);
      expect(first.finish_reason).toBe('length');
      const cut = messageText(first.message!);
      let opened: Message | undefined;
      const deltas: string[] = [];
      const more = await c.reply(t.id, { onMessage: (m) => (opened = m), onDelta: (d) => deltas.push(d) }, undefined, {
        continue: true,
      });
      expect(opened?.id).toBe(first.message_id);
      expect([opened?.status, messageText(opened!)]).toEqual(['pending', cut]);
      expect(more.message_id).toBe(first.message_id);
      expect(messageText(more.message!)).toBe(cut + deltas.join(''));
      expect(deltas.length).toBeGreaterThan(0);
      const saved = await c.listMessages(t.id);
      expect(saved.map((m) => m.role)).toEqual(['user', 'assistant']);
      expect(messageText(saved[1])).toBe(cut + deltas.join(''));
      await c.deleteThread(t.id);
    });

    it('reports a reply that cannot start (no model)', async () => {
      const t = await c.createThread({ title: 'no model', model: { id: 'no-such-model' } });
      await c.addMessage(t.id, { role: 'user', content: 'hi' });
      const e = await rejection(c.reply(t.id));
      expect(e.status).toBe(404);
      await c.deleteThread(t.id);
    });

    it('starts and stops a model', async () => {
      expect((await c.startModel(MODEL)).state).toBe('ready');
      const info = await c.system();
      expect(info.loaded_models?.map((m) => m.model_id)).toContain(MODEL);
      expect((await c.stopModel(MODEL)).state).toBe('stopped');
    });

    it('manages assistants; the default one cannot be deleted', async () => {
      const list = await c.listAssistants();
      expect(list[0].id).toBe('jan');
      const a = await c.createAssistant({ name: 'Tester', instructions: 'Be brief.' });
      expect((await c.updateAssistant(a.id, { instructions: 'Be very brief.' })).instructions).toBe('Be very brief.');
      expect((await c.deleteAssistant(a.id)).deleted).toBe(true);
      expect((await rejection(c.deleteAssistant('jan'))).status).toBe(403);
    });

    it('reads the system monitor', async () => {
      const s = await c.system();
      expect(s.cpu?.cores).toBeGreaterThan(0);
      expect(typeof s.cpu?.usage_percent).toBe('number');
      expect(s.memory?.total_bytes).toBeGreaterThan(0);
      expect(Array.isArray(s.gpus)).toBe(true);
    });

    it('sets a remote engine; the key never comes back in full', async () => {
      const key = 'sk-remote-0123456789abcdef';
      const set = await c.setEngine('openai', { full_url: 'http://127.0.0.1:9/v1/chat/completions', api_key: key });
      expect(set.full_url).toBe('http://127.0.0.1:9/v1/chat/completions');
      expect(set.api_key_set).toBe(true);
      expect(set.api_key).not.toContain('0123');
      const kept = await c.setEngine('openai', { full_url: 'http://127.0.0.1:9/v1/x' });
      expect(kept.api_key_set).toBe(true);
      expect((await c.getEngine('openai')).full_url).toBe('http://127.0.0.1:9/v1/x');
      expect((await c.setEngine('openai', { full_url: 'http://127.0.0.1:9/v1/x', api_key: '' })).api_key_set).toBe(false);
    });

    it('creates, lists and revokes API keys (shown once)', async () => {
      if (!c.capabilities.apiKeys) return;
      const k = await c.createApiKey('contract');
      expect(k.key).toBeTruthy();
      const listed = (await c.listApiKeys()).find((x) => x.id === k.id);
      expect(listed?.name).toBe('contract');
      expect(listed?.key).toBeUndefined();
      await c.revokeApiKey(k.id);
      expect((await c.listApiKeys()).find((x) => x.id === k.id)).toBeUndefined();
      expect((await rejection(c.revokeApiKey(k.id))).status).toBe(404);
    });

    it('says when the server cannot be reached', async () => {
      const e = await rejection(ctx.unreachable().listThreads());
      expect(e.code).toBe('unreachable');
    });
  });
}
