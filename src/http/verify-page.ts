// GET /verify: the counsel verification page, a single self-contained HTML file built from
// src/web/verify/ into dist/web/verify/index.html. Served with the keys the service publishes
// (the same as /.well-known/assentmark/keys.json) embedded, so that a dossier signed by any other
// key is NOT VALID, also in a copy saved for offline use (and the CA certificate of its time-stamping
// authority, when it has one, so timestamps are checked to chain to it); and with a Content-Security-Policy that
// lets the page make no request at all (connect-src 'none'): the dossier never leaves the browser.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import { sendProblem } from './problem.js';

/** dist/web/verify/index.html, from dist/src/http/ (this module compiled). */
const PAGE_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/verify/index.html');
const KEYS_MARK = '<!--published-keys-->';

interface BuiltPage {
  before: string;
  after: string;
  csp: string;
}

const cspHash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function load(file: string): BuiltPage | null {
  let html: string;
  try {
    html = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const at = html.indexOf(KEYS_MARK);
  if (at < 0) return null;
  // Every inline script and style of the built file, allowed by its hash and nothing else.
  const scripts = [...html.matchAll(/<script\b(?![^>]*type="application\/json")[^>]*>([\s\S]*?)<\/script>/g)].map((m) => cspHash(m[1] ?? ''));
  const styles = [...html.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/g)].map((m) => cspHash(m[1] ?? ''));
  const csp = [
    "default-src 'none'",
    `script-src ${scripts.join(' ') || "'none'"}`,
    `style-src ${styles.join(' ') || "'none'"}`,
    'img-src data:',
    'font-src data:',
    "connect-src 'none'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { before: html.slice(0, at), after: html.slice(at + KEYS_MARK.length), csp };
}

/** JSON inside <script type="application/json">: no "<" may end the element early. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

export interface VerifyPageData {
  /** The body of /.well-known/assentmark/keys.json. */
  keys: () => unknown;
  /** PEM of the CA the service's TSA certificate chains to (ASSENTMARK_TSA_CA_FILE). */
  tsaCaPem?: string | undefined;
}

export function verifyPageRouter(data: VerifyPageData, file: string = PAGE_FILE): Router {
  const r = Router();
  let page: BuiltPage | null = null;
  r.get(['/verify', '/verify/'], (_req, res) => {
    page ??= load(file);
    if (!page) {
      sendProblem(res, 'page_not_built', `The verification page is not built (${path.relative(process.cwd(), file) || file} is missing): run \`npm run build\` (node scripts/preflight.mjs), which builds the pages under src/web/.`);
      return;
    }
    res.set({
      'Content-Security-Policy': page.csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    const tsa = data.tsaCaPem ? `<script type="application/json" id="tsa-ca">${scriptJson(data.tsaCaPem)}</script>` : '';
    res.type('html').send(`${page.before}<script type="application/json" id="published-keys">${scriptJson(data.keys())}</script>${tsa}${page.after}`);
  });
  return r;
}
