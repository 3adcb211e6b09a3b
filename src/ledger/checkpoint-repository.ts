// ledger_checkpoints: every signed checkpoint, its exact signed bytes and signature.
import type { Kysely } from 'kysely';
import { buf } from '../db/bytes.js';
import type { Database } from '../db/schema.js';
import type { SignedCheckpoint } from './checkpoint.js';

export interface StoredCheckpoint extends SignedCheckpoint {
  size: number;
  chainHash: Buffer;
  keyId: string;
  createdAt: Date;
  format: 1 | 2;
  /** The Merkle root at `size` (format 2). */
  rootHash: Buffer | null;
}

const COLUMNS = ['size', 'chain_hash', 'key_id', 'body', 'signature', 'created_at', 'format', 'root_hash'] as const;

export class CheckpointRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async all(): Promise<StoredCheckpoint[]> {
    const rows = await this.db.selectFrom('ledger_checkpoints').select(COLUMNS).orderBy('size').execute();
    return rows.map(toCheckpoint);
  }

  /** Checkpoints of sizes above `size`, in order: what an incremental verification has not seen. */
  async after(size: number): Promise<StoredCheckpoint[]> {
    const rows = await this.db.selectFrom('ledger_checkpoints').select(COLUMNS).where('size', '>', String(size)).orderBy('size').execute();
    return rows.map(toCheckpoint);
  }

  async latest(): Promise<StoredCheckpoint | undefined> {
    const r = await this.db.selectFrom('ledger_checkpoints').select(COLUMNS).orderBy('size', 'desc').limit(1).executeTakeFirst();
    return r ? toCheckpoint(r) : undefined;
  }

  async atSize(size: number): Promise<StoredCheckpoint | undefined> {
    const r = await this.db.selectFrom('ledger_checkpoints').select(COLUMNS).where('size', '=', String(size)).executeTakeFirst();
    return r ? toCheckpoint(r) : undefined;
  }

  /** The latest checkpoint of a format (2: a signed note with a Merkle root). */
  async latestOfFormat(format: 1 | 2): Promise<StoredCheckpoint | undefined> {
    const r = await this.db.selectFrom('ledger_checkpoints').select(COLUMNS).where('format', '=', format).orderBy('size', 'desc').limit(1).executeTakeFirst();
    return r ? toCheckpoint(r) : undefined;
  }

  /** Stores a checkpoint; a second one at the same size (another process won) is ignored. */
  async insert(cp: { size: number; chainHash: Buffer; keyId: string; body: Buffer; signature: Buffer; rootHash: Buffer }): Promise<void> {
    await this.db
      .insertInto('ledger_checkpoints')
      .values({ size: cp.size, chain_hash: cp.chainHash, key_id: cp.keyId, body: cp.body, signature: cp.signature, format: 2, root_hash: cp.rootHash })
      .onConflict((oc) => oc.column('size').doNothing())
      .execute();
  }
}

function toCheckpoint(r: { size: string; chain_hash: Buffer; key_id: string; body: Buffer; signature: Buffer; created_at: Date; format: number; root_hash: Buffer | null }): StoredCheckpoint {
  return {
    format: r.format === 2 ? 2 : 1,
    rootHash: r.root_hash ? buf(r.root_hash) : null,
    size: Number(r.size),
    chainHash: buf(r.chain_hash),
    keyId: r.key_id,
    body: buf(r.body),
    signature: buf(r.signature),
    createdAt: new Date(r.created_at),
  };
}
