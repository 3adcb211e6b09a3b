// Atomicity of an assent: the record, its ledger event(s), its idempotency row and (on a first
// acceptance) the watermark key commit together or not at all. Faults are injected as the database
// owner with CHECK constraints that reject one particular subject at one particular table, and a
// doomed request is placed in the same group-commit batch as good ones, which must still succeed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/schema.js';
import { acceptanceBody, problemOf, useTestApp, withdrawalBody, type RowCounts } from './helpers/app.js';

const t = useTestApp({ setup });

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  await t.publishEula();
}

async function withConstraint<T>(table: string, name: string, check: string, fn: () => Promise<T>): Promise<T> {
  await t.db.superuser(`ALTER TABLE ${table} ADD CONSTRAINT ${name} CHECK (${check})`);
  try {
    return await fn();
  } finally {
    await t.db.superuser(`ALTER TABLE ${table} DROP CONSTRAINT ${name}`);
  }
}

/** Rows anywhere that mention the subject (idempotency rows: by record, or by key when given). */
async function traces(subject: string, idemKey?: string): Promise<{ records: number; keys: number; events: number; idem: number }> {
  const q = async (sqlText: string, params: unknown[] = [subject]) => Number((await t.db.superuser(sqlText, params))[0]!.n);
  return {
    records: await q('SELECT count(*) AS n FROM assent_records WHERE subject = $1'),
    keys: await q('SELECT count(*) AS n FROM watermark_keys WHERE subject = $1'),
    // Events name the subject by its pseudonym (docs/personal-data.md), a quoted hex string in the canonical bytes.
    events: await q(`SELECT count(*) AS n FROM ledger_entries WHERE position(convert_to('"' || $1::text || '"', 'UTF8') in canonical) > 0`, [t.built.services.pseudonyms.of(subject)]),
    idem: idemKey === undefined
      ? await q('SELECT count(*) AS n FROM idempotency_keys k JOIN assent_records r ON r.id = k.record_id WHERE r.subject = $1')
      : await q('SELECT count(*) AS n FROM idempotency_keys WHERE key = $1', [idemKey]),
  };
}

function assertServerFault(res: { status: number; headers: Record<string, string | undefined>; text: string }): void {
  assert.equal(res.status, 500, res.text);
  const p = problemOf(res);
  assert.equal(p.code, 'internal_error');
  assert.match(p.detail, /Nothing was recorded/);
  assert.ok(!/constraint|test_reject|CHECK|SQL/i.test(res.text), `database internals leak into the response: ${res.text}`);
}

async function assertVerifies(): Promise<void> {
  const r = await t.ctx.ledger.verify();
  assert.equal(r.ok, true, JSON.stringify(r.fault));
  assert.equal(r.size, (await t.countRows()).ledger_entries);
}

