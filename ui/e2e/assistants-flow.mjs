// The Assistants screen end to end, over either transport: the default assistant cannot be deleted, one is
// created, edited, still there after a reload, starts a chat of its own, then is deleted.

import { check, deleteCurrentThread, openScreen, replyInNewChat, screenshot } from './flows.mjs';

/** @typedef {import('playwright-core').Page} Page */

const form = '.assistant-form';

/**
 * Creates, edits, reloads, chats with and deletes an assistant using `model`. Returns the assistant's id and the
 * id of the thread made with it (deleted by then).
 * @param {Page} page
 * @param {{model: string, shot: string, checkThread?: (threadId: string, assistantId: string) => Promise<void>}} options
 *   `shot`: the screenshot's file name; `checkThread`: the caller's own checks of the chat's thread, before it goes
 */
export async function manageAssistants(page, { model, shot, checkThread }) {
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

  await page.reload();
  await page.waitForSelector(`${item}:has-text("E2E reviewer"):has-text("Edited by the e2e")`);
  check((await page.locator(`${item}:has-text("Model: ${model}")`).count()) === 1, 'its model after a reload');

  // A new chat for it: the panel has it picked, with its instructions; the thread is made for it.
  await page.click(`${item} button:has-text("New chat")`);
  await page.waitForSelector('.empty h2:has-text("New chat with E2E reviewer")');
  check((await page.inputValue('.panel select[name=assistant]')) === id, 'the new chat picks the assistant');
  check((await page.inputValue('.panel textarea[name=instructions]')) === 'Answer in one short sentence.', 'and its instructions');
  const text = 'Who are you, reviewer?';
  await replyInNewChat(page, { text });
  await page.waitForSelector(`.panel [data-assistant-id="${id}"]:has-text("E2E reviewer")`);
  await page.waitForSelector('.msg.assistant header:has-text("E2E reviewer")');
  const threadId = decodeURIComponent(page.url().split('#/t/')[1]);
  await checkThread?.(threadId, id);
  await deleteCurrentThread(page, text);

  await openScreen(page, 'Assistants');
  await page.click(`${item} button:has-text("Delete")`);
  await page.waitForSelector(item, { state: 'detached' });
  await page.reload();
  await page.waitForSelector('.assistant-list li[data-assistant-id="jan"]');
  check((await page.locator(item).count()) === 0, 'gone after a reload');
  return { id, threadId };
}
