// End-to-end simulation: a subject extracts the owner's model through the watermarking gateway;
// the stolen copy is detected, independent models and other subjects' keys are not, and the
// false-positive rate under the null stays within alpha.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { logBinomialUpperTail } from '../src/stats/binomial.js';
import { DEFAULT_RATE, WatermarkDecider, rateToThreshold, swapProbabilities } from '../src/watermark/decide.js';
import { verifyWatermark, type VerifySample } from '../src/watermark/verify.js';

const K = 10;
const sha256 = (s: string | Uint8Array): Buffer => createHash('sha256').update(s).digest();
/** A deterministic uniform in [0, 1) tied to a digest and a purpose. */
const unit = (tag: string, dg: Buffer): number => sha256(Buffer.concat([Buffer.from(tag), dg])).readUInt32BE(0) / 2 ** 32;

// The owner's model: any deterministic labelling of inputs.
const ownerLabel = (dg: Buffer): number => (dg[0] as number) % K;
/** Owner's probability vector: 0.55 on the owner label, the rest spread by the input. */
function ownerProbs(dg: Buffer): number[] {
  const rest = Array.from({ length: K }, (_, i) => 1 + (dg[i + 1] as number));
  rest[ownerLabel(dg)] = 0;
  const sum = rest.reduce((a, b) => a + b, 0);
  return rest.map((r, i) => (i === ownerLabel(dg) ? 0.55 : (0.45 * r) / sum));
}
// An independent model: agrees with the owner 90% of the time, otherwise its own different label.
const independentLabel = (dg: Buffer): number =>
  unit('independent', dg) < 0.9 ? ownerLabel(dg) : (ownerLabel(dg) + 1 + Math.floor(unit('independent-alt', dg) * (K - 1))) % K;

const QUERIES = 20_000;
const threshold = rateToThreshold(DEFAULT_RATE);
const keyA = sha256('subject A key');
const keyB = sha256('subject B key');
const queries = Array.from({ length: QUERIES }, (_, i) => sha256(`subject A query ${i}`));

// What subject A received from the gateway: labels, and (for a second API) probability vectors.
const gatewayA = new WatermarkDecider(keyA, threshold);
const servedLabel = new Map<string, number>();
const servedTop = new Map<string, number>();
let markedForA = 0;
for (const dg of queries) {
  const y = ownerLabel(dg);
  const d = gatewayA.decide(dg, y, K);
  if (d.watermarked) markedForA++;
  servedLabel.set(dg.toString('hex'), d.label);
  const probs = swapProbabilities(ownerProbs(dg), y, d.label);
  servedTop.set(dg.toString('hex'), probs.indexOf(Math.max(...probs)));
}

// The stolen model reproduces what A received, imperfectly (85% fidelity, else a random label).
const stolenLabel = (dg: Buffer): number =>
  unit('stolen', dg) < 0.85 ? (servedLabel.get(dg.toString('hex')) ?? ownerLabel(dg)) : Math.floor(unit('stolen-noise', dg) * K);
const stolenFromProbs = (dg: Buffer): number => servedTop.get(dg.toString('hex')) ?? ownerLabel(dg);

/** Small seeded PRNG (mulberry32) for the null suspects' labels: independent of every key. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

function samplesFor(inputs: readonly Buffer[], suspect: (dg: Buffer) => number): VerifySample[] {
  return inputs.map((dg) => ({ inputDigest: dg.toString('hex'), ownerLabel: ownerLabel(dg), suspectLabel: suspect(dg), numClasses: K }));
}

test('a stolen copy of what subject A received is detected with A\'s key', () => {
  assert.ok(markedForA >= 70 && markedForA <= 130, `marked ${markedForA} of ${QUERIES}`);
  const r = verifyWatermark({ key: keyA, threshold, samples: samplesFor(queries, stolenLabel) });
  assert.equal(r.n, markedForA);
  assert.equal(r.decision, 'detected');
  assert.ok(r.p < 1e-9 && r.m >= 0.7 * r.n, `n=${r.n} m=${r.m} p=${r.p}`);
  // Still detected after screening against a million subjects.
  const screened = verifyWatermark({ key: keyA, threshold, samples: samplesFor(queries, stolenLabel), subjectsScreened: 1_000_000 });
  assert.equal(screened.decision, 'detected');
  assert.ok(screened.log10PAdjusted < -9);
  // Extraction through probability vectors (argmax of the swapped vectors) is detected too.
  const viaProbs = verifyWatermark({ key: keyA, threshold, samples: samplesFor(queries, stolenFromProbs) });
  assert.equal(viaProbs.decision, 'detected');
  assert.equal(viaProbs.m, viaProbs.n);
});

test('an independent model is not detected', () => {
  const r = verifyWatermark({ key: keyA, threshold, samples: samplesFor(queries, independentLabel) });
  assert.ok(r.n >= 70);
  assert.equal(r.decision, 'not_detected');
  assert.ok(r.p > 1e-3, `m=${r.m} of n=${r.n}, p=${r.p}`);
});

test('the stolen model is not detected with another subject\'s key', () => {
  const r = verifyWatermark({ key: keyB, threshold, samples: samplesFor(queries, stolenLabel) });
  assert.ok(r.n >= 70);
  assert.equal(r.decision, 'not_detected');
  assert.ok(r.p > 1e-3, `m=${r.m} of n=${r.n}, p=${r.p}`);
  // And B's own queries against the stolen model: B's answers were never copied.
  const queriesB = Array.from({ length: QUERIES }, (_, i) => sha256(`subject B query ${i}`));
  assert.equal(verifyWatermark({ key: keyB, threshold, samples: samplesFor(queriesB, stolenLabel) }).decision, 'not_detected');
});

test('false positives over 1,000 null trials stay within alpha = 1e-3', () => {
  // Worst-case null: the suspect never agrees with the owner and picks uniformly among the other
  // k-1 labels, independently of the key, so each marked answer matches with probability exactly
  // 1/(k-1) = p0. A higher rate (half of 100 inputs, n ≈ 50) gives the test enough resolution.
  const alpha = 1e-3;
  const trials = 1000;
  const t = rateToThreshold('0.5');
  const inputs = Array.from({ length: 100 }, (_, i) => sha256(`null input ${i}`));
  const pValues: number[] = [];
  let detected = 0;
  let insufficient = 0;
  for (let trial = 0; trial < trials; trial++) {
    const key = sha256(`null key ${trial}`);
    const rnd = mulberry32(trial);
    const samples = samplesFor(inputs, (dg) => (ownerLabel(dg) + 1 + Math.floor(rnd() * (K - 1))) % K);
    const r = verifyWatermark({ key, threshold: t, samples, alpha });
    pValues.push(r.p);
    if (r.decision === 'detected') detected++;
    if (r.decision === 'insufficient') insufficient++;
  }
  assert.equal(insufficient, 0);
  // Bound: the largest count c with P[Binomial(1000, alpha) >= c] >= 1e-4 (the test is discrete
  // and conservative, so 0 is the common outcome).
  let bound = 0;
  while (logBinomialUpperTail(trials, bound + 1, alpha) >= Math.log(1e-4)) bound++;
  assert.ok(detected <= bound, `${detected} false positives, bound ${bound}`);
  // The p-values are (conservatively) calibrated: P[p <= x] <= x, up to sampling error.
  for (const x of [0.01, 0.05, 0.1, 0.25, 0.5]) {
    const frac = pValues.filter((p) => p <= x).length / trials;
    assert.ok(frac <= x + 4 * Math.sqrt((x * (1 - x)) / trials), `P[p <= ${x}] = ${frac}`);
  }
});
