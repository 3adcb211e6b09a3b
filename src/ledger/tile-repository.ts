// ledger_tiles: the Merkle tree as C2SP tlog-tiles, written by the appender in each batch's
// statement. Tiles only grow at their end, so a tile read once serves every node it holds, for
// as long as it is cached; a full tile never changes, and its inner nodes are computed once.
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import { buf } from '../db/bytes.js';
import type { Database } from '../db/schema.js';
import { HASH_SIZE, locateNode, nodeHash, TILE_HEIGHT, TILE_WIDTH, type NodeReader } from './merkle.js';

const FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE;
const PLACEHOLDER = Buffer.alloc(HASH_SIZE);

/** A tile's hashes and, once computed, its inner levels (levels[h] holds the nodes of height h). */
interface CachedTile {
  hashes: Buffer;
  levels: Buffer[] | null;
}

export class TileRepository {
  // At 8 KiB (16 KiB with inner levels) per full tile, 4,096 tiles cover proofs over 2^20 leaves.
  readonly #cache = new LRUCache<string, CachedTile>({ max: 4096 });

  constructor(private readonly db: Kysely<Database>) {}

  /** The stored hashes of a tile (width = length / 32), or undefined when it has none yet. */
  async get(level: number, idx: number, minWidth = 1): Promise<Buffer | undefined> {
    return (await this.#tile(level, idx, minWidth))?.hashes;
  }

  async #tile(level: number, idx: number, minWidth: number): Promise<CachedTile | undefined> {
    const k = `${level}/${idx}`;
    const hit = this.#cache.get(k);
    if (hit && hit.hashes.length >= minWidth * HASH_SIZE) return hit;
    const r = await this.db.selectFrom('ledger_tiles').select('hashes').where('level', '=', level).where('idx', '=', String(idx)).executeTakeFirst();
    if (!r) return undefined;
    return this.#keep(k, buf(r.hashes));
  }

  /** Caches a tile read; a longer copy already cached (read meanwhile) is kept. */
  #keep(k: string, hashes: Buffer): CachedTile {
    const hit = this.#cache.get(k);
    if (hit && hit.hashes.length >= hashes.length) return hit;
    const t: CachedTile = { hashes, levels: null };
    this.#cache.set(k, t);
    return t;
  }

  /**
   * Reads, in one query, every tile that `use` will read through a NodeReader and the cache does
   * not hold wide enough: `use` runs once on placeholder hashes to learn which nodes it needs
   * (proofs ask for nodes by position only, never by value).
   */
  async prefetch(use: (read: NodeReader) => Promise<unknown>): Promise<void> {
    const want = new Map<string, { level: number; idx: number; width: number }>();
    await use((height, index) => {
      const at = locateNode(height, index);
      const k = `${at.level}/${at.tile}`;
      const w = want.get(k);
      if (!w || w.width < at.width) want.set(k, { level: at.level, idx: at.tile, width: at.width });
      return PLACEHOLDER;
    });
    const missing = [...want.entries()].filter(([k, w]) => (this.#cache.get(k)?.hashes.length ?? 0) < w.width * HASH_SIZE);
    if (missing.length === 0) return;
    const rows = await this.db
      .selectFrom('ledger_tiles')
      .select(['level', 'idx', 'hashes'])
      .where((eb) => eb.or(missing.map(([, w]) => eb.and([eb('level', '=', w.level), eb('idx', '=', String(w.idx))]))))
      .execute();
    for (const r of rows) this.#keep(`${r.level}/${r.idx}`, buf(r.hashes));
  }

  /**
   * Perfect-subtree hashes from the tiles. A node must be complete in the stored tree (every
   * proof for a size the tree has reached asks only for such nodes); otherwise this throws.
   */
  reader(missing: (level: number, idx: number) => Error): NodeReader {
    return async (height, index) => {
      const at = locateNode(height, index);
      const t = await this.#tile(at.level, at.tile, at.width);
      if (!t || t.hashes.length < at.width * HASH_SIZE) throw missing(at.level, at.tile);
      if (at.height === 0) return t.hashes.subarray(at.index * HASH_SIZE, (at.index + 1) * HASH_SIZE);
      if (t.hashes.length === FULL_TILE_BYTES) {
        t.levels ??= innerLevels(t.hashes);
        return t.levels[at.height]!.subarray(at.index * HASH_SIZE, (at.index + 1) * HASH_SIZE);
      }
      // A partial tile: compute the node from its first `width` hashes.
      return subtree(t.hashes, at.height, at.index);
    };
  }
}

function innerLevels(tile: Buffer): Buffer[] {
  const levels = [tile];
  for (let h = 1; h <= TILE_HEIGHT; h++) {
    const below = levels[h - 1]!;
    const n = below.length / HASH_SIZE / 2;
    const out = Buffer.allocUnsafe(n * HASH_SIZE);
    for (let i = 0; i < n; i++) nodeHash(below.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE), below.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE)).copy(out, i * HASH_SIZE);
    levels.push(out);
  }
  return levels;
}

function subtree(tile: Buffer, height: number, index: number): Buffer {
  if (height === 0) return tile.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  return nodeHash(subtree(tile, height - 1, 2 * index), subtree(tile, height - 1, 2 * index + 1));
}

/**
 * The tile rows one batch extends: the statement appends each tile's new hashes at its end (a tile
 * row is created by its first hashes). Parameters: $1 levels, $2 indexes, $3 hex of the new hashes.
 */
export const EXTEND_TILES_SQL = `INSERT INTO ledger_tiles (level, idx, hashes)
SELECT l, i, decode(h, 'hex') FROM unnest($1::smallint[], $2::bigint[], $3::text[]) AS x(l, i, h)
ON CONFLICT (level, idx) DO UPDATE SET hashes = ledger_tiles.hashes || EXCLUDED.hashes`;

