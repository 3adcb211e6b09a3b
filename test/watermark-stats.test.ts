// Binomial tails (against exact big-rational sums) and the per-subject verification statistic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  binomialUpperTail,
  logBinomialPmf,
  logBinomialUpperTail,
  logGamma,
  logSumOfBinomialsUpperTail,
} from '../src/stats/binomial.js';
import { TWO_POW_64, WatermarkError, decide, rateToThreshold, type WatermarkErrorCode } from '../src/watermark/decide.js';
import {
  DEFAULT_ALPHA,
  minMarkedSamplesNeeded,
  samplesDigest,
  verifyWatermark,
  type VerifySample,
} from '../src/watermark/verify.js';

// ---- helpers ---------------------------------------------------------------------------------

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();
const LN_1E9 = Math.log(1e-9);

/** ln of a positive BigInt, exact to double precision. */
function bigLn(x: bigint): number {
  const bits = x.toString(2).length;
  const shift = Math.max(0, bits - 60);
  return Math.log(Number(x >> BigInt(shift))) + shift * Math.LN2;
}

/**
 * Exact ln P[X_1 + ... >= m] for X_i ~ Bin(n_i, 1/d_i), from the polynomial
 * Π ((d_i - 1) + x)^n_i / Π d_i^n_i with BigInt coefficients.
 */
function exactLogTail(groups: readonly { n: number; d: number }[], m: number): number {
  let poly: bigint[] = [1n];
  let den = 1n;
  for (const { n, d } of groups) {
    for (let i = 0; i < n; i++) {
      const next = new Array<bigint>(poly.length + 1).fill(0n);
      poly.forEach((c, j) => {
        next[j] = (next[j] as bigint) + c * BigInt(d - 1);
        next[j + 1] = (next[j + 1] as bigint) + c;
      });
      poly = next;
    }
    den *= BigInt(d) ** BigInt(n);
  }
  const num = poly.slice(Math.max(0, m)).reduce((a, b) => a + b, 0n);
  return num === 0n ? -Infinity : bigLn(num) - bigLn(den);
}

function throwsCode(fn: () => unknown, code: WatermarkErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof WatermarkError && e.code === code);
}

// ---- log-gamma and binomial tails --------------------------------------------------------------

test('logGamma matches high-precision values', () => {
  const known: [number, number][] = [
    [0.5, 0.57236494292470008707],
    [1, 0],
    [2, 0],
    [3, 0.69314718055994530942],
    [10, 12.801827480081469611],
    [14.5, 23.862765841689084906],
    [15, 25.1912211827386815],
    [15.5, 26.536914491115613624],
    [100, 359.13420536957539878],
    [1000.5, 5908.6741758486774887],
    [123456.75, 1323901.5615730142338],
    [1000001, 12815518.384658169624],
  ];
  for (const [x, want] of known) {
    const got = logGamma(x);
    assert.ok(Math.abs(got - want) <= 1e-13 * Math.max(1, Math.abs(want)), `lgamma(${x}) = ${got}, want ${want}`);
  }
  assert.throws(() => logGamma(0), RangeError);
});

test('logBinomialUpperTail matches exact big-rational sums (relative error < 1e-9)', () => {
  const cases: [number, number, number][] = [
    // [n, m, d] with p0 = 1/d
    [100, 35, 9],
    [100, 34, 9],
    [1000, 300, 9],
    [20, 0, 9],
    [10, 10, 9],
    [100, 1, 9],
    [100, 11, 9],
    [100, 12, 9],
    [1000, 111, 9],
    [1000, 100, 9],
    [1000, 1000, 9],
    [200, 150, 4],
    [500, 250, 2],
    [500, 251, 2],
    [500, 499, 2],
    [50, 23, 9],
    [25, 16, 9],
    [300, 3, 99],
  ];
  for (const [n, m, d] of cases) {
    const want = exactLogTail([{ n, d }], m);
    const got = logBinomialUpperTail(n, m, 1 / d);
    assert.ok(Math.abs(got - want) < 1e-9, `n=${n} m=${m} p0=1/${d}: ${got} vs exact ${want}`);
  }
  assert.equal(logBinomialUpperTail(20, 0, 1 / 9), 0);
  assert.equal(binomialUpperTail(20, 0, 1 / 9), 1);
});

