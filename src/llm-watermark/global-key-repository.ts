// llm_global_keys: the versions of the optional global text-watermark key, each stored only wrapped.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { workingRow, type WorkingRow } from '../db/rows.js';
import type { NewGlobalKey } from './global-key.js';

export interface GlobalKeyInfo {
  version: number;
  keyId: string;
  commitment: string;
  reason: string;
  createdAt: Date;
  ledgerSeq: number;
  eventId: string;
}

export class GlobalKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async current(): Promise<GlobalKeyInfo | undefined> {
    const r = await this.db.selectFrom('llm_global_keys').select(['version', 'key_id', 'commitment', 'reason', 'created_at', 'ledger_seq', 'event_id']).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r ? { version: r.version, keyId: r.key_id, commitment: r.commitment, reason: r.reason, createdAt: new Date(r.created_at), ledgerSeq: Number(r.ledger_seq), eventId: r.event_id } : undefined;
  }

  /** The only read of the secret column: the latest version, or `version`, still wrapped. */
  async wrapped(version?: number): Promise<{ version: number; keyId: string; commitment: string; wrapped: Buffer } | undefined> {
    let q = this.db.selectFrom('llm_global_keys').select(['version', 'key_id', 'commitment', 'wrapped']);
    if (version !== undefined) q = q.where('version', '=', version);
    const r = await q.orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r ? { version: r.version, keyId: r.key_id, commitment: r.commitment, wrapped: Buffer.from(r.wrapped) } : undefined;
  }

  row(k: NewGlobalKey, reason: string, createdAt: Date, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('llm_global_keys', { version: k.version, key_id: k.keyId, kek_id: k.kekId, wrapped: k.wrapped, commitment: k.commitment, reason, created_at: createdAt, ledger_seq: pos.seq, event_id: pos.eventId });
  }
}
