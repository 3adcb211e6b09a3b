// The console's subject search (GET /v1/subjects?prefix=…) is `subject LIKE 'prefix%'`. A b-tree
// serves a LIKE prefix only in the "C" collation (or with text_pattern_ops), and the database's
// default collation may be a linguistic one, so this index is in "C": byte order, which is also the
// order the search lists subjects in. Not evidence, only a working index.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX assent_records_subject_c_idx ON assent_records (subject COLLATE "C")`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are never run down');
}