test('known decision boundaries for k = 10 (p0 = 1/9) at alpha = 1e-9', () => {
  for (const [n, boundary] of [
    [100, 35],
    [50, 23],
    [25, 16],
  ] as const) {
    assert.ok(logBinomialUpperTail(n, boundary, 1 / 9) < LN_1E9, `n=${n} m=${boundary} should be < 1e-9`);
    assert.ok(!(logBinomialUpperTail(n, boundary - 1, 1 / 9) < LN_1E9), `n=${n} m=${boundary - 1} should not`);
  }
  assert.ok(Math.abs(binomialUpperTail(100, 35, 1 / 9) / 2.664684249990272e-10 - 1) < 1e-9);
});

test('no underflow at n = 10^6, and fast', () => {
  const start = performance.now();
  const n = 1_000_000;
  const p0 = 1 / 9;
  const lp = logBinomialUpperTail(n, 500_000, p0);
  assert.ok(Number.isFinite(lp) && lp < -400_000, `ln p = ${lp}`);
  assert.equal(binomialUpperTail(n, 500_000, p0), 0); // the plain double does underflow
  // Terms decrease from m with ratio <= r, so pmf(m) <= P <= pmf(m) / (1 - r).
  const first = logBinomialPmf(n, 500_000, p0);
  const r = (500_000 / 500_001) * (p0 / (1 - p0));
  assert.ok(lp >= first && lp <= first - Math.log1p(-r) + 1e-9);
  // Around the mean (n·p0 ≈ 111111), where many terms are summed.
  for (const m of [100_000, 111_000, 111_111, 112_000, 113_000]) {
    const v = logBinomialUpperTail(n, m, p0);
    assert.ok(Number.isFinite(v) && v <= 0);
  }
  assert.ok(logBinomialUpperTail(n, 111_000, p0) > logBinomialUpperTail(n, 111_111, p0));
  assert.equal(logBinomialUpperTail(n, n, p0), n * Math.log(p0));
  assert.ok(performance.now() - start < 1000);
});

test('binomial tail edge cases', () => {
  assert.equal(logBinomialUpperTail(10, 11, 0.5), -Infinity);
  assert.equal(logBinomialUpperTail(10, -3, 0.5), 0);
  assert.equal(logBinomialUpperTail(10, 1, 0), -Infinity);
  assert.equal(logBinomialUpperTail(10, 10, 1), 0);
  assert.equal(logBinomialUpperTail(0, 0, 0.3), 0);
  let total = 0;
  for (let j = 0; j <= 50; j++) total += Math.exp(logBinomialPmf(50, j, 0.3));
  assert.ok(Math.abs(total - 1) < 1e-13);
  assert.throws(() => logBinomialUpperTail(10.5, 3, 0.5), RangeError);
  assert.throws(() => logBinomialUpperTail(10, 3, 1.5), RangeError);
  assert.throws(() => logBinomialUpperTail(-1, 0, 0.5), RangeError);
});

