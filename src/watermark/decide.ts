// DAWN watermark decision (Szyller et al., ACM MM 2021): a keyed, deterministic choice of which
// answers to alter and what to serve instead. Pure (no I/O); byte layouts are fixed by
// docs/watermark-spec.md and must stay reproducible by gateways in other languages.
import { createHash, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { AppError } from '../problems/app-error.js';
import { TAG } from '../crypto/domains.js';

export type WatermarkErrorCode =
  | 'invalid_key'
  | 'invalid_key_id'
  | 'invalid_digest'
  | 'invalid_num_classes'
  | 'label_out_of_range'
  | 'invalid_rate'
  | 'invalid_threshold'
  | 'invalid_probabilities'
  | 'invalid_sample'
  | 'no_samples'
  | 'two_class_unsupported'
  | 'invalid_alpha'
  | 'invalid_subjects_screened';

/** A bad argument to the algorithm; each code is registered (problems/registry.ts). */
export class WatermarkError extends AppError<WatermarkErrorCode> {}

export const KEY_BYTES = 32;
export const DIGEST_BYTES = 32;
/** Largest supported number of classes (labels fit a signed 32-bit integer). */
export const MAX_CLASSES = 2 ** 31 - 1;
export const DECIDE_DOMAIN = TAG.wmDecide;
export const COMMIT_DOMAIN = TAG.wmCommit;
/** Default watermarking rate, as the exact decimal string the threshold is derived from. */
export const DEFAULT_RATE = '0.005';
export const TWO_POW_64 = 1n << 64n;

export interface Decision {
  /** True when the key selects this input for watermarking. */
  watermarked: boolean;
  /** The label to serve: the true label, or the watermark label (never the true one) if watermarked. */
  label: number;
}

export interface DecideItem {
  inputDigest: Uint8Array;
  label: number;
  numClasses: number;
}

// ---------------------------------------------------------------------------------------------
// Rate → threshold

const DECIMAL = /^(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d{1,4}))?$/;

/**
 * threshold = floor(R · 2^64), where R is the rate as an exact decimal number. A string is read
 * as written ("0.005", "1e-7"); a number is first turned into its shortest round-trip decimal
 * (String(x), equal to Python's repr and Go's FormatFloat(x, 'g', -1, 64)), so 0.005 means exactly
 * 5/1000, not the binary double nearest to it. Rate 1 gives 2^64: every input is watermarked.
 */
export function rateToThreshold(rate: number | string): bigint {
  if (typeof rate === 'number' && !Number.isFinite(rate)) throw new WatermarkError('invalid_rate', `rate must be finite, got ${rate}`);
  const text = typeof rate === 'number' ? String(rate) : rate;
  const match = DECIMAL.exec(text);
  if (!match) throw new WatermarkError('invalid_rate', `rate must be a decimal number in [0, 1], got ${JSON.stringify(text)}`);
  const [, int = '', frac = '', exp = '0'] = match;
  // R = digits · 10^scale
  const digits = BigInt(int + frac);
  const scale = Number(exp) - frac.length;
  const num = scale >= 0 ? digits * 10n ** BigInt(scale) : digits;
  const den = scale >= 0 ? 1n : 10n ** BigInt(-scale);
  if (num > den) throw new WatermarkError('invalid_rate', `rate must be in [0, 1], got ${text}`);
  return (num << 64n) / den;
}

/** The rate a threshold stands for, as a double (for display only). */
export function thresholdToRate(threshold: bigint): number {
  checkThreshold(threshold);
  return Number(threshold) / 2 ** 64;
}

// The hot path compares the u64 as two u32 halves, so the threshold is pre-split once.
interface SplitThreshold {
  all: boolean; // threshold = 2^64: everything is below it
  hi: number;
  lo: number;
}

function checkThreshold(threshold: bigint): void {
  if (typeof threshold !== 'bigint' || threshold < 0n || threshold > TWO_POW_64) {
    throw new WatermarkError('invalid_threshold', `threshold must be a bigint in [0, 2^64], got ${String(threshold)}`);
  }
}

