// The current state of each subject's assent to each EULA and of its watermark key: one row per
// (subject, scope), naming the ledger entry that last changed it. A change that was decided on a
// state it read (a withdrawal of the standing acceptance, a rotation of the current key) states
// that entry as `expected`; the ledger appender upserts the row in the change's own statement,
// and the check refuses it when another change came first. Not evidence: a guard derived from the
// ledger (rebuilt below from the working rows), so its rows are updated in place.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE subject_states (
      subject  text   NOT NULL,
      scope    text   NOT NULL, -- 'assent:<slug>' or 'watermark_key'
      seq      bigint NOT NULL CHECK (seq >= 1), -- the entry that set the current state
      replaced bigint NOT NULL DEFAULT 0,       -- the entry whose state it replaced (0: none)
      expected bigint,                          -- the state the change was decided on (null: it depends on none)
      PRIMARY KEY (subject, scope),
      CONSTRAINT subject_states_expected CHECK (expected IS NULL OR expected = replaced)
    )`.execute(db);
  await sql`
    INSERT INTO subject_states (subject, scope, seq)
    SELECT subject, 'assent:' || slug, max(ledger_seq) FROM assent_records GROUP BY subject, slug`.execute(db);
  await sql`
    INSERT INTO subject_states (subject, scope, seq)
    SELECT subject, 'watermark_key', max(ledger_seq) FROM watermark_keys GROUP BY subject`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE ON subject_states TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are never run down');
}
