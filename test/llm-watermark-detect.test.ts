// Detection of distilled students on a synthetic vocabulary (docs/llm-watermark-spec.md §8): a
// trigram teacher marked with subject A's key, students trained by counting its text, and the
// radioactivity test on the students' outputs. Also: the fast scoring loop against the reference
// PRF, null calibration over 1,000 keys, and what the prompt-window rule prevents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { logBinomialUpperTail } from '../src/stats/binomial.js';
import { decide, minTuplesNeeded, powerTable, testKey, tuplesNeeded } from '../src/llm-watermark/detect.js';
import { prfKeyFromBytes } from '../src/llm-watermark/philox.js';
import { deriveTextKey, GreenList, nullGreenRate, parameterSet, parameterSetId } from '../src/llm-watermark/scheme.js';
import { greenCount, greenCountPrepared, greenCountPreparedJs, prepareTuples } from '../src/llm-watermark/score.js';
import { SCORE_WASM_BASE64 } from '../src/llm-watermark/score-wasm.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { distinctTuples } from '../src/llm-watermark/tuples.js';
import { randomPrompts, rng, Student, teacherSample, teacherWorld } from './helpers/llm-sim.js';

const VOCAB = 100;
const params = parameterSet({ tokenizer: { name: 'synthetic', revision: '1' }, vocab_size: VOCAB });
const pid = parameterSetId(params);
const p0 = nullGreenRate(params);
const keyOf = (name: string): Buffer => deriveTextKey(createHash('sha256').update(`watermark key of ${name}`).digest(), pid);
const KEY_A = keyOf('A'), KEY_B = keyOf('B');
const greenA = new GreenList(KEY_A, params);

const world = teacherWorld(VOCAB, 10, 1);
const trainPrompts = randomPrompts(VOCAB, 600, 2, 2);
const markedText = teacherSample(world, trainPrompts, 500, 3, { green: greenA, delta: params.delta });
const cleanText = teacherSample(world, trainPrompts, 500, 4);
const queryPrompts = randomPrompts(VOCAB, 100, 2, 5); // 100 x 500 = 50,000 suspect tokens
const studentA = new Student(VOCAB).train(markedText);
const studentClean = new Student(VOCAB).train(cleanText);
const outA = studentA.generate(queryPrompts, 500, 6);
const outClean = studentClean.generate(queryPrompts, 500, 7);

const run = (key: Buffer, prompts: number[][], outputs: number[][], screened = 1, opts = {}) =>
  testKey(prfKeyFromBytes(key), params, distinctTuples(params.window, prompts, outputs, opts), 1e-9, screened);

test('the fast scoring loop counts exactly the green tuples of the reference PRF', () => {
  const r = rng(9);
  for (const h of [1, 2, 4, 5, 9]) {
    const tuples = Uint32Array.from({ length: 300 * (h + 1) }, () => Math.floor(r() * 2 ** 24));
    const g = new GreenList(KEY_A, { green_threshold: params.green_threshold, window: h });
    let want = 0;
    for (let at = 0; at < tuples.length; at += h + 1) if (g.isGreenAt(tuples, at, tuples[at + h]!)) want++;
    assert.equal(greenCount(g.key, params.green_threshold, h, tuples), want, `h = ${h}`);
  }
});

test('prepared once, scored per key: windows shared by many tuples (grouped) give the reference count under every key', () => {
  const r = rng(10);
  for (const h of [1, 2, 3, 4, 6]) {
    // A 5-token alphabet for the windows: few distinct windows, each with many tokens after it.
    const tuples = new Uint32Array(2000 * (h + 1));
    for (let at = 0; at < tuples.length; at += h + 1) {
      for (let i = 0; i < h; i++) tuples[at + i] = Math.floor(r() * 5);
      tuples[at + h] = Math.floor(r() * 2 ** 24);
    }
    const prepared = prepareTuples(h, tuples);
    assert.equal(prepared.n, 2000);
    assert.ok(prepared.windows <= 5 ** h && prepared.windows < 2000, `h = ${h}: ${prepared.windows} windows`);
    for (const name of ['A', 'B', 'C']) {
      const g = new GreenList(keyOf(name), { green_threshold: params.green_threshold, window: h });
      let want = 0;
      for (let at = 0; at < tuples.length; at += h + 1) if (g.isGreenAt(tuples, at, tuples[at + h]!)) want++;
      // WebAssembly for h <= 4, JavaScript beyond; and the JavaScript kernel for every h.
      assert.equal(greenCountPrepared(g.key, params.green_threshold, prepared), want, `h = ${h}, key ${name}`);
      assert.equal(greenCountPreparedJs(g.key, params.green_threshold, prepared), want, `h = ${h}, key ${name} (JavaScript)`);
    }
    if (h <= 4) assert.ok(prepared.wasm, 'windows of up to 4 tokens are scored in WebAssembly');
  }
  // Random windows (each its own group), all 2^24 token ids, thresholds of other gammas.
  for (const T of [1677721, 8388608, 16777215]) {
    const tuples = Uint32Array.from({ length: 3000 * 3 }, () => Math.floor(r() * 2 ** 24));
    const g = new GreenList(KEY_B, { green_threshold: T, window: 2 });
    let want = 0;
    for (let at = 0; at < tuples.length; at += 3) if (g.isGreenAt(tuples, at, tuples[at + 2]!)) want++;
    assert.equal(greenCountPrepared(g.key, T, prepareTuples(2, tuples)), want, `T = ${T}`);
  }
  assert.equal(greenCountPrepared(prfKeyFromBytes(KEY_A), params.green_threshold, prepareTuples(2, new Uint32Array(0))), 0);
});

