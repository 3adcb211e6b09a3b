// What issuing dossiers does to the acceptance path: p99 of POST /v1/acceptances at a fixed request
// rate (open loop, autocannon overallRate) with typical dossiers (1 acceptance, 3 verifications)
// issued back to back beside it, against the p99 without them, in the same run (ABBA halves:
// alone, beside, beside, alone). Target: ratio <= 1.5.
// Beside the ratio, figures that do not depend on how loaded the machine is: the service main
// thread's CPU time per dossier issue (the render workers' time is not in it) and per acceptance, and the longest the event loop was blocked, alone and beside.
//
//   npm run build && node dist/bench/render-interference.js   (DATABASE_URL or postgres://root@127.0.0.1:5432/test)
//
// BENCH_INTERFERENCE_RATE (100 req/s), BENCH_INTERFERENCE_SECONDS (8, split into the halves),
// BENCH_INTERFERENCE_CONNECTIONS (24), BENCH_INTERFERENCE_LOOPS (2 dossier issues in flight).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';
import { sha256Hex } from '../src/crypto/hash.js';
import type { Role } from '../src/db/schema.js';
import { buildEvidence, fetchHttp } from '../test/helpers/evidence.js';
import { freshDatabase, report, startService, type BenchService } from './common.js';

const RATE = Number(process.env.BENCH_INTERFERENCE_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_INTERFERENCE_SECONDS ?? 8);
const CONNECTIONS = Number(process.env.BENCH_INTERFERENCE_CONNECTIONS ?? 24);
const LOOPS = Number(process.env.BENCH_INTERFERENCE_LOOPS ?? 2);
const ISSUES = Number(process.env.BENCH_INTERFERENCE_ISSUES ?? 8);

const EULA = 'Interference Terms\n\n1. You may use the model API only as these terms allow.\n2. You must not use outputs to train a competing model.\n';
const EULA_SHA = sha256Hex(Buffer.from(EULA, 'utf8'));

function acceptanceBody(run: string, n: number): string {
  return JSON.stringify({
    subject: `ri-${run}-${n}`, slug: 'interference-terms', version: '1.0', shown_text_sha256: EULA_SHA,
    consent_text: 'I have read and agree to the Interference Terms', button_text: 'Create account', page_url: 'https://example.org/signup',
    locale: 'en-GB', client_time: new Date().toISOString(), ip: '203.0.113.7', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    auth: { method: 'password', session_id: `sess-${n}`, mfa: true }, method: 'checkbox',
  });
}

interface Phase {
  p50: number;
  p99: number;
  ok: number;
  bad: number;
  /** Longest event-loop block seen in the phase, ms. */
  blockMaxMs: number;
  /** The event loop's delay p99 in the phase, ms. */
  delayP99Ms: number;
}

async function acceptancesAtRate(svc: BenchService, token: string, seconds: number): Promise<Phase> {
  const run = randomBytes(4).toString('hex');
  let n = 0;
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const r = await autocannon({
    url: svc.baseUrl, connections: CONNECTIONS, duration: seconds, timeout: 30, overallRate: RATE,
    requests: [{
      method: 'POST', path: '/v1/acceptances', headers,
      setupRequest: (req: autocannon.Request) => {
        n += 1;
        req.body = acceptanceBody(run, n);
        req.headers = { ...headers, 'idempotency-key': `${run}-${n}` };
        return req;
      },
    }],
  });
  delay.disable();
  return { p50: r.latency.p50, p99: r.latency.p99, ok: r['2xx'], bad: r.non2xx + r.errors + r.timeouts, blockMaxMs: delay.max / 1e6, delayP99Ms: delay.percentile(99) / 1e6 };
}

