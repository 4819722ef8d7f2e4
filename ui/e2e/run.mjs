// End to end: the built UI (ui/dist, embedded in target/debug/jan-server) in headless Chromium (Debian's, driven by
// playwright-core) against the real jan-server with the real Gemma 3 270M test model and a login.
//
//   cargo build -p jan-server && node e2e/run.mjs        (ci/test-ui.sh does both, and installs chromium)
//
// Screenshots of the main screens at desktop and phone width go to e2e/screenshots/ (git-ignored). The steps it
// shares with ipc.mjs are in flows.mjs.

import { MODEL, PASSWORD, USERNAME, startServer, testModel } from '../test/server.mjs';
import { manageAssistants } from './assistants-flow.mjs';
import { cancelThenDownload, downloadedModelAnswers } from './download-flow.mjs';
import {
  DESKTOP, brokenModelSaysSo, check, hubRecognisesAndUses, deleteCurrentThread, deleteModel, editFirstMessageAndResend, importTinyModel,
  launchChromium, log, newPage, openChatTypingMaxTokens, openScreen, recordStreaming, regenerateAfterLateSettings,
  reloadShowsThread, renameCurrentThread, reportFailure, screenshot, send, sendAndWaitReply, setMaxTokens,
  slowHttp, slowMessageLists, startLog, stopLongReply, systemShowsNumbers, watchProblems,
} from './flows.mjs';
import { fillQueue } from './full-queue.mjs';
import { stateFlows } from './state-flows.mjs';
import { startHubMirror } from './hub-mirror.mjs';

const PHONE = { width: 390, height: 844 };
/** The catalog's entry whose file is the cached test model (served by the mirror below). */
const CATALOG_MODEL = 'gemma3-270m-q4_k_m';
const API_KEY = 'sk-e2e-queue';

startLog('e2e');
const mirror = await startHubMirror(testModel());
// Queue size 1: the 429 step fills it with two completions in the model's two slots and one waiting.
const server = await startServer({ login: true, hubUrl: mirror.url, apiKey: API_KEY, queueSize: 1 });
const browser = await launchChromium();
const problems = [];
let failed = false;

