// Math in messages: `$…$` and `\(…\)` inline, `$$…$$` and `\[…\]` as blocks, the forms models write. Marked
// turns them into `<span class="math">` holding the TeX source as text (what shows until KaTeX has loaded, and what
// DOMPurify sees: no KaTeX markup goes through the sanitiser); `decorateMath` then renders them with KaTeX, loaded
// on first use so a chat without math never downloads it. KaTeX's own output is safe: `trust` stays off, so no
// `\href`, `\url` or raw HTML from the TeX.

import type { MarkedExtension, Tokens } from 'marked';

interface MathToken extends Tokens.Generic {
  /** Marked finds an extension's renderer by its token's type. */
  type: 'math' | 'inlineMath';
  raw: string;
  tex: string;
  display: boolean;
}

// Inline `$…$` follows pandoc's rule, so prices stay prices: no space just inside the dollars, and no digit right
// after the closing one ("$5 and $6" is text).
const INLINE_DOLLAR = /^\$(?!\s)((?:\\.|[^\\$\n])+?)(?<!\s)\$(?!\d)/;
const INLINE_PAREN = /^\\\((.+?)\\\)/;
const BLOCK_DOLLAR = /^ {0,3}\$\$([\s\S]+?)\$\$[ \t]*(?:\n|$)/;
const BLOCK_BRACKET = /^ {0,3}\\\[([\s\S]+?)\\\][ \t]*(?:\n|$)/;
// `$$…$$` or `\[…\]` inside a line (some models write display math mid-paragraph).
const INLINE_DISPLAY = /^(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])/;

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const placeholder = (tex: string, display: boolean) =>
  `<span class="math" data-display="${display ? 1 : 0}">${escapeHtml(tex)}</span>`;

/** The marked extension that finds math and leaves it as TeX in `span.math` elements. */
export const mathExtension: MarkedExtension = {
  extensions: [
    {
      name: 'math',
      level: 'block',
      start: (src: string) => src.match(/^ {0,3}(?:\$\$|\\\[)/m)?.index,
      tokenizer(src: string): MathToken | undefined {
        const m = BLOCK_DOLLAR.exec(src) ?? BLOCK_BRACKET.exec(src);
        if (!m || !m[1].trim()) return undefined;
        return { type: 'math', raw: m[0], tex: m[1].trim(), display: true };
      },
      renderer: (token) => `<p>${placeholder((token as MathToken).tex, true)}</p>\n`,
    },
    {
      name: 'inlineMath',
      level: 'inline',
      start: (src: string) => src.match(/\$|\\[([]/)?.index,
      tokenizer(src: string): MathToken | undefined {
        const display = INLINE_DISPLAY.exec(src);
        if (display) {
          const tex = (display[1] ?? display[2]).trim();
          return tex ? { type: 'inlineMath', raw: display[0], tex, display: true } : undefined;
        }
        const m = INLINE_DOLLAR.exec(src) ?? INLINE_PAREN.exec(src);
        if (!m) return undefined;
        return { type: 'inlineMath', raw: m[0], tex: m[1], display: false };
      },
      renderer: (token) => placeholder((token as MathToken).tex, (token as MathToken).display),
    },
  ],
};

let katex: Promise<typeof import('katex').default> | undefined;

/** KaTeX and its stylesheet, loaded once. */
function loadKatex() {
  katex ??= import('./katex-loader').then((m) => m.default);
  return katex;
}

/**
 * Renders the math placeholders under `root` with KaTeX (TeX it cannot parse shows as the error KaTeX gives, in
 * place, never as a thrown error). Resolves when done; a root that changed meanwhile gets only its new elements.
 */
export async function decorateMath(root: HTMLElement): Promise<void> {
  const pending = Array.from(root.querySelectorAll<HTMLElement>('span.math:not([data-rendered])'));
  if (pending.length === 0) return;
  const k = await loadKatex();
  for (const el of pending) {
    if (!el.isConnected || el.dataset.rendered) continue;
    const tex = el.textContent ?? '';
    k.render(tex, el, { displayMode: el.dataset.display === '1', throwOnError: false, output: 'htmlAndMathml' });
    el.dataset.rendered = '1';
    el.setAttribute('data-tex', tex);
  }
}
