// Acceptance throughput: POST /v1/acceptances through the real service (auth, validation,
// idempotency, watermark key assignment, group-committed ledger append, signed receipt) against a
// naive handler in the same process that parses the same JSON and does ONE plain INSERT of the
// same fields through a pg.Pool of the same size. Every request has a distinct subject (so each is
// a first acceptance that assigns a watermark key: the most expensive case) and a distinct
// Idempotency-Key. Targets: full/naive throughput ratio >= 1.0, full p99 <= 50 ms, no non-2xx.
//
//   npm run build && node dist/bench/acceptances.js      (DATABASE_URL or postgres://root@127.0.0.1:5432/test)
//
// Load comes from autocannon (programmatic API), 64 connections, BENCH_ACCEPTANCES_SECONDS (8) per
// endpoint in two interleaved halves, after a short warm-up of both. Throughput counts 2xx only;
// p50 is the mean of the halves' p50s, p99 the worse half's p99. The bench database is created
// fresh and dropped after.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import express from 'express';
import pg from 'pg';
import { sha256Hex } from '../src/crypto/hash.js';
import { databaseCpu, freshDatabase, report, startService, type BenchService, type DatabaseCpu } from './common.js';

const CONNECTIONS = Number(process.env.BENCH_ACCEPTANCES_CONNECTIONS ?? 64);
const SECONDS = Number(process.env.BENCH_ACCEPTANCES_SECONDS ?? 8);
const WARMUP_SECONDS = 2;
/** Worker threads for the load generator (0: in the server's own thread). */
const WORKERS = Number(process.env.BENCH_ACCEPTANCES_WORKERS ?? 0);

let scratch: string | null = null;
function scratchDir(): string {
  scratch ??= mkdtempSync(path.join(tmpdir(), 'assentmark-bench-acc-'));
  return scratch;
}
/** The service's pool size (connect() defaults to 16); the naive pool gets the same. */
const POOL_SIZE = 16;

export const EULA_TEXT = 'API Terms of Service\n\n1. You may use the model API only as these terms allow.\n2. You must not use outputs to train a competing model.\n';
const EULA_SHA = sha256Hex(Buffer.from(EULA_TEXT, 'utf8'));

/** One acceptance body; `n` makes the subject unique. */
export function body(run: string, n: number): string {
  return JSON.stringify({
    subject: `bench-${run}-${n}`,
    slug: 'api-terms',
    version: '1.0',
    shown_text_sha256: EULA_SHA,
    consent_text: 'I have read and agree to the API Terms',
    button_text: 'Create account',
    page_url: 'https://example.org/signup?step=terms',
    locale: 'en-GB',
    client_time: new Date().toISOString(),
    ip: '203.0.113.7',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    auth: { method: 'password', session_id: `sess-${n}`, mfa: true },
    method: 'checkbox',
  });
}

