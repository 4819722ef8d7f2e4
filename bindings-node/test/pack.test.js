// The npm package as users get it: `npm pack`, installed from the tarball into an empty folder (offline: the
// package has no dependencies), then loaded and used there, away from this repository.
'use strict';

const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { test } = require('node:test');

const { tempDir } = require('./helpers');

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

test('npm pack gives a package that installs into an empty folder and works there', () => {
  const out = tempDir('jan-pack-');
  const json = execFileSync(npm, ['pack', '--json', '--pack-destination', out], { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
  const [packed] = JSON.parse(json);
  const files = packed.files.map((f) => f.path).sort();
  assert.ok(files.includes('index.js') && files.includes('index.d.ts') && files.includes('package.json'), files.join());
  assert.ok(files.some((f) => /^jan-node\.linux-x64-gnu\.node$/.test(f)), `the prebuilt linux-x64-gnu addon: ${files}`);
  assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.includes('node_modules')), files.join());

  const app = tempDir('jan-app-');
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  execFileSync(npm, ['install', '--offline', '--no-audit', '--no-fund', path.join(out, packed.filename)], { cwd: app, stdio: 'pipe' });

  const data = tempDir('jan-app-data-');
  const script = `
    const { Jan } = require('@jan-cloud/core');
    (async () => {
      const jan = await Jan.open({ dataFolder: ${JSON.stringify(data)} });
      const thread = await jan.createThread({ title: 'from the package' });
      const catalog = await jan.catalog();
      let code;
      try { await jan.getThread('missing_1') } catch (e) { code = e.code }
      console.log(JSON.stringify({ title: thread.title, catalog: catalog.length, code }));
    })().catch((e) => { console.error(e); process.exit(1) });`;
  const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8' }));
  assert.deepEqual(result, { title: 'from the package', catalog: result.catalog, code: 'not_found' });
  assert.ok(result.catalog >= 10);

  const types = fs.readFileSync(path.join(app, 'node_modules', '@jan-cloud', 'core', 'index.d.ts'), 'utf8');
  assert.match(types, /export declare class Jan/);
  assert.match(types, /export type Model = \{/, 'the wire types are in the typings');
  assert.ok(fs.existsSync(path.join(app, 'node_modules', '@jan-cloud', 'core', 'error-codes.json')), 'the error code table ships');
  assert.match(types, /listModels\(\): Promise<Model\[\]>/);
});
