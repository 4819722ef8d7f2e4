// KaTeX with its stylesheet: one chunk that math.ts loads the first time a message has math.
import 'katex/dist/katex.min.css';

export { default } from 'katex';
