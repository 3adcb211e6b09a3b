// Text watermark scheme: Philox4x32-10 against Random123's known answers, and the TypeScript
// reference and the Python module (python/assentmark_llm_watermark.py) against every vector of
// test/vectors/llm-watermark.json (docs/llm-watermark-spec.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalString } from '../src/canonical/jcs.js';
import { contextState, philox, prfKeyFromBytes, prfKeyInteger } from '../src/llm-watermark/philox.js';
import { deriveGlobalTextKey } from '../src/llm-watermark/global-key.js';
import { biasLogits, biasLogitsLayers, deriveTextKey, greenThreshold, GreenList, MANTISSA_SPAN, parameterSet, parameterSetId, type ParameterSet } from '../src/llm-watermark/scheme.js';
import { run } from './helpers/tools.js';

interface Vectors {
  philox: Array<{ counter: string[]; key: string[]; output: string[] }>;
  green_threshold: Array<{ gamma: number; threshold: number }>;
  parameter_sets: Array<{ params: ParameterSet; canonical: string; id: string }>;
  keys: Array<{ watermark_key: string; parameter_set_id: string; key_hex: string; key_integer: string }>;
  windows: Array<{ key_hex: string; green_threshold: number; vocab_size: number; window: number[]; state: string[]; tokens: number[]; words: string[]; green: number[]; mask_sha256: string; green_count: number }>;
  bias: Array<{ logits: number[]; mask: number[]; delta: number; biased_f32_hex: string[] }>;
  global_keys: Array<{ global_key: string; parameter_set_id: string; key_hex: string; key_integer: string }>;
  layers: Array<{ subject_key_hex: string; global_key_hex: string; green_threshold: number; vocab_size: number; window: number[]; logits: number[]; delta: number; subject_mask: number[]; global_mask: number[]; biased_f32_hex: string[] }>;
}

/** The repository root, found from the compiled test's location. */
function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'test', 'vectors', 'llm-watermark.json'))) return dir;
  }
  return process.cwd();
}
const ROOT = repoRoot();
const VECTORS = join(ROOT, 'test', 'vectors', 'llm-watermark.json');
const v = JSON.parse(readFileSync(VECTORS, 'utf8')) as Vectors;
const hex = (w: number): string => (w >>> 0).toString(16).padStart(8, '0');
const h = (s: string): number => parseInt(s, 16);

test('Philox4x32-10 gives Random123\'s known answers', () => {
  assert.equal(v.philox.length, 3);
  for (const k of v.philox) {
    assert.deepEqual([...philox(h(k.counter[0]!), h(k.counter[1]!), h(k.counter[2]!), h(k.counter[3]!), h(k.key[0]!), h(k.key[1]!))].map(hex), k.output);
  }
});

test('green thresholds: the vectors, and T(gamma) is exactly the float32 comparison at the boundary', () => {
  for (const k of v.green_threshold) assert.equal(greenThreshold(k.gamma), k.threshold, `gamma ${k.gamma}`);
  assert.equal(greenThreshold(0.25), MANTISSA_SPAN / 4);
  for (const gamma of [0.25, 0.1, 1 / 3, 0.3]) {
    const T = greenThreshold(gamma);
    const u = (m: number): number => Math.fround((m + 1) / (MANTISSA_SPAN + 1));
    assert.ok(u(T - 1) < Math.fround(gamma), `m = T-1 is green for ${gamma}`);
    assert.ok(!(u(T) < Math.fround(gamma)), `m = T is red for ${gamma}`);
  }
});

test('parameter sets: canonical bytes and ids; invalid sets are refused', () => {
  assert.equal(v.parameter_sets.length, 3);
  for (const k of v.parameter_sets) {
    const again = parameterSet({ window: k.params.window, gamma: k.params.gamma, delta: k.params.delta, tokenizer: k.params.tokenizer, vocab_size: k.params.vocab_size });
    assert.deepEqual(again, k.params);
    assert.equal(canonicalString(again), k.canonical);
    assert.equal(parameterSetId(again), k.id);
  }
  const tok = { name: 't', revision: '1' };
  assert.throws(() => parameterSet({ tokenizer: tok, vocab_size: 1 }), /vocab_size/);
  assert.throws(() => parameterSet({ window: 0, tokenizer: tok, vocab_size: 10 }), /window/);
  assert.throws(() => parameterSet({ window: 17, tokenizer: tok, vocab_size: 10 }), /window/);
  assert.throws(() => parameterSet({ gamma: 1, tokenizer: tok, vocab_size: 10 }), /gamma/);
  assert.throws(() => parameterSet({ gamma: 2 ** -25, tokenizer: tok, vocab_size: 10 }), /no green/);
  assert.throws(() => parameterSet({ delta: 0, tokenizer: tok, vocab_size: 10 }), /delta/);
  assert.notEqual(parameterSetId(parameterSet({ tokenizer: tok, vocab_size: 10 })), parameterSetId(parameterSet({ tokenizer: { name: 't', revision: '2' }, vocab_size: 10 })));
});

test('per-subject keys: HKDF vectors, one-way and separated by parameter set', () => {
  assert.equal(v.keys.length, 9);
  for (const k of v.keys) {
    const key = deriveTextKey(Buffer.from(k.watermark_key, 'hex'), k.parameter_set_id);
    assert.equal(key.toString('hex'), k.key_hex);
    assert.equal(prfKeyInteger(prfKeyFromBytes(key)), k.key_integer);
  }
  assert.equal(new Set(v.keys.map((k) => k.key_hex)).size, v.keys.length, 'every (watermark key, parameter set) pair derives its own key');
  assert.throws(() => deriveTextKey(Buffer.alloc(16), v.keys[0]!.parameter_set_id), /32 bytes/);
});

