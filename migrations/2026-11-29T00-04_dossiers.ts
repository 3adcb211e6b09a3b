// Issued dossiers: the signed PDF, its detached Ed25519 signature and the bundle hash.
import { sql, type Kysely } from 'kysely';
import { appendOnly } from './2026-11-29T00-01_ledger.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE dossiers (
      id                uuid        PRIMARY KEY,
      subject           text        NOT NULL,
      case_ref          text        NOT NULL,
      requested_by      text        NOT NULL,
      prepared_for      jsonb       NOT NULL,
      verification_ids  jsonb       NOT NULL,
      issued_at         timestamptz NOT NULL,
      pdf               bytea       NOT NULL,
      pdf_sha256        text        NOT NULL,
      signature         bytea       NOT NULL CHECK (octet_length(signature) = 64),
      bundle_sha256     text        NOT NULL,
      pages             integer     NOT NULL,
      ledger_seq        bigint      NOT NULL UNIQUE,
      event_id          uuid        NOT NULL UNIQUE
    )`.execute(db);
  await sql`CREATE INDEX dossiers_subject_idx ON dossiers (subject, ledger_seq)`.execute(db);
  await appendOnly(db, 'dossiers');
  await sql`GRANT SELECT, INSERT ON dossiers TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
