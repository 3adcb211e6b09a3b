// Ledger rows as column arrays for one INSERT ... SELECT FROM unnest(...), and the Merkle tiles
// the same entries extend: how every writer of the ledger (the appender, and bulk fills in
// benchmarks) chains entries, grows the tree and stores both.
import { chainHash, type PreparedEvent } from './format.js';
import { TILE_WIDTH, type MerkleFrontier } from './merkle.js';

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
  /** New hashes per tile ("level/idx"), in order: what this batch appends to each tile. */
  readonly #tiles = new Map<string, { level: number; idx: number; hex: string[] }>();

  /** `frontier` is the tree at the current head; it is extended in place. */
  constructor(readonly frontier: MerkleFrontier) {}

  get length(): number {
    return this.#seq.length;
  }

  /** Adds `event` as entry `seq` after chain hash `prev`; returns its chain hash. */
  add(seq: number, prev: Buffer, event: PreparedEvent): Buffer {
    if (seq !== this.frontier.size + 1) throw new Error(`entry ${seq} does not follow the tree of size ${this.frontier.size}`);
    const chain = chainHash(seq, prev, event.leafHash);
    this.#seq.push(seq);
    this.#id.push(event.id);
    this.#type.push(event.type);
    // Canonical JSON is valid UTF-8, so text -> convert_to is byte-exact; hex keeps bytea portable.
    this.#canonical.push(event.canonical.toString('utf8'));
    this.#leaf.push(event.leafHash.toString('hex'));
    this.#prev.push(prev.toString('hex'));
    this.#chain.push(chain.toString('hex'));
    // C2SP tlog-tiles store the hashes at heights 0, 8, 16, ...: tile level = height / 8.
    for (const n of this.frontier.append(event.leafHash)) {
      if (n.height % 8 !== 0) continue;
      const level = n.height / 8;
      const idx = Math.floor(n.index / TILE_WIDTH);
      const k = `${level}/${idx}`;
      (this.#tiles.get(k) ?? this.#tiles.set(k, { level, idx, hex: [] }).get(k)!).hex.push(n.hash.toString('hex'));
    }
    return chain;
  }

  parameters(): unknown[] {
    return [this.#seq, this.#id, this.#type, this.#canonical, this.#leaf, this.#prev, this.#chain];
  }

  /** Parameters of EXTEND_TILES_SQL (tile-repository.ts). */
  tileParameters(): unknown[] {
    const t = [...this.#tiles.values()];
    return [t.map((x) => x.level), t.map((x) => String(x.idx)), t.map((x) => x.hex.join(''))];
  }
}
