// erasures: one row per erasure.performed event (docs/personal-data.md). Read here by the dossier,
// which names each erased fact's erasure: when, under which basis and request, at which ledger entry.
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../db/schema.js';

export interface ErasureInfo {
  id: string;
  pseudonym: string;
  basis: 'data_subject_request' | 'retention' | 'court_order' | 'other';
  requestRef: string;
  performedAt: Date;
  seq: number;
  eventId: string;
}

type Row = Selectable<Database['erasures']>;
const COLUMNS = ['id', 'subject_pseudonym', 'basis', 'request_ref', 'performed_at', 'ledger_seq', 'event_id'] as const;

function toInfo(r: Pick<Row, (typeof COLUMNS)[number]>): ErasureInfo {
  return { id: r.id, pseudonym: r.subject_pseudonym, basis: r.basis, requestRef: r.request_ref, performedAt: new Date(r.performed_at), seq: Number(r.ledger_seq), eventId: r.event_id };
}

export class ErasureRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The erasures recorded by these erasure.performed events, in ledger order. */
  async forEvents(eventIds: readonly string[]): Promise<ErasureInfo[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.db.selectFrom('erasures').select(COLUMNS).where('event_id', 'in', [...new Set(eventIds)]).orderBy('ledger_seq').execute();
    return rows.map(toInfo);
  }

  /** Every erasure of one subject's personal data (by pseudonym), in ledger order. */
  async forSubject(pseudonym: string): Promise<ErasureInfo[]> {
    const rows = await this.db.selectFrom('erasures').select(COLUMNS).where('subject_pseudonym', '=', pseudonym).orderBy('ledger_seq').execute();
    return rows.map(toInfo);
  }
}