test('sum-of-binomials (Poisson-binomial) tail matches exact polynomial sums', () => {
  const cases: [{ n: number; d: number }[], number[]][] = [
    [[{ n: 30, d: 9 }, { n: 40, d: 4 }], [0, 1, 5, 12, 20, 35, 60, 70]],
    [[{ n: 20, d: 2 }, { n: 5, d: 9 }, { n: 12, d: 99 }], [0, 3, 10, 20, 30, 37]],
    [[{ n: 60, d: 9 }, { n: 3, d: 9 }], [7, 20, 63]],
  ];
  for (const [groups, ms] of cases) {
    for (const m of ms) {
      const want = exactLogTail(groups, m);
      const got = logSumOfBinomialsUpperTail(groups.map((g) => ({ n: g.n, p0: 1 / g.d })), m);
      assert.ok(Math.abs(got - want) < 1e-9, `${JSON.stringify(groups)} m=${m}: ${got} vs ${want}`);
    }
  }
  // Equal p0 collapses to one binomial; degenerate groups.
  const same = logSumOfBinomialsUpperTail([{ n: 30, p0: 1 / 9 }, { n: 70, p0: 1 / 9 }], 35);
  assert.ok(Math.abs(same - logBinomialUpperTail(100, 35, 1 / 9)) < 1e-9);
  assert.equal(logSumOfBinomialsUpperTail([{ n: 5, p0: 1 }, { n: 10, p0: 0 }], 5), 0);
  assert.equal(logSumOfBinomialsUpperTail([{ n: 5, p0: 1 }, { n: 10, p0: 0 }], 6), -Infinity);
  assert.equal(logSumOfBinomialsUpperTail([], 0), 0);
});

// ---- verification statistic ---------------------------------------------------------------------

const KEY = sha256('verify key');
const ALL = TWO_POW_64; // every input marked: n = number of samples

/** `count` samples with k classes; the first `matches` answer with the watermark label. */
function samples(count: number, k: number, matches: number, tag = 's'): VerifySample[] {
  return Array.from({ length: count }, (_, i) => {
    const dg = sha256(`${tag} ${k} ${i}`);
    const owner = i % k;
    const wm = decide(KEY, dg, owner, k, ALL).label;
    return { inputDigest: dg.toString('hex'), ownerLabel: owner, suspectLabel: i < matches ? wm : owner, numClasses: k };
  });
}

test('verify: k = 10 boundaries and the reported statistic', () => {
  const hit = verifyWatermark({ key: KEY, threshold: ALL, samples: samples(100, 10, 35) });
  assert.equal(hit.decision, 'detected');
  assert.equal(hit.n, 100);
  assert.equal(hit.m, 35);
  assert.equal(hit.numClasses, 10);
  assert.equal(hit.p0, 1 / 9);
  assert.equal(hit.method, 'binomial');
  assert.equal(hit.alpha, DEFAULT_ALPHA);
  assert.equal(hit.subjectsScreened, 1);
  assert.equal(hit.samplesSubmitted, 100);
  assert.equal(hit.samplesMarked, 100);
  assert.equal(hit.duplicatesDropped, 0);
  assert.equal(hit.threshold, TWO_POW_64.toString());
  assert.equal(hit.rate, 1);
  assert.ok(Math.abs(hit.p / 2.664684249990272e-10 - 1) < 1e-9);
  assert.ok(Math.abs(hit.log10P - Math.log10(2.664684249990272e-10)) < 1e-9);
  assert.equal(hit.pAdjusted, hit.p);
  assert.equal(hit.minMarkedSamplesNeeded, 10);
  assert.deepEqual(hit.groups, [{ numClasses: 10, p0: 1 / 9, n: 100, m: 35 }]);
  assert.doesNotThrow(() => JSON.stringify(hit));

  for (const [n, boundary] of [
    [100, 35],
    [50, 23],
    [25, 16],
  ] as const) {
    assert.equal(verifyWatermark({ key: KEY, threshold: ALL, samples: samples(n, 10, boundary) }).decision, 'detected');
    assert.equal(verifyWatermark({ key: KEY, threshold: ALL, samples: samples(n, 10, boundary - 1) }).decision, 'not_detected');
  }
});

