// Retry safety of every evidence route that takes an Idempotency-Key (docs/idempotency.md): many
// identical requests at once with one key record one event (or one set of events) and all get the
// same bytes back, one of them the original; a retry after success is a replay; the key with another
// body is a 422 that writes nothing; on the route where the key is required (usage roll-ups) a
// request without one is a 400 that writes nothing, and a second report of a period is a 409. Also
// across two service instances on one PostgreSQL database, where only the database decides.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { pino } from 'pino';
import request from 'supertest';
import type express from 'express';
import { buildApp } from '../src/server/build-app.js';
import { isRealPostgres, problemOf, useTestApp, type TestApp } from './helpers/app.js';

type Role = 'gateway' | 'investigator';
type Json = Record<string, any>;
const PARALLEL = 12;
const suspect = { name: 'ParrotLM', version: '0.3', observed_at: 'https://api.parrot.example/v1/chat' };
let psid = '';

const t = useTestApp({
  setup: async (t) => {
    await t.publishEula();
    for (const subject of ['idem-a', 'idem-b']) assert.equal((await t.accept({ subject })).status, 201);
    const set = await t.post('/v1/llm-watermark/parameter-sets', 'admin').send({ tokenizer: { name: 'synthetic', revision: '1' }, vocab_size: 100 });
    assert.equal(set.status, 201, set.text);
    psid = set.body.id as string;
  },
});

/** Ledger entries in total and of one event type. */
async function ledgerCount(type?: string): Promise<number> {
  const db = t.ctx.handle.db;
  const r = type
    ? await sql<{ n: string }>`SELECT count(*) AS n FROM ledger_entries WHERE event_type = ${type}`.execute(db)
    : await sql<{ n: string }>`SELECT count(*) AS n FROM ledger_entries`.execute(db);
  return Number(r.rows[0]!.n);
}

async function idempotencyRows(): Promise<number> {
  return Number((await sql<{ n: string }>`SELECT count(*) AS n FROM idempotency_keys`.execute(t.ctx.handle.db)).rows[0]!.n);
}

interface RouteCase {
  path: string;
  role: Role;
  event: string;
  /** Events one request appends. */
  perRequest: number;
  body: () => Json;
  other: () => Json;
}

let n = 0;
const caseRef = () => `IDEM-${++n}`;
const samples = [{ input_sha256: 'a'.repeat(64), owner_label: 1, suspect_label: 2, num_classes: 10 }];
const planSamples = [{ input_sha256: 'b'.repeat(64), owner_label: 1, num_classes: 10 }];
const day = (d: number) => ({ start: new Date(Date.UTC(2026, 9, d)).toISOString(), end: new Date(Date.UTC(2026, 9, d + 1)).toISOString() });

const CASES: RouteCase[] = [
  {
    path: '/v1/verification-plans', role: 'investigator', event: 'verification.planned', perRequest: 1,
    body: () => ({ case_ref: caseRef(), subjects: ['idem-a'], samples: planSamples }),
    other: () => ({ case_ref: caseRef(), subjects: ['idem-b'], samples: planSamples }),
  },
  {
    path: '/v1/verifications', role: 'investigator', event: 'verification.recorded', perRequest: 2,
    body: () => ({ case_ref: caseRef(), suspect, subjects: ['idem-a', 'idem-b'], samples }),
    other: () => ({ case_ref: caseRef(), suspect, subjects: ['idem-a'], samples }),
  },
  {
    path: '/v1/dossiers', role: 'investigator', event: 'dossier.issued', perRequest: 1,
    body: () => ({ subject: 'idem-a', case_ref: caseRef(), requested_by: 'Investigator', prepared_for: { name: 'Counsel', firm: 'Firm' } }),
    other: () => ({ subject: 'idem-b', case_ref: caseRef(), requested_by: 'Investigator', prepared_for: { name: 'Counsel', firm: 'Firm' } }),
  },
  {
    path: '/v1/llm-watermark/usage', role: 'gateway', event: 'llm_watermark.usage_reported', perRequest: 2,
    body: () => ({ parameter_set_id: psid, period: day(++n), items: [{ subject: 'idem-a', tokens_served: 1000 }, { subject: 'idem-b', tokens_served: 7 }] }),
    other: () => ({ parameter_set_id: psid, period: day(++n), items: [{ subject: 'idem-a', tokens_served: 999 }] }),
  },
  {
    path: '/v1/llm-verification-plans', role: 'investigator', event: 'llm_verification.planned', perRequest: 1,
    body: () => ({ case_ref: caseRef(), parameter_set_id: psid, subjects: ['idem-a'], prompts: [[1, 2, 3]] }),
    other: () => ({ case_ref: caseRef(), parameter_set_id: psid, subjects: ['idem-a'], prompts: [[4, 5, 6]] }),
  },
  {
    path: '/v1/llm-verifications', role: 'investigator', event: 'llm_verification.recorded', perRequest: 2,
    body: () => ({ case_ref: caseRef(), suspect, parameter_set_id: psid, subjects: ['idem-a', 'idem-b'], prompts: [[1, 2]], outputs: [[3, 4, 5]] }),
    other: () => ({ case_ref: caseRef(), suspect, parameter_set_id: psid, subjects: ['idem-a'], prompts: [[1, 2]], outputs: [[3, 4, 6]] }),
  },
];

