// Every request/response method of the addon against the real core on a fresh data folder, and its errors: each
// rejection is an Error with the core's stable `code`, the HTTP `status` host-web would answer and OpenAI's `type`.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { Jan, GEMMA, janWithModel, rejection, tempDir, testModel } = require('./helpers');

test('open: a new folder is created and reported; bad options are refused with codes', async () => {
  const dir = path.join(tempDir(), 'nested', 'jan');
  const jan = await Jan.open({ dataFolder: dir });
  assert.equal(jan.dataFolder, dir);
  assert.ok(fs.existsSync(path.join(dir, 'models')), 'models/ created');
  assert.deepEqual(await jan.listModels(), []);

  const bad = await rejection(Jan.open({ dataFolder: tempDir(), device: 'tpu' }));
  assert.ok(bad instanceof Error);
  assert.equal(bad.code, 'invalid_request');
  assert.equal(bad.status, 400);
  // A file where the folder should be.
  const file = path.join(tempDir(), 'a-file');
  fs.writeFileSync(file, 'x');
  const notDir = await rejection(Jan.open({ dataFolder: file }));
  assert.equal(typeof notDir.code, 'string');
  assert.notEqual(notDir.code, 'GenericFailure');
});

test('models: import, list, get, update, start/stop, delete; the catalog and its statuses', async () => {
  const { jan, model } = await janWithModel();
  assert.equal(model.id, 'gemma-3-270m-q4_k_m');
  assert.equal(model.object, 'model');
  assert.equal(model.owned_by.length > 0, true);
  assert.equal(model.engine, 'nitro', "Jan's engine name for local GGUF models");

  const listed = await jan.listModels();
  assert.deepEqual(listed.map((m) => m.id), [model.id]);
  assert.equal((await jan.getModel(model.id)).name, model.name);

  const updated = await jan.updateModel(model.id, { name: 'Tiny Gemma', parameters: { temperature: 0.2 } });
  assert.equal(updated.name, 'Tiny Gemma');
  assert.equal(updated.parameters.temperature, 0.2);
  assert.ok('max_tokens' in updated.parameters || Object.keys(updated.parameters).length >= 1, 'other parameters kept');

  const started = await jan.startModel(model.id);
  assert.deepEqual([started.id, started.state], [model.id, 'ready']);
  const system = await jan.system();
  assert.deepEqual(system.loaded_models.map((m) => m.model_id), [model.id]);
  const stopped = await jan.stopModel(model.id);
  assert.deepEqual([stopped.state, stopped.message], ['stopped', 'the model is unloaded']);
  assert.equal((await jan.stopModel(model.id)).message, 'the model was not loaded');

  const catalog = await jan.catalog();
  assert.ok(catalog.length >= 10, `catalog has ${catalog.length} entries`);
  for (const entry of catalog) {
    assert.ok(['downloaded', 'downloading', 'available'].includes(entry.status), entry.id);
    assert.ok(entry.sources?.length > 0, `${entry.id} has sources`);
  }
  assert.deepEqual(await jan.listDownloads(), []);

  assert.deepEqual(await jan.deleteModel(model.id), { id: model.id, object: 'model', deleted: true });
  assert.deepEqual(await jan.listModels(), []);
});

