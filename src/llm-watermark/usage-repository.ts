// llm_usage_reports: one usage roll-up per subject, parameter set and period (the unique key
// refuses a second report of a period in the transaction that would append its event).
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { workingRow, type WorkingRow } from '../db/rows.js';

export interface UsageReportRow {
  reportId: string;
  subject: string;
  parameterSetId: string;
  start: Date;
  end: Date;
  tokensServed: number;
  keyVersion: number;
}

export interface ReportedPeriod {
  subject: string;
  ledgerSeq: number;
  tokensServed: number;
}

export class LlmUsageRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The subjects of `subjects` whose usage for exactly this parameter set and period was already reported. */
  async reported(parameterSetId: string, start: Date, end: Date, subjects: readonly string[]): Promise<ReportedPeriod[]> {
    if (subjects.length === 0) return [];
    const rows = await this.db.selectFrom('llm_usage_reports').select(['subject', 'ledger_seq', 'tokens_served'])
      .where('parameter_set_id', '=', parameterSetId).where('period_start', '=', start).where('period_end', '=', end)
      .where('subject', 'in', [...subjects]).orderBy('ledger_seq').execute();
    return rows.map((r) => ({ subject: r.subject, ledgerSeq: Number(r.ledger_seq), tokensServed: Number(r.tokens_served) }));
  }

  row(u: UsageReportRow, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('llm_usage_reports', {
      report_id: u.reportId, subject: u.subject, parameter_set_id: u.parameterSetId, period_start: u.start, period_end: u.end,
      tokens_served: u.tokensServed, key_version: u.keyVersion, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}
