// widget.js: one classic script (IIFE, Vite library mode) that a signup page loads with
// <script src=".../widget.js" data-session="...">; no chunks, no CSS files (its styles live in its Shadow DOM).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    lib: {
      entry: fileURLToPath(new URL('./widget.ts', import.meta.url)),
      name: 'AssentmarkWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
    target: 'es2022',
    sourcemap: false,
  },
});
