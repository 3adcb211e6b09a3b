// llm_verification_plans: prompts committed before the suspect's outputs are submitted.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { fromJson, workingRow, type WorkingRow } from '../db/rows.js';

export interface LlmPlan {
  id: string;
  caseRef: string;
  parameterSetId: string;
  subjects: string[];
  prompts: number[][];
  promptsSha256: string;
  alpha: number;
  subjectsScreened: number;
  /** The global key is a candidate too. */
  globalKey: boolean;
  createdAt: Date;
  ledgerSeq: number;
  eventId: string;
}

const COLUMNS = ['id', 'case_ref', 'parameter_set_id', 'subjects', 'prompts', 'prompts_sha256', 'alpha', 'subjects_screened', 'global_key', 'created_at', 'ledger_seq', 'event_id'] as const;

export class LlmPlanRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<LlmPlan | undefined> {
    const r = await this.db.selectFrom('llm_verification_plans').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    if (!r) return undefined;
    return {
      id: r.id, caseRef: r.case_ref, parameterSetId: r.parameter_set_id, subjects: fromJson(r.subjects), prompts: fromJson(r.prompts), promptsSha256: r.prompts_sha256,
      alpha: Number(r.alpha), subjectsScreened: r.subjects_screened, globalKey: r.global_key, createdAt: new Date(r.created_at), ledgerSeq: Number(r.ledger_seq), eventId: r.event_id,
    };
  }

  /** The plans' ledger positions and digests, without their prompts (what a dossier cites). */
  async many(ids: readonly string[]): Promise<Array<Omit<LlmPlan, 'prompts'> & { promptCount: number }>> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('llm_verification_plans')
      .select(['id', 'case_ref', 'parameter_set_id', 'subjects', 'prompts_sha256', 'alpha', 'subjects_screened', 'global_key', 'created_at', 'ledger_seq', 'event_id', sql<number>`jsonb_array_length(prompts)`.as('prompt_count')])
      .where('id', 'in', [...ids]).orderBy('ledger_seq').execute();
    return rows.map((r) => ({
      id: r.id, caseRef: r.case_ref, parameterSetId: r.parameter_set_id, subjects: fromJson(r.subjects), promptsSha256: r.prompts_sha256, alpha: Number(r.alpha),
      subjectsScreened: r.subjects_screened, globalKey: r.global_key, createdAt: new Date(r.created_at), ledgerSeq: Number(r.ledger_seq), eventId: r.event_id, promptCount: Number(r.prompt_count),
    }));
  }

  row(p: Omit<LlmPlan, 'ledgerSeq' | 'eventId'>, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('llm_verification_plans', {
      id: p.id, case_ref: p.caseRef, parameter_set_id: p.parameterSetId, subjects: JSON.stringify(p.subjects), prompts: JSON.stringify(p.prompts), prompts_sha256: p.promptsSha256,
      alpha: p.alpha, subjects_screened: p.subjectsScreened, global_key: p.globalKey, created_at: p.createdAt, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}
