// The steps both end-to-end runs take through the UI, whichever way it reaches the core: run.mjs (over HTTP, against
// jan-server) and ipc.mjs (over Electron-style IPC, against the addon). Each step waits, checks and throws like the
// scripts' own lines; screenshots go to e2e/screenshots/ (git-ignored).

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { tinyGguf } from '../test/server.mjs';

/** @typedef {import('playwright-core').Browser} Browser */
/** @typedef {import('playwright-core').Page} Page */

export const DESKTOP = { width: 1280, height: 800 };

const shots = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(shots, { recursive: true });

/** @param {Page} page @param {string} file  a name in e2e/screenshots/ */
export async function screenshot(page, file) {
  await page.screenshot({ path: join(shots, file) });
}

// The log: `[TAG 1.2s] text`; the last logged line names the step a failure happened in.
let tag = 'e2e';
let step = '';
let t0 = Date.now();

/** Starts the log's clock; every line carries `tag` (`e2e`, `e2e-ipc`). @param {string} name */
export function startLog(name) {
  tag = name;
  t0 = Date.now();
}

/** @param {string} text */
export function log(text) {
  step = text;
  console.log(`[${tag} ${((Date.now() - t0) / 1000).toFixed(1)}s] ${text}`);
}

/** @param {unknown} cond @param {string} what */
export function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

/** Debian's headless Chromium (or $CHROMIUM), with its own background traffic (updates, sync, QUIC) off. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page at desktop width that waits up to a minute and accepts every confirm(). @param {Browser} browser */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: DESKTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  page.on('dialog', (d) => d.accept());
  return page;
}

/**
 * Collects into `problems` the page's uncaught errors and its console errors: only CSP refusals, or with
 * `allConsoleErrors` every one.
 * @param {Page} page @param {string[]} problems @param {{allConsoleErrors?: boolean}} [options]
 */
export function watchProblems(page, problems, { allConsoleErrors = false } = {}) {
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (allConsoleErrors) problems.push(`console error: ${m.text()}`);
    else if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
  });
}

/**
 * After a failure: says where, lists the problems so far and screenshots every page to `file`.
 * @param {unknown} error @param {string[]} problems @param {Browser} browser @param {string} file
 */
export async function reportFailure(error, problems, browser, file) {
  console.error(`[${tag}] FAILED at "${step}": ${error instanceof Error ? error.message : error}`);
  if (problems.length) console.error(problems.join('\n'));
  for (const ctx of browser.contexts()) {
    for (const p of ctx.pages()) {
      await p.screenshot({ path: join(shots, file) }).catch(() => undefined);
      // CI keeps only the log: say what the page showed.
      const shown = await p.evaluate(describePage).catch((e) => `(could not read the page: ${e})`);
      console.error(`[${tag}] the page at ${p.url()}:\n${shown}`);
    }
  }
}

/** The page's state in a few lines: messages with their status, banners, badges. Runs in the page. */
function describePage() {
  const cut = (/** @type {string | null} */ t) => (t ?? '').replace(/\s+/g, ' ').trim().slice(0, 100);
  const lines = [...document.querySelectorAll('.msg')].map(
    (m) => `  ${m.className.trim()} [${m.getAttribute('data-status')}] ${cut(m.textContent)}`,
  );
  for (const b of document.querySelectorAll('.banner, .badge.error')) lines.push(`  banner: ${cut(b.textContent)}`);
  const composer = document.querySelector('.composer button');
  lines.push(`  composer button: ${cut(composer?.textContent ?? 'none')}`);
  return lines.join('\n');
}

/**
 * Until the returned function is called, the answers to message-list requests arrive `ms` late (fetched at once,
 * delivered after): a list that reaches the chat after it started a reply must not replace that reply.
 * @param {Page} page @param {number} ms
 */
export async function slowMessageLists(page, ms) {
  const pattern = /\/v1\/threads\/[^/]+\/messages$/;
  /** @param {import('playwright-core').Route} route */
  const handler = async (route) => {
    if (route.request().method() !== 'GET') return route.fallback();
    try {
      const response = await route.fetch();
      await new Promise((r) => setTimeout(r, ms));
      await route.fulfill({ response });
    } catch {
      // The page reloaded or closed meanwhile: nobody waits for this answer any more.
    }
  };
  await page.route(pattern, handler);
  return () => page.unroute(pattern, handler);
}

