// Responses of the public ledger routes.
import { z } from 'zod';
import { parseCheckpointBody } from '../../ledger/checkpoint.js';
import type { SigningKey } from '../../crypto/ed25519.js';

export const KeysJson = z.object({
  origin: z.string(),
  keys: z.array(z.object({ key_id: z.string(), alg: z.literal('Ed25519'), use: z.string(), public_key: z.string().describe('32 raw bytes, base64'), public_key_pem: z.string() })),
});

export function keysJson(origin: string, key: SigningKey): z.infer<typeof KeysJson> {
  return {
    origin,
    keys: [{ key_id: key.keyId, alg: 'Ed25519', use: 'ledger checkpoints, receipts, evidence bundles, dossier signatures', public_key: key.publicKey.toString('base64'), public_key_pem: key.publicKeyPem() }],
  };
}

export const CheckpointJson = z.object({
  checkpoint: z.object({ type: z.string(), origin: z.string(), size: z.number().int(), chain_hash: z.string(), key_id: z.string(), timestamp: z.string() }).nullable(),
  body: z.string().describe('The exact signed bytes (canonical JSON)'),
  signature: z.string().describe('Ed25519 signature over body, base64'),
  alg: z.literal('Ed25519'),
});

export function checkpointJson(cp: { body: Buffer; signature: Buffer }): z.infer<typeof CheckpointJson> {
  return { checkpoint: parseCheckpointBody(cp.body), body: cp.body.toString('utf8'), signature: cp.signature.toString('base64'), alg: 'Ed25519' };
}
