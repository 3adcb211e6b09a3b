// personal_openings: the openings of committed personal facts, beside the ledger (docs/personal-data.md).
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database } from '../db/schema.js';
import { workingRow, workingUpdate, type WorkingRow } from '../db/rows.js';
import type { PersonalGroup } from './commitment.js';
import type { SealedOpening } from './fields.js';

/** An opening as stored: open (salt and value) or erased (when, by which erasure event). */
export interface StoredOpening {
  eventId: string;
  seq: number;
  field: string;
  group: PersonalGroup;
  pseudonym: string;
  commitment: string;
  recordedAt: Date;
  /** Null once erased. */
  opening: { salt: string; value: unknown } | null;
  erased: { at: Date; eventId: string } | null;
}

type Row = Selectable<Database['personal_openings']>;

const COLUMNS = ['event_id', 'field', 'grp', 'subject_pseudonym', 'ledger_seq', 'commitment', 'salt', 'value', 'recorded_at', 'erased_at', 'erasure_event_id'] as const;

function toStored(r: Row): StoredOpening {
  return {
    eventId: r.event_id, seq: Number(r.ledger_seq), field: r.field, group: r.grp, pseudonym: r.subject_pseudonym, commitment: r.commitment,
    recordedAt: new Date(r.recorded_at),
    opening: r.salt && r.value ? { salt: Buffer.from(r.salt).toString('hex'), value: JSON.parse(Buffer.from(r.value).toString('utf8')) } : null,
    erased: r.erased_at && r.erasure_event_id ? { at: new Date(r.erased_at), eventId: r.erasure_event_id } : null,
  };
}

export class OpeningRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The working rows of one event's openings (written in the event's transaction). */
  rows(openings: readonly SealedOpening[], pos: { seq: number; eventId: string }, recordedAt: Date): WorkingRow[] {
    return openings.map((o) => workingRow('personal_openings', {
      event_id: pos.eventId, field: o.field, grp: o.group, subject_pseudonym: o.pseudonym, ledger_seq: pos.seq, commitment: o.commitment,
      salt: Buffer.from(o.salt, 'hex'), value: o.valueBytes, recorded_at: recordedAt,
    }));
  }

  /** The openings of these events (open or erased), in ledger order. */
  async forEvents(eventIds: readonly string[]): Promise<StoredOpening[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.db.selectFrom('personal_openings').select(COLUMNS).where('event_id', 'in', [...new Set(eventIds)]).orderBy('ledger_seq').orderBy('field').execute();
    return rows.map(toStored);
  }

  /** Every opening of facts about one subject (by pseudonym), in ledger order. */
  async forSubject(pseudonym: string): Promise<StoredOpening[]> {
    const rows = await this.db.selectFrom('personal_openings').select(COLUMNS).where('subject_pseudonym', '=', pseudonym).orderBy('ledger_seq').orderBy('field').execute();
    return rows.map(toStored);
  }

  /** Open openings recorded before `cutoff` (retention), in ledger order, at most `limit`. */
  async dueBefore(cutoff: Date, limit: number): Promise<StoredOpening[]> {
    const rows = await this.db.selectFrom('personal_openings').select(COLUMNS).where('erased_at', 'is', null).where('recorded_at', '<', cutoff)
      .orderBy('ledger_seq').orderBy('field').limit(limit).execute();
    return rows.map(toStored);
  }

  /**
   * The statement that erases these openings in place (salt and value cleared, the commitment
   * kept), by the erasure event at `pos`: written in that event's append. Already erased ones stay as they were.
   */
  erasedUpdate(openings: ReadonlyArray<Pick<StoredOpening, 'eventId' | 'field'>>, at: Date, pos: { eventId: string }): WorkingRow {
    return workingUpdate('personal_openings', sql`UPDATE personal_openings AS o SET salt = NULL, value = NULL, erased_at = ${at}, erasure_event_id = ${pos.eventId}::uuid
      FROM unnest(${openings.map((o) => o.eventId)}::uuid[], ${openings.map((o) => o.field)}::text[]) AS x(event_id, field)
      WHERE o.event_id = x.event_id AND o.field = x.field AND o.erased_at IS NULL`.compile(this.db));
  }
}
