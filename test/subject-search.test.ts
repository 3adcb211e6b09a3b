// GET /v1/subjects?prefix=… over HTTP: literal, case-sensitive prefix matching from the assent
// records (LIKE's %, _ and \ in the prefix match only themselves), distinct subjects in byte order
// with their record counts, the limit (1 to 50) and `more`, the roles (and the console cookie), and
// hostile input answered 400 problem+json, never 500. The query is an index range scan.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import request from 'supertest';
import { CompiledQuery, sql } from 'kysely';
import { AssentRecordRepository } from '../src/assent/record-repository.js';
import { likePrefix } from '../src/assent/record-repository.js';
import { SubjectSearchJson } from '../src/http/presenters/subject-search.js';
import { acceptanceBody, isRealPostgres, problemOf, useTestApp, type TestApp } from './helpers/app.js';

const NAMED = ['user-1', 'user-10', 'user-2', 'USER-3', 'usex', 'us%er', 'us_er', 'us\\er', 'usAer', 'u s'];
const BULK = Array.from({ length: 55 }, (_, i) => `bulk-${String(i).padStart(2, '0')}`);

const t = useTestApp({
  setup: async (t) => {
    await t.publishEula();
    for (const subject of [...NAMED, ...BULK]) {
      const r = await t.accept({ subject });
      assert.equal(r.status, 201, r.text);
    }
    // A second record for one subject: it is listed once, with both counted.
    const d = await t.post('/v1/declines', 'signup').set('Idempotency-Key', t.idem()).send(acceptanceBody({ subject: 'user-10', method: 'button' }));
    assert.equal(d.status, 201, d.text);
  },
});

const search = (q: string, as: Parameters<TestApp['get']>[1] = 'investigator') => t.get(`/v1/subjects?${q}`, as);
const names = (res: { body: { subjects: Array<{ subject: string }> } }) => res.body.subjects.map((s) => s.subject);

