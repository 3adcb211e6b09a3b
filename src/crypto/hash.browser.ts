// The browser's twin of src/crypto/hash.ts (same exports, @noble/hashes instead of node:crypto).
// The verification page is built with this file in place of hash.ts; test/crypto-twins.test.ts
// checks that both give the same bytes.
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 as nobleSha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { Buffer } from 'buffer';
import type { DigestName } from './cms-algorithms.js';

const HASHES = { sha1, sha256: nobleSha256, sha384, sha512 } as const;

export function digestOf(name: DigestName | 'sha1', ...parts: Uint8Array[]): Buffer {
  const h = HASHES[name].create();
  for (const p of parts) h.update(p);
  return Buffer.from(h.digest());
}

export function sha256(...parts: Uint8Array[]): Buffer {
  return digestOf('sha256', ...parts);
}

export function sha256Hex(...parts: Uint8Array[]): string {
  return sha256(...parts).toString('hex');
}

export function sha256Of(data: Uint8Array): Buffer {
  return Buffer.from(nobleSha256(data));
}

export interface Sha256Stream {
  update(data: Uint8Array | string): Sha256Stream;
  hex(): string;
}

const utf8 = new TextEncoder();

/** Strings are hashed as UTF-8, as node:crypto does. */
export function sha256Stream(): Sha256Stream {
  const h = nobleSha256.create();
  const s: Sha256Stream = {
    update: (data) => {
      h.update(typeof data === 'string' ? utf8.encode(data) : data);
      return s;
    },
    hex: () => Buffer.from(h.digest()).toString('hex'),
  };
  return s;
}

/** Constant-time equality: every byte is compared whatever the earlier ones were. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
