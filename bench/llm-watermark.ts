// Text watermark benchmarks (docs/llm-watermark-spec.md), each beside a baseline in the same run:
//   (a) scoring: green tests of distinct (window, token) tuples per second on one core (prepared
//       tuples, the WebAssembly kernel; also its JavaScript twin and one key tuple by tuple),
//       against the bare PRF (two reference Philox4x32-10 calls per tuple): target >= 2,000,000 tuples/s;
//   (b) screening 1,000 candidate subjects over 100,000 suspect tokens (tuples prepared once, 1,000
//       key derivations and tests, no HTTP): target <= 30 s; baseline: the per-tuple loop this
//       replaced (20 Philox rounds per tuple and key, nothing shared across subjects);
//   (c) POST /v1/llm-watermark/keys under the gateway's load (100 subjects a request, 64
//       connections, autocannon, real PostgreSQL): requests/s and p99, against
//       POST /v1/watermark/decide with 100 items for the same subjects in the same run.
// CPU time is reported beside wall time: it stays meaningful when other work shares the machine.
//
//   npm run build && node dist/bench/llm-watermark.js     (DATABASE_URL or postgres://root@127.0.0.1:5432/test)
import { createHash, randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { DEFAULT_ALPHA, testKey } from '../src/llm-watermark/detect.js';
import { philox, prfKeyFromBytes } from '../src/llm-watermark/philox.js';
import { deriveTextKey, parameterSet, parameterSetId } from '../src/llm-watermark/scheme.js';
import { greenCount, greenCountPrepared, greenCountPreparedJs, prepareTuples } from '../src/llm-watermark/score.js';
import { CONTEXT_DOMAIN, TOKEN_DOMAIN, type PrfKey } from '../src/llm-watermark/philox.js';
import { distinctTuples } from '../src/llm-watermark/tuples.js';
import { body as acceptanceBody, EULA_TEXT } from './acceptances.js';
import { freshDatabase, report, startService } from './common.js';

const TUPLES = 2_000_000;
const SUBJECTS = 1_000;
const SUSPECT_TOKENS = 100_000;
const LOAD_SECONDS = Number(process.env.BENCH_LLM_SECONDS ?? 5);
const CONNECTIONS = 64;
const params = parameterSet({ tokenizer: { name: 'bench', revision: '1' }, vocab_size: 50_000 });

function timed<T>(f: () => T): { value: T; wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = f();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { value, wall, cpu: (c.user + c.system) / 1e6 };
}

function randomTokens(n: number, seed: string): Uint32Array {
  const b = createHash('sha256').update(seed).digest();
  const out = new Uint32Array(n);
  let x = b.readUInt32LE(0) | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = (x >>> 0) % params.vocab_size;
  }
  return out;
}

function benchScoring(): void {
  const h = params.window;
  const tuples = randomTokens(TUPLES * (h + 1), 'tuples');
  const key = prfKeyFromBytes(randomBytes(8));
  greenCount(key, params.green_threshold, h, tuples.subarray(0, 30_000)); // warm up
  // Preparing (grouping by window, key-independent rounds) is done once per screening; scoring once per key.
  const prep = timed(() => prepareTuples(h, tuples));
  greenCountPrepared(key, params.green_threshold, prep.value); // copies the arrays into the kernel's memory
  const s = timed(() => greenCountPrepared(key, params.green_threshold, prep.value));
  const js = timed(() => greenCountPreparedJs(key, params.green_threshold, prep.value));
  const one = timed(() => greenCount(key, params.green_threshold, h, tuples));
  report('llm.score.one_key_tuple_by_tuple_per_cpu_second', Math.round(TUPLES / one.cpu), 'tuples/s');
  if (one.value !== s.value || js.value !== s.value) throw new Error('greenCount and the prepared counts disagree');
  // Baseline: the same number of PRF evaluations with the reference Philox (context + token call).
  const b = timed(() => {
    let acc = 0;
    for (let at = 0; at < tuples.length; at += h + 1) {
      const o = philox(tuples[at]!, tuples[at + 1]!, 0, 0, key.k0, key.k1);
      acc ^= philox(tuples[at + 2]! >>> 2, o[0]!, o[1]!, o[2]!, key.k0 ^ o[3]!, key.k1)[0]!;
    }
    return acc;
  });
  const rate = TUPLES / s.cpu, base = TUPLES / b.cpu;
  report('llm.score.tuples_per_cpu_second', Math.round(rate), 'tuples/s', { baseline: Math.round(base), ratio: rate / base, target: '>=2000000' });
  report('llm.score.tuples_per_wall_second', Math.round(TUPLES / s.wall), 'tuples/s');
  report('llm.score.javascript_kernel_per_cpu_second', Math.round(TUPLES / js.cpu), 'tuples/s', { baseline: Math.round(base), ratio: TUPLES / js.cpu / base });
  report('llm.score.prepare_per_cpu_second', Math.round(TUPLES / prep.cpu), 'tuples/s');
}

