// EULA versions, assent records, per-subject watermark keys, API keys and idempotency records.
import { sql, type Kysely } from 'kysely';
import { appendOnly } from './2026-11-29T00-01_ledger.js';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE api_keys (
      id          uuid        PRIMARY KEY,
      name        text        NOT NULL,
      role        text        NOT NULL CHECK (role IN ('admin', 'signup', 'gateway', 'investigator', 'counsel')),
      token_hash  bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
      token_hint  text        NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      revoked_at  timestamptz
    )`.execute(db);

  await sql`
    CREATE TABLE eula_versions (
      id           uuid        PRIMARY KEY,
      slug         text        NOT NULL,
      version      text        NOT NULL,
      title        text        NOT NULL,
      body         text        NOT NULL,
      body_sha256  text        NOT NULL,
      effective_at timestamptz NOT NULL,
      major        boolean     NOT NULL,
      highlights   jsonb       NOT NULL DEFAULT '[]',
      published_at timestamptz NOT NULL,
      ledger_seq   bigint      NOT NULL UNIQUE,
      event_id     uuid        NOT NULL UNIQUE,
      UNIQUE (slug, version)
    )`.execute(db);
  await sql`CREATE INDEX eula_versions_slug_idx ON eula_versions (slug, effective_at, ledger_seq)`.execute(db);

  await sql`
    CREATE TABLE watermark_keys (
      subject      text        NOT NULL,
      version      integer     NOT NULL CHECK (version >= 1),
      key_id       uuid        NOT NULL UNIQUE,
      kek_id       text        NOT NULL,
      wrapped      bytea       NOT NULL,
      commitment   text        NOT NULL,
      assigned_at  timestamptz NOT NULL,
      reason       text        NOT NULL,
      ledger_seq   bigint      NOT NULL UNIQUE,
      event_id     uuid        NOT NULL UNIQUE,
      PRIMARY KEY (subject, version)
    )`.execute(db);

  await sql`
    CREATE TABLE assent_records (
      id                uuid        PRIMARY KEY,
      kind              text        NOT NULL CHECK (kind IN ('accepted', 'declined', 'withdrawn')),
      subject           text        NOT NULL,
      eula_id           uuid        NOT NULL REFERENCES eula_versions (id),
      slug              text        NOT NULL,
      version           text        NOT NULL,
      server_time       timestamptz NOT NULL,
      record            jsonb       NOT NULL,
      key_version       integer,
      key_commitment    text,
      ledger_seq        bigint      NOT NULL UNIQUE,
      event_id          uuid        NOT NULL UNIQUE
    )`.execute(db);
  await sql`CREATE INDEX assent_records_subject_idx ON assent_records (subject, slug, ledger_seq)`.execute(db);

  await sql`
    CREATE TABLE idempotency_keys (
      scope          text        NOT NULL,
      key            text        NOT NULL,
      request_sha256 text        NOT NULL,
      record_id      uuid        NOT NULL,
      created_at     timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (scope, key)
    )`.execute(db);

  for (const t of ['eula_versions', 'watermark_keys', 'assent_records', 'idempotency_keys']) await appendOnly(db, t);

  await sql`GRANT SELECT, INSERT ON eula_versions, watermark_keys, assent_records, idempotency_keys TO assentmark_service`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE ON api_keys TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('evidence tables are never migrated down');
}