async function issue(svc: BenchService, token: string, subject: string, n: number): Promise<void> {
  const res = await fetch(`${svc.baseUrl}/v1/dossiers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ subject, case_ref: `RI-${n}`, requested_by: 'bench', prepared_for: { name: 'Counsel', firm: 'Firm LLP' } }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`dossier issue failed: ${res.status} ${text.slice(0, 300)}`);
}

/**
 * CPU time of this process's main thread so far, ms (Linux: /proc/self/task/<pid>/stat, utime +
 * stime in clock ticks of 10 ms); null elsewhere. Unlike event-loop busy time it does not count
 * time the thread waited for a core on a loaded machine.
 */
function mainThreadCpuMs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return null;
  }
}

/** Main-thread CPU time (ms; event-loop busy time where it cannot be read) while `fn` runs, and the longest event-loop block in it. */
async function mainThread(fn: () => Promise<void>): Promise<{ cpuMs: number; blockMaxMs: number }> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = mainThreadCpuMs();
  await fn();
  const cpu1 = mainThreadCpuMs();
  const elu = performance.eventLoopUtilization(elu0);
  delay.disable();
  return { cpuMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : elu.active, blockMaxMs: delay.max / 1e6 };
}

export async function benchRenderInterference(): Promise<void> {
  const db = await freshDatabase('assentmark_bench_ri');
  let svc: BenchService | null = null;
  try {
    svc = await startService(db.url);
    const s = svc;
    const tokens = {} as Record<Role, string>;
    for (const role of ['admin', 'signup', 'gateway', 'investigator', 'counsel'] as const) tokens[role] = (await s.built.services.apiKeys.create(role, `bench ${role}`)).token;
    const typical = await buildEvidence(fetchHttp(s.baseUrl, tokens), { subject: 'ri-typical', acceptances: 1, verifications: 3, caseRef: 'RI-TYPICAL' });
    await s.built.services.eulas.publish({ slug: 'interference-terms', version: '1.0', title: 'Interference Terms', text: EULA, effective_at: '2026-01-01T00:00:00Z', major: true }, 'bench');
    console.log(`# render-interference: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the start`);

    // Main-thread CPU of one issue, issued one at a time with nothing else running (CPU time, so
    // independent of the machine's load; the render workers' time is not in it).
    let k = 0;
    for (let i = 0; i < 2; i++) await issue(s, tokens.investigator, typical.subject, k++);
    const issues = await mainThread(async () => {
      for (let i = 0; i < ISSUES; i++) await issue(s, tokens.investigator, typical.subject, k++);
    });
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let i = 0; i < ISSUES; i++) await issue(s, tokens.investigator, typical.subject, k++);
    const cpu = process.cpuUsage(cpu0);
    const issueWallMs = (performance.now() - wall0) / ISSUES;
    // The client's own share (fetch, JSON) is in these figures too; it is small beside an issue.
    report('render_interference.dossier.main_thread_cpu', issues.cpuMs / ISSUES, 'ms/dossier');
    report('render_interference.dossier.main_thread_block_max', issues.blockMaxMs, 'ms');
    report('render_interference.dossier.process_cpu', (cpu.user + cpu.system) / 1000 / ISSUES, 'ms/dossier');
    console.log(`# render-interference: ${ISSUES} issues one at a time: ${issueWallMs.toFixed(0)} ms each (wall, load-dependent)`);

    // The same measure for acceptances, at the fixed rate, for scale.
    await acceptancesAtRate(s, tokens.signup, 2); // warm-up
    let accepted = 0;
    const acc = await mainThread(async () => {
      accepted = (await acceptancesAtRate(s, tokens.signup, 2)).ok;
    });
    report('render_interference.acceptance.main_thread_cpu', acc.cpuMs / Math.max(1, accepted), 'ms/acceptance');
    report('render_interference.dossier.main_thread_cpu_in_acceptances', (issues.cpuMs / ISSUES) / (acc.cpuMs / Math.max(1, accepted)), 'acceptances');

    // p99 at the fixed rate, alone and beside dossiers (ABBA).
    const half = SECONDS / 2;
    let issued = 0;
    const beside = async () => {
      let running = true;
      const loops = Array.from({ length: LOOPS }, async () => {
        while (running) {
          await issue(s, tokens.investigator, typical.subject, k++);
          issued++;
        }
      });
      const r = await acceptancesAtRate(s, tokens.signup, half);
      running = false;
      await Promise.all(loops);
      return r;
    };
    const a1 = await acceptancesAtRate(s, tokens.signup, half);
    const b1 = await beside();
    const b2 = await beside();
    const a2 = await acceptancesAtRate(s, tokens.signup, half);
    const bad = a1.bad + a2.bad + b1.bad + b2.bad;
    if (bad > 0) console.log(`# render-interference: WARNING: ${bad} non-2xx responses or errors`);
    const alone = { p50: (a1.p50 + a2.p50) / 2, p99: Math.max(a1.p99, a2.p99), block: Math.max(a1.blockMaxMs, a2.blockMaxMs), delay: Math.max(a1.delayP99Ms, a2.delayP99Ms), ok: a1.ok + a2.ok };
    const with_ = { p50: (b1.p50 + b2.p50) / 2, p99: Math.max(b1.p99, b2.p99), block: Math.max(b1.blockMaxMs, b2.blockMaxMs), delay: Math.max(b1.delayP99Ms, b2.delayP99Ms), ok: b1.ok + b2.ok };
    report('render_interference.rate', RATE, 'req/s');
    report('render_interference.acceptances.p50.alone', alone.p50, 'ms');
    report('render_interference.acceptances.p50.beside_dossiers', with_.p50, 'ms', { baseline: alone.p50, ratio: with_.p50 / alone.p50 });
    report('render_interference.acceptances.p99.alone', alone.p99, 'ms');
    report('render_interference.acceptances.p99.beside_dossiers', with_.p99, 'ms', { baseline: alone.p99, ratio: with_.p99 / alone.p99, target: 'ratio<=1.5' });
    report('render_interference.event_loop_block_max.beside_dossiers', with_.block, 'ms', { baseline: alone.block, ratio: with_.block / alone.block });
    report('render_interference.event_loop_delay_p99.beside_dossiers', with_.delay, 'ms', { baseline: alone.delay, ratio: with_.delay / alone.delay });
    report('render_interference.dossiers_issued_beside', issued, 'dossiers');
    console.log(`# render-interference: ${alone.ok} acceptances alone, ${with_.ok} beside ${issued} dossiers; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end`);
    const v = await s.ctx.ledger.verify();
    if (!v.ok) throw new Error(`the ledger does not verify after the benchmark: entry ${v.fault?.seq}`);
  } finally {
    await svc?.close().catch(() => {});
    await db.drop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchRenderInterference();
}
