import { z } from 'zod';
import type { Ledger } from '../../ledger/ledger.js';
import { parseCheckpointBody } from '../../ledger/checkpoint.js';
import { defineRoute, type AnyRoute } from '../route.js';
import { AppError } from '../../problems/app-error.js';

/** Public: the signing keys and the latest signed checkpoint, so anyone can hold us to them. */
export function ledgerRoutes(ledger: Ledger): AnyRoute[] {
  const key = ledger.signingKey;
  return [
    defineRoute({
      method: 'get', path: '/.well-known/assentmark/keys.json', tag: 'Ledger', access: 'public',
      summary: 'The service\'s public signing keys',
      responses: { 200: { description: 'Keys (Ed25519, raw base64 and PEM)' } },
      handler: async () => ({
        headers: { 'Cache-Control': 'public, max-age=300' },
        body: {
          origin: ledger.origin,
          keys: [{ key_id: key.keyId, alg: 'Ed25519', use: 'ledger checkpoints, receipts, evidence bundles, dossier signatures', public_key: key.publicKey.toString('base64'), public_key_pem: key.publicKeyPem() }],
        },
      }),
    }),
    defineRoute({
      method: 'get', path: '/v1/ledger/checkpoints/latest', tag: 'Ledger', access: 'public',
      summary: 'The latest signed checkpoint of the ledger',
      description: 'A signed statement of (origin, size, chain hash at that size). Keep copies: a later checkpoint must be consistent with every earlier one.',
      responses: { 200: { description: 'The checkpoint', schema: z.object({ checkpoint: z.any(), body: z.string(), signature: z.string(), alg: z.string() }) }, 404: { description: 'No checkpoint yet' } },
      handler: async () => {
        const cp = await ledger.repo.latestCheckpoint();
        if (!cp) throw new AppError('no_checkpoint', 'The ledger has no signed checkpoint yet; one is written on a timer and every N events.');
        return { body: checkpointJson(cp) };
      },
    }),
  ];
}

export function checkpointJson(cp: { body: Buffer; signature: Buffer }): Record<string, unknown> {
  return { checkpoint: parseCheckpointBody(cp.body), body: cp.body.toString('utf8'), signature: cp.signature.toString('base64'), alg: 'Ed25519' };
}
