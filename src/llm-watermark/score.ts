// Green counts of distinct tuples under one key: the per-subject inner loop of detection. The
// same arithmetic as philox.ts (which the vectors pin), written out with locals only, because this
// loop runs once per tuple and subject (test/llm-watermark-detect.test.ts compares the two).
//
// Screening many subjects over the same tuples, the work that does not depend on the key is done
// once (`prepareTuples`): the tuples are grouped by window, so each distinct window's context
// state is computed once per key; the first Philox round of the context call (its counter is the
// window, its products need no key) is precomputed per window; and in the token call the product
// of the token's block number is precomputed per token, while the other product depends only on
// the window's state, so it is taken once per window. Per tuple and key that leaves 9 rounds of
// the token call (plus 9 of the context call per distinct window) instead of 20.
import { CONTEXT_DOMAIN, TOKEN_DOMAIN, type PrfKey } from './philox.js';
import { RowSet } from './tuples.js';
import { SCORE_WASM_BASE64 } from './score-wasm.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
/** 2^-16, exact: a multiplication by it is the division by 65536. */
const INV16 = 1 / 65536;

/** floor(M * c / 2^32) for a 32-bit M and c: M * (c >>> 16) and M * (c & 0xffff) are exact doubles (< 2^48). */
function mulHi(m: number, c: number): number {
  return Math.floor((m * (c >>> 16) + Math.floor(m * (c & 0xffff) * INV16)) * INV16) | 0;
}

/** Tuples grouped by window, with the key-independent parts of their PRF inputs. Build once, score per key. */
export interface PreparedTuples {
  h: number;
  n: number;
  /** Distinct windows. */
  windows: number;
  /** Per window, the first round of its context call before the key is mixed in: 4 words. */
  first: Int32Array;
  /** Per window, its tokens (h words, oldest first): for windows longer than one Philox block. */
  words: Uint32Array;
  /** Window w's tuples are tokens[start[w] .. start[w + 1]). */
  start: Int32Array;
  /** Per tuple: the token's word index (t & 3), and hi and lo of M0 * (t >>> 2). */
  lane: Uint8Array;
  tokHi: Int32Array;
  tokLo: Int32Array;
  /** The WebAssembly kernel's copy of the arrays, made on first use (windows of at most 4 tokens). */
  wasm?: { green: (...args: number[]) => number; at: { first: number; start: number; lane: number; tokHi: number; tokLo: number } };
}

/** The few WebAssembly JS-API members used here (the project's TypeScript libs do not declare them). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
interface WasmMemory { buffer: ArrayBuffer; grow(pages: number): number }
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
let scoreModule: object | null = null;

/** The kernel over a copy of the prepared arrays in its own memory (one instance per preparation). */
function wasmKernel(p: PreparedTuples): NonNullable<PreparedTuples['wasm']> {
  scoreModule ??= new wasmApi.Module(Buffer.from(SCORE_WASM_BASE64, 'base64'));
  const instance = new wasmApi.Instance(scoreModule, {});
  const memory = instance.exports.memory as WasmMemory;
  const at = { first: 0, start: p.first.byteLength, lane: 0, tokHi: 0, tokLo: 0 };
  at.lane = at.start + p.start.byteLength;
  at.tokHi = at.lane + 4 * p.n;
  at.tokLo = at.tokHi + 4 * p.n;
  const bytes = at.tokLo + 4 * p.n;
  if (bytes > memory.buffer.byteLength) memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / 65536));
  const words = new Int32Array(memory.buffer);
  words.set(p.first, at.first / 4);
  words.set(p.start, at.start / 4);
  words.set(p.lane, at.lane / 4);
  words.set(p.tokHi, at.tokHi / 4);
  words.set(p.tokLo, at.tokLo / 4);
  return { green: instance.exports.green as (...args: number[]) => number, at };
}

