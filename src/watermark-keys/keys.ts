// Per-subject watermark keys: 32 random bytes each (never derived: one leak must not expose all),
// stored only wrapped, published only as a commitment. Making, wrapping and unwrapping; pure but for randomness.
import { randomBytes, randomUUID } from 'node:crypto';
import { TAG } from '../crypto/domains.js';
import { keyCommitment } from '../watermark/decide.js';
import type { KeyEncryptionKey } from './kek.js';
import type { WrappedKey } from './repository.js';

export interface NewWatermarkKey {
  keyId: string;
  version: number;
  commitment: string;
  wrapped: Buffer;
  kekId: string;
}

export function wrapAad(subject: string, version: number, keyId: string): Buffer {
  return Buffer.from(`${TAG.wmKeyWrap}\0${subject}\0${version}\0${keyId}`, 'utf8');
}

/** Makes a fresh key; the plaintext lives only inside this call. */
export function newWatermarkKey(kek: KeyEncryptionKey, subject: string, version: number): NewWatermarkKey {
  const key = randomBytes(32);
  const keyId = randomUUID();
  try {
    return { keyId, version, commitment: keyCommitment(keyId, key), wrapped: kek.wrap(key, wrapAad(subject, version, keyId)), kekId: kek.id };
  } finally {
    key.fill(0);
  }
}

/** The raw key of a stored wrapped key. The caller zeroes it (`fill(0)`) when done. */
export function unwrapKey(kek: KeyEncryptionKey, k: WrappedKey): Buffer {
  return kek.unwrap(k.wrapped, wrapAad(k.subject, k.version, k.keyId));
}
