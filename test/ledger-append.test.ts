// The append path under load: 64 concurrent appenders, idempotent retries, per-item failure
// isolation in a group commit, checkpoints consistent with the last, and genesis/ownership rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { SigningKey } from '../src/crypto/ed25519.js';
import { writeSecretFile } from '../src/keys/files.js';
import type { Position } from '../src/ledger/appender.js';
import { LedgerError } from '../src/ledger/errors.js';
import { Ledger } from '../src/ledger/ledger.js';
import { isStateRefusal } from '../src/ledger/subject-state.js';
import { loadSigningKey } from '../src/keys/signing-key.js';
import type { Config } from '../src/config/config.js';
import type { ServiceContext } from '../src/app/context.js';
import { createTestDb, isRealPostgres } from './helpers/context.js';
import { eulaEvent } from './helpers/ledger-fixtures.js';

async function count(ctx: ServiceContext, where = 'true'): Promise<number> {
  const r = await sql<{ n: string | number }>`SELECT count(*) AS n FROM ledger_entries WHERE ${sql.raw(where)}`.execute(ctx.handle.db);
  return Number(r.rows[0]!.n);
}

async function seqs(ctx: ServiceContext): Promise<number[]> {
  const r = await sql<{ seq: string | number }>`SELECT seq FROM ledger_entries ORDER BY seq`.execute(ctx.handle.db);
  return r.rows.map((x) => Number(x.seq));
}

