// The console's sign-in over real HTTP (supertest on the app; https through a real TLS server):
// which keys may sign in, the cookie's attributes, what is stored, CSRF on every state-changing
// cookie request, the role matrix through cookies, sign-out, expiry and revocation, and the page's
// Content-Security-Policy.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { sql } from 'kysely';
import { TAG, tagBytes } from '../src/crypto/domains.js';
import { sha256 } from '../src/crypto/hash.js';
import type { Role } from '../src/db/schema.js';
import { CONSOLE_API } from '../src/http/console-session.js';
import { CONSOLE_CSP, consoleWebRoot } from '../src/http/console.js';
import type { AnyRoute } from '../src/http/route.js';
import { ALL_ROLES, openTestApp, problemOf, type TestApp } from './helpers/app.js';

const t = await openTestApp();
await t.publishEula();
assert.equal((await t.accept()).status, 201);

interface SignedIn { cookie: string; csrf: string; setCookie: string; body: Record<string, unknown> }

async function signIn(app: TestApp, role: Role): Promise<SignedIn> {
  const res = await request(app.app).post('/console/session').send({ api_key: app.tokens[role] });
  assert.equal(res.status, 201, res.text);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0] ?? '';
  const cookie = setCookie.split(';')[0]!;
  return { cookie, csrf: String(res.body.csrf_token), setCookie, body: res.body as Record<string, unknown> };
}

