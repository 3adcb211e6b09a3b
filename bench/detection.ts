// Detection benchmarks.
//   (a) the pure decision (WatermarkDecider.decide) against a bare HMAC-SHA256 of the same bytes,
//       on one core, in the same run: target ratio >= 0.8;
//   (b) decisions per second through POST /v1/watermark/decide, batches of 1,000 items over real
//       HTTP (keep-alive, 8 connections from a worker thread), real PostgreSQL: target >= 100,000/s;
//   (c) one verification of a 100,000-sample submission over HTTP, send to response: target <= 2 s.
// The app runs in this process on an ephemeral port against a fresh database that is dropped after.
//
//   npm run build && node dist/bench/detection.js          (DATABASE_URL or postgres://root@127.0.0.1:5432/test)
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig } from '../src/config/config.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import type { Role } from '../src/db/schema.js';
import { writeSecretFile } from '../src/keys/files.js';
import { buildApp } from '../src/server/build-app.js';
import { openContext } from '../src/service/context.js';
import { bareHmacBaseline, decideMessage, rateToThreshold, WatermarkDecider } from '../src/watermark/decide.js';
import { generateMasterKeyText } from '../src/wmkeys/kek.js';
import { percentile, report } from './common.js';

const K = 10;
const BATCH = 1_000;
const SUBJECTS = 100;
const CONNECTIONS = 8;
const LOAD_SECONDS = Number(process.env.BENCH_DETECTION_SECONDS ?? 10);
const PURE_N = 1_000_000;
const VERIFY_SAMPLES = 100_000;

const sha256 = (s: string | Uint8Array): Buffer => createHash('sha256').update(s).digest();
const ownerLabel = (dg: Uint8Array): number => (dg[0] as number) % K;

// ---------------------------------------------------------------------------------------------
// (a) pure decision vs bare HMAC

function benchPure(): void {
  const key = sha256('bench key');
  const threshold = rateToThreshold('0.005');
  const decider = new WatermarkDecider(key, threshold);
  const all = Buffer.allocUnsafe(PURE_N * 32);
  for (let i = 0; i < PURE_N; i++) sha256(`pure ${i}`).copy(all, i * 32);
  const digests = Array.from({ length: PURE_N }, (_, i) => all.subarray(i * 32, i * 32 + 32));
  // The baseline MACs exactly the bytes decide() MACs, precomputed (it is not charged for building them).
  const messages = digests.map((d) => decideMessage(d));
  const labels = Uint8Array.from(digests, ownerLabel);

  let sink = 0;
  const runDecide = (): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < PURE_N; i++) if (decider.decide(digests[i]!, labels[i]!, K).watermarked) sink++;
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const runBare = (): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < PURE_N; i++) sink += bareHmacBaseline(key, messages[i]!)[0]! & 1;
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  // Warm both up, then alternate and keep each one's best of three.
  runDecide();
  runBare();
  let bestDecide = Infinity;
  let bestBare = Infinity;
  for (let r = 0; r < 3; r++) {
    bestDecide = Math.min(bestDecide, runDecide());
    bestBare = Math.min(bestBare, runBare());
  }
  const decideRate = PURE_N / bestDecide;
  const bareRate = PURE_N / bestBare;
  report('detection.pure.bare_hmac', Math.round(bareRate), 'ops/s');
  report('detection.pure.decide', Math.round(decideRate), 'decisions/s', { baseline: Math.round(bareRate), ratio: round(decideRate / bareRate, 3) });
  if (sink < 0) console.log(sink); // keep the loops observable
}

// ---------------------------------------------------------------------------------------------
// The service under test

