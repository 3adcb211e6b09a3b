// The master key (key-encryption key) that wraps every watermark key: loaded, or created on an
// embedded instance's first start.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { KeyEncryptionKey } from '../watermark-keys/kek.js';
import { KeyFileError, loadOrCreate } from './files.js';

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