function post(app: express.Express, c: RouteCase, body: Json, key?: string): request.Test {
  const r = request(app).post(c.path).set('Authorization', `Bearer ${t.tokens[c.role]}`);
  return (key === undefined ? r : r.set('Idempotency-Key', key)).send(body);
}

/** All 201 with one body's bytes; exactly one answer is not marked as a replay. */
function assertOneAnswer(results: request.Response[]): void {
  for (const r of results) assert.equal(r.status, 201, r.text);
  assert.equal(results.filter((r) => r.headers['idempotent-replayed'] === undefined).length, 1, 'exactly one original answer');
  for (const r of results.filter((x) => x.headers['idempotent-replayed'] !== undefined)) assert.equal(r.headers['idempotent-replayed'], 'true');
  for (const r of results) assert.equal(r.text, results[0]!.text, 'identical answers');
}

describe('parallel and retried requests with one Idempotency-Key', () => {
  for (const c of CASES) {
    test(`${c.path}: ${PARALLEL} at once record once, a retry replays, another body is refused`, async () => {
      const key = t.idem();
      const body = c.body();
      const [events0, keys0] = [await ledgerCount(c.event), await idempotencyRows()];
      const results = await Promise.all(Array.from({ length: PARALLEL }, () => post(t.app, c, body, key)));
      assertOneAnswer(results);
      assert.equal(await ledgerCount(c.event), events0 + c.perRequest, 'one request\'s events');
      assert.equal(await idempotencyRows(), keys0 + 1);
      // The events named in the answer are the ones recorded.
      const seqs: number[] = (results[0]!.body.results ?? results[0]!.body.recorded ?? [results[0]!.body]).map((x: Json) => x.ledger.seq);
      assert.equal(seqs.length, c.perRequest);

      const again = await post(t.app, c, body, key);
      assert.equal(again.status, 201, again.text);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.text, results[0]!.text);

      const total = await ledgerCount();
      const other = await post(t.app, c, c.other(), key);
      assert.equal(other.status, 422, other.text);
      assert.equal(problemOf(other).code, 'idempotency_key_reused');
      assert.equal(await ledgerCount(), total, 'nothing written');
      assert.equal(await idempotencyRows(), keys0 + 1);
    });
  }

  test('a key is per API key, and one key on two routes is a reuse', async () => {
    const key = t.idem();
    const plan = CASES[0]!;
    const first = await post(t.app, plan, plan.body(), key);
    assert.equal(first.status, 201, first.text);
    const onAnotherRoute = await post(t.app, CASES[4]!, CASES[4]!.body(), key);
    assert.equal(onAnotherRoute.status, 422, onAnotherRoute.text);
    assert.equal(problemOf(onAnotherRoute).code, 'idempotency_key_reused');
    const { token } = await t.built.services.apiKeys.create('investigator', 'second investigator');
    const theirs = await request(t.app).post(plan.path).set('Authorization', `Bearer ${token}`).set('Idempotency-Key', key).send(plan.body());
    assert.equal(theirs.status, 201, theirs.text);
    assert.equal(theirs.headers['idempotent-replayed'], undefined);
    assert.notEqual(theirs.body.id, first.body.id);
  });

  test('optional keys: without one each request records (documented), with a malformed one it is a 400 that writes nothing', async () => {
    const c = CASES[0]!;
    const body = c.body();
    const before = await ledgerCount(c.event);
    for (const _ of [1, 2]) assert.equal((await post(t.app, c, body)).status, 201);
    assert.equal(await ledgerCount(c.event), before + 2);
    const total = await ledgerCount();
    const bad = await post(t.app, c, c.body(), 'has spaces in it');
    assert.equal(bad.status, 400, bad.text);
    assert.equal(problemOf(bad).code, 'idempotency_key_invalid');
    assert.equal(await ledgerCount(), total);
  });
});