const sessionRows = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM console_sessions`.execute(t.ctx.handle.db)).rows[0]!.n);

describe('sign-in', () => {
  test('investigator and admin keys sign in: an HttpOnly, SameSite=Strict cookie, not Secure over plain http', async () => {
    for (const role of ['investigator', 'admin'] as const) {
      const s = await signIn(t, role);
      assert.match(s.cookie, /^am_console=ams_[A-Za-z0-9_-]{43}$/);
      const attrs = s.setCookie.split(';').map((a) => a.trim().toLowerCase());
      assert.ok(attrs.includes('httponly'), s.setCookie);
      assert.ok(attrs.includes('samesite=strict'), s.setCookie);
      assert.ok(attrs.includes('path=/'), s.setCookie);
      assert.ok(!attrs.includes('secure'), `plain http: ${s.setCookie}`);
      assert.ok(attrs.some((a) => a.startsWith('expires=')), s.setCookie);
      assert.equal(s.body.role, role);
      assert.match(s.csrf, /^[A-Za-z0-9_-]{43}$/);
      assert.ok(!JSON.stringify(s.body).includes(s.cookie.split('=')[1]!), 'the session token is in the cookie only');
      const me = await request(t.app).get('/console/session').set('Cookie', s.cookie);
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.csrf_token, s.csrf, 'a reloaded page gets the same CSRF token');
      assert.equal(me.headers['cache-control'], 'no-store');
    }
  });

  test('signup, gateway and counsel keys cannot sign in (403, nothing stored); unknown, revoked and malformed keys get 401/400', async () => {
    const before = await sessionRows();
    for (const role of ALL_ROLES.filter((r) => r !== 'investigator' && r !== 'admin')) {
      const res = await request(t.app).post('/console/session').send({ api_key: t.tokens[role] });
      assert.equal(res.status, 403, `${role}: ${res.text}`);
      const p = problemOf(res);
      assert.equal(p.code, 'forbidden');
      assert.ok(p.detail.includes(`"${role}"`) && p.detail.includes('investigator'), p.detail);
      assert.equal(res.headers['set-cookie'], undefined);
    }
    const revoked = await t.built.services.apiKeys.create('investigator', 'revoked');
    await t.built.services.apiKeys.revoke(revoked.info.id);
    for (const key of [`am_${'A'.repeat(43)}`, revoked.token, `${t.tokens.admin}x`, 'not a key']) {
      const res = await request(t.app).post('/console/session').send({ api_key: key });
      assert.equal(res.status, 401, res.text);
      assert.equal(problemOf(res).code, 'invalid_token');
    }
    const cases: Array<[() => request.Test, number, string]> = [
      [() => request(t.app).post('/console/session').send({}), 400, 'validation_failed'],
      [() => request(t.app).post('/console/session').send({ api_key: t.tokens.admin, extra: 1 }), 400, 'validation_failed'],
      [() => request(t.app).post('/console/session').send({ api_key: 7 }), 400, 'validation_failed'],
      [() => request(t.app).post('/console/session').type('form').send(`api_key=${t.tokens.admin}`), 415, 'unsupported_media_type'],
      [() => request(t.app).post('/console/session').set('Content-Type', 'application/json').send('{"api_key":'), 400, 'malformed_json'],
    ];
    for (const [send, status, code] of cases) {
      const res = await send();
      assert.equal(res.status, status, res.text);
      assert.equal(problemOf(res).code, code);
    }
    assert.equal(await sessionRows(), before, 'no refused sign-in stored a session');
  });

  test('only the domain-separated hash of the session token is stored', async () => {
    const s = await signIn(t, 'investigator');
    const token = s.cookie.split('=')[1]!;
    const rows = await sql<Record<string, unknown>>`SELECT * FROM console_sessions`.execute(t.ctx.handle.db);
    const expected = sha256(tagBytes(TAG.consoleSession), Buffer.from(token, 'utf8'));
    const mine = rows.rows.filter((r) => Buffer.from(r.token_hash as Uint8Array).equals(expected));
    assert.equal(mine.length, 1);
    const dump = JSON.stringify(rows.rows, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
    assert.ok(!dump.includes(token) && !dump.includes(s.csrf), 'neither token is stored');
    assert.ok(!dump.includes(Buffer.from(token).toString('hex')));
  });

  test('over https the cookie is Secure', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'console-tls-'));
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
      const server = createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, t.app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as { port: number }).port;
        const res = await request(`https://127.0.0.1:${port}`).post('/console/session').ca(readFileSync(path.join(dir, 'cert.pem'))).send({ api_key: t.tokens.investigator });
        assert.equal(res.status, 201, res.text);
        const attrs = String(([] as string[]).concat(res.headers['set-cookie'] ?? [])[0]).split(';').map((a) => a.trim().toLowerCase());
        assert.ok(attrs.includes('secure') && attrs.includes('httponly') && attrs.includes('samesite=strict'), attrs.join('; '));
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cookie-authenticated API calls', () => {
  const dossierBody = () => ({ subject: 'user-1', case_ref: 'CASE-CSRF', requested_by: 'Investigator', prepared_for: { name: 'Counsel', firm: 'Firm LLP' } });
  const dossierRows = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM dossiers`.execute(t.ctx.handle.db)).rows[0]!.n);

  test('a state-changing call with the cookie needs this session\'s X-CSRF-Token; refused ones change nothing', async () => {
    const s = await signIn(t, 'investigator');
    const other = await signIn(t, 'investigator');
    const before = { rows: await t.countRows(), dossiers: await dossierRows() };
    const missing = await request(t.app).post('/v1/dossiers').set('Cookie', s.cookie).send(dossierBody());
    assert.equal(missing.status, 403, missing.text);
    assert.equal(problemOf(missing).code, 'csrf_token_missing');
    for (const bad of [other.csrf, '', 'x', s.csrf.slice(0, -1) + (s.csrf.endsWith('A') ? 'B' : 'A'), s.csrf + 'A', s.cookie.split('=')[1]!]) {
      const res = await request(t.app).post('/v1/dossiers').set('Cookie', s.cookie).set('X-CSRF-Token', bad).send(dossierBody());
      assert.equal(res.status, 403, res.text);
      assert.equal(problemOf(res).code, 'csrf_token_invalid', `header ${JSON.stringify(bad)}`);
    }
    assert.deepEqual({ rows: await t.countRows(), dossiers: await dossierRows() }, before, 'nothing written');
    const ok = await request(t.app).post('/v1/dossiers').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).send(dossierBody());
    assert.equal(ok.status, 201, ok.text);
    const pdf = await request(t.app).get(ok.body.links.pdf as string).set('Cookie', s.cookie).buffer(true);
    assert.equal(pdf.status, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
  });

  test('the role matrix through cookies: console routes answer a session as they answer its bearer key; other routes refuse the cookie', async () => {
    const sessions = { investigator: await signIn(t, 'investigator'), admin: await signIn(t, 'admin') };
    const routes: readonly AnyRoute[] = t.built.routes;
    const concrete = (p: string) => p.replace(/:subject/g, 'user-1').replace(/:([A-Za-z_]+)/g, () => randomUUID()).replace(/\*path/, 'x');
    const send = (r: AnyRoute, set: Record<string, string>) => {
      let req = t.req(r.method, concrete(r.path));
      for (const [k, v] of Object.entries(set)) req = req.set(k, v);
      if (r.idempotent) req = req.set('Idempotency-Key', randomUUID());
      return r.method === 'post' ? req.set('Content-Type', 'application/json').send('{}') : req;
    };
    for (const name of CONSOLE_API) assert.ok(routes.some((r) => `${r.method.toUpperCase()} ${r.path}` === name), `${name} is a route`);
    for (const r of routes) {
      if (r.access === 'public') continue;
      const name = `${r.method.toUpperCase()} ${r.path}`;
      for (const role of ['investigator', 'admin'] as const) {
        const s = sessions[role];
        const res = await send(r, { Cookie: s.cookie, 'X-CSRF-Token': s.csrf });
        if (!CONSOLE_API.has(name)) {
          assert.equal(res.status, 401, `${name} with a ${role} cookie: ${res.status} ${res.text}`);
          assert.equal(problemOf(res).code, 'unauthenticated');
          continue;
        }
        const bearer = await send(r, { Authorization: `Bearer ${t.tokens[role]}` });
        const allowed = r.access.includes(role);
        if (allowed) {
          assert.ok(res.status !== 401 && res.status !== 403 && res.status < 500, `${name} (${role} cookie): ${res.status} ${res.text}`);
          // Allowed both ways (the exact status may differ for a stateful route: a second ledger verification is 409).
          assert.ok(bearer.status !== 401 && bearer.status !== 403 && bearer.status < 500, `${name} (${role} key): ${bearer.status}`);
          if (r.method === 'get') assert.equal(res.status, bearer.status, `${name}: the cookie and the bearer key get the same answer`);
        } else {
          assert.equal(res.status, 403, `${name} (${role} cookie): ${res.text}`);
          assert.equal(problemOf(res).code, 'forbidden');
          assert.equal(bearer.status, 403);
        }
        if (r.method !== 'get') {
          const noCsrf = await send(r, { Cookie: s.cookie });
          assert.equal(noCsrf.status, 403, `${name} without the CSRF header`);
          assert.equal(problemOf(noCsrf).code, 'csrf_token_missing');
        }
      }
    }
  });

  test('a bearer key decides when both are sent; two session cookies, a forged or an expired one are refused', async () => {
    const s = await signIn(t, 'investigator');
    const url = '/v1/subjects/user-1/timeline';
    const both = await t.get(url, 'signup').set('Cookie', s.cookie);
    assert.equal(both.status, 403, 'the signup bearer key decides, not the investigator cookie');
    const two = await t.get(url).set('Cookie', `${s.cookie}; ${(await signIn(t, 'admin')).cookie}`);
    assert.equal(two.status, 401);
    assert.equal(problemOf(two).code, 'session_invalid');
    const forged = await t.get(url).set('Cookie', `am_console=ams_${'A'.repeat(43)}`);
    assert.equal(forged.status, 401);
    assert.equal(problemOf(forged).code, 'session_invalid');
    const token = s.cookie.split('=')[1]!;
    await t.db.superuser(`UPDATE console_sessions SET created_at = now() - interval '9 hours', expires_at = now() - interval '1 hour' WHERE token_hash = $1`, [sha256(tagBytes(TAG.consoleSession), Buffer.from(token, 'utf8'))]);
    const expired = await t.get(url).set('Cookie', s.cookie);
    assert.equal(expired.status, 401, expired.text);
    assert.equal(problemOf(expired).code, 'session_invalid');
  });

  test('revoking the API key ends its sessions at once', async () => {
    const key = await t.built.services.apiKeys.create('investigator', 'soon revoked');
    const res = await request(t.app).post('/console/session').send({ api_key: key.token });
    assert.equal(res.status, 201);
    const cookie = String(([] as string[]).concat(res.headers['set-cookie'] ?? [])[0]).split(';')[0]!;
    assert.equal((await t.get('/v1/subjects/user-1/timeline').set('Cookie', cookie)).status, 200);
    await t.built.services.apiKeys.revoke(key.info.id);
    const after = await t.get('/v1/subjects/user-1/timeline').set('Cookie', cookie);
    assert.equal(after.status, 401);
    assert.equal(problemOf(after).code, 'session_invalid');
  });

  test('sign-out needs the CSRF header, deletes the session and clears the cookie', async () => {
    const s = await signIn(t, 'admin');
    const before = await sessionRows();
    const noCsrf = await request(t.app).delete('/console/session').set('Cookie', s.cookie);
    assert.equal(noCsrf.status, 403);
    assert.equal(problemOf(noCsrf).code, 'csrf_token_missing');
    const out = await request(t.app).delete('/console/session').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf);
    assert.equal(out.status, 204, out.text);
    assert.match(String(([] as string[]).concat(out.headers['set-cookie'] ?? [])[0]), /^am_console=;.*Expires=Thu, 01 Jan 1970/i);
    assert.equal(await sessionRows(), before - 1);
    const again = await request(t.app).get('/console/session').set('Cookie', s.cookie);
    assert.equal(again.status, 401);
    assert.equal(problemOf(again).code, 'session_invalid');
    assert.equal((await t.get('/v1/admin/ledger/status').set('Cookie', s.cookie)).status, 401);
    const none = await request(t.app).get('/console/session');
    assert.equal(none.status, 401);
    assert.equal(problemOf(none).code, 'session_invalid');
  });
});

describe('the page', () => {
  test('/console is served with a strict CSP, and its HTML has no inline script or style', async () => {
    const res = await t.get('/console');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['content-security-policy'], CONSOLE_CSP);
    const csp = Object.fromEntries(CONSOLE_CSP.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    assert.deepEqual(csp['default-src'], ["'self'"]);
    assert.deepEqual(csp['script-src'], ["'self'"]);
    assert.ok(!CONSOLE_CSP.includes('unsafe-'), 'no unsafe-inline, no unsafe-eval');
    assert.deepEqual(csp['frame-ancestors'], ["'none'"]);
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    const html = res.text;
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.ok(scripts.length >= 1);
    for (const [, attrs, body] of scripts) {
      assert.match(attrs!, /\bsrc="\/console\/assets\/[^"]+\.js"/);
      assert.equal(body!.trim(), '', 'no inline script');
    }
    assert.ok(!/<style\b/i.test(html) && !/\sstyle=/i.test(html) && !/\son[a-z]+=/i.test(html), 'no inline style or handler');
    for (const [, src] of html.matchAll(/(?:src|href)="(\/console\/assets\/[^"]+)"/g)) {
      const asset = await t.get(src!);
      assert.equal(asset.status, 200, src);
      assert.equal(asset.headers['content-security-policy'], CONSOLE_CSP);
    }
    assert.ok(readFileSync(path.join(consoleWebRoot(), 'index.html'), 'utf8') === html, 'the built page is what is served');
  });

  test('/openapi.json names the cookie on exactly the routes that take it', async () => {
    const doc = (await t.get('/openapi.json')).body as { paths: Record<string, Record<string, { security: Array<Record<string, unknown>> }>>; components: { securitySchemes: Record<string, { in?: string; name?: string }> } };
    assert.equal(doc.components.securitySchemes.consoleSession?.in, 'cookie');
    assert.equal(doc.components.securitySchemes.consoleSession?.name, 'am_console');
    const withCookie: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.security.some((s) => 'consoleSession' in s)) withCookie.push(`${method.toUpperCase()} ${p.replace(/\{([A-Za-z_]+)\}/g, ':$1')}`);
      }
    }
    assert.deepEqual(withCookie.sort(), [...CONSOLE_API].sort());
  });

  test('the timeline lists key versions with commitments, never a key', async () => {
    const res = await t.get('/v1/subjects/user-1/timeline', 'investigator');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.records.length, 1);
    assert.equal(res.body.watermark_keys.length, 1);
    assert.deepEqual(Object.keys(res.body.watermark_keys[0] as object).sort(), ['assigned_at', 'commitment', 'key_id', 'ledger', 'reason', 'version']);
    const seqs = (res.body.events as Array<{ ledger: { seq: number } }>).map((e) => e.ledger.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'events in ledger order');
    const empty = await t.get('/v1/subjects/nobody/timeline', 'admin');
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body.events, []);
  });
});

