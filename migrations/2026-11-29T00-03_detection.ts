// Verification plans (samples committed before suspect labels are known) and verification outcomes.
import { sql, type Kysely } from 'kysely';
import { appendOnly } from './2026-11-29T00-01_ledger.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE verification_plans (
      id             uuid        PRIMARY KEY,
      case_ref       text        NOT NULL,
      subjects       jsonb       NOT NULL,
      samples        jsonb       NOT NULL,
      sample_count   integer     NOT NULL,
      samples_digest text        NOT NULL,
      created_at     timestamptz NOT NULL,
      ledger_seq     bigint      NOT NULL UNIQUE,
      event_id       uuid        NOT NULL UNIQUE
    )`.execute(db);

  await sql`
    CREATE TABLE verifications (
      id             uuid        PRIMARY KEY,
      screening_id   uuid        NOT NULL,
      case_ref       text        NOT NULL,
      subject        text        NOT NULL,
      plan_id        uuid        REFERENCES verification_plans (id),
      decision       text        NOT NULL CHECK (decision IN ('detected', 'not_detected')),
      outcome        jsonb       NOT NULL,
      key_version    integer     NOT NULL,
      created_at     timestamptz NOT NULL,
      ledger_seq     bigint      NOT NULL UNIQUE,
      event_id       uuid        NOT NULL UNIQUE
    )`.execute(db);
  await sql`CREATE INDEX verifications_subject_idx ON verifications (subject, ledger_seq)`.execute(db);

  for (const t of ['verification_plans', 'verifications']) await appendOnly(db, t);
  await sql`GRANT SELECT, INSERT ON verification_plans, verifications TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
