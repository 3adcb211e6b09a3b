// Responses of the public ledger routes.
import { z } from 'zod';
import { readCheckpoint } from '../../ledger/checkpoint.js';
import { publicKeyToPem } from '../../crypto/ed25519.js';
import { verifierKey } from '../../ledger/note.js';

export const KeysJson = z.object({
  origin: z.string(),
  keys: z.array(z.object({
    key_id: z.string(),
    alg: z.literal('Ed25519'),
    use: z.string(),
    public_key: z.string().describe('32 raw bytes, base64'),
    public_key_pem: z.string(),
    note_verifier_key: z.string().describe('The checkpoints\' C2SP signed-note verifier key (<name>+<key hash>+<base64(0x01 || key)>), as Go\'s sumdb/note reads it'),
    status: z.enum(['current', 'retired']),
    added_at_seq: z.number().int().describe('The ledger entry that introduced the key (1: the genesis)'),
    retired_at_seq: z.number().int().nullable().describe('The signing_key.added entry that retired it'),
  })),
});

/** Every key of the ledger, the current one first: documents signed by a retired key stay verifiable. */
export function keysJson(origin: string, history: readonly { keyId: string; publicKey: Buffer; addedAt: number; retiredAt: number | null }[]): z.infer<typeof KeysJson> {
  return {
    origin,
    keys: [...history].reverse().map((k) => ({
      key_id: k.keyId, alg: 'Ed25519' as const, use: 'ledger checkpoints, receipts, evidence bundles, dossier signatures',
      public_key: k.publicKey.toString('base64'), public_key_pem: publicKeyToPem(k.publicKey), note_verifier_key: verifierKey(origin, k.publicKey),
      status: k.retiredAt === null ? ('current' as const) : ('retired' as const), added_at_seq: k.addedAt, retired_at_seq: k.retiredAt,
    })),
  };
}

export const CheckpointJson = z.object({
  format: z.union([z.literal(1), z.literal(2)]).describe('2: a C2SP tlog-checkpoint signed note (body is the whole note); 1: the first version\'s JSON statement'),
  origin: z.string(),
  size: z.number().int(),
  root_hash: z.string().nullable().describe('Merkle tree hash (RFC 9162) at size, base64 as in the note; null for format 1'),
  chain_hash: z.string().describe('The per-entry chain hash at size, hex'),
  time: z.string(),
  body: z.string().describe('The exact signed bytes: the signed note (format 2) or canonical JSON (format 1)'),
  signature: z.string().describe('Ed25519 signature, base64: over the note text (format 2) or over body (format 1)'),
  alg: z.literal('Ed25519'),
});

export function checkpointJson(cp: { body: Buffer; signature: Buffer }): z.infer<typeof CheckpointJson> {
  const s = readCheckpoint(cp.body);
  if (!s) throw new Error('a stored checkpoint is malformed');
  return {
    format: s.format, origin: s.origin, size: s.size, root_hash: s.rootHash ? s.rootHash.toString('base64') : null, chain_hash: s.chainHash.toString('hex'), time: s.time,
    body: cp.body.toString('utf8'), signature: cp.signature.toString('base64'), alg: 'Ed25519',
  };
}

const Hashes = z.array(z.string()).describe('32-byte hashes, hex, in RFC 9162 order');
const NoteCheckpoint = z.object({ size: z.number().int(), root_hash: z.string().describe('hex'), note: z.string().describe('The signed note') }).nullable().describe('The signed checkpoint at that size, when there is one');

function noteOf(cp: { size: number; rootHash: Buffer | null; body: Buffer } | null): z.infer<typeof NoteCheckpoint> {
  return cp && cp.rootHash ? { size: cp.size, root_hash: cp.rootHash.toString('hex'), note: cp.body.toString('utf8') } : null;
}

export const InclusionProofJson = z.object({
  seq: z.number().int(),
  leaf_index: z.number().int().describe('seq - 1'),
  tree_size: z.number().int(),
  leaf_hash: z.string(),
  root_hash: z.string(),
  proof: Hashes,
  checkpoint: NoteCheckpoint,
});

export function inclusionProofJson(seq: number, p: { leafIndex: number; treeSize: number; leafHash: Buffer; proof: Buffer[]; root: Buffer }, cp: { size: number; rootHash: Buffer | null; body: Buffer } | null): z.infer<typeof InclusionProofJson> {
  return { seq, leaf_index: p.leafIndex, tree_size: p.treeSize, leaf_hash: p.leafHash.toString('hex'), root_hash: p.root.toString('hex'), proof: p.proof.map((h) => h.toString('hex')), checkpoint: noteOf(cp) };
}

export const ConsistencyProofJson = z.object({
  from: z.number().int(),
  to: z.number().int(),
  from_root_hash: z.string(),
  to_root_hash: z.string(),
  proof: Hashes,
  from_checkpoint: NoteCheckpoint,
  to_checkpoint: NoteCheckpoint,
});

export function consistencyProofJson(p: { from: number; to: number; proof: Buffer[]; fromRoot: Buffer; toRoot: Buffer }, a: { size: number; rootHash: Buffer | null; body: Buffer } | null, b: { size: number; rootHash: Buffer | null; body: Buffer } | null): z.infer<typeof ConsistencyProofJson> {
  return { from: p.from, to: p.to, from_root_hash: p.fromRoot.toString('hex'), to_root_hash: p.toRoot.toString('hex'), proof: p.proof.map((h) => h.toString('hex')), from_checkpoint: noteOf(a), to_checkpoint: noteOf(b) };
}

export const TimestampJson = z.object({
  size: z.number().int().describe('The checkpoint stamped'),
  tsa_url: z.string(),
  gen_time: z.string().describe('The TSA\'s time (TSTInfo genTime)'),
  serial: z.string().describe('The token\'s serial number, hex'),
  digest: z.string().describe('SHA-256 of the signed note, hex: the message imprint'),
  token: z.string().describe('The RFC 3161 TimeStampToken (DER), base64'),
  checkpoint: z.string().describe('The signed note stamped'),
});

export function timestampJson(t: { size: number; tsaUrl: string; genTime: Date; serial: string; digest: Buffer; token: Buffer }, cp: { body: Buffer }): z.infer<typeof TimestampJson> {
  return { size: t.size, tsa_url: t.tsaUrl, gen_time: t.genTime.toISOString(), serial: t.serial, digest: t.digest.toString('hex'), token: t.token.toString('base64'), checkpoint: cp.body.toString('utf8') };
}
