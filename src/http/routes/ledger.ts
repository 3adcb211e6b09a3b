import { Router } from 'express';
import type { Ledger } from '../../ledger/ledger.js';
import { parseCheckpointBody } from '../../ledger/checkpoint.js';
import { HttpError } from '../problem.js';

/** Public: the signing keys and the latest signed checkpoint, so anyone can hold us to them. */
export function ledgerRoutes(ledger: Ledger): Router {
  const r = Router();
  const key = ledger.signingKey;

  r.get('/.well-known/assentmark/keys.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json({
      origin: ledger.origin,
      keys: [
        {
          key_id: key.keyId,
          alg: 'Ed25519',
          use: 'ledger checkpoints, receipts, evidence bundles, dossier signatures',
          public_key: key.publicKey.toString('base64'),
          public_key_pem: key.publicKeyPem(),
        },
      ],
    });
  });

  r.get('/v1/ledger/checkpoints/latest', async (_req, res) => {
    const cp = await ledger.repo.latestCheckpoint();
    if (!cp) throw new HttpError('no_checkpoint', 404, 'No checkpoint yet', 'The ledger has no signed checkpoint yet; one is written on a timer and every N events.');
    res.json(checkpointJson(cp));
  });

  return r;
}

export function checkpointJson(cp: { body: Buffer; signature: Buffer }): Record<string, unknown> {
  const body = parseCheckpointBody(cp.body);
  return {
    checkpoint: body,
    body: cp.body.toString('utf8'),
    signature: cp.signature.toString('base64'),
    alg: 'Ed25519',
  };
}
