// Sessions of the investigator console (/console): an API key exchanged for a cookie. Only the
// domain-separated SHA-256 of the session token is stored (as for API keys), so a read of this
// table signs no one in (nor yields the session's CSRF token, derived from the token itself). Not evidence: rows are deleted at sign-out and
// once expired. A session dies with its API key (the key's revocation is checked on every use).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE console_sessions (
      id          uuid        PRIMARY KEY,
      token_hash  bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
      api_key_id  uuid        NOT NULL REFERENCES api_keys (id),
      created_at  timestamptz NOT NULL DEFAULT now(),
      expires_at  timestamptz NOT NULL,
      CONSTRAINT console_sessions_expiry CHECK (expires_at > created_at)
    )`.execute(db);
  await sql`CREATE INDEX console_sessions_expires_idx ON console_sessions (expires_at)`.execute(db);
  await sql`GRANT SELECT, INSERT, DELETE ON console_sessions TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are never run down');
}