test('verify: Bonferroni correction over subjects screened', () => {
  const s = samples(100, 10, 35);
  const one = verifyWatermark({ key: KEY, threshold: ALL, samples: s });
  const many = verifyWatermark({ key: KEY, threshold: ALL, samples: s, subjectsScreened: 1000 });
  assert.ok(Math.abs(many.pAdjusted / (1000 * one.p) - 1) < 1e-12);
  assert.ok(Math.abs(many.log10PAdjusted - (3 + one.log10P)) < 1e-12);
  assert.equal(many.decision, 'not_detected'); // 2.7e-7 is not < 1e-9
  const none = verifyWatermark({ key: KEY, threshold: ALL, samples: samples(100, 10, 0), subjectsScreened: 10 });
  assert.equal(none.pAdjusted, 1); // min(1, N·p)
  assert.equal(none.log10PAdjusted, 0);
  assert.equal(none.decision, 'not_detected');
  const strong = verifyWatermark({ key: KEY, threshold: ALL, samples: samples(100, 10, 100), subjectsScreened: 1e6 });
  assert.equal(strong.decision, 'detected');
  assert.ok(Math.abs(strong.log10P + 100 * Math.log10(9)) < 1e-9); // m = n: p = p0^n
  assert.ok(Math.abs(strong.log10PAdjusted - (6 + strong.log10P)) < 1e-9);
});

test('verify: duplicates are dropped (first kept) and the samples digest covers the submission', () => {
  const base = samples(40, 10, 40);
  const first = base[0] as VerifySample;
  const dupe = { ...first, suspectLabel: first.ownerLabel }; // a later, non-matching copy
  const withDupes = [...base, dupe, base[1] as VerifySample, base[1] as VerifySample];
  const r = verifyWatermark({ key: KEY, threshold: ALL, samples: withDupes });
  assert.equal(r.samplesSubmitted, 43);
  assert.equal(r.duplicatesDropped, 3);
  assert.equal(r.samplesUnique, 40);
  assert.equal(r.n, 40);
  assert.equal(r.m, 40);
  assert.equal(r.samplesDigest, samplesDigest(withDupes));
  assert.notEqual(r.samplesDigest, samplesDigest(base));
  const manual = createHash('sha256')
    .update('assentmark/wm-samples/v1\n' + withDupes.map((s) => `${s.inputDigest}:${s.ownerLabel}:${s.suspectLabel}:${s.numClasses}\n`).join(''))
    .digest('hex');
  assert.equal(r.samplesDigest, manual);
});

test('verify: samples digest vector (Python reference)', () => {
  const rel = join('test', 'vectors', 'watermark.json');
  let file = resolve(process.cwd(), rel);
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, rel))) {
      file = join(dir, rel);
      break;
    }
  }
  const v = JSON.parse(readFileSync(file, 'utf8')) as { samplesDigest: { samples: VerifySample[]; samplesDigest: string } };
  assert.equal(samplesDigest(v.samplesDigest.samples), v.samplesDigest.samplesDigest);
});

test('verify: insufficient marked samples', () => {
  assert.equal(minMarkedSamplesNeeded(-Math.log(9), 1e-9, 1), 10); // 9^-10 = 2.9e-10
  assert.equal(minMarkedSamplesNeeded(-Math.log(9), 1e-9, 1e6), 16);
  assert.equal(minMarkedSamplesNeeded(-Math.log(2), 1e-9, 1), 30); // k = 3
  assert.equal(minMarkedSamplesNeeded(-Math.log(9), 1e-3, 1), 4);

  const nine = verifyWatermark({ key: KEY, threshold: ALL, samples: samples(9, 10, 9) });
  assert.equal(nine.decision, 'insufficient');
  assert.equal(nine.minMarkedSamplesNeeded, 10);
  assert.ok(nine.p < 1e-8); // reported, but not decided on
  assert.equal(verifyWatermark({ key: KEY, threshold: ALL, samples: samples(10, 10, 10) }).decision, 'detected');
  const screened = verifyWatermark({ key: KEY, threshold: ALL, samples: samples(15, 10, 15), subjectsScreened: 1e6 });
  assert.equal(screened.decision, 'insufficient');
  assert.equal(screened.minMarkedSamplesNeeded, 16);

  // No marked samples at all (rate 0).
  const zero = verifyWatermark({ key: KEY, threshold: 0n, samples: samples(50, 10, 0) });
  assert.equal(zero.decision, 'insufficient');
  assert.equal(zero.n, 0);
  assert.equal(zero.p, 1);
  assert.equal(zero.minMarkedSamplesNeeded, 10);
});

