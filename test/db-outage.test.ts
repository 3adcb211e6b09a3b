// The database goes away under load and comes back: through a loopback TCP proxy in front of the
// real PostgreSQL server, every connection is cut at once and new ones are refused for a while.
// The process must stay alive, answer 503 database_unavailable with Retry-After (never 500),
// acknowledge only what committed, and serve again once the database is reachable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { pino } from 'pino';
import { connect, type DbHandle } from '../src/db/connect.js';
import { isConnectionError } from '../src/db/errors.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import { Ledger } from '../src/ledger/ledger.js';
import { LedgerAppender } from '../src/ledger/appender.js';
import { buildApp } from '../src/server/build-app.js';
import { createTestApp, isRealPostgres, problemOf, type TestApp } from './helpers/app.js';
import { createTestDb, type TestDb } from './helpers/context.js';
import { eulaEvent } from './helpers/ledger-fixtures.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const SKIP = isRealPostgres ? false : 'needs a PostgreSQL server: embedded PGlite runs in-process, with no connection to drop';

/** The database URL of `url`, reached through the proxy instead. */
function viaProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

/** Polls `done` every few milliseconds until it holds; fails after `ms` with `what`. */
async function until(done: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) assert.fail(`gave up waiting: ${what}`);
    await sleep(20);
  }
}

describe('connection errors are told apart from every other database error', () => {
  const conn = (props: Record<string, unknown>, message = 'x') => Object.assign(new Error(message), props);
  test('socket, shutdown and pool-timeout errors are connection errors', () => {
    for (const e of [
      conn({ code: 'ECONNREFUSED' }),
      conn({ code: 'ECONNRESET' }),
      conn({ code: 'EPIPE' }),
      conn({ code: 'ETIMEDOUT' }),
      conn({ code: '57P01' }, 'terminating connection due to administrator command'),
      conn({ code: '57P02' }),
      conn({ code: '57P03' }, 'the database system is starting up'),
      conn({ code: '08006' }),
      conn({ code: '08001' }),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated due to connection timeout', { cause: new Error('Connection terminated unexpectedly') }),
      new Error('timeout exceeded when trying to connect'),
      new Error('Client has encountered a connection error and is not queryable'),
      Object.assign(new AggregateError([conn({ code: 'ECONNREFUSED' })], ''), { code: 'ECONNREFUSED' }),
    ]) assert.equal(isConnectionError(e), true, `${(e as { code?: string }).code ?? ''} ${e.message}`);
  });
  test('constraint, syntax, permission and serialization errors are not', () => {
    for (const e of [
      conn({ code: '23505' }, 'duplicate key value violates unique constraint'),
      conn({ code: '42601' }, 'syntax error'),
      conn({ code: '42501' }, 'permission denied'),
      conn({ code: '40001' }, 'could not serialize access'),
      conn({ code: '22P02' }, 'invalid input syntax'),
      new Error('terminated'),
      new Error('Connection terminated'.toLowerCase()),
      null,
      undefined,
      'ECONNRESET',
    ]) assert.equal(isConnectionError(e), false, String(e));
  });
});

