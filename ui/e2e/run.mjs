// End to end: the built UI (ui/dist, embedded in target/debug/jan-server) in headless Chromium (Debian's, driven by
// playwright-core) against the real jan-server with the real Gemma 3 270M test model and a login.
//
//   cargo build -p jan-server && node e2e/run.mjs        (ci/test-ui.sh does both, and installs chromium)
//
// Screenshots of the main screens at desktop and phone width go to e2e/screenshots/ (git-ignored). The steps it
// shares with ipc.mjs are in flows.mjs.

import { PASSWORD, USERNAME, startServer } from '../test/server.mjs';
import {
  DESKTOP, check, deleteCurrentThread, deleteModel, importTinyModel, launchChromium, log, newPage, openScreen,
  recordStreaming, reloadShowsThread, renameCurrentThread, reportFailure, screenshot, sendAndWaitReply, setMaxTokens,
  slowMessageLists, startLog, stopLongReply, systemShowsNumbers, watchProblems,
} from './flows.mjs';

const PHONE = { width: 390, height: 844 };

startLog('e2e');
const server = await startServer({ login: true });
const browser = await launchChromium();
const problems = [];
let failed = false;

try {
  const page = await newPage(browser);
  watchProblems(page, problems);

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
  await deleteModel(page, 'Tiny e2e model');

  log('a short reply: tokens arrive one by one (message lists answered late)');
  const fastLists = await slowMessageLists(page, 1500);
  await openScreen(page, 'Chat');
  await setMaxTokens(page, 24);
  await recordStreaming(page);
  const threadUrl = await sendAndWaitReply(page, 'Hello! Who are you?');
  await page.waitForSelector('.thread.current:has-text("Hello! Who are you?")');
  await screenshot(page, 'chat-desktop.png');

  log('stop a long reply mid-way');
  await stopLongReply(page);
  await fastLists();

  log('reload: the thread and its messages are there');
  await reloadShowsThread(page, 'Hello! Who are you?');
  check(await page.locator('.msg.user .plain').nth(1).innerText().then((t) => t.includes('\n')), 'Shift+Enter is a newline');

  log('rename the thread');
  await renameCurrentThread(page, 'Renamed by e2e');

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
}
process.exit(failed ? 1 : 0);
