// Text watermark benchmarks (docs/llm-watermark-spec.md), each beside a baseline in the same run:
//   (a) scoring: green tests of distinct (window, token) tuples per second on one core, against
//       the bare PRF (two reference Philox4x32-10 calls per tuple): target >= 2,000,000 tuples/s;
//   (b) screening 1,000 candidate subjects over 100,000 suspect tokens (tuples, 1,000 key
//       derivations and tests, no HTTP): target <= 30 s; baseline: the scoring loop alone;
//   (c) POST /v1/llm-watermark/keys (100 subjects a request, 8 concurrent clients, real
//       PostgreSQL) against POST /v1/watermark/decide with 100 items for the same subjects.
// CPU time is reported beside wall time: it stays meaningful when other work shares the machine.
//
//   npm run build && node dist/bench/llm-watermark.js     (DATABASE_URL or postgres://root@127.0.0.1:5432/test)
import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_ALPHA, testKey } from '../src/llm-watermark/detect.js';
import { philox, prfKeyFromBytes } from '../src/llm-watermark/philox.js';
import { deriveTextKey, parameterSet, parameterSetId } from '../src/llm-watermark/scheme.js';
import { greenCount } from '../src/llm-watermark/score.js';
import { distinctTuples } from '../src/llm-watermark/tuples.js';
import { body as acceptanceBody, EULA_TEXT } from './acceptances.js';
import { freshDatabase, report, startService } from './common.js';

const TUPLES = 2_000_000;
const SUBJECTS = 1_000;
const SUSPECT_TOKENS = 100_000;
const LOAD_SECONDS = Number(process.env.BENCH_LLM_SECONDS ?? 5);
const CONNECTIONS = 8;
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
  const s = timed(() => greenCount(key, params.green_threshold, h, tuples));
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
  const s = timed(() => {
    const t = distinctTuples(params.window, prompts, outputs);
    let detected = 0;
    for (const k of wmKeys) if (testKey(prfKeyFromBytes(deriveTextKey(k, id)), params, t, DEFAULT_ALPHA, SUBJECTS).decision === 'detected') detected++;
    return { n: t.n, detected, tuples: t.tuples };
  });
  const key = prfKeyFromBytes(randomBytes(8));
  const b = timed(() => {
    let g = 0;
    for (let i = 0; i < SUBJECTS; i++) g += greenCount(key, params.green_threshold, params.window, s.value.tuples);
    return g;
  });
  report('llm.screen.1000_subjects_100k_tokens', s.wall, 's', { baseline: b.wall, ratio: s.wall / b.wall, target: '<=30' });
  report('llm.screen.cpu', s.cpu, 's');
  if (s.value.detected !== 0) console.log(`# warning: ${s.value.detected} random subjects detected on random text`);
}

async function load(url: string, token: string, path: string, body: string, seconds: number): Promise<{ rps: number; cpuMs: number; failed: number }> {
  const end = performance.now() + seconds * 1000;
  let ok = 0, failed = 0;
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < end) {
      const r = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
      await r.arrayBuffer();
      if (r.status === 200) ok++;
      else failed++;
    }
  }));
  const c = process.cpuUsage(c0);
  return { rps: ok / seconds, cpuMs: (c.user + c.system) / 1000 / Math.max(ok, 1), failed };
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
    await load(svc.baseUrl, gateway, '/v1/llm-watermark/keys', keysBody, 1); // warm up (fills the cache)
    await load(svc.baseUrl, gateway, '/v1/watermark/decide', decideBody, 1);
    const k = await load(svc.baseUrl, gateway, '/v1/llm-watermark/keys', keysBody, LOAD_SECONDS);
    const d = await load(svc.baseUrl, gateway, '/v1/watermark/decide', decideBody, LOAD_SECONDS);
    if (k.failed || d.failed) console.log(`# warning: failed requests: keys ${k.failed}, decide ${d.failed}`);
    report('llm.keys.requests_per_second', k.rps, 'req/s (100 subjects each)', { baseline: d.rps, ratio: k.rps / d.rps });
    report('llm.keys.cpu_per_request', k.cpuMs, 'ms', { baseline: d.cpuMs, ratio: k.cpuMs / d.cpuMs });
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
