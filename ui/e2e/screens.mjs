// Every screen, light and dark, at desktop and phone width: a screenshot each (e2e/screenshots/screens/, git-
// ignored: CI keeps them as artifacts) and an accessibility check with axe-core in headless Chromium. A serious or
// critical violation fails the run, named with its rule, the elements and how to fix it.
//
//   cargo build -p jan-server && node e2e/screens.mjs        (ci/test-ui.sh runs it)

import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PASSWORD, USERNAME, startServer } from '../test/server.mjs';
import { DESKTOP, check, launchChromium, log, newPage, reportFailure, startLog, watchProblems } from './flows.mjs';

const PHONE = { width: 390, height: 844 };
const shots = join(dirname(fileURLToPath(import.meta.url)), 'screenshots', 'screens');
mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** A reply with what the chat renders: a list, code with its header, a quote, a table, a link. */
const RICH_REPLY = `Here is how:

1. Install it.
2. Run it:

\`\`\`bash
jan-server --port 1337
\`\`\`

> Keep the key secret.

| Setting | Value |
|---|---|
| port | 1337 |

See [the docs](https://jan.ai).`;

startLog('e2e-screens');
const server = await startServer({ login: true });
const browser = await launchChromium();
const problems = [];
/** @type {string[]} */
const violations = [];
let failed = false;

try {
  const page = await newPage(browser);
  watchProblems(page, problems);
  const origin = { Origin: new URL(server.base).origin };

  /** Runs axe on the page as it is; records serious and critical violations under `name`. @param {string} name */
  const audit = async (name) => {
    // Through the DevTools protocol: the page's CSP refuses injected script tags, as it should.
    await page.evaluate(axeSource);
    const found = await page.evaluate(async () => {
      // @ts-ignore axe is the script just added
      const result = await window.axe.run(document, { resultTypes: ['violations'] });
      return result.violations
        .filter((/** @type {any} */ v) => v.impact === 'serious' || v.impact === 'critical')
        .map((/** @type {any} */ v) => ({
          id: v.id,
          help: v.help,
          nodes: v.nodes.slice(0, 3).map((/** @type {any} */ n) => `${n.target.join(' ')}: ${n.failureSummary.split('\n')[1] ?? ''}`),
        }));
    });
    for (const v of found) violations.push(`${name}: ${v.id} (${v.help})\n    ${v.nodes.join('\n    ')}`);
  };
  /** @param {string} name */
  const shoot = (name) => page.screenshot({ path: join(shots, `${name}.png`) });

  log('the login screen');
  await page.goto(server.base);
  await page.waitForSelector('input[name=username]');
  for (const [size, viewport] of /** @type {const} */ ([['desktop', DESKTOP], ['phone', PHONE]])) {
    await page.setViewportSize(viewport);
    await shoot(`login-light-${size}`);
    await audit(`login (light, ${size})`);
  }
  await page.setViewportSize(DESKTOP);
  await page.fill('input[name=username]', USERNAME);
  await page.fill('input[name=password]', PASSWORD);
  await page.click('button:has-text("Log in")');
  await page.waitForSelector('textarea[aria-label=Message]');

  log('a thread with a rich reply');
  const made = await page.request.post(`${server.base}v1/threads`, { data: { title: 'How do I run Jan?' }, headers: origin });
  const { id } = await made.json();
  for (const [role, content] of [['user', 'How do I run Jan on a server?'], ['assistant', RICH_REPLY]]) {
    const url = `${server.base}v1/threads/${encodeURIComponent(id)}/messages`;
    check((await page.request.post(url, { data: { role, content }, headers: origin })).ok(), 'POST a message');
  }

  const screens = /** @type {const} */ ([
    ['chat', `#/t/${encodeURIComponent(id)}`, '.msg.assistant .code-head'],
    ['new-chat', '#/', 'textarea[aria-label=Message]'],
    ['hub', '#/hub', '.hub'],
    ['assistants', '#/assistants', '.assistant-list li'],
    ['system', '#/system', '[data-metric=cpu]'],
    ['settings', '#/settings', 'label.radio'],
  ]);
  for (const theme of ['light', 'dark']) {
    for (const [size, viewport] of /** @type {const} */ ([['desktop', DESKTOP], ['phone', PHONE]])) {
      log(`every screen, ${theme}, ${size}`);
      await page.setViewportSize(viewport);
      await page.evaluate((t) => localStorage.setItem('jan.theme', t), theme);
      await page.reload(); // the theme is read at start-up
      await page.waitForSelector('nav.threads');
      check((await page.getAttribute('html', 'data-theme')) === theme, `the ${theme} theme`);
      for (const [name, hash, ready] of screens) {
        await page.goto(`${server.base}${hash}`);
        await page.waitForSelector(ready);
        await page.waitForTimeout(150); // the phone menu's slide, the charts' first frame
        await shoot(`${name}-${theme}-${size}`);
        await audit(`${name} (${theme}, ${size})`);
      }
      if (size === 'phone') {
        await page.click('button[aria-label=Menu]');
        await page.waitForTimeout(300);
        await shoot(`menu-${theme}-phone`);
        await audit(`menu (${theme}, phone)`);
        await page.keyboard.press('Escape');
        await page.waitForSelector('.shell.menu-open', { state: 'detached' });
      }
    }
  }

  check(violations.length === 0, `accessibility (axe-core, serious or critical):\n  ${violations.join('\n  ')}`);
  check(problems.length === 0, `no page errors or CSP violations:\n${problems.join('\n')}`);
  log(`passed: screenshots in ${shots}`);
} catch (e) {
  failed = true;
  await reportFailure(e, problems, browser, 'screens-failure.png');
} finally {
  await browser.close();
  await server.stop();
}
process.exit(failed ? 1 : 0);
