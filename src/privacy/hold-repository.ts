// legal_holds: one row per legal_hold.placed event, released in place by its legal_hold.released
// (docs/personal-data.md, "Legal holds"). While a row is open its subject cannot be erased.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { workingRow, workingUpdate, type WorkingRow } from '../db/rows.js';

export interface LegalHold {
  id: string;
  pseudonym: string;
  caseRef: string;
  placed: { byKeyId: string | null; at: Date; seq: number; eventId: string };
  released: { byKeyId: string | null; at: Date; seq: number; eventId: string | null } | null;
}

const COLUMNS = ['id', 'subject_pseudonym', 'case_ref', 'placed_by_key_id', 'placed_at', 'placed_seq', 'placed_event_id', 'released_by_key_id', 'released_at', 'released_seq', 'released_event_id'] as const;

export class HoldRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async byId(id: string): Promise<LegalHold | undefined> {
    const r = await this.db.selectFrom('legal_holds').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    return r ? toHold(r) : undefined;
  }

  /** A subject's holds in ledger order, open and released. */
  async forSubject(pseudonym: string): Promise<LegalHold[]> {
    const rows = await this.db.selectFrom('legal_holds').select(COLUMNS).where('subject_pseudonym', '=', pseudonym).orderBy('placed_seq').execute();
    return rows.map(toHold);
  }

  /** The open holds of these subjects (pseudonyms). */
  async openFor(pseudonyms: readonly string[]): Promise<LegalHold[]> {
    if (pseudonyms.length === 0) return [];
    const rows = await this.db.selectFrom('legal_holds').select(COLUMNS)
      .where('subject_pseudonym', '=', sql<string>`ANY(${[...pseudonyms]}::text[])`).where('released_at', 'is', null).orderBy('placed_seq').execute();
    return rows.map(toHold);
  }

  placedRow(h: { id: string; pseudonym: string; caseRef: string; byKeyId: string | null; at: Date }, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('legal_holds', { id: h.id, subject_pseudonym: h.pseudonym, case_ref: h.caseRef, placed_by_key_id: h.byKeyId, placed_at: h.at, placed_seq: pos.seq, placed_event_id: pos.eventId });
  }

  releasedUpdate(id: string, r: { byKeyId: string | null; at: Date }, pos: { seq: number; eventId: string }): WorkingRow {
    return workingUpdate('legal_holds', this.db.updateTable('legal_holds')
      .set({ released_by_key_id: r.byKeyId, released_at: r.at, released_seq: pos.seq, released_event_id: pos.eventId })
      .where('id', '=', id).where('released_at', 'is', null).compile());
  }
}

function toHold(r: { id: string; subject_pseudonym: string; case_ref: string; placed_by_key_id: string | null; placed_at: Date; placed_seq: string; placed_event_id: string; released_by_key_id: string | null; released_at: Date | null; released_seq: string | null; released_event_id: string | null }): LegalHold {
  return {
    id: r.id, pseudonym: r.subject_pseudonym, caseRef: r.case_ref,
    placed: { byKeyId: r.placed_by_key_id, at: new Date(r.placed_at), seq: Number(r.placed_seq), eventId: r.placed_event_id },
    released: r.released_at && r.released_seq ? { byKeyId: r.released_by_key_id, at: new Date(r.released_at), seq: Number(r.released_seq), eventId: r.released_event_id } : null,
  };
}
