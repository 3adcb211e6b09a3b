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

/** A subject found by the console's search, with how much is recorded about it. */
export interface SubjectMatch {
  subject: string;
  /** Its acceptances, declines and withdrawals. */
  records: number;
  lastRecordedAt: Date;
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

  /**
   * A record with the id of the API key that recorded it (the event's `recorded_by`, in clear in
   * every event version): what a signup key's reads are limited to (docs/personal-data.md, "Least privilege").
   */
  async byIdWithRecorder(id: string): Promise<(AssentRecord & { recordedByKeyId: string | null }) | undefined> {
    const r = await this.db.selectFrom('assent_records')
      .select([...COLUMNS, sql<string | null>`record->'recorded_by'->>'api_key_id'`.as('recorded_by_key_id')])
      .where('id', '=', id).executeTakeFirst();
    return r ? { ...toRecord(r), recordedByKeyId: r.recorded_by_key_id } : undefined;
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

  /**
   * Distinct subjects starting with `prefix` (taken literally: its %, _ and \ are escaped), in
   * byte order, at most `limit`. In the "C" collation of assent_records_subject_c_idx, so the
   * LIKE prefix is an index range scan, not a scan of every record.
   */
  async subjectsWithPrefix(prefix: string, limit: number): Promise<SubjectMatch[]> {
    const rows = await this.subjectsWithPrefixQuery(prefix, limit).execute();
    return rows.map((r) => ({ subject: r.subject, records: Number(r.records), lastRecordedAt: new Date(r.last_at) }));
  }

  /** The query of subjectsWithPrefix, also for EXPLAIN (the test that it is an index range scan). */
  subjectsWithPrefixQuery(prefix: string, limit: number) {
    const subject = sql<string>`subject COLLATE "C"`;
    return this.db
      .selectFrom('assent_records')
      .select([subject.as('subject'), sql<string>`count(*)`.as('records'), sql<Date>`max(server_time)`.as('last_at')])
      .where(sql<boolean>`${subject} LIKE ${likePrefix(prefix)} ESCAPE '\\'`)
      .groupBy(subject)
      .orderBy(subject)
      .limit(limit);
  }

  row(r: NewAssentRecord, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('assent_records', {
      id: r.id, kind: r.kind, subject: r.subject, eula_id: r.eulaId, slug: r.slug, version: r.version, server_time: r.serverTime,
      record: JSON.stringify(r.record), key_version: r.keyVersion, key_commitment: r.keyCommitment, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}

/** A LIKE pattern matching strings that start with `prefix`, its own wildcards and escape taken literally. */
export function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

function toRecord(r: { id: string; kind: AssentKind; subject: string; slug: string; version: string; server_time: Date; key_version: number | null; ledger_seq: string; event_id: string }): AssentRecord {
  return { id: r.id, kind: r.kind, subject: r.subject, slug: r.slug, version: r.version, serverTime: new Date(r.server_time), keyVersion: r.key_version, ledgerSeq: Number(r.ledger_seq), eventId: r.event_id };
}
