// The chat's state across threads, and the keyboard: a reply stays in the thread it streams into while the user
// reads and writes in another; threads open at their newest message; rename by keyboard saves once and Escape
// cancels; unsent text stays with its thread; the panel refuses values out of range and says what it saved;
// Escape, the skip link, focus and the phone menu's Tab order. Shared by run.mjs (HTTP) and ipc.mjs (IPC); each
// step takes a `core` that reads and writes the core directly (over HTTP or the addon), to check what the page
// says against what is saved.

import {
  check, log, openScreen, pageIdle, recordStreaming, replyInNewChat, send, setMaxTokens, shownMessages,
  waitForNewReply,
} from './flows.mjs';

/** @typedef {import('playwright-core').Page} Page */
/**
 * The core, bypassing the page: what it saved, and threads made without the UI.
 * @typedef {object} Core
 * @property {(threadId: string) => Promise<{id: string, role: string, status: string, content: unknown}[]>} messages
 * @property {(threadId: string) => Promise<any>} thread
 * @property {(title: string, messages: {role: string, text: string}[]) => Promise<string>} makeThread  its id
 * @property {() => () => number} countThreadUpdates  counts the page's thread updates from now on; the returned
 *   function says how many so far
 */

/** The thread id in the page's address. @param {Page} page */
export function currentThreadId(page) {
  const id = decodeURIComponent(page.url().split('#/t/')[1] ?? '');
  check(id, `a thread is shown (${page.url()})`);
  return id;
}

/**
 * Asks `read` until it gives `want` (or 10 s passed); returns the last answer.
 * @template T @param {() => Promise<T>} read @param {T} want @returns {Promise<T>}
 */
