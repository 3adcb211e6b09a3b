// The byte-exact ledger format (docs/ledger-format.md). Pure: no I/O.
import { canonicalBytes } from '../canonical/jcs.js';
import { sha256, sha256Of } from '../crypto/hash.js';
import { CHAIN_PREFIX, LEAF_PREFIX, TAG, tagBytes } from '../crypto/domains.js';
import type { SealedOpening } from '../privacy/fields.js';

// RFC 6962's leaf prefix keeps Merkle inclusion proofs possible; the chain's 0x02 is distinct from 0x00 and 0x01.
export { CHAIN_PREFIX, LEAF_PREFIX } from '../crypto/domains.js';
export const ZERO_HASH: Buffer = Buffer.alloc(32);
export const EVENT_VERSION = 1;

export type EventType =
  | 'ledger.genesis'
  | 'eula.published'
  | 'acceptance.recorded'
  | 'acceptance.declined'
  | 'acceptance.withdrawn'
  | 'acceptance.displayed'
  | 'watermark_key.assigned'
  | 'watermark_key.rotated'
  | 'verification.planned'
  | 'verification.recorded'
  | 'dossier.issued'
  | 'signing_key.added'
  | 'llm_watermark.parameter_set_registered'
  | 'llm_verification.planned'
  | 'llm_verification.recorded'
  | 'llm_watermark.usage_reported'
  | 'llm_watermark.global_key_created'
  | 'legal_hold.placed'
  | 'legal_hold.released'
  | 'erasure.performed';

export const EVENT_TYPES: readonly EventType[] = [
  'ledger.genesis',
  'eula.published',
  'acceptance.recorded',
  'acceptance.declined',
  'acceptance.withdrawn',
  'acceptance.displayed',
  'watermark_key.assigned',
  'watermark_key.rotated',
  'verification.planned',
  'verification.recorded',
  'dossier.issued',
  'signing_key.added',
  'llm_watermark.parameter_set_registered',
  'llm_verification.planned',
  'llm_verification.recorded',
  'llm_watermark.usage_reported',
  'llm_watermark.global_key_created',
  'legal_hold.placed',
  'legal_hold.released',
  'erasure.performed',
];

/** The envelope every event has; `data` is the event's own content. */
export interface EventEnvelope<D = Record<string, unknown>> {
  v: 1;
  id: string; // UUID, lowercase; the idempotency key of the append
  type: EventType;
  time: string; // server time, RFC 3339 UTC with milliseconds
  data: D;
}

/** An event ready to append: its canonical bytes are fixed before it reaches the ledger. */
export interface PreparedEvent {
  id: string;
  type: EventType;
  canonical: Buffer;
  leafHash: Buffer;
  /** The openings of the event's committed personal facts, written beside it in its transaction. */
  openings?: readonly SealedOpening[];
}

export function prepareEvent<D extends object>(type: EventType, data: D, opts: { id?: string; time?: Date } = {}): PreparedEvent {
  const id = opts.id ?? globalThis.crypto.randomUUID();
  const envelope: EventEnvelope<D> = { v: EVENT_VERSION, id, type, time: (opts.time ?? new Date()).toISOString(), data };
  const canonical = canonicalBytes(envelope);
  return { id, type, canonical, leafHash: leafHash(canonical) };
}

/** leaf = SHA-256(0x00 || canonical event bytes) */
export function leafHash(canonical: Uint8Array): Buffer {
  // One-shot crypto.hash over one (reused) buffer: ~4x cheaper than a createHash() object per call,
  // which matters in the verifier's loop. hash() is synchronous, so the scratch buffer is never shared.
  if (leafScratch.length < 1 + canonical.length) leafScratch = Buffer.allocUnsafe(Math.max(2 * leafScratch.length, 1 + canonical.length));
  leafScratch[0] = LEAF_PREFIX; // a grown (allocUnsafe) scratch buffer starts with garbage
  leafScratch.set(canonical, 1);
  return sha256Of(leafScratch.subarray(0, 1 + canonical.length));
}
let leafScratch = Buffer.alloc(4096, LEAF_PREFIX); // byte 0 stays LEAF_PREFIX
const chainScratch = Buffer.alloc(73);

/** chain_n = SHA-256(0x02 || uint64_be(n) || chain_{n-1} || leaf_n); chain_0 = 32 zero bytes. */
export function chainHash(seq: number, prev: Uint8Array, leaf: Uint8Array): Buffer {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError('a sequence number is a non-negative safe integer');
  if (prev.length !== 32 || leaf.length !== 32) throw new RangeError('chain hash inputs are 32-byte hashes');
  chainScratch[0] = CHAIN_PREFIX;
  chainScratch.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 1); // u64 big-endian, high word
  chainScratch.writeUInt32BE(seq >>> 0, 5); // low word
  chainScratch.set(prev, 9);
  chainScratch.set(leaf, 41);
  return sha256Of(chainScratch);
}

/** A genesis event's id is derived from the origin, so concurrent starts cannot write two. */
export function genesisEventId(origin: string): string {
  const h = sha256(tagBytes(TAG.genesis), Buffer.from(origin, 'utf8'));
  // Format as a UUID (version 8, RFC 9562 variant) so it fits the uuid column.
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export type GenesisData = {
  origin: string;
  signing_key: { alg: 'Ed25519'; key_id: string; public_key: string /* base64 of 32 raw bytes */ };
};

/** A stored ledger row as the verifier sees it. */
export interface LedgerEntry {
  seq: number;
  eventId: string;
  eventType: string;
  recordedAt?: string;
  canonical: Buffer;
  leafHash: Buffer;
  prevHash: Buffer;
  chainHash: Buffer;
}