describe('API keys', () => {
  const create = (key: string | undefined, body: Json) => {
    const r = t.post('/v1/api-keys', 'admin');
    return (key === undefined ? r : r.set('Idempotency-Key', key)).send(body);
  };
  const named = async (name: string) => (await sql<{ id: string }>`SELECT id FROM api_keys WHERE name = ${name}`.execute(t.ctx.handle.db)).rows.map((r) => r.id);

  test(`${PARALLEL} creates at once with one key: one key, one token, answered alike; kept sealed, never in the clear`, async () => {
    const key = t.idem();
    const body = { role: 'counsel', name: 'idem counsel' };
    const results = await Promise.all(Array.from({ length: PARALLEL }, () => create(key, body)));
    assertOneAnswer(results);
    assert.deepEqual(await named('idem counsel'), [results[0]!.body.id]);
    const token = results[0]!.body.token as string;
    assert.equal((await t.built.services.apiKeys.authenticate(token))?.keyId, results[0]!.body.id);
    const again = await create(key, body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.text, results[0]!.text);
    const stored = (await sql<{ response: string | null; response_sealed: Uint8Array | null }>`SELECT response, response_sealed FROM idempotency_keys WHERE key = ${key}`.execute(t.ctx.handle.db)).rows;
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.response, null);
    assert.ok(stored[0]!.response_sealed && !Buffer.from(stored[0]!.response_sealed).includes(Buffer.from(token.slice(3), 'utf8')), 'the token is not stored in the clear');
    const other = await create(key, { role: 'counsel', name: 'idem counsel 2' });
    assert.equal(other.status, 422, other.text);
    assert.equal(problemOf(other).code, 'idempotency_key_reused');
    assert.deepEqual(await named('idem counsel 2'), []);
    // Without a key, as before: each request creates a key.
    for (const _ of [1, 2]) assert.equal((await create(undefined, { role: 'counsel', name: 'idem unkeyed' })).status, 201);
    assert.equal((await named('idem unkeyed')).length, 2);
  });
});

describe('usage roll-ups', () => {
  const usage = CASES[3]!;

  test('without an Idempotency-Key: 400, nothing written', async () => {
    const [total, keys] = [await ledgerCount(), await idempotencyRows()];
    const r = await post(t.app, usage, usage.body());
    assert.equal(r.status, 400, r.text);
    assert.equal(problemOf(r).code, 'idempotency_key_missing');
    assert.equal(await ledgerCount(), total);
    assert.equal(await idempotencyRows(), keys);
  });

  test('a period is reported once per subject and parameter set: a second report under another key is a 409 naming the subject, nothing of it written', async () => {
    const period = day(++n);
    const first = await post(t.app, usage, { parameter_set_id: psid, period, items: [{ subject: 'idem-a', tokens_served: 50 }] }, t.idem());
    assert.equal(first.status, 201, first.text);
    const [total, keys] = [await ledgerCount(), await idempotencyRows()];
    // idem-b alone would be new, but the report is refused as a whole.
    for (const items of [[{ subject: 'idem-a', tokens_served: 50 }], [{ subject: 'idem-b', tokens_served: 3 }, { subject: 'idem-a', tokens_served: 51 }]]) {
      const again = await post(t.app, usage, { parameter_set_id: psid, period, items }, t.idem());
      assert.equal(again.status, 409, again.text);
      const p = problemOf(again);
      assert.equal(p.code, 'usage_already_reported');
      assert.deepEqual((p as Json).subjects, ['idem-a']);
      assert.match(p.detail, /idem-a \(ledger entry \d+, 50 tokens\)/);
    }
    assert.equal(await ledgerCount(), total);
    assert.equal(await idempotencyRows(), keys);
    // Different keys in parallel for one new period: one report stands, the others are 409s.
    const next = day(++n);
    const racing = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => post(t.app, usage, { parameter_set_id: psid, period: next, items: [{ subject: 'idem-b', tokens_served: 10 + i }] }, t.idem())));
    assert.equal(racing.filter((r) => r.status === 201).length, 1);
    for (const r of racing.filter((x) => x.status !== 201)) assert.equal(problemOf(r).code, 'usage_already_reported', r.text);
    const reported = await sql<{ n: string }>`SELECT count(*) AS n FROM llm_usage_reports WHERE subject = 'idem-b' AND period_start = ${next.start}::timestamptz`.execute(t.ctx.handle.db);
    assert.equal(Number(reported.rows[0]!.n), 1);
  });
});

describe('two service instances on one database', () => {
  async function secondApp(app: TestApp): Promise<{ app: express.Express; close(): Promise<void> }> {
    const ctx = await app.db.open({ masterKeyFile: app.masterKeyFile });
    const built = await buildApp(ctx, pino({ level: 'silent' }));
    return { app: built.app, close: () => built.close() };
  }

  test('one key split across two instances: one event per route, identical answers', async (c) => {
    if (!isRealPostgres) return c.skip('needs a PostgreSQL server: embedded PGlite is one in-process database that a second instance cannot open');
    const other = await secondApp(t);
    try {
      for (const rc of CASES.filter((x) => x.path !== '/v1/dossiers')) {
        const key = t.idem();
        const body = rc.body();
        const before = await ledgerCount(rc.event);
        const results = await Promise.all(Array.from({ length: PARALLEL }, (_, i) => post(i % 2 ? other.app : t.app, rc, body, key)));
        assertOneAnswer(results);
        assert.equal(await ledgerCount(rc.event), before + rc.perRequest, rc.path);
      }
    } finally {
      await other.close();
    }
  });
});
