// watermark_keys: every subject's key versions, each stored only wrapped (AES-256-GCM).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { workingRow, type WorkingRow } from '../db/rows.js';

export interface WatermarkKeyInfo {
  subject: string;
  version: number;
  keyId: string;
  commitment: string;
  assignedAt: Date;
  reason: string;
  ledgerSeq: number;
  eventId: string;
}

/** A stored key still wrapped: what the one function reading the secret column returns. */
export interface WrappedKey {
  subject: string;
  version: number;
  keyId: string;
  commitment: string;
  wrapped: Buffer;
}

export interface NewKeyRow {
  subject: string;
  version: number;
  keyId: string;
  kekId: string;
  wrapped: Buffer;
  commitment: string;
  assignedAt: Date;
  reason: string;
}

const INFO = ['subject', 'version', 'key_id', 'commitment', 'assigned_at', 'reason', 'ledger_seq', 'event_id'] as const;

export class WatermarkKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async current(subject: string): Promise<WatermarkKeyInfo | undefined> {
    return (await this.currentMany([subject])).get(subject);
  }

  /** The latest key version of each subject that has one. */
  async currentMany(subjects: readonly string[]): Promise<Map<string, WatermarkKeyInfo>> {
    if (subjects.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('watermark_keys')
      .select(INFO)
      .distinctOn('subject')
      .where('subject', '=', sql<string>`ANY(${[...subjects]}::text[])`)
      .orderBy('subject')
      .orderBy('version', 'desc')
      .execute();
    return new Map(rows.map((r) => [r.subject, toInfo(r)]));
  }

  async all(subject: string): Promise<WatermarkKeyInfo[]> {
    const rows = await this.db.selectFrom('watermark_keys').select(INFO).where('subject', '=', subject).orderBy('version').execute();
    return rows.map(toInfo);
  }

  /** The subjects (of those given) that have at least one key. */
  async subjectsWithKeys(subjects: readonly string[]): Promise<Set<string>> {
    if (subjects.length === 0) return new Set();
    const have = await this.db.selectFrom('watermark_keys').select('subject').distinct().where('subject', 'in', [...subjects]).execute();
    return new Set(have.map((h) => h.subject));
  }

  /**
   * The only read of the secret column: each subject's latest key, or its key of `version`, still
   * wrapped. Unwrapping happens in watermark-keys/keys.ts.
   */
  async wrappedKeys(subjects: readonly string[], version?: number): Promise<Map<string, WrappedKey>> {
    if (subjects.length === 0) return new Map();
    let q = this.db
      .selectFrom('watermark_keys')
      .select(['subject', 'version', 'key_id', 'commitment', 'wrapped'])
      .distinctOn('subject')
      .where('subject', '=', sql<string>`ANY(${[...subjects]}::text[])`);
    if (version !== undefined) q = q.where('version', '=', version);
    const rows = await q.orderBy('subject').orderBy('version', 'desc').execute();
    return new Map(rows.map((r) => [r.subject, { subject: r.subject, version: r.version, keyId: r.key_id, commitment: r.commitment, wrapped: Buffer.from(r.wrapped) }]));
  }

  row(k: NewKeyRow, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('watermark_keys', {
      subject: k.subject, version: k.version, key_id: k.keyId, kek_id: k.kekId, wrapped: k.wrapped, commitment: k.commitment,
      assigned_at: k.assignedAt, reason: k.reason, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}

function toInfo(r: { subject: string; version: number; key_id: string; commitment: string; assigned_at: Date; reason: string; ledger_seq: string; event_id: string }): WatermarkKeyInfo {
  return { subject: r.subject, version: r.version, keyId: r.key_id, commitment: r.commitment, assignedAt: new Date(r.assigned_at), reason: r.reason, ledgerSeq: Number(r.ledger_seq), eventId: r.event_id };
}