interface Figures {
  seconds: number;
  /** CPU time of this process (server and load generator) per 2xx response, ms. */
  cpuMs: number;
  /** CPU time of the database backends per 2xx response, ms (local server only). */
  dbCpuMs: number | null;
  rps: number;
  p50: number;
  p99: number;
  total: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

/**
 * In workers mode autocannon needs setupRequest as a file it can require(): a CommonJS module
 * built from the same body() as the in-process mode, with its own run id and counter.
 */
function setupRequestModule(dir: string, headers: Record<string, string>): string {
  const file = path.join(dir, `setup-request-${randomBytes(4).toString('hex')}.cjs`);
  writeFileSync(file, [
    "'use strict';",
    `const EULA_SHA = ${JSON.stringify(EULA_SHA)};`,
    `const HEADERS = ${JSON.stringify(headers)};`,
    `const RUN = require('node:crypto').randomBytes(4).toString('hex');`,
    body.toString(),
    'let n = 0;',
    "module.exports = function setupRequest(req) { n += 1; req.body = body(RUN, n); req.headers = { ...HEADERS, 'idempotency-key': `${RUN}-${n}` }; return req; };",
    '',
  ].join('\n'));
  return file;
}

async function load(url: string, urlPath: string, token: string | null, seconds: number, dbCpu: DatabaseCpu | null): Promise<Figures> {
  const run = randomBytes(4).toString('hex');
  let n = 0;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const setupRequest = WORKERS > 0
    ? setupRequestModule(scratchDir(), headers)
    : (req: autocannon.Request) => {
        n += 1;
        req.body = body(run, n);
        req.headers = { ...headers, 'idempotency-key': `${run}-${n}` };
        return req;
      };
  const dbUsed = await dbCpu?.measure();
  const cpu0 = process.cpuUsage();
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
    ...(WORKERS > 0 ? { workers: WORKERS } : {}),
    requests: [{ method: 'POST', path: urlPath, headers, setupRequest }],
  });
  const cpu = process.cpuUsage(cpu0);
  const dbSeconds = dbUsed ? await dbUsed() : null;
  const ok = result['2xx'];
  const elapsed = result.duration || seconds;
  return {
    seconds: elapsed,
    cpuMs: (cpu.user + cpu.system) / 1000 / Math.max(ok, 1),
    dbCpuMs: dbSeconds === null ? null : (dbSeconds * 1000) / Math.max(ok, 1),
    rps: ok / elapsed,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** Two runs as one: throughput over both, mean p50, worst p99 (histograms are not merged). */
function combine(a: Figures, b: Figures): Figures {
  return {
    seconds: a.seconds + b.seconds,
    cpuMs: (a.cpuMs * a.ok + b.cpuMs * b.ok) / Math.max(a.ok + b.ok, 1),
    dbCpuMs: a.dbCpuMs === null || b.dbCpuMs === null ? null : (a.dbCpuMs * a.ok + b.dbCpuMs * b.ok) / Math.max(a.ok + b.ok, 1),
    rps: (a.ok + b.ok) / (a.seconds + b.seconds),
    p50: (a.p50 + b.p50) / 2,
    p99: Math.max(a.p99, b.p99),
    total: a.total + b.total,
    ok: a.ok + b.ok,
    non2xx: a.non2xx + b.non2xx,
    errors: a.errors + b.errors,
    timeouts: a.timeouts + b.timeouts,
  };
}

/** The baseline: parse JSON, one INSERT of the same fields, reply 201. */
async function startNaive(dbUrl: string): Promise<{ url: string; pool: pg.Pool; close(): Promise<void> }> {
  const owner = new pg.Client({ connectionString: dbUrl });
  await owner.connect();
  await owner.query(`
    CREATE TABLE bench_naive_acceptances (
      id                uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
      subject           text        NOT NULL,
      slug              text        NOT NULL,
      version           text        NOT NULL,
      shown_text_sha256 text        NOT NULL,
      consent_text      text        NOT NULL,
      button_text       text        NOT NULL,
      page_url          text        NOT NULL,
      locale            text        NOT NULL,
      client_time       timestamptz NOT NULL,
      ip                text        NOT NULL,
      user_agent        text        NOT NULL,
      auth              jsonb       NOT NULL,
      method            text        NOT NULL,
      idempotency_key   text,
      created_at        timestamptz NOT NULL DEFAULT now()
    )`);
  await owner.end();
  const pool = new pg.Pool({ connectionString: dbUrl, max: POOL_SIZE });
  pool.on('error', () => {});
  const app = express();
  app.use(express.json({ limit: '2mb' }));
  app.post('/bench/naive', async (req, res) => {
    const b = req.body as Record<string, any>;
    try {
      const r = await pool.query<{ id: string }>(
        `INSERT INTO bench_naive_acceptances (subject, slug, version, shown_text_sha256, consent_text, button_text, page_url, locale, client_time, ip, user_agent, auth, method, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
        [b.subject, b.slug, b.version, b.shown_text_sha256, b.consent_text, b.button_text, b.page_url, b.locale, b.client_time, b.ip, b.user_agent, JSON.stringify(b.auth), b.method, req.get('idempotency-key') ?? null],
      );
      res.status(201).json({ id: r.rows[0]!.id });
    } catch {
      res.status(500).json({ error: 'insert failed' });
    }
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    pool,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await pool.end();
    },
  };
}

export async function benchAcceptances(): Promise<void> {
  const db = await freshDatabase('assentmark_bench_acc');
  let svc: BenchService | null = null;
  let naive: Awaited<ReturnType<typeof startNaive>> | null = null;
  let dbCpu: DatabaseCpu | null = null;
  try {
    svc = await startService(db.url);
    naive = await startNaive(db.url);
    await svc.built.services.eulas.publish({ slug: 'api-terms', version: '1.0', title: 'API Terms', text: EULA_TEXT, effective_at: '2026-01-01T00:00:00Z', major: true }, 'bench');
    const { token } = await svc.built.services.apiKeys.create('signup', 'bench signup');

    // Sanity: one acceptance through the real path.
    const probe = await fetch(`${svc.baseUrl}/v1/acceptances`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': 'probe' }, body: body('probe', 0) });
    if (probe.status !== 201) throw new Error(`probe acceptance failed: ${probe.status} ${await probe.text()}`);

    dbCpu = await databaseCpu(db.name);
    const runFull = (seconds: number) => load(svc!.baseUrl, '/v1/acceptances', token, seconds, dbCpu);
    const runNaive = (seconds: number) => load(naive!.url, '/bench/naive', null, seconds, dbCpu);
    await runFull(WARMUP_SECONDS);
    await runNaive(WARMUP_SECONDS);
    // Two halves in ABBA order (naive, full, full, naive): load from elsewhere on the machine that
    // drifts during the run then weighs on both sides alike.
    const half = SECONDS / 2;
    const n1 = await runNaive(half);
    const f1 = await runFull(half);
    const f2 = await runFull(half);
    const n2 = await runNaive(half);
    const base = combine(n1, n2);
    const full = combine(f1, f2);

    report('acceptances.naive.throughput', base.rps, 'req/s');
    report('acceptances.naive.p50', base.p50, 'ms');
    report('acceptances.naive.p99', base.p99, 'ms');
    report('acceptances.full.throughput', full.rps, 'req/s', { baseline: base.rps, ratio: full.rps / base.rps, target: 'ratio>=1.0' });
    report('acceptances.full.p50', full.p50, 'ms', { baseline: base.p50 });
    report('acceptances.full.p99', full.p99, 'ms', { baseline: base.p99, target: '<=50' });
    report('acceptances.naive.cpu_per_request', base.cpuMs, 'ms');
    report('acceptances.full.cpu_per_request', full.cpuMs, 'ms', { baseline: base.cpuMs, ratio: full.cpuMs / base.cpuMs });
    if (base.dbCpuMs !== null && full.dbCpuMs !== null) {
      report('acceptances.naive.db_cpu_per_request', base.dbCpuMs, 'ms');
      report('acceptances.full.db_cpu_per_request', full.dbCpuMs, 'ms', { baseline: base.dbCpuMs, ratio: full.dbCpuMs / base.dbCpuMs });
    }
    report('acceptances.full.non2xx', full.non2xx + full.errors + full.timeouts, 'responses', { target: '0' });
    report('acceptances.naive.non2xx', base.non2xx + base.errors + base.timeouts, 'responses');

    // Every 2xx is a committed record, and the ledger still verifies.
    const counts = await svc.ctx.handle.db.selectFrom('assent_records').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const verify = await svc.ctx.ledger.verify();
    console.log(`# acceptances: ${full.ok} accepted in the measured run (${full.total} sent), ${counts.n} records in all; ledger ${verify.ok ? 'verifies' : `FAILS at ${verify.fault?.seq}`} (${verify.size} entries)`);
    if (!verify.ok) throw new Error('the ledger does not verify after the benchmark');
    if (full.non2xx + full.errors + full.timeouts > 0) console.log('# acceptances: WARNING: non-2xx responses or errors under load');
  } finally {
    await dbCpu?.end().catch(() => {});
    await naive?.close().catch(() => {});
    await svc?.close().catch(() => {});
    await db.drop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchAcceptances();
}
