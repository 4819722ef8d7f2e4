import { type Plugin, defineConfig } from 'vite';

/** KaTeX's stylesheet offers each font as woff2, woff and ttf; every browser the UI runs in reads woff2, so the
 * other two (two thirds of KaTeX's 1.2 MB of fonts) are left out of the bundle (and of jan-server's binary). */
function katexWoff2Only(): Plugin {
  return {
    name: 'katex-woff2-only',
    enforce: 'pre',
    transform(code, id) {
      if (!/katex(\.min)?\.css$/.test(id)) return undefined;
      return code.replace(/,\s*url\([^)]+\.(?:woff|ttf)\)\s*format\("(?:woff|truetype)"\)/g, '');
    },
  };
}

// Relative URLs only (base './'): the build works at any path, behind any proxy, and from Electron's file://.
// Everything is bundled: no CDN, no inline script (host-web's CSP forbids them).
export default defineConfig({
  base: './',
  plugins: [katexWoff2Only()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev` against a jan-server on 1337 (cargo run -p jan-server)
    proxy: { '/v1': 'http://127.0.0.1:1337', '/api': 'http://127.0.0.1:1337', '/health': 'http://127.0.0.1:1337' },
  },
});
