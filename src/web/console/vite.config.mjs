// The investigator console, served by the service at /console (src/http/console.ts).
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/console/',
  build: {
    assetsDir: 'assets',
    // No inline script may be emitted: the page's CSP is script-src 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
