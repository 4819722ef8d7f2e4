// The core's request table (core/tests/requests/table.json) over napi: the same requests host-web's test sends over
// HTTP with the official openai client (host-web/tests/it/request_table.rs) get the same outcomes here. A failure
// is a rejected promise whose `code`, `status` and `param` are those of the HTTP answer.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { janWithModel } = require('./helpers');

const table = JSON.parse(fs.readFileSync(path.join(__dirname, '../../core/tests/requests/table.json'), 'utf8'));
const LONG = 'word '.repeat(700);

function fill(value, model) {
  if (value === '$MODEL') return model;
  if (value === '$LONG') return LONG;
  if (Array.isArray(value)) return value.map((v) => fill(v, model));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fill(v, model)]));
  }
  return value;
}

test('both hosts answer the request table alike (napi)', { timeout: 600_000 }, async () => {
  const { jan, model } = await janWithModel();
  await jan.updateModel(model.id, table.model_update);
  const failures = [];
  for (const c of table.cases) {
    const request = fill(c.request, model.id);
    let got;
    try {
      const generation =
        c.endpoint === 'chat' ? await jan.chat(request, () => {}) : await jan.complete(request, () => {});
      const done = await generation.wait();
      got = { finish_reason: done.finish_reason, completion_tokens: done.usage.completion_tokens };
    } catch (e) {
      got = { status: e.status, code: e.code, param: e.param ?? null };
    }
    const want = c.expect;
    const ok =
      'status' in want
        ? got.status === want.status && got.code === want.code && (!('param' in want) || got.param === want.param)
        : !('status' in got) &&
          (want.finish_reason === 'any' || got.finish_reason === want.finish_reason) &&
          (!('completion_tokens' in want) || got.completion_tokens === want.completion_tokens);
    if (!ok) failures.push(`${c.name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
  assert.deepEqual(failures, []);
});
