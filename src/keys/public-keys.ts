// The one loader of the public keys a verifier is told to trust (every `--public-key` option):
// a file or a literal, holding a keys.json as served at /.well-known/assentmark/keys.json, a PEM
// SPKI key, 64 hex digits or padded standard base64 (RFC 4648 section 4) of the 32 raw bytes.
import { readFileSync } from 'node:fs';
import { keyIdOf, parsePublicKey } from '../crypto/ed25519.js';

export class TrustedKeyError extends Error {}

/** The keys `arg` names, in its order (a keys.json lists the current key first). */
export function readTrustedKeys(arg: string): Buffer[] {
  let text = arg;
  try {
    text = readFileSync(arg, 'utf8');
  } catch {
    // a literal key
  }
  if (text.trim().startsWith('{')) return keysJson(text);
  try {
    return [parsePublicKey(text)];
  } catch (e) {
    throw new TrustedKeyError((e as Error).message);
  }
}

function keysJson(text: string): Buffer[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new TrustedKeyError('the keys file is not JSON (save /.well-known/assentmark/keys.json as it is served)');
  }
  const list = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(list) || list.length === 0) throw new TrustedKeyError('the keys file lists no keys');
  return list.map((k: unknown, i) => {
    const { public_key: pub, key_id: id } = (k ?? {}) as { public_key?: unknown; key_id?: unknown };
    let key: Buffer;
    try {
      if (typeof pub !== 'string') throw new Error('public_key is not a string');
      key = parsePublicKey(pub);
    } catch (e) {
      throw new TrustedKeyError(`key ${i + 1} in the keys file is malformed: ${(e as Error).message}`);
    }
    // A key id that does not name this key means the file was edited: trust nothing from it.
    if (id !== undefined && id !== keyIdOf(key)) throw new TrustedKeyError(`key ${i + 1} in the keys file: key_id ${JSON.stringify(id)} is not the id of its public_key (${keyIdOf(key)})`);
    return key;
  });
}