test('appends: 64 concurrent appenders, idempotent retries, one bad item in a batch, checkpoints', async (t) => {
  const db = await createTestDb();
  t.after(() => db.destroy());
  const ctx = await db.open();

  await t.test('64 appenders x 20 appends: contiguous sequence, valid chain, every acknowledgement is a row', async () => {
    const WRITERS = 64;
    const PER = 20;
    let acked = 0;
    let ackedEvents = 0;
    const positions: Position[][] = [];
    const writer = async (w: number) => {
      for (let i = 0; i < PER; i++) {
        // Every fifth item carries three events, which must get consecutive positions.
        const n = i % 5 === 4 ? 3 : 1;
        const events = Array.from({ length: n }, (_, k) => eulaEvent(w * 1000 + i * 10 + k));
        const p = await ctx.ledger.append({ events });
        acked++;
        ackedEvents += p.length;
        positions.push(p);
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    assert.equal(acked, WRITERS * PER);
    const total = 1 + ackedEvents; // genesis + acknowledged events
    assert.equal(await count(ctx), total, 'rows = acknowledged events + genesis');
    const all = await seqs(ctx);
    assert.deepEqual(all, Array.from({ length: total }, (_, i) => i + 1), 'sequence is 1..N without gaps');
    const given = positions.flat().map((p) => p.seq).sort((a, b) => a - b);
    assert.deepEqual(given, all.slice(1), 'each acknowledged position is a distinct row');
    for (const p of positions) {
      for (let k = 1; k < p.length; k++) assert.equal(p[k]!.seq, p[k - 1]!.seq + 1, 'an item\'s events are consecutive');
      assert.ok(p.every((x) => x.fresh));
    }
    const head = await ctx.ledger.head();
    assert.equal(head.size, total);
    const r = await ctx.ledger.verify();
    assert.equal(r.ok, true, JSON.stringify(r.fault));
    assert.equal(r.size, total);
    assert.equal(r.headHash, head.chainHash.toString('hex'));
  });

  await t.test('the same event id appended twice concurrently and sequentially: one row, one position', async () => {
    const before = await count(ctx);
    const ev = eulaEvent(7);
    // Concurrently: both land in one batch (or the second finds the first committed).
    const [a, b] = await Promise.all([ctx.ledger.append({ events: [ev] }), ctx.ledger.append({ events: [ev] })]);
    assert.equal(a![0]!.seq, b![0]!.seq);
    assert.ok(a![0]!.chainHash.equals(b![0]!.chainHash));
    assert.deepEqual([a![0]!.fresh, b![0]!.fresh].sort(), [false, true]);
    // Sequentially, after commit.
    const c = await ctx.ledger.append({ events: [ev] });
    assert.equal(c[0]!.seq, a![0]!.seq);
    assert.equal(c[0]!.fresh, false);
    // Under load: 20 retries of one id spread among 200 other appends.
    const ev2 = eulaEvent(8);
    const mixed = await Promise.all(Array.from({ length: 220 }, (_, i) => ctx.ledger.append({ events: [i % 11 === 0 ? ev2 : eulaEvent(10_000 + i)] })));
    const retried = mixed.filter((_, i) => i % 11 === 0).map((p) => p[0]!);
    assert.equal(new Set(retried.map((p) => p.seq)).size, 1);
    assert.equal(retried.filter((p) => p.fresh).length, 1);
    // A multi-event item retried answers with all its original positions.
    const pair = [eulaEvent(9), eulaEvent(10)];
    const [p1, p2] = await Promise.all([ctx.ledger.append({ events: pair }), ctx.ledger.append({ events: pair })]);
    assert.deepEqual(p1!.map((p) => p.seq), p2!.map((p) => p.seq));
    const p3 = await ctx.ledger.append({ events: pair });
    assert.deepEqual(p3.map((p) => p.seq), p1!.map((p) => p.seq));
    assert.equal(await count(ctx), before + 1 + 1 + 200 + 2);
    assert.equal(await count(ctx, `event_id = '${ev.id}'`), 1);
    assert.equal(await count(ctx, `event_id = '${ev2.id}'`), 1);
    assert.equal((await ctx.ledger.verify()).ok, true);
  });

  await t.test('an item whose working rows fail is rejected alone; the rest of its batch commits', async () => {
    const before = await count(ctx);
    // The first append drains alone; the next ones queue up meanwhile and commit as one batch.
    const first = ctx.ledger.append({ events: [eulaEvent(1)] });
    const bad = eulaEvent(666);
    const items = Array.from({ length: 9 }, (_, i) =>
      i === 4
        ? {
            events: [bad],
            // A working row that violates a CHECK constraint (a signature must be 64 bytes).
            rows: (ps: Position[]) => [{ table: 'ledger_checkpoints' as const, values: { size: ps[0]!.seq, chain_hash: ps[0]!.chainHash, key_id: 'x', body: Buffer.from('{}'), signature: Buffer.alloc(3) } }],
          }
        : { events: [eulaEvent(100 + i), eulaEvent(200 + i)] },
    );
    const settled = await Promise.allSettled(items.map((it) => ctx.ledger.append(it)));
    await first;
    settled.forEach((s, i) => assert.equal(s.status, i === 4 ? 'rejected' : 'fulfilled', `item ${i}`));
    const err = (settled[4] as PromiseRejectedResult).reason as { code?: string; message?: string };
    assert.match(String(err.message), /check constraint|violates/i);
    assert.equal(await count(ctx), before + 1 + 8 * 2);
    assert.equal(await count(ctx, `event_id = '${bad.id}'`), 0, 'the failed item wrote nothing');
    const ok = settled.filter((s): s is PromiseFulfilledResult<Position[]> => s.status === 'fulfilled').flatMap((s) => s.value.map((p) => p.seq));
    assert.equal(new Set(ok).size, 16);
    const all = await seqs(ctx);
    assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => i + 1));
    const r = await ctx.ledger.verify();
    assert.equal(r.ok, true, JSON.stringify(r.fault));
    // The appender is still healthy.
    const after = await ctx.ledger.append({ events: [eulaEvent(2)] });
    assert.equal(after[0]!.seq, all.length + 1);
  });

  await t.test('batches sent behind a batch in flight: a failed first batch does not take them down, and they follow its head', async () => {
    const before = await count(ctx);
    // The bad item goes out alone; the nine queued behind it are sent chained on the head it was
    // planned to leave, which never comes: they must be sent again and commit, in order.
    const bad = eulaEvent(667);
    const first = ctx.ledger.append({
      events: [bad],
      rows: (ps: Position[]) => [{ table: 'ledger_checkpoints' as const, values: { size: ps[0]!.seq, chain_hash: ps[0]!.chainHash, key_id: 'x', body: Buffer.from('{}'), signature: Buffer.alloc(3) } }],
    });
    const rest = Array.from({ length: 9 }, (_, i) => ctx.ledger.append({ events: [eulaEvent(300 + i)] }));
    await assert.rejects(first, /check constraint|violates/i);
    const got = (await Promise.all(rest)).map((p) => p[0]!.seq);
    assert.deepEqual(got, Array.from({ length: 9 }, (_, i) => before + 1 + i), 'the queued appends commit in order right after the head');
    assert.equal(await count(ctx, `event_id = '${bad.id}'`), 0);
    // Two changes of one subject state decided on the same state (never set): the second, sent
    // behind the first while it is in flight, is refused once the first has committed.
    const subject = `pipelined-${randomUUID()}`;
    const change = { subject, scope: 'test-scope', expected: 0 };
    const [a, b] = await Promise.allSettled([ctx.ledger.append({ events: [eulaEvent(400)], states: [change] }), ctx.ledger.append({ events: [eulaEvent(401)], states: [change] })]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    assert.equal(isStateRefusal((b as PromiseRejectedResult).reason), true, String((b as PromiseRejectedResult).reason));
    const all = await seqs(ctx);
    assert.deepEqual(all, Array.from({ length: all.length }, (_, i) => i + 1));
    const r = await ctx.ledger.verify();
    assert.equal(r.ok, true, JSON.stringify(r.fault));
  });

  await t.test('checkpoints: each consistent with the last; refused after tampering (last: it tampers)', async () => {
    const append = (n: number) => Promise.all(Array.from({ length: n }, (_, i) => ctx.ledger.append({ events: [eulaEvent(i)] })));
    const size0 = (await ctx.ledger.head()).size;
    const n0 = (await ctx.ledger.checkpoints()).filter((c) => c.size < size0).length; // automatic ones (every 1000)
    const [c1, c1again] = await Promise.all([ctx.ledger.checkpoint(), ctx.ledger.checkpoint()]);
    assert.equal(c1?.size, size0);
    assert.equal(c1again?.size, size0, 'concurrent calls share one run');
    assert.equal((await ctx.ledger.checkpoints()).length, n0 + 1);
    // Nothing new: the last checkpoint is returned, none written.
    assert.equal((await ctx.ledger.checkpoint())?.size, size0);
    assert.equal((await ctx.ledger.checkpoints()).length, n0 + 1);

    await append(15);
    const s1 = size0 + 15;
    const c2 = await ctx.ledger.checkpoint();
    assert.equal(c2?.size, s1);
    assert.deepEqual((await ctx.ledger.checkpoints()).slice(n0).map((c) => c.size), [size0, s1]);
    const head = await ctx.ledger.head();
    assert.ok(c2!.chainHash.equals(head.chainHash));
    const r = await ctx.ledger.verify();
    assert.equal(r.ok, true, JSON.stringify(r.fault));
    assert.equal(r.checkpointsVerified, n0 + 2);
    assert.equal(r.latestCheckpointSize, s1);

    // Tampering after the last checkpoint: the next checkpoint is refused, not signed over it.
    await append(10);
    const victim = s1 + 4;
    const flip = `UPDATE ledger_entries SET canonical = set_byte(canonical, 30, get_byte(canonical, 30) # 1) WHERE seq = ${victim}`;
    await db.superuser('ALTER TABLE ledger_entries DISABLE TRIGGER ALL');
    await db.superuser(flip);
    await assert.rejects(ctx.ledger.checkpoint(), (e: unknown) => e instanceof LedgerError && e.code === 'checkpoint_inconsistent' && e.message.includes(`entry ${victim}`));
    assert.equal((await ctx.ledger.checkpoints()).length, n0 + 2);

    // Tampering with the entry the last checkpoint signed: refused too.
    await db.superuser(flip); // flips the byte back
    assert.equal((await ctx.ledger.verify()).ok, true, 'restored');
    await db.superuser(`DELETE FROM ledger_entries WHERE seq = ${s1}`);
    await assert.rejects(ctx.ledger.checkpoint(), (e: unknown) => e instanceof LedgerError && e.code === 'checkpoint_inconsistent' && e.message.includes(String(s1)));
    assert.equal((await ctx.ledger.checkpoints()).length, n0 + 2);
  });

  await t.test('reading pages: every page size, range and gap gives exactly the rows in order (after tampering: a gap)', async () => {
    const all = await seqs(ctx);
    const last = all[all.length - 1]!;
    assert.ok(all.length < last, 'the previous subtest left a gap');
    const read = async (o: Parameters<typeof ctx.ledger.entries>[0]) => {
      const out: number[] = [];
      for await (const e of ctx.ledger.entries(o)) {
        assert.equal(e.leafHash.length, 32);
        assert.equal(e.chainHash.length, 32);
        out.push(e.seq);
      }
      return out;
    };
    for (const pageSize of [37, 500, 5000]) {
      for (const prefetch of [1, 3]) {
        assert.deepEqual(await read({ pageSize, prefetch, recordedAt: false }), all, `pageSize ${pageSize} prefetch ${prefetch}`);
      }
    }
    const from = 100;
    const to = last - 10;
    assert.deepEqual(await read({ after: from, upTo: to, pageSize: 41 }), all.filter((x) => x > from && x <= to));
    assert.deepEqual(await read({ after: last, pageSize: 41 }), []);
    // The export form carries recorded_at; the verifier's does not.
    const withTime = ctx.ledger.entries({ upTo: 3 });
    const first = await withTime.next();
    assert.match(String((first.value as { recordedAt?: string }).recordedAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await withTime.return(undefined);
  });
});

test('a context with a different signing key or origin refuses to open an existing ledger', async (t) => {
  const db = await createTestDb();
  t.after(() => db.destroy());
  const ctx = await db.open();
  await ctx.ledger.append({ events: [eulaEvent(1)] });
  const otherKey = path.join(db.dir, 'keys', 'other-signing-key.pem');
  writeSecretFile(otherKey, SigningKey.generate().toPem());
  // On a real server, whole service contexts; embedded PGlite allows one handle per data directory
  // (and boots slowly), so there the same Ledger.init runs over the open handle.
  const tryOpen = (o: Partial<Config>): Promise<unknown> =>
    isRealPostgres
      ? db.open(o)
      : new Ledger(ctx.handle.db, { origin: o.origin ?? ctx.config.origin, signingKey: loadSigningKey({ ...ctx.config, ...o }) }).init();
  await assert.rejects(tryOpen({ signingKeyFile: otherKey }), (e: unknown) => e instanceof LedgerError && e.code === 'signing_key_mismatch');
  await assert.rejects(tryOpen({ origin: 'someone-else.example/ledger' }), (e: unknown) => e instanceof LedgerError && e.code === 'origin_mismatch');
  // Nothing was written by the refused ones; the rightful configuration still opens.
  assert.equal((await ctx.ledger.head()).size, 2);
  if (isRealPostgres) await db.open();
  const r = await ctx.ledger.verify();
  assert.equal(r.ok, true);
  assert.equal(r.size, 2);
});

test('genesis is written once when two contexts start at once (real server)', async (t) => {
  if (!isRealPostgres) {
    t.skip('needs two connections to one database; embedded PGlite is single-process');
    return;
  }
  for (let round = 0; round < 3; round++) {
    const db = await createTestDb();
    try {
      const ctxs = await Promise.all([db.open(), db.open(), db.open()]);
      const n = await count(ctxs[0]!, "event_type = 'ledger.genesis'");
      assert.equal(n, 1);
      assert.equal((await ctxs[0]!.ledger.head()).size, 1);
      // And all three append to the one chain.
      await Promise.all(ctxs.flatMap((c) => Array.from({ length: 10 }, () => c.ledger.append({ events: [eulaEvent(0, { id: randomUUID() })] }))));
      const r = await ctxs[1]!.ledger.verify();
      assert.equal(r.ok, true, JSON.stringify(r.fault));
      assert.equal(r.size, 31);
    } finally {
      await db.destroy();
    }
  }
});
