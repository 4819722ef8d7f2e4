import { render } from 'preact';
import 'highlight.js/styles/github.css';
import { App } from './app';
import './styles.css';
import { applyTheme } from './theme';

applyTheme();
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme());
render(<App />, document.getElementById('app')!);
