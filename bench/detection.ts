// Detection benchmarks.
//   (a) the pure decision (WatermarkDecider.decide) against a bare HMAC-SHA256 of the same bytes,
//       on one core, in the same run: target ratio >= 0.8;
//   (b) decisions per second through POST /v1/watermark/decide, batches of 1,000 items over real
//       HTTP (8 keep-alive connections from a child process, prebuilt bodies), 100 subjects with
//       keys and acceptances, real PostgreSQL: target >= 100,000/s;
//   (c) one verification of a 100,000-sample submission over HTTP, send to response: target <= 2 s.
// The app runs in this process on an ephemeral port against a fresh database that is dropped after.
// Besides wall-clock figures it reports the server's CPU time, which stays meaningful when other
// work shares the machine (wall-clock throughput then falls, CPU per decision does not).
//
//   npm run build && node dist/bench/detection.js          (DATABASE_URL or postgres://root@127.0.0.1:5432/test)
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Role } from '../src/db/schema.js';
import { bareHmacBaseline, decideMessage, rateToThreshold, WatermarkDecider } from '../src/watermark/decide.js';
import { freshDatabase, percentile, report, startService, type BenchService } from './common.js';

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
  const runDecide = (n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (decider.decide(digests[i]!, labels[i]!, K).watermarked) sink++;
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const runBare = (n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += bareHmacBaseline(key, messages[i]!)[0]! & 1;
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  // The gateway's variant: the digest as hex text, decoded into the MACed message in place.
  const hex = digests.slice(0, PURE_N / 10).map((d) => d.toString('hex'));
  const runHex = (n: number): number => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (decider.decideHex(hex[i]!, labels[i]!, K).watermarked) sink++;
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  // Warm up, then alternate and keep each one's best of three.
  runDecide(PURE_N / 10);
  runBare(PURE_N / 10);
  runHex(PURE_N / 10);
  let bestDecide = Infinity;
  let bestBare = Infinity;
  let bestHex = Infinity;
  for (let r = 0; r < 3; r++) {
    bestDecide = Math.min(bestDecide, runDecide(PURE_N));
    bestBare = Math.min(bestBare, runBare(PURE_N));
    bestHex = Math.min(bestHex, runHex(PURE_N / 10));
  }
  const decideRate = PURE_N / bestDecide;
  const bareRate = PURE_N / bestBare;
  report('detection.pure.bare_hmac', Math.round(bareRate), 'ops/s');
  report('detection.pure.decide', Math.round(decideRate), 'decisions/s', { baseline: Math.round(bareRate), ratio: decideRate / bareRate, target: 'ratio>=0.8' });
  report('detection.pure.decide_hex', Math.round(PURE_N / 10 / bestHex), 'decisions/s', { baseline: Math.round(bareRate), ratio: PURE_N / 10 / bestHex / bareRate });
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
  const db = await freshDatabase('assentmark_bench_detection');
  let svc: BenchService | null = null;
  const close = async (): Promise<void> => {
    if (svc) await svc.close().catch((e: unknown) => console.error('bench cleanup:', e));
    await db.drop();
  };
  try {
    svc = await startService(db.url);
    const tokens = {} as Record<Role, string>;
    for (const role of ['admin', 'signup', 'gateway', 'investigator'] as const) tokens[role] = (await svc.built.services.apiKeys.create(role, `bench ${role}`)).token;
    return { url: svc.baseUrl, tokens, close };
  } catch (e) {
    await close();
    throw e;
  }
}

interface Reply {
  status: number;
  text: string;
  ms: number;
}

/** One POST of prebuilt bytes over node:http (so the client costs next to nothing); ms = send to full response. */
function post(url: string, token: string, p: string, body: Buffer, agent?: http.Agent, keepBody = true): Promise<Reply> {
  const u = new URL(url + p);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', ...(agent ? { agent } : {}), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        const status = res.statusCode ?? 0;
        res.on('data', (c: Buffer) => {
          if (keepBody || status >= 300) chunks.push(c);
        });
        res.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function must(s: Server, role: Role, p: string, body: unknown, headers: Record<string, string> = {}): Promise<any> {
  const res = await fetch(s.url + p, { method: 'POST', headers: { authorization: `Bearer ${s.tokens[role]}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`POST ${p} → ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

async function seedSubjects(s: Server): Promise<string[]> {
  const text = 'Bench Terms\n\nYou must not train a competing model on outputs.';
  await must(s, 'admin', '/v1/eulas', { slug: 'api-terms', version: '1.0', title: 'Bench Terms', text, effective_at: '2026-01-01T00:00:00Z', major: true });
  const shown = sha256(Buffer.from(text, 'utf8')).toString('hex');
  const subjects = Array.from({ length: SUBJECTS }, (_, i) => `bench-user-${String(i).padStart(3, '0')}`);
  for (const subject of subjects) {
    await must(s, 'signup', '/v1/acceptances', {
      subject, slug: 'api-terms', version: '1.0', shown_text_sha256: shown, consent_text: 'I agree', button_text: 'Sign up',
      page_url: 'https://example.org/signup', locale: 'en-GB', client_time: '2026-11-29T12:00:00Z', ip: '203.0.113.7',
      user_agent: 'bench', auth: { method: 'password', session_id: 's', mfa: false }, method: 'checkbox',
    }, { 'idempotency-key': `bench-${subject}` });
  }
  return subjects;
}

/** CPU time (user + system) of this process between two process.cpuUsage() readings, in seconds. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

// ---------------------------------------------------------------------------------------------
// (b) decisions over HTTP

const LOAD_ENV = 'ASSENTMARK_BENCH_DETECTION_LOAD';

interface LoadJob {
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

/**
 * The load client, in a child process (so this process's CPU time is the server's alone):
 * `connections` keep-alive connections posting prebuilt bodies back to back for `seconds`.
 */
async function loadClient(job: LoadJob): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });
  const bodies = job.bodies.map((b) => Buffer.from(b, 'utf8'));
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
        try {
          const r = await post(job.url, job.token, '/v1/watermark/decide', bodies[next++ % bodies.length]!, agent, false);
          if (r.status === 200) {
            requests++;
            latencies.push(r.ms);
          } else {
            errors++;
            firstError ??= `${r.status} ${r.text.slice(0, 200)}`;
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

function runLoad(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, [LOAD_ENV]: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: LoadResult | undefined;
    child.once('message', (m) => {
      result = m as LoadResult;
      child.disconnect();
    });
    child.once('error', reject);
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`load client exited with ${code}`))));
    child.send(job);
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
  // Sanity: a batch answers 1,000 ok results.
  const check = await post(s.url, s.tokens.gateway, '/v1/watermark/decide', Buffer.from(bodies[0]!));
  const results = check.status === 200 ? (JSON.parse(check.text) as { results: Array<{ status: string }> }).results : [];
  if (results.length !== BATCH || results.some((r) => r.status !== 'ok')) throw new Error(`decide sanity check failed: ${check.status} ${check.text.slice(0, 300)}`);
  // Warm-up (JIT, key cache), then the measured run.
  await runLoad({ url: s.url, token: s.tokens.gateway, bodies, connections: CONNECTIONS, seconds: 2 });
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const r = await runLoad({ url: s.url, token: s.tokens.gateway, bodies, connections: CONNECTIONS, seconds: LOAD_SECONDS });
  const serverCpu = cpuSeconds(cpu0);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  if (r.errors) throw new Error(`${r.errors} failed requests during the load run, first: ${r.firstError}`);
  const decisions = r.requests * BATCH;
  const rate = decisions / r.seconds;
  const sorted = r.latenciesMs.sort((a, b) => a - b);
  report('detection.http.decide', Math.round(rate), 'decisions/s', { target: '>=100000' });
  report('detection.http.decide.p50', percentile(sorted, 50), 'ms');
  report('detection.http.decide.p99', percentile(sorted, 99), 'ms');
  // Load-independent view: the server process's CPU per decision, and what one core could serve.
  report('detection.http.decide.server_cpu', (serverCpu / decisions) * 1e6, 'us/decision');
  report('detection.http.decide.one_core_capacity', Math.round(decisions / serverCpu), 'decisions/s');
  report('detection.http.decide.event_loop_utilisation', elu, 'fraction');
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
    const r = await must(s, 'gateway', '/v1/watermark/decide', { items });
    for (const x of r.results as Array<{ label: number }>) served.push(x.label);
  }
  const body = Buffer.from(JSON.stringify({
    case_ref: 'BENCH-1',
    suspect: { name: 'bench suspect', version: '1', observed_at: 'https://suspect.example' },
    subjects: [subject],
    samples: digests.map((dg, i) => ({ input_sha256: dg.toString('hex'), owner_label: ownerLabel(dg), suspect_label: served[i]!, num_classes: K })),
  }));
  const times: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < 3; r++) {
    const cpu0 = process.cpuUsage();
    const res = await post(s.url, s.tokens.investigator, '/v1/verifications', body);
    cpus.push(cpuSeconds(cpu0));
    const out = res.status === 201 ? (JSON.parse(res.text) as { results: Array<{ decision: string }> }) : null;
    if (!out || out.results[0]?.decision !== 'detected') throw new Error(`verification failed: ${res.status} ${res.text.slice(0, 300)}`);
    times.push(res.ms / 1000);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  report('detection.http.verify_100k', median(times), 's', { target: '<=2' });
  report('detection.http.verify_100k.max', Math.max(...times), 's');
  report('detection.http.verify_100k.server_cpu', median(cpus), 's');
  report('detection.http.verify_100k.body', body.length / 1e6, 'MB');
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

if (process.env[LOAD_ENV] === '1' && process.send) {
  // The load client's process: one job in, one result out.
  process.once('message', (job) => {
    loadClient(job as LoadJob).then((r) => process.send!(r));
  });
} else if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchDetection().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
