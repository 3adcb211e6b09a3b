// One usage roll-up per subject, parameter set and period: a second report for a period already
// reported would double-count the marked tokens the subject received, so the unique key refuses it
// (in the transaction that would append its event). Reports made before this table existed are in
// the ledger only.
import { sql, type Kysely } from 'kysely';
import { appendOnly } from './2026-11-29T00-01_ledger.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE llm_usage_reports (
      report_id        uuid        NOT NULL,
      subject          text        NOT NULL,
      parameter_set_id text        NOT NULL REFERENCES llm_parameter_sets (id),
      period_start     timestamptz NOT NULL,
      period_end       timestamptz NOT NULL CHECK (period_end > period_start),
      tokens_served    bigint      NOT NULL CHECK (tokens_served > 0),
      key_version      integer     NOT NULL,
      ledger_seq       bigint      NOT NULL UNIQUE,
      event_id         uuid        NOT NULL UNIQUE,
      CONSTRAINT llm_usage_reports_period UNIQUE (subject, parameter_set_id, period_start, period_end)
    )`.execute(db);
  await sql`CREATE INDEX llm_usage_reports_report_idx ON llm_usage_reports (report_id)`.execute(db);
  await appendOnly(db, 'llm_usage_reports');
  await sql`GRANT SELECT, INSERT ON llm_usage_reports TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
