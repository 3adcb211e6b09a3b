// The key of subject pseudonyms (docs/personal-data.md): ASSENTMARK_PSEUDONYM_KEY_FILE (64 hex
// digits) when set, else derived from the master key, so an existing installation needs nothing new.
// Changing it changes every pseudonym: lookups of earlier events would find nothing.
import { TAG } from '../crypto/domains.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';
import { KeyFileError, readSecretFile } from './files.js';

export function loadPseudonymKey(file: string | undefined, kek: KeyEncryptionKey): Buffer {
  if (!file) return kek.derive(TAG.pseudonymKey);
  const text = readSecretFile(file, 'pseudonym key').toString('utf8').trim();
  if (!/^[0-9a-f]{64}$/i.test(text)) throw new KeyFileError(`pseudonym key file ${file} must hold 64 hex digits (e.g. openssl rand -hex 32)`);
  return Buffer.from(text, 'hex');
}
