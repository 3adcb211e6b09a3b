// Salted commitments to personal facts (docs/personal-data.md). An event holds only the commitment;
// the opening (salt and value) lives beside the ledger in an erasable table. Pure and browser-safe:
// the dossier verifier checks openings with this module in Node and on the verification page.
import { canonicalBytes } from '../canonical/jcs.js';
import { TAG, tagBytes } from '../crypto/domains.js';
import { constantTimeEqual, sha256 } from '../crypto/hash.js';

/** The groups of personal facts, each committed under its own domain tag. */
export const PERSONAL_GROUPS = {
  /** The subject identifier the client uses for the person. */
  subject: TAG.pdSubject,
  /** Where a request came from: IP address, user agent, page URL. */
  network: TAG.pdNetwork,
  /** How the client authenticated the person: method, session id, MFA. */
  session: TAG.pdSession,
  /** Free text a client supplies that may name people (a withdrawal's reason, a dossier's recipients). */
  free_text: TAG.pdFreeText,
} as const;

export type PersonalGroup = keyof typeof PERSONAL_GROUPS;
export const GROUP_NAMES = Object.keys(PERSONAL_GROUPS) as PersonalGroup[];

export const SALT_BYTES = 32;
const HEX64 = /^[0-9a-f]{64}$/;

/** An opening: what was committed (its group, the salt and the value). */
export interface Opening {
  group: PersonalGroup;
  /** 32 bytes, lowercase hex. */
  salt: string;
  value: unknown;
}

export function isGroup(g: unknown): g is PersonalGroup {
  return typeof g === 'string' && Object.prototype.hasOwnProperty.call(PERSONAL_GROUPS, g);
}

/** SHA-256(tag || 0x00 || salt || canonical(value)), lowercase hex. */
export function commitmentOf(group: PersonalGroup, salt: Uint8Array, value: unknown): string {
  return commitmentOfBytes(group, salt, canonicalBytes(value));
}

/** The same over the value's RFC 8785 bytes, already computed. */
function commitmentOfBytes(group: PersonalGroup, salt: Uint8Array, valueBytes: Uint8Array): string {
  if (salt.length !== SALT_BYTES) throw new Error(`a commitment salt is ${SALT_BYTES} bytes, not ${salt.length}`);
  return sha256(GROUP_TAG_BYTES[group], salt, valueBytes).toString('hex');
}

const GROUP_TAG_BYTES: Record<PersonalGroup, Uint8Array> = {
  subject: tagBytes(PERSONAL_GROUPS.subject), network: tagBytes(PERSONAL_GROUPS.network), session: tagBytes(PERSONAL_GROUPS.session), free_text: tagBytes(PERSONAL_GROUPS.free_text),
};

/**
 * A new commitment to `value` under a fresh random salt, with its opening and the value's RFC 8785
 * bytes (what was hashed: the store and receipts keep those bytes, so nothing canonicalises twice).
 */
export function commit(group: PersonalGroup, value: unknown): { commitment: string; opening: Opening; valueBytes: Buffer } {
  const salt = freshSalt();
  const valueBytes = canonicalBytes(value);
  return { commitment: commitmentOfBytes(group, salt, valueBytes), opening: { group, salt: Buffer.from(salt).toString('hex'), value }, valueBytes };
}

// Salts are cut from a pool of random bytes refilled 128 salts at a time: one call to the random
// source per 128 salts instead of one each (an acceptance takes four or five).
let pool = new Uint8Array(0);
let used = 0;
function freshSalt(): Uint8Array {
  if (used + SALT_BYTES > pool.length) {
    pool = new Uint8Array(SALT_BYTES * 128);
    globalThis.crypto.getRandomValues(pool);
    used = 0;
  }
  const salt = pool.subarray(used, used + SALT_BYTES);
  used += SALT_BYTES;
  return salt;
}

/**
 * Why an opening does not open `commitment`, or null when it does. Every member is hostile: a
 * malformed salt, an unknown group or a value that cannot be canonicalised fails, never throws.
 */
export function openingProblem(commitment: string, opening: unknown, expectedGroup?: PersonalGroup): string | null {
  if (typeof opening !== 'object' || opening === null) return 'the opening is not an object';
  const o = opening as Record<string, unknown>;
  if (!isGroup(o.group)) return `the opening's group ${JSON.stringify(o.group)} is not one of ${GROUP_NAMES.join(', ')}`;
  if (expectedGroup && o.group !== expectedGroup) return `the opening is of group ${o.group}, the commitment of group ${expectedGroup}`;
  if (typeof o.salt !== 'string' || !HEX64.test(o.salt)) return 'the opening\'s salt is not 32 bytes of lowercase hex';
  if (!('value' in o)) return 'the opening has no value';
  if (typeof commitment !== 'string' || !HEX64.test(commitment)) return 'the commitment is not 32 bytes of lowercase hex';
  let computed: string;
  try {
    computed = commitmentOf(o.group, Buffer.from(o.salt, 'hex'), o.value);
  } catch {
    return 'the opening\'s value cannot be put in canonical form';
  }
  return constantTimeEqual(Buffer.from(computed, 'hex'), Buffer.from(commitment, 'hex')) ? null : `SHA-256 of the opening (${computed}) is not the commitment ${commitment}`;
}
