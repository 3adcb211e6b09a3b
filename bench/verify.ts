// Verification and proof serving on a real PostgreSQL server, through the real service:
//  (a) `ledger verify` (Ledger.verify(): the DB read, every per-entry check, the tree rebuilt and
//      every checkpoint checked) over >= BENCH_VERIFY_ENTRIES entries: entries/s, CPU, peak memory;
//  (b) `ledger verify --file` (verifyExportFile) over an export of the same ledger;
//  (c) inclusion proofs served per second over HTTP (GET /v1/ledger/proofs/inclusion, random
//      entries, 16 clients), beside a baseline in the same run: a bare HTTP server answering each
//      request with one indexed SELECT of the entry's leaf hash.
// Knobs: BENCH_VERIFY_ENTRIES (200000), BENCH_SECONDS (5, for (c)).
//
//   npm run build && node --expose-gc dist/bench/verify.js
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { prepareEvent } from '../src/ledger/format.js';
import { exportLedger, verifyExportFile } from '../src/ledger/export.js';
import type { VerifyReport } from '../src/ledger/verifier.js';
import { fillLedger, freshDatabase, report, startService } from './common.js';

const ENTRIES = Number(process.env.BENCH_VERIFY_ENTRIES ?? 200_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = 16;
const CHECKPOINTS = 4; // signed while filling, so the run checks several signatures and roots

/** A ~300-byte acceptance-like event (canonical JSON). */
const benchEvent = (seq: number) =>
  prepareEvent('acceptance.recorded', {
    subject: `user-${seq}`,
    eula: { slug: 'terms', version: '2.1.0', text_sha256: 'a3f1c2d4e5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778' },
    method: 'checkbox',
    ip: '203.0.113.7',
    idempotency_key: String(seq),
  }, { id: randomUUID() });

/**
 * CPU seconds used so far by the PostgreSQL backends serving `db` (the server runs on this host:
 * /proc/<pid>/stat of each backend, in clock ticks of 1/100 s), by pid; empty if /proc cannot tell.
 */
async function backendCpu(db: pg.Pool): Promise<Map<number, number>> {
  const r = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
  const out = new Map<number, number>();
  for (const { pid } of r.rows) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // not on this host, or gone
    }
  }
  return out;
}

/** Runs `fn`, sampling this process's peak RSS and heap and its CPU time (and the database's, with `db`). */
async function measured<T>(fn: () => Promise<T>, db?: pg.Pool): Promise<{ value: T; seconds: number; cpuSeconds: number; dbCpuSeconds: number | null; rssDelta: number; heapPeak: number; heapBefore: number }> {
  global.gc?.();
  const m0 = process.memoryUsage();
  let maxRss = m0.rss;
  let maxHeap = m0.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > maxRss) maxRss = m.rss;
    if (m.heapUsed > maxHeap) maxHeap = m.heapUsed;
  }, 10);
  const b0 = db ? await backendCpu(db) : null;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    const value = await fn();
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    let dbCpuSeconds: number | null = null;
    if (db && b0) {
      const b1 = await backendCpu(db);
      dbCpuSeconds = b1.size ? [...b1].reduce((sum, [pid, t]) => sum + t - (b0.get(pid) ?? 0), 0) : null;
    }
    return { value, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, dbCpuSeconds, rssDelta: (maxRss - m0.rss) / 2 ** 20, heapPeak: maxHeap / 2 ** 20, heapBefore: m0.heapUsed / 2 ** 20 };
  } finally {
    clearInterval(sampler);
  }
}

