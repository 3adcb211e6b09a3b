// X.509 signature verification (ECDSA, RSA PKCS#1 v1.5) for Node, with node:crypto.
// src/crypto/signature.browser.ts has the same export for the browser build; a test checks that
// both accept and refuse the same signatures.
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import type { DigestName } from './cms-algorithms.js';

/**
 * Whether `signature` (DER for ECDSA) is `keyType`'s signature of `data` under the SubjectPublicKeyInfo
 * `spkiDer` with `digest`. False when it does not verify or the key is not of that type; throws
 * only for a key that does not parse.
 */
export function verifySignature(keyType: 'ec' | 'rsa', digest: DigestName, spkiDer: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const key = createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== keyType) return false;
  return keyType === 'ec' ? cryptoVerify(digest, data, { key, dsaEncoding: 'der' }, signature) : cryptoVerify(digest, data, key, signature);
}
