// Signing-key rotation: a `signing_key.added` event names the new key and carries two signatures
// over one statement (origin, previous key id, new key): the previous key's, which authorises the
// change, and the new key's, which proves it is held by whoever made the change. A verifier who
// trusts any key of the chain can therefore follow it back to the genesis key. Pure.
import { canonicalBytes } from '../canonical/jcs.js';
import { TAG, tagBytes } from '../crypto/domains.js';
import { keyIdOf, verifyEd25519, type SigningKey } from '../crypto/ed25519.js';

export interface KeyRotationStatement {
  origin: string;
  previous_key_id: string;
  key: { alg: 'Ed25519'; key_id: string; public_key: string };
}

/** The exact bytes both keys sign. */
export function rotationMessage(s: KeyRotationStatement): Buffer {
  return Buffer.concat([tagBytes(TAG.keyRotation), canonicalBytes(s)]);
}

export function rotationData(origin: string, previous: SigningKey, next: SigningKey, reason: string) {
  const statement: KeyRotationStatement = { origin, previous_key_id: previous.keyId, key: { alg: 'Ed25519', key_id: next.keyId, public_key: next.publicKey.toString('base64') } };
  const msg = rotationMessage(statement);
  return { ...statement, reason, authorised_by_previous: previous.sign(msg).toString('base64'), accepted_by_new: next.sign(msg).toString('base64') };
}

export type RotationCheck = { ok: true; keyId: string; publicKey: Buffer } | { ok: false; reason: string };

/**
 * Checks a `signing_key.added` event's data (hostile) against the key current before it: names it
 * as previous, is signed by it and by the new key, and the new key id is the new key's.
 */
export function checkRotation(data: unknown, origin: string, current: { keyId: string; publicKey: Uint8Array }): RotationCheck {
  const d = data as Record<string, unknown> | null;
  const key = d && typeof d === 'object' ? (d.key as Record<string, unknown> | undefined) : undefined;
  if (!d || !key || key.alg !== 'Ed25519' || typeof key.public_key !== 'string' || typeof key.key_id !== 'string' || typeof d.previous_key_id !== 'string' ||
    typeof d.authorised_by_previous !== 'string' || typeof d.accepted_by_new !== 'string' || d.origin !== origin) {
    return { ok: false, reason: 'the key rotation lacks origin, previous key id, new key or its two signatures' };
  }
  const pub = Buffer.from(key.public_key, 'base64');
  if (pub.length !== 32 || pub.toString('base64') !== key.public_key || keyIdOf(pub) !== key.key_id) return { ok: false, reason: 'the new key is malformed or its key id does not match' };
  if (d.previous_key_id !== current.keyId) return { ok: false, reason: `the rotation names ${d.previous_key_id} as the previous key, but the current key is ${current.keyId}` };
  const msg = rotationMessage({ origin, previous_key_id: d.previous_key_id, key: { alg: 'Ed25519', key_id: key.key_id, public_key: key.public_key } });
  // Strict: the one canonical padded base64 of the 64 bytes, as the service writes it (a lenient
  // decoder would read other spellings of the same bytes, so the evidence could be re-spelt).
  const byPrevious = canonicalSignature(d.authorised_by_previous);
  const byNew = canonicalSignature(d.accepted_by_new);
  if (!byPrevious || !byNew) return { ok: false, reason: 'a rotation signature is not the canonical base64 of 64 bytes' };
  if (!verifyEd25519(byPrevious, msg, current.publicKey)) return { ok: false, reason: 'the rotation is not signed by the previous key' };
  if (!verifyEd25519(byNew, msg, pub)) return { ok: false, reason: 'the rotation is not signed by the new key' };
  return { ok: true, keyId: key.key_id, publicKey: pub };
}

function canonicalSignature(s: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]{86}==$/.test(s)) return null;
  const b = Buffer.from(s, 'base64');
  return b.length === 64 && b.toString('base64') === s ? b : null;
}