test('verify: mixed numbers of classes use the exact sum-of-binomials tail', () => {
  const mixed = [...samples(30, 10, 12, 'a'), ...samples(40, 5, 15, 'b')];
  const r = verifyWatermark({ key: KEY, threshold: ALL, samples: mixed });
  assert.equal(r.method, 'sum_of_binomials');
  assert.equal(r.numClasses, null);
  assert.equal(r.p0, null);
  assert.deepEqual(r.groups, [
    { numClasses: 5, p0: 1 / 4, n: 40, m: 15 },
    { numClasses: 10, p0: 1 / 9, n: 30, m: 12 },
  ]);
  const want = exactLogTail([{ n: 30, d: 9 }, { n: 40, d: 4 }], 27);
  assert.ok(Math.abs(r.log10P * Math.LN10 - want) < 1e-9);
  // Insufficient rule uses the product of p0 over the marked samples: 9^-3 · 4^-6 = 3.4e-7.
  const few = verifyWatermark({ key: KEY, threshold: ALL, samples: [...samples(3, 10, 3, 'c'), ...samples(6, 5, 6, 'd')] });
  assert.equal(few.decision, 'insufficient');
  const enough = verifyWatermark({ key: KEY, threshold: ALL, samples: [...samples(8, 10, 8, 'e'), ...samples(6, 5, 6, 'f')] });
  assert.equal(enough.decision, 'detected'); // 9^-8 · 4^-6 = 5.7e-12
});

test('verify: refuses k = 2, and rejects malformed input', () => {
  const good = samples(20, 10, 0);
  const g0 = good[0] as VerifySample;
  const run = (s: VerifySample[], extra: { alpha?: number; subjectsScreened?: number } = {}): unknown =>
    verifyWatermark({ key: KEY, threshold: ALL, samples: s, ...extra });

  throwsCode(() => run(samples(20, 2, 0)), 'two_class_unsupported');
  throwsCode(() => run([...good, ...samples(3, 2, 0)]), 'two_class_unsupported');
  throwsCode(() => run([]), 'no_samples');
  throwsCode(() => run([{ ...g0, numClasses: 1 }]), 'invalid_num_classes');
  throwsCode(() => run([{ ...g0, numClasses: 0 }]), 'invalid_num_classes');
  throwsCode(() => run([{ ...g0, numClasses: 10.5 }]), 'invalid_num_classes');
  throwsCode(() => run([{ ...g0, ownerLabel: 10 }]), 'label_out_of_range');
  throwsCode(() => run([{ ...g0, ownerLabel: -1 }]), 'label_out_of_range');
  throwsCode(() => run([{ ...g0, suspectLabel: 10 }]), 'label_out_of_range');
  throwsCode(() => run([{ ...g0, suspectLabel: 0.5 }]), 'label_out_of_range');
  throwsCode(() => run([{ ...g0, inputDigest: g0.inputDigest.toUpperCase() }]), 'invalid_digest');
  throwsCode(() => run([{ ...g0, inputDigest: g0.inputDigest.slice(2) }]), 'invalid_digest');
  throwsCode(() => run([{ ...g0, inputDigest: `${g0.inputDigest}00` }]), 'invalid_digest');
  throwsCode(() => run([{ ...g0, inputDigest: 'zz' + g0.inputDigest.slice(2) }]), 'invalid_digest');
  throwsCode(() => run([null as unknown as VerifySample]), 'invalid_sample');
  for (const alpha of [0, 1, -0.1, Number.NaN]) throwsCode(() => run(good, { alpha }), 'invalid_alpha');
  for (const n of [0, 1.5, -1]) throwsCode(() => run(good, { subjectsScreened: n }), 'invalid_subjects_screened');
  throwsCode(() => verifyWatermark({ key: KEY.subarray(0, 31), threshold: ALL, samples: good }), 'invalid_key');
  throwsCode(() => verifyWatermark({ key: KEY, threshold: -1n, samples: good }), 'invalid_threshold');
  assert.doesNotThrow(() => verifyWatermark({ key: KEY, threshold: rateToThreshold('0.5'), samples: good }));
});
