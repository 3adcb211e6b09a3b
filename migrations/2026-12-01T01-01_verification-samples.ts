// The samples each verification was run on, so that a dossier can attach them and a reader can
// re-derive n and m: one row per screening (the submitted samples, in submission order, as the lines
// the recorded samples digest is computed over) and one per outcome (the samples the subject's key
// marks, with their watermark labels). Written with the verification.recorded events.
import { sql, type Kysely } from 'kysely';
import { appendOnly } from './2026-11-29T00-01_ledger.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE verification_samples (
      screening_id   uuid        PRIMARY KEY,
      sample_count   integer     NOT NULL CHECK (sample_count > 0),
      samples_digest text        NOT NULL CHECK (samples_digest ~ '^[0-9a-f]{64}$'),
      lines          text        NOT NULL,
      created_at     timestamptz NOT NULL,
      ledger_seq     bigint      NOT NULL UNIQUE,
      event_id       uuid        NOT NULL UNIQUE
    )`.execute(db);
  await sql`
    CREATE TABLE verification_marks (
      verification_id uuid PRIMARY KEY REFERENCES verifications (id),
      screening_id    uuid NOT NULL REFERENCES verification_samples (screening_id),
      marks           text NOT NULL
    )`.execute(db);
  for (const t of ['verification_samples', 'verification_marks']) await appendOnly(db, t);
  await sql`GRANT SELECT, INSERT ON verification_samples, verification_marks TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
