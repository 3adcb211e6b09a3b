// Acceptance sessions: a customer's backend binds a subject to a EULA version for a short time so an
// embedded widget can show the text and record the user's decision without an API key in the browser.
// The session token is stored only as its domain-separated SHA-256. A session is used once: the row
// in acceptance_session_uses is written by the ledger appender in the transaction of the session's
// `acceptance.displayed` event, and its primary key refuses a second use.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE acceptance_sessions (
      id                uuid        PRIMARY KEY,
      token_sha256      bytea       NOT NULL UNIQUE,
      subject           text        NOT NULL,
      eula_id           uuid        NOT NULL,
      slug              text        NOT NULL,
      version           text        NOT NULL,
      origin            text        NOT NULL, -- the signup page's origin: the only one the widget may run on
      consent_text      text        NOT NULL,
      accept_text       text        NOT NULL,
      decline_text      text        NOT NULL,
      auth              jsonb       NOT NULL, -- how the customer authenticated the user (method, session_id, mfa)
      created_by_key_id uuid        NOT NULL,
      created_by_name   text        NOT NULL,
      created_at        timestamptz NOT NULL,
      expires_at        timestamptz NOT NULL CHECK (expires_at > created_at)
    )`.execute(db);
  await sql`
    CREATE TABLE acceptance_session_uses (
      session_id uuid        PRIMARY KEY REFERENCES acceptance_sessions (id),
      decision   text        NOT NULL CHECK (decision IN ('accepted', 'declined')),
      ledger_seq bigint      NOT NULL, -- the acceptance.displayed entry
      event_id   uuid        NOT NULL,
      used_at    timestamptz NOT NULL
    )`.execute(db);
  await sql`GRANT SELECT, INSERT ON acceptance_sessions, acceptance_session_uses TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are never run down');
}
