// Ed25519 key ids and strict verification with @noble/ed25519: no node:crypto, so the browser
// verification page runs this same module (its SHA-512 comes from ./hash.js or its browser twin).
import * as ed from '@noble/ed25519';
import { digestOf, sha256 } from './hash.js';
import { TAG, tagBytes } from './domains.js';

ed.hashes.sha512 = (m: Uint8Array) => new Uint8Array(digestOf('sha512', m));

export const KEY_ID_DOMAIN = tagBytes(TAG.keyId);

/** A key id is the first 16 bytes of a domain-separated SHA-256 of the raw public key, in hex. */
export function keyIdOf(publicKey: Uint8Array): string {
  return sha256(KEY_ID_DOMAIN, publicKey).subarray(0, 16).toString('hex');
}

/** Strict RFC 8032 verification (no ZIP-215 leniency). Never throws on hostile input. */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
