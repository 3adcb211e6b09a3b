// Text watermark (docs/llm-watermark-spec.md): registered parameter sets, pre-registered prompt
// plans, and the working copy of every recorded LLM verification outcome.
import { sql, type Kysely } from 'kysely';
import { appendOnly } from './2026-11-29T00-01_ledger.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE llm_parameter_sets (
      id         text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
      params     jsonb       NOT NULL,
      created_at timestamptz NOT NULL,
      ledger_seq bigint      NOT NULL UNIQUE,
      event_id   uuid        NOT NULL UNIQUE
    )`.execute(db);
  await sql`
    CREATE TABLE llm_verification_plans (
      id                uuid        PRIMARY KEY,
      case_ref          text        NOT NULL,
      parameter_set_id  text        NOT NULL REFERENCES llm_parameter_sets (id),
      subjects          jsonb       NOT NULL,
      prompts           jsonb       NOT NULL,
      prompts_sha256    text        NOT NULL,
      alpha             double precision NOT NULL,
      subjects_screened integer     NOT NULL,
      created_at        timestamptz NOT NULL,
      ledger_seq        bigint      NOT NULL UNIQUE,
      event_id          uuid        NOT NULL UNIQUE
    )`.execute(db);
  await sql`
    CREATE TABLE llm_verifications (
      id               uuid        PRIMARY KEY,
      screening_id     uuid        NOT NULL,
      case_ref         text        NOT NULL,
      subject          text        NOT NULL,
      parameter_set_id text        NOT NULL REFERENCES llm_parameter_sets (id),
      plan_id          uuid        REFERENCES llm_verification_plans (id),
      decision         text        NOT NULL CHECK (decision IN ('detected', 'not_detected', 'insufficient')),
      outcome          jsonb       NOT NULL,
      key_version      integer     NOT NULL,
      created_at       timestamptz NOT NULL,
      ledger_seq       bigint      NOT NULL UNIQUE,
      event_id         uuid        NOT NULL UNIQUE
    )`.execute(db);
  await sql`CREATE INDEX llm_verifications_subject_idx ON llm_verifications (subject, ledger_seq)`.execute(db);
  for (const t of ['llm_parameter_sets', 'llm_verification_plans', 'llm_verifications']) await appendOnly(db, t);
  await sql`GRANT SELECT, INSERT ON llm_parameter_sets, llm_verification_plans, llm_verifications TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
