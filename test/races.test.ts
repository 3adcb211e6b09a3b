// Concurrent state changes of one subject: parallel withdrawals of one acceptance record exactly
// one withdrawal; parallel key rotations each rotate (contiguous versions) or get a 409, never a
// 500; withdrawals racing acceptances always name the acceptance they end. The losers leave no
// event and no row. Also with two service instances on one PostgreSQL database.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { pino } from 'pino';
import request from 'supertest';
import type express from 'express';
import { buildApp } from '../src/server/build-app.js';
import { isRealPostgres, problemOf, useTestApp, withdrawalBody, type TestApp } from './helpers/app.js';

const t = useTestApp({
  setup: async (t) => {
    await t.publishEula();
    await t.publishEula({ version: '1.1', major: false });
  },
});

type Res = request.Response;

/** Ledger events of a type about one subject. */
async function events(type: string, subject: string): Promise<Array<Record<string, any>>> {
  const r = await sql<{ canonical: Uint8Array }>`SELECT canonical FROM ledger_entries WHERE event_type = ${type} ORDER BY seq`.execute(t.ctx.handle.db);
  return r.rows.map((row) => JSON.parse(Buffer.from(row.canonical).toString('utf8')).data).filter((d) => d.subject?.pseudonym === t.built.services.pseudonyms.of(subject));
}

/** Rows written about one subject, in the working tables a race could leave a stray row in. */
async function rowsOf(subject: string): Promise<{ records: Array<{ kind: string; version: string }>; keys: number[] }> {
  const db = t.ctx.handle.db;
  const records = await sql<{ kind: string; version: string }>`SELECT kind, version FROM assent_records WHERE subject = ${subject} ORDER BY ledger_seq`.execute(db);
  const keys = await sql<{ version: number }>`SELECT version FROM watermark_keys WHERE subject = ${subject} ORDER BY version`.execute(db);
  return { records: records.rows, keys: keys.rows.map((k) => k.version) };
}

async function accepted(subject: string, version = '1.0'): Promise<void> {
  const r = await t.accept({ subject, version });
  assert.equal(r.status, 201, r.text);
}

function withdraw(app: express.Express, subject: string, key: string = t.idem()): request.Test {
  return request(app).post('/v1/withdrawals').set('Authorization', `Bearer ${t.tokens.signup}`).set('Idempotency-Key', key).send(withdrawalBody({ subject }));
}

function rotate(app: express.Express, subject: string, body: Record<string, unknown> = { reason: 'parallel rotation' }): request.Test {
  return request(app).post(`/v1/subjects/${encodeURIComponent(subject)}/watermark-keys/rotate`).set('Authorization', `Bearer ${t.tokens.admin}`).send(body);
}

/** Every response is a 201 or a 409 problem with one of `codes`; returns the 201s. */
function createdOr409(results: Res[], codes: readonly string[]): Res[] {
  for (const r of results) {
    if (r.status === 201) continue;
    assert.equal(r.status, 409, `${r.status} ${r.text}`);
    const p = problemOf(r);
    assert.ok(codes.includes(p.code), `${p.code}: ${p.detail}`);
    assert.ok(p.detail.length > 20, p.detail);
  }
  return results.filter((r) => r.status === 201);
}

/** The rotations answered 201 name contiguous new versions after `from`, each following the one before. */
function assertContiguousRotations(created: Res[], from: number): void {
  const versions = created.map((r) => r.body.version as number).sort((a, b) => a - b);
  assert.deepEqual(versions, versions.map((_, i) => from + 1 + i), 'one new version per rotation, contiguous');
  for (const r of created) assert.equal(r.body.previous_version, r.body.version - 1);
}

async function assertVerifies(): Promise<void> {
  const r = await t.ctx.ledger.verify();
  assert.equal(r.ok, true, JSON.stringify(r.fault));
}

/**
 * Each withdrawal follows an acceptance that no earlier withdrawal ended, and names its version:
 * exactly one withdrawal per acceptance, in ledger order.
 */
function assertOneWithdrawalPerAcceptance(records: Array<{ kind: string; version: string }>): void {
  let standing: string | null = null;
  for (const [i, r] of records.entries()) {
    if (r.kind === 'accepted') standing = r.version;
    else if (r.kind === 'withdrawn') {
      assert.notEqual(standing, null, `record ${i} withdraws when nothing stands: ${JSON.stringify(records)}`);
      assert.equal(r.version, standing, `record ${i} names another version than the one it ends`);
      standing = null;
    }
  }
}

