// End to end: the built UI (ui/dist, embedded in target/debug/jan-server) in headless Chromium (Debian's, driven by
// playwright-core) against the real jan-server with the real Gemma 3 270M test model and a login.
//
//   cargo build -p jan-server && node e2e/run.mjs        (ci/test-ui.sh does both, and installs chromium)
//
// Screenshots of the main screens at desktop and phone width go to e2e/screenshots/ (git-ignored).

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { PASSWORD, USERNAME, startServer, tinyGguf } from '../test/server.mjs';

const shots = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(shots, { recursive: true });
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let step = '';
const t0 = Date.now();
function log(text) {
  step = text;
  console.log(`[e2e ${((Date.now() - t0) / 1000).toFixed(1)}s] ${text}`);
}
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

const server = await startServer({ login: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
let failed = false;

try {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  page.on('dialog', (d) => d.accept());
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });

  log('the server sends a visitor without a session to the login screen');
  await page.goto(server.base);
  await page.waitForSelector('form input[name=username]');
  check(page.url().endsWith('/login'), `redirected to login (${page.url()})`);
  await page.screenshot({ path: join(shots, 'login-desktop.png') });

  log('a wrong password says so');
  await page.fill('input[name=username]', USERNAME);
  await page.fill('input[name=password]', 'wrong');
  await page.click('button:has-text("Log in")');
  await page.waitForSelector('text=Wrong username or password.');

  log('log in');
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button:has-text("Log in")');
  await page.waitForSelector('textarea[aria-label=Message]');
  check(!page.url().endsWith('/login'), 'back on the app page');
  await page.waitForSelector('.model-line:has-text("gemma-3-270m")');

  log('import a GGUF in the Hub');
  await page.click('nav.screens a:has-text("Hub")');
  await page.setInputFiles('input[type=file]', {
    name: 'tiny-e2e.gguf',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(tinyGguf('Tiny e2e model')),
  });
  await page.waitForSelector('.models li:has-text("Tiny e2e model")');
  await page.screenshot({ path: join(shots, 'hub-desktop.png') });
  await page.click('.models li:has-text("Tiny e2e model") button:has-text("Delete")');
  await page.waitForSelector('.models li:has-text("Tiny e2e model")', { state: 'detached' });

  log('a short reply: tokens arrive one by one');
  await page.click('nav.screens a:has-text("Chat")');
  await page.fill('.panel input[name=max_tokens]', '24');
  await page.press('.panel input[name=max_tokens]', 'Tab');
  // Record every text the streaming reply shows, before it completes.
  await page.evaluate(() => {
    window.__snapshots = [];
    new MutationObserver(() => {
      const live = document.querySelector('.msg.assistant.streaming .markdown');
      if (live) {
        const text = live.textContent ?? '';
        if (text && window.__snapshots.at(-1) !== text) window.__snapshots.push(text);
      }
    }).observe(document.querySelector('.messages'), { subtree: true, childList: true, characterData: true });
  });
  await page.fill('textarea[aria-label=Message]', 'Hello! Who are you?');
  await page.press('textarea[aria-label=Message]', 'Enter');
  await page.waitForSelector('.msg.assistant.streaming');
  await page.waitForSelector('button.stop', { state: 'detached', timeout: 180_000 });
  const snapshots = await page.evaluate(() => window.__snapshots);
  log(`  ${snapshots.length} distinct texts while streaming`);
  check(snapshots.length >= 3, 'several DOM updates before completion');
  for (let i = 1; i < snapshots.length; i++) check(snapshots[i].startsWith(snapshots[i - 1].trimEnd().slice(0, -1)), 'text grows');
  const first = await page.locator('.msg.assistant').first().getAttribute('data-status');
  check(first === 'ready', `the reply is saved ready (${first})`);
  const threadUrl = page.url();
  check(threadUrl.includes('#/t/'), 'the new thread is in the address');
  await page.waitForSelector('.thread.current:has-text("Hello! Who are you?")');
  await page.screenshot({ path: join(shots, 'chat-desktop.png') });

  log('stop a long reply mid-way');
  await page.fill('.panel input[name=max_tokens]', '400');
  await page.press('.panel input[name=max_tokens]', 'Tab');
  await page.evaluate(() => (window.__snapshots = []));
  await page.fill('textarea[aria-label=Message]', 'Write a very long story about a cat.\nMake it detailed.');
  await page.press('textarea[aria-label=Message]', 'Enter');
  await page.waitForFunction(() => window.__snapshots.length >= 3, null, { timeout: 180_000 });
  await page.click('button.stop');
  await page.waitForSelector('.msg.assistant[data-status=stopped]');
  await page.waitForSelector('button.primary:has-text("Send")');

  log('reload: the thread and its messages are there');
  await page.reload();
  await page.waitForSelector('.msg.user:has-text("Hello! Who are you?")');
  await page.waitForSelector('.msg.user:has-text("Write a very long story")');
  await page.waitForSelector('.msg.assistant[data-status=stopped]');
  check((await page.locator('.msg').count()) === 4, 'four messages');
  check(await page.locator('.msg.user .plain').nth(1).innerText().then((t) => t.includes('\n')), 'Shift+Enter is a newline');

  log('rename the thread');
  await page.click('.thread.current button[aria-label^=Rename]');
  await page.fill('.thread.current input[aria-label="Thread title"]', 'Renamed by e2e');
  await page.press('.thread.current input[aria-label="Thread title"]', 'Enter');
  await page.waitForSelector('.thread.current:has-text("Renamed by e2e")');
  await page.reload();
  await page.waitForSelector('.thread.current:has-text("Renamed by e2e")');

  log('the system monitor shows numbers');
  await page.click('nav.screens a:has-text("System")');
  const cpu = await page.locator('[data-metric=cpu]').innerText();
  const mem = await page.locator('[data-metric=memory]').innerText();
  check(/^\d+%$/.test(cpu) && /^\d+%$/.test(mem), `numbers (${cpu}, ${mem})`);
  await page.waitForTimeout(2500);
  await page.screenshot({ path: join(shots, 'system-desktop.png') });

  log('settings: an API key shown once, then revoked; dark theme');
  await page.click('nav.screens a:has-text("Settings")');
  await page.fill('input[aria-label="Key name"]', 'e2e key');
  await page.click('button:has-text("Create key")');
  const key = await page.locator('.fresh-key .key').innerText();
  check(key.length > 16, 'the key is shown');
  await page.click('.fresh-key button:has-text("Done")');
  check((await page.locator('.fresh-key').count()) === 0, 'and not again');
  await page.click('.keys li:has-text("e2e key") button:has-text("Revoke")');
  await page.waitForSelector('.keys li:has-text("e2e key")', { state: 'detached' });
  await page.click('label.radio:has-text("dark") input');
  check((await page.getAttribute('html', 'data-theme')) === 'dark', 'dark theme');
  await page.screenshot({ path: join(shots, 'settings-desktop.png') });
  await page.goto(threadUrl);
  await page.waitForSelector('.msg.assistant');
  await page.screenshot({ path: join(shots, 'chat-dark-desktop.png') });

  log('phone width');
  await page.setViewportSize(PHONE);
  await page.evaluate(() => localStorage.removeItem('jan.theme'));
  await page.reload();
  await page.waitForSelector('.msg.assistant');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  check(!overflow, 'no horizontal scrolling at phone width');
  await page.screenshot({ path: join(shots, 'chat-phone.png') });
  await page.click('button[aria-label=Menu]');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, 'menu-phone.png') });
  await page.click('nav.screens a:has-text("System")');
  await page.waitForSelector('[data-metric=cpu]');
  await page.waitForTimeout(400); // the menu slides away
  await page.screenshot({ path: join(shots, 'system-phone.png') });
  await page.click('button[aria-label=Menu]');
  await page.click('nav.screens a:has-text("Hub")');
  await page.waitForSelector('.hub');
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(shots, 'hub-phone.png') });

  log('delete the thread');
  await page.setViewportSize(DESKTOP);
  await page.goto(threadUrl);
  await page.click('.thread.current button[aria-label^=Delete]');
  await page.waitForSelector('.thread:has-text("Renamed by e2e")', { state: 'detached' });
  await page.reload();
  await page.waitForSelector('textarea[aria-label=Message]');
  check((await page.locator('.thread:has-text("Renamed by e2e")').count()) === 0, 'gone after a reload');

  log('the server goes away: the UI says so');
  await server.stop();
  await page.waitForSelector('.topbar .badge.error', { timeout: 20_000 });
  await page.screenshot({ path: join(shots, 'unreachable-desktop.png') });

  check(problems.length === 0, `no page errors or CSP violations:\n${problems.join('\n')}`);
  log('passed');
} catch (e) {
  failed = true;
  console.error(`[e2e] FAILED at "${step}": ${e instanceof Error ? e.message : e}`);
  if (problems.length) console.error(problems.join('\n'));
  for (const ctx of browser.contexts()) {
    for (const p of ctx.pages()) await p.screenshot({ path: join(shots, 'failure.png') }).catch(() => undefined);
  }
} finally {
  await browser.close();
  await server.stop();
}
process.exit(failed ? 1 : 0);