test('windows: context state, PRF words, green decisions and whole-vocabulary masks', () => {
  assert.equal(v.windows.length, 12);
  for (const k of v.windows) {
    const g = new GreenList(Buffer.from(k.key_hex, 'hex'), { green_threshold: k.green_threshold, window: k.window.length });
    assert.deepEqual([...contextState(g.key, k.window, new Uint32Array(4))].map(hex), k.state);
    assert.deepEqual(k.tokens.map((t) => (g.isGreenAt(k.window, 0, t) ? 1 : 0)), k.green);
    assert.deepEqual(k.words.map((w) => (h(w) >>> 8 < k.green_threshold ? 1 : 0)), k.green, 'green iff word >>> 8 < T');
    const mask = g.mask(k.window, k.vocab_size);
    assert.equal(createHash('sha256').update(mask).digest('hex'), k.mask_sha256);
    assert.equal(mask.reduce((a, b) => a + b, 0), k.green_count);
    // The mask and the single-token test agree everywhere checked.
    for (const t of k.tokens) if (t < k.vocab_size) assert.equal(mask[t], g.isGreenAt(k.window, 0, t) ? 1 : 0);
    // The green fraction of a large vocabulary is near gamma (a gross error check, 8 sigma).
    const p = k.green_threshold / MANTISSA_SPAN;
    assert.ok(Math.abs(k.green_count - p * k.vocab_size) < 8 * Math.sqrt(k.vocab_size * p * (1 - p)) + 1);
  }
});

test('logit bias: float32 addition of f32(delta) to the green logits only', () => {
  for (const k of v.bias) {
    const out = biasLogits(Float32Array.from(k.logits), Uint8Array.from(k.mask), k.delta);
    assert.deepEqual([...out].map((x) => hex(new Uint32Array(Float32Array.of(x).buffer)[0]!)), k.biased_f32_hex);
  }
});

test('global layer: its own HKDF tag (never a subject\'s key from the same bytes), two masks, both biases in order', () => {
  assert.equal(v.global_keys.length, 4);
  for (const k of v.global_keys) {
    const key = deriveGlobalTextKey(Buffer.from(k.global_key, 'hex'), k.parameter_set_id);
    assert.equal(key.toString('hex'), k.key_hex);
    assert.equal(prfKeyInteger(prfKeyFromBytes(key)), k.key_integer);
    assert.notEqual(key.toString('hex'), deriveTextKey(Buffer.from(k.global_key, 'hex'), k.parameter_set_id).toString('hex'), 'the global and the per-subject derivations are separated');
  }
  assert.throws(() => deriveGlobalTextKey(Buffer.alloc(31), v.global_keys[0]!.parameter_set_id), /32 bytes/);
  assert.equal(v.layers.length, 2);
  for (const k of v.layers) {
    const params = { green_threshold: k.green_threshold, window: k.window.length };
    const sm = new GreenList(Buffer.from(k.subject_key_hex, 'hex'), params).mask(k.window, k.vocab_size).subarray(0, k.logits.length);
    const gm = new GreenList(Buffer.from(k.global_key_hex, 'hex'), params).mask(k.window, k.vocab_size).subarray(0, k.logits.length);
    assert.deepEqual([...sm], k.subject_mask);
    assert.deepEqual([...gm], k.global_mask);
    const out = biasLogitsLayers(Float32Array.from(k.logits), [sm, gm], k.delta);
    assert.deepEqual([...out].map((x) => hex(new Uint32Array(Float32Array.of(x).buffer)[0]!)), k.biased_f32_hex);
    // A token green in both layers gets f32(delta) twice; in one, once; in none, nothing.
    for (let i = 0; i < out.length; i++) {
      const once = Math.fround(Math.fround(k.logits[i]!) + (sm[i] ? Math.fround(k.delta) : 0));
      assert.equal(out[i], Math.fround(once + (gm[i] ? Math.fround(k.delta) : 0)));
    }
  }
  assert.ok(v.layers.every((k) => k.subject_mask.some((x, i) => x !== k.global_mask[i])), 'the two layers\' masks differ');
});

test('the spec\'s known answers (section 9) are the vectors\' values', () => {
  const spec = readFileSync(join(ROOT, 'docs', 'llm-watermark-spec.md'), 'utf8');
  const s9 = spec.slice(spec.indexOf('## 9. Known-answer vectors'));
  assert.ok(s9.length > 500, 'the spec has its section 9');
  const file = readFileSync(VECTORS, 'utf8');
  const quoted = [...s9.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1]!.split(/\s+/));
  const values = quoted.filter((x) => /^([0-9a-f]{8}|[0-9a-f]{16}|[0-9a-f]{64}|\d{6,})$/.test(x));
  assert.ok(values.length >= 25, `${values.length} values quoted`);
  for (const x of values) assert.ok(file.includes(x), `section 9 quotes ${x}, which is in no vector`);
});

test('the Python module (standard library only) reproduces every vector', () => {
  const r = run('python3', [join(ROOT, 'python', 'assentmark_llm_watermark.py'), '--check', VECTORS]);
  assert.equal(r.status, 0, r.stderr);
  const n = v.philox.length + v.green_threshold.length + 2 * v.parameter_sets.length + 2 * v.keys.length + 5 * v.windows.length + v.bias.length + 2 * v.global_keys.length + 3 * v.layers.length;
  assert.equal(r.stdout.trim(), `ok ${n} vectors`);
});
