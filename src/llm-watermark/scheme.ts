// The red/green text watermark (docs/llm-watermark-spec.md): parameter sets and their ids, the
// integer green threshold, green decisions, the green mask of a window and the logit bias. The
// generation side's reference; the Python module (python/assentmark_llm_watermark.py) mirrors it.
// Pure; no I/O.
import { createHash, hkdfSync } from 'node:crypto';
import { canonicalBytes } from '../canonical/jcs.js';
import { TAG, tagBytes } from '../crypto/domains.js';
import { contextState, philox, prfKeyFromBytes, TOKEN_DOMAIN, type PrfKey } from './philox.js';

export const ALGORITHM = 'red-green';
export const PRF_VERSION = 'philox4x32-10-v1';
export const SCHEME_VERSION = 'assentmark-llm-watermark/v1';
/** The PRF word's top 24 bits are the uniform's mantissa (vLLM's uint32_to_uniform). */
export const MANTISSA_SPAN = 2 ** 24;
export const MAX_WINDOW = 16;
export const MAX_VOCAB = 2 ** 24;

/** An immutable parameter set: everything a green decision depends on but the key. */
export interface ParameterSet {
  scheme: typeof SCHEME_VERSION;
  algorithm: typeof ALGORITHM;
  prf: typeof PRF_VERSION;
  /** Context window: the h tokens before a position, oldest first. */
  window: number;
  gamma: number;
  delta: number;
  /** T: green iff (word >>> 8) < T. Fixed by gamma (greenThreshold); recorded so no float is needed to check. */
  green_threshold: number;
  tokenizer: { name: string; revision: string };
  vocab_size: number;
}

export const DEFAULTS = { window: 2, gamma: 0.25, delta: 2 } as const;

/**
 * T(gamma) = #{ m in [0, 2^24) : f32((m + 1) / (2^24 + 1)) < f32(gamma) }, the green words of
 * vLLM's float comparison `uniform < gamma` as an integer. The left side grows with m, so a
 * binary search finds the first red m.
 */
export function greenThreshold(gamma: number): number {
  if (!(gamma > 0 && gamma < 1)) throw new RangeError(`gamma must be in (0, 1), got ${gamma}`);
  const g = Math.fround(gamma);
  let lo = 0, hi = MANTISSA_SPAN; // invariant: every m < lo is green, every m >= hi is red
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (Math.fround((mid + 1) / (MANTISSA_SPAN + 1)) < g) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The null probability that a token is green: T / 2^24 (exactly gamma for gamma = k / 2^24). */
export function nullGreenRate(p: Pick<ParameterSet, 'green_threshold'>): number {
  return p.green_threshold / MANTISSA_SPAN;
}

export function parameterSet(o: { window?: number; gamma?: number; delta?: number; tokenizer: { name: string; revision: string }; vocab_size: number }): ParameterSet {
  const window = o.window ?? DEFAULTS.window;
  const gamma = o.gamma ?? DEFAULTS.gamma;
  const delta = o.delta ?? DEFAULTS.delta;
  if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) throw new RangeError(`window must be an integer in 1..${MAX_WINDOW}, got ${window}`);
  if (!(delta > 0) || !Number.isFinite(delta)) throw new RangeError(`delta must be finite and > 0, got ${delta}`);
  if (!Number.isInteger(o.vocab_size) || o.vocab_size < 2 || o.vocab_size > MAX_VOCAB) throw new RangeError(`vocab_size must be an integer in 2..${MAX_VOCAB}, got ${o.vocab_size}`);
  const T = greenThreshold(gamma);
  if (T === 0 || T === MANTISSA_SPAN) throw new RangeError(`gamma ${gamma} leaves no green or no red words`);
  return { scheme: SCHEME_VERSION, algorithm: ALGORITHM, prf: PRF_VERSION, window, gamma, delta, green_threshold: T, tokenizer: { name: o.tokenizer.name, revision: o.tokenizer.revision }, vocab_size: o.vocab_size };
}

