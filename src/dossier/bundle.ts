// The evidence bundle: every cited ledger entry's canonical bytes, the leaf hashes that chain them
// to a signed checkpoint, the checkpoint and the receipts, as one RFC 8785 document signed with
// Ed25519. Pure: building and verifying need no database.
import { canonicalBytes, parseCanonical } from '../canonical/jcs.js';
import { constantTimeEqual } from '../crypto/hash.js';
import { keyIdOf, verifyEd25519, type SigningKey } from '../crypto/ed25519.js';
import { chainHash, leafHash, type LedgerEntry } from '../ledger/format.js';
import { checkpointSignedBy, readCheckpoint, type SignedCheckpoint } from '../ledger/checkpoint.js';
import { verifyReceipt, type Receipt } from '../assent/receipt.js';

export const BUNDLE_TYPE = 'assentmark.evidence-bundle/v1';

export interface BundleEntry {
  seq: number;
  event_id: string;
  event_type: string;
  canonical: string; // base64 of the exact stored bytes
  leaf_hash: string;
  prev_hash: string;
  chain_hash: string;
}

export interface EvidenceBundle {
  type: typeof BUNDLE_TYPE;
  origin: string;
  dossier_id: string;
  case_ref: string;
  subject: string;
  issued_at: string;
  signing_key: { alg: 'Ed25519'; key_id: string; public_key: string };
  entries: BundleEntry[];
  /** Leaf hashes of every entry from `from_seq` to the checkpoint's size, and the chain hash before `from_seq`. */
  chain: { from_seq: number; prev_hash: string; leaf_hashes: string };
  checkpoint: { body: string; signature: string };
  receipts: Receipt[];
}

export interface BundleInput {
  origin: string;
  dossierId: string;
  caseRef: string;
  subject: string;
  issuedAt: Date;
  key: SigningKey;
  entries: LedgerEntry[];
  chainFromSeq: number;
  chainPrevHash: Buffer;
  leafHashes: Buffer[]; // seq chainFromSeq .. checkpoint size
  checkpoint: SignedCheckpoint;
  receipts: Receipt[];
}

export function buildBundle(i: BundleInput): { bundle: EvidenceBundle; bytes: Buffer; signature: Buffer } {
  const bundle: EvidenceBundle = {
    type: BUNDLE_TYPE,
    origin: i.origin,
    dossier_id: i.dossierId,
    case_ref: i.caseRef,
    subject: i.subject,
    issued_at: i.issuedAt.toISOString(),
    signing_key: { alg: 'Ed25519', key_id: i.key.keyId, public_key: i.key.publicKey.toString('base64') },
    entries: [...i.entries].sort((a, b) => a.seq - b.seq).map((e) => ({
      seq: e.seq,
      event_id: e.eventId,
      event_type: e.eventType,
      canonical: e.canonical.toString('base64'),
      leaf_hash: e.leafHash.toString('hex'),
      prev_hash: e.prevHash.toString('hex'),
      chain_hash: e.chainHash.toString('hex'),
    })),
    chain: { from_seq: i.chainFromSeq, prev_hash: i.chainPrevHash.toString('hex'), leaf_hashes: Buffer.concat(i.leafHashes).toString('base64') },
    checkpoint: { body: i.checkpoint.body.toString('base64'), signature: i.checkpoint.signature.toString('base64') },
    receipts: i.receipts,
  };
  const bytes = canonicalBytes(bundle);
  return { bundle, bytes, signature: i.key.sign(bytes) };
}

export interface BundleCheck {
  ok: boolean;
  failures: string[];
  keyId: string | null;
  /** True when the caller supplied the key; false when only the bundle's own key was used. */
  keyTrusted: boolean;
  entries: number;
  checkpointSize: number | null;
  receipts: number;
  bundle: EvidenceBundle | null;
}