test('the WebAssembly kernel\'s committed bytes are what wabt assembles from score.wat', async () => {
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'scripts', 'build-score-wasm.mjs'))) root = dirname(root);
  const { assembleScoreWasm } = await import(pathToFileURL(join(root, 'scripts', 'build-score-wasm.mjs')).href) as { assembleScoreWasm: (wat: string) => Promise<Buffer> };
  const bytes = await assembleScoreWasm(readFileSync(join(root, 'src', 'llm-watermark', 'score.wat'), 'utf8'));
  assert.equal(bytes.toString('base64'), SCORE_WASM_BASE64, 'rebuild with node scripts/build-score-wasm.mjs');
});

test('distinct tuples: repeats are scored once, prompt windows are dropped, short outputs give none', () => {
  const t = distinctTuples(2, [[1, 2], [7, 7, 7]], [[3, 1, 2, 3, 1, 2, 3], [7, 7]]);
  // x = 1 2 | 3 1 2 3 1 2 3: windows (1,2)->3 twice and (1,2) is a prompt window; (2,3)->1 twice, (3,1)->2 twice.
  // x = 7 7 7 | 7 7: window (7,7) is in a prompt: both dropped.
  assert.equal(t.positions, 9);
  assert.equal(t.promptWindowDropped, 3 + 2);
  assert.equal(t.n, 2);
  assert.equal(t.duplicatesDropped, 2);
  assert.deepEqual([...t.tuples], [2, 3, 1, 3, 1, 2]);
  assert.equal(distinctTuples(4, [[]], [[1, 2, 3]]).n, 0);
  assert.equal(distinctTuples(2, [[5]], [[6, 8]]).n, 1, 'a window may span the prompt and the output');
});

test('a student distilled from A\'s marked answers is detected for A at p < 1e-9 within 50,000 tokens, and for nobody else', (t) => {
  const a = run(KEY_A, queryPrompts, outA, 2);
  const b = run(KEY_B, queryPrompts, outA, 2);
  const cleanA = run(KEY_A, queryPrompts, outClean, 1);
  t.diagnostic(`student of A, key A: n = ${a.n}, green rate ${a.greenRate.toFixed(3)}, log10 p = ${a.log10P.toFixed(1)}; key B: ${b.greenRate.toFixed(3)}, log10 p = ${b.log10P.toFixed(2)}; clean student, key A: ${cleanA.greenRate.toFixed(3)}, log10 p = ${cleanA.log10P.toFixed(2)}`);
  assert.equal(outA.flat().length, 50_000);
  assert.equal(a.decision, 'detected');
  assert.ok(a.pAdjusted < 1e-9);
  assert.equal(b.decision, 'not_detected');
  assert.equal(cleanA.decision, 'not_detected');
  assert.ok(b.log10P > -3 && cleanA.log10P > -3, 'the wrong key and the clean student look like chance');
});

test('power curve: a student trained on 10% marked / 90% clean text, p-value against suspect tokens', (t) => {
  const mixed = new Student(VOCAB).train([...markedText.slice(0, 60), ...cleanText.slice(60)]);
  const prompts = randomPrompts(VOCAB, 400, 2, 11);
  const out = mixed.generate(prompts, 500, 12);
  const curve: string[] = [];
  const logs: number[] = [];
  for (const k of [10, 25, 50, 100, 200, 400]) {
    const r = run(KEY_A, prompts.slice(0, k), out.slice(0, k));
    curve.push(`${k * 500} tokens: n = ${r.n}, green ${r.greenRate.toFixed(4)}, log10 p = ${r.log10P.toFixed(2)}`);
    logs.push(r.log10P);
  }
  t.diagnostic(`10% marked student, key A:\n${curve.join('\n')}`);
  // Reported, not tuned to a threshold: the only claim is that 40 times the tokens give stronger evidence.
  assert.ok(logs.at(-1)! < logs[0]!, `log10 p ${logs.at(-1)} at the most tokens vs ${logs[0]} at the fewest`);
});

