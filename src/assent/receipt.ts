// Signed receipts: the canonical assent event as recorded, its ledger position (sequence number,
// leaf hash and leaf index in the RFC 9162 Merkle tree, chain hash), signed with Ed25519; and,
// unsigned but self-verifying, the entry's inclusion proof in a signed checkpoint once one covers
// it (docs/receipts.md). Pure: building and verifying need no database.
import { canonicalBytes, canonicalString, parseCanonical } from '../canonical/jcs.js';
import { constantTimeEqual } from '../crypto/hash.js';
import { keyIdOf, verifyEd25519 } from '../crypto/ed25519-verify.js';
import type { SigningKey } from '../crypto/ed25519.js';
import { readCheckpoint } from '../ledger/checkpoint.js';
import { leafHash, type LedgerEntry } from '../ledger/format.js';
import { checkInclusion } from '../ledger/merkle.js';
import { openCheckpointNote } from '../ledger/note.js';
import { openingProblem, type PersonalGroup } from '../privacy/commitment.js';
import { personalFields } from '../privacy/fields.js';

/** The receipt type signed today: v1's statement plus the entry's leaf index. */
export const RECEIPT_TYPE = 'assentmark.receipt/v2';
/** Receipts signed before leaf indexes: still verified (users hold them). */
export const RECEIPT_TYPE_V1 = 'assentmark.receipt/v1';

export interface ReceiptLedgerPosition {
  seq: number;
  event_id: string;
  leaf_hash: string;
  /** The entry's index in the Merkle tree: seq - 1 (v2 receipts). */
  leaf_index: number;
  chain_hash: string;
}

export interface ReceiptPayload {
  type: typeof RECEIPT_TYPE;
  origin: string;
  event: Record<string, unknown>;
  ledger: ReceiptLedgerPosition;
}

/** A v1 payload: the same without `ledger.leaf_index`. */
export interface ReceiptPayloadV1 {
  type: typeof RECEIPT_TYPE_V1;
  origin: string;
  event: Record<string, unknown>;
  ledger: Omit<ReceiptLedgerPosition, 'leaf_index'>;
}

export type AnyReceiptPayload = ReceiptPayload | ReceiptPayloadV1;

/** The signed receipt: exactly what the signature covers, and nothing else. */
export interface Receipt {
  payload: ReceiptPayload;
  /** The exact signed bytes (RFC 8785 canonical payload), base64, for tools that cannot canonicalise. */
  signed_bytes: string;
  signature: string; // base64 Ed25519
  key_id: string;
  alg: 'Ed25519';
}

/** The proof that a signed checkpoint includes the receipt's entry (RFC 9162 2.1.3). Unsigned: it verifies itself. */
export interface ReceiptInclusion {
  /** The checkpoint's tree size. */
  tree_size: number;
  leaf_index: number;
  /** The audit path, leaf level first, hex. */
  proof: string[];
  /** The whole C2SP signed note of the checkpoint: text, blank line, signature line. */
  checkpoint: string;
}

/**
 * The opening of one committed personal field of the receipt's event (docs/personal-data.md).
 * Unsigned and self-verifying: SHA-256(tag || 0x00 || salt || value_bytes) is the commitment the
 * signed event holds at `field`.
 */
export interface ReceiptOpening {
  field: string;
  group: PersonalGroup;
  commitment: string;
  /** 32 bytes, lowercase hex. */
  salt: string;
  value: unknown;
  /** base64 of the RFC 8785 bytes of `value`, the bytes committed: for tools that cannot canonicalise. */
  value_bytes: string;
}

/** A committed field whose opening was erased: the commitment stays in the log, the value is gone. */
export interface ReceiptErasedOpening {
  field: string;
  group: PersonalGroup;
  commitment: string;
  erased: { at: string; erasure_event_id: string };
}

export type ServedOpening = ReceiptOpening | ReceiptErasedOpening;

/**
 * A receipt as served: the signed receipt plus its inclusion proof, or `inclusion: null` and the
 * service's promise of one when no signed checkpoint covers the entry yet; and the openings of the
 * event's committed personal facts (outside the signed bytes, which are the entry's).
 */
export type ServedReceipt = Receipt & { openings: ServedOpening[] } & ({ inclusion: ReceiptInclusion; promise?: never } | { inclusion: null; promise: string });

