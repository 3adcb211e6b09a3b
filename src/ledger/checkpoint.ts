// Signed checkpoints: (origin, size, chain hash at size), signed over canonical bytes. Pure.
import { canonicalBytes, parseCanonical } from '../canonical/jcs.js';
import { verifyEd25519, type SigningKey } from '../crypto/ed25519.js';

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
