// Makes a real jan-server answer 429 "queue full": on a server started with JAN_QUEUE_SIZE=1, long streamed
// completions (an API key's, through the OpenAI-compatible API) take every slot of the model and the one place in
// its queue, so the next request for that model is refused at once.

/**
 * Keeps `slots + 1` long completions for `model` going until /metrics shows one waiting, steadily (the others
 * generating). A completion that ends early (refused while another was being admitted, or finished) is replaced.
 * `release()` aborts them all (the core stops each as its connection goes) and waits for the queue to drain.
 * @param {string} base  the server's address, ending in /
 * @param {string} apiKey
 * @param {string} model
 * @param {number} slots  the model's n_parallel
 */
export async function fillQueue(base, apiKey, model, slots) {
  const controller = new AbortController();
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const body = JSON.stringify({
    model,
    stream: true,
    max_tokens: 2000,
    messages: [{ role: 'user', content: 'Write a very long story about a lighthouse keeper and the sea, chapter by chapter.' }],
  });
  let live = 0;
  const start = () => {
    live++;
    fetch(`${base}v1/chat/completions`, { method: 'POST', headers, body, signal: controller.signal })
      .then(async (res) => {
        // Read the stream as it comes: an unread one would hold the engine back.
        for await (const _ of /** @type {ReadableStream<Uint8Array>} */ (res.body)) {
          // discard
        }
      })
      .catch(() => undefined)
      .finally(() => live--);
  };
  const deadline = Date.now() + 60_000;
  let steady = 0;
  while (steady < 3) {
    while (live <= slots) start();
    await new Promise((r) => setTimeout(r, 100));
    const metrics = await fetch(`${base}metrics`, { headers: { authorization: `Bearer ${apiKey}` } }).then((r) => r.text());
    steady = /^jan_queue_depth 1$/m.test(metrics) && live > slots ? steady + 1 : 0;
    if (Date.now() > deadline) {
      controller.abort();
      throw new Error(`the queue did not fill:\n${metrics.split('\n').filter((l) => l.startsWith('jan_')).join('\n')}`);
    }
  }
  return {
    /** Aborts them all and waits until nothing waits any more. */
    async release() {
      controller.abort();
      for (let i = 0; i < 200; i++) {
        const metrics = await fetch(`${base}metrics`, { headers: { authorization: `Bearer ${apiKey}` } }).then((r) => r.text());
        if (/^jan_queue_depth 0$/m.test(metrics) && live === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the queue did not drain after the completions were aborted');
    },
  };
}
