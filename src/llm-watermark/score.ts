// Green counts of distinct tuples under one key: the per-subject inner loop of detection. The
// same arithmetic as philox.ts (which the vectors pin), written out with locals only, because this
// loop runs once per tuple and subject (test/llm-watermark-detect.test.ts compares the two).
import { CONTEXT_DOMAIN, TOKEN_DOMAIN, type PrfKey } from './philox.js';

let o0 = 0, o1 = 0, o2 = 0, o3 = 0;

/** Philox4x32-10 into o0..o3 (module locals: no allocation, no typed-array traffic). */
function px(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): void {
  for (let r = 0; r < 10; r++) {
    // 0xD2511F53 * c0 and 0xCD9E8D57 * c2 as hi/lo words from 16-bit limbs (every partial < 2^32).
    const a0 = c0 & 0xffff, b0 = c0 >>> 16, a1 = c2 & 0xffff, b1 = c2 >>> 16;
    const lh0 = a0 * 0xd251, hl0 = b0 * 0x1f53, lh1 = a1 * 0xcd9e, hl1 = b1 * 0x8d57;
    const mid0 = ((a0 * 0x1f53) >>> 16) + (lh0 & 0xffff) + (hl0 & 0xffff);
    const mid1 = ((a1 * 0x8d57) >>> 16) + (lh1 & 0xffff) + (hl1 & 0xffff);
    const hi0 = b0 * 0xd251 + (lh0 >>> 16) + (hl0 >>> 16) + (mid0 >>> 16);
    const hi1 = b1 * 0xcd9e + (lh1 >>> 16) + (hl1 >>> 16) + (mid1 >>> 16);
    const lo0 = Math.imul(0xd2511f53, c0), lo1 = Math.imul(0xcd9e8d57, c2);
    c0 = hi1 ^ c1 ^ k0;
    c2 = hi0 ^ c3 ^ k1;
    c1 = lo1;
    c3 = lo0;
    k0 = (k0 + 0x9e3779b9) | 0;
    k1 = (k1 + 0xbb67ae85) | 0;
  }
  o0 = c0 >>> 0; o1 = c1 >>> 0; o2 = c2 >>> 0; o3 = c3 >>> 0;
}

/** How many of the tuples (h + 1 words each: window oldest first, token) are green under `key` and threshold T. */
export function greenCount(key: PrfKey, threshold: number, h: number, tuples: Uint32Array): number {
  const w = h + 1;
  const k0 = key.k0 | 0, k1 = key.k1 | 0;
  const tk1 = k1 ^ TOKEN_DOMAIN;
  let g = 0;
  for (let at = 0; at < tuples.length; at += w) {
    let s0 = CONTEXT_DOMAIN, s1 = h, s2 = 0, s3 = 0;
    for (let off = 0; off < h; off += 4) {
      const b = at + off;
      px(
        s0 ^ tuples[b]!,
        s1 ^ (off + 1 < h ? tuples[b + 1]! : 0xfffffffe),
        s2 ^ (off + 2 < h ? tuples[b + 2]! : 0xfffffffd),
        s3 ^ (off + 3 < h ? tuples[b + 3]! : 0xfffffffc),
        k0 ^ off, k1,
      );
      s0 = o0; s1 = o1; s2 = o2; s3 = o3;
    }
    const t = tuples[at + h]!;
    px(t >>> 2, s0, s1, s2, k0 ^ s3, tk1);
    const j = t & 3;
    const word = j === 0 ? o0 : j === 1 ? o1 : j === 2 ? o2 : o3;
    if (word >>> 8 < threshold) g++;
  }
  return g;
}
