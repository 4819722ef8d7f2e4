// ci/build-ui.sh, run on a copy of itself beside a stand-in ui/ folder, with fake node / npm / npx on PATH that
// only log their calls: each branch (no npm, Node too old, up to date, stale, --force, node_modules older than the
// lock file) without a real build. What host-web's build.rs does when npm is missing (embed the minimal page)
// needs cargo and is not covered here.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '../../ci/build-ui.sh');
const which = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
const bash = which('bash');
/** The system tools the script itself needs. */
const tools = ['dirname', 'find', 'touch'].map((t) => [t, which(t)] as const);

let root = '';
afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** A repo with ci/build-ui.sh and a ui/ whose inputs are older than its dist/ (up to date), both in the past. */
function fakeRepo(): { ui: string; bin: string; log: string } {
  root = mkdtempSync(join(tmpdir(), 'jan-build-ui-'));
  mkdirSync(join(root, 'ci'));
  copyFileSync(script, join(root, 'ci/build-ui.sh'));
  const ui = join(root, 'ui');
  mkdirSync(join(ui, 'src'), { recursive: true });
  mkdirSync(join(ui, 'dist'));
  mkdirSync(join(ui, 'node_modules'));
  const old = new Date(Date.now() - 60_000);
  for (const f of ['src/main.tsx', 'index.html', 'package.json', 'package-lock.json', 'vite.config.ts', 'tsconfig.json']) {
    writeFileSync(join(ui, f), '');
    utimesSync(join(ui, f), old, old);
  }
  utimesSync(join(ui, 'src'), old, old);
  writeFileSync(join(ui, 'node_modules/.package-lock.json'), '');
  utimesSync(join(ui, 'node_modules/.package-lock.json'), old, old);
  writeFileSync(join(ui, 'dist/index.html'), 'built');
  const built = new Date(Date.now() - 30_000);
  utimesSync(join(ui, 'dist/index.html'), built, built);
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const [name, path] of tools) symlinkSync(path, join(bin, name));
  return { ui, bin, log: join(root, 'calls.log') };
}

/** A fake tool that logs `name args` and exits with `code`. */
function fake(bin: string, log: string, name: string, body = 'exit 0') {
  const path = join(bin, name);
  writeFileSync(path, `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body}\n`);
  chmodSync(path, 0o755);
}

/** The fakes of a machine with Node 22 and npm. */
function withNode(bin: string, log: string) {
  fake(bin, log, 'node', 'case "$1" in --version) echo v22.1.0;; esac; exit 0');
  fake(bin, log, 'npm');
  fake(bin, log, 'npx');
}

function run(bin: string, ...args: string[]) {
  const r = spawnSync(bash, [join(root, 'ci/build-ui.sh'), ...args], { env: { PATH: bin }, encoding: 'utf8' });
  return { code: r.status, err: r.stderr };
}

const calls = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

describe('ci/build-ui.sh', () => {
  it('without npm: says how to get it, fails, and touches nothing', () => {
    const { ui, bin, log } = fakeRepo();
    writeFileSync(join(ui, 'src/main.tsx'), 'changed'); // stale, yet nothing may be built
    const r = run(bin);
    expect(r.code).toBe(1);
    expect(r.err).toContain('npm not found: install Node.js 20.19+ and npm');
    expect(readFileSync(join(ui, 'dist/index.html'), 'utf8')).toBe('built');
    expect(calls(log)).toEqual([]);
  });

  it('with a Node older than 20.19: says so and fails before building', () => {
    const { bin, log } = fakeRepo();
    fake(bin, log, 'npm');
    fake(bin, log, 'npx');
    fake(bin, log, 'node', 'case "$1" in --version) echo v20.18.0;; esac; exit 1');
    const r = run(bin);
    expect(r.code).toBe(1);
    expect(r.err).toContain('Node.js v20.18.0 is too old: Vite needs 20.19 or newer');
    expect(calls(log).filter((c) => !c.startsWith('node'))).toEqual([]);
  });

  it('up to date: builds nothing; --force builds anyway', () => {
    const { bin, log } = fakeRepo();
    withNode(bin, log);
    const r = run(bin);
    expect([r.code, r.err.trim()]).toEqual([0, '[build-ui] ui/dist is up to date']);
    expect(calls(log).filter((c) => !c.startsWith('node'))).toEqual([]);
    expect(run(bin, '--force').code).toBe(0);
    expect(statSync(join(root, 'ui/dist/index.html')).mtimeMs).toBeGreaterThan(Date.now() - 10_000); // marked built
    expect(calls(log).filter((c) => !c.startsWith('node'))).toEqual([
      'npx --no-install tsc --noEmit',
      'npx --no-install vite build --logLevel warn',
    ]);
  });

  it('a changed source: builds (tsc, vite) without npm ci; a newer lock file: npm ci first', () => {
    const { ui, bin, log } = fakeRepo();
    withNode(bin, log);
    writeFileSync(join(ui, 'src/main.tsx'), 'changed');
    expect(run(bin).code).toBe(0);
    expect(calls(log).filter((c) => !c.startsWith('node'))).toEqual([
      'npx --no-install tsc --noEmit',
      'npx --no-install vite build --logLevel warn',
    ]);
    rmSync(log);
    const built = new Date(Date.now() - 30_000);
    utimesSync(join(ui, 'dist/index.html'), built, built);
    writeFileSync(join(ui, 'package-lock.json'), '{}');
    expect(run(bin).code).toBe(0);
    expect(calls(log).filter((c) => !c.startsWith('node'))[0]).toBe('npm ci --no-audit --no-fund --loglevel=error');
  });

  it('a failing type check stops the build', () => {
    const { ui, bin, log } = fakeRepo();
    withNode(bin, log);
    fake(bin, log, 'npx', 'case "$2" in tsc) exit 2;; esac; exit 0');
    writeFileSync(join(ui, 'src/main.tsx'), 'changed');
    expect(run(bin).code).toBe(2);
    expect(calls(log).filter((c) => c.startsWith('npx'))).toEqual(['npx --no-install tsc --noEmit']);
  });
});