/** An opening as the service holds it: open (salt and value) or erased. */
export interface HeldOpening {
  field: string;
  group: PersonalGroup;
  commitment: string;
  opening: { salt: string; value: unknown } | null;
  erased: { at: Date; eventId: string } | null;
  /** The value's RFC 8785 bytes when the caller has them (a sealed event's opening); else computed. */
  valueBytes?: Uint8Array;
}

/** The openings member of a served receipt, in the order given. */
export function receiptOpenings(held: readonly HeldOpening[]): ServedOpening[] {
  // One order whatever the source (the sealed event or the table), so a replay answers byte for byte as the 201 did.
  const sorted = [...held].sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  return sorted.map((h) => (h.opening
    ? { field: h.field, group: h.group, commitment: h.commitment, salt: h.opening.salt, value: h.opening.value, value_bytes: (h.valueBytes ? Buffer.from(h.valueBytes.buffer, h.valueBytes.byteOffset, h.valueBytes.byteLength) : canonicalBytes(h.opening.value)).toString('base64') }
    : { field: h.field, group: h.group, commitment: h.commitment, erased: { at: h.erased ? h.erased.at.toISOString() : '', erasure_event_id: h.erased?.eventId ?? '' } }));
}

/** Deterministic: the same entry gives the same receipt bytes (Ed25519 is deterministic). */
export function buildReceipt(entry: Pick<LedgerEntry, 'seq' | 'eventId' | 'canonical' | 'leafHash' | 'chainHash'>, origin: string, key: SigningKey): Receipt {
  // The entry's bytes are proven canonical here, so the payload's canonical form is built around
  // them instead of serialising the event again: RFC 8785 orders the members event, ledger,
  // origin, type (their names in UTF-16 order) and writes each value canonically, which the event
  // bytes already are. Byte-identical to canonicalBytes(payload) (test/receipt-bytes.test.ts).
  const event = parseCanonical(entry.canonical) as Record<string, unknown>;
  const ledger: ReceiptLedgerPosition = { seq: entry.seq, event_id: entry.eventId, leaf_hash: entry.leafHash.toString('hex'), leaf_index: entry.seq - 1, chain_hash: entry.chainHash.toString('hex') };
  const payload: ReceiptPayload = { type: RECEIPT_TYPE, origin, event, ledger };
  const bytes = Buffer.concat([
    EVENT_MEMBER,
    entry.canonical,
    Buffer.from(`,"ledger":${canonicalString(ledger)},"origin":${canonicalString(origin)},"type":${canonicalString(RECEIPT_TYPE)}}`, 'utf8'),
  ]);
  return { payload, signed_bytes: bytes.toString('base64'), signature: key.sign(bytes).toString('base64'), key_id: key.keyId, alg: 'Ed25519' };
}

const EVENT_MEMBER = Buffer.from('{"event":', 'utf8');

/** The inclusion member of a receipt from the ledger's proof and the checkpoint note it leads to. */
export function receiptInclusion(proof: { leafIndex: number; treeSize: number; proof: readonly Uint8Array[] }, checkpointNote: Uint8Array): ReceiptInclusion {
  return {
    tree_size: proof.treeSize,
    leaf_index: proof.leafIndex,
    proof: proof.proof.map((p) => Buffer.from(p).toString('hex')),
    checkpoint: Buffer.from(checkpointNote).toString('utf8'),
  };
}

/** How checkpoints are scheduled: what the promise of a receipt without a proof can say. */
export interface CheckpointSchedule {
  /** ASSENTMARK_CHECKPOINT_INTERVAL_MS: the max merge delay (0: no timer). */
  intervalMs: number;
  /** ASSENTMARK_CHECKPOINT_EVERY: a checkpoint once this many entries follow the last (0: never by count). */
  every: number;
}

function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** The statement a receipt without an inclusion proof carries: when a checkpoint will cover it. */
export function inclusionPromise(schedule: CheckpointSchedule | undefined): string {
  const again = 'fetch this receipt again for its inclusion proof';
  if (!schedule) return `a signed promise: this entry will be covered by the next signed checkpoint; ${again}`;
  if (schedule.intervalMs > 0) {
    return `a signed promise: this entry will be covered by a signed checkpoint within ${duration(schedule.intervalMs)} (ASSENTMARK_CHECKPOINT_INTERVAL_MS=${schedule.intervalMs}); ${again}`;
  }
  const byCount = schedule.every > 0 ? ` once ${schedule.every} entries follow the last one (ASSENTMARK_CHECKPOINT_EVERY=${schedule.every}) or` : '';
  return `a signed promise: this entry will be covered by the next signed checkpoint, signed${byCount} on request (ASSENTMARK_CHECKPOINT_INTERVAL_MS=0: no checkpoint timer); ${again}`;
}

