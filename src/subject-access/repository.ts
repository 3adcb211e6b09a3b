// The reads of a subject access export (GDPR Art. 15, docs/personal-data.md "Subject access") that
// no other repository offers: a subject's acceptance sessions, usage roll-ups, text-watermark plans,
// legal holds and erasures. Read only; the tables' writers are their own repositories.
import { sql, type Kysely } from 'kysely';
import type { Database, ErasuresTable } from '../db/schema.js';
import { fromJson } from '../db/rows.js';

export interface SessionFacts {
  id: string;
  slug: string;
  version: string;
  origin: string;
  auth: { method: string; session_id: string; mfa: boolean };
  createdByName: string;
  createdAt: Date;
  expiresAt: Date;
  /** The session's one use (its acceptance.displayed entry), or null when never used. */
  use: { decision: 'accepted' | 'declined'; usedAt: Date; seq: number; eventId: string } | null;
}

export interface UsageFacts {
  reportId: string;
  parameterSetId: string;
  start: Date;
  end: Date;
  tokensServed: number;
  keyVersion: number;
  seq: number;
  eventId: string;
}

export interface LlmPlanFacts {
  id: string;
  caseRef: string;
  parameterSetId: string;
  subjectsScreened: number;
  promptsSha256: string;
  createdAt: Date;
  seq: number;
  eventId: string;
}

export interface HoldFacts {
  id: string;
  caseRef: string;
  placedAt: Date;
  placedSeq: number;
  placedEventId: string;
  released: { at: Date; seq: number; eventId: string | null } | null;
}

export interface ErasureFacts {
  id: string;
  basis: ErasuresTable['basis'];
  requestRef: string;
  performedAt: Date;
  seq: number;
  eventId: string;
}

export class SubjectAccessRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async acceptanceSessions(subject: string): Promise<SessionFacts[]> {
    const rows = await this.db.selectFrom('acceptance_sessions as s').leftJoin('acceptance_session_uses as u', 'u.session_id', 's.id')
      .select(['s.id', 's.slug', 's.version', 's.origin', 's.auth', 's.created_by_name', 's.created_at', 's.expires_at', 'u.decision', 'u.used_at', 'u.ledger_seq', 'u.event_id'])
      .where('s.subject', '=', subject).orderBy('s.created_at').orderBy('s.id').execute();
    return rows.map((r) => ({
      id: r.id, slug: r.slug, version: r.version, origin: r.origin, auth: fromJson(r.auth), createdByName: r.created_by_name,
      createdAt: new Date(r.created_at), expiresAt: new Date(r.expires_at),
      use: r.decision && r.used_at && r.ledger_seq !== null && r.event_id ? { decision: r.decision, usedAt: new Date(r.used_at), seq: Number(r.ledger_seq), eventId: r.event_id } : null,
    }));
  }

  async usageReports(subject: string): Promise<UsageFacts[]> {
    const rows = await this.db.selectFrom('llm_usage_reports')
      .select(['report_id', 'parameter_set_id', 'period_start', 'period_end', 'tokens_served', 'key_version', 'ledger_seq', 'event_id'])
      .where('subject', '=', subject).orderBy('ledger_seq').execute();
    return rows.map((r) => ({
      reportId: r.report_id, parameterSetId: r.parameter_set_id, start: new Date(r.period_start), end: new Date(r.period_end),
      tokensServed: Number(r.tokens_served), keyVersion: r.key_version, seq: Number(r.ledger_seq), eventId: r.event_id,
    }));
  }

  /** Text-watermark plans naming the subject (without the other subjects they name, or their prompts). */
  async llmPlans(subject: string): Promise<LlmPlanFacts[]> {
    const rows = await this.db.selectFrom('llm_verification_plans')
      .select(['id', 'case_ref', 'parameter_set_id', 'subjects_screened', 'prompts_sha256', 'created_at', 'ledger_seq', 'event_id'])
      .where(sql<boolean>`subjects @> ${JSON.stringify([subject])}::jsonb`).orderBy('ledger_seq').execute();
    return rows.map((r) => ({
      id: r.id, caseRef: r.case_ref, parameterSetId: r.parameter_set_id, subjectsScreened: r.subjects_screened, promptsSha256: r.prompts_sha256,
      createdAt: new Date(r.created_at), seq: Number(r.ledger_seq), eventId: r.event_id,
    }));
  }

  async holds(pseudonym: string): Promise<HoldFacts[]> {
    const rows = await this.db.selectFrom('legal_holds')
      .select(['id', 'case_ref', 'placed_at', 'placed_seq', 'placed_event_id', 'released_at', 'released_seq', 'released_event_id'])
      .where('subject_pseudonym', '=', pseudonym).orderBy('placed_seq').execute();
    return rows.map((r) => ({
      id: r.id, caseRef: r.case_ref, placedAt: new Date(r.placed_at), placedSeq: Number(r.placed_seq), placedEventId: r.placed_event_id,
      released: r.released_at && r.released_seq !== null ? { at: new Date(r.released_at), seq: Number(r.released_seq), eventId: r.released_event_id } : null,
    }));
  }

  async erasures(pseudonym: string): Promise<ErasureFacts[]> {
    const rows = await this.db.selectFrom('erasures').select(['id', 'basis', 'request_ref', 'performed_at', 'ledger_seq', 'event_id'])
      .where('subject_pseudonym', '=', pseudonym).orderBy('ledger_seq').execute();
    return rows.map((r) => ({ id: r.id, basis: r.basis, requestRef: r.request_ref, performedAt: new Date(r.performed_at), seq: Number(r.ledger_seq), eventId: r.event_id }));
  }
}
