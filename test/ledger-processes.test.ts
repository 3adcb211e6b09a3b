// Two service processes appending to one PostgreSQL database at once: the head-row lock must
// serialise them into one contiguous, valid chain (real server only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { sql } from 'kysely';
import { packageRoot } from '../src/util/paths.js';
import { createTestDb, isRealPostgres, type TestDb } from './helpers/context.js';
import { runAsync } from './helpers/tools.js';

const WORKER = path.join(packageRoot(), 'dist', 'test', 'helpers', 'append-worker.js');

async function runWorker(db: TestDb, appends: number): Promise<{ acked: number; seqs: number[] }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    DATABASE_URL: db.config.databaseUrl,
    ASSENTMARK_DB_ROLE: db.config.dbRole ?? 'assentmark_service',
    ASSENTMARK_SIGNING_KEY_FILE: db.config.signingKeyFile,
    ASSENTMARK_ORIGIN: db.config.origin,
    ASSENTMARK_DATA_DIR: db.config.dataDir,
    ASSENTMARK_CHECKPOINT_INTERVAL_MS: '0',
    LOG_LEVEL: 'silent',
  };
  const r = await runAsync(process.execPath, [WORKER, String(appends), '32'], { env });
  if (r.status !== 0) throw new Error(`worker exited ${r.status}: ${r.stderr}`);
  try {
    return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { acked: number; seqs: number[] };
  } catch (e) {
    throw new Error(`worker printed ${JSON.stringify(r.stdout)}: ${(e as Error).message}`);
  }
}

test('two service processes appending at once: one contiguous chain, every acknowledgement a row', async (t) => {
  if (!isRealPostgres) {
    t.skip('needs a PostgreSQL server: embedded PGlite is one in-process database that a second process cannot open');
    return;
  }
  const db = await createTestDb();
  t.after(() => db.destroy());
  const K = 600;
  // Both start on a ledger without genesis: they race to write it, too.
  const [a, b] = await Promise.all([runWorker(db, K), runWorker(db, K)]);
  assert.equal(a.acked, K);
  assert.equal(b.acked, K);

  const ctx = await db.open();
  const rows = await sql<{ n: string; lo: string; hi: string; g: string }>`
    SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi, count(*) FILTER (WHERE event_type = 'ledger.genesis') AS g FROM ledger_entries`.execute(ctx.handle.db);
  const r0 = rows.rows[0]!;
  const total = 1 + a.acked + b.acked;
  assert.equal(Number(r0.n), total, 'rows = acknowledged appends + one genesis');
  assert.equal(Number(r0.g), 1, 'one genesis');
  assert.equal(Number(r0.lo), 1);
  assert.equal(Number(r0.hi), total, 'contiguous: max = count');
  const all = new Set([...a.seqs, ...b.seqs]);
  assert.equal(all.size, a.acked + b.acked, 'no position acknowledged twice');
  for (let s = 2; s <= total; s++) assert.ok(all.has(s), `entry ${s} was acknowledged to one process`);
  // Both processes really interleaved (group commits from each).
  const interleavings = [...all].sort((x, y) => x - y).reduce((n, s, i, arr) => (i > 0 && a.seqs.includes(s) !== a.seqs.includes(arr[i - 1]!) ? n + 1 : n), 0);
  t.diagnostic(`${interleavings} switches between the two processes along the chain`);
  const report = await ctx.ledger.verify();
  assert.equal(report.ok, true, JSON.stringify(report.fault));
  assert.equal(report.size, total);
});