async function eventually(read, want) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await read();
    if (value === want || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Opens a thread from the list. @param {Page} page @param {string} id */
async function openThread(page, id) {
  await page.click(`.thread[data-thread-id="${id}"] a`);
  await page.waitForFunction((t) => location.hash === `#/t/${encodeURIComponent(t)}`, id);
}

/** Waits until the page shows exactly the messages `ids`, in order. @param {Page} page @param {string[]} ids */
async function waitForShown(page, ids) {
  await page.waitForFunction(
    (want) => [...document.querySelectorAll('.msg')].map((m) => m.getAttribute('data-id')).join() === want,
    ids.join(),
  );
}

/**
 * A long reply streams in thread A while the user opens thread B: B shows its own title and messages, Send (no
 * Stop), and a message sent there gets its reply while A's goes on; back in A, its title and messages, the reply
 * still streaming; Escape stops it; what the page shows is what the core saved; Regenerate works there.
 * @param {Page} page @param {Core} core
 */
export async function replyStaysInItsThread(page, core) {
  await replyInNewChat(page, { text: 'Thread B: say hi.', maxTokens: 8 });
  const b = currentThreadId(page);
  const bShown = (await shownMessages(page)).map((m) => m.id);

  await openScreen(page, 'Chat');
  await setMaxTokens(page, 2000);
  await send(page, 'Thread A: write a very long story about a lighthouse keeper.');
  await page.waitForSelector('.msg.assistant.streaming');
  await page.waitForFunction(() => (document.querySelector('.msg.streaming .markdown')?.textContent ?? '').length > 10);
  const a = currentThreadId(page);

  log('  thread B while A streams: its own messages, Send, and a reply of its own');
  await openThread(page, b);
  await waitForShown(page, bShown);
  check((await page.locator('h1.title').innerText()) === 'Thread B: say hi.', 'B has its own title');
  check((await page.locator('button.stop').count()) === 0, 'B shows no Stop while A replies');
  const aWhile = (await core.messages(a)).at(-1);
  check(aWhile?.status === 'pending', `A still replies while B is used (${aWhile?.status})`);
  await send(page, 'Thread B again: one word.');
  await waitForNewReply(page, 4, bShown);
  check((await core.messages(b)).length === 4, 'B got its second reply');

  log('  back in A: its title, its messages, the reply going on; Escape stops it');
  await openThread(page, a);
  await page.waitForSelector('.msg.assistant.streaming');
  check((await page.locator('h1.title').innerText()).startsWith('Thread A'), 'A has its own title');
  const shownA = await shownMessages(page);
  check(shownA.length === 2 && shownA[0].text?.startsWith('Thread A'), `A's messages (${JSON.stringify(shownA)})`);
  await page.keyboard.press('Escape');
  await page.waitForSelector('.msg.assistant[data-status=stopped]');
  await page.waitForSelector('button.primary:has-text("Send")');
  const shownIds = (await shownMessages(page)).map((m) => `${m.id}:${m.status}`).join();
  // The core saves the stopped reply as the stream ends: at most a moment after the page learnt it.
  const savedA = await eventually(async () => (await core.messages(a)).map((m) => `${m.id}:${m.status}`).join(), shownIds);
  check(savedA === shownIds, `A shows what the core saved (${shownIds} / ${savedA})`);
  await setMaxTokens(page, 6);
  const before = (await shownMessages(page)).map((m) => m.id);
  await page.click('.msg:last-child button:has-text("Regenerate")');
  await waitForNewReply(page, 2, before);
  const regenerated = await core.messages(a);
  check(regenerated.length === 2 && regenerated[1].status === 'ready', 'A regenerated in its own thread');
}

/**
 * A thread of 30 messages opens at its newest; scrolled up, a button jumps back to the end.
 * @param {Page} page @param {Core} core
 */
export async function longThreadOpensAtNewest(page, core) {
  const messages = Array.from({ length: 30 }, (_, i) => ({
    role: i % 2 ? 'assistant' : 'user',
    text: `Message ${i + 1}: ${'a line of text. '.repeat(6)}`,
  }));
  const id = await core.makeThread('Thirty messages', messages);
  await page.reload();
  await page.waitForSelector(`.thread[data-thread-id="${id}"]`);
  await openThread(page, id);
  await page.waitForFunction(() => document.querySelectorAll('.msg').length === 30);
  await pageIdle(page);
  const gap = await page.evaluate(() => {
    const el = /** @type {HTMLElement} */ (document.querySelector('.messages'));
    return el.scrollHeight - el.scrollTop - el.clientHeight;
  });
  check(gap < 4, `the thread opens at its newest message (${gap}px from the end)`);
  check((await page.locator('button.to-end').count()) === 0, 'no jump button at the end');
  await page.hover('.messages');
  await page.mouse.wheel(0, -3000);
  await page.waitForSelector('button.to-end');
  await page.click('button.to-end');
  await page.waitForFunction(() => {
    const el = /** @type {HTMLElement} */ (document.querySelector('.messages'));
    return el.scrollHeight - el.scrollTop - el.clientHeight < 4;
  });
  await page.waitForSelector('button.to-end', { state: 'detached' });
  return id;
}

/**
 * Rename by keyboard: ✎ puts the focus in the title; Enter saves once (one PATCH); Escape cancels (no PATCH) and
 * gives the focus back to ✎. @param {Page} page @param {Core} core @param {string} id
 */
export async function renameByKeyboard(page, core, id) {
  const updates = core.countThreadUpdates();
  const patches = { get length() { return updates(); } };
  {
    const row = `.thread[data-thread-id="${id}"]`;
    await page.click(`${row} button[aria-label^=Rename]`);
    check(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') === 'Thread title'), 'the title field has the focus');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Renamed by keyboard');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`${row}:has-text("Renamed by keyboard")`);
    await pageIdle(page);
    await page.waitForTimeout(300);
    check(patches.length === 1, `Enter saves once (${patches.length} updates)`);

    await page.click(`${row} button[aria-label^=Rename]`);
    await page.keyboard.type(' and then not');
    await page.keyboard.press('Escape');
    await page.waitForSelector(`${row} input`, { state: 'detached' });
    await page.waitForTimeout(300);
    check(patches.length === 1, `Escape saves nothing (${patches.length} updates)`);
    check((await page.locator(`${row} .title`).innerText()) === 'Renamed by keyboard', 'the title is as it was');
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label')?.startsWith('Rename'));
  }
}

/**
 * What is typed and not sent stays with its thread: another thread's composer starts empty (or with its own), and
 * both come back after a reload. @param {Page} page @param {string} a @param {string} b  thread ids
 */
export async function unsentTextStaysWithItsThread(page, a, b) {
  const box = 'textarea[aria-label=Message]';
  await openThread(page, a);
  await page.fill(box, 'unsent in A');
  await openThread(page, b);
  check((await page.inputValue(box)) === '', 'B does not get what was typed in A');
  await page.fill(box, 'unsent in B');
  await openThread(page, a);
  check((await page.inputValue(box)) === 'unsent in A', 'A keeps its text');
  await page.reload();
  await page.waitForSelector(box);
  check((await page.inputValue(box)) === 'unsent in A', 'and after a reload');
  await openThread(page, b);
  check((await page.inputValue(box)) === 'unsent in B', 'B too');
  await page.fill(box, '');
  await openThread(page, a);
  await page.fill(box, '');
}

/**
 * The panel refuses a temperature of 5 and a context of 10 (the core's ranges), saying why, and saves nothing;
 * a good value is saved and the panel says so. @param {Page} page @param {Core} core @param {string} id
 */