try {
  const page = await newPage(browser);
  watchProblems(page, problems);
  const slow = slowHttp(page);
  /** A thread's messages as the core saved them (the page's session). @param {string} id */
  const threadMessages = async (id) => {
    const res = await page.request.get(`${server.base}v1/threads/${encodeURIComponent(id)}/messages`);
    check(res.ok(), `GET the messages (${res.status()})`);
    const body = await res.json();
    return Array.isArray(body) ? body : body.data;
  };
  /** The core over HTTP with the page's session (state-flows.mjs's Core). */
  const origin = { Origin: new URL(server.base).origin };
  const core = {
    messages: threadMessages,
    /** @param {string} id */
    thread: async (id) => (await page.request.get(`${server.base}v1/threads/${encodeURIComponent(id)}`)).json(),
    /** @param {string} title @param {{role: string, text: string}[]} messages */
    makeThread: async (title, messages) => {
      const res = await page.request.post(`${server.base}v1/threads`, { data: { title }, headers: origin });
      check(res.ok(), `POST a thread (${res.status()})`);
      const { id } = await res.json();
      for (const m of messages) {
        const url = `${server.base}v1/threads/${encodeURIComponent(id)}/messages`;
        const added = await page.request.post(url, { data: { role: m.role, content: m.text }, headers: origin });
        check(added.ok(), `POST a message (${added.status()})`);
      }
      return /** @type {string} */ (id);
    },
    countThreadUpdates: () => {
      let n = 0;
      page.on('request', (r) => {
        if (r.method() === 'PATCH' && /\/v1\/threads\/[^/]+$/.test(r.url())) n++;
      });
      return () => n;
    },
  };

  log('the server sends a visitor without a session to the login screen');
  await page.goto(server.base);
  await page.waitForSelector('form input[name=username]');
  check(page.url().endsWith('/login'), `redirected to login (${page.url()})`);
  await screenshot(page, 'login-desktop.png');

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
  await importTinyModel(page, 'Tiny e2e model');
  await screenshot(page, 'hub-desktop.png');

  log('the Hub: a catalog file already on disk, fit badges, no match, Import by keyboard, Use');
  await hubRecognisesAndUses(page, { catalogModel: CATALOG_MODEL, model: MODEL });

  log('the imported GGUF has no weights: the chat says the model failed to load');
  await brokenModelSaysSo(page, 'Tiny e2e model');
  await openScreen(page, 'Hub');
  await deleteModel(page, 'Tiny e2e model');

  log('download a catalog model from the mirror: progress, cancel, then to the end');
  await cancelThenDownload(page, CATALOG_MODEL);
  check(mirror.requests.every((r) => r.includes('/resolve/main/gemma-3-270m-q4_k_m.gguf')), mirror.requests.join('\n'));
  log('the downloaded model answers');
  await downloadedModelAnswers(page, CATALOG_MODEL);
  await openScreen(page, 'Hub');
  await deleteModel(page, 'Gemma 3 270M Q4_K_M');

  log('a short reply: tokens arrive one by one (message lists answered late; max tokens typed as the panel opens)');
  const fastLists = await slowMessageLists(page, 1500);
  await openChatTypingMaxTokens(page, 24);
  await recordStreaming(page);
  // Thread lists answered late from here: the one asked for when this reply ends lands after the next step's changes.
  const lateLists = await slow({ listThreads: { answer: 2500 } });
  const threadUrl = await sendAndWaitReply(page, 'Hello! Who are you?');
  await page.waitForSelector('.thread.current:has-text("Hello! Who are you?")');
  await screenshot(page, 'chat-desktop.png');
  const threadId = decodeURIComponent(threadUrl.split('#/t/')[1]);
  const first = (await threadMessages(threadId)).at(-1);
  check(first.metadata?.usage?.completion_tokens <= 24, `max_tokens from the panel (${JSON.stringify(first.metadata?.usage)})`);

  log('regenerate the reply right after changing the panel (changes and thread lists reach the page late)');
  await regenerateAfterLateSettings(page, slow, lateLists);
  await lateLists.restore();
  const regenerated = (await threadMessages(threadId)).at(-1);
  check(regenerated.metadata?.usage?.completion_tokens <= 8, `the new reply has the panel's max tokens (${JSON.stringify(regenerated.metadata?.usage)})`);

  log('stop a long reply mid-way');
  await stopLongReply(page);
  await fastLists();

  log('a full queue: the real server answers 429, the chat says so, and Try again works once it drains');
  await openScreen(page, 'Chat');
  await page.selectOption('.panel select[name=model]', MODEL);
  await setMaxTokens(page, 8);
  const queue = await fillQueue(server.base, API_KEY, MODEL, 2);
  try {
    await send(page, 'Are you busy right now?');
    await page.waitForSelector('.banner:has-text("The server is busy (its queue is full)")');
  } finally {
    await queue.release();
  }
  await screenshot(page, 'queue-full-desktop.png');
  await page.click('.banner button:has-text("Try again")');
  await page.waitForSelector('.msg.assistant[data-status=ready]', { timeout: 180_000 });
  check((await page.locator('.banner').count()) === 0, 'the banner is gone');
  await deleteCurrentThread(page, 'Are you busy right now?');

  log('reload on a busy machine (late frames, the lists answered at the first render): the thread and its messages');
  await page.goto(threadUrl);
  await reloadShowsThread(page, 'Hello! Who are you?', slow);
  check(await page.locator('.msg.user .plain').nth(1).innerText().then((t) => t.includes('\n')), 'Shift+Enter is a newline');

  log('edit the first message and resend it');
  await setMaxTokens(page, 12);
  await editFirstMessageAndResend(page, 'Hello again! What can you do?');

  log('rename the thread');
  await renameCurrentThread(page, 'Renamed by e2e');

  await stateFlows(page, core);

  log('the system monitor shows numbers');
  await systemShowsNumbers(page);
  await screenshot(page, 'system-desktop.png');

  log('settings: an API key shown once, then revoked; dark theme');
  await openScreen(page, 'Settings');
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
  await screenshot(page, 'settings-desktop.png');
  await page.goto(threadUrl);
  await page.waitForSelector('.msg.assistant');
  await screenshot(page, 'chat-dark-desktop.png');

  log('assistants: create, edit, reload, a chat with one, delete');
  await manageAssistants(page, { model: MODEL, shot: 'assistants-desktop.png', slow });
  await page.goto(threadUrl);

  log('phone width');
  await page.setViewportSize(PHONE);
  await page.evaluate(() => localStorage.removeItem('jan.theme'));
  await page.reload();
  await page.waitForSelector('.msg.assistant');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  check(!overflow, 'no horizontal scrolling at phone width');
  await screenshot(page, 'chat-phone.png');
  await page.click('button[aria-label=Menu]');
  await page.waitForTimeout(300);
  await screenshot(page, 'menu-phone.png');
  await openScreen(page, 'System');
  await page.waitForSelector('[data-metric=cpu]');
  await page.waitForTimeout(400); // the menu slides away
  await screenshot(page, 'system-phone.png');
  await page.click('button[aria-label=Menu]');
  await openScreen(page, 'Hub');
  await page.waitForSelector('.hub');
  await page.waitForTimeout(400);
  await screenshot(page, 'hub-phone.png');
  await page.click('button[aria-label=Menu]');
  await openScreen(page, 'Assistants');
  await page.waitForSelector('.assistant-list li[data-assistant-id="jan"]');
  await page.waitForTimeout(400);
  const outside = await page.evaluate(() => {
    const card = /** @type {Element} */ (document.querySelector('.assistant-list')).getBoundingClientRect();
    return [...document.querySelectorAll('.assistant-list button')].filter((b) => b.getBoundingClientRect().right > card.right + 1).length;
  });
  check(outside === 0, `the assistants' buttons stay inside their card at phone width (${outside} do not)`);
  await screenshot(page, 'assistants-phone.png');

  log('delete the thread');
  await page.setViewportSize(DESKTOP);
  await page.goto(threadUrl);
  await deleteCurrentThread(page, 'Renamed by e2e');

  log('the server goes away: the UI says so');
  await server.stop();
  await page.waitForSelector('.topbar .badge.error', { timeout: 20_000 });
  await screenshot(page, 'unreachable-desktop.png');

  check(problems.length === 0, `no page errors or CSP violations:\n${problems.join('\n')}`);
  log('passed');
} catch (e) {
  failed = true;
  await reportFailure(e, problems, browser, 'failure.png');
} finally {
  await browser.close();
  await server.stop();
  await mirror.close();
}
process.exit(failed ? 1 : 0);