/** Verifies bundle bytes and their signature. Every field is treated as hostile; all failures are listed. */
export function verifyBundle(bytes: Uint8Array, signature: Uint8Array, trustedKey?: Uint8Array): BundleCheck {
  const failures: string[] = [];
  const out = (b: EvidenceBundle | null, keyId: string | null, cpSize: number | null): BundleCheck => ({
    ok: failures.length === 0, failures, keyId, keyTrusted: !!trustedKey, entries: b?.entries.length ?? 0, checkpointSize: cpSize, receipts: b?.receipts.length ?? 0, bundle: b,
  });
  let b: EvidenceBundle;
  try {
    b = parseCanonical(bytes) as EvidenceBundle;
  } catch {
    failures.push('the bundle is not RFC 8785 canonical JSON');
    return out(null, null, null);
  }
  if (!b || b.type !== BUNDLE_TYPE || !Array.isArray(b.entries) || !b.chain || !b.checkpoint || !Array.isArray(b.receipts) || !b.signing_key) {
    failures.push('the bundle is not an assentmark evidence bundle');
    return out(null, null, null);
  }
  const embedded = Buffer.from(String(b.signing_key.public_key), 'base64');
  if (embedded.length !== 32 || keyIdOf(embedded) !== b.signing_key.key_id) failures.push('the bundle\'s signing key is malformed or its key id does not match');
  if (trustedKey && !constantTimeEqual(embedded, trustedKey)) failures.push(`the bundle names signing key ${b.signing_key.key_id}, not the trusted key ${keyIdOf(trustedKey)}`);
  const key = trustedKey ?? embedded;
  if (!verifyEd25519(signature, bytes, key)) failures.push('the bundle signature does not verify');

  // Checkpoint: well-formed, same origin, signed by the key.
  const cp: SignedCheckpoint = { body: Buffer.from(String(b.checkpoint.body), 'base64'), signature: Buffer.from(String(b.checkpoint.signature), 'base64') };
  const cpBody = readCheckpoint(cp.body);
  if (!cpBody) {
    failures.push('the checkpoint is malformed');
    return out(b, b.signing_key.key_id, null);
  }
  if (cpBody.origin !== b.origin) failures.push(`the checkpoint names origin "${cpBody.origin}", the bundle "${b.origin}"`);
  if (!checkpointSignedBy(cp, key, b.origin)) failures.push(`the checkpoint at size ${cpBody.size} has an invalid signature`);

  // Entries: each leaf hash is SHA-256(0x00 || bytes); bytes are canonical and match the row.
  const bySeq = new Map<number, BundleEntry>();
  for (const e of b.entries) {
    if (!Number.isSafeInteger(e.seq) || e.seq < 1 || bySeq.has(e.seq)) {
      failures.push(`entry ${String(e.seq)}: bad or duplicate sequence number`);
      continue;
    }
    bySeq.set(e.seq, e);
    const bytesE = Buffer.from(String(e.canonical), 'base64');
    if (leafHash(bytesE).toString('hex') !== e.leaf_hash) failures.push(`entry ${e.seq}: leaf hash does not match its bytes`);
    try {
      const ev = parseCanonical(bytesE) as { id?: unknown; type?: unknown };
      if (ev.id !== e.event_id || ev.type !== e.event_type) failures.push(`entry ${e.seq}: event id or type differs from the signed bytes`);
    } catch {
      failures.push(`entry ${e.seq}: event bytes are not canonical JSON`);
    }
  }

  // Chain: from the stated start, every leaf up to the checkpoint; cited entries must sit on it.
  const leaves = Buffer.from(String(b.chain.leaf_hashes), 'base64');
  const from = b.chain.from_seq;
  let prev: Buffer = Buffer.from(String(b.chain.prev_hash), "hex");
  if (!Number.isSafeInteger(from) || from < 1 || prev.length !== 32 || leaves.length % 32 !== 0) {
    failures.push('the chain proof is malformed');
    return out(b, b.signing_key.key_id, cpBody.size);
  }
  const count = leaves.length / 32;
  if (from + count - 1 !== cpBody.size) failures.push(`the chain proof covers entries ${from}..${from + count - 1}, the checkpoint ${cpBody.size}`);
  if (from === 1 && !prev.equals(Buffer.alloc(32))) failures.push('a chain from entry 1 must start from the zero hash');
  for (let i = 0; i < count; i++) {
    const seq = from + i;
    const leaf = leaves.subarray(i * 32, i * 32 + 32);
    const chain = chainHash(seq, prev, leaf);
    const e = bySeq.get(seq);
    if (e && (e.leaf_hash !== leaf.toString('hex') || e.prev_hash !== prev.toString('hex') || e.chain_hash !== chain.toString('hex'))) {
      failures.push(`entry ${seq}: not on the chain that leads to the signed checkpoint`);
    }
    prev = chain;
  }
  for (const seq of bySeq.keys()) if (seq < from || seq > from + count - 1) failures.push(`entry ${seq}: outside the chain proof`);
  if (!prev.equals(cpBody.chainHash)) failures.push(`the chain does not reach the signed checkpoint's hash at size ${cpBody.size}`);

  // Receipts: valid under the key, and their events are the cited entries.
  b.receipts.forEach((r, i) => {
    const c = verifyReceipt(r, key);
    if (!c.ok) {
      failures.push(`receipt ${i + 1}: ${c.reason}`);
      return;
    }
    const e = bySeq.get(c.payload.ledger.seq);
    if (!e || e.leaf_hash !== c.payload.ledger.leaf_hash) failures.push(`receipt ${i + 1}: its ledger entry ${c.payload.ledger.seq} is not among the cited entries`);
  });
  return out(b, b.signing_key.key_id, cpBody.size);
}