/**
 * Late answers and late calls, by the client method they belong to (`listThreads`, `updateThread`, ...): `answer`
 * ms holds the core's answer back (it was computed at once: it can be stale when it lands), `call` ms holds the
 * call back before the core gets it (a busy host: the change lands late), `until` holds the answer until that
 * promise settles. Each runner makes them its own way (page.route over HTTP, the stand-in main process over IPC);
 * `settled()` waits until every held call and answer has reached the page and the page has handled it,
 * `restore()` ends the delays.
 * @typedef {Record<string, {call?: number, answer?: number, until?: Promise<unknown>}>} SlowRules
 * @typedef {{settled(): Promise<void>, restore(): Promise<void>}} Slowed
 * @typedef {(rules: SlowRules) => Promise<Slowed>} SlowApi
 */

/** The HTTP requests of the client methods SlowRules can name. */
const HTTP_METHODS = {
  listThreads: ['GET', /\/v1\/threads$/],
  updateThread: ['PATCH', /\/v1\/threads\/[^/]+$/],
  listModels: ['GET', /\/v1\/models$/],
  listAssistants: ['GET', /\/v1\/assistants$/],
};

/** Lets the page handle what it just got (an answer, a state change): two frames and the tasks after them. @param {Page} page */
export async function pageIdle(page) {
  for (let i = 0; i < 2; i++) {
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
  }
}

/** SlowApi over HTTP (page.route). @param {Page} page @returns {SlowApi} */
export function slowHttp(page) {
  return async (rules) => {
    /** @type {Set<Promise<unknown>>} */
    const held = new Set();
    /** @type {[RegExp, (route: import('playwright-core').Route) => Promise<void>][]} */
    const routes = [];
    for (const [name, { call = 0, answer = 0, until }] of Object.entries(rules)) {
      const [method, pattern] = HTTP_METHODS[/** @type {keyof typeof HTTP_METHODS} */ (name)] ?? [];
      if (!pattern) throw new Error(`slowHttp: no request known for ${name}`);
      /** @param {import('playwright-core').Route} route */
      const handler = async (route) => {
        if (route.request().method() !== method) return route.fallback();
        const work = (async () => {
          try {
            await new Promise((r) => setTimeout(r, call));
            const response = await route.fetch();
            await new Promise((r) => setTimeout(r, answer));
            await until;
            await route.fulfill({ response });
          } catch {
            // The page reloaded or closed meanwhile: nobody waits for this answer any more.
          }
        })();
        held.add(work);
        await work;
        held.delete(work);
      };
      await page.route(pattern, handler);
      routes.push([pattern, handler]);
    }
    return {
      async settled() {
        while (held.size) await Promise.all([...held]);
        await pageIdle(page);
      },
      async restore() {
        for (const [pattern, handler] of routes) await page.unroute(pattern, handler);
      },
    };
  };
}

/** Clicks a screen in the navigation (Chat, Hub, System, Settings). @param {Page} page @param {string} name */
export async function openScreen(page, name) {
  await page.click(`nav.screens a:has-text("${name}")`);
}

/**
 * Imports a tiny GGUF called `name` in the Hub, by its bytes, and waits for it in the list.
 * @param {Page} page @param {string} name
 */
export async function importTinyModel(page, name) {
  await openScreen(page, 'Hub');
  await page.setInputFiles('input[type=file]', {
    name: 'tiny-e2e.gguf',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from(tinyGguf(name)),
  });
  // The Hub asks for a name, proposing the file's.
  check((await page.inputValue('input[name=import-name]')) === 'tiny-e2e', 'the file name is proposed');
  await page.fill('input[name=import-name]', name);
  await page.click('.import-name button:has-text("Import")');
  await page.waitForSelector(`.models li:has-text("${name}")`);
}

/**
 * Deletes the model `name` in the Hub and waits for it to leave the downloaded ones.
 * @param {Page} page @param {string} name
 */
export async function deleteModel(page, name) {
  await page.click(`.downloaded li:has-text("${name}") button:has-text("Delete")`);
  await page.waitForSelector(`.downloaded li:has-text("${name}")`, { state: 'detached' });
}

/** Sets the chat panel's max tokens. @param {Page} page @param {number} n */
export async function setMaxTokens(page, n) {
  await page.fill('.panel input[name=max_tokens]', String(n));
  await page.press('.panel input[name=max_tokens]', 'Tab');
}