describe('subject search', () => {
  test('a prefix lists the distinct subjects that start with it, in byte order, case-sensitively', async () => {
    const res = await search('prefix=user-');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(names(res), ['user-1', 'user-10', 'user-2']);
    assert.equal(res.body.prefix, 'user-');
    assert.equal(res.body.more, false);
    const parsed = SubjectSearchJson.safeParse(res.body);
    assert.ok(parsed.success);
    assert.deepEqual(parsed.data, res.body, 'the body is exactly its documented schema');
    const ten = (res.body.subjects as Array<{ subject: string; records: number; last_recorded_at: string }>).find((s) => s.subject === 'user-10')!;
    const records = await t.get('/v1/subjects/user-10/records', 'investigator');
    assert.equal(ten.records, records.body.records.length);
    assert.equal(ten.records, 2);
    assert.equal(ten.last_recorded_at, records.body.records.at(-1).server_time);
    assert.deepEqual(names(await search('prefix=USER')), ['USER-3']);
    assert.deepEqual(names(await search('prefix=nobody')), []);
    assert.deepEqual(names(await search(`prefix=${encodeURIComponent('u s')}`)), ['u s']);
  });

  test('%, _ and \\ in the prefix are literal, not wildcards', async () => {
    assert.deepEqual(likePrefix('a%b_c\\d'), 'a\\%b\\_c\\\\d%');
    assert.deepEqual(names(await search(`prefix=${encodeURIComponent('us%')}`)), ['us%er']);
    assert.deepEqual(names(await search(`prefix=${encodeURIComponent('us_')}`)), ['us_er']);
    assert.deepEqual(names(await search(`prefix=${encodeURIComponent('us\\')}`)), ['us\\er']);
    assert.deepEqual(names(await search(`prefix=${encodeURIComponent('%%')}`)), []);
    assert.deepEqual(names(await search(`prefix=${encodeURIComponent('__')}`)), []);
    // Without escaping, "us" matches all of these; with it, only the literal starts count.
    assert.deepEqual(names(await search('prefix=us')), ['us%er', 'usAer', 'us\\er', 'us_er', 'user-1', 'user-10', 'user-2', 'usex']);
  });

  test('limit: 10 by default, up to 50, and `more` when others match', async () => {
    const def = await search('prefix=bulk-');
    assert.deepEqual(names(def), BULK.slice(0, 10));
    assert.equal(def.body.more, true);
    const fifty = await search('prefix=bulk-&limit=50');
    assert.deepEqual(names(fifty), BULK.slice(0, 50));
    assert.equal(fifty.body.more, true);
    const three = await search('prefix=bulk-5&limit=3');
    assert.deepEqual(names(three), ['bulk-50', 'bulk-51', 'bulk-52']);
    assert.equal(three.body.more, true);
    const exact = await search('prefix=bulk-5&limit=5');
    assert.deepEqual(names(exact), ['bulk-50', 'bulk-51', 'bulk-52', 'bulk-53', 'bulk-54']);
    assert.equal(exact.body.more, false, 'exactly limit matches: nothing more');
  });

  test('investigators and admins (with a key or the console cookie); other roles are refused', async () => {
    for (const role of ['investigator', 'admin'] as const) assert.equal((await search('prefix=user-', role)).status, 200, role);
    for (const role of ['signup', 'gateway', 'counsel'] as const) {
      const r = await search('prefix=user-', role);
      assert.equal(r.status, 403, role);
      assert.equal(problemOf(r).code, 'forbidden');
    }
    const anon = await search('prefix=user-', null);
    assert.equal(anon.status, 401);
    assert.equal(problemOf(anon).code, 'unauthenticated');
    const signedIn = await request(t.app).post('/console/session').send({ api_key: t.tokens.investigator });
    assert.equal(signedIn.status, 201, signedIn.text);
    const cookie = String(([] as string[]).concat(signedIn.headers['set-cookie'] ?? [])[0]).split(';')[0]!;
    const viaCookie = await t.get('/v1/subjects?prefix=user-').set('Cookie', cookie);
    assert.equal(viaCookie.status, 200, viaCookie.text);
    assert.deepEqual(names(viaCookie), ['user-1', 'user-10', 'user-2']);
  });

  test('hostile and malformed queries: 400 validation_failed naming the parameter, never 500', async () => {
    const bad: Array<[string, string]> = [
      ['', 'prefix'],
      ['prefix=u', 'prefix'],
      ['prefix=', 'prefix'],
      [`prefix=${'a'.repeat(257)}`, 'prefix'],
      ['prefix=ab%00cd', 'prefix'],
      ['prefix=ab%0Acd', 'prefix'],
      ['prefix=%C3%A9t%C3%A9', 'prefix'],
      ['prefix=%FF%FE', 'prefix'],
      ['prefix=%E2%80%AEus', 'prefix'],
      ['prefix=us&prefix=er', 'prefix'],
      ['prefix[a]=us', 'prefix'],
      ['prefix=us&limit=0', 'limit'],
      ['prefix=us&limit=51', 'limit'],
      ['prefix=us&limit=100', 'limit'],
      ['prefix=us&limit=-1', 'limit'],
      ['prefix=us&limit=1e1', 'limit'],
      ['prefix=us&limit=0x10', 'limit'],
      ['prefix=us&limit=2.5', 'limit'],
      ['prefix=us&limit=', 'limit'],
      ['prefix=us&limit=10&limit=20', 'limit'],
      ['prefix=us&limit=%20%205', 'limit'],
      ['prefix=us&offset=5', 'offset'],
    ];
    for (const [q, field] of bad) {
      const r = await search(q);
      assert.equal(r.status, 400, `${q}: ${r.status} ${r.text}`);
      const p = problemOf(r);
      assert.equal(p.code, 'validation_failed', q);
      assert.ok(p.errors?.some((e) => e.field.includes(field) || e.message.includes(field)), `${q}: ${JSON.stringify(p.errors)}`);
    }
  });

  test('the search is an index range scan on assent_records_subject_c_idx', async () => {
    const db = t.ctx.handle.db;
    // A small table is cheaper to scan whole: forbid that, to see whether the index can serve the LIKE at all.
    // The repository's own query, with its bound parameters (planned with their values, as when it runs).
    const q = new AssentRecordRepository(db).subjectsWithPrefixQuery('us_', 11).compile();
    const plan = await db.connection().execute(async (c) => {
      await sql`SET enable_seqscan = off`.execute(c);
      try {
        const r = await c.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`EXPLAIN ${q.sql}`, [...q.parameters]));
        return r.rows.map((x) => x['QUERY PLAN']).join('\n');
      } finally {
        await sql`RESET enable_seqscan`.execute(c);
      }
    });
    assert.match(plan, /assent_records_subject_c_idx/, plan);
    assert.match(plan, /Index Cond: .*>=.*'us_'.*<.*'us`'/s, `the LIKE prefix became an index range (${isRealPostgres ? 'PostgreSQL server' : 'PGlite'}):\n${plan}`);
  });
});
