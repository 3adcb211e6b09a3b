// Watermark decision: rate → threshold, fast path vs a BigInt reference, cross-language vectors,
// decision rate and label uniformity, probability swap, commitments, input validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DECIDE_DOMAIN,
  DEFAULT_RATE,
  TWO_POW_64,
  WatermarkDecider,
  WatermarkError,
  decide,
  decideMany,
  decideMessage,
  keyCommitment,
  mod64,
  rateToThreshold,
  swapProbabilities,
  thresholdToRate,
  type Decision,
  type WatermarkErrorCode,
} from '../src/watermark/decide.js';

// ---- helpers ---------------------------------------------------------------------------------

const sha256 = (s: string | Uint8Array): Buffer => createHash('sha256').update(s).digest();

/** Deterministic byte stream: SHA-256(seed || ":" || counter). */
function seededBytes(seed: string): (n: number) => Buffer {
  let counter = 0;
  let pool = Buffer.alloc(0);
  return (n) => {
    while (pool.length < n) pool = Buffer.concat([pool, sha256(`${seed}:${counter++}`)]);
    const out = pool.subarray(0, n);
    pool = pool.subarray(n);
    return out;
  };
}

/** The spec, written the slow obvious way with BigInt. */
function referenceDecide(key: Uint8Array, digest: Uint8Array, y: number, k: number, threshold: bigint): Decision {
  const h = createHmac('sha256', key)
    .update(Buffer.concat([Buffer.from(`${DECIDE_DOMAIN}\0`, 'ascii'), digest]))
    .digest();
  if (h.readBigUInt64BE(0) >= threshold) return { watermarked: false, label: y };
  const offset = h.readBigUInt64BE(8) % BigInt(k - 1);
  return { watermarked: true, label: Number((BigInt(y) + 1n + offset) % BigInt(k)) };
}

function u64Of(key: Uint8Array, digest: Uint8Array): bigint {
  return createHmac('sha256', key).update(decideMessage(digest)).digest().readBigUInt64BE(0);
}

function throwsCode(fn: () => unknown, code: WatermarkErrorCode): void {
  assert.throws(fn, (e: unknown) => e instanceof WatermarkError && e.code === code);
}

interface Vectors {
  rateToThreshold: { rate: string; threshold: string }[];
  decide: {
    name: string;
    key: string;
    inputDigest: string;
    label: number;
    numClasses: number;
    rate: string | null;
    threshold: string;
    watermarked: boolean;
    servedLabel: number;
  }[];
  commitments: { keyId: string; key: string; commitment: string }[];
}

/** test/vectors/watermark.json, found from the compiled test's location or the working directory. */
function loadVectors(): Vectors {
  const rel = join('test', 'vectors', 'watermark.json');
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, rel))) return JSON.parse(readFileSync(join(dir, rel), 'utf8')) as Vectors;
    if (dirname(dir) === dir) break;
  }
  return JSON.parse(readFileSync(resolve(process.cwd(), rel), 'utf8')) as Vectors;
}

// ---- rate → threshold --------------------------------------------------------------------------

test('rateToThreshold is floor(rate · 2^64) of the exact decimal', () => {
  assert.equal(rateToThreshold('0.005'), 92233720368547758n);
  assert.equal(rateToThreshold(0.005), 92233720368547758n); // not the binary double's 92233720368547760
  assert.equal(rateToThreshold(DEFAULT_RATE), 92233720368547758n);
  assert.equal(rateToThreshold(0), 0n);
  assert.equal(rateToThreshold('0.0'), 0n);
  assert.equal(rateToThreshold(1), TWO_POW_64);
  assert.equal(rateToThreshold('1.000'), TWO_POW_64);
  assert.equal(rateToThreshold(0.5), 1n << 63n);
  assert.equal(rateToThreshold(1e-7), rateToThreshold('0.0000001'));
  assert.equal(rateToThreshold('5E-3'), rateToThreshold('0.005'));
  assert.equal(rateToThreshold('0.5e0'), 1n << 63n);
  for (let i = 0; i <= 1000; i++) {
    const exact = (BigInt(i) << 64n) / 1000n;
    assert.equal(rateToThreshold(i / 1000), exact, `rate ${i}/1000`);
  }
  assert.ok(Math.abs(thresholdToRate(rateToThreshold('0.005')) - 0.005) < 1e-18);
});

