// Ledger rows as column arrays for one INSERT ... SELECT FROM unnest(...): how every writer of
// ledger_entries (the appender, and bulk fills in benchmarks) chains and stores entries.
import { chainHash, type PreparedEvent } from './format.js';

/** $1..$7 are the arrays of `EntryColumns.parameters()`, in that order. */
export const INSERT_ENTRIES_SQL = `INSERT INTO ledger_entries (seq, event_id, event_type, canonical, leaf_hash, prev_hash, chain_hash)
SELECT s, i, t, convert_to(c, 'UTF8'), decode(l, 'hex'), decode(p, 'hex'), decode(h, 'hex')
FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS x(s, i, t, c, l, p, h)`;

export class EntryColumns {
  readonly #seq: number[] = [];
  readonly #id: string[] = [];
  readonly #type: string[] = [];
  readonly #canonical: string[] = [];
  readonly #leaf: string[] = [];
  readonly #prev: string[] = [];
  readonly #chain: string[] = [];

  get length(): number {
    return this.#seq.length;
  }

  /** Adds `event` as entry `seq` after chain hash `prev`; returns its chain hash. */
  add(seq: number, prev: Buffer, event: PreparedEvent): Buffer {
    const chain = chainHash(seq, prev, event.leafHash);
    this.#seq.push(seq);
    this.#id.push(event.id);
    this.#type.push(event.type);
    // Canonical JSON is valid UTF-8, so text -> convert_to is byte-exact; hex keeps bytea portable.
    this.#canonical.push(event.canonical.toString('utf8'));
    this.#leaf.push(event.leafHash.toString('hex'));
    this.#prev.push(prev.toString('hex'));
    this.#chain.push(chain.toString('hex'));
    return chain;
  }

  parameters(): unknown[] {
    return [this.#seq, this.#id, this.#type, this.#canonical, this.#leaf, this.#prev, this.#chain];
  }
}
