// Erasure scrubs the working copies of a subject's facts (docs/personal-data.md, "Erasure"). The
// working tables below were append-only; now each may change only the columns that identify a
// person, never delete a row, and a subject column only to a tombstone ("erased:<erasure id>"):
// a trigger enforces it for every role, and the service role gets UPDATE on exactly those columns.
import { sql, type Kysely } from 'kysely';

/** table → the columns erasure may overwrite. */
const ERASABLE: Record<string, string[]> = {
  assent_records: ['subject', 'record'],
  watermark_keys: ['subject', 'wrapped'],
  verification_plans: ['subjects'],
  verifications: ['subject', 'outcome'],
  llm_verification_plans: ['subjects'],
  llm_verifications: ['subject', 'outcome'],
  llm_usage_reports: ['subject'],
  dossiers: ['subject', 'requested_by', 'prepared_for', 'pdf'],
  idempotency_keys: ['response'],
};

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE FUNCTION assentmark_erasure_only() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      o jsonb;
      n jsonb;
      c text;
    BEGIN
      IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'assentmark: % on % is refused: the table is append-only (erasure overwrites, never deletes)', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      o := to_jsonb(OLD);
      n := to_jsonb(NEW);
      IF n ? 'subject' AND (n->>'subject') IS DISTINCT FROM (o->>'subject') AND (n->>'subject') NOT LIKE 'erased:%' THEN
        RAISE EXCEPTION 'assentmark: UPDATE on % is refused: erasure sets a subject only to a tombstone (erased:...)', TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      FOREACH c IN ARRAY TG_ARGV LOOP
        o := o - c;
        n := n - c;
      END LOOP;
      IF o IS DISTINCT FROM n THEN
        RAISE EXCEPTION 'assentmark: UPDATE on % is refused: only its personal columns may be erased', TG_TABLE_NAME
          USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$`.execute(db);
  for (const [table, cols] of Object.entries(ERASABLE)) {
    const t = sql.table(table);
    await sql`DROP TRIGGER ${sql.raw(`${table}_no_update_delete`)} ON ${t}`.execute(db);
    const trigger = sql.raw(`${table}_erasure_only`);
    const args = sql.raw(cols.map((c) => `'${c}'`).join(', '));
    await sql`CREATE TRIGGER ${trigger} BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION assentmark_erasure_only(${args})`.execute(db);
    await sql`ALTER TABLE ${t} ENABLE ALWAYS TRIGGER ${trigger}`.execute(db);
    await sql`GRANT UPDATE (${sql.raw(cols.join(', '))}) ON ${t} TO assentmark_service`.execute(db);
  }
  // A hold placed from the command line has no API key (as erasures.performed_by_key_id): null.
  await sql`ALTER TABLE legal_holds ALTER COLUMN placed_by_key_id DROP NOT NULL`.execute(db);
  // Acceptance sessions were never append-only: an erased session names nobody and can no longer be used.
  await sql`GRANT UPDATE (subject, auth, expires_at) ON acceptance_sessions TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are never run down');
}