describe('withdrawals of one acceptance', () => {
  test('20 parallel withdrawals (distinct keys): one 201, nineteen 409, one event, no stray rows', async () => {
    await accepted('w-par');
    const before = await t.countRows();
    const results = await Promise.all(Array.from({ length: 20 }, () => withdraw(t.app, 'w-par')));
    const created = createdOr409(results, ['subject_state_changed', 'nothing_to_withdraw']);
    assert.equal(created.length, 1, `${created.length} withdrawals were recorded`);
    assert.equal((await events('acceptance.withdrawn', 'w-par')).length, 1);
    assert.deepEqual((await rowsOf('w-par')).records.map((r) => r.kind), ['accepted', 'withdrawn']);
    const after = await t.countRows();
    assert.deepEqual(after, { ...before, ledger_entries: before.ledger_entries + 1, assent_records: before.assent_records + 1, idempotency_keys: before.idempotency_keys + 1, personal_openings: before.personal_openings + 4 });
    await assertVerifies();
  });

  test('refused withdrawals do not fail the acceptances of other subjects batched with them', async () => {
    await accepted('w-neighbours');
    const before = await t.countRows();
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? t.accept({ subject: `w-neighbour-${i}` }) : withdraw(t.app, 'w-neighbours'))));
    for (const [i, r] of results.entries()) if (i % 2) assert.equal(r.status, 201, r.text);
    assert.equal(createdOr409(results.filter((_, i) => i % 2 === 0), ['subject_state_changed', 'nothing_to_withdraw']).length, 1);
    const after = await t.countRows();
    // 20 acceptances, each with its key assignment, and one withdrawal.
    assert.equal(after.ledger_entries, before.ledger_entries + 41);
    assert.equal(after.assent_records, before.assent_records + 21);
    await assertVerifies();
  });

  test('20 parallel withdrawals with one Idempotency-Key: one recorded, nineteen identical replays', async () => {
    await accepted('w-same');
    const key = t.idem();
    const results = await Promise.all(Array.from({ length: 20 }, () => withdraw(t.app, 'w-same', key)));
    for (const r of results) assert.equal(r.status, 201, r.text);
    assert.equal(results.filter((r) => r.headers['idempotent-replayed'] === undefined).length, 1, 'exactly one original answer');
    for (const r of results) assert.deepEqual(r.body, results[0]!.body);
    assert.equal((await events('acceptance.withdrawn', 'w-same')).length, 1);
  });

  test('withdrawals racing acceptances of two versions: each withdrawal ends one acceptance and names it', async () => {
    await accepted('w-mixed');
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 === 0 ? withdraw(t.app, 'w-mixed') : t.accept({ subject: 'w-mixed', version: i % 4 === 1 ? '1.1' : '1.0' }))));
    createdOr409(results, ['subject_state_changed', 'nothing_to_withdraw']);
    for (const [i, r] of results.entries()) if (i % 2 === 1) assert.equal(r.status, 201, `acceptances are never refused: ${r.text}`);
    const { records } = await rowsOf('w-mixed');
    assertOneWithdrawalPerAcceptance(records);
    assert.equal(records.filter((r) => r.kind === 'withdrawn').length, results.filter((r, i) => i % 2 === 0 && r.status === 201).length);
    await assertVerifies();
  });

  test('a later withdrawal after a new acceptance is recorded again', async () => {
    await accepted('w-again');
    assert.equal((await withdraw(t.app, 'w-again')).status, 201);
    assert.equal((await withdraw(t.app, 'w-again')).status, 409);
    await accepted('w-again', '1.1');
    const w = await withdraw(t.app, 'w-again');
    assert.equal(w.status, 201, w.text);
    assert.deepEqual((await rowsOf('w-again')).records, [{ kind: 'accepted', version: '1.0' }, { kind: 'withdrawn', version: '1.0' }, { kind: 'accepted', version: '1.1' }, { kind: 'withdrawn', version: '1.1' }]);
  });
});

describe('watermark key rotations of one subject', () => {
  test('20 parallel rotations: each a 201 with the next version or a 409, never a 500', async () => {
    await accepted('r-par');
    const results = await Promise.all(Array.from({ length: 20 }, () => rotate(t.app, 'r-par')));
    const created = createdOr409(results, ['subject_state_changed']);
    assert.ok(created.length >= 1);
    assertContiguousRotations(created, 1);
    const rotated = await events('watermark_key.rotated', 'r-par');
    assert.equal(rotated.length, created.length, 'one watermark_key.rotated event per 201');
    assert.deepEqual(rotated.map((e) => e.key_version).sort((a, b) => a - b), created.map((r) => r.body.version).sort((a, b) => a - b));
    assert.deepEqual((await rowsOf('r-par')).keys, Array.from({ length: created.length + 1 }, (_, i) => i + 1));
    await assertVerifies();
  });

  test('20 parallel rotations from_version 1: exactly one rotates, nineteen 409 naming the current version', async () => {
    await accepted('r-from');
    const results = await Promise.all(Array.from({ length: 20 }, () => rotate(t.app, 'r-from', { reason: 'suspected exposure', from_version: 1 })));
    const created = createdOr409(results, ['subject_state_changed']);
    assert.equal(created.length, 1);
    assert.equal(created[0]!.body.version, 2);
    for (const r of results) if (r.status === 409) assert.match(problemOf(r).detail, /version 2/);
    assert.equal((await events('watermark_key.rotated', 'r-from')).length, 1);
    assert.deepEqual((await rowsOf('r-from')).keys, [1, 2]);
    // Sequentially, from the version now current, it rotates again.
    const next = await rotate(t.app, 'r-from', { reason: 'again', from_version: 2 });
    assert.equal(next.status, 201, next.text);
    assert.equal(next.body.version, 3);
  });

  test('rotations racing first acceptances and withdrawals: keys contiguous, every acceptance links a key that exists', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? t.accept({ subject: 'r-mixed' }) : i % 3 === 1 ? rotate(t.app, 'r-mixed') : withdraw(t.app, 'r-mixed'))));
    for (const r of results) assert.ok(r.status === 201 || r.status === 409, `${r.status} ${r.text}`);
    const { keys, records } = await rowsOf('r-mixed');
    assert.deepEqual(keys, keys.map((_, i) => i + 1));
    assertOneWithdrawalPerAcceptance(records);
    await assertVerifies();
  });
});

