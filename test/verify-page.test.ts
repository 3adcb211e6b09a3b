// The /verify router on its own: a missing build is a 503 page_not_built problem naming the fix,
// and the embedded keys cannot close their <script> element early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import request from 'supertest';
import { verifyPageRouter } from '../src/http/verify-page.js';

test('no built page: 503 page_not_built, problem+json, the command to build it', async () => {
  const app = express().use(verifyPageRouter({ keys: () => ({}) }, path.join(tmpdir(), 'no-such-dir', 'index.html')));
  const res = await request(app).get('/verify');
  assert.equal(res.status, 503);
  assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
  assert.equal(res.body.code, 'page_not_built');
  assert.match(res.body.detail, /npm run build/);
});

test('the published keys are embedded as inert JSON: a "</script>" in them stays inside the element', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-verify-page-'));
  try {
    const file = path.join(dir, 'index.html');
    writeFileSync(file, '<!doctype html><head><!--published-keys--></head><body><script type="module">run()</script><style>p{}</style></body>');
    const app = express().use(verifyPageRouter({ keys: () => ({ origin: '</script><script>alert(1)</script>' }) }, file));
    const res = await request(app).get('/verify');
    assert.equal(res.status, 200);
    assert.equal((res.text.match(/<\/script>/g) ?? []).length, 2, res.text);
    const json = /<script type="application\/json" id="published-keys">([^<]*)<\/script>/.exec(res.text)?.[1];
    assert.deepEqual(JSON.parse(json ?? 'null'), { origin: '</script><script>alert(1)</script>' });
    const csp = String(res.headers['content-security-policy']);
    // The inline module and style are allowed by their hashes only; no request may be made.
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/]+=*'(;|$)/);
    assert.match(csp, /connect-src 'none'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
