// Signed checkpoints. Format 1: (origin, size, chain hash at size) as canonical JSON, signed over
// its bytes; format 2: a C2SP signed note with the Merkle root as well. Pure.
import { canonicalBytes, parseCanonical } from '../canonical/jcs.js';
import { verifyEd25519 } from '../crypto/ed25519-verify.js';
import type { SigningKey } from '../crypto/ed25519.js';
import { formatCheckpoint, openCheckpointNote, parseCheckpoint, readChainHash, readTime, signNote, withChainHash, withTime } from './note.js';

export const CHECKPOINT_TYPE = 'assentmark.checkpoint/v1';

export interface CheckpointBody {
  type: typeof CHECKPOINT_TYPE;
  origin: string;
  size: number;
  chain_hash: string; // hex
  key_id: string;
  timestamp: string;
}

/** A checkpoint as stored and exported: the exact signed bytes plus the signature. */
export interface SignedCheckpoint {
  body: Buffer; // canonical JSON of CheckpointBody
  signature: Buffer; // Ed25519 over `body`
}

export function signCheckpoint(key: SigningKey, origin: string, size: number, chain: Uint8Array, time: Date): SignedCheckpoint & { parsed: CheckpointBody } {
  const parsed: CheckpointBody = {
    type: CHECKPOINT_TYPE,
    origin,
    size,
    chain_hash: Buffer.from(chain).toString('hex'),
    key_id: key.keyId,
    timestamp: time.toISOString(),
  };
  const body = canonicalBytes(parsed);
  return { body, signature: key.sign(body), parsed };
}

/** Parses hostile checkpoint bytes; returns null when they are not a well-formed checkpoint. */
export function parseCheckpointBody(body: Uint8Array): CheckpointBody | null {
  let v: unknown;
  try {
    v = parseCanonical(body);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys !== 'chain_hash,key_id,origin,size,timestamp,type') return null;
  if (o.type !== CHECKPOINT_TYPE) return null;
  if (typeof o.origin !== 'string' || typeof o.key_id !== 'string' || typeof o.timestamp !== 'string') return null;
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 1) return null;
  if (typeof o.chain_hash !== 'string' || !/^[0-9a-f]{64}$/.test(o.chain_hash)) return null;
  return o as unknown as CheckpointBody;
}

export function verifyCheckpointSignature(cp: SignedCheckpoint, publicKey: Uint8Array): boolean {
  return verifyEd25519(cp.signature, cp.body, publicKey);
}

// ---- Format 2: C2SP tlog-checkpoint signed notes (ledger/note.ts) ----------------------------
// Text: origin, size, base64 Merkle root, `chain-hash <hex>`, `time <RFC 3339>`; signed as a note
// under the origin as key name. Format 1 statements above stay verifiable history.

/** What a checkpoint of either format states, read without checking its signature. */
export interface CheckpointStatement {
  format: 1 | 2;
  origin: string;
  size: number;
  chainHash: Buffer;
  /** The Merkle tree hash at `size` (format 2 only). */
  rootHash: Buffer | null;
  time: string;
  /** Format 1 names its key by key id; format 2 by note key hash, checked on verification. */
  keyId: string | null;
}

export function checkpointFormat(body: Uint8Array): 1 | 2 {
  return body[0] === 0x7b /* { */ ? 1 : 2;
}

/** The note text of a signed note: everything before its last blank line, with its final newline. */
function noteText(body: Uint8Array): Buffer | null {
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const i = b.lastIndexOf('\n\n');
  return i < 0 ? null : b.subarray(0, i + 1);
}

/** Reads a stored checkpoint of either format; null when it is not well formed. Never throws. */
export function readCheckpoint(body: Uint8Array): CheckpointStatement | null {
  if (checkpointFormat(body) === 1) {
    const v1 = parseCheckpointBody(body);
    return v1 ? { format: 1, origin: v1.origin, size: v1.size, chainHash: Buffer.from(v1.chain_hash, 'hex'), rootHash: null, time: v1.timestamp, keyId: v1.key_id } : null;
  }
  const text = noteText(body);
  if (!text) return null;
  const cp = parseCheckpoint(text);
  if (!cp.ok || cp.checkpoint.size < 1) return null;
  const chain = readChainHash(cp.checkpoint.extensions);
  const time = readTime(cp.checkpoint.extensions);
  if (!chain.ok || !chain.value || !time.ok || !time.value) return null;
  return { format: 2, origin: cp.checkpoint.origin, size: cp.checkpoint.size, chainHash: chain.value, rootHash: cp.checkpoint.rootHash, time: time.value.toISOString(), keyId: null };
}

/** Signs a format-2 checkpoint: the whole note is the body; `signature` is its raw Ed25519 signature. */
export function signCheckpointNoteV2(key: SigningKey, origin: string, size: number, root: Uint8Array, chain: Uint8Array, time: Date): SignedCheckpoint {
  const text = formatCheckpoint({ origin, size, rootHash: root, extensions: withTime(withChainHash([], chain), time) });
  return { body: signNote(text, origin, key), signature: key.sign(Buffer.from(text, 'utf8')) };
}

/** Whether `publicKey` signed this stored checkpoint (format 2: as a note under `origin`). */
export function checkpointSignedBy(cp: SignedCheckpoint, publicKey: Uint8Array, origin: string): boolean {
  if (checkpointFormat(cp.body) === 1) return verifyCheckpointSignature(cp, publicKey);
  const r = openCheckpointNote(cp.body, [{ name: origin, publicKey }], { origin });
  // The stored raw signature is the note's own, over the same text: both must verify.
  return r.ok && r.note.signedBy.length > 0 && verifyEd25519(cp.signature, r.note.textBytes, publicKey);
}
