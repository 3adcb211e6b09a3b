// Hand-written checks for the fast validation paths of large bodies (gateway batches, sample
// lists). Each mirrors a zod field schema in fields.ts and may only be stricter, never looser.
export const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const SUBJECT_RE = /^[\x20-\x7e]+$/;
export const SHA256_RE = /^[0-9a-f]{64}$/;
export const MAX_NUM_CLASSES = 2 ** 31 - 1;

export function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export const isLabel = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
export const isNumClasses = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 2 && v <= MAX_NUM_CLASSES;
export const isDigestHex = (v: unknown): boolean => typeof v === 'string' && SHA256_RE.test(v);
