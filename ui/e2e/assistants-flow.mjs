// The Assistants screen end to end, over either transport: the default assistant cannot be deleted, one is
// created, edited, still there after a reload, starts a chat of its own (before the app knows the models), then is
// deleted.

import {
  check, deleteCurrentThread, leaveFieldWhenModelListed, openScreen, pageIdle, screenshot, send, setMaxTokens,
  waitForNewReply,
} from './flows.mjs';

/** @typedef {import('playwright-core').Page} Page */

const form = '.assistant-form';

/**
 * Creates, edits, reloads, chats with and deletes an assistant using `model`. Returns the assistant's id and the
 * id of the thread made with it (deleted by then).
 * @param {Page} page
 * @param {{model: string, shot: string, slow: import('./flows.mjs').SlowApi,
 *   checkThread?: (threadId: string, assistantId: string) => Promise<void>}} options
 *   `shot`: the screenshot's file name; `slow`: the runner's late answers (the model lists after a reload are held
 *   back: the chat with the assistant starts before the app knows the models); `checkThread`: the caller's own
 *   checks of the chat's thread, before it goes
 */
export async function manageAssistants(page, { model, shot, slow, checkThread }) {
  await openScreen(page, 'Assistants');
  await page.waitForSelector('.assistant-list li[data-assistant-id="jan"]');
  check((await page.locator('li[data-assistant-id="jan"] button:has-text("Delete")').count()) === 0, 'no Delete for jan');

  await page.fill(`${form} input[name=name]`, 'E2E helper');
  await page.fill(`${form} input[name=description]`, 'Made by the e2e');
  await page.selectOption(`${form} select[name=model]`, model);
  await page.fill(`${form} textarea[name=instructions]`, 'Answer in one short sentence.');
  await page.click(`${form} button:has-text("Create assistant")`);
  const created = page.locator('.assistant-list li:has-text("E2E helper")');
  await created.waitFor();
  const id = /** @type {string} */ (await created.getAttribute('data-assistant-id'));
  const item = `.assistant-list li[data-assistant-id="${id}"]`;
  check((await page.inputValue(`${form} input[name=name]`)) === '', 'the form is empty again');

  await page.click(`${item} button:has-text("Edit")`);
  check((await page.inputValue(`${form} input[name=name]`)) === 'E2E helper', 'Edit fills the form');
  check((await page.inputValue(`${form} select[name=model]`)) === model, 'with its model');
  await page.fill(`${form} input[name=name]`, 'E2E reviewer');
  await page.fill(`${form} input[name=description]`, 'Edited by the e2e');
  await page.click(`${form} button:has-text("Save")`);
  await page.waitForSelector(`${item}:has-text("E2E reviewer"):has-text("Edited by the e2e")`);
  await page.evaluate(() => document.querySelector('.page')?.scrollTo(0, 0));
  await screenshot(page, shot);

  /** Holds the model lists back from now until `release()`: the app's first load after a reload lacks them. */
  const holdModels = async () => {
    /** @type {() => void} */
    let open = () => undefined;
    const until = new Promise((r) => (open = () => r(undefined)));
    const held = await slow({ listModels: { until } });
    return {
      async release() {
        open();
        await held.settled();
        await held.restore();
      },
    };
  };

  // A new chat for it, sent before the app knows the models (held back after the reload): the panel has the
  // assistant picked, with its instructions; the chat waits for the models, and the thread is made for the
  // assistant, with its model and the panel's max tokens.
  let models = await holdModels();
  await page.reload();
  await page.waitForSelector(`${item}:has-text("E2E reviewer"):has-text("Edited by the e2e")`);
  check((await page.locator(`${item}:has-text("Model: ${model}")`).count()) === 1, 'its model after a reload');
  await page.click(`${item} button:has-text("New chat")`);
  await page.waitForSelector('.empty h2:has-text("New chat with E2E reviewer")');
  check((await page.inputValue('.panel select[name=assistant]')) === id, 'the new chat picks the assistant');
  check((await page.inputValue('.panel textarea[name=instructions]')) === 'Answer in one short sentence.', 'and its instructions');
  const text = 'Who are you, reviewer?';
  await setMaxTokens(page, 8);
  await send(page, text);
  await models.release();
  await page.waitForSelector(`.thread.current:has-text("${text}")`);
  await waitForNewReply(page, 2, []);
  check((await page.inputValue('.panel input[name=max_tokens]')) === '8', 'the chat has the panel\'s max tokens');
  check((await page.inputValue('.panel select[name=model]')) === model, 'and the assistant\'s model');
  await page.waitForSelector(`.panel [data-assistant-id="${id}"]:has-text("E2E reviewer")`);
  await page.waitForSelector('.msg.assistant header:has-text("E2E reviewer")');
  const threadId = decodeURIComponent(page.url().split('#/t/')[1]);
  await checkThread?.(threadId, id);
  await deleteCurrentThread(page, text);

  // Again before the models are known: max tokens is typed, and the field is left just as the models arrive,
  // before the panel is painted again. The panel keeps both the assistant's model and what was typed.
  await openScreen(page, 'Assistants');
  models = await holdModels();
  await page.reload();
  await page.click(`${item} button:has-text("New chat")`);
  await page.waitForSelector('.empty h2:has-text("New chat with E2E reviewer")');
  await page.fill('.panel input[name=max_tokens]', '6');
  await leaveFieldWhenModelListed(page, '.panel input[name=max_tokens]', model);
  await models.release();
  await page.waitForFunction(() => document.activeElement?.getAttribute('name') !== 'max_tokens');
  await pageIdle(page);
  const shown = await page.inputValue('.panel select[name=model]');
  check(shown === model, `the new chat has the assistant's model once the models came (${shown})`);
  check((await page.inputValue('.panel input[name=max_tokens]')) === '6', 'and the typed max tokens');

  await openScreen(page, 'Assistants');
  await page.click(`${item} button:has-text("Delete")`);
  await page.waitForSelector(item, { state: 'detached' });
  await page.reload();
  await page.waitForSelector('.assistant-list li[data-assistant-id="jan"]');
  check((await page.locator(item).count()) === 0, 'gone after a reload');
  return { id, threadId };
}