function splitThreshold(threshold: bigint): SplitThreshold {
  checkThreshold(threshold);
  if (threshold === TWO_POW_64) return { all: true, hi: 0, lo: 0 };
  return { all: false, hi: Number(threshold >> 32n), lo: Number(threshold & 0xffffffffn) };
}

// decide() is usually called with the same threshold over and over: keep the last split.
let lastThreshold: bigint | undefined;
let lastSplit: SplitThreshold = { all: false, hi: 0, lo: 0 };
function cachedSplit(threshold: bigint): SplitThreshold {
  if (threshold !== lastThreshold) {
    lastSplit = splitThreshold(threshold);
    lastThreshold = threshold;
  }
  return lastSplit;
}

// ---------------------------------------------------------------------------------------------
// Decision

const DOMAIN_BYTES = Buffer.from(`${DECIDE_DOMAIN}\0`, 'ascii');
const DIGEST_OFFSET = DOMAIN_BYTES.length;
// One shared message buffer: HMAC update() copies synchronously, so reuse is safe.
const MESSAGE = Buffer.alloc(DIGEST_OFFSET + DIGEST_BYTES);
DOMAIN_BYTES.copy(MESSAGE);

/** The exact bytes that are MACed for an input digest: DECIDE_DOMAIN || 0x00 || digest (fresh copy). */
export function decideMessage(inputDigest: Uint8Array): Buffer {
  checkDigest(inputDigest);
  const out = Buffer.from(MESSAGE);
  out.set(inputDigest, DIGEST_OFFSET);
  return out;
}

/**
 * (hi · 2^32 + lo) mod d, exactly, for hi, lo < 2^32 and 1 <= d <= 2^32. Every intermediate
 * value stays below 2^49, so plain Number arithmetic is exact (no BigInt on the hot path).
 */
export function mod64(hi: number, lo: number, d: number): number {
  let r = (hi * 65536) % d; // hi · 2^16 mod d
  r = (r * 65536) % d; // hi · 2^32 mod d
  return (r + lo) % d;
}

function decideCore(key: Uint8Array | KeyObject, digest: Uint8Array, label: number, k: number, t: SplitThreshold): Decision {
  MESSAGE.set(digest, DIGEST_OFFSET);
  return decideMessageCore(key, label, k, t);
}

/** The decision for the digest already in MESSAGE. */
function decideMessageCore(key: Uint8Array | KeyObject, label: number, k: number, t: SplitThreshold): Decision {
  const h = createHmac('sha256', key).update(MESSAGE).digest();
  const hi = h.readUInt32BE(0);
  const marked = t.all || hi < t.hi || (hi === t.hi && h.readUInt32BE(4) < t.lo);
  if (!marked) return { watermarked: false, label };
  // Offset in 1..k-1, so the served label is never the true one.
  return { watermarked: true, label: (label + 1 + mod64(h.readUInt32BE(8), h.readUInt32BE(12), k - 1)) % k };
}

/**
 * Decides whether the answer for `inputDigest` (SHA-256 of the query input) is watermarked under
 * `key`, and which label to serve. Watermarked iff u64(h[0..8]) < threshold, where
 * h = HMAC-SHA256(key, "assentmark/wm-decide/v1" || 0x00 || inputDigest).
 */
export function decide(key: Uint8Array, inputDigest: Uint8Array, label: number, numClasses: number, threshold: bigint): Decision {
  checkKey(key);
  checkDigest(inputDigest);
  checkLabel(label, numClasses);
  return decideCore(key, inputDigest, label, numClasses, cachedSplit(threshold));
}

/** Decides many answers for one key and threshold (key and threshold are validated once). */
export function decideMany(key: Uint8Array, items: readonly DecideItem[], threshold: bigint): Decision[] {
  const decider = new WatermarkDecider(key, threshold);
  return items.map((it) => decider.decide(it.inputDigest, it.label, it.numClasses));
}

/** A key and threshold bound once, for serving or verifying many answers of one subject. */
export class WatermarkDecider {
  readonly #key: KeyObject;
  readonly #threshold: SplitThreshold;

  constructor(key: Uint8Array, threshold: bigint) {
    checkKey(key);
    this.#key = createSecretKey(Buffer.from(key)); // copied: later caller mutation cannot leak in
    this.#threshold = splitThreshold(threshold);
  }