export type ReceiptCheck = { ok: true; payload: AnyReceiptPayload; version: 1 | 2; leafIndex: number } | { ok: false; reason: string };

const HEX32 = /^[0-9a-f]{64}$/;
const isSeq = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 1;

/** Verifies a receipt's signature against a trusted public key (v1 and v2). Every field is treated as hostile. */
export function verifyReceipt(receipt: unknown, publicKey: Uint8Array): ReceiptCheck {
  if (typeof receipt !== 'object' || receipt === null) return { ok: false, reason: 'not a receipt object' };
  const r = receipt as Record<string, unknown>;
  if (r.alg !== 'Ed25519') return { ok: false, reason: 'unsupported algorithm' };
  if (typeof r.signed_bytes !== 'string' || typeof r.signature !== 'string' || typeof r.key_id !== 'string') return { ok: false, reason: 'missing signed_bytes, signature or key_id' };
  if (r.key_id !== keyIdOf(publicKey)) return { ok: false, reason: `receipt was signed by key ${r.key_id}, not by the trusted key ${keyIdOf(publicKey)}` };
  const bytes = Buffer.from(r.signed_bytes, 'base64');
  if (bytes.toString('base64') !== r.signed_bytes) return { ok: false, reason: 'signed_bytes is not canonical base64' };
  if (!verifyEd25519(Buffer.from(r.signature, 'base64'), bytes, publicKey)) return { ok: false, reason: 'signature does not verify' };
  let signed: unknown;
  try {
    signed = parseCanonical(bytes);
  } catch {
    return { ok: false, reason: 'signed bytes are not canonical JSON' };
  }
  const p = signed as AnyReceiptPayload;
  const version = p?.type === RECEIPT_TYPE ? 2 : p?.type === RECEIPT_TYPE_V1 ? 1 : null;
  if (version === null || typeof p.origin !== 'string' || typeof p.event !== 'object' || p.event === null || typeof p.ledger !== 'object' || p.ledger === null) {
    return { ok: false, reason: 'signed payload is not an assentmark receipt' };
  }
  // The readable payload must say exactly what was signed.
  if (r.payload !== undefined) {
    let shown: Buffer;
    try {
      shown = canonicalBytes(r.payload);
    } catch {
      return { ok: false, reason: 'payload is not JSON' };
    }
    if (!constantTimeEqual(shown, bytes)) return { ok: false, reason: 'payload differs from the signed bytes' };
  }
  if (!isSeq(p.ledger.seq)) return { ok: false, reason: 'the signed ledger position has no sequence number' };
  // v2 states the leaf index; it is the sequence number less one (v1 receipts imply it).
  const leafIndex = p.ledger.seq - 1;
  if (version === 2 && (p as ReceiptPayload).ledger.leaf_index !== leafIndex) {
    return { ok: false, reason: `the signed leaf index ${JSON.stringify((p as ReceiptPayload).ledger.leaf_index)} is not entry ${p.ledger.seq}'s (${leafIndex})` };
  }
  // The event's leaf hash must be the one the ledger position names.
  const leaf = leafHash(canonicalBytes(p.event));
  if (typeof p.ledger.leaf_hash !== 'string' || leaf.toString('hex') !== p.ledger.leaf_hash) {
    return { ok: false, reason: 'the event does not hash to the recorded ledger leaf' };
  }
  return { ok: true, payload: p, version, leafIndex };
}

export type InclusionCheck =
  | { ok: true; treeSize: number; leafIndex: number; time: string; rootHash: Buffer }
  | { ok: false; reason: string };

/**
 * Checks a receipt's (unsigned) inclusion member against its verified payload: the checkpoint is a
 * signed note for the receipt's origin, signed by a trusted key under that origin as key name, of
 * the proof's tree size; and the audit path of the receipt's leaf hash at its leaf index leads to
 * the note's Merkle root (RFC 9162 2.1.3.2). Every field is treated as hostile; never throws.
 */
