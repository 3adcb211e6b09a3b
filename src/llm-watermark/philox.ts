// Philox4x32-10 (Salmon et al., SC'11) and the watermark PRF built on it, word for word as vLLM's
// `philox4x32-10-v1` (vllm/v1/watermarking/prfs/philox.py), so a vLLM deployment can use its GPU
// kernel with our keys. Integer arithmetic only; docs/llm-watermark-spec.md is the normative text.
// Pure; no I/O.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
/** "WMCX" and "WMTK": vLLM's domain words for the context hash and the token draw. */
export const CONTEXT_DOMAIN = 0x574d4358;
export const TOKEN_DOMAIN = 0x574d544b;
const TWO32 = 4294967296;

/** The four output words of one Philox call, reused by the hot loops (never shared across awaits). */
export const philoxOut = new Uint32Array(4);

/**
 * Philox4x32-10 of counter (c0..c3) under key (k0, k1) into `philoxOut`. The 32x32 -> 64-bit
 * products are split into 16-bit halves so every intermediate is an exact double.
 */
export function philox(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number): Uint32Array {
  for (let r = 0; r < 10; r++) {
    const a0 = c0 & 0xffff, b0 = c0 >>> 16;
    const a1 = c2 & 0xffff, b1 = c2 >>> 16;
    const lo0 = Math.imul(M0, c0) >>> 0;
    const lo1 = Math.imul(M1, c2) >>> 0;
    // hi = floor(M * c / 2^32): M*c = bh*2^32 + cross*2^16 + low, with every part below 2^50.
    const cross0 = b0 * (M0 & 0xffff) + a0 * (M0 >>> 16);
    const cross1 = b1 * (M1 & 0xffff) + a1 * (M1 >>> 16);
    const hi0 = (b0 * (M0 >>> 16) + Math.floor((cross0 * 65536 + a0 * (M0 & 0xffff)) / TWO32)) >>> 0;
    const hi1 = (b1 * (M1 >>> 16) + Math.floor((cross1 * 65536 + a1 * (M1 & 0xffff)) / TWO32)) >>> 0;
    const n0 = (hi1 ^ c1 ^ k0) >>> 0;
    const n2 = (hi0 ^ c3 ^ k1) >>> 0;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    if (r !== 9) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
  }
  philoxOut[0] = c0;
  philoxOut[1] = c1;
  philoxOut[2] = c2;
  philoxOut[3] = c3;
  return philoxOut;
}

/** A 64-bit PRF key as its two 32-bit words (k0 the low word, as vLLM splits its integer key). */
export interface PrfKey {
  k0: number;
  k1: number;
}

/** The key from its 8 bytes, little-endian (vLLM's integer key = k0 + 2^32 * k1). */
export function prfKeyFromBytes(b: Uint8Array): PrfKey {
  if (b.length !== 8) throw new RangeError(`a PRF key is 8 bytes, got ${b.length}`);
  const v = new DataView(b.buffer, b.byteOffset, 8);
  return { k0: v.getUint32(0, true), k1: v.getUint32(4, true) };
}

/** The key as vLLM's integer (decimal string: it does not fit a double). */
export function prfKeyInteger(k: PrfKey): string {
  return ((BigInt(k.k1) << 32n) | BigInt(k.k0)).toString();
}

/**
 * The 4-word state of a context window (its tokens oldest first): blocks of 4 tokens, the last one
 * padded with 0xFFFFFFFF - i, each XORed into the state and mixed under (k0 ^ offset, k1).
 * Written into `out` (4 words).
 */
export function contextState(key: PrfKey, window: ArrayLike<number>, out: Uint32Array, from = 0, len = window.length): Uint32Array {
  let s0 = CONTEXT_DOMAIN, s1 = len >>> 0, s2 = 0, s3 = 0;
  for (let off = 0; off < len; off += 4) {
    const w0 = window[from + off]! >>> 0;
    const w1 = off + 1 < len ? window[from + off + 1]! >>> 0 : 0xfffffffe;
    const w2 = off + 2 < len ? window[from + off + 2]! >>> 0 : 0xfffffffd;
    const w3 = off + 3 < len ? window[from + off + 3]! >>> 0 : 0xfffffffc;
    const o = philox((s0 ^ w0) >>> 0, (s1 ^ w1) >>> 0, (s2 ^ w2) >>> 0, (s3 ^ w3) >>> 0, (key.k0 ^ off) >>> 0, key.k1);
    s0 = o[0]!; s1 = o[1]!; s2 = o[2]!; s3 = o[3]!;
  }
  out[0] = s0; out[1] = s1; out[2] = s2; out[3] = s3;
  return out;
}

/**
 * The PRF word of `token` after a context state: one Philox call covers tokens 4j..4j+3
 * (counter (j, s0, s1, s2), key (k0 ^ s3, k1 ^ TOKEN_DOMAIN)); the token picks word token & 3.
 */
export function tokenWord(key: PrfKey, state: Uint32Array, token: number): number {
  const o = philox(token >>> 2, state[0]!, state[1]!, state[2]!, (key.k0 ^ state[3]!) >>> 0, (key.k1 ^ TOKEN_DOMAIN) >>> 0);
  return o[token & 3]!;
}
