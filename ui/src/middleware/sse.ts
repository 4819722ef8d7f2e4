// Server-sent events read from a fetch body (EventSource cannot POST, cannot be aborted mid-request with a signal,
// and hides the status of a failed request; one parser serves both /api/events and the reply stream).

/** Splits an SSE byte stream into the `data:` payloads of its events (comments and other fields are skipped). */
export class SseParser {
  private buffer = '';
  private readonly decoder = new TextDecoder();

  /** Feeds bytes (or `undefined` at the end); returns the data of every event completed so far. */
  push(chunk: Uint8Array | undefined): string[] {
    this.buffer += chunk ? this.decoder.decode(chunk, { stream: true }) : this.decoder.decode();
    this.buffer = this.buffer.replace(/\r\n?/g, '\n');
    const out: string[] = [];
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, cut);
      this.buffer = this.buffer.slice(cut + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''));
      if (data.length) out.push(data.join('\n'));
    }
    return out;
  }
}

/** Reads a response body's SSE events as parsed JSON, in order, until the body ends. */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const reader = body.getReader();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      for (const data of parser.push(done ? undefined : value)) {
        if (data === '[DONE]') continue;
        yield JSON.parse(data);
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
