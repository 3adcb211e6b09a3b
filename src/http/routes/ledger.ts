import { z } from 'zod';
import type { Ledger } from '../../ledger/ledger.js';
import type { TimestampService } from '../../timestamp/service.js';
import { parseTilePath, TILE_WIDTH } from '../../ledger/merkle.js';
import { AppError } from '../../problems/app-error.js';
import { TimestampJson, timestampJson, CheckpointJson, checkpointJson, ConsistencyProofJson, consistencyProofJson, InclusionProofJson, inclusionProofJson, KeysJson, keysJson } from '../presenters/ledger.js';
import { defineRoute, type AnyRoute } from '../route.js';

const Size = z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(Number.MAX_SAFE_INTEGER);

/**
 * Public: the signing keys, the signed checkpoints, the Merkle tree's tiles (C2SP tlog-tiles) and
 * proofs, so anyone can hold the log to what it signed. Only hashes: entries stay behind roles.
 */
export function ledgerRoutes(ledger: Ledger, timestamps: TimestampService): AnyRoute[] {
  const latestNote = async () => {
    const cp = await ledger.latestNoteCheckpoint();
    if (!cp) throw new AppError('no_checkpoint', 'The ledger has no signed checkpoint yet; one is written within seconds of the first entries.');
    return cp;
  };
  return [
    defineRoute({
      method: 'get', path: '/.well-known/assentmark/keys.json', tag: 'Ledger', access: 'public',
      summary: 'The service\'s public signing keys',
      responses: { 200: { description: 'Keys (Ed25519, raw base64 and PEM, and the C2SP note verifier key)', schema: KeysJson } },
      handler: async () => ({ headers: { 'Cache-Control': 'public, max-age=300' }, body: keysJson(ledger.origin, ledger.keyHistory()) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/ledger/checkpoints/latest', tag: 'Ledger', access: 'public',
      summary: 'The latest signed checkpoint of the ledger',
      description: 'A C2SP tlog-checkpoint signed note: origin, size, Merkle root (RFC 9162), and the chain hash and time as extension lines. Keep copies: a later checkpoint must be consistent with every earlier one (`/v1/ledger/proofs/consistency`).',
      responses: { 200: { description: 'The checkpoint', schema: CheckpointJson }, 404: { description: 'No checkpoint yet' } },
      handler: async () => ({ body: checkpointJson(await latestNote()) }),
    }),
    defineRoute({
      method: 'get', path: '/checkpoint', tag: 'Ledger', access: 'public',
      summary: 'The latest checkpoint as a C2SP signed note (tlog-tiles)',
      responses: { 200: { description: 'The signed note', contentType: 'text/plain; charset=utf-8' }, 404: { description: 'No checkpoint yet' } },
      handler: async () => ({ headers: { 'Cache-Control': 'no-cache' }, raw: { contentType: 'text/plain; charset=utf-8', data: (await latestNote()).body } }),
    }),
    defineRoute({
      method: 'get', path: '/tile/*path', tag: 'Ledger', access: 'public', params: z.strictObject({ path: z.array(z.string()).min(1).max(8) }),
      summary: 'A tile of the Merkle tree (C2SP tlog-tiles: tile/<L>/<N>[.p/<W>])',
      description: 'Up to 256 hashes of height 8·L, concatenated. A full tile never changes; a partial tile `.p/<W>` is its first W hashes.',
      responses: { 200: { description: 'The tile\'s hashes', contentType: 'application/octet-stream' }, 404: { description: 'No such tile yet' } },
      handler: async ({ params }) => {
        const at = parseTilePath(`tile/${params.path.join('/')}`);
        if (!at) throw new AppError('tile_not_found', 'Not a C2SP tile path: tile/<L>/<N> or tile/<L>/<N>.p/<W>, with N in groups of three digits (x001/x234/067).');
        const stored = await ledger.tile(at.level, at.index, at.width);
        if (!stored || stored.length < at.width * 32) throw new AppError('tile_not_found', `tile ${at.level}/${at.index} has ${stored ? stored.length / 32 : 0} hashes, not ${at.width}`);
        const full = at.width === TILE_WIDTH;
        return { headers: { 'Cache-Control': full ? 'public, max-age=31536000, immutable' : 'public, max-age=60' }, raw: { contentType: 'application/octet-stream', data: stored.subarray(0, at.width * 32) } };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/ledger/proofs/inclusion', tag: 'Ledger', access: 'public', query: z.strictObject({ seq: Size, size: Size.optional() }),
      summary: 'Inclusion proof of an entry (RFC 9162 2.1.3)',
      description: 'The audit path of entry `seq` (leaf index seq - 1) in the tree of the first `size` entries; `size` defaults to the latest signed checkpoint, which is returned too.',
      responses: { 200: { description: 'The proof', schema: InclusionProofJson }, 422: { description: 'The entry or the size is beyond the ledger' } },
      handler: async ({ query }) => {
        const size = query.size ?? (await latestNote()).size;
        const [p, cp] = await Promise.all([ledger.inclusionProof(query.seq, size), ledger.checkpointAt(size)]);
        return { body: inclusionProofJson(query.seq, p, cp?.rootHash ? cp : null) };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/ledger/timestamps/latest', tag: 'Ledger', access: 'public',
      summary: 'The latest RFC 3161 timestamp of a signed checkpoint (time from outside)',
      description: 'The token stamps SHA-256 of the whole signed note: `openssl ts -verify -digest <that hex> -token_in -in token.der -CAfile <the TSA\'s CA>`.',
      responses: { 200: { description: 'The timestamp and the checkpoint it stamps', schema: TimestampJson }, 404: { description: 'No timestamp (no TSA configured, or none taken yet)' } },
      handler: async () => {
        const ts = await timestamps.latest();
        if (!ts) throw new AppError('no_timestamp', timestamps.configured ? 'No checkpoint has been timestamped yet; the service stamps one on its timer (ASSENTMARK_TSA_INTERVAL_MS) and at each dossier issue.' : 'No time-stamping authority is configured (ASSENTMARK_TSA_URL): this ledger has no outside timestamps.');
        const cp = await ledger.checkpointAt(ts.size);
        return { body: timestampJson(ts, cp!) };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/ledger/proofs/consistency', tag: 'Ledger', access: 'public', query: z.strictObject({ from: Size, to: Size.optional() }),
      summary: 'Consistency proof between two tree sizes (RFC 9162 2.1.4)',
      description: '`to` defaults to the latest signed checkpoint. A checkpoint you kept at size `from` must be consistent with every later one.',
      responses: { 200: { description: 'The proof', schema: ConsistencyProofJson }, 422: { description: 'A size is beyond the ledger, or from > to' } },
      handler: async ({ query }) => {
        const to = query.to ?? (await latestNote()).size;
        const [p, a, b] = await Promise.all([ledger.consistencyProof(query.from, to), ledger.checkpointAt(query.from), ledger.checkpointAt(to)]);
        return { body: consistencyProofJson(p, a?.rootHash ? a : null, b?.rootHash ? b : null) };
      },
    }),
  ];
}