/** The id of a parameter set: hex SHA-256(tag || 0x00 || RFC 8785 canonical JSON of the set). */
export function parameterSetId(p: ParameterSet): string {
  return createHash('sha256').update(tagBytes(TAG.llmParams)).update(canonicalBytes(p)).digest('hex');
}

/**
 * A subject's text-watermark PRF key: HKDF-SHA256 (RFC 5869) of its watermark key, salt empty,
 * info = tag || 0x00 || parameter set id (ASCII hex), 8 bytes. One-way: the gateway holding it
 * learns nothing of the watermark key; another parameter set gets an unrelated key.
 */
export function deriveTextKey(watermarkKey: Uint8Array, parameterSetIdHex: string): Buffer {
  if (watermarkKey.length !== 32) throw new RangeError('a watermark key is 32 bytes');
  const info = Buffer.concat([tagBytes(TAG.llmKey), Buffer.from(parameterSetIdHex, 'ascii')]);
  return Buffer.from(hkdfSync('sha256', watermarkKey, Buffer.alloc(0), info, 8));
}

/** A keyed green test for one parameter set; reuses its scratch state (one per thread). */
export class GreenList {
  readonly key: PrfKey;
  readonly threshold: number;
  readonly window: number;
  readonly #state = new Uint32Array(4);

  constructor(keyBytes: Uint8Array, params: Pick<ParameterSet, 'green_threshold' | 'window'>) {
    this.key = prfKeyFromBytes(keyBytes);
    this.threshold = params.green_threshold;
    this.window = params.window;
  }

  /** Whether `token` is green after the window tokens[from .. from + h). */
  isGreenAt(tokens: ArrayLike<number>, from: number, token: number): boolean {
    const s = contextState(this.key, tokens, this.#state, from, this.window);
    const o = philox(token >>> 2, s[0]!, s[1]!, s[2]!, (this.key.k0 ^ s[3]!) >>> 0, (this.key.k1 ^ TOKEN_DOMAIN) >>> 0);
    return o[token & 3]! >>> 8 < this.threshold;
  }

  /** The green mask of a window (h tokens, oldest first) over a vocabulary: one Philox call per 4 tokens. */
  mask(window: ArrayLike<number>, vocabSize: number): Uint8Array {
    if (window.length !== this.window) throw new RangeError(`the window has ${this.window} tokens, got ${window.length}`);
    const s = contextState(this.key, window, this.#state);
    const k0 = (this.key.k0 ^ s[3]!) >>> 0, k1 = (this.key.k1 ^ TOKEN_DOMAIN) >>> 0;
    const out = new Uint8Array(vocabSize);
    for (let j = 0; j * 4 < vocabSize; j++) {
      const o = philox(j, s[0]!, s[1]!, s[2]!, k0, k1);
      for (let w = 0; w < 4 && j * 4 + w < vocabSize; w++) out[j * 4 + w] = o[w]! >>> 8 < this.threshold ? 1 : 0;
    }
    return out;
  }
}

/** Logits with f32(delta) added to the green ones, in float32 as vLLM's `logits.float() + delta * green`. */
export function biasLogits(logits: Float32Array, mask: Uint8Array, delta: number): Float32Array {
  if (logits.length !== mask.length) throw new RangeError('logits and mask differ in length');
  const d = Math.fround(delta);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = mask[i] ? logits[i]! + d : logits[i]!;
  return out;
}

/**
 * Logits marked by several layers (docs/llm-watermark-spec.md §6.1): the subject's mask first, then
 * the global one, each adding f32(delta) in float32, as two vLLM logits processors in that order.
 * A token green in both layers gets 2·delta.
 */
export function biasLogitsLayers(logits: Float32Array, masks: readonly Uint8Array[], delta: number): Float32Array {
  let out: Float32Array = Float32Array.from(logits);
  for (const m of masks) out = biasLogits(out, m, delta);
  return out;
}
