// Access control over the whole route table: every route in `built.routes`, against every role,
// no token, malformed tokens and a revoked token. Public routes answer without a token; protected
// ones say 401 (with WWW-Authenticate: Bearer) or 403 (naming the roles needed) as problem+json,
// and never 401/403 to a role their `access` lists. Plus API keys through the CLI.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { AnyRoute } from '../src/http/route.js';
import type { Role } from '../src/db/schema.js';
import { ALL_ROLES, openTestApp, problemOf, useTestApp } from './helpers/app.js';

// Created now: the tests are defined from its route table.
const t = await openTestApp();
await t.publishEula();

const routes: readonly AnyRoute[] = t.built.routes;

const PARAM_VALUES: Record<string, string> = {
  id: randomUUID(),
  subject: 'user-1',
  slug: 'api-terms',
  version: '1.0',
};

function concretePath(p: string): string {
  return p.replace(/:([A-Za-z_]+)/g, (_, name: string) => encodeURIComponent(PARAM_VALUES[name] ?? (/id$/i.test(name) ? randomUUID() : 'x')));
}

/** Sends the route's request (an empty JSON object as its body) with the given Authorization header. */
function send(r: AnyRoute, authorization: string | null): Promise<{ status: number; headers: Record<string, string | undefined>; text: string }> {
  let req = t.req(r.method, concretePath(r.path));
  if (authorization !== null) req = req.set('Authorization', authorization);
  if (r.idempotent) req = req.set('Idempotency-Key', randomUUID());
  if (r.method === 'post') req = req.set('Content-Type', 'application/json').send('{}');
  return req.then((res) => res);
}

function roleList(r: AnyRoute): readonly Role[] {
  return r.access === 'public' ? [] : r.access;
}

function assert401(res: { status: number; headers: Record<string, string | undefined>; text: string }, what: string): void {
  assert.equal(res.status, 401, `${what}: ${res.status} ${res.text}`);
  const p = problemOf(res);
  assert.ok(p.code === 'unauthenticated' || p.code === 'invalid_token', p.code);
  assert.equal(res.headers['www-authenticate'], 'Bearer', `${what}: WWW-Authenticate`);
}

const MALFORMED = [
  'Bearer',
  'Bearer ',
  'Bearer not-a-token',
  `Bearer am_${'A'.repeat(42)}`, // right shape, one character short
  `Bearer am_${'A'.repeat(43)}`, // right shape, unknown
  'Basic YWRtaW46YWRtaW4=',
  'Token am_x',
  `Bearer ${'x'.repeat(10_000)}`,
];

// A revoked admin key (revocation clears the cache in this process).
const revoked = await t.built.services.apiKeys.create('admin', 'revoked soon');
assert.equal((await t.req('delete', `/v1/api-keys/${revoked.info.id}`, 'admin')).status, 204);

test('the route table: every route has a method, a path and an access rule', () => {
  assert.ok(routes.length >= 16, `only ${routes.length} routes`);
  const seen = new Set<string>();
  for (const r of routes) {
    const key = `${r.method.toUpperCase()} ${r.path}`;
    assert.ok(!seen.has(key), `duplicate route ${key}`);
    seen.add(key);
    if (r.access !== 'public') {
      assert.ok(Array.isArray(r.access) && r.access.length > 0, `${key}: empty role list`);
      for (const role of r.access) assert.ok(ALL_ROLES.includes(role), `${key}: unknown role ${role}`);
    }
  }
  // The assent API's own routes are all present.
  for (const k of ['POST /v1/eulas', 'POST /v1/acceptances', 'POST /v1/declines', 'POST /v1/withdrawals', 'GET /v1/acceptances/:id/receipt', 'GET /v1/subjects/:subject/status', 'POST /v1/subjects/:subject/watermark-keys/rotate', 'POST /v1/api-keys', 'GET /v1/api-keys', 'DELETE /v1/api-keys/:id', 'GET /.well-known/assentmark/keys.json']) {
    assert.ok(seen.has(k), `missing route ${k}`);
  }
});