describe('a fault at any table leaves no trace', () => {
  const ps = (subject: string) => t.built.services.pseudonyms.of(subject);
  const cases: Array<{ name: string; table: string; check: string | (() => string); subject: string }> = [
    { name: 'watermark_keys insert (first acceptance)', table: 'watermark_keys', check: "subject <> 'doomed'", subject: 'doomed' },
    { name: 'assent_records insert', table: 'assent_records', check: "subject <> 'doomed-record'", subject: 'doomed-record' },
    { name: 'idempotency_keys insert (the last row written)', table: 'idempotency_keys', check: "key <> 'doomed-doomed-idem'", subject: 'doomed-idem' },
    { name: 'ledger_entries insert', table: 'ledger_entries', check: () => `position(convert_to('"${ps('doomed-ledger')}"', 'UTF8') in canonical) = 0`, subject: 'doomed-ledger' },
    { name: 'personal_openings insert', table: 'personal_openings', check: () => `subject_pseudonym <> '${ps('doomed-opening')}'`, subject: 'doomed-opening' },
  ];
  for (const c of cases) {
    test(`${c.name}: 500 problem, nothing written, and a retry after the fault succeeds`, async () => {
      const key = `doomed-${c.subject}`;
      const body = acceptanceBody({ subject: c.subject });
      const before = await t.countRows();
      await withConstraint(c.table, 'test_reject', typeof c.check === 'string' ? c.check : c.check(), async () => {
        const res = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(body);
        assertServerFault(res);
        assert.deepEqual(await t.countRows(), before);
        assert.deepEqual(await traces(c.subject, key), { records: 0, keys: 0, events: 0, idem: 0 });
        // A retry while the fault persists fails the same way (no half-written idempotency row replays).
        const again = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(body);
        assertServerFault(again);
        assert.deepEqual(await t.countRows(), before);
      });
      // Once the fault is gone the same request (same key) records normally: nothing was left behind.
      const ok = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(body);
      assert.equal(ok.status, 201, ok.text);
      assert.equal(ok.headers['idempotent-replayed'], undefined, 'not a replay: the failed attempt stored no idempotency row');
      assert.equal(ok.body.watermark_key.newly_assigned, true);
      assert.deepEqual(await traces(c.subject, key), { records: 1, keys: 1, events: 2, idem: 1 });
      await assertVerifies();
    });
  }

  test('withdrawal: a fault at assent_records leaves no trace', async () => {
    assert.equal((await t.accept({ subject: 'doomed-w' })).status, 201);
    const before = await t.countRows();
    const tracesBefore = await traces('doomed-w');
    await withConstraint('assent_records', 'test_reject_w', "kind <> 'withdrawn' OR subject <> 'doomed-w'", async () => {
      const res = await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: 'doomed-w' }));
      assertServerFault(res);
    });
    assert.deepEqual(await t.countRows(), before);
    assert.deepEqual(await traces('doomed-w'), tracesBefore);
    const status = await t.get('/v1/subjects/doomed-w/status?slug=api-terms', 'signup');
    assert.equal(status.body.compliant, true, 'the failed withdrawal did not happen');
    await assertVerifies();
  });

  test('rotation: a fault at watermark_keys leaves no trace', async () => {
    assert.equal((await t.accept({ subject: 'doomed-rot' })).status, 201);
    const before = await t.countRows();
    await withConstraint('watermark_keys', 'test_reject_rot', "version < 2 OR subject <> 'doomed-rot'", async () => {
      const res = await t.post('/v1/subjects/doomed-rot/watermark-keys/rotate', 'admin').send({ reason: 'test' });
      assertServerFault(res);
    });
    assert.deepEqual(await t.countRows(), before);
    const keys = await t.get('/v1/subjects/doomed-rot/watermark-keys', 'admin');
    assert.deepEqual(keys.body.keys.map((k: { version: number }) => k.version), [1]);
    await assertVerifies();
  });
});

