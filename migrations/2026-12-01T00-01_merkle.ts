// The ledger becomes an RFC 9162 Merkle tree over its existing leaves, stored as C2SP tlog-tiles
// (height 8); the head keeps the tree's frontier; checkpoints may be C2SP signed notes (format 2).
// An existing ledger is migrated in place: its tree is built here from the stored leaf hashes.
// Frozen: the few hashing lines below are this migration's own, not the service's code.
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

const TILE_WIDTH = 256;

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE ledger_tiles (
      level  smallint NOT NULL CHECK (level >= 0 AND level < 8),
      idx    bigint   NOT NULL CHECK (idx >= 0),
      hashes bytea    NOT NULL CHECK (octet_length(hashes) BETWEEN 32 AND 8192 AND octet_length(hashes) % 32 = 0),
      PRIMARY KEY (level, idx)
    )`.execute(db);
  // A tile only ever grows at its end (a partial tile filling up): any other change is refused.
  await sql`
    CREATE FUNCTION assentmark_tile_extend_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'UPDATE' AND NEW.level = OLD.level AND NEW.idx = OLD.idx
         AND octet_length(NEW.hashes) > octet_length(OLD.hashes)
         AND substring(NEW.hashes FROM 1 FOR octet_length(OLD.hashes)) = OLD.hashes THEN
        RETURN NEW;
      END IF;
      RAISE EXCEPTION 'assentmark: % on % is refused: tiles only grow at their end', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END $$`.execute(db);
  await sql`CREATE TRIGGER ledger_tiles_extend_only BEFORE UPDATE OR DELETE ON ledger_tiles FOR EACH ROW EXECUTE FUNCTION assentmark_tile_extend_only()`.execute(db);
  await sql`CREATE TRIGGER ledger_tiles_no_truncate BEFORE TRUNCATE ON ledger_tiles FOR EACH STATEMENT EXECUTE FUNCTION assentmark_refuse_change()`.execute(db);
  await sql`ALTER TABLE ledger_tiles ENABLE ALWAYS TRIGGER ledger_tiles_extend_only`.execute(db);
  await sql`ALTER TABLE ledger_tiles ENABLE ALWAYS TRIGGER ledger_tiles_no_truncate`.execute(db);

  // The compact range (roots of the perfect subtrees of the binary decomposition of seq, largest first).
  await sql`ALTER TABLE ledger_head ADD COLUMN frontier bytea NOT NULL DEFAULT ''::bytea`.execute(db);
  // Format 1: the JSON checkpoints of the first version (verifiable history); 2: C2SP signed notes.
  await sql`ALTER TABLE ledger_checkpoints ADD COLUMN format smallint NOT NULL DEFAULT 1 CHECK (format IN (1, 2))`.execute(db);
  await sql`ALTER TABLE ledger_checkpoints ADD COLUMN root_hash bytea CHECK (root_hash IS NULL OR octet_length(root_hash) = 32)`.execute(db);

  await sql`GRANT SELECT, INSERT, UPDATE ON ledger_tiles TO assentmark_service`.execute(db);

  // An appender that writes a batch in one statement guards its head update with the head it
  // expects; when that matched no row (another process appended), this fails the whole statement.
  await sql`
    CREATE FUNCTION assentmark_head_moved(updated bigint) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      IF updated = 0 THEN
        RAISE EXCEPTION 'assentmark: the ledger head moved' USING ERRCODE = 'serialization_failure';
      END IF;
    END $$`.execute(db);

  await buildTree(db);
}

/** Builds the tiles and the head's frontier over every leaf already in the ledger. */
async function buildTree(db: Kysely<any>): Promise<void> {
  const frontier: Array<{ height: number; hash: Buffer }> = [];
  const tiles = new Map<string, { level: number; idx: number; hashes: Buffer[] }>();
  const emit = (height: number, index: number, hash: Buffer) => {
    if (height % 8 !== 0) return;
    const level = height / 8;
    const idx = Math.floor(index / TILE_WIDTH);
    const k = `${level}/${idx}`;
    (tiles.get(k) ?? tiles.set(k, { level, idx, hashes: [] }).get(k)!).hashes.push(hash);
  };
  let size = 0;
  for (let after = 0; ; ) {
    const page = await sql<{ seq: string; leaf_hash: Uint8Array }>`SELECT seq, leaf_hash FROM ledger_entries WHERE seq > ${after} ORDER BY seq LIMIT 50000`.execute(db);
    if (page.rows.length === 0) break;
    for (const r of page.rows) {
      if (Number(r.seq) !== size + 1) throw new Error(`ledger entry ${size + 1} is missing: the tree cannot be built`);
      const leaf = Buffer.from(r.leaf_hash);
      emit(0, size, leaf);
      // Merge equal-height subtrees from the right, as a binary counter carries.
      let node = { height: 0, hash: leaf };
      let index = size;
      while (frontier.length > 0 && frontier.at(-1)!.height === node.height) {
        const left = frontier.pop()!;
        node = { height: node.height + 1, hash: createHash('sha256').update(Buffer.from([0x01])).update(left.hash).update(node.hash).digest() };
        index >>= 1;
        emit(node.height, index, node.hash);
      }
      frontier.push(node);
      size++;
    }
    after = size;
    await flush(db, tiles);
  }
  await sql`UPDATE ledger_head SET frontier = ${Buffer.concat(frontier.map((f) => f.hash))} WHERE id = 1`.execute(db);
}

async function flush(db: Kysely<any>, tiles: Map<string, { level: number; idx: number; hashes: Buffer[] }>): Promise<void> {
  for (const [k, t] of tiles) {
    const bytes = Buffer.concat(t.hashes);
    await sql`INSERT INTO ledger_tiles (level, idx, hashes) VALUES (${t.level}, ${t.idx}, ${bytes})
      ON CONFLICT (level, idx) DO UPDATE SET hashes = ledger_tiles.hashes || EXCLUDED.hashes`.execute(db);
    tiles.delete(k);
  }
}

export async function down(): Promise<void> {
  throw new Error('the evidence ledger is never migrated down');
}
