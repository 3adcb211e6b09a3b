// erasures: one row per erasure.performed event (docs/personal-data.md, "Erasure").
import type { Kysely } from 'kysely';
import type { Database, ErasuresTable } from '../db/schema.js';
import { workingRow, type WorkingRow } from '../db/rows.js';

export type ErasureBasis = ErasuresTable['basis'];

export interface ErasureRow {
  id: string;
  pseudonym: string;
  basis: ErasureBasis;
  requestRef: string;
  performedByKeyId: string | null;
  performedAt: Date;
  seq: number;
  eventId: string;
}

/** What a dossier names an erased fact's erasure by. */
export type ErasureInfo = ErasureRow;

const COLUMNS = ['id', 'subject_pseudonym', 'basis', 'request_ref', 'performed_by_key_id', 'performed_at', 'ledger_seq', 'event_id'] as const;

function toRow(r: { id: string; subject_pseudonym: string; basis: ErasureBasis; request_ref: string; performed_by_key_id: string | null; performed_at: Date; ledger_seq: string; event_id: string }): ErasureRow {
  return {
    id: r.id, pseudonym: r.subject_pseudonym, basis: r.basis, requestRef: r.request_ref, performedByKeyId: r.performed_by_key_id,
    performedAt: new Date(r.performed_at), seq: Number(r.ledger_seq), eventId: r.event_id,
  };
}

export class ErasureRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** A subject's erasures in ledger order. */
  async forSubject(pseudonym: string): Promise<ErasureRow[]> {
    const rows = await this.db.selectFrom('erasures').select(COLUMNS).where('subject_pseudonym', '=', pseudonym).orderBy('ledger_seq').execute();
    return rows.map(toRow);
  }

  /** The erasures recorded by these erasure.performed events, in ledger order. */
  async forEvents(eventIds: readonly string[]): Promise<ErasureRow[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.db.selectFrom('erasures').select(COLUMNS).where('event_id', 'in', [...new Set(eventIds)]).orderBy('ledger_seq').execute();
    return rows.map(toRow);
  }

  row(e: { id: string; pseudonym: string; basis: ErasureBasis; requestRef: string; performedByKeyId: string | null; performedAt: Date }, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('erasures', {
      id: e.id, subject_pseudonym: e.pseudonym, basis: e.basis, request_ref: e.requestRef, performed_by_key_id: e.performedByKeyId,
      performed_at: e.performedAt, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}
