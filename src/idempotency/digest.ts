// Idempotency-Key semantics: a retry with the same key and body answers with the original
// record; the same key with another body is refused. The header's syntax is checked by
// the route table (http/route.ts); this is what a key means.
import { canonicalBytes } from '../canonical/jcs.js';
import { constantTimeEqual, sha256Hex } from '../crypto/hash.js';
import { AppError } from '../problems/app-error.js';
import type { PriorUse } from './repository.js';

/** The request a key was used for, as a digest of its kind and canonical body. */
export function requestDigest(kind: string, input: object): string {
  return sha256Hex(canonicalBytes({ kind, ...input }));
}

/** The record a prior use of the key produced, or null when the key is new. */
export function priorRecordId(prior: PriorUse | undefined, digest: string): string | null {
  if (!prior) return null;
  if (!sameDigest(prior.requestSha256, digest)) {
    throw new AppError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request body; use a new key for a new request');
  }
  return prior.recordId;
}

/** Digests compared in constant time (hex strings of equal length when both are SHA-256). */
export function sameDigest(a: string, b: string): boolean {
  return constantTimeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