export async function panelRefusesValuesOutOfRange(page, core, id) {
  await openThread(page, id);
  const before = (await core.thread(id)).assistants[0].model;
  for (const [field, value, reason] of [['temperature', '5', 'between 0 and 2'], ['ctx_len', '10', 'at least 256']]) {
    const input = `.panel input[name=${field}]`;
    await page.fill(input, value);
    await page.press(input, 'Tab');
    await page.waitForSelector(`.panel .field-error:has-text("${reason}")`);
    check((await page.getAttribute(input, 'aria-invalid')) === 'true', `${field} is marked invalid`);
  }
  await pageIdle(page);
  const after = (await core.thread(id)).assistants[0].model;
  check(JSON.stringify(after) === JSON.stringify(before), `nothing was saved (${JSON.stringify(after)})`);
  await page.fill('.panel input[name=temperature]', '0.7');
  await page.press('.panel input[name=temperature]', 'Tab');
  await page.waitForSelector('.panel .save-status:has-text("Saved")');
  check((await page.locator('.panel input[name=temperature] ~ .field-error').count()) === 0, 'the reason is gone');
  check((await core.thread(id)).assistants[0].model.parameters.temperature === 0.7, 'the good value is saved');
  await page.fill('.panel input[name=ctx_len]', '');
  await page.press('.panel input[name=ctx_len]', 'Tab');
}

/**
 * The keyboard and screen readers: the list of messages is not live (a reader would read every token); the skip
 * link leads to the composer; a thread switch focuses the composer; Escape cancels an edit; at phone width the
 * closed menu is out of the Tab order and Escape closes the open one. @param {Page} page @param {string} id
 */
export async function keyboardAndScreenReaders(page, id) {
  await openThread(page, id);
  check((await page.locator('.messages[aria-live]').count()) === 0, 'the message list is not an aria-live region');
  check(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') === 'Message'), 'a thread switch focuses the composer');

  // Tab from the top of the page (a focus point before everything, as after a load).
  await page.evaluate(() => {
    const top = document.createElement('div');
    top.tabIndex = -1;
    top.id = 'e2e-top';
    document.body.prepend(top);
    top.focus();
  });
  await page.keyboard.press('Tab');
  await page.evaluate(() => document.getElementById('e2e-top')?.remove());
  check(await page.evaluate(() => document.activeElement?.classList.contains('skip-link')), 'Tab reaches the skip link first');
  await page.keyboard.press('Enter');
  check(await page.evaluate(() => document.activeElement?.id === 'composer'), 'the skip link leads to the composer');

  await page.click('.msg.user button:has-text("Edit")');
  await page.waitForSelector('textarea[aria-label="Edit message"]');
  await page.keyboard.press('Escape');
  await page.waitForSelector('textarea[aria-label="Edit message"]', { state: 'detached' });

  const viewport = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await pageIdle(page);
    await page.evaluate(() => /** @type {HTMLElement} */ (document.activeElement).blur());
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      const inMenu = await page.evaluate(() => !!document.activeElement?.closest('.sidebar'));
      check(!inMenu, `Tab ${i + 1} stays out of the closed menu`);
    }
    await page.click('button[aria-label=Menu]');
    await page.waitForSelector('.shell.menu-open');
    await page.keyboard.press('Escape');
    await page.waitForSelector('.shell.menu-open', { state: 'detached' });
  } finally {
    if (viewport) await page.setViewportSize(viewport);
  }
}

/**
 * The thread list: search (and "no match"), pins (the Pinned group, saved in the core), and a message deleted
 * from its actions is gone from the core too. @param {Page} page @param {Core} core @param {string} id  a thread
 * with at least two messages, titled other than "Pin me"
 */
export async function threadListAndMessageActions(page, core, id) {
  const title = await page.locator(`.thread[data-thread-id="${id}"] .title`).innerText();
  await page.fill('input[aria-label="Search threads"]', title.slice(0, 8));
  await page.waitForSelector(`.thread[data-thread-id="${id}"]`);
  await page.fill('input[aria-label="Search threads"]', 'zzqx no such thread');
  await page.waitForSelector('.no-match:has-text("No thread matches")');
  check((await page.locator('.thread').count()) === 0, 'no thread shown for a query nothing matches');
  await page.fill('input[aria-label="Search threads"]', '');
  await page.click(`.thread[data-thread-id="${id}"] button.pin`);
  await page.waitForSelector(`section[aria-label=Pinned] .thread[data-thread-id="${id}"]`);
  check((await core.thread(id)).metadata?.pinned === true, 'the pin is saved in the thread');
  await page.click(`.thread[data-thread-id="${id}"] button.pin`);
  await page.waitForSelector('section[aria-label=Pinned]', { state: 'detached' });
  check((await core.thread(id)).metadata?.pinned === false, 'and the unpin');

  await openThread(page, id);
  const before = await shownMessages(page);
  const last = before.at(-1);
  check(last, 'a message to delete');
  await page.click(`.msg[data-id="${last?.id}"] button:has-text("Delete")`);
  await page.waitForSelector(`.msg[data-id="${last?.id}"]`, { state: 'detached' });
  await eventually(async () => (await core.messages(id)).length, before.length - 1);
  check(!(await core.messages(id)).some((m) => m.id === last?.id), 'the core deleted it');
}

