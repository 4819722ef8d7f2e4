// Shared by the addon's tests: a fresh data folder, the real test models, and a thread ready to reply.
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Jan } = require('..');

const MODELS = process.env.JAN_TEST_MODELS ?? path.join(os.homedir(), '.cache', 'jan-test-models');

/** A real test model fetched by ci/fetch-test-models.sh; a clear failure when it is missing. */
function testModel(file) {
  const full = path.join(MODELS, file);
  if (!fs.existsSync(full)) throw new Error(`test model ${full} is missing: run ci/fetch-test-models.sh`);
  return full;
}

const GEMMA = 'gemma-3-270m-q4_k_m.gguf';

function tempDir(prefix = 'jan-node-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A Jan on a new folder with the gemma test model imported. */
async function janWithModel() {
  const dir = tempDir();
  const jan = await Jan.open({ dataFolder: dir, device: 'cpu' });
  const model = await jan.importModel({ path: testModel(GEMMA) });
  return { dir, jan, model };
}

/** A thread on `modelId` whose last message is the user's `text`. */
async function threadAsking(jan, modelId, text, maxTokens = 24) {
  const thread = await jan.createThread({ title: 'test', model: { id: modelId, parameters: { max_tokens: maxTokens } } });
  await jan.addMessage(thread.id, { role: 'user', content: text });
  return thread;
}

/** The rejection of `promise` (fails when it resolves). */
async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

/** A message's text (Jan's parts or a string). */
function textOf(message) {
  if (typeof message.content === 'string') return message.content;
  return message.content.map((p) => (typeof p.text === 'string' ? p.text : p.text.value)).join('');
}

module.exports = { Jan, GEMMA, testModel, tempDir, janWithModel, threadAsking, rejection, textOf };