test('models: a remote model is created; bad input and unknown ids reject with codes', async () => {
  const jan = await Jan.open({ dataFolder: tempDir() });
  const remote = await jan.createModel({ id: 'gpt-test', name: 'GPT test', engine: 'openai' });
  assert.equal(remote.id, 'gpt-test');
  assert.deepEqual((await jan.listModels()).map((m) => m.id), ['gpt-test']);
  const dup = await rejection(jan.createModel({ id: 'gpt-test', name: 'again', engine: 'openai' }));
  assert.deepEqual([dup.code, dup.status], ['conflict', 409]);

  // One call at a time: promises made together would reject before the loop reaches them (unhandled rejections).
  for (const call of [() => jan.getModel('missing'), () => jan.startModel('missing'), () => jan.stopModel('missing'), () => jan.deleteModel('missing')]) {
    const e = await rejection(call());
    assert.deepEqual([e.code, e.status, e.type], ['model_not_found', 404, 'invalid_request_error']);
    assert.match(e.message, /'missing' does not exist/);
  }
  const traversal = await rejection(jan.getModel('../etc'));
  assert.equal(traversal.code, 'model_not_found');
  const badUpdate = await rejection(jan.updateModel('gpt-test', { name: 42 }));
  // The same code and field host-web answers for the same JSON.
  assert.deepEqual([badUpdate.code, badUpdate.status, badUpdate.param], ['invalid_body', 400, 'name']);
  const notGguf = path.join(tempDir(), 'x.gguf');
  fs.writeFileSync(notGguf, 'not a gguf');
  const bad = await rejection(jan.importModel({ path: notGguf }));
  assert.deepEqual([bad.code, bad.status], ['invalid_gguf', 400]);
  const unknownDownload = await rejection(jan.downloadModel('no-such-catalog-model'));
  assert.equal(unknownDownload.code, 'model_not_found');
  // Wrong JS types are refused by the binding itself, before the core.
  assert.throws(() => jan.getModel(42), /string/i);
});

test('models: import can move the file and choose id and name', async () => {
  const jan = await Jan.open({ dataFolder: tempDir() });
  const copy = path.join(tempDir(), 'mine.gguf');
  fs.copyFileSync(testModel(GEMMA), copy);
  const model = await jan.importModel({ path: copy, id: 'my-gemma', name: 'My Gemma', fileName: 'g.gguf', moveFile: true });
  assert.deepEqual([model.id, model.name], ['my-gemma', 'My Gemma']);
  assert.equal(fs.existsSync(copy), false, 'moved away');
  assert.ok(fs.existsSync(path.join(jan.dataFolder, 'models', 'my-gemma', 'g.gguf')));
});

test('threads and messages: create, list, get, update, messages CRUD, delete', async () => {
  const jan = await Jan.open({ dataFolder: tempDir() });
  const thread = await jan.createThread({ title: 'Hello' });
  assert.equal(thread.title, 'Hello');
  assert.equal(thread.object, 'thread');
  const blank = await jan.createThread();
  assert.equal(typeof blank.id, 'string');
  assert.deepEqual(new Set((await jan.listThreads()).map((t) => t.id)), new Set([thread.id, blank.id]));

  const renamed = await jan.updateThread(thread.id, { title: 'Renamed' });
  assert.equal(renamed.title, 'Renamed');
  assert.equal((await jan.getThread(thread.id)).title, 'Renamed');

  const plain = await jan.addMessage(thread.id, { role: 'user', content: 'hi there' });
  assert.deepEqual(plain.content, [{ type: 'text', text: { value: 'hi there', annotations: [] } }]);
  const parts = await jan.addMessage(thread.id, { role: 'assistant', content: [{ type: 'text', text: 'openai form' }] });
  assert.equal(parts.content[0].text.value, 'openai form');
  assert.deepEqual((await jan.listMessages(thread.id)).map((m) => m.id), [plain.id, parts.id]);
  assert.equal((await jan.getMessage(thread.id, plain.id)).role, 'user');
  const edited = await jan.updateMessage(thread.id, plain.id, { content: 'edited' });
  assert.equal(edited.content[0].text.value, 'edited');
  assert.equal((await jan.getThread(thread.id)).metadata.lastMessage, 'openai form');
  assert.deepEqual(await jan.deleteMessage(thread.id, parts.id), { id: parts.id, object: 'thread.message.deleted', deleted: true });
  assert.equal((await jan.listMessages(thread.id)).length, 1);

  const badContent = await rejection(jan.addMessage(thread.id, { role: 'user', content: 3 }));
  assert.deepEqual([badContent.code, badContent.status, badContent.param], ['invalid_type', 400, 'content']);
  const badRole = await rejection(jan.addMessage(thread.id, { role: 'wizard', content: 'x' }));
  assert.deepEqual([badRole.code, badRole.param], ['invalid_body', 'role']);
  const missing = await rejection(jan.listMessages('nope_1'));
  assert.deepEqual([missing.code, missing.status, missing.type], ['not_found', 404, 'not_found_error']);
  const invalid = await rejection(jan.getThread('../../etc'));
  assert.deepEqual([invalid.code, invalid.status], ['invalid_id', 400]);

  assert.deepEqual(await jan.deleteThread(thread.id), { id: thread.id, object: 'thread.deleted', deleted: true });
  assert.equal((await rejection(jan.getThread(thread.id))).code, 'not_found');
});

