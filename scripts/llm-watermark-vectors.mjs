#!/usr/bin/env node
// Writes test/vectors/llm-watermark.json from the TypeScript reference (build first). The Philox
// vectors are Random123's published known answers, not ours; the rest pins our scheme so the
// Python module and any other implementation can be checked byte for byte.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { philox, contextState, prfKeyFromBytes, prfKeyInteger } from '../dist/src/llm-watermark/philox.js';
import { deriveGlobalTextKey } from '../dist/src/llm-watermark/global-key.js';
import { biasLogits, biasLogitsLayers, deriveTextKey, greenThreshold, GreenList, parameterSet, parameterSetId } from '../dist/src/llm-watermark/scheme.js';
import { canonicalString } from '../dist/src/canonical/jcs.js';

const hex = (w) => (w >>> 0).toString(16).padStart(8, '0');
const RANDOM123 = [
  { counter: ['00000000', '00000000', '00000000', '00000000'], key: ['00000000', '00000000'], output: ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8'] },
  { counter: ['ffffffff', 'ffffffff', 'ffffffff', 'ffffffff'], key: ['ffffffff', 'ffffffff'], output: ['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd'] },
  { counter: ['243f6a88', '85a308d3', '13198a2e', '03707344'], key: ['a4093822', '299f31d0'], output: ['d16cfe09', '94fdcceb', '5001e420', '24126ea1'] },
];
for (const k of RANDOM123) {
  const got = [...philox(...k.counter.map((x) => parseInt(x, 16)), ...k.key.map((x) => parseInt(x, 16)))].map(hex);
  if (got.join() !== k.output.join()) throw new Error(`Philox disagrees with Random123: ${got}`);
}

const sets = [
  parameterSet({ tokenizer: { name: 'synthetic', revision: '1' }, vocab_size: 1000 }),
  parameterSet({ window: 4, gamma: 0.1, delta: 2.5, tokenizer: { name: 'gpt2', revision: '607a30d783dfa663caf39e06633721c8d4cfcd7e' }, vocab_size: 50257 }),
  parameterSet({ window: 1, gamma: 0.3, delta: 1.25, tokenizer: { name: 'Llama-3 "tiktoken" é', revision: 'v2' }, vocab_size: 128256 }),
];
const wmKeys = [Buffer.alloc(32, 0), Buffer.from(Array.from({ length: 32 }, (_, i) => i)), createHash('sha256').update('subject B').digest()];
const keys = [];
for (const p of sets) for (const k of wmKeys) {
  const id = parameterSetId(p);
  const key = deriveTextKey(k, id);
  keys.push({ watermark_key: k.toString('hex'), parameter_set_id: id, key_hex: key.toString('hex'), key_integer: prfKeyInteger(prfKeyFromBytes(key)) });
}
const windows = [];
const tokens = [0, 1, 2, 3, 4, 5, 7, 255, 256, 999, 50256, 128255];
for (const [i, p] of sets.entries()) for (const kv of keys.filter((k) => k.parameter_set_id === parameterSetId(p)).slice(0, 2)) {
  for (const w of [Array.from({ length: p.window }, (_, j) => j), Array.from({ length: p.window }, (_, j) => (7919 * (j + 1) * (i + 3)) % p.vocab_size)]) {
    const g = new GreenList(Buffer.from(kv.key_hex, 'hex'), p);
    const state = [...contextState(g.key, w, new Uint32Array(4))].map(hex);
    const mask = g.mask(w, p.vocab_size);
    const words = tokens.map((t) => {
      const s = contextState(g.key, w, new Uint32Array(4));
      return hex(philox(t >>> 2, s[0], s[1], s[2], (g.key.k0 ^ s[3]) >>> 0, (g.key.k1 ^ 0x574d544b) >>> 0)[t & 3]);
    });
    windows.push({
      key_hex: kv.key_hex, green_threshold: p.green_threshold, vocab_size: p.vocab_size, window: w, state, tokens, words,
      green: tokens.map((t) => (g.isGreenAt(w, 0, t) ? 1 : 0)),
      mask_sha256: createHash('sha256').update(mask).digest('hex'), green_count: mask.reduce((a, b) => a + b, 0),
    });
  }
}
const logits = [0, -1.5, 3.25, 1e-8, -100, 0.1, 16777216, 7.7];
const mask = [1, 0, 1, 1, 0, 1, 1, 0];
const bias = [2, 2.5, 0.1].map((delta) => ({
  logits, mask, delta,
  biased_f32_hex: [...biasLogits(Float32Array.from(logits), Uint8Array.from(mask), delta)].map((x) => hex(new Uint32Array(Float32Array.of(x).buffer)[0])),
}));
// The global layer: its derived keys, and both layers' masks and biases on one window.
const globalKeys = [Buffer.alloc(32, 0xab), createHash('sha256').update('global key').digest()];
const global_keys = [];
for (const p of sets.slice(0, 2)) for (const g of globalKeys) {
  const id = parameterSetId(p);
  const key = deriveGlobalTextKey(g, id);
  global_keys.push({ global_key: g.toString('hex'), parameter_set_id: id, key_hex: key.toString('hex'), key_integer: prfKeyInteger(prfKeyFromBytes(key)) });
}
const layerLogits = Array.from({ length: 16 }, (_, i) => Math.fround(Math.sin(i + 1) * 4));
const layers = [[0, 1], [17, 523]].map((w) => {
  const p = sets[0];
  const subjectKey = Buffer.from(keys[1].key_hex, 'hex');
  const globalKey = Buffer.from(global_keys[0].key_hex, 'hex');
  const sm = new GreenList(subjectKey, p).mask(w, p.vocab_size).subarray(0, 16);
  const gm = new GreenList(globalKey, p).mask(w, p.vocab_size).subarray(0, 16);
  return {
    subject_key_hex: subjectKey.toString('hex'), global_key_hex: globalKey.toString('hex'), green_threshold: p.green_threshold, vocab_size: p.vocab_size, window: w,
    logits: layerLogits, delta: p.delta, subject_mask: [...sm], global_mask: [...gm],
    biased_f32_hex: [...biasLogitsLayers(Float32Array.from(layerLogits), [sm, gm], p.delta)].map((x) => hex(new Uint32Array(Float32Array.of(x).buffer)[0])),
  };
});
const out = {
  about: 'Known-answer vectors of docs/llm-watermark-spec.md. philox: Random123 kat_vectors (Philox4x32-10). Everything else: the assentmark reference implementation.',
  philox: RANDOM123,
  green_threshold: [0.25, 0.5, 0.1, 0.3, 1 / 3, 0.2, 0.05, 2 ** -24, 0.999].map((gamma) => ({ gamma, threshold: greenThreshold(gamma) })),
  parameter_sets: sets.map((p) => ({ params: p, canonical: canonicalString(p), id: parameterSetId(p) })),
  keys, windows, bias, global_keys, layers,
};
writeFileSync(new URL('../test/vectors/llm-watermark.json', import.meta.url), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${windows.length} windows, ${keys.length} keys`);
