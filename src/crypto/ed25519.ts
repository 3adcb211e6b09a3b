// Ed25519 keys for the service. @noble/ed25519 generates and verifies (strict RFC 8032, the same
// code a browser runs: verification is in ed25519-verify.ts); node:crypto signs on hot paths
// because RFC 8032 signatures are deterministic, so both produce identical bytes (a test checks
// this) at ~15x the speed.
import * as ed from '@noble/ed25519';
import { createPrivateKey, createPublicKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { keyIdOf } from './ed25519-verify.js';

export { KEY_ID_DOMAIN, keyIdOf, verifyEd25519 } from './ed25519-verify.js';

// PKCS#8 / SPKI DER prefixes for Ed25519 (RFC 8410); the raw key follows.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface PublicKeyInfo {
  keyId: string;
  publicKey: Buffer; // 32 raw bytes
}

/** A signing key. The seed stays inside this object: it has no toJSON and prints as a key id. */
export class SigningKey {
  readonly keyId: string;
  readonly publicKey: Buffer;
  readonly #seed: Buffer;
  readonly #keyObject: KeyObject;
  #publicKeyPem: string | undefined;

  private constructor(seed: Uint8Array) {
    if (seed.length !== 32) throw new Error('an Ed25519 seed is 32 bytes');
    this.#seed = Buffer.from(seed);
    this.publicKey = Buffer.from(ed.getPublicKey(this.#seed));
    this.keyId = keyIdOf(this.publicKey);
    this.#keyObject = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, this.#seed]), format: 'der', type: 'pkcs8' });
  }

  static generate(): SigningKey {
    return new SigningKey(ed.utils.randomSecretKey());
  }

  static fromSeed(seed: Uint8Array): SigningKey {
    return new SigningKey(seed);
  }

  /** Reads a PKCS#8 PEM Ed25519 private key (what `openssl genpkey -algorithm ed25519` writes). */
  static fromPem(pem: string): SigningKey {
    let der: Buffer;
    try {
      der = createPrivateKey({ key: pem, format: 'pem' }).export({ format: 'der', type: 'pkcs8' });
    } catch {
      throw new Error('signing key file is not a PEM private key');
    }
    if (der.length !== 48 || !der.subarray(0, 16).equals(PKCS8_PREFIX)) {
      throw new Error('signing key file is not an Ed25519 PKCS#8 key');
    }
    return new SigningKey(der.subarray(16));
  }

  toPem(): string {
    return this.#keyObject.export({ format: 'pem', type: 'pkcs8' }).toString();
  }

  publicKeyPem(): string {
    // Every dossier prints it: encoded once.
    return (this.#publicKeyPem ??= publicKeyToPem(this.publicKey));
  }

  info(): PublicKeyInfo {
    return { keyId: this.keyId, publicKey: this.publicKey };
  }

  sign(message: Uint8Array): Buffer {
    return nodeSign(null, message, this.#keyObject);
  }

  /** The reference implementation's signature, for tests that prove both agree. */
  signWithNoble(message: Uint8Array): Buffer {
    return Buffer.from(ed.sign(message, this.#seed));
  }

  toJSON(): string {
    return `SigningKey(${this.keyId})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `SigningKey(${this.keyId})`;
  }
}

export function publicKeyToPem(publicKey: Uint8Array): string {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
    .export({ format: 'pem', type: 'spki' })
    .toString();
}

/** Accepts a PEM SPKI key, 64 hex digits, or padded standard base64 (RFC 4648 section 4) of the raw 32 bytes. */
export function parsePublicKey(text: string): Buffer {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) {
    const der = createPublicKey({ key: t, format: 'pem' }).export({ format: 'der', type: 'spki' });
    if (der.length !== 44 || !der.subarray(0, 12).equals(SPKI_PREFIX)) throw new Error('not an Ed25519 public key');
    return Buffer.from(der.subarray(12));
  }
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  // Strict: exactly the canonical padded form, as documented (no base64url, no missing padding, no stray bits).
  const b = /^[A-Za-z0-9+/]{43}=$/.test(t) ? Buffer.from(t, 'base64') : null;
  if (!b || b.length !== 32 || b.toString('base64') !== t) throw new Error('a public key is 32 bytes as 64 hex digits, padded standard base64 (44 characters), or PEM');
  return b;
}