/**
 * Continue on a reply cut at max tokens: the same message goes on (its text so far kept, streamed on, saved with
 * both), nothing new in the thread. Then math in a reply: KaTeX renders inline and display math, its fonts load
 * (bundled, under the page's CSP). @param {Page} page @param {Core} core
 */
export async function continueAndMath(page, core) {
  await replyInNewChat(page, { text: 'Count from 1 to 60, separated by commas.', maxTokens: 8 });
  const id = currentThreadId(page);
  const reply = page.locator('.msg.assistant').last();
  await reply.locator('.badge:has-text("cut at max tokens")').waitFor();
  const [, before] = await core.messages(id);
  const textOf = (/** @type {any} */ m) => (m.content ?? []).map((/** @type {any} */ p) => p.text?.value ?? '').join('');
  await recordStreaming(page);
  await reply.locator('button:has-text("Continue")').click();
  // Done once it streamed (texts recorded only while the reply streams) and its message is saved again.
  await page.waitForFunction(
    (mid) => {
      const last = [...document.querySelectorAll('.msg')].at(-1);
      return (
        window.__snapshots.length > 0 &&
        last?.getAttribute('data-id') === mid &&
        last.getAttribute('data-status') === 'ready' &&
        !document.querySelector('button.stop')
      );
    },
    before.id,
    { timeout: 120_000 },
  );
  const seen = await page.evaluate(() => window.__snapshots);
  // The texts it showed are not compared with the first part's: rendered text is not a prefix of what follows (a
  // model that writes `$…$` gets KaTeX's markup once the math closes).
  check(seen.length >= 2, `streamed on (${seen.length} texts)`);
  const after = await core.messages(id);
  check(after.length === 2 && after[1].id === before.id, `the same message, nothing new (${after.length})`);
  check(textOf(after[1]).startsWith(textOf(before)) && textOf(after[1]).length > textOf(before).length,
    `the core kept the text and added to it: ${JSON.stringify(textOf(after[1]))}`);

  const math = await core.makeThread('Math', [
    { role: 'user', text: 'Euler and an integral, please.' },
    { role: 'assistant', text: 'Inline: $e^{i\\pi} + 1 = 0$, costs $5 and $6.\n\n$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$' },
  ]);
  await page.goto(`${page.url().split('#')[0]}#/t/${encodeURIComponent(math)}`);
  const rendered = page.locator('.msg.assistant .markdown');
  await rendered.locator('.katex-display').waitFor();
  check((await rendered.locator('.katex').count()) === 2, 'inline and display math rendered');
  const tex = await rendered.locator('annotation[encoding="application/x-tex"]').allTextContents();
  check(JSON.stringify(tex) === JSON.stringify(['e^{i\\pi} + 1 = 0', '\\int_0^1 x^2\\,dx = \\frac{1}{3}']),
    `MathML for screen readers carries the TeX: ${JSON.stringify(tex)}`);
  check((await rendered.innerText()).includes('costs $5 and $6'), 'prices stay text');
  const fonts = await page.evaluate(async () => {
    await document.fonts.ready;
    return document.fonts.check('16px KaTeX_Main') && [...document.fonts].some((f) => f.family.includes('KaTeX') && f.status === 'loaded');
  });
  check(fonts, 'KaTeX fonts loaded');
}

/**
 * Every step above, in the order both runs take them (after the runner's own steps: the thread list holds other
 * threads, the model has two slots). @param {Page} page @param {Core} core
 */
export async function stateFlows(page, core) {
  log('a reply stays in its thread while another is read and written');
  await replyStaysInItsThread(page, core);
  const threadA = currentThreadId(page);
  log('a long thread opens at its newest message; a button jumps back there');
  const longThread = await longThreadOpensAtNewest(page, core);
  log('rename by keyboard: Enter saves once, Escape cancels');
  await renameByKeyboard(page, core, longThread);
  log('unsent text stays with its thread');
  await unsentTextStaysWithItsThread(page, longThread, threadA);
  log('the panel refuses values out of range and says what it saved');
  await panelRefusesValuesOutOfRange(page, core, threadA);
  log('keyboard and screen readers: skip link, focus, Escape, the phone menu out of the Tab order');
  await keyboardAndScreenReaders(page, longThread);
  log('the thread list: search, no match, pins; a message deleted from its actions');
  await threadListAndMessageActions(page, core, longThread);
  log('Continue a reply cut at max tokens; math (KaTeX)');
  await continueAndMath(page, core);
}