test('rateToThreshold rejects rates outside [0, 1] and non-decimals', () => {
  for (const bad of [-0.1, 1.0000001, 2, Number.NaN, Infinity, -Infinity, '-0.1', '1.5', '', ' 0.5', '0x1', 'abc', '.5', '1e1', '0.5%']) {
    throwsCode(() => rateToThreshold(bad), 'invalid_rate');
  }
});

test('thresholds outside [0, 2^64] are rejected', () => {
  const key = sha256('k');
  const dg = sha256('x');
  throwsCode(() => decide(key, dg, 0, 10, -1n), 'invalid_threshold');
  throwsCode(() => decide(key, dg, 0, 10, TWO_POW_64 + 1n), 'invalid_threshold');
  throwsCode(() => new WatermarkDecider(key, -1n), 'invalid_threshold');
  // The rejected threshold must not poison the cached one.
  assert.deepEqual(decide(key, dg, 0, 10, TWO_POW_64), referenceDecide(key, dg, 0, 10, TWO_POW_64));
});

// ---- fast path vs BigInt reference ------------------------------------------------------------

test('mod64 equals BigInt (hi·2^32 + lo) mod d', () => {
  const rnd = seededBytes('mod64');
  const edges = [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];
  const divisors = [1, 2, 3, 7, 9, 10, 65535, 65536, 65537, 999, 2 ** 31 - 3, 2 ** 31 - 2, 2 ** 31 - 1, 2 ** 32 - 1, 2 ** 32];
  const check = (hi: number, lo: number, d: number): void => {
    const want = Number(((BigInt(hi) << 32n) + BigInt(lo)) % BigInt(d));
    assert.equal(mod64(hi, lo, d), want, `hi=${hi} lo=${lo} d=${d}`);
  };
  for (const hi of edges) for (const lo of edges) for (const d of divisors) check(hi, lo, d);
  for (let i = 0; i < 50_000; i++) {
    const b = rnd(12);
    const d = (b.readUInt32BE(8) % (2 ** 31 - 2)) + 1;
    check(b.readUInt32BE(0), b.readUInt32BE(4), d);
    check(b.readUInt32BE(0), b.readUInt32BE(4), divisors[i % divisors.length] as number);
  }
});

test('decide matches the BigInt reference on random inputs and edge thresholds', () => {
  const rnd = seededBytes('fast-path');
  const thresholds = [
    0n,
    1n,
    2n ** 32n - 1n,
    2n ** 32n,
    2n ** 32n + 1n,
    rateToThreshold('1e-7'),
    rateToThreshold('0.005'),
    rateToThreshold('0.5'),
    2n ** 63n + 1n,
    TWO_POW_64 - 1n,
    TWO_POW_64,
  ];
  const ks = [2, 3, 10, 100, 1000, 65537, 2 ** 31 - 2, 2 ** 31 - 1];
  let marked = 0;
  for (let i = 0; i < 20_000; i++) {
    const key = rnd(32);
    const dg = rnd(32);
    const k = i % 3 === 0 ? ((rnd(4).readUInt32BE(0) % (2 ** 31 - 3)) + 2) : (ks[i % ks.length] as number);
    const y = rnd(4).readUInt32BE(0) % k;
    // Random thresholds plus the u64 itself (not marked) and u64 + 1 (marked): exact boundary.
    const u = u64Of(key, dg);
    const random = rnd(8).readBigUInt64BE(0);
    for (const t of [thresholds[i % thresholds.length] as bigint, random, u, u + 1n]) {
      const got = decide(key, dg, y, k, t);
      assert.deepEqual(got, referenceDecide(key, dg, y, k, t), `i=${i} t=${t} k=${k}`);
      if (got.watermarked) marked++;
    }
  }
  assert.ok(marked > 20_000); // both branches were exercised heavily
});

test('WatermarkDecider and decideMany agree with decide', () => {
  const rnd = seededBytes('batch');
  const key = rnd(32);
  const t = rateToThreshold('0.3');
  const items = Array.from({ length: 2000 }, (_, i) => ({ inputDigest: rnd(32), label: i % 10, numClasses: 10 }));
  const one = items.map((it) => decide(key, it.inputDigest, it.label, it.numClasses, t));
  assert.deepEqual(decideMany(key, items, t), one);
  const decider = new WatermarkDecider(key, t);
  key.fill(0); // the decider copied the key
  assert.deepEqual(
    items.map((it) => decider.decide(it.inputDigest, it.label, it.numClasses)),
    one,
  );
});

