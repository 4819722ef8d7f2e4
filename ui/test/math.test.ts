// The math extension's tokenizer (what counts as math, what stays text) and KaTeX's output for what it finds.
import katex from 'katex';
import { Marked } from 'marked';
import { describe, expect, it } from 'vitest';
import { mathExtension } from '../src/math';

const md = new Marked({ gfm: true, breaks: true }, mathExtension);
const html = (src: string) => md.parse(src, { async: false });
/** The math placeholders in `src`'s HTML: [display, TeX]. */
const found = (src: string) =>
  [...html(src).matchAll(/<span class="math" data-display="(\d)">([\s\S]*?)<\/span>/g)].map((m) => [m[1], m[2]]);

describe('math in markdown', () => {
  it('finds inline math in dollars and in \\( \\)', () => {
    expect(found('Euler: $e^{i\\pi} + 1 = 0$, and \\(a_1 + b\\) too.')).toEqual([
      ['0', 'e^{i\\pi} + 1 = 0'],
      ['0', 'a_1 + b'],
    ]);
  });

  it('finds display math in $$ $$ and \\[ \\], on their own lines or inside one', () => {
    expect(found('Before\n\n$$\n\\frac{a}{b}\n$$\n\nafter')).toEqual([['1', '\\frac{a}{b}']]);
    expect(found('\\[\n\\sum_{i=1}^n i\n\\]')).toEqual([['1', '\\sum_{i=1}^n i']]);
    expect(found('So $$x = 2$$ holds.')).toEqual([['1', 'x = 2']]);
  });

  it('leaves prices, lone dollars and code alone', () => {
    expect(found('It costs $5 and $6 today.')).toEqual([]);
    expect(found('Pay $ 10 or $20.')).toEqual([]);
    expect(found('Use `$x$` in the shell, and\n\n```\necho $HOME $PATH\n```')).toEqual([]);
  });

  it('keeps the TeX as escaped text (the sanitiser never sees markup from it)', () => {
    const out = html('$<img src=x onerror=alert(1)>$');
    expect(out).not.toContain('<img');
    expect(found('$a<b$')).toEqual([['0', 'a&lt;b']]);
  });

  it('KaTeX renders what is found, reports bad TeX in place, and runs no links or HTML', () => {
    expect(katex.renderToString('\\frac{a}{b}', { throwOnError: false })).toContain('class="katex"');
    const bad = katex.renderToString('\\frac{a', { throwOnError: false });
    expect(bad).toContain('katex-error');
    const link = katex.renderToString('\\href{javascript:alert(1)}{x}', { throwOnError: false });
    expect(link).not.toContain('href="javascript');
  });
});
