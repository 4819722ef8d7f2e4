// The Hub's download of a catalog model, end to end (run.mjs serves the file from hub-mirror.mjs): progress that
// moves, speed and time left, Cancel, then a download to the end and the model listed and answering.

import { check, deleteCurrentThread, openScreen, replyInNewChat } from './flows.mjs';

/** @typedef {import('playwright-core').Page} Page */

/**
 * Waits until the catalog entry's progress bar has shown `count` different values, each higher than the last.
 * @param {Page} page @param {string} selector  the entry's progress bar @param {number} count
 */
async function progressRises(page, selector, count) {
  await page.evaluate(() => (window.__progress = []));
  await page.waitForFunction(
    ([sel, n]) => {
      const bar = /** @type {HTMLProgressElement | null} */ (document.querySelector(sel));
      const seen = window.__progress;
      if (bar && bar.position >= 0 && seen.at(-1) !== bar.value) seen.push(bar.value);
      return seen.length >= n;
    },
    /** @type {[string, number]} */ ([selector, count]),
    { polling: 50, timeout: 60_000 },
  );
  const seen = await page.evaluate(() => window.__progress);
  check(seen.every((v, i) => i === 0 || v > seen[i - 1]), `the progress only rises (${seen.join(', ')})`);
  return seen;
}

/**
 * Downloads the catalog model `id` in the Hub, cancels it once its progress moved, then downloads it to the end.
 * @param {Page} page @param {string} id
 */
export async function cancelThenDownload(page, id) {
  await openScreen(page, 'Hub');
  const entry = `.catalog li[data-model-id="${id}"]`;
  await page.click(`${entry} button:has-text("Download")`);
  const seen = await progressRises(page, `${entry} progress`, 3);
  const rate = await page.locator(`${entry} .download .rate`).innerText();
  check(/^[\d.]+% · [\d.]+ [KMG]?B\/s · .*\d+ s left$/.test(rate), `percent, speed and time left (${rate})`);
  check(seen.at(-1) < 100, 'cancelled before the end');
  await page.click(`${entry} .download button:has-text("Cancel")`);
  await page.waitForSelector(`${entry} .download`, { state: 'detached' });
  await page.waitForSelector(`.notice:has-text("Download of ${id} cancelled.")`);
  check((await page.locator(`.downloaded li[data-model-id="${id}"]`).count()) === 0, 'not listed as downloaded');

  await page.click(`${entry} button:has-text("Download")`);
  await progressRises(page, `${entry} progress`, 2);
  await page.waitForSelector(`${entry} .badge:has-text("Downloaded")`, { timeout: 120_000 });
  await page.waitForSelector(`.downloaded li[data-model-id="${id}"]`);
}

/** The downloaded model `id` answers in a new chat; the chat is deleted afterwards. @param {Page} page @param {string} id */
export async function downloadedModelAnswers(page, id) {
  const text = 'Hello from the downloaded model';
  await replyInNewChat(page, { text, model: id });
  check((await page.locator('.model-line').innerText()).includes(id), 'the chat used the downloaded model');
  await deleteCurrentThread(page, text);
}