describe('32 clients appending acceptances while every database connection is cut', { skip: SKIP }, () => {
  let t: TestApp;
  let proxy: TcpProxy;
  before(async () => {
    t = await createTestApp();
    await t.publishEula();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(t.config.databaseUrl!).port || 5432) });
    // The same database, reached through the proxy: the service context and app are reopened on it.
    await t.built.close();
    t.ctx = await t.db.open({ masterKeyFile: t.masterKeyFile, databaseUrl: viaProxy(t.config.databaseUrl!, proxy), dbConnectTimeoutMs: 2000 });
    t.built = await buildApp(t.ctx, pino({ level: 'silent' }));
  });
  after(async () => {
    await t?.close();
    await proxy?.close();
  });

  test('the process stays up, the cut is answered 503 with Retry-After, every 201 is in the ledger once, and service resumes', async (tc) => {
    type Sent = { subject: string; key: string };
    const acked = new Map<string, { id: string; seq: number }>(); // idempotency key -> record
    const unavailable: Sent[] = [];
    const others: string[] = [];
    let phase: 'before' | 'cut' | 'after' = 'before';
    const okAfter = new Set<number>();
    let stop = false;
    let n = 0;
    const client = async (w: number) => {
      while (!stop) {
        const s: Sent = { subject: `outage-${w}-${n++}`, key: t.idem() };
        const seen = phase;
        const res = await t.accept({ subject: s.subject }, s.key).catch((e: unknown) => ({ status: 0, text: String(e), body: {}, headers: {} as Record<string, string> }));
        if (res.status === 201) {
          acked.set(s.key, { id: res.body.id as string, seq: res.body.ledger.seq as number });
          if (seen === 'after') okAfter.add(w);
        } else if (res.status === 503) {
          const p = problemOf(res);
          if (p.code !== 'database_unavailable') others.push(`503 ${p.code}`);
          if (!/^\d+$/.test(res.headers['retry-after'] ?? '')) others.push(`503 without Retry-After: ${JSON.stringify(res.headers)}`);
          if (!/database/.test(p.detail)) others.push(`503 detail: ${p.detail}`);
          unavailable.push(s);
        } else {
          others.push(`${res.status} ${res.text.slice(0, 200)}`);
        }
      }
    };
    const clients = Array.from({ length: 32 }, (_, w) => client(w));
    await until(() => acked.size >= 64, '64 acceptances before the cut');
    phase = 'cut';
    proxy.cut();
    await until(() => unavailable.length >= 32, '32 refusals during the cut');
    proxy.restore();
    phase = 'after';
    await until(() => okAfter.size === 32, 'every client served again after the cut');
    stop = true;
    await Promise.all(clients);

    assert.deepEqual(others, [], 'during the cut: 503 database_unavailable with Retry-After, nothing else');
    tc.diagnostic(`${acked.size} acknowledged, ${unavailable.length} answered 503`);

    // A refused request retried with its Idempotency-Key gets the right answer: its original record
    // when the cut hid a commit, a new one otherwise; never a second record.
    for (const s of unavailable) {
      const res = await t.accept({ subject: s.subject }, s.key);
      assert.equal(res.status, 201, res.text);
      acked.set(s.key, { id: res.body.id as string, seq: res.body.ledger.seq as number });
    }

    const rows = await t.db.superuser(`
      SELECT r.id, r.ledger_seq, i.key, e.event_type
        FROM assent_records r
        JOIN idempotency_keys i ON i.record_id = r.id
        JOIN ledger_entries e ON e.seq = r.ledger_seq`);
    const byKey = new Map<string, Array<Record<string, unknown>>>();
    for (const r of rows) byKey.set(r.key as string, [...(byKey.get(r.key as string) ?? []), r]);
    assert.equal(rows.length, acked.size, 'one assent record per acknowledged Idempotency-Key, nothing more');
    for (const [key, a] of acked) {
      const found = byKey.get(key) ?? [];
      assert.equal(found.length, 1, `acknowledged acceptance ${a.id} is recorded exactly once`);
      assert.equal(found[0]!.id, a.id);
      assert.equal(Number(found[0]!.ledger_seq), a.seq);
      assert.equal(found[0]!.event_type, 'acceptance.recorded');
    }
    const [events] = await t.db.superuser(`SELECT count(*) FILTER (WHERE event_type = 'acceptance.recorded') AS n FROM ledger_entries`);
    assert.equal(Number(events!.n), acked.size, 'no acceptance event without its acknowledged record');

    const report = await t.ctx.ledger.verify();
    assert.equal(report.ok, true, JSON.stringify(report.fault));
    assert.equal((await t.accept({ subject: 'after-the-outage' })).status, 201);
    assert.equal((await t.get('/readyz')).status, 200);
  });
  test('an append whose commit is hidden by a lost connection: 503, and the retry with its Idempotency-Key replays the one record', async () => {
    // An acceptance first, so the appender knows the head and takes the one-statement path.
    assert.equal((await t.accept({ subject: 'hidden-commit-0' })).status, 201);
    const key = t.idem();
    proxy.swallowRepliesAfter('assentmark_head_moved');
    const pending = t.accept({ subject: 'hidden-commit' }, key).then((r) => r); // sent now
    const recorded = async () => (await t.db.superuser('SELECT record_id FROM idempotency_keys WHERE key = $1', [key])).length === 1;
    await until(recorded, 'the append committed on the server');
    proxy.cut();
    const res = await pending;
    proxy.restore();
    assert.equal(res.status, 503, res.text);
    assert.equal(problemOf(res).code, 'database_unavailable');
    const retry = await t.accept({ subject: 'hidden-commit' }, key);
    assert.equal(retry.status, 201, retry.text);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    const rows = await t.db.superuser(`SELECT r.id FROM assent_records r WHERE r.subject = 'hidden-commit'`);
    assert.deepEqual(rows.map((r) => r.id), [retry.body.id]);
    assert.equal((await t.ctx.ledger.verify()).ok, true);
  });
});