/** Groups distinct tuples (h + 1 words each) by window and precomputes what needs no key. */
export function prepareTuples(h: number, tuples: Uint32Array): PreparedTuples {
  const w = h + 1;
  const n = tuples.length / w;
  const windowSet = new RowSet(h, Math.max(16, n));
  const windowOf = new Int32Array(n);
  for (let i = 0; i < n; i++) windowOf[i] = windowSet.addOrGet(tuples, i * w);
  const windows = windowSet.size;
  const start = new Int32Array(windows + 1);
  for (let i = 0; i < n; i++) start[windowOf[i]! + 1]!++;
  for (let k = 0; k < windows; k++) start[k + 1]! += start[k]!;
  const fill = start.slice(0, windows);
  const lane = new Uint8Array(n), tokHi = new Int32Array(n), tokLo = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const at = fill[windowOf[i]!]!++;
    const t = tuples[i * w + h]!;
    lane[at] = t & 3;
    tokHi[at] = mulHi(M0, t >>> 2);
    tokLo[at] = Math.imul(M0, t >>> 2);
  }
  const words = windowSet.rows.slice();
  const first = new Int32Array(windows * 4);
  for (let k = 0; k < windows; k++) {
    const b = k * h;
    const c0 = (CONTEXT_DOMAIN ^ words[b]!) >>> 0;
    const c1 = (h ^ (h > 1 ? words[b + 1]! : 0xfffffffe)) >>> 0;
    const c2 = (h > 2 ? words[b + 2]! : 0xfffffffd) >>> 0;
    const c3 = (h > 3 ? words[b + 3]! : 0xfffffffc) >>> 0;
    // Round 1 without the key: (hi1 ^ c1, lo1, hi0 ^ c3, lo0); the key is XORed into words 0 and 2.
    first[k * 4] = mulHi(M1, c2) ^ c1;
    first[k * 4 + 1] = Math.imul(M1, c2);
    first[k * 4 + 2] = mulHi(M0, c0) ^ c3;
    first[k * 4 + 3] = Math.imul(M0, c0);
  }
  return { h, n, windows, first, words, start, lane, tokHi, tokLo };
}

/**
 * How many of the prepared tuples are green under `key` and threshold T: in WebAssembly (score.wat)
 * for windows of up to 4 tokens, else in JavaScript.
 */
export function greenCountPrepared(key: PrfKey, threshold: number, p: PreparedTuples): number {
  if (p.h > 4 || p.n === 0) return greenCountPreparedJs(key, threshold, p);
  p.wasm ??= wasmKernel(p);
  const { green, at } = p.wasm;
  return green(key.k0 | 0, key.k1 | 0, threshold, p.windows, at.first, at.start, at.lane, at.tokHi, at.tokLo);
}

/** The same count in JavaScript (any window length). */
export function greenCountPreparedJs(key: PrfKey, threshold: number, p: PreparedTuples): number {
  const { h, first, words, start, lane, tokHi, tokLo } = p;
  const K0 = key.k0 | 0, K1 = key.k1 | 0;
  let g = 0;
  for (let win = 0; win < p.windows; win++) {
    // Context call, block 0: round 1 is precomputed, rounds 2..10 here.
    let c0 = first[win * 4]! ^ K0, c1 = first[win * 4 + 1]!, c2 = first[win * 4 + 2]! ^ K1, c3 = first[win * 4 + 3]!;
    let k0 = (K0 + W0) | 0, k1 = (K1 + W1) | 0;
    for (let r = 1; r < 10; r++) {
      const hi0 = mulHi(M0, c0 >>> 0), hi1 = mulHi(M1, c2 >>> 0);
      const lo0 = Math.imul(M0, c0), lo1 = Math.imul(M1, c2);
      c0 = hi1 ^ c1 ^ k0; c2 = hi0 ^ c3 ^ k1; c1 = lo1; c3 = lo0;
      k0 = (k0 + W0) | 0; k1 = (k1 + W1) | 0;
    }
    // Longer windows: further blocks of 4 tokens, each a whole call (rare: h > 4).
    for (let off = 4; off < h; off += 4) {
      const b = win * h + off;
      let d0 = c0 ^ words[b]!, d1 = c1 ^ (off + 1 < h ? words[b + 1]! : 0xfffffffe), d2 = c2 ^ (off + 2 < h ? words[b + 2]! : 0xfffffffd), d3 = c3 ^ (off + 3 < h ? words[b + 3]! : 0xfffffffc);
      let e0 = K0 ^ off, e1 = K1;
      for (let r = 0; r < 10; r++) {
        const hi0 = mulHi(M0, d0 >>> 0), hi1 = mulHi(M1, d2 >>> 0);
        const lo0 = Math.imul(M0, d0), lo1 = Math.imul(M1, d2);
        d0 = hi1 ^ d1 ^ e0; d2 = hi0 ^ d3 ^ e1; d1 = lo1; d3 = lo0;
        e0 = (e0 + W0) | 0; e1 = (e1 + W1) | 0;
      }
      c0 = d0; c1 = d1; c2 = d2; c3 = d3;
    }
    // Token call: counter (t >>> 2, s0, s1, s2), key (K0 ^ s3, K1 ^ TOKEN_DOMAIN). Round 1's
    // product of s1 is the window's; the product of t >>> 2 is the token's (precomputed).
    const tk0 = K0 ^ c3, tk1 = K1 ^ TOKEN_DOMAIN;
    const r0 = mulHi(M1, c1 >>> 0) ^ c0 ^ tk0, r1 = Math.imul(M1, c1), r2base = c2 ^ tk1;
    const rk0 = (tk0 + W0) | 0, rk1 = (tk1 + W1) | 0;
    for (let j = start[win]!, end = start[win + 1]!; j < end; j++) {
      let d0 = r0, d1 = r1, d2 = tokHi[j]! ^ r2base, d3 = tokLo[j]!;
      let e0 = rk0, e1 = rk1;
      for (let r = 1; r < 10; r++) {
        const hi0 = mulHi(M0, d0 >>> 0), hi1 = mulHi(M1, d2 >>> 0);
        const lo0 = Math.imul(M0, d0), lo1 = Math.imul(M1, d2);
        d0 = hi1 ^ d1 ^ e0; d2 = hi0 ^ d3 ^ e1; d1 = lo1; d3 = lo0;
        e0 = (e0 + W0) | 0; e1 = (e1 + W1) | 0;
      }
      const l = lane[j]!;
      const word = l === 0 ? d0 : l === 1 ? d1 : l === 2 ? d2 : d3;
      if (word >>> 8 < threshold) g++;
    }
  }
  return g;
}

