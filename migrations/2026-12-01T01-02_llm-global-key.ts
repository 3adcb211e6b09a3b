// The optional global text-watermark layer (docs/llm-watermark-spec.md §6.1): one key for every
// account, stored only wrapped like the per-subject keys, committed by an
// `llm_watermark.global_key_created` event; and outcomes tested against it (no subject).
import { sql, type Kysely } from 'kysely';
import { appendOnly } from './2026-11-29T00-01_ledger.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE llm_global_keys (
      version    integer     PRIMARY KEY CHECK (version >= 1),
      key_id     uuid        NOT NULL UNIQUE,
      kek_id     text        NOT NULL,
      wrapped    bytea       NOT NULL,
      commitment text        NOT NULL CHECK (commitment ~ '^[0-9a-f]{64}$'),
      reason     text        NOT NULL,
      created_at timestamptz NOT NULL,
      ledger_seq bigint      NOT NULL UNIQUE,
      event_id   uuid        NOT NULL UNIQUE
    )`.execute(db);
  await appendOnly(db, 'llm_global_keys');
  await sql`GRANT SELECT, INSERT ON llm_global_keys TO assentmark_service`.execute(db);
  // A plan may test the global key too (it counts as one more candidate screened).
  await sql`ALTER TABLE llm_verification_plans ADD COLUMN global_key boolean NOT NULL DEFAULT false`.execute(db);
  // An outcome is for a subject's key or for the global key; the global one names no subject.
  await sql`ALTER TABLE llm_verifications ADD COLUMN layer text NOT NULL DEFAULT 'subject' CHECK (layer IN ('subject', 'global'))`.execute(db);
  await sql`ALTER TABLE llm_verifications ALTER COLUMN subject DROP NOT NULL`.execute(db);
  await sql`ALTER TABLE llm_verifications ADD CONSTRAINT llm_verifications_layer_subject CHECK ((layer = 'global') = (subject IS NULL))`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
