// verifications: the working copy of every recorded verification outcome.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { fromJson, workingRow, type WorkingRow } from '../db/rows.js';
import type { EventData } from '../ledger/events.js';

export type Outcome = EventData<'verification.recorded'>;

export interface VerificationRecord {
  id: string;
  screeningId: string;
  caseRef: string;
  subject: string;
  planId: string | null;
  decision: 'detected' | 'not_detected' | 'insufficient';
  outcome: Outcome;
  keyVersion: number;
  createdAt: Date;
  ledgerSeq: number;
  eventId: string;
}

const COLUMNS = ['id', 'screening_id', 'case_ref', 'subject', 'plan_id', 'decision', 'outcome', 'key_version', 'created_at', 'ledger_seq', 'event_id'] as const;

export class VerificationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<VerificationRecord | undefined> {
    const r = await this.db.selectFrom('verifications').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  async forSubject(subject: string): Promise<VerificationRecord[]> {
    const rows = await this.db.selectFrom('verifications').select(COLUMNS).where('subject', '=', subject).orderBy('ledger_seq').execute();
    return rows.map(toRecord);
  }

  row(v: Omit<VerificationRecord, 'ledgerSeq' | 'eventId'>, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('verifications', {
      id: v.id, screening_id: v.screeningId, case_ref: v.caseRef, subject: v.subject, plan_id: v.planId, decision: v.decision,
      outcome: JSON.stringify(v.outcome), key_version: v.keyVersion, created_at: v.createdAt, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}

function toRecord(r: { id: string; screening_id: string; case_ref: string; subject: string; plan_id: string | null; decision: 'detected' | 'not_detected' | 'insufficient'; outcome: Record<string, unknown> | string; key_version: number; created_at: Date; ledger_seq: string; event_id: string }): VerificationRecord {
  return {
    id: r.id, screeningId: r.screening_id, caseRef: r.case_ref, subject: r.subject, planId: r.plan_id, decision: r.decision,
    outcome: fromJson(r.outcome) as Outcome, keyVersion: r.key_version, createdAt: new Date(r.created_at), ledgerSeq: Number(r.ledger_seq), eventId: r.event_id,
  };
}