describe('the ledger through an outage', { skip: SKIP }, () => {
  let db: TestDb;
  let proxy: TcpProxy;
  let handle: DbHandle;
  before(async () => {
    db = await createTestDb();
    proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(db.config.databaseUrl!).port || 5432) });
    handle = await connect({ databaseUrl: viaProxy(db.config.databaseUrl!, proxy), dataDir: '', serviceRole: db.config.dbRole, connectTimeoutMs: 500 });
  });
  after(async () => {
    await handle?.close();
    await proxy?.close();
    await db?.destroy();
  });

  test('the checkpoint timer survives failed ticks and signs again once the database returns', async () => {
    const errors: string[] = [];
    const ledger = new Ledger(handle.db, { origin: db.config.origin, signingKey: SigningKey.generate(), checkpointIntervalMs: 25, checkpointEvery: 0, onError: (e, what) => errors.push(`${what}: ${String(e)}`) });
    try {
      await ledger.init();
      const size = (await ledger.head()).size;
      await until(async () => (await ledger.latestCheckpoint())?.size === size, 'a first checkpoint');
      proxy.cut();
      await until(() => errors.length >= 3, 'three failed checkpoint ticks during the cut');
      proxy.restore();
      // The ledger grows once the database is back; the same timer signs it.
      await ledger.append({ events: [eulaEvent(300)] });
      await until(async () => (await ledger.latestCheckpoint())?.size === size + 1, 'a checkpoint after the outage');
      assert.ok(errors.every((e) => e.startsWith('checkpoint: ')), errors.join('\n'));
    } finally {
      await ledger.close();
    }
  });
  test('a batch that fails on a lost connection fails as one: no item-by-item retries against a database that is away', async () => {
    const appender = new LedgerAppender(handle.db);
    const [last] = await appender.append({ events: [eulaEvent(1)] });
    proxy.cut();
    const before = proxy.attempts;
    // The database is unreachable while a whole batch is queued.
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => appender.append({ events: [eulaEvent(100 + i)] })));
    const attempts = proxy.attempts - before;
    proxy.restore();
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.equal(isConnectionError(r.reason), true, String(r.reason));
    }
    // The first append drains alone, the other 19 queue behind it as one batch: one connection
    // attempt each. Retrying the 19 one by one would try 19 more times, each waiting for a pool
    // connection timeout when the database does not answer at all.
    assert.ok(attempts <= 2, `${attempts} connection attempts for two batches`);
    // Served again as soon as the database is back; the failed batch left no entry.
    const [p] = await appender.append({ events: [eulaEvent(200)] });
    assert.equal(p!.seq, last!.seq + 1);
  });

});
