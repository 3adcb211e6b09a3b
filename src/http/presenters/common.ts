// JSON shapes shared by several responses, with their schemas (for the OpenAPI document).
import { z } from 'zod';
import type { Position } from '../../ledger/appender.js';

export const LedgerRef = z.object({ seq: z.number().int(), event_id: z.string() }).describe('The ledger entry that records this');
export const LedgerPosition = LedgerRef.extend({ leaf_hash: z.string(), chain_hash: z.string() }).describe('The ledger entry that records this, with its hashes');

export function refJson(r: { ledgerSeq: number; eventId: string }): z.infer<typeof LedgerRef> {
  return { seq: r.ledgerSeq, event_id: r.eventId };
}

export function positionJson(p: Position): z.infer<typeof LedgerPosition> {
  return { seq: p.seq, event_id: p.eventId, leaf_hash: p.leafHash.toString('hex'), chain_hash: p.chainHash.toString('hex') };
}