/**
 * Opens the chat from another screen and types `n` in the panel's max tokens in the very task the panel first
 * renders in (before the browser paints it: a fast machine, or a test, can be that quick), then leaves the field a
 * few frames later with Tab. The panel must keep what was typed and hand it to the new chat.
 * @param {Page} page @param {number} n
 */
export async function openChatTypingMaxTokens(page, n) {
  await page.evaluate(
    (value) =>
      new Promise((done, fail) => {
        const typeIn = () => {
          const input = /** @type {HTMLInputElement | null} */ (document.querySelector('.panel input[name=max_tokens]'));
          if (!input) return false;
          input.focus();
          input.select();
          // As typing does: an input event, and a change event when the field is left.
          document.execCommand('insertText', false, value);
          return true;
        };
        if (document.querySelector('.panel')) fail(new Error('open the chat from another screen'));
        const watch = new MutationObserver(() => {
          if (typeIn()) {
            watch.disconnect();
            done(undefined);
          }
        });
        watch.observe(document.body, { childList: true, subtree: true });
        /** @type {HTMLAnchorElement} */ (document.querySelector('nav.screens a[href="#/"]')).click();
      }),
    String(n),
  );
  await pageIdle(page);
  check((await page.inputValue('.panel input[name=max_tokens]')) === String(n), 'the panel keeps what was typed as it opened');
  await page.press('.panel input[name=max_tokens]', 'Tab');
}

/**
 * The panel's changes right before Regenerate, with the host slow (each thread change reaches the core `slow`ly)
 * and the thread lists answered late (`listThreads` must already be slowed by the caller, before the reply whose
 * end asked for the list: that list, computed before the changes, lands after them). A changed temperature stays
 * shown once everything landed; max tokens changed and Regenerate clicked at once: the new reply obeys it. Returns
 * nothing; the caller checks the reply's tokens in the core.
 * @param {Page} page @param {SlowApi} slow @param {Slowed} lateLists  the caller's slowed thread lists
 */
export async function regenerateAfterLateSettings(page, slow, lateLists) {
  const lateSaves = await slow({ updateThread: { call: 1000 } });
  try {
    await page.fill('.panel input[name=temperature]', '0.5');
    await page.press('.panel input[name=temperature]', 'Tab');
    await lateSaves.settled();
    await lateLists.settled();
    const shown = await page.inputValue('.panel input[name=temperature]');
    check(shown === '0.5', `the temperature stays shown after a thread list answered late (${shown})`);
    await setMaxTokens(page, 8);
    await regenerateLastReply(page);
    const after = await page.inputValue('.panel input[name=max_tokens]');
    check(after === '8', `max tokens shown after the reply (${after})`);
    check((await page.inputValue('.panel input[name=temperature]')) === '0.5', 'and the temperature');
  } finally {
    await lateSaves.restore();
  }
}

/**
 * From now on, records in window.__snapshots every text the streaming reply shows, before it completes.
 * @param {Page} page
 */
