// RFC 3161 timestamps of signed checkpoints: time from outside, kept beside the checkpoint it covers.
import { sql, type Kysely } from 'kysely';
import { appendOnly } from './2026-11-29T00-01_ledger.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE checkpoint_timestamps (
      id         uuid        PRIMARY KEY,
      size       bigint      NOT NULL, -- the ledger_checkpoints row (no foreign key: the checkpoints table only ever grows)
      digest     bytea       NOT NULL CHECK (octet_length(digest) = 32),
      tsa_url    text        NOT NULL,
      token      bytea       NOT NULL,
      gen_time   timestamptz NOT NULL,
      serial     text        NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX checkpoint_timestamps_size_idx ON checkpoint_timestamps (size)`.execute(db);
  await appendOnly(db, 'checkpoint_timestamps');
  await sql`GRANT SELECT, INSERT ON checkpoint_timestamps TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
