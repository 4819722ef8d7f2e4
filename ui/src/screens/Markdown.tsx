import { useLayoutEffect, useRef } from 'preact/hooks';
import { decorateCode, renderMarkdown } from '../markdown';
import { decorateMath } from '../math';

/** A message's markdown, sanitised, with highlighted code blocks and copy buttons, and math (KaTeX). */
export function Markdown({ text }: { text: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (!ref.current) return;
    ref.current.innerHTML = renderMarkdown(text);
    decorateCode(ref.current);
    void decorateMath(ref.current);
  }, [text]);
  return <div class="markdown" ref={ref} />;
}