for (const r of routes) {
  const name = `${r.method.toUpperCase()} ${r.path}`;
  describe(`${name} (${r.access === 'public' ? 'public' : r.access.join('|')})`, () => {
    if (r.access === 'public') {
      test('answers without a token, with a bad token and with any role', async () => {
        for (const auth of [null, 'Bearer not-a-token', `Bearer ${revoked.token}`, ...ALL_ROLES.map((role) => `Bearer ${t.tokens[role]}`)]) {
          const res = await send(r, auth);
          assert.ok(res.status !== 401 && res.status !== 403, `${auth ?? 'no token'}: ${res.status} ${res.text}`);
          assert.ok(res.status < 500, `${auth ?? 'no token'}: ${res.status} ${res.text}`);
        }
      });
      return;
    }

    test('401 without a token', async () => {
      const res = await send(r, null);
      assert401(res, 'no token');
      assert.equal(problemOf(res).code, 'unauthenticated');
    });

    test('401 with malformed, unknown and revoked tokens', async () => {
      for (const auth of [...MALFORMED, `Bearer ${revoked.token}`, `Bearer ${t.tokens.admin}x`]) {
        assert401(await send(r, auth), auth.slice(0, 40));
      }
    });

    for (const role of ALL_ROLES) {
      const allowed = roleList(r).includes(role);
      test(`${role}: ${allowed ? 'allowed' : '403'}`, async () => {
        const res = await send(r, `Bearer ${t.tokens[role]}`);
        if (allowed) {
          assert.ok(res.status !== 401 && res.status !== 403, `${role} is listed in access but got ${res.status}: ${res.text}`);
          assert.ok(res.status < 500, `${res.status} ${res.text}`);
          if (res.status >= 400) problemOf(res);
        } else {
          assert.equal(res.status, 403, `${role}: ${res.status} ${res.text}`);
          const p = problemOf(res);
          assert.equal(p.code, 'forbidden');
          for (const needed of roleList(r)) assert.ok(p.detail.includes(needed), `detail names role "${needed}": ${p.detail}`);
          assert.ok(p.detail.includes(`"${role}"`), `detail names the key's role: ${p.detail}`);
        }
      });
    }
  });
}

test('routes outside the table: health, readiness, OpenAPI and docs are public; unknown paths are 404 problems', async () => {
  for (const p of ['/healthz', '/readyz', '/openapi.json', '/docs']) {
    const res = await t.get(p);
    assert.equal(res.status, 200, `${p}: ${res.status}`);
  }
  const nf = await t.get('/v1/nope', 'admin');
  assert.equal(nf.status, 404);
  assert.equal(problemOf(nf).code, 'not_found');
});

describe('API keys through the CLI', () => {
  // A fresh app of its own: the CLI creates and revokes keys in its database.
  const c = useTestApp();

  test('apikey create prints a working token; list never prints tokens; revoke makes it 401', async () => {
    const created = await c.cli(['apikey', 'create', '--role', 'investigator', '--name', 'cli investigator']);
    assert.equal(created.status, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^am_[A-Za-z0-9_-]{43}$/, 'stdout is exactly the token');
    assert.match(created.stderr, /created investigator key [0-9a-f-]{36}/);

    const ok = await c.get('/v1/subjects/user-1/records', { token });
    assert.equal(ok.status, 200, ok.text);
    const forbidden = await c.post('/v1/eulas', { token }).send({});
    assert.equal(forbidden.status, 403, 'the CLI key has the role it was given');

    const jsonCreate = await c.cli(['apikey', 'create', '--role', 'gateway', '--name', 'cli gateway', '--json']);
    assert.equal(jsonCreate.status, 0, jsonCreate.stderr);
    const gw = JSON.parse(jsonCreate.stdout) as { id: string; role: string; token: string };
    assert.equal(gw.role, 'gateway');

    const list = await c.cli(['apikey', 'list']);
    assert.equal(list.status, 0, list.stderr);
    const listJson = await c.cli(['apikey', 'list', '--json']);
    assert.equal(listJson.status, 0, listJson.stderr);
    const secrets = [token, gw.token, ...Object.values(c.tokens)];
    for (const out of [list.stdout, list.stderr, listJson.stdout, listJson.stderr]) {
      for (const s of secrets) {
        assert.ok(!out.includes(s), 'apikey list printed a token');
        assert.ok(!out.includes(s.slice(7)), 'apikey list printed most of a token');
      }
    }
    assert.match(list.stdout, /cli investigator/);
    const keys = JSON.parse(listJson.stdout) as Array<{ id: string; name: string; role: string; revokedAt: string | null }>;
    const mine = keys.find((k) => k.name === 'cli investigator');
    assert.ok(mine, 'the created key is listed');
    assert.equal(mine.role, 'investigator');
    assert.equal(mine.revokedAt, null);
    assert.ok(list.stdout.includes(mine.id));

    const rev = await c.cli(['apikey', 'revoke', mine.id]);
    assert.equal(rev.status, 0, rev.stderr);
    assert.match(rev.stdout, new RegExp(`revoked ${mine.id}`));
    // Another process revoked it: this process's cache honours that within its TTL (5 s).
    const deadline = Date.now() + 7000;
    let res = await c.get('/v1/subjects/user-1/records', { token });
    while (res.status !== 401 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      res = await c.get('/v1/subjects/user-1/records', { token });
    }
    assert401(res, 'revoked through the CLI');
    assert.equal(problemOf(res).code, 'invalid_token');
    // The other CLI key still works; revoking twice is an error.
    assert.equal((await c.get('/v1/subjects/user-1/watermark-keys', { token: gw.token })).status, 403);
    const again = await c.cli(['apikey', 'revoke', mine.id]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no active key/);

    const badRole = await c.cli(['apikey', 'create', '--role', 'root', '--name', 'x']);
    assert.equal(badRole.status, 2);
    assert.match(badRole.stderr, /--role must be one of/);
  });
});
