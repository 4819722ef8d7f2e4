import { useLayoutEffect, useRef } from 'preact/hooks';
import { decorateCode, renderMarkdown } from '../markdown';

/** A message's markdown, sanitised, with highlighted code blocks and copy buttons. */
export function Markdown({ text }: { text: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (!ref.current) return;
    ref.current.innerHTML = renderMarkdown(text);
    decorateCode(ref.current);
  }, [text]);
  return <div class="markdown" ref={ref} />;
}
