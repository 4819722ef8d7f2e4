import { defineConfig } from 'vite';

// Relative URLs only (base './'): the build works at any path, behind any proxy, and from Electron's file://.
// Everything is bundled: no CDN, no inline script (host-web's CSP forbids them).
export default defineConfig({
  base: './',
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