export async function recordStreaming(page) {
  await page.evaluate(() => {
    window.__snapshots = [];
    new MutationObserver(() => {
      const live = document.querySelector('.msg.assistant.streaming .markdown');
      if (live) {
        const text = live.textContent ?? '';
        if (text && window.__snapshots.at(-1) !== text) window.__snapshots.push(text);
      }
    // The whole page: a new chat's screen is replaced by its thread's when the thread is made.
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

/** Types `text` in the message box and sends it with Enter. @param {Page} page @param {string} text */
export async function send(page, text) {
  await page.fill('textarea[aria-label=Message]', text);
  await page.press('textarea[aria-label=Message]', 'Enter');
}

/**
 * Sends `text` as the first message of a new thread (recordStreaming first) and waits for the whole reply; checks
 * that it streamed in growing pieces and was saved ready. Returns the new thread's address.
 * @param {Page} page @param {string} text
 */
export async function sendAndWaitReply(page, text) {
  await send(page, text);
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
  return threadUrl;
}

/** Asks for a long story with max tokens 400 and stops it once it has streamed a little. @param {Page} page */
export async function stopLongReply(page) {
  await setMaxTokens(page, 400);
  await page.evaluate(() => (window.__snapshots = []));
  await send(page, 'Write a very long story about a cat.\nMake it detailed.');
  await page.waitForSelector('button.stop');
  await page.waitForFunction(() => window.__snapshots.length >= 3 || !document.querySelector('button.stop'), null, {
    timeout: 180_000,
  });
  const seen = await page.evaluate(() => window.__snapshots.length);
  check(seen >= 3, `the story streams (${seen} texts seen before it ended)`);
  await page.click('button.stop');
  await page.waitForSelector('.msg.assistant[data-status=stopped]');
  await page.waitForSelector('button.primary:has-text("Send")');
}

/** Per page, what tells Node that the app first rendered its shell (see firstRenderHook). */
const firstRenderHooks = new WeakMap();

/**
 * Once per page: an init script that, on a load asked for with `sessionStorage['e2e-late-frames']`, makes the
 * frames of its first 2 s come 100 ms late (a busy machine: what runs after a paint runs late) and tells Node the
 * moment the app has first rendered its shell. `rendered()`: a promise of the next such moment.
 * @param {Page} page @returns {Promise<{rendered(): Promise<void>}>}
 */
async function firstRenderHook(page) {
  let hook = firstRenderHooks.get(page);
  if (hook) return hook;
  /** @type {(() => void) | null} */
  let onRendered = null;
  await page.exposeBinding('__e2eRendered', () => {
    onRendered?.();
    onRendered = null;
  });
  await page.addInitScript(() => {
    if (!sessionStorage.getItem('e2e-late-frames')) return;
    sessionStorage.removeItem('e2e-late-frames');
    const raf = window.requestAnimationFrame.bind(window);
    const lateUntil = performance.now() + 2000;
    window.requestAnimationFrame = (cb) =>
      performance.now() < lateUntil ? raf(() => setTimeout(() => raf(cb), 100)) : raf(cb);
    const watch = new MutationObserver(() => {
      if (!document.querySelector('nav.threads')) return;
      watch.disconnect();
      /** @type {any} */ (window).__e2eRendered();
    });
    watch.observe(document, { childList: true, subtree: true });
  });
  hook = { rendered: () => new Promise((r) => (onRendered = () => r(undefined))) };
  firstRenderHooks.set(page, hook);
  return hook;
}

/**
 * Reloads on a busy machine: frames come late, and the first answers (threads, models, assistants) land the moment
 * the app first renders, before the screens' after-paint work. The thread of `firstMessage` is back in the list,
 * the default assistant in the panel, and the thread's messages: the stopped story, four in all.
 * @param {Page} page @param {string} firstMessage @param {SlowApi} slow
 */
export async function reloadShowsThread(page, firstMessage, slow) {
  const rendered = (await firstRenderHook(page)).rendered();
  const held = await slow({ listThreads: { until: rendered }, listModels: { until: rendered }, listAssistants: { until: rendered } });
  try {
    await page.evaluate(() => sessionStorage.setItem('e2e-late-frames', '1'));
    await page.reload();
    await page.waitForSelector(`.msg.user:has-text("${firstMessage}")`);
    await page.waitForSelector('.msg.user:has-text("Write a very long story")');
    await page.waitForSelector('.msg.assistant[data-status=stopped]');
    check((await page.locator('.msg').count()) === 4, 'four messages');
    await page.waitForSelector(`.thread.current:has-text("${firstMessage}")`, { timeout: 10_000 });
    await page.waitForSelector('.panel [data-assistant-id="jan"]', { timeout: 10_000 });
  } finally {
    await held.settled();
    await held.restore();
  }
}

/** Renames the current thread in the list; the title stays after a reload. @param {Page} page @param {string} title */
export async function renameCurrentThread(page, title) {
  await page.click('.thread.current button[aria-label^=Rename]');
  await page.fill('.thread.current input[aria-label="Thread title"]', title);
  await page.press('.thread.current input[aria-label="Thread title"]', 'Enter');
  await page.waitForSelector(`.thread.current:has-text("${title}")`);
  await page.reload();
  await page.waitForSelector(`.thread.current:has-text("${title}")`);
}

/** Opens System: CPU and memory read as percentages; then lets the charts gather a few samples. @param {Page} page */
export async function systemShowsNumbers(page) {
  await openScreen(page, 'System');
  const cpu = await page.locator('[data-metric=cpu]').innerText();
  const mem = await page.locator('[data-metric=memory]').innerText();
  check(/^\d+%$/.test(cpu) && /^\d+%$/.test(mem), `numbers (${cpu}, ${mem})`);
  await page.waitForTimeout(2500);
}

/**
 * Deletes the current thread, called `title`; it stays gone after a reload.
 * @param {Page} page @param {string} title
 */
export async function deleteCurrentThread(page, title) {
  await page.click('.thread.current button[aria-label^=Delete]');
  await page.waitForSelector(`.thread:has-text("${title}")`, { state: 'detached' });
  await page.reload();
  await page.waitForSelector('textarea[aria-label=Message]');
  check((await page.locator(`.thread:has-text("${title}")`).count()) === 0, 'gone after a reload');
}

/**
 * The messages as the page shows them: role, id, status and, for the user's, the text.
 * @param {Page} page
 * @returns {Promise<{role: string, id: string, status: string, text: string | null}[]>}
 */
export function shownMessages(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('.msg')].map((m) => ({
      role: m.classList.contains('user') ? 'user' : 'assistant',
      id: m.getAttribute('data-id') ?? '',
      status: m.getAttribute('data-status') ?? '',
      text: m.querySelector('.plain')?.textContent ?? null,
    })),
  );
}

/**
 * Leaves the field `selector` (its change event) in the very task the panel first lists the model `model`, before
 * the browser paints that: what arrives with the models and what was typed meet there.
 * @param {Page} page @param {string} selector @param {string} model
 */
export async function leaveFieldWhenModelListed(page, selector, model) {
  await page.evaluate(
    ([field, id]) => {
      const select = /** @type {HTMLSelectElement} */ (document.querySelector('.panel select[name=model]'));
      const watch = new MutationObserver(() => {
        if (![...select.options].some((o) => o.value === id)) return;
        watch.disconnect();
        /** @type {HTMLElement} */ (document.querySelector(field)).blur();
      });
      watch.observe(select, { childList: true, subtree: true });
    },
    [selector, model],
  );
}

/**
 * Waits until the page shows `count` messages, the last a saved (ready) assistant reply none of `oldIds`, and the
 * composer is idle again. @param {Page} page @param {number} count @param {string[]} oldIds
 */
export async function waitForNewReply(page, count, oldIds) {
  await page.waitForFunction(
    ([n, old]) => {
      const all = [...document.querySelectorAll('.msg')];
      const last = all.at(-1);
      return (
        all.length === n &&
        !!last?.classList.contains('assistant') &&
        !old.includes(last.getAttribute('data-id') ?? '') &&
        last.getAttribute('data-status') === 'ready' &&
        !document.querySelector('button.stop')
      );
    },
    /** @type {[number, string[]]} */ ([count, oldIds]),
    { timeout: 180_000 },
  );
}

/**
 * Regenerate on the last reply: it is replaced by a new one (a new message id, saved ready), still exactly one
 * reply after the last user message, the messages before it untouched. @param {Page} page
 */
export async function regenerateLastReply(page) {
  const before = await shownMessages(page);
  const old = before.at(-1);
  check(old?.role === 'assistant' && old.status === 'ready', `the thread ends with a saved reply (${JSON.stringify(old)})`);
  await page.click(`.msg[data-id="${old.id}"] button:has-text("Regenerate")`);
  await waitForNewReply(page, before.length, before.map((m) => m.id));
  const after = await shownMessages(page);
  const ids = (/** @type {{id: string}[]} */ list) => list.map((m) => m.id).join();
  check(ids(after.slice(0, -1)) === ids(before.slice(0, -1)), 'the messages before the reply are untouched');
  const lastUser = after.findLastIndex((m) => m.role === 'user');
  check(after.slice(lastUser + 1).length === 1, 'exactly one reply after the last user message');
}

/**
 * Edits the thread's first message to `text` and saves and resends it: everything after it is dropped, the message
 * shows the new text, a new reply streams and is saved; a reload shows the same list (what the core saved).
 * @param {Page} page @param {string} text
 */
export async function editFirstMessageAndResend(page, text) {
  const before = await shownMessages(page);
  check(before.length >= 3 && before[0].role === 'user', `a thread with later messages to drop (${before.length})`);
  await recordStreaming(page);
  await page.click(`.msg[data-id="${before[0].id}"] button:has-text("Edit")`);
  await page.fill('textarea[aria-label="Edit message"]', text);
  await page.click('button:has-text("Save and resend")');
  await waitForNewReply(page, 2, before.map((m) => m.id));
  const shown = await shownMessages(page);
  check(shown[0].id === before[0].id && shown[0].text === text, `the same message with the new text (${shown[0].text})`);
  const seen = await page.evaluate(() => window.__snapshots.length);
  check(seen >= 2, `the new reply streamed (${seen} texts seen)`);
  await page.reload();
  await page.waitForSelector(`.msg[data-id="${shown[1].id}"]`);
  const reloaded = await shownMessages(page);
  check(JSON.stringify(reloaded) === JSON.stringify(shown), `the same after a reload:\n${JSON.stringify(reloaded)}\n${JSON.stringify(shown)}`);
}

/**
 * In a new chat with the model `label` (a GGUF that is not a model: the tiny import), a message gets "the model
 * failed to load" in the chat, with a way to another model and a Try again. The thread is deleted afterwards.
 * @param {Page} page @param {string} label  the model's name in the panel's list
 */
export async function brokenModelSaysSo(page, label) {
  await openScreen(page, 'Chat');
  await page.selectOption('.panel select[name=model]', { label });
  const text = 'Does a broken model load?';
  await send(page, text);
  const banner = page.locator('.banner:has-text("The model failed to load")');
  await banner.waitFor();
  check((await banner.locator('a:has-text("Pick another model")').getAttribute('href')) === '#/hub', 'a link to the Hub');
  check((await banner.locator('button:has-text("Try again")').count()) === 1, 'and a Try again');
  await deleteCurrentThread(page, text);
}

/**
 * Sends `text` in a new chat (with `model`, when given, and at most `maxTokens` tokens) and waits for its reply to
 * be saved ready. @param {Page} page @param {{text: string, model?: string, maxTokens?: number}} chat
 */
export async function replyInNewChat(page, { text, model, maxTokens = 8 }) {
  await openScreen(page, 'Chat');
  if (model) await page.selectOption('.panel select[name=model]', model);
  await setMaxTokens(page, maxTokens);
  await send(page, text);
  await page.waitForSelector(`.thread.current:has-text("${text}")`);
  await waitForNewReply(page, 2, []);
  // The panel now shows the thread's own settings: what the new chat was made with.
  const shown = await page.inputValue('.panel input[name=max_tokens]');
  check(shown === String(maxTokens), `the new chat has the panel's max tokens (${shown})`);
}

/**
 * The Hub beside the import: the catalog entry whose file is already on disk (the test model) says so with Use, a
 * fit badge from this machine's memory, "no match" for a filter nothing matches, Import reachable by keyboard
 * (Enter opens the file chooser), and Use on a downloaded model starts a new chat with it.
 * @param {Page} page @param {{catalogModel: string, model: string}} ids  the catalog entry, and the model on disk
 */
export async function hubRecognisesAndUses(page, { catalogModel, model }) {
  await openScreen(page, 'Hub');
  const entry = `.catalog li[data-model-id="${catalogModel}"]`;
  await page.waitForSelector(`${entry} .badge:has-text("On disk")`);
  await page.waitForSelector(`${entry} .badge:text-matches("Fits|Too big")`);
  await page.fill('input[aria-label="Filter models"]', 'zzqx no such model');
  await page.waitForSelector('.catalog .no-match');
  await page.fill('input[aria-label="Filter models"]', '');
  // Enter on the focused Import button opens the file picker (the file input's click, which shows the chooser).
  await page.evaluate(() => {
    const input = /** @type {HTMLInputElement} */ (document.querySelector('.downloaded input[type=file]'));
    input.addEventListener('click', (e) => {
      e.preventDefault(); // no native dialog in the test
      document.body.dataset.e2ePicker = 'opened';
    }, { once: true });
  });
  await page.focus('button:has-text("Import a GGUF file")');
  await page.keyboard.press('Enter');
  await page.waitForSelector('body[data-e2e-picker=opened]', { timeout: 5000 });
  await page.click(`.downloaded li[data-model-id="${model}"] button:has-text("Use")`);
  await page.waitForFunction(() => location.hash === '#/' || location.hash === '');
  check((await page.inputValue('select[name=chat-model]')) === model, 'Use starts a new chat with the model');
}
