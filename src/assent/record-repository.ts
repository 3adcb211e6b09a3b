// assent_records: the working copy of every acceptance, decline and withdrawal.
import { sql, type Kysely } from 'kysely';
import type { AssentKind, Database } from '../db/schema.js';
import { workingRow, type WorkingRow } from '../db/rows.js';

export interface AssentRecord {
  id: string;
  kind: AssentKind;
  subject: string;
  slug: string;
  version: string;
  serverTime: Date;
  keyVersion: number | null;
  ledgerSeq: number;
  eventId: string;
}

export interface NewAssentRecord {
  id: string;
  kind: AssentKind;
  subject: string;
  eulaId: string;
  slug: string;
  version: string;
  serverTime: Date;
  /** The event's data, kept as a jsonb copy for queries. */
  record: unknown;
  keyVersion: number | null;
  keyCommitment: string | null;
}

const COLUMNS = ['id', 'kind', 'subject', 'slug', 'version', 'server_time', 'key_version', 'ledger_seq', 'event_id'] as const;

export class AssentRecordRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async byId(id: string): Promise<AssentRecord | undefined> {
    const r = await this.db.selectFrom('assent_records').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  /** A subject's records in ledger order, optionally of one slug. */
  async forSubject(subject: string, slug?: string): Promise<AssentRecord[]> {
    let q = this.db.selectFrom('assent_records').select(COLUMNS).where('subject', '=', subject);
    if (slug !== undefined) q = q.where('slug', '=', slug);
    const rows = await q.orderBy('ledger_seq').execute();
    return rows.map(toRecord);
  }

  /** The acceptances and withdrawals of many subjects in ledger order: what standing is computed from. */
  async standingInputs(subjects: readonly string[], slug?: string): Promise<AssentRecord[]> {
    if (subjects.length === 0) return [];
    let q = this.db
      .selectFrom('assent_records')
      .select(COLUMNS)
      .where('subject', '=', sql<string>`ANY(${[...subjects]}::text[])`)
      .where('kind', 'in', ['accepted', 'withdrawn']);
    if (slug !== undefined) q = q.where('slug', '=', slug);
    const rows = await q.orderBy('subject').orderBy('slug').orderBy('ledger_seq').execute();
    return rows.map(toRecord);
  }

  row(r: NewAssentRecord, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('assent_records', {
      id: r.id, kind: r.kind, subject: r.subject, eula_id: r.eulaId, slug: r.slug, version: r.version, server_time: r.serverTime,
      record: JSON.stringify(r.record), key_version: r.keyVersion, key_commitment: r.keyCommitment, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}

function toRecord(r: { id: string; kind: AssentKind; subject: string; slug: string; version: string; server_time: Date; key_version: number | null; ledger_seq: string; event_id: string }): AssentRecord {
  return { id: r.id, kind: r.kind, subject: r.subject, slug: r.slug, version: r.version, serverTime: new Date(r.server_time), keyVersion: r.key_version, ledgerSeq: Number(r.ledger_seq), eventId: r.event_id };
}
