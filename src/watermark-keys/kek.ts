// The key-encryption key that wraps every subject's watermark key (AES-256-GCM).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { sha256 } from '../crypto/hash.js';
import { TAG, tagBytes } from '../crypto/domains.js';
import { AppError } from '../problems/app-error.js';

const NONCE = 12;
const TAG_BYTES = 16;

export class KeyEncryptionKey {
  readonly id: string;
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new AppError('key_file_invalid', 'the master key must be 32 bytes');
    this.#key = Buffer.from(key);
    this.id = sha256(tagBytes(TAG.kekId), this.#key).subarray(0, 8).toString('hex');
  }

  /** nonce(12) || ciphertext || tag(16); `aad` binds the wrapped key to its subject and version. */
  wrap(plain: Uint8Array, aad: Uint8Array): Buffer {
    const nonce = randomBytes(NONCE);
    const c = createCipheriv('aes-256-gcm', this.#key, nonce);
    c.setAAD(aad);
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([nonce, body, c.getAuthTag()]);
  }

  unwrap(wrapped: Uint8Array, aad: Uint8Array): Buffer {
    const w = Buffer.from(wrapped);
    if (w.length < NONCE + TAG_BYTES) throw new Error('wrapped key is truncated');
    const d = createDecipheriv('aes-256-gcm', this.#key, w.subarray(0, NONCE));
    d.setAAD(aad);
    d.setAuthTag(w.subarray(w.length - TAG_BYTES));
    return Buffer.concat([d.update(w.subarray(NONCE, w.length - TAG_BYTES)), d.final()]);
  }

  /** A 32-byte key for another purpose: HKDF-SHA256(master key, salt "", info, 32), `info` a domain tag. */
  derive(info: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), Buffer.from(info, 'utf8'), 32));
  }

  toJSON(): string {
    return `KeyEncryptionKey(${this.id})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KeyEncryptionKey(${this.id})`;
  }
}