export function verifyReceiptInclusion(payload: AnyReceiptPayload, inclusion: unknown, publicKeys: Uint8Array | readonly Uint8Array[]): InclusionCheck {
  const fail = (reason: string): InclusionCheck => ({ ok: false, reason });
  if (typeof inclusion !== 'object' || inclusion === null || Array.isArray(inclusion)) return fail('the inclusion member is not an object');
  const inc = inclusion as Record<string, unknown>;
  const seq = payload.ledger.seq;
  const leafIndex = seq - 1;
  if (!Number.isSafeInteger(inc.tree_size) || (inc.tree_size as number) < 1) return fail('the inclusion tree_size is not a positive integer');
  if (!Number.isSafeInteger(inc.leaf_index)) return fail('the inclusion leaf_index is not an integer');
  if (inc.leaf_index !== leafIndex) return fail(`the inclusion proof is for leaf index ${inc.leaf_index as number}, but this receipt's entry ${seq} is leaf index ${leafIndex}`);
  if (!Array.isArray(inc.proof)) return fail('the inclusion proof is not an array of hashes');
  if (inc.proof.length > 64) return fail('the inclusion proof is too long');
  const proof: Buffer[] = [];
  for (const [i, h] of (inc.proof as unknown[]).entries()) {
    if (typeof h !== 'string' || !HEX32.test(h)) return fail(`inclusion proof element ${i + 1} is not a 32-byte hash in lowercase hex`);
    proof.push(Buffer.from(h, 'hex'));
  }
  if (typeof inc.checkpoint !== 'string') return fail('the inclusion checkpoint is not a signed note');
  const note = Buffer.from(inc.checkpoint, 'utf8');
  const cp = readCheckpoint(note);
  if (!cp || cp.format !== 2 || !cp.rootHash) return fail('the inclusion checkpoint is not a well-formed signed checkpoint note');
  if (cp.origin !== payload.origin) return fail(`the checkpoint is for origin ${JSON.stringify(cp.origin)}, not the receipt's origin ${JSON.stringify(payload.origin)}`);
  const keys = (publicKeys instanceof Uint8Array ? [publicKeys] : [...publicKeys])
    .filter((k, i, all) => all.findIndex((o) => Buffer.from(o).equals(k)) === i);
  const opened = openCheckpointNote(note, keys.map((publicKey) => ({ name: payload.origin, publicKey })), { origin: payload.origin });
  if (!opened.ok) {
    if (opened.reason === 'no-known-signature') {
      const by = (opened as { unverified?: Array<{ name: string; keyHash: string }> }).unverified ?? [];
      return fail(`the checkpoint is not signed by the trusted key under the name ${JSON.stringify(payload.origin)}${by.length ? ` (it is signed by ${by.map((k) => `${k.name}+${k.keyHash}`).join(', ')})` : ''}`);
    }
    if (opened.reason === 'invalid-signature') return fail(`the checkpoint's signature by the trusted key does not verify (${opened.detail})`);
    return fail(`the inclusion checkpoint is not a valid signed note: ${opened.detail}`);
  }
  if (inc.tree_size !== cp.size) return fail(`the inclusion proof is for a tree of ${inc.tree_size as number} entries, but the checkpoint is of size ${cp.size}`);
  if (leafIndex >= cp.size) return fail(`entry ${seq} is not covered by the checkpoint of size ${cp.size}`);
  // The entry at the checkpoint's size is the one whose chain hash the note states.
  if (seq === cp.size && cp.chainHash.toString('hex') !== payload.ledger.chain_hash) {
    return fail(`the checkpoint of size ${cp.size} states another chain hash than this receipt's entry ${seq}`);
  }
  const leaf = Buffer.from(payload.ledger.leaf_hash, 'hex');
  const c = checkInclusion(leafIndex, cp.size, leaf, proof, cp.rootHash);
  if (!c.ok) {
    const why = c.reason === 'the proof leads to a different root' ? 'the audit path leads to a different root' : c.reason;
    return fail(`the inclusion proof of leaf ${leafIndex} does not lead to the root of the checkpoint of size ${cp.size}: ${why}`);
  }
  return { ok: true, treeSize: cp.size, leafIndex, time: cp.time, rootHash: cp.rootHash };
}

