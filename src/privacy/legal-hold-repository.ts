// legal_holds: one row per legal hold (legal_hold.placed, and legal_hold.released once released).
// Read here by the dossier, which lists a subject's holds and cites their events.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

export interface LegalHoldInfo {
  id: string;
  caseRef: string;
  placedAt: Date;
  placedSeq: number;
  placedEventId: string;
  released: { at: Date; seq: number; eventId: string | null } | null;
}

export class LegalHoldRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every hold placed on one subject (by pseudonym), open or released, in the order placed. */
  async forSubject(pseudonym: string): Promise<LegalHoldInfo[]> {
    const rows = await this.db.selectFrom('legal_holds')
      .select(['id', 'case_ref', 'placed_at', 'placed_seq', 'placed_event_id', 'released_at', 'released_seq', 'released_event_id'])
      .where('subject_pseudonym', '=', pseudonym).orderBy('placed_seq').execute();
    return rows.map((r) => ({
      id: r.id, caseRef: r.case_ref, placedAt: new Date(r.placed_at), placedSeq: Number(r.placed_seq), placedEventId: r.placed_event_id,
      released: r.released_at && r.released_seq !== null ? { at: new Date(r.released_at), seq: Number(r.released_seq), eventId: r.released_event_id } : null,
    }));
  }
}
