// Reads of the ledger. Writes go through LedgerAppender (entries) and Checkpointer (checkpoints).
import type { Kysely } from 'kysely';
import { buf } from '../db/bytes.js';
import type { Database } from '../db/schema.js';
import type { SignedCheckpoint } from './checkpoint.js';
import type { LedgerEntry } from './format.js';

export interface StoredCheckpoint extends SignedCheckpoint {
  size: number;
  chainHash: Buffer;
  keyId: string;
  createdAt: Date;
}

export class LedgerRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async head(): Promise<{ size: number; chainHash: Buffer }> {
    const h = await this.db.selectFrom('ledger_head').select(['seq', 'chain_hash']).where('id', '=', 1).executeTakeFirstOrThrow();
    return { size: Number(h.seq), chainHash: buf(h.chain_hash) };
  }

  /** Streams entries in sequence order, one page at a time (constant memory), prefetching the next page. */
  async *entries(opts: { after?: number; upTo?: number; pageSize?: number } = {}): AsyncGenerator<LedgerEntry> {
    const pageSize = opts.pageSize ?? 5000;
    let after = opts.after ?? 0;
    const fetch = (from: number) => {
      let q = this.db
        .selectFrom('ledger_entries')
        .select(['seq', 'event_id', 'event_type', 'recorded_at', 'canonical', 'leaf_hash', 'prev_hash', 'chain_hash'])
        .where('seq', '>', String(from))
        .orderBy('seq')
        .limit(pageSize);
      if (opts.upTo !== undefined) q = q.where('seq', '<=', String(opts.upTo));
      return q.execute();
    };
    let next = fetch(after);
    for (;;) {
      const page = await next;
      if (page.length === 0) return;
      after = Number(page[page.length - 1]!.seq);
      next = page.length === pageSize ? fetch(after) : Promise.resolve([]);
      for (const r of page) yield toEntry(r);
    }
  }

  async entry(seq: number): Promise<LedgerEntry | undefined> {
    const r = await this.db.selectFrom('ledger_entries').selectAll().where('seq', '=', String(seq)).executeTakeFirst();
    return r ? toEntry(r) : undefined;
  }

  async entriesBySeq(seqs: number[]): Promise<LedgerEntry[]> {
    if (seqs.length === 0) return [];
    const rows = await this.db.selectFrom('ledger_entries').selectAll().where('seq', 'in', seqs.map(String)).orderBy('seq').execute();
    return rows.map(toEntry);
  }

  /** Leaf hashes of entries from..to inclusive, in order (for chain proofs). */
  async leafHashes(from: number, to: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const page = 50_000;
    for (let lo = from; lo <= to; lo += page) {
      const rows = await this.db
        .selectFrom('ledger_entries')
        .select(['seq', 'leaf_hash'])
        .where('seq', '>=', String(lo))
        .where('seq', '<=', String(Math.min(to, lo + page - 1)))
        .orderBy('seq')
        .execute();
      for (const r of rows) out.push(buf(r.leaf_hash));
    }
    if (out.length !== to - from + 1) throw new Error(`ledger entries ${from}..${to} are not all present`);
    return out;
  }

  async checkpoints(): Promise<StoredCheckpoint[]> {
    const rows = await this.db.selectFrom('ledger_checkpoints').selectAll().orderBy('size').execute();
    return rows.map(toCheckpoint);
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const r = await this.db.selectFrom('ledger_checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
    return r ? toCheckpoint(r) : undefined;
  }
}

function toEntry(r: { seq: string; event_id: string; event_type: string; recorded_at: Date; canonical: Buffer; leaf_hash: Buffer; prev_hash: Buffer; chain_hash: Buffer }): LedgerEntry {
  return {
    seq: Number(r.seq),
    eventId: r.event_id,
    eventType: r.event_type,
    recordedAt: new Date(r.recorded_at).toISOString(),
    canonical: buf(r.canonical),
    leafHash: buf(r.leaf_hash),
    prevHash: buf(r.prev_hash),
    chainHash: buf(r.chain_hash),
  };
}

function toCheckpoint(r: { size: string; chain_hash: Buffer; key_id: string; body: Buffer; signature: Buffer; created_at: Date }): StoredCheckpoint {
  return {
    size: Number(r.size),
    chainHash: buf(r.chain_hash),
    keyId: r.key_id,
    body: buf(r.body),
    signature: buf(r.signature),
    createdAt: new Date(r.created_at),
  };
}