/** What the check of a receipt's openings found for one personal field of its signed event. */
export interface FieldCheck {
  field: string;
  group: PersonalGroup;
  /**
   * opened: an opening opens the signed commitment; erased: the service says its opening was erased;
   * not_opened: the receipt carries no opening for it; clear: the event holds the value in clear
   * (written before personal data left the log).
   */
  status: 'opened' | 'erased' | 'not_opened' | 'clear';
  /** The opened (or clear) value. */
  value?: unknown;
  erased?: { at: string; erasure_event_id: string };
}

export interface OpeningsCheck {
  fields: FieldCheck[];
  /** Openings that do not open what the signed event commits: each names its field. */
  problems: Array<{ field: string; reason: string }>;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a receipt's (unsigned) openings against the commitments of its verified payload's event:
 * each opening names a committed field of the event, of that field's group, the commitment the
 * signed bytes hold there, and a salt and value whose hash is that commitment (and `value_bytes`,
 * when present, are exactly the value's RFC 8785 bytes). Every member is hostile; never throws.
 */
export function verifyReceiptOpenings(payload: AnyReceiptPayload, openings: unknown): OpeningsCheck {
  const ev = payload.event as { type?: unknown; data?: unknown };
  const fields = personalFields(typeof ev.type === 'string' ? ev.type : '', ev.data);
  const byField = new Map(fields.map((f) => [f.field, f]));
  const out: FieldCheck[] = fields.map((f) => (f.commitment === null
    ? { field: f.field, group: f.group, status: 'clear', value: f.clear }
    : { field: f.field, group: f.group, status: 'not_opened' }));
  const result = new Map(out.map((c) => [c.field, c]));
  const problems: OpeningsCheck['problems'] = [];
  if (openings === undefined || openings === null) return { fields: out, problems };
  if (!Array.isArray(openings)) return { fields: out, problems: [{ field: '(openings)', reason: 'the openings member is not an array' }] };
  const seen = new Set<string>();
  for (const [i, o] of (openings as unknown[]).entries()) {
    if (!isObj(o) || typeof o.field !== 'string') {
      problems.push({ field: `(opening ${i + 1})`, reason: 'the opening is not an object naming its field' });
      continue;
    }
    const field = o.field;
    const signed = byField.get(field);
    const fail = (reason: string) => problems.push({ field, reason });
    if (!signed) {
      fail(`the signed event has no personal field ${JSON.stringify(field)}`);
      continue;
    }
    if (seen.has(field)) {
      fail('the receipt opens this field twice');
      continue;
    }
    seen.add(field);
    if (signed.commitment === null) {
      fail('the signed event holds this field in clear: there is nothing to open');
      continue;
    }
    if (o.group !== signed.group) {
      fail(`the opening is of group ${JSON.stringify(o.group)}, the field ${field} of group ${signed.group}`);
      continue;
    }
    if (o.commitment !== signed.commitment) {
      fail(`the opening names commitment ${JSON.stringify(o.commitment)}, the signed event holds ${signed.commitment} at ${field}`);
      continue;
    }
    const check = result.get(field)!;
    if (o.salt === undefined && o.value === undefined && isObj(o.erased)) {
      const e = o.erased;
      if (typeof e.at !== 'string' || typeof e.erasure_event_id !== 'string') {
        fail('the erased opening does not say when and by which erasure event');
        continue;
      }
      check.status = 'erased';
      check.erased = { at: e.at, erasure_event_id: e.erasure_event_id };
      continue;
    }
    const problem = openingProblem(signed.commitment, { group: o.group, salt: o.salt, value: o.value }, signed.group);
    if (problem) {
      fail(problem);
      continue;
    }
    if (o.value_bytes !== undefined) {
      let same = false;
      try {
        same = typeof o.value_bytes === 'string' && constantTimeEqual(Buffer.from(o.value_bytes, 'base64'), canonicalBytes(o.value)) && Buffer.from(o.value_bytes, 'base64').toString('base64') === o.value_bytes;
      } catch {
        same = false;
      }
      if (!same) {
        fail('value_bytes is not the canonical base64 of the RFC 8785 bytes of value');
        continue;
      }
    }
    check.status = 'opened';
    check.value = o.value;
  }
  return { fields: out, problems };
}
