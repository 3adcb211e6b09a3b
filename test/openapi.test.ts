// The OpenAPI document is generated from the same route table that Express serves: every route is
// in it with its method, security and roles, and request bodies carry the zod-derived schemas. And
// the Swagger UI at /docs renders in a real browser (Debian's chromium, driven by playwright-core).
// A missing chromium fails the browser test (CI installs it); it is not skipped.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { AnyRoute } from '../src/http/route.js';
import { CONSOLE_API } from '../src/http/console-session.js';
import { useTestApp } from './helpers/app.js';

type Json = Record<string, any>;

const CHROMIUM = '/usr/bin/chromium';

const t = useTestApp({ setup });
let doc: Json;

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  const res = await t.get('/openapi.json');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  doc = res.body as Json;
}

const oaPath = (p: string) => p.replace(/[:*]([A-Za-z_]+)/g, '{$1}');

function op(r: AnyRoute): Json {
  const o = doc.paths?.[oaPath(r.path)]?.[r.method] as Json | undefined;
  assert.ok(o, `${r.method.toUpperCase()} ${r.path} is not in the OpenAPI document`);
  return o;
}

describe('GET /openapi.json', () => {
  test('is OpenAPI 3.1 with a bearer security scheme and the Problem schema', () => {
    assert.match(doc.openapi, /^3\.1\./);
    assert.equal(doc.info.title, 'assentmark');
    assert.equal(typeof doc.info.version, 'string');
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer', description: doc.components.securitySchemes.bearer.description });
    assert.deepEqual(doc.components.schemas.Problem.required, ['type', 'title', 'status', 'detail']);
  });

  test('lists every route of the route table, and nothing else', () => {
    const fromTable = t.built.routes.map((r) => `${r.method} ${oaPath(r.path)}`).sort();
    const fromDoc = Object.entries(doc.paths as Record<string, Json>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`)).sort();
    assert.deepEqual(fromDoc, fromTable);
    const ids = new Set<string>();
    for (const r of t.built.routes) {
      const o = op(r);
      assert.ok(o.operationId, `${r.path}: operationId`);
      assert.ok(!ids.has(o.operationId), `duplicate operationId ${o.operationId}`);
      ids.add(o.operationId);
      assert.equal(o.summary, r.summary);
      assert.deepEqual(o.tags, [r.tag]);
    }
  });

  test('each operation states its security and x-roles exactly as the route table', () => {
    for (const r of t.built.routes) {
      const o = op(r);
      const name = `${r.method.toUpperCase()} ${r.path}`;
      if (r.access === 'public') {
        assert.deepEqual(o.security, [], name);
        assert.deepEqual(o['x-roles'], ['public'], name);
      } else {
        // The console's routes also take its session cookie (docs/console.md).
        assert.deepEqual(o.security, CONSOLE_API.has(name) ? [{ bearer: [] }, { consoleSession: [] }] : [{ bearer: [] }], name);
        assert.deepEqual(o['x-roles'], [...r.access], name);
        assert.ok(o.responses['401'], `${name}: documents 401`);
        assert.ok(o.responses['403'], `${name}: documents 403`);
      }
      for (const status of Object.keys(r.responses)) assert.ok(o.responses[status], `${name}: documents ${status}`);
    }
  });

  test('path parameters, the Idempotency-Key header and request bodies match the routes', () => {
    for (const r of t.built.routes) {
      const o = op(r);
      const name = `${r.method.toUpperCase()} ${r.path}`;
      const params = (o.parameters ?? []) as Json[];
      for (const m of r.path.matchAll(/:([A-Za-z_]+)/g)) {
        const p = params.find((x) => x.in === 'path' && x.name === m[1]);
        assert.ok(p, `${name}: path parameter ${m[1]}`);
        assert.equal(p.required, true);
        assert.ok(p.schema, `${name}: ${m[1]} has a schema`);
      }
      const idem = params.find((x) => x.in === 'header' && x.name === 'Idempotency-Key');
      assert.equal(!!idem, !!r.idempotent, `${name}: Idempotency-Key documented iff the route takes one`);
      // Required where the route requires it; optional (honoured when sent) where it is 'optional'.
      if (idem) assert.equal(idem.required, r.idempotent === true, `${name}: Idempotency-Key required iff the route requires it`);
      if (r.idempotent) assert.ok(o.responses['422'], `${name}: documents the 422 of a reused key`);
      assert.equal(!!o.requestBody, !!r.body, `${name}: requestBody iff the route has a body schema`);
      if (r.body) {
        assert.equal(o.requestBody.required, true);
        assert.ok(o.requestBody.content['application/json'].schema, `${name}: JSON schema`);
        assert.ok(o.responses['400'], `${name}: documents 400`);
      }
    }
  });

  test('the acceptance body is the zod-derived schema: required fields, patterns, strictness', () => {
    const acc = t.built.routes.find((r) => r.method === 'post' && r.path === '/v1/acceptances')!;
    const s = op(acc).requestBody.content['application/json'].schema as Json;
    assert.equal(s.type, 'object');
    assert.equal(s.additionalProperties, false, 'strict: unknown fields are refused');
    for (const f of ['subject', 'slug', 'version', 'shown_text_sha256', 'consent_text', 'button_text', 'page_url', 'locale', 'client_time', 'ip', 'user_agent', 'auth', 'method']) {
      assert.ok(s.required.includes(f), `${f} is required`);
      assert.ok(s.properties[f], `${f} is described`);
    }
    assert.equal(s.properties.shown_text_sha256.type, 'string');
    assert.equal(s.properties.shown_text_sha256.pattern, '^[0-9a-f]{64}$');
    assert.match(s.properties.shown_text_sha256.description, /SHA-256/);
    assert.deepEqual([...s.properties.method.enum].sort(), ['api', 'button', 'checkbox', 'typed_name']);
    assert.equal(s.properties.client_time.format, 'date-time');
    assert.equal(s.properties.subject.maxLength, 256);
    const auth = s.properties.auth as Json;
    assert.equal(auth.additionalProperties, false);
    assert.deepEqual([...auth.required].sort(), ['method', 'mfa', 'session_id']);
    assert.equal(auth.properties.mfa.type, 'boolean');
    // And the schema is the one the server enforces: a body breaking the pattern is refused.
    const pub = t.built.routes.find((r) => r.method === 'post' && r.path === '/v1/eulas')!;
    const ps = op(pub).requestBody.content['application/json'].schema as Json;
    assert.ok(ps.required.includes('text'));
    assert.equal(ps.properties.major.type, 'boolean');
  });

  test('the documented pattern is what the server enforces', async () => {
    await t.publishEula();
    const bad = await t.accept({ shown_text_sha256: 'ABC' });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.errors.some((e: Json) => e.field === 'shown_text_sha256'));
  });
});

describe('/docs in a real browser', () => {
  test('Swagger UI renders the operations; a screenshot in a fresh temporary directory (kept if the test fails)', async (tc) => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (CI installs it; this test does not skip)`);
    const shotDir = mkdtempSync(path.join(tmpdir(), 'assentmark-docs-'));
    const screenshot = path.join(shotDir, 'docs.png');
    let passed = false;
    try {
      const srv = await t.listen();
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
        const errors: string[] = [];
        const external: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('request', (req) => {
          if (!req.url().startsWith(srv.url) && !req.url().startsWith('data:')) external.push(req.url());
        });
        const res = await page.goto(`${srv.url}/docs`, { waitUntil: 'load', timeout: 60_000 });
        assert.equal(res?.status(), 200);
        const acceptances = page.locator('.opblock-summary-path[data-path="/v1/acceptances"]').first();
        await acceptances.waitFor({ state: 'visible', timeout: 60_000 });
        assert.equal(await page.locator('.opblock-summary-path[data-path="/v1/acceptances"]').count(), 1, 'one POST /v1/acceptances');
        assert.match(await page.locator('.info .title').first().innerText(), /assentmark/);
        // Every operation of the route table is rendered.
        const rendered = await page.locator('.opblock-summary-path').count();
        assert.equal(rendered, t.built.routes.length);
        // Expand the acceptance operation: its request body schema shows shown_text_sha256.
        await page.locator('.opblock-post .opblock-summary:has(.opblock-summary-path[data-path="/v1/acceptances"])').first().click();
        await page.getByText('Idempotency-Key', { exact: false }).first().waitFor({ timeout: 30_000 });
        await page.screenshot({ path: screenshot, fullPage: false });
        assert.deepEqual(errors, [], 'no script errors on the page');
        assert.deepEqual(external, [], 'the docs page loads nothing from outside the service');
      } finally {
        await browser.close();
        await srv.close();
      }
      assert.ok(existsSync(screenshot));
      passed = true;
    } finally {
      if (passed) rmSync(shotDir, { recursive: true, force: true });
      else tc.diagnostic(`the screenshot (if it was taken) is kept in ${shotDir}`);
    }
  });
});
