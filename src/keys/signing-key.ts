import path from 'node:path';
import type { Config } from '../config/config.js';
import { SigningKey } from '../crypto/ed25519.js';
import { KeyFileError, loadOrCreate } from './files.js';

/** Embedded mode generates the key into the data directory; a real server must be given one. */
export function loadSigningKey(config: Config): SigningKey {
  const embedded = !config.databaseUrl;
  const file = config.signingKeyFile ?? (embedded ? path.join(config.dataDir, 'signing-key.pem') : undefined);
  if (!file) {
    throw new KeyFileError('ASSENTMARK_SIGNING_KEY_FILE must be set when DATABASE_URL is (create one with `assentmark keys generate-signing-key FILE`)');
  }
  const pem = loadOrCreate(file, 'signing key', embedded && !config.signingKeyFile ? () => SigningKey.generate().toPem() : null);
  return SigningKey.fromPem(pem.toString('utf8'));
}