test('decideMessage is DECIDE_DOMAIN || 0x00 || digest', () => {
  const dg = sha256('m');
  const msg = decideMessage(dg);
  assert.equal(msg.length, 23 + 1 + 32);
  assert.equal(msg.subarray(0, 23).toString('ascii'), 'assentmark/wm-decide/v1');
  assert.equal(msg[23], 0);
  assert.deepEqual(msg.subarray(24), dg);
});

// ---- cross-language vectors ---------------------------------------------------------------------

test('test vectors (generated with Python hmac/hashlib) match', () => {
  const v = loadVectors();
  assert.ok(v.decide.length >= 12);
  assert.ok(v.decide.filter((x) => x.watermarked).length >= 6);
  for (const r of v.rateToThreshold) assert.equal(rateToThreshold(r.rate), BigInt(r.threshold), `rate ${r.rate}`);
  for (const x of v.decide) {
    const t = BigInt(x.threshold);
    if (x.rate !== null) assert.equal(rateToThreshold(x.rate), t, x.name);
    const got = decide(Buffer.from(x.key, 'hex'), Buffer.from(x.inputDigest, 'hex'), x.label, x.numClasses, t);
    assert.deepEqual(got, { watermarked: x.watermarked, label: x.servedLabel }, x.name);
  }
  for (const c of v.commitments) assert.equal(keyCommitment(c.keyId, Buffer.from(c.key, 'hex')), c.commitment, c.keyId);
});

// ---- statistical behaviour ----------------------------------------------------------------------

test('decision rate is within 5 sigma of the configured rate over 200,000 inputs', () => {
  const key = sha256('rate key');
  const t = rateToThreshold(DEFAULT_RATE);
  const n = 200_000;
  const p = 0.005;
  let marked = 0;
  for (let i = 0; i < n; i++) if (decide(key, sha256(`rate input ${i}`), 0, 10, t).watermarked) marked++;
  const mean = n * p;
  const sigma = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(marked - mean) <= 5 * sigma, `marked ${marked}, expected ${mean} ± ${5 * sigma}`);
});

/** Pearson chi-square of observed counts against equal expected counts. */
function chiSquareUniform(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const e = total / counts.length;
  return counts.reduce((s, c) => s + ((c - e) * (c - e)) / e, 0);
}

test('watermark labels never equal the true label and are uniform over the others (chi-square, p = 0.001)', () => {
  const all = TWO_POW_64;
  // k = 10: a 10 × 9 table (true label × offset); each row has a known total, df = 10 · 8 = 80.
  {
    const key = sha256('uniform key 10');
    const k = 10;
    const rows = Array.from({ length: k }, () => new Array<number>(k - 1).fill(0));
    for (let i = 0; i < 90_000; i++) {
      const dg = sha256(`uniform input ${i}`);
      const y = (dg[31] as number) % k;
      const d = decide(key, dg, y, k, all);
      assert.ok(d.watermarked && d.label !== y && d.label >= 0 && d.label < k);
      const row = rows[y] as number[];
      row[(d.label - y - 1 + k) % k] = (row[(d.label - y - 1 + k) % k] as number) + 1;
    }
    const chi = rows.reduce((s, r) => s + chiSquareUniform(r), 0);
    assert.ok(chi < 124.839, `chi-square ${chi} (df 80)`);
  }
  // k = 7, offsets only: df = 5. k = 1000: df = 998.
  for (const [k, n, critical] of [
    [7, 30_000, 20.515],
    [1000, 100_000, 1141.779],
  ] as const) {
    const key = sha256(`uniform key ${k}`);
    const counts = new Array<number>(k - 1).fill(0);
    for (let i = 0; i < n; i++) {
      const y = i % k;
      const d = decide(key, sha256(`uniform ${k} input ${i}`), y, k, all);
      assert.notEqual(d.label, y);
      const off = (d.label - y - 1 + k) % k;
      counts[off] = (counts[off] as number) + 1;
    }
    const chi = chiSquareUniform(counts);
    assert.ok(chi < critical, `k=${k}: chi-square ${chi} (df ${k - 2})`);
  }
  // k = 2: the only other label.
  for (let i = 0; i < 100; i++) assert.equal(decide(sha256('k2'), sha256(`k2 ${i}`), i % 2, 2, all).label, 1 - (i % 2));
});

