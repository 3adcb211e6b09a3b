import type { Ledger } from '../../ledger/ledger.js';
import { AppError } from '../../problems/app-error.js';
import { CheckpointJson, checkpointJson, KeysJson, keysJson } from '../presenters/ledger.js';
import { defineRoute, type AnyRoute } from '../route.js';

/** Public: the signing keys and the latest signed checkpoint, so anyone can hold us to them. */
export function ledgerRoutes(ledger: Ledger): AnyRoute[] {
  return [
    defineRoute({
      method: 'get', path: '/.well-known/assentmark/keys.json', tag: 'Ledger', access: 'public',
      summary: 'The service\'s public signing keys',
      responses: { 200: { description: 'Keys (Ed25519, raw base64 and PEM)', schema: KeysJson } },
      handler: async () => ({ headers: { 'Cache-Control': 'public, max-age=300' }, body: keysJson(ledger.origin, ledger.signingKey) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/ledger/checkpoints/latest', tag: 'Ledger', access: 'public',
      summary: 'The latest signed checkpoint of the ledger',
      description: 'A signed statement of (origin, size, chain hash at that size). Keep copies: a later checkpoint must be consistent with every earlier one.',
      responses: { 200: { description: 'The checkpoint', schema: CheckpointJson }, 404: { description: 'No checkpoint yet' } },
      handler: async () => {
        const cp = await ledger.latestCheckpoint();
        if (!cp) throw new AppError('no_checkpoint', 'The ledger has no signed checkpoint yet; one is written on a timer and every N events.');
        return { body: checkpointJson(cp) };
      },
    }),
  ];
}