test('assistants: the default one, create, get, update, delete; the default cannot be deleted', async () => {
  const jan = await Jan.open({ dataFolder: tempDir() });
  const initial = await jan.listAssistants();
  assert.ok(initial.some((a) => a.id === 'jan'), 'the default assistant exists');
  const created = await jan.createAssistant({ id: 'coder', name: 'Coder', instructions: 'Write code.' });
  assert.deepEqual([created.id, created.name, created.instructions], ['coder', 'Coder', 'Write code.']);
  assert.equal((await jan.getAssistant('coder')).name, 'Coder');
  assert.equal((await jan.updateAssistant('coder', { name: 'Senior coder' })).name, 'Senior coder');
  assert.deepEqual(await jan.deleteAssistant('coder'), { id: 'coder', object: 'assistant.deleted', deleted: true });
  const forbidden = await rejection(jan.deleteAssistant('jan'));
  assert.deepEqual([forbidden.code, forbidden.status, forbidden.type], ['forbidden', 403, 'permission_error']);
});

test('system and engines: numbers, masked keys', async () => {
  const jan = await Jan.open({ dataFolder: tempDir() });
  const system = await jan.system();
  assert.ok(system.cpu.cores >= 1);
  assert.ok(system.memory.total_bytes > 0);
  assert.deepEqual(system.loaded_models, []);
  assert.equal(typeof system.inference.generated_tokens, 'number');

  const blank = await jan.getEngine('openai');
  assert.equal(blank.api_key_set, false);
  const key = 'sk-test-0123456789abcdefWXYZ';
  const set = await jan.setEngine('openai', { full_url: 'http://127.0.0.1:9/v1/chat/completions', api_key: key });
  assert.deepEqual([set.api_key, set.api_key_set], ['••••WXYZ', true]);
  assert.ok(!JSON.stringify(await jan.getEngine('openai')).includes(key), 'the key never comes back');
  const kept = await jan.setEngine('openai', { full_url: 'http://127.0.0.1:9/v1/chat/completions' });
  assert.equal(kept.api_key_set, true, 'no api_key: the key stays');
  const bad = await rejection(jan.setEngine('openai', { full_url: 'not a url' }));
  assert.equal(bad.code, 'invalid_request');
  const badEngine = await rejection(jan.getEngine('../x'));
  assert.equal(badEngine.status, 400);
});

test('many calls at once all settle, each with its own answer', async () => {
  const jan = await Jan.open({ dataFolder: tempDir() });
  const threads = await Promise.all(Array.from({ length: 24 }, (_, i) => jan.createThread({ title: `t${i}` })));
  assert.equal(new Set(threads.map((t) => t.id)).size, 24);
  const read = await Promise.all(threads.map((t) => jan.getThread(t.id)));
  assert.deepEqual(read.map((t) => t.title), threads.map((t) => t.title));
  const messages = await Promise.all(threads.map((t, i) => jan.addMessage(t.id, { role: 'user', content: `m${i}` })));
  assert.deepEqual(messages.map((m) => m.content[0].text.value), threads.map((_, i) => `m${i}`));
});