/**
 * The per-tuple loop screening used before tuples were prepared (kept as the baseline): every
 * tuple's context call and token call, 20 Philox rounds, for every key.
 */
function greenCountPerTuple(key: PrfKey, threshold: number, h: number, tuples: Uint32Array): number {
  const w = h + 1;
  const K0 = key.k0 | 0, K1 = key.k1 | 0;
  let g = 0;
  let o0 = 0, o1 = 0, o2 = 0, o3 = 0;
  const px = (c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void => {
    for (let r = 0; r < 10; r++) {
      const a0 = c0 & 0xffff, b0 = c0 >>> 16, a1 = c2 & 0xffff, b1 = c2 >>> 16;
      const lh0 = a0 * 0xd251, hl0 = b0 * 0x1f53, lh1 = a1 * 0xcd9e, hl1 = b1 * 0x8d57;
      const mid0 = ((a0 * 0x1f53) >>> 16) + (lh0 & 0xffff) + (hl0 & 0xffff);
      const mid1 = ((a1 * 0x8d57) >>> 16) + (lh1 & 0xffff) + (hl1 & 0xffff);
      const hi0 = b0 * 0xd251 + (lh0 >>> 16) + (hl0 >>> 16) + (mid0 >>> 16);
      const hi1 = b1 * 0xcd9e + (lh1 >>> 16) + (hl1 >>> 16) + (mid1 >>> 16);
      const lo0 = Math.imul(0xd2511f53, c0), lo1 = Math.imul(0xcd9e8d57, c2);
      c0 = hi1 ^ c1 ^ k0; c2 = hi0 ^ c3 ^ k1; c1 = lo1; c3 = lo0;
      k0 = (k0 + 0x9e3779b9) | 0; k1 = (k1 + 0xbb67ae85) | 0;
    }
    o0 = c0 >>> 0; o1 = c1 >>> 0; o2 = c2 >>> 0; o3 = c3 >>> 0;
  };
  for (let at = 0; at < tuples.length; at += w) {
    let s0 = CONTEXT_DOMAIN, s1 = h, s2 = 0, s3 = 0;
    for (let off = 0; off < h; off += 4) {
      const b = at + off;
      px(s0 ^ tuples[b]!, s1 ^ (off + 1 < h ? tuples[b + 1]! : 0xfffffffe), s2 ^ (off + 2 < h ? tuples[b + 2]! : 0xfffffffd), s3 ^ (off + 3 < h ? tuples[b + 3]! : 0xfffffffc), K0 ^ off, K1);
      s0 = o0; s1 = o1; s2 = o2; s3 = o3;
    }
    const t = tuples[at + h]!;
    px(t >>> 2, s0, s1, s2, K0 ^ s3, K1 ^ TOKEN_DOMAIN);
    const j = t & 3;
    if ((j === 0 ? o0 : j === 1 ? o1 : j === 2 ? o2 : o3) >>> 8 < threshold) g++;
  }
  return g;
}

function benchScreening(): void {
  const prompts: number[][] = [], outputs: number[][] = [];
  const tokens = randomTokens(SUSPECT_TOKENS + 200 * 8, 'suspect');
  for (let i = 0, at = 0; i < 200; i++) {
    prompts.push([...tokens.subarray(at, at + 8)]);
    outputs.push([...tokens.subarray(at + 8, at + 8 + SUSPECT_TOKENS / 200)]);
    at += 8 + SUSPECT_TOKENS / 200;
  }
  const id = parameterSetId(params);
  const wmKeys = Array.from({ length: SUBJECTS }, () => randomBytes(32));
  // As the service screens: distinct tuples, prepared once, then every subject's key derived and tested.
  const s = timed(() => {
    const t = distinctTuples(params.window, prompts, outputs);
    const prepared = { ...t, prepared: prepareTuples(params.window, t.tuples) };
    let detected = 0;
    const greens: number[] = [];
    for (const k of wmKeys) {
      const r = testKey(prfKeyFromBytes(deriveTextKey(k, id)), params, prepared, DEFAULT_ALPHA, SUBJECTS);
      greens.push(r.green);
      if (r.decision === 'detected') detected++;
    }
    return { n: t.n, detected, tuples: t.tuples, greens };
  });
  // Baseline, in the same run: the per-tuple loop for the same keys (its counts must agree).
  const b = timed(() => wmKeys.map((k) => greenCountPerTuple(prfKeyFromBytes(deriveTextKey(k, id)), params.green_threshold, params.window, s.value.tuples)));
  if (b.value.some((g, i) => g !== s.value.greens[i])) throw new Error('the prepared and the per-tuple scoring disagree');
  report('llm.screen.1000_subjects_100k_tokens.cpu', s.cpu, 's', { baseline: b.cpu, ratio: s.cpu / b.cpu, target: '<=30' });
  report('llm.screen.1000_subjects_100k_tokens.wall', s.wall, 's', { baseline: b.wall, ratio: s.wall / b.wall });
  console.log(`# screening: ${s.value.n} distinct tuples, ${SUBJECTS} subjects; ${(s.value.n * SUBJECTS / s.cpu / 1e6).toFixed(2)} M tuple-keys per CPU second (baseline ${(s.value.n * SUBJECTS / b.cpu / 1e6).toFixed(2)})`);
  if (s.value.detected !== 0) console.log(`# warning: ${s.value.detected} random subjects detected on random text`);
}

interface Load { rps: number; p50: number; p99: number; cpuMsPerRequest: number; non2xx: number; errors: number }

/** autocannon at CONNECTIONS connections for `seconds`; CPU of this process (server and load) per 2xx. */
async function load(url: string, token: string, path: string, body: string, seconds: number): Promise<Load> {
  const c0 = process.cpuUsage();
  const r = await autocannon({ url: url + path, method: 'POST', connections: CONNECTIONS, duration: seconds, body, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
  const c = process.cpuUsage(c0);
  const ok = r['2xx'];
  return { rps: ok / seconds, p50: r.latency.p50, p99: r.latency.p99, cpuMsPerRequest: (c.user + c.system) / 1000 / Math.max(ok, 1), non2xx: r.non2xx, errors: r.errors + r.timeouts };
}

async function benchKeyEndpoint(): Promise<void> {
  const db = await freshDatabase('assentmark_bench_llm');
  let svc: Awaited<ReturnType<typeof startService>> | null = null;
  try {
    svc = await startService(db.url);
    const s = svc.built.services;
    const token = async (role: 'admin' | 'signup' | 'gateway') => (await s.apiKeys.create(role, `bench ${role}`)).token;
    const [admin, signup, gateway] = [await token('admin'), await token('signup'), await token('gateway')];
    await s.eulas.publish({ slug: 'api-terms', version: '1.0', title: 'API Terms', text: EULA_TEXT, effective_at: '2026-01-01T00:00:00Z', major: true }, 'bench');
    const subjects: string[] = [];
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${svc.baseUrl}/v1/acceptances`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${signup}`, 'idempotency-key': `llm-${i}` }, body: acceptanceBody('llm', i) });
      if (r.status !== 201) throw new Error(`acceptance failed: ${r.status} ${await r.text()}`);
      subjects.push(`bench-llm-${i}`);
    }
    const reg = await fetch(`${svc.baseUrl}/v1/llm-watermark/parameter-sets`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ tokenizer: params.tokenizer, vocab_size: params.vocab_size }) });
    const psid = ((await reg.json()) as { id: string }).id;
    const keysBody = JSON.stringify({ parameter_set_id: psid, subjects });
    const decideBody = JSON.stringify({ items: subjects.map((subject, i) => ({ subject, input_sha256: createHash('sha256').update(`q${i}`).digest('hex'), label: i % 10, num_classes: 10 })) });
    // A global key too, so the response is the gateway's full one (subjects' keys and the global key).
    await s.llmWatermark.createGlobalKey('bench', { keyId: 'bench', name: 'bench', role: 'admin' } as never);
    await load(svc.baseUrl, gateway, '/v1/llm-watermark/keys', keysBody, 1); // warm up (fills the cache)
    await load(svc.baseUrl, gateway, '/v1/watermark/decide', decideBody, 1);
    // Interleaved halves, so a change in the machine's load falls on both.
    const half = LOAD_SECONDS / 2;
    const k1 = await load(svc.baseUrl, gateway, '/v1/llm-watermark/keys', keysBody, half);
    const d1 = await load(svc.baseUrl, gateway, '/v1/watermark/decide', decideBody, half);
    const k2 = await load(svc.baseUrl, gateway, '/v1/llm-watermark/keys', keysBody, half);
    const d2 = await load(svc.baseUrl, gateway, '/v1/watermark/decide', decideBody, half);
    const both = (a: Load, b: Load): Load => ({ rps: (a.rps + b.rps) / 2, p50: (a.p50 + b.p50) / 2, p99: Math.max(a.p99, b.p99), cpuMsPerRequest: (a.cpuMsPerRequest + b.cpuMsPerRequest) / 2, non2xx: a.non2xx + b.non2xx, errors: a.errors + b.errors });
    const k = both(k1, k2), d = both(d1, d2);
    if (k.non2xx || k.errors || d.non2xx || d.errors) console.log(`# warning: failed requests: keys ${k.non2xx} non-2xx ${k.errors} errors, decide ${d.non2xx} non-2xx ${d.errors} errors`);
    report('llm.keys.requests_per_second', k.rps, `req/s (100 subjects each, ${CONNECTIONS} connections)`, { baseline: d.rps, ratio: k.rps / d.rps });
    report('llm.keys.p99', k.p99, 'ms', { baseline: d.p99, ratio: k.p99 / d.p99 });
    report('llm.keys.p50', k.p50, 'ms', { baseline: d.p50, ratio: k.p50 / d.p50 });
    report('llm.keys.cpu_per_request', k.cpuMsPerRequest, 'ms', { baseline: d.cpuMsPerRequest, ratio: k.cpuMsPerRequest / d.cpuMsPerRequest });
  } finally {
    if (svc) await svc.close();
    await db.drop();
  }
}

/** All three; BENCH_LLM_ONLY=score|screen|keys runs one. */
export async function benchLlmWatermark(): Promise<void> {
  const only = process.env.BENCH_LLM_ONLY;
  if (!only || only === 'score') benchScoring();
  if (!only || only === 'screen') benchScreening();
  if (!only || only === 'keys') await benchKeyEndpoint();
}
