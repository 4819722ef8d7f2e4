// End to end: the server is killed (SIGKILL) in the middle of a reply and started again on the same data folder
// and address. The page keeps the text it showed and says so once; after the restart the ended session leads to
// the login, which says why; the unsent text is kept and the old notices are gone; the core has marked the reply
// interrupted, keeping what it had saved while streaming, and Retry asks again.
//
//   cargo build -p jan-server && node e2e/restart.mjs        (ci/test-ui.sh runs it after run.mjs)

import { rmSync } from 'node:fs';
import { PASSWORD, USERNAME, dataFolderWithModel, startServer } from '../test/server.mjs';
import {
  check, launchChromium, log, newPage, reportFailure, send, setMaxTokens, startLog, waitForNewReply, watchProblems,
} from './flows.mjs';

startLog('e2e-restart');
const data = dataFolderWithModel();
let server = await startServer({ login: true, data });
const browser = await launchChromium();
const problems = [];
let failed = false;

/** @param {import('playwright-core').Page} page */
async function logIn(page) {
  await page.fill('input[name=username]', USERNAME);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button:has-text("Log in")');
  await page.waitForSelector('textarea[aria-label=Message]');
}

try {
  const page = await newPage(browser);
  watchProblems(page, problems);
  /** The thread's messages as the core saved them (the page's session). @param {string} id */
  const saved = async (id) => {
    const res = await page.request.get(`${server.base}v1/threads/${encodeURIComponent(id)}/messages`);
    check(res.ok(), `GET the messages (${res.status()})`);
    const body = await res.json();
    return /** @type {any[]} */ (Array.isArray(body) ? body : body.data);
  };
  const text = (/** @type {any} */ m) => (m.content ?? []).map((/** @type {any} */ p) => p.text?.value ?? '').join('');

  log('log in and start a long reply');
  await page.goto(server.base);
  await page.waitForSelector('input[name=username]');
  await logIn(page);
  await setMaxTokens(page, 2000);
  await send(page, 'Write a very long story about a lighthouse keeper.');
  await page.waitForSelector('.msg.assistant.streaming');
  const threadId = decodeURIComponent(page.url().split('#/t/')[1]);

  log('the core saves the text as it streams');
  const deadline = Date.now() + 60_000;
  let partial = '';
  while (!partial) {
    check(Date.now() < deadline, 'the core saved some of the reply while it streamed');
    const reply = (await saved(threadId)).at(-1);
    if (reply?.status === 'pending') partial = text(reply);
    await page.waitForTimeout(200);
  }
  await page.fill('textarea[aria-label=Message]', 'typed before the crash');

  log('SIGKILL the server mid-reply: the page keeps what it showed and says so once');
  const shownBefore = await page.locator('.msg.assistant .markdown').innerText();
  await server.kill();
  await page.waitForSelector('.msg.assistant[data-status=error]');
  const shownAfter = await page.locator('.msg.assistant .markdown').innerText();
  // Rendered text is not monotonic in the streamed text (a "<" shows until the token that makes it a tag), so the
  // last few characters may differ; what matters is that the text stayed.
  check(shownAfter.length >= shownBefore.length - 20 && shownAfter.startsWith(shownBefore.slice(0, 40)),
    `the streamed text stays (${shownBefore.length} -> ${shownAfter.length} characters):\n${JSON.stringify(shownBefore.slice(-60))}\n${JSON.stringify(shownAfter.slice(-60))}`);
  await page.waitForTimeout(500);
  const said = await page.locator('.banner, .notice.error').allInnerTexts();
  check(said.length === 1 && /connection to the server was lost/i.test(said[0]), `said once: ${JSON.stringify(said)}`);
  await page.waitForSelector('.topbar .badge.error');

  log('start it again on the same folder and address: the ended session leads to the login, which says why');
  server = await startServer({ login: true, data, port: server.port });
  await page.waitForSelector('.login .notice:has-text("Your session has ended")', { timeout: 30_000 });
  await logIn(page);

  log('logged in: the unsent text is kept, the old notices are gone, the reply is marked interrupted with its text');
  check((await page.inputValue('textarea[aria-label=Message]')) === 'typed before the crash', 'the unsent text is kept');
  check((await page.locator('.banner, .notice').count()) === 0, 'no notice from before the login');
  await page.waitForSelector('.msg.assistant[data-status=error] .failure:has-text("cut off")');
  const reply = (await saved(threadId)).at(-1);
  check(reply.status === 'error' && reply.metadata?.error?.code === 'interrupted', `interrupted (${reply.status})`);
  check(text(reply).startsWith(partial), 'the core kept the text it had saved');
  // What the page shows is what a reload (which has only the core's copy) shows. Compared as rendered: the model's
  // text may hold Markdown or HTML, which the page renders.
  const shownNow = await page.locator('.msg.assistant .markdown').innerText();
  check(shownNow.length > 0, 'the page shows the text');
  await page.reload();
  await page.waitForSelector('.msg.assistant[data-status=error] .markdown');
  const fresh = await page.locator('.msg.assistant .markdown').innerText();
  check(shownNow === fresh, `the page shows what the core kept:\n${shownNow}\n--- after a reload:\n${fresh}`);
  check((await page.locator('.msg.assistant button:has-text("Continue")').count()) === 1, 'Continue is offered on it');

  log('Retry asks again');
  await setMaxTokens(page, 8);
  const ids = await page.locator('.msg').evaluateAll((ms) => ms.map((m) => m.getAttribute('data-id') ?? ''));
  await page.click('.msg.assistant button:has-text("Retry")');
  await waitForNewReply(page, 2, ids);

  check(problems.length === 0, `no page errors or CSP violations:\n${problems.join('\n')}`);
  log('passed');
} catch (e) {
  failed = true;
  await reportFailure(e, problems, browser, 'restart-failure.png');
} finally {
  await browser.close();
  await server.stop();
  rmSync(data, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
