// Too few marked samples to decide is a recorded decision ("insufficient", docs/watermark-spec.md
// sections 8.4 and 10): an investigator can show that the test was run and what it would have needed.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE verifications DROP CONSTRAINT verifications_decision_check`.execute(db);
  await sql`ALTER TABLE verifications ADD CONSTRAINT verifications_decision_check CHECK (decision IN ('detected', 'not_detected', 'insufficient'))`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are never run down');
}