describe('one doomed request in a group-commit batch', () => {
  test('10 good + 1 doomed in the same batch: the good ones commit, the doomed one leaves nothing', async () => {
    const db = t.ctx.handle.db as Kysely<Database> & { transaction: Kysely<Database>['transaction'] };
    const appender = t.ctx.ledger; // every append goes through Ledger.append
    // Instrumentation: hold the first batch commit at a gate until every request is queued, so the
    // 11 requests form one batch; count batch commits to see the batch fail and be retried one by one.
    // A batch commits as one guarded statement (while the appender knows the head) or in a
    // transaction that locks the head: both are counted, and the first of either is gated.
    const origTransaction = db.transaction.bind(db);
    const origExecute = db.executeQuery.bind(db);
    const origAppend = appender.append.bind(appender);
    let openGate!: () => void;
    const gate = new Promise<void>((r) => (openGate = r));
    let transactions = 0;
    let appends = 0;
    let queuedWaiter: (() => void) | null = null;
    const queued = new Promise<void>((r) => (queuedWaiter = r));
    (db as { transaction: unknown }).transaction = () => {
      const builder = origTransaction();
      const n = ++transactions;
      return new Proxy(builder, {
        get(target, prop, receiver) {
          if (prop === 'execute') {
            return async (fn: Parameters<typeof builder.execute>[0]) => {
              if (n === 1) await gate;
              return builder.execute(fn);
            };
          }
          return Reflect.get(target, prop, receiver);
        },
      });
    };
    (db as { executeQuery: unknown }).executeQuery = async (q: Parameters<typeof origExecute>[0], ...rest: unknown[]) => {
      if ('sql' in q && q.sql.includes('assentmark_head_moved') && ++transactions === 1) await gate;
      return (origExecute as (...a: unknown[]) => ReturnType<typeof origExecute>)(q, ...rest);
    };
    appender.append = (item) => {
      if (++appends === 12) queuedWaiter?.();
      return origAppend(item);
    };

    const before = await t.countRows();
    try {
      await withConstraint('watermark_keys', 'test_reject_batch', "subject <> 'doomed-batch'", async () => {
        // The blocker opens the first (gated) transaction; the other 11 queue up behind it.
        const blocker = t.accept({ subject: 'batch-blocker' }).then((r) => r);
        await new Promise((r) => setTimeout(r, 50));
        const good = Array.from({ length: 10 }, (_, i) => t.accept({ subject: `batch-good-${i}` }).then((r) => r));
        const doomed = t.accept({ subject: 'doomed-batch' }, 'doomed-batch-key').then((r) => r);
        let timer: NodeJS.Timeout | undefined;
        const tooLong = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`only ${appends} appends queued`)), 30_000); });
        // Cleared once decided: a pending timer would keep this file's process alive for its 30 s.
        await Promise.race([queued, tooLong]).finally(() => clearTimeout(timer));
        openGate();
        const [b, d, ...g] = await Promise.all([blocker, doomed, ...good]);
        assert.equal(b!.status, 201, b!.text);
        for (const r of g) {
          assert.equal(r!.status, 201, r!.text);
          assert.equal(r!.body.watermark_key.newly_assigned, true);
        }
        assertServerFault(d!);
      });
    } finally {
      delete (db as { transaction?: unknown }).transaction;
      delete (db as { executeQuery?: unknown }).executeQuery;
      delete (appender as { append?: unknown }).append;
      openGate();
    }
    // 1 (blocker) + 1 (the batch of 11, which failed) + 11 (each retried alone).
    assert.equal(transactions, 13, 'the doomed request shared a batch with the good ones');

    const afterCounts = await t.countRows();
    assert.deepEqual(afterCounts, {
      ...before,
      assent_records: before.assent_records + 11,
      idempotency_keys: before.idempotency_keys + 11,
      watermark_keys: before.watermark_keys + 11,
      ledger_entries: before.ledger_entries + 22,
      // Per first acceptance: subject, client, page URL and auth of the acceptance, the subject of the key assignment.
      personal_openings: before.personal_openings + 55,
    } satisfies RowCounts);
    for (let i = 0; i < 10; i++) assert.deepEqual(await traces(`batch-good-${i}`), { records: 1, keys: 1, events: 2, idem: 1 });
    assert.deepEqual(await traces('doomed-batch', 'doomed-batch-key'), { records: 0, keys: 0, events: 0, idem: 0 });
    await assertVerifies();
  });

  test('10 good + 1 doomed sent concurrently without instrumentation', async () => {
    const before = await t.countRows();
    await withConstraint('watermark_keys', 'test_reject_conc', "subject <> 'doomed-conc'", async () => {
      const all = await Promise.all([
        ...Array.from({ length: 5 }, (_, i) => t.accept({ subject: `conc-good-${i}` })),
        t.accept({ subject: 'doomed-conc' }),
        ...Array.from({ length: 5 }, (_, i) => t.accept({ subject: `conc-good-${i + 5}` })),
      ]);
      all.forEach((r, i) => {
        if (i === 5) assertServerFault(r);
        else assert.equal(r.status, 201, r.text);
      });
    });
    const afterCounts = await t.countRows();
    assert.equal(afterCounts.assent_records, before.assent_records + 10);
    assert.equal(afterCounts.watermark_keys, before.watermark_keys + 10);
    assert.equal(afterCounts.ledger_entries, before.ledger_entries + 20);
    assert.deepEqual(await traces('doomed-conc'), { records: 0, keys: 0, events: 0, idem: 0 });
    await assertVerifies();
  });
});