describe('two service instances on one database', () => {
  let other: { app: express.Express; close(): Promise<void> } | null = null;

  /** A second, independent service context and app (its own pool and appender) on the same database. */
  async function secondApp(app: TestApp): Promise<{ app: express.Express; close(): Promise<void> }> {
    const ctx = await app.db.open({ masterKeyFile: app.masterKeyFile });
    const built = await buildApp(ctx, pino({ level: 'silent' }));
    return { app: built.app, close: () => built.close() };
  }

  test('20 parallel withdrawals split across two instances: exactly one recorded', async (c) => {
    if (!isRealPostgres) return c.skip('needs a PostgreSQL server: embedded PGlite is one in-process database that a second instance cannot open');
    other ??= await secondApp(t);
    c.after(async () => {
      await other?.close();
      other = null;
    });
    await accepted('w-two');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => withdraw(i % 2 ? other!.app : t.app, 'w-two')));
    const created = createdOr409(results, ['subject_state_changed', 'nothing_to_withdraw']);
    assert.equal(created.length, 1);
    assert.equal((await events('acceptance.withdrawn', 'w-two')).length, 1);

    const rot = await Promise.all(Array.from({ length: 20 }, (_, i) => rotate(i % 2 ? other!.app : t.app, 'w-two')));
    const rotated = createdOr409(rot, ['subject_state_changed']);
    assertContiguousRotations(rotated, 1);
    assert.equal((await events('watermark_key.rotated', 'w-two')).length, rotated.length);

    const from = await Promise.all(Array.from({ length: 20 }, (_, i) => rotate(i % 2 ? other!.app : t.app, 'w-two', { reason: 'once', from_version: rotated.length + 1 })));
    assert.equal(createdOr409(from, ['subject_state_changed']).length, 1);
    await assertVerifies();
  });
});

describe('webhook subscriptions created in parallel', () => {
  const create = (key: string, body: Record<string, unknown> = { url: 'https://example.org/race-hook', event_types: ['acceptance.recorded'] }) =>
    t.post('/v1/admin/webhooks', 'admin').set('Idempotency-Key', key).send(body);
  const subscriptions = async (url: string) => (await sql<{ id: string }>`SELECT id FROM webhook_subscriptions WHERE url = ${url}`.execute(t.ctx.handle.db)).rows.map((r) => r.id);

  test('10 parallel creates with one Idempotency-Key: one subscription, ten identical answers with its one secret', async () => {
    const key = t.idem();
    const results = await Promise.all(Array.from({ length: 10 }, () => create(key)));
    for (const r of results) assert.equal(r.status, 201, r.text);
    assert.equal(results.filter((r) => r.headers['idempotent-replayed'] === undefined).length, 1, 'exactly one original answer');
    for (const r of results) assert.deepEqual(r.body, results[0]!.body);
    assert.match(results[0]!.body.secret as string, /^whsec_/);
    assert.deepEqual(await subscriptions('https://example.org/race-hook'), [results[0]!.body.id]);
    // Later too: a retry replays it; the key with another body is refused and writes nothing.
    const again = await create(key);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.body, results[0]!.body);
    const other = await create(key, { url: 'https://example.org/race-hook-2', event_types: ['acceptance.recorded'] });
    assert.equal(other.status, 422, other.text);
    assert.equal(problemOf(other).code, 'idempotency_key_reused');
    assert.deepEqual(await subscriptions('https://example.org/race-hook-2'), []);
  });

  test('the key is per API key, and a create without one is refused', async () => {
    const key = t.idem();
    const mine = await create(key, { url: 'https://example.org/scoped-hook', event_types: ['acceptance.recorded'] });
    assert.equal(mine.status, 201, mine.text);
    const { token } = await t.built.services.apiKeys.create('admin', 'second admin');
    const theirs = await t.post('/v1/admin/webhooks', { token }).set('Idempotency-Key', key).send({ url: 'https://example.org/scoped-hook', event_types: ['acceptance.recorded'] });
    assert.equal(theirs.status, 201, theirs.text);
    assert.equal(theirs.headers['idempotent-replayed'], undefined);
    assert.notEqual(theirs.body.id, mine.body.id);
    const none = await t.post('/v1/admin/webhooks', 'admin').send({ url: 'https://example.org/no-key-hook', event_types: ['acceptance.recorded'] });
    assert.equal(none.status, 400, none.text);
    assert.equal(problemOf(none).code, 'idempotency_key_missing');
    assert.deepEqual(await subscriptions('https://example.org/no-key-hook'), []);
  });
});
