// acceptance_session_uses: the one use of a session, written by the ledger appender with the
// session's acceptance.displayed event; its primary key refuses a second use.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { workingRow, type WorkingRow } from '../db/rows.js';

export interface SessionUse {
  sessionId: string;
  decision: 'accepted' | 'declined';
  ledgerSeq: number;
  eventId: string;
  usedAt: Date;
}

export class AcceptanceSessionUseRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(sessionId: string): Promise<SessionUse | undefined> {
    const r = await this.db.selectFrom('acceptance_session_uses').select(['session_id', 'decision', 'ledger_seq', 'event_id', 'used_at']).where('session_id', '=', sessionId).executeTakeFirst();
    return r ? { sessionId: r.session_id, decision: r.decision, ledgerSeq: Number(r.ledger_seq), eventId: r.event_id, usedAt: new Date(r.used_at) } : undefined;
  }

  row(u: Omit<SessionUse, 'ledgerSeq' | 'eventId'>, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('acceptance_session_uses', { session_id: u.sessionId, decision: u.decision, ledger_seq: pos.seq, event_id: pos.eventId, used_at: u.usedAt });
  }
}
