// Ledger benchmarks on a real PostgreSQL server, each beside its baseline in the same run:
//  (a) plain single-row autocommit INSERTs of a comparable row into an unchained table,
//  (b) chained appends through the real append path (Ledger.append: group commit),
// both at 64 concurrent writers over the same pool size. Makes its own database and drops it.
// Verification and proofs: bench/verify.ts.
// Knobs: BENCH_SECONDS (5), BENCH_CHECKPOINT_EVERY (service default).
// Run alone: node --expose-gc dist/bench/ledger.js (or `npm run bench -- ledger`).
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config/config.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import { writeSecretFile } from '../src/keys/files.js';
import { prepareEvent, type PreparedEvent } from '../src/ledger/format.js';
import { openContext } from '../src/app/context.js';
import { databaseCpu, type DatabaseCpu, freshDatabase, percentile, report } from './common.js';

const WRITERS = 64;
const POOL = 16; // the service's pool size (src/db/connect.ts default); the baseline gets the same
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);

/** A ~300-byte acceptance-like event (canonical JSON). */
function benchEvent(i: number): PreparedEvent {
  return prepareEvent('acceptance.recorded', {
    subject: `user-${i}`,
    eula: { slug: 'terms', version: '2.1.0', text_sha256: 'a3f1c2d4e5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778' },
    method: 'checkbox',
    ip: '203.0.113.7',
    idempotency_key: String(i),
  });
}

interface RunResult {
  ops: number;
  seconds: number;
  cpuSeconds: number; // this process's CPU time (user + system) during the run
  dbCpuSeconds: number | null; // the database backends' CPU time during the run (local server only)
  latencies: number[]; // ms, sorted
}

/** Runs `op` from WRITERS concurrent loops for `seconds` (after a short warm-up). */
async function closedLoop(seconds: number, op: (i: number) => Promise<void>, dbCpu: DatabaseCpu | null): Promise<RunResult> {
  let i = 0;
  const loop = async (until: number, lat: number[] | null) => {
    while (performance.now() < until) {
      const t0 = performance.now();
      await op(i++);
      lat?.push(performance.now() - t0);
    }
  };
  const warm = performance.now() + 1000;
  await Promise.all(Array.from({ length: WRITERS }, () => loop(warm, null)));
  const latencies: number[] = [];
  const dbUsed = await dbCpu?.measure();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: WRITERS }, () => loop(until, latencies)));
  const elapsed = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const dbCpuSeconds = dbUsed ? await dbUsed() : null;
  latencies.sort((a, b) => a - b);
  return { ops: latencies.length, seconds: elapsed, latencies, cpuSeconds: (c.user + c.system) / 1e6, dbCpuSeconds };
}

export async function benchLedger(): Promise<void> {
  const db = await freshDatabase('assentmark_bench_ledger');
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-bench-ledger-'));
  try {
    const signingKeyFile = path.join(dir, 'signing-key.pem');
    writeSecretFile(signingKeyFile, SigningKey.generate().toPem());
    const config = {
      ...loadConfig({ LOG_LEVEL: 'silent', ASSENTMARK_DATA_DIR: path.join(dir, 'data') }),
      databaseUrl: db.url,
      dbRole: 'assentmark_service',
      signingKeyFile,
      checkpointIntervalMs: 0,
      ...(process.env.BENCH_CHECKPOINT_EVERY !== undefined ? { checkpointEvery: Number(process.env.BENCH_CHECKPOINT_EVERY) } : {}),
    };
    const ctx = await openContext(config, { timers: false }); // migrates as owner, runs as the service role
    const dbCpu = await databaseCpu(db.name);
    const sample = benchEvent(0);
    const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
    console.log(`# ledger: ${WRITERS} concurrent writers, pool ${POOL}, ${SECONDS} s per run, events ~${sample.canonical.length} bytes, checkpoint every ${config.checkpointEvery}; load average ${load()} on ${os.cpus().length} CPUs`);

    // (a) Baseline: the same columns, unchained, one autocommit INSERT per row.
    const pool = new pg.Pool({ connectionString: db.url, max: POOL });
    await pool.query(`CREATE TABLE bench_plain (event_id uuid PRIMARY KEY, event_type text NOT NULL, canonical bytea NOT NULL,
      leaf_hash bytea NOT NULL, prev_hash bytea NOT NULL, chain_hash bytea NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`);
    const base = await closedLoop(SECONDS, async (i) => {
      const e = benchEvent(i);
      await pool.query('INSERT INTO bench_plain (event_id, event_type, canonical, leaf_hash, prev_hash, chain_hash) VALUES ($1, $2, $3, $4, $5, $6)', [
        e.id, e.type, e.canonical, e.leafHash, randomBytes(32), randomBytes(32),
      ]);
    }, dbCpu);
    await pool.end();

    // (b) Chained appends through the real path.
    const chained = await closedLoop(SECONDS, async (i) => {
      await ctx.ledger.append({ events: [benchEvent(1_000_000 + i)] });
    }, dbCpu);

    const tA = base.ops / base.seconds;
    const tB = chained.ops / chained.seconds;
    report('ledger.baseline_insert.throughput', tA, 'rows/s');
    report('ledger.baseline_insert.p50', percentile(base.latencies, 50), 'ms');
    report('ledger.baseline_insert.p99', percentile(base.latencies, 99), 'ms');
    report('ledger.append.throughput', tB, 'events/s', { baseline: tA, ratio: tB / tA, target: 'ratio>=3' });
    report('ledger.append.p50', percentile(chained.latencies, 50), 'ms', { baseline: percentile(base.latencies, 50) });
    report('ledger.append.p99', percentile(chained.latencies, 99), 'ms', { baseline: percentile(base.latencies, 99), target: '<=25' });
    report('ledger.baseline_insert.client_cpu_per_row', (base.cpuSeconds / base.ops) * 1e6, 'us');
    report('ledger.append.client_cpu_per_event', (chained.cpuSeconds / chained.ops) * 1e6, 'us');
    if (base.dbCpuSeconds !== null && chained.dbCpuSeconds !== null) {
      const perBase = (base.dbCpuSeconds / base.ops) * 1e6;
      const perEvent = (chained.dbCpuSeconds / chained.ops) * 1e6;
      report('ledger.baseline_insert.db_cpu_per_row', perBase, 'us');
      report('ledger.append.db_cpu_per_event', perEvent, 'us', { baseline: perBase, ratio: perEvent / perBase });
    }
    console.log(`# load average ${load()}`);

    await dbCpu?.end();
    await ctx.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

// Run directly: node dist/bench/ledger.js
if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  await benchLedger();
}