function reportVerify(name: string, m: Awaited<ReturnType<typeof measured<VerifyReport>>>): void {
  const r = m.value;
  if (!r.ok) throw new Error(`${name} failed: ${JSON.stringify(r.fault)}`);
  report(`${name}.entries`, r.size, 'entries', { target: '>=200000' });
  report(`${name}.checkpoints`, r.checkpointsVerified, 'checkpoints');
  report(`${name}.throughput`, r.size / m.seconds, 'entries/s', { target: '>=150000' });
  report(`${name}.seconds`, m.seconds, 's');
  // CPU of this process, workers included: with the per-entry work on worker threads this exceeds
  // the wall time when both cores are used.
  report(`${name}.process_cpu_per_entry`, (m.cpuSeconds / r.size) * 1e6, 'us');
  // The database backends' CPU too (the same two cores): the figure that decides entries/s here.
  if (m.dbCpuSeconds !== null) {
    report(`${name}.database_cpu_per_entry`, (m.dbCpuSeconds / r.size) * 1e6, 'us');
    report(`${name}.all_cpu_per_entry`, ((m.cpuSeconds + m.dbCpuSeconds) / r.size) * 1e6, 'us');
  }
  report(`${name}.rss_delta_peak`, m.rssDelta, 'MiB');
  report(`${name}.heap_used_peak`, m.heapPeak, 'MiB', { baseline: m.heapBefore });
}

/** Requests from CLIENTS concurrent loops for SECONDS; returns requests per second. */
async function perSecond(url: (seq: number) => string, size: number): Promise<number> {
  const one = async () => {
    const seq = 1 + Math.floor(Math.random() * size);
    const res = await fetch(url(seq));
    if (res.status !== 200) throw new Error(`${url(seq)}: HTTP ${res.status}`);
    await res.arrayBuffer();
  };
  for (let i = 0; i < 200; i++) await one(); // warm-up
  let n = 0;
  const t0 = performance.now();
  const until = t0 + SECONDS * 1000;
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (performance.now() < until) {
      await one();
      n++;
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}

/** The baseline server: one indexed SELECT per request, the leaf hash as JSON. */
async function baselineServer(url: string): Promise<{ base: string; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: url, max: 16 });
  const server: Server = createServer((req, res) => {
    const seq = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('seq'));
    pool.query<{ leaf_hash: Buffer }>('SELECT leaf_hash FROM ledger_entries WHERE seq = $1', [seq]).then(
      (r) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ seq, leaf_hash: r.rows[0]!.leaf_hash.toString('hex') }));
      },
      () => {
        res.statusCode = 500;
        res.end();
      },
    );
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const addr = server.address();
  return {
    base: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await pool.end();
    },
  };
}

export async function benchVerify(): Promise<void> {
  const db = await freshDatabase('assentmark_bench_verify');
  const svc = await startService(db.url);
  const owner = new pg.Pool({ connectionString: db.url, max: 1 });
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-bench-verify-'));
  const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
  try {
    const fillT0 = performance.now();
    for (let k = 1; k <= CHECKPOINTS; k++) {
      await fillLedger(owner, Math.round((ENTRIES * k) / CHECKPOINTS), benchEvent);
      await svc.ctx.ledger.checkpoint();
    }
    const size = (await svc.ctx.ledger.head()).size;
    console.log(`# verify: filled to ${size} entries (${CHECKPOINTS} checkpoints) in ${((performance.now() - fillT0) / 1000).toFixed(1)} s; load average ${load()} on ${os.cpus().length} CPUs`);

    reportVerify('ledger.verify', await measured(() => svc.ctx.ledger.verify(), owner));
    console.log(`# load average ${load()}`);

    const file = path.join(dir, 'ledger.jsonl');
    await exportLedger(svc.ctx.ledger, file, svc.ctx.ledger.origin);
    reportVerify('ledger.verify_file', await measured(() => verifyExportFile(file, { trustedPublicKey: svc.ctx.ledger.signingKey.publicKey })));
    console.log(`# load average ${load()}`);

    const baseline = await baselineServer(db.url);
    try {
      const base = await perSecond((seq) => `${baseline.base}/?seq=${seq}`, size);
      const proofs = await perSecond((seq) => `${svc.baseUrl}/v1/ledger/proofs/inclusion?seq=${seq}`, size);
      report('ledger.inclusion_proofs.throughput', proofs, 'proofs/s', { baseline: base, ratio: proofs / base });
    } finally {
      await baseline.close();
    }
    console.log(`# load average ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await owner.end();
    await svc.close();
    await db.drop();
  }
}

if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  await benchVerify();
}
