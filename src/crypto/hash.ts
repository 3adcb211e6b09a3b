// Hashing for Node (node:crypto, native speed). src/crypto/hash.browser.ts has the same exports
// for the browser (@noble/hashes); the browser build swaps one for the other, and a test checks
// that both give the same bytes.
import { createHash, hash, timingSafeEqual } from 'node:crypto';
import type { DigestName } from './cms-algorithms.js';

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

export function sha256Hex(...parts: Uint8Array[]): string {
  return sha256(...parts).toString('hex');
}

/**
 * SHA-256 of one buffer, the cheapest call (the Merkle and chain loops). A latin1 ('binary') string
 * digest and a Buffer made from it cost half of what a 'buffer' digest does.
 */
export function sha256Of(data: Uint8Array): Buffer {
  return Buffer.from(hash('sha256', data, 'binary'), 'latin1');
}

/** An incremental SHA-256 (streamed digests such as a sample list's). */
export interface Sha256Stream {
  update(data: Uint8Array | string): Sha256Stream;
  hex(): string;
}

/** Strings are hashed as UTF-8. */
export function sha256Stream(): Sha256Stream {
  const h = createHash('sha256');
  const s: Sha256Stream = {
    update: (data) => {
      h.update(data);
      return s;
    },
    hex: () => h.digest('hex'),
  };
  return s;
}

/** SHA-256, SHA-384 or SHA-512 (or SHA-1, which only an ESS v1 certificate id may use) of the parts. */
export function digestOf(name: DigestName | 'sha1', ...parts: Uint8Array[]): Buffer {
  const h = createHash(name);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Constant-time equality for secrets and MACs; different lengths are simply unequal. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}
