// Ledger benchmarks on a real PostgreSQL server, each beside its baseline in the same run:
//  (a) plain single-row autocommit INSERTs of a comparable row into an unchained table,
//  (b) chained appends through the real append path (Ledger.append: group commit),
// both at 64 concurrent writers over the same pool size; then Ledger.verify() over >= 200,000
// entries (throughput and peak memory). Makes its own database and drops it.
// Knobs: BENCH_SECONDS (5), BENCH_VERIFY_ENTRIES (200000), BENCH_CHECKPOINT_EVERY (service default).
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
import { EntryColumns, INSERT_ENTRIES_SQL } from '../src/ledger/entry-columns.js';
import { MerkleFrontier } from '../src/ledger/merkle.js';
import { EXTEND_TILES_SQL } from '../src/ledger/tile-repository.js';
import { openContext } from '../src/app/context.js';
import { freshDatabase, percentile, report } from './common.js';

const WRITERS = 64;
const POOL = 16; // the service's pool size (src/db/connect.ts default); the baseline gets the same
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const VERIFY_ENTRIES = Number(process.env.BENCH_VERIFY_ENTRIES ?? 200_000);

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
  latencies: number[]; // ms, sorted
}

/** Runs `op` from WRITERS concurrent loops for `seconds` (after a short warm-up). */
async function closedLoop(seconds: number, op: (i: number) => Promise<void>): Promise<RunResult> {
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
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: WRITERS }, () => loop(until, latencies)));
  const elapsed = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  latencies.sort((a, b) => a - b);
  return { ops: latencies.length, seconds: elapsed, latencies, cpuSeconds: (c.user + c.system) / 1e6 };
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
    });
    await pool.end();

    // (b) Chained appends through the real path.
    const chained = await closedLoop(SECONDS, async (i) => {
      await ctx.ledger.append({ events: [benchEvent(1_000_000 + i)] });
    });

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
    console.log(`# load average ${load()}`);

    // Verify: fill to >= VERIFY_ENTRIES with correctly chained entries (hashes computed here,
    // inserted in chunks as the owner), then stream the whole ledger through Ledger.verify().
    const ownerPool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      await ctx.ledger.drained();
      const head = (await ownerPool.query<{ seq: string; chain_hash: Buffer; frontier: Buffer }>('SELECT seq, chain_hash, frontier FROM ledger_head WHERE id = 1')).rows[0]!;
      let seq = Number(head.seq);
      let prev = head.chain_hash;
      let frontier = MerkleFrontier.fromBytes(head.frontier, seq);
      const fillT0 = performance.now();
      const CHUNK = 5000;
      while (seq < VERIFY_ENTRIES) {
        const n = Math.min(CHUNK, VERIFY_ENTRIES - seq);
        const cols = new EntryColumns(frontier);
        for (let k = 0; k < n; k++) {
          seq++;
          prev = cols.add(seq, prev, benchEvent(2_000_000 + seq));
        }
        await ownerPool.query(INSERT_ENTRIES_SQL, cols.parameters());
        await ownerPool.query(EXTEND_TILES_SQL, cols.tileParameters());
        frontier = cols.frontier;
      }
      await ownerPool.query('UPDATE ledger_head SET seq = $1, chain_hash = $2, frontier = $3 WHERE id = 1', [seq, prev, frontier.toBytes()]);
      await ownerPool.query('VACUUM ANALYZE ledger_entries');
      console.log(`# verify: filled to ${seq} entries in ${((performance.now() - fillT0) / 1000).toFixed(1)} s`);
      // One checkpoint at the end, so verify also checks a signature over the filled part.
      await ctx.ledger.checkpoint();

      global.gc?.();
      const m0 = process.memoryUsage();
      let maxRss = m0.rss;
      let maxHeap = m0.heapUsed;
      const sampler = setInterval(() => {
        const m = process.memoryUsage();
        if (m.rss > maxRss) maxRss = m.rss;
        if (m.heapUsed > maxHeap) maxHeap = m.heapUsed;
      }, 10);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await ctx.ledger.verify();
      const secs = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(c0);
      clearInterval(sampler);
      if (!r.ok) throw new Error(`verify failed: ${JSON.stringify(r.fault)}`);
      report('ledger.verify.entries', r.size, 'entries', { target: '>=200000' });
      report('ledger.verify.throughput', r.size / secs, 'entries/s', { target: '>=150000' });
      report('ledger.verify.seconds', secs, 's');
      // What one core of this process spends per entry (reading rows + verifying), independent of
      // how busy the machine is: entries per CPU-second is the ceiling with a core to itself.
      const cpuSecs = (cpu.user + cpu.system) / 1e6;
      report('ledger.verify.client_cpu_per_entry', (cpuSecs / r.size) * 1e6, 'us');
      report('ledger.verify.entries_per_cpu_second', r.size / cpuSecs, 'entries/s');
      report('ledger.verify.rss_delta_peak', (maxRss - m0.rss) / 2 ** 20, 'MiB');
      report('ledger.verify.heap_used_peak', maxHeap / 2 ** 20, 'MiB', { baseline: m0.heapUsed / 2 ** 20 });
      console.log(`# load average ${load()}`);
    } finally {
      await ownerPool.end();
    }
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
