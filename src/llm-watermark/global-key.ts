// The optional global text-watermark key (docs/llm-watermark-spec.md §6.1): 32 random bytes shared
// by every account, wrapped with the key-encryption key like a subject's watermark key, committed
// with the same commitment scheme, and used only through its HKDF-derived PRF key per parameter
// set. Making, wrapping, unwrapping and deriving; pure but for randomness.
import { hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import { TAG, tagBytes } from '../crypto/domains.js';
import { keyCommitment } from '../watermark/decide.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';

export interface NewGlobalKey {
  version: number;
  keyId: string;
  commitment: string;
  wrapped: Buffer;
  kekId: string;
}

/** AES-GCM additional data: binds the wrapped bytes to the global layer, its version and key id. */
export function globalWrapAad(version: number, keyId: string): Buffer {
  return Buffer.from(`${TAG.llmGlobalWrap}\0${version}\0${keyId}`, 'utf8');
}

/** A fresh global key; the plaintext lives only inside this call. */
export function newGlobalKey(kek: KeyEncryptionKey, version: number): NewGlobalKey {
  const key = randomBytes(32);
  const keyId = randomUUID();
  try {
    return { version, keyId, commitment: keyCommitment(keyId, key), wrapped: kek.wrap(key, globalWrapAad(version, keyId)), kekId: kek.id };
  } finally {
    key.fill(0);
  }
}

/** The raw global key (the caller zeroes it). */
export function unwrapGlobalKey(kek: KeyEncryptionKey, k: { version: number; keyId: string; wrapped: Buffer }): Buffer {
  return kek.unwrap(k.wrapped, globalWrapAad(k.version, k.keyId));
}

/** The global layer's 8-byte PRF key for a parameter set: HKDF-SHA256 with its own info tag. */
export function deriveGlobalTextKey(globalKey: Uint8Array, parameterSetIdHex: string): Buffer {
  if (globalKey.length !== 32) throw new RangeError('a global key is 32 bytes');
  const info = Buffer.concat([tagBytes(TAG.llmGlobalKey), Buffer.from(parameterSetIdHex, 'ascii')]);
  return Buffer.from(hkdfSync('sha256', globalKey, Buffer.alloc(0), info, 8));
}
