// The bearer token a Prometheus server scrapes /metrics with (ASSENTMARK_METRICS_TOKEN_FILE): it
// grants nothing else, so a scraper never holds an admin key. Compared in constant time.
import { constantTimeEqual, sha256 } from '../crypto/hash.js';
import { KeyFileError, readSecretFile } from './files.js';

const TOKEN = /^[\x21-\x7e]{32,256}$/;

/** A check of presented tokens against the file's token, or null when no file is configured. */
export function loadMetricsToken(file: string | undefined): ((presented: string) => boolean) | null {
  if (!file) return null;
  const text = readSecretFile(file, 'metrics token').toString('utf8').replace(/\r?\n$/, '');
  if (!TOKEN.test(text)) throw new KeyFileError(`metrics token file ${file} must hold one token of 32 to 256 printable ASCII characters without spaces (e.g. openssl rand -hex 32)`);
  // Hashes of equal length, so the comparison takes the same time whatever was presented.
  const expected = sha256(Buffer.from(text, 'utf8'));
  return (presented) => constantTimeEqual(sha256(Buffer.from(presented, 'utf8')), expected);
}
