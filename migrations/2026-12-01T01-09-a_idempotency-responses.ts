// Idempotency records answer replays of every evidence route, not only assent: `response` holds the
// exact JSON body the first request was answered with, written in the same transaction as its
// events (null for assent records, whose replays are rebuilt from the record with a fresh proof).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE idempotency_keys ADD COLUMN response text`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