/**
 * How many of the tuples (h + 1 words each: window oldest first, token) are green under `key` and
 * threshold T, tuple by tuple (one key: preparing would not pay for itself).
 */
export function greenCount(key: PrfKey, threshold: number, h: number, tuples: Uint32Array): number {
  const w = h + 1;
  const K0 = key.k0 | 0, K1 = key.k1 | 0, TK1 = K1 ^ TOKEN_DOMAIN;
  let g = 0;
  for (let at = 0; at < tuples.length; at += w) {
    let c0 = CONTEXT_DOMAIN, c1 = h, c2 = 0, c3 = 0;
    for (let off = 0; off < h; off += 4) {
      const b = at + off;
      let d0 = c0 ^ tuples[b]!, d1 = c1 ^ (off + 1 < h ? tuples[b + 1]! : 0xfffffffe), d2 = c2 ^ (off + 2 < h ? tuples[b + 2]! : 0xfffffffd), d3 = c3 ^ (off + 3 < h ? tuples[b + 3]! : 0xfffffffc);
      let e0 = K0 ^ off, e1 = K1;
      for (let r = 0; r < 10; r++) {
        const hi0 = mulHi(M0, d0), hi1 = mulHi(M1, d2);
        const lo0 = Math.imul(M0, d0), lo1 = Math.imul(M1, d2);
        d0 = hi1 ^ d1 ^ e0; d2 = hi0 ^ d3 ^ e1; d1 = lo1; d3 = lo0;
        e0 = (e0 + W0) | 0; e1 = (e1 + W1) | 0;
      }
      c0 = d0; c1 = d1; c2 = d2; c3 = d3;
    }
    const t = tuples[at + h]!;
    let d0 = t >>> 2, d1 = c0, d2 = c1, d3 = c2;
    let e0 = K0 ^ c3, e1 = TK1;
    for (let r = 0; r < 10; r++) {
      const hi0 = mulHi(M0, d0), hi1 = mulHi(M1, d2);
      const lo0 = Math.imul(M0, d0), lo1 = Math.imul(M1, d2);
      d0 = hi1 ^ d1 ^ e0; d2 = hi0 ^ d3 ^ e1; d1 = lo1; d3 = lo0;
      e0 = (e0 + W0) | 0; e1 = (e1 + W1) | 0;
    }
    const l = t & 3;
    const word = l === 0 ? d0 : l === 1 ? d1 : l === 2 ? d2 : d3;
    if (word >>> 8 < threshold) g++;
  }
  return g;
}
