import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/middleware/sse';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('SseParser', () => {
  it('joins events split across chunks and skips comments', () => {
    const p = new SseParser();
    expect(p.push(bytes(': keep-alive\n\ndata: {"a"'))).toEqual([]);
    expect(p.push(bytes(':1}\n\ndata: x\r\n\r\n'))).toEqual(['{"a":1}', 'x']);
  });
  it('keeps a multi-byte character split between chunks', () => {
    const p = new SseParser();
    const all = bytes('data: 你好\n\n');
    expect(p.push(all.slice(0, 8))).toEqual([]);
    expect(p.push(all.slice(8))).toEqual(['你好']);
  });
  it('joins multi-line data', () => {
    expect(new SseParser().push(bytes('data: a\ndata: b\n\n'))).toEqual(['a\nb']);
  });
});