interface Server {
  url: string;
  tokens: Record<Role, string>;
  close(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const baseUrl = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
  const dbName = `assentmark_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-bench-'));
  const cleanups: Array<() => Promise<void>> = [
    async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    },
  ];
  const close = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((e: unknown) => console.error('bench cleanup:', e));
  };
  try {
    const u = new URL(baseUrl);
    u.pathname = `/${dbName}`;
    const signingKeyFile = path.join(dir, 'keys', 'signing-key.pem');
    const masterKeyFile = path.join(dir, 'keys', 'master-key.hex');
    writeSecretFile(signingKeyFile, SigningKey.generate().toPem());
    writeSecretFile(masterKeyFile, generateMasterKeyText());
    const config = { ...loadConfig({ LOG_LEVEL: 'silent', DATABASE_URL: u.toString(), ASSENTMARK_DATA_DIR: path.join(dir, 'data') }), signingKeyFile, masterKeyFile, checkpointIntervalMs: 0 };
    const ctx = await openContext(config, { timers: false });
    cleanups.push(() => ctx.close());
    const built = await buildApp(ctx, pino({ level: 'silent' }));
    cleanups.push(() => built.close());
    const tokens = {} as Record<Role, string>;
    for (const role of ['admin', 'signup', 'gateway', 'investigator'] as const) tokens[role] = (await built.services.apiKeys.create(role, `bench ${role}`)).token;
    const server = built.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, tokens, close };
  } catch (e) {
    await close();
    throw e;
  }
}

async function call(s: Server, role: Role, method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; ms: number }> {
  const payload = typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body);
  const t0 = performance.now();
  const res = await fetch(s.url + p, { method, headers: { authorization: `Bearer ${s.tokens[role]}`, ...(payload ? { 'content-type': 'application/json' } : {}), ...headers }, ...(payload ? { body: payload } : {}) });
  const text = await res.text();
  const ms = performance.now() - t0;
  return { status: res.status, json: text ? JSON.parse(text) : null, ms };
}

async function must(s: Server, role: Role, method: string, p: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
  const r = await call(s, role, method, p, body, headers);
  if (r.status >= 300) throw new Error(`${method} ${p} → ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`);
  return r.json;
}

async function seedSubjects(s: Server): Promise<string[]> {
  const text = 'Bench Terms\n\nYou must not train a competing model on outputs.';
  await must(s, 'admin', 'POST', '/v1/eulas', { slug: 'api-terms', version: '1.0', title: 'Bench Terms', text, effective_at: '2026-01-01T00:00:00Z', major: true });
  const shown = sha256(Buffer.from(text, 'utf8')).toString('hex');
  const subjects = Array.from({ length: SUBJECTS }, (_, i) => `bench-user-${String(i).padStart(3, '0')}`);
  for (const subject of subjects) {
    await must(s, 'signup', 'POST', '/v1/acceptances', {
      subject, slug: 'api-terms', version: '1.0', shown_text_sha256: shown, consent_text: 'I agree', button_text: 'Sign up',
      page_url: 'https://example.org/signup', locale: 'en-GB', client_time: '2026-11-29T12:00:00Z', ip: '203.0.113.7',
      user_agent: 'bench', auth: { method: 'password', session_id: 's', mfa: false }, method: 'checkbox',
    }, { 'idempotency-key': `bench-${subject}` });
  }
  return subjects;
}

// ---------------------------------------------------------------------------------------------
// (b) decisions over HTTP

interface LoadJob {
  kind: 'assentmark-detection-load';
  url: string;
  token: string;
  bodies: string[];
  connections: number;
  seconds: number;
}

interface LoadResult {
  requests: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  latenciesMs: number[];
}

/** Runs in a worker thread: keep-alive clients posting prebuilt bodies back to back. */
async function loadWorker(job: LoadJob): Promise<LoadResult> {
  const u = new URL(`${job.url}/v1/watermark/decide`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });
  const bodies = job.bodies.map((b) => Buffer.from(b, 'utf8'));
  const post = (body: Buffer): Promise<{ status: number; text: string | null }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { authorization: `Bearer ${job.token}`, 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          const status = res.statusCode ?? 0;
          res.on('data', (c: Buffer) => {
            if (status !== 200) chunks.push(c);
          });
          res.on('end', () => resolve({ status, text: status === 200 ? null : Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  let firstError: string | null = null;
  let next = 0;
  const t0 = performance.now();
  const deadline = t0 + job.seconds * 1000;
  await Promise.all(
    Array.from({ length: job.connections }, async () => {
      while (performance.now() < deadline) {
        const body = bodies[next++ % bodies.length]!;
        const s = performance.now();
        try {
          const r = await post(body);
          if (r.status === 200) {
            requests++;
            latencies.push(performance.now() - s);
          } else {
            errors++;
            firstError ??= `${r.status} ${r.text?.slice(0, 200)}`;
          }
        } catch (e) {
          errors++;
          firstError ??= String(e);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { requests, errors, firstError, seconds, latenciesMs: latencies };
}

function runLoad(job: Omit<LoadJob, 'kind'>): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(fileURLToPath(import.meta.url), { workerData: { kind: 'assentmark-detection-load', ...job } satisfies LoadJob });
    w.once('message', (m: LoadResult) => resolve(m));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
  });
}

function decideBodies(subjects: readonly string[], count: number, seed: string): string[] {
  return Array.from({ length: count }, (_, b) =>
    JSON.stringify({
      items: Array.from({ length: BATCH }, (_, i) => {
        const dg = sha256(`${seed} ${b} ${i}`);
        return { subject: subjects[(b * 7 + i) % subjects.length]!, input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K };
      }),
    }),
  );
}

async function benchDecideHttp(s: Server, subjects: readonly string[]): Promise<void> {
  const bodies = decideBodies(subjects, 64, 'load');
  // Sanity: one batch answers 1,000 ok results, some watermarked over all bodies.
  const check = await call(s, 'gateway', 'POST', '/v1/watermark/decide', bodies[0]);
  if (check.status !== 200 || check.json.results.length !== BATCH || check.json.results.some((r: { status: string }) => r.status !== 'ok')) {
    throw new Error(`decide sanity check failed: ${check.status} ${JSON.stringify(check.json).slice(0, 300)}`);
  }
  // Warm-up (JIT, key cache), then the measured run.
  await runLoad({ url: s.url, token: s.tokens.gateway, bodies, connections: CONNECTIONS, seconds: 2 });
  const r = await runLoad({ url: s.url, token: s.tokens.gateway, bodies, connections: CONNECTIONS, seconds: LOAD_SECONDS });
  if (r.errors) throw new Error(`${r.errors} failed requests during the load run, first: ${r.firstError}`);
  const rate = (r.requests * BATCH) / r.seconds;
  const sorted = r.latenciesMs.sort((a, b) => a - b);
  report('detection.http.decide', Math.round(rate), 'decisions/s', { baseline: 100_000, ratio: round(rate / 100_000, 3) });
  report('detection.http.decide.p50', round(percentile(sorted, 50), 2), 'ms');
  report('detection.http.decide.p99', round(percentile(sorted, 99), 2), 'ms');
}

// ---------------------------------------------------------------------------------------------
// (c) verification of 100,000 samples

async function benchVerifyHttp(s: Server, subjects: readonly string[]): Promise<void> {
  const subject = subjects[0]!;
  // The subject's traffic, through the gateway; the suspect reproduces what it was served.
  const digests = Array.from({ length: VERIFY_SAMPLES }, (_, i) => sha256(`verify ${i}`));
  const served: number[] = [];
  for (let i = 0; i < VERIFY_SAMPLES; i += BATCH) {
    const items = digests.slice(i, i + BATCH).map((dg) => ({ subject, input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K }));
    const r = await must(s, 'gateway', 'POST', '/v1/watermark/decide', { items });
    for (const x of r.results as Array<{ label: number }>) served.push(x.label);
  }
  const body = JSON.stringify({
    case_ref: 'BENCH-1',
    suspect: { name: 'bench suspect', version: '1', observed_at: 'https://suspect.example' },
    subjects: [subject],
    samples: digests.map((dg, i) => ({ input_sha256: dg.toString('hex'), owner_label: ownerLabel(dg), suspect_label: served[i]!, num_classes: K })),
  });
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const res = await call(s, 'investigator', 'POST', '/v1/verifications', body);
    if (res.status !== 201 || res.json.results[0].decision !== 'detected') throw new Error(`verification failed: ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`);
    times.push(res.ms);
  }
  const sorted = [...times].sort((a, b) => a - b);
  report('detection.http.verify_100k', round(sorted[1]! / 1000, 3), 's', { baseline: 2, ratio: round(sorted[1]! / 2000, 3) });
  report('detection.http.verify_100k.body', round(Buffer.byteLength(body) / 1e6, 1), 'MB');
}

// ---------------------------------------------------------------------------------------------

export async function benchDetection(): Promise<void> {
  benchPure();
  const s = await startServer();
  try {
    const subjects = await seedSubjects(s);
    await benchDecideHttp(s, subjects);
    await benchVerifyHttp(s, subjects);
  } finally {
    await s.close();
  }
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === 'assentmark-detection-load') {
  loadWorker(workerData as LoadJob).then((r) => parentPort!.postMessage(r));
} else if (isMainThread && process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchDetection().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