test('null calibration: 1,000 unrelated keys at alpha = 1e-3 give a false-positive count inside the binomial band', (t) => {
  const tuples = distinctTuples(params.window, queryPrompts.slice(0, 10), outClean.slice(0, 10));
  const alpha = 1e-3;
  // The exact size of the discrete test at this n: P[g >= g*] for the smallest g* with tail <= alpha.
  let gStar = 0;
  while (logBinomialUpperTail(tuples.n, gStar, p0) > Math.log(alpha)) gStar++;
  const size = Math.exp(logBinomialUpperTail(tuples.n, gStar, p0));
  let fp = 0, below10 = 0;
  for (let i = 0; i < 1000; i++) {
    const r = testKey(prfKeyFromBytes(keyOf(`null ${i}`)), params, tuples, alpha, 1);
    if (r.decision === 'detected') fp++;
    if (r.p <= 0.1) below10++;
  }
  // Two-sided 99.9% bands of Binomial(1000, size) and of the p <= 0.1 count (its size computed the same way).
  let g10 = 0;
  while (logBinomialUpperTail(tuples.n, g10, p0) > Math.log(0.1)) g10++;
  const size10 = Math.exp(logBinomialUpperTail(tuples.n, g10, p0));
  const band = (s: number): [number, number] => {
    let lo = 0, hi = 1000;
    while (Math.exp(logBinomialUpperTail(1000, lo + 1, s)) > 0.9995) lo++;
    while (hi > 0 && Math.exp(logBinomialUpperTail(1000, hi, s)) < 0.0005) hi--;
    return [lo, hi];
  };
  const [lo, hi] = band(size), [lo10, hi10] = band(size10);
  t.diagnostic(`n = ${tuples.n}; false positives ${fp} (band ${lo}..${hi}, size ${size.toExponential(2)}); p <= 0.1: ${below10} (band ${lo10}..${hi10})`);
  assert.ok(fp >= lo && fp <= hi);
  assert.ok(below10 >= lo10 && below10 <= hi10);
});

test('the prompt-window rule removes the false positive of a suspect that repeats marked prompts', () => {
  // The investigator's prompts are A-marked teacher text; an unrelated "echo" model repeats them.
  const prompts = markedText.slice(0, 40).map((x) => x.slice(0, 200));
  const echo = prompts.map((p) => [...p]);
  const without = run(KEY_A, prompts, echo, 1, { promptRule: false });
  const withRule = run(KEY_A, prompts, echo, 1);
  assert.equal(without.decision, 'detected', 'counting prompt windows scores the prompt\'s own mark');
  assert.notEqual(withRule.decision, 'detected');
  assert.ok(withRule.n < 40 * 2, 'only the windows spanning prompt and output are left');
});

test('insufficient: fewer tuples than an all-green count needs; power table', () => {
  assert.equal(minTuplesNeeded(0.25, 1e-9, 1), 15); // 0.25^15 = 9.3e-10 <= 1e-9 < 0.25^14
  assert.equal(minTuplesNeeded(0.25, 1e-9, 1000), 20);
  const r = decide(14, 14, 0.25, 1e-9, 1);
  assert.equal(r.decision, 'insufficient');
  assert.equal(r.minTuplesNeeded, 15);
  assert.equal(decide(15, 15, 0.25, 1e-9, 1).decision, 'detected');
  assert.equal(decide(0, 0, 0.25, 1e-9, 1).decision, 'insufficient');
  const table = powerTable(0.25);
  assert.deepEqual(table.map((r) => r.green_rate), [0.26, 0.28, 0.3, 0.32, 0.34, 0.36, 0.38, 0.4]);
  for (const row of table) {
    const n = row.tuples_needed;
    assert.ok(logBinomialUpperTail(n, Math.ceil(row.green_rate * n), 0.25) < Math.log(1e-6), `${n} tuples at ${row.green_rate} reach 1e-6`);
  }
  for (let i = 1; i < table.length; i++) assert.ok(table[i]!.tuples_needed < table[i - 1]!.tuples_needed);
  assert.equal(tuplesNeeded(0.25, 0.4), table.at(-1)!.tuples_needed);
});
