#!/usr/bin/env node
// Builds the browser pages: every src/web/<page>/vite.config.mjs into dist/web/<page>/ with Vite.
// Run by the preflight after tsc (so `npm start` and `npm test` build them on a fresh clone), or alone:
//   node scripts/build-web.mjs [page ...]
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const webRoot = path.join(root, 'src', 'web');

export function webPages() {
  if (!existsSync(webRoot)) return [];
  return readdirSync(webRoot, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(webRoot, d.name, 'vite.config.mjs')))
    .map((d) => d.name)
    .sort();
}

export async function buildWeb(pages = webPages()) {
  const { build } = await import('vite');
  for (const page of pages) {
    const dir = path.join(webRoot, page);
    await build({
      configFile: path.join(dir, 'vite.config.mjs'),
      root: dir,
      logLevel: 'warn',
      build: { outDir: path.join(root, 'dist', 'web', page), emptyOutDir: true },
    });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const asked = process.argv.slice(2);
  const known = webPages();
  const unknown = asked.filter((p) => !known.includes(p));
  if (unknown.length) {
    process.stderr.write(`build-web: no page ${unknown[0]} (known: ${known.join(', ') || 'none'})\n`);
    process.exit(1);
  }
  await buildWeb(asked.length ? asked : known);
}
