// Signed receipts: the canonical assent event as recorded, its ledger position, signed with Ed25519.
// Pure: building and verifying need no database.
import { canonicalBytes, parseCanonical } from '../canonical/jcs.js';
import { constantTimeEqual } from '../crypto/hash.js';
import { keyIdOf, verifyEd25519, type SigningKey } from '../crypto/ed25519.js';
import { leafHash, type LedgerEntry } from '../ledger/format.js';

export const RECEIPT_TYPE = 'assentmark.receipt/v1';

export interface ReceiptPayload {
  type: typeof RECEIPT_TYPE;
  origin: string;
  event: Record<string, unknown>;
  ledger: { seq: number; event_id: string; leaf_hash: string; chain_hash: string };
}

export interface Receipt {
  payload: ReceiptPayload;
  /** The exact signed bytes (RFC 8785 canonical payload), base64, for tools that cannot canonicalise. */
  signed_bytes: string;
  signature: string; // base64 Ed25519
  key_id: string;
  alg: 'Ed25519';
}

/** Deterministic: the same entry gives the same receipt bytes (Ed25519 is deterministic). */
export function buildReceipt(entry: Pick<LedgerEntry, 'seq' | 'eventId' | 'canonical' | 'leafHash' | 'chainHash'>, origin: string, key: SigningKey): Receipt {
  const payload: ReceiptPayload = {
    type: RECEIPT_TYPE,
    origin,
    event: JSON.parse(entry.canonical.toString('utf8')) as Record<string, unknown>,
    ledger: { seq: entry.seq, event_id: entry.eventId, leaf_hash: entry.leafHash.toString('hex'), chain_hash: entry.chainHash.toString('hex') },
  };
  const bytes = canonicalBytes(payload);
  return { payload, signed_bytes: bytes.toString('base64'), signature: key.sign(bytes).toString('base64'), key_id: key.keyId, alg: 'Ed25519' };
}

export type ReceiptCheck = { ok: true; payload: ReceiptPayload } | { ok: false; reason: string };

/** Verifies a receipt against a trusted public key. Every field is treated as hostile. */
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
  const p = signed as ReceiptPayload;
  if (p?.type !== RECEIPT_TYPE || typeof p.event !== 'object' || p.event === null || typeof p.ledger !== 'object' || p.ledger === null) {
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
  // The event's leaf hash must be the one the ledger position names.
  const leaf = leafHash(canonicalBytes(p.event));
  if (typeof p.ledger.leaf_hash !== 'string' || leaf.toString('hex') !== p.ledger.leaf_hash) {
    return { ok: false, reason: 'the event does not hash to the recorded ledger leaf' };
  }
  return { ok: true, payload: p };
}
