// The key-encryption key that wraps every subject's watermark key (AES-256-GCM).
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { sha256 } from '../crypto/hash.js';
import { TAG, tagBytes } from '../crypto/domains.js';
import { KeyFileError, loadOrCreate } from '../keys/files.js';

const NONCE = 12;
const TAG_BYTES = 16;

export class KeyEncryptionKey {
  readonly id: string;
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new KeyFileError('the master key must be 32 bytes');
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

  toJSON(): string {
    return `KeyEncryptionKey(${this.id})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KeyEncryptionKey(${this.id})`;
  }
}

/** The master key file holds 32 random bytes as 64 hex digits. */
export function loadKek(config: Config): KeyEncryptionKey {
  const embedded = !config.databaseUrl;
  const file = config.masterKeyFile ?? (embedded ? path.join(config.dataDir, 'master-key.hex') : undefined);
  if (!file) {
    throw new KeyFileError('ASSENTMARK_MASTER_KEY_FILE must be set when DATABASE_URL is (create one with `assentmark keys generate-master-key FILE`)');
  }
  const text = loadOrCreate(file, 'master key', embedded && !config.masterKeyFile ? () => randomBytes(32).toString('hex') + '\n' : null).toString('utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new KeyFileError(`master key file ${file} must hold 64 hex digits`);
  return new KeyEncryptionKey(Buffer.from(text, 'hex'));
}

export function generateMasterKeyText(): string {
  return randomBytes(32).toString('hex') + '\n';
}
