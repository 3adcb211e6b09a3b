// llm_verifications: the working copy of every recorded LLM verification outcome.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { fromJson, workingRow, type WorkingRow } from '../db/rows.js';
import type { EventData } from '../ledger/events.js';

export type LlmOutcome = EventData<'llm_verification.recorded'>;

export interface LlmVerificationRecord {
  id: string;
  screeningId: string;
  caseRef: string;
  /** Null for an outcome against the global key. */
  subject: string | null;
  layer: 'subject' | 'global';
  parameterSetId: string;
  planId: string | null;
  decision: LlmOutcome['decision'];
  outcome: LlmOutcome;
  keyVersion: number;
  createdAt: Date;
  ledgerSeq: number;
  eventId: string;
}

const COLUMNS = ['id', 'screening_id', 'case_ref', 'subject', 'layer', 'parameter_set_id', 'plan_id', 'decision', 'outcome', 'key_version', 'created_at', 'ledger_seq', 'event_id'] as const;

export class LlmVerificationRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<LlmVerificationRecord | undefined> {
    const r = await this.db.selectFrom('llm_verifications').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    return r ? toRecord(r) : undefined;
  }

  /** A subject's outcomes in ledger order (the dossier's LLM section). */
  async forSubject(subject: string): Promise<LlmVerificationRecord[]> {
    const rows = await this.db.selectFrom('llm_verifications').select(COLUMNS).where('subject', '=', subject).orderBy('ledger_seq').execute();
    return rows.map(toRecord);
  }

  row(v: Omit<LlmVerificationRecord, 'ledgerSeq' | 'eventId'>, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('llm_verifications', {
      id: v.id, screening_id: v.screeningId, case_ref: v.caseRef, subject: v.subject, layer: v.layer, parameter_set_id: v.parameterSetId, plan_id: v.planId, decision: v.decision,
      outcome: JSON.stringify(v.outcome), key_version: v.keyVersion, created_at: v.createdAt, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}

function toRecord(r: { id: string; screening_id: string; case_ref: string; subject: string | null; layer: 'subject' | 'global'; parameter_set_id: string; plan_id: string | null; decision: LlmOutcome['decision']; outcome: unknown; key_version: number; created_at: Date; ledger_seq: string | number; event_id: string }): LlmVerificationRecord {
  return {
    id: r.id, screeningId: r.screening_id, caseRef: r.case_ref, subject: r.subject, layer: r.layer, parameterSetId: r.parameter_set_id, planId: r.plan_id, decision: r.decision,
    outcome: fromJson(r.outcome as string) as unknown as LlmOutcome, keyVersion: r.key_version, createdAt: new Date(r.created_at), ledgerSeq: Number(r.ledger_seq), eventId: r.event_id,
  };
}