  decide(inputDigest: Uint8Array, label: number, numClasses: number): Decision {
    checkDigest(inputDigest);
    checkLabel(label, numClasses);
    return decideCore(this.#key, inputDigest, label, numClasses, this.#threshold);
  }

  /**
   * decide() for a digest in its text form (64 lowercase hex, checked), decoded straight into the
   * MACed message: no Buffer per call. Same result as decide(parseDigestHex(hex), label, numClasses).
   */
  decideHex(inputDigestHex: string, label: number, numClasses: number): Decision {
    if (typeof inputDigestHex !== 'string' || !HEX64.test(inputDigestHex)) throw new WatermarkError('invalid_digest', 'digest must be 64 lowercase hex characters');
    checkLabel(label, numClasses);
    MESSAGE.write(inputDigestHex, DIGEST_OFFSET, DIGEST_BYTES, 'hex');
    return decideMessageCore(this.#key, label, numClasses, this.#threshold);
  }
}

/**
 * For probability-vector answers: a copy of `probs` with the entries of the true and the
 * watermark label swapped, so the watermark label becomes the top answer. Identity (a copy) when
 * both labels are equal, so `swapProbabilities(p, y, decision.label)` is safe for any decision.
 */
export function swapProbabilities(probs: readonly number[], trueLabel: number, wmLabel: number): number[] {
  if (!Array.isArray(probs) || probs.length < 2) throw new WatermarkError('invalid_probabilities', 'probs must be an array of at least 2 numbers');
  checkLabel(trueLabel, probs.length);
  checkLabel(wmLabel, probs.length);
  const out = probs.slice();
  out[trueLabel] = probs[wmLabel] as number;
  out[wmLabel] = probs[trueLabel] as number;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared with the gateway, the ledger and verification

const COMMIT_PREFIX = Buffer.from(`${COMMIT_DOMAIN}\0`, 'ascii');
const NUL = Buffer.from([0]);
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * Hex SHA-256 of "assentmark/wm-commit/v1" || 0x00 || UTF-8(keyId) || 0x00 || key. The key id may
 * not contain NUL (it is the separator) or lone surrogates (they have no UTF-8 encoding).
 */
export function keyCommitment(keyId: string, key: Uint8Array): string {
  if (typeof keyId !== 'string' || keyId.length === 0 || keyId.includes('\0') || LONE_SURROGATE.test(keyId)) {
    throw new WatermarkError('invalid_key_id', 'key id must be a non-empty string without NUL or lone surrogates');
  }
  checkKey(key);
  return createHash('sha256').update(COMMIT_PREFIX).update(Buffer.from(keyId, 'utf8')).update(NUL).update(key).digest('hex');
}


const HEX64 = /^[0-9a-f]{64}$/;
/** Parses a 64-character lowercase hex digest (the canonical text form). */
export function parseDigestHex(hex: string): Buffer {
  if (typeof hex !== 'string' || !HEX64.test(hex)) throw new WatermarkError('invalid_digest', 'digest must be 64 lowercase hex characters');
  return Buffer.from(hex, 'hex');
}

/** The benchmark baseline: a bare HMAC-SHA256 of the same bytes decide() MACs. */
export function bareHmacBaseline(key: Uint8Array, message: Uint8Array): Buffer {
  return createHmac('sha256', key).update(message).digest();
}

export function checkNumClasses(numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 2 || numClasses > MAX_CLASSES) {
    throw new WatermarkError('invalid_num_classes', `numClasses must be an integer in [2, ${MAX_CLASSES}], got ${numClasses}`);
  }
}

function checkLabel(label: number, numClasses: number): void {
  checkNumClasses(numClasses);
  if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
    throw new WatermarkError('label_out_of_range', `label must be an integer in [0, ${numClasses}), got ${label}`);
  }
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) throw new WatermarkError('invalid_key', `key must be ${KEY_BYTES} bytes`);
}

function checkDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES) {
    throw new WatermarkError('invalid_digest', `input digest must be ${DIGEST_BYTES} bytes`);
  }
}
