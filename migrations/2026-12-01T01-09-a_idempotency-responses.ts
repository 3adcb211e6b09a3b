// Idempotency records answer replays of every evidence route, not only assent: `response` holds the
// exact JSON body the first request was answered with, written in the same transaction as its
// events (null for assent records, whose replays are rebuilt from the record with a fresh proof).
// An answer that holds a secret (a new API key's token) is kept only sealed by the master key, in
// `response_sealed`, never in the clear.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE idempotency_keys
      ADD COLUMN response        text,
      ADD COLUMN response_sealed bytea,
      ADD CONSTRAINT idempotency_keys_one_response CHECK (response IS NULL OR response_sealed IS NULL)`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