test('rate 0 never marks, rate 1 always marks', () => {
  const key = sha256('edges');
  for (let i = 0; i < 2000; i++) {
    const dg = sha256(`edge ${i}`);
    assert.deepEqual(decide(key, dg, 4, 10, 0n), { watermarked: false, label: 4 });
    assert.equal(decide(key, dg, 4, 10, TWO_POW_64).watermarked, true);
  }
});

// ---- probability vectors, commitments ---------------------------------------------------------

test('swapProbabilities swaps the true and watermark entries in a copy', () => {
  const probs = [0.1, 0.7, 0.05, 0.15];
  const out = swapProbabilities(probs, 1, 3);
  assert.deepEqual(out, [0.1, 0.15, 0.05, 0.7]);
  assert.deepEqual(probs, [0.1, 0.7, 0.05, 0.15]); // input untouched
  assert.deepEqual(swapProbabilities(probs, 2, 2), probs);
  assert.notEqual(swapProbabilities(probs, 2, 2), probs);
  // Typical use: the served top label is the watermark label.
  const key = sha256('swap');
  const y = 1;
  const d = decide(key, sha256('swap input'), y, 4, TWO_POW_64);
  const served = swapProbabilities(probs, y, d.label);
  assert.equal(served.indexOf(Math.max(...served)), d.label);
  throwsCode(() => swapProbabilities(probs, 4, 0), 'label_out_of_range');
  throwsCode(() => swapProbabilities(probs, 0, -1), 'label_out_of_range');
  throwsCode(() => swapProbabilities([1], 0, 0), 'invalid_probabilities');
});

test('keyCommitment hashes domain || 0x00 || UTF-8 key id || 0x00 || key', () => {
  const key = sha256('commit key');
  const manual = createHash('sha256')
    .update(Buffer.concat([Buffer.from('assentmark/wm-commit/v1\0', 'ascii'), Buffer.from('über/1', 'utf8'), Buffer.from([0]), key]))
    .digest('hex');
  assert.equal(keyCommitment('über/1', key), manual);
  assert.notEqual(keyCommitment('a', key), keyCommitment('b', key));
  throwsCode(() => keyCommitment('', key), 'invalid_key_id');
  throwsCode(() => keyCommitment('a\0b', key), 'invalid_key_id');
  throwsCode(() => keyCommitment('bad\uD800', key), 'invalid_key_id');
  throwsCode(() => keyCommitment('a', key.subarray(0, 31)), 'invalid_key');
});

// ---- input validation ---------------------------------------------------------------------------

test('decide rejects bad keys, digests, class counts and labels', () => {
  const key = sha256('validation');
  const dg = sha256('validation input');
  const t = rateToThreshold(DEFAULT_RATE);
  throwsCode(() => decide(key.subarray(0, 16), dg, 0, 10, t), 'invalid_key');
  throwsCode(() => decide(Buffer.alloc(33), dg, 0, 10, t), 'invalid_key');
  throwsCode(() => decide(key, dg.subarray(0, 31), 0, 10, t), 'invalid_digest');
  throwsCode(() => decide(key, Buffer.alloc(33), 0, 10, t), 'invalid_digest');
  throwsCode(() => decide(key, 'ab'.repeat(32) as unknown as Uint8Array, 0, 10, t), 'invalid_digest');
  for (const k of [1, 0, -3, 2.5, Number.NaN, 2 ** 31]) throwsCode(() => decide(key, dg, 0, k, t), 'invalid_num_classes');
  for (const y of [-1, 10, 11, 1.5, Number.NaN]) throwsCode(() => decide(key, dg, y, 10, t), 'label_out_of_range');
  const decider = new WatermarkDecider(key, t);
  throwsCode(() => decider.decide(dg, 10, 10), 'label_out_of_range');
  throwsCode(() => decider.decide(dg, 0, 1), 'invalid_num_classes');
  throwsCode(() => new WatermarkDecider(key.subarray(1), t), 'invalid_key');
  assert.deepEqual(decide(key, dg, 2 ** 31 - 2, 2 ** 31 - 1, TWO_POW_64), referenceDecide(key, dg, 2 ** 31 - 2, 2 ** 31 - 1, TWO_POW_64));
});
