// ledger_tiles: the Merkle tree as C2SP tlog-tiles, written by the appender in each batch's
// transaction. A full tile never changes again, so full tiles are cached.
import { sql, type Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { buf } from '../db/bytes.js';
import type { Database } from '../db/schema.js';

import { TILE_WIDTH } from './merkle.js';

const FULL_TILE_BYTES = TILE_WIDTH * 32;

export class TileRepository {
  // Full tiles are immutable: at 8 KiB each, 4,096 of them cover 2^20 leaves' worth of proofs.
  readonly #full = new LRUCache<string, Buffer>({ max: 4096 });

  constructor(private readonly db: Kysely<Database>) {}

  /** The stored hashes of a tile (width = length / 32), or undefined when it has none yet. */
  async get(level: number, idx: number): Promise<Buffer | undefined> {
    const k = `${level}/${idx}`;
    const hit = this.#full.get(k);
    if (hit) return hit;
    const r = await this.db.selectFrom('ledger_tiles').select('hashes').where('level', '=', level).where('idx', '=', String(idx)).executeTakeFirst();
    if (!r) return undefined;
    const hashes = buf(r.hashes);
    if (hashes.length === FULL_TILE_BYTES) this.#full.set(k, hashes);
    return hashes;
  }

  /** Several tiles in one query (for a proof's nodes). */
  async many(refs: ReadonlyArray<{ level: number; idx: number }>): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    const missing = refs.filter((r) => {
      const hit = this.#full.get(`${r.level}/${r.idx}`);
      if (hit) out.set(`${r.level}/${r.idx}`, hit);
      return !hit;
    });
    if (missing.length === 0) return out;
    const rows = await sql<{ level: number; idx: string; hashes: Uint8Array }>`
      SELECT t.level, t.idx, t.hashes FROM ledger_tiles t
      JOIN unnest(${missing.map((r) => r.level)}::smallint[], ${missing.map((r) => String(r.idx))}::bigint[]) AS q(level, idx)
        ON t.level = q.level AND t.idx = q.idx`.execute(this.db);
    for (const r of rows.rows) {
      const hashes = buf(r.hashes);
      const k = `${r.level}/${Number(r.idx)}`;
      if (hashes.length === FULL_TILE_BYTES) this.#full.set(k, hashes);
      out.set(k, hashes);
    }
    return out;
  }
}

/**
 * The tile rows one batch extends: the statement appends each tile's new hashes at its end (a tile
 * row is created by its first hashes). Parameters: $1 levels, $2 indexes, $3 hex of the new hashes.
 */
export const EXTEND_TILES_SQL = `INSERT INTO ledger_tiles (level, idx, hashes)
SELECT l, i, decode(h, 'hex') FROM unnest($1::smallint[], $2::bigint[], $3::text[]) AS x(l, i, h)
ON CONFLICT (level, idx) DO UPDATE SET hashes = ledger_tiles.hashes || EXCLUDED.hashes`;
