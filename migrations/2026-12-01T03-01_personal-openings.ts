// Personal data beside the ledger (docs/personal-data.md). Events hold salted commitments to
// personal facts; the openings (salt and canonical value) live here, keyed by event and field, so
// they can be erased while every hash and proof of the ledger stays as it was. An erased opening
// keeps its commitment and says when and by which erasure event it was erased.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE personal_openings (
      event_id          uuid        NOT NULL,
      field             text        NOT NULL, -- path in the event's data, e.g. "client" or "subjects.2"
      grp               text        NOT NULL CHECK (grp IN ('subject', 'network', 'session', 'free_text')),
      subject_pseudonym text        NOT NULL CHECK (subject_pseudonym ~ '^[0-9a-f]{64}$'),
      ledger_seq        bigint      NOT NULL,
      commitment        text        NOT NULL CHECK (commitment ~ '^[0-9a-f]{64}$'),
      salt              bytea       CHECK (salt IS NULL OR octet_length(salt) = 32),
      value             bytea,      -- the value's RFC 8785 bytes
      recorded_at       timestamptz NOT NULL,
      erased_at         timestamptz,
      erasure_event_id  uuid,
      PRIMARY KEY (event_id, field),
      CHECK ((salt IS NULL) = (value IS NULL)),
      CHECK ((erased_at IS NULL) = (salt IS NOT NULL)),
      CHECK ((erased_at IS NULL) = (erasure_event_id IS NULL))
    )`.execute(db);
  await sql`CREATE INDEX personal_openings_subject_idx ON personal_openings (subject_pseudonym, ledger_seq)`.execute(db);
  await sql`CREATE INDEX personal_openings_due_idx ON personal_openings (recorded_at) WHERE erased_at IS NULL`.execute(db);
  // Legal holds (legal_hold.placed / legal_hold.released): while one is open the subject cannot be erased.
  await sql`
    CREATE TABLE legal_holds (
      id                 uuid        PRIMARY KEY,
      subject_pseudonym  text        NOT NULL CHECK (subject_pseudonym ~ '^[0-9a-f]{64}$'),
      case_ref           text        NOT NULL,
      placed_by_key_id   uuid        NOT NULL,
      placed_at          timestamptz NOT NULL,
      placed_seq         bigint      NOT NULL,
      placed_event_id    uuid        NOT NULL,
      released_by_key_id uuid,
      released_at        timestamptz,
      released_seq       bigint,
      released_event_id  uuid,
      CHECK ((released_at IS NULL) = (released_seq IS NULL))
    )`.execute(db);
  await sql`CREATE INDEX legal_holds_subject_idx ON legal_holds (subject_pseudonym) WHERE released_at IS NULL`.execute(db);
  // Erasures (erasure.performed): one row per event, the signed receipt's subject of reference.
  await sql`
    CREATE TABLE erasures (
      id                uuid        PRIMARY KEY,
      subject_pseudonym text        NOT NULL CHECK (subject_pseudonym ~ '^[0-9a-f]{64}$'),
      basis             text        NOT NULL CHECK (basis IN ('data_subject_request', 'retention', 'court_order', 'other')),
      request_ref       text        NOT NULL,
      performed_by_key_id uuid,
      performed_at      timestamptz NOT NULL,
      ledger_seq        bigint      NOT NULL,
      event_id          uuid        NOT NULL
    )`.execute(db);
  await sql`CREATE INDEX erasures_subject_idx ON erasures (subject_pseudonym, ledger_seq)`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE ON legal_holds TO assentmark_service`.execute(db);
  await sql`GRANT SELECT, INSERT ON erasures TO assentmark_service`.execute(db);
  // Erasure clears salt and value in place (never the commitment): the service may UPDATE this table.
  await sql`GRANT SELECT, INSERT, UPDATE ON personal_openings TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are never run down');
}
