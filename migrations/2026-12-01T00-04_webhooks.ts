// Webhooks: subscriptions (URL, event types, the signing secret wrapped by the master key) and the
// outbox of deliveries, one row per (event, subscription), written by the ledger appender in the
// event's own transaction. Neither is evidence: the worker updates outbox rows as it delivers.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE webhook_subscriptions (
      id             uuid        PRIMARY KEY,
      url            text        NOT NULL,
      event_types    jsonb       NOT NULL,
      description    text        NOT NULL,
      secret_wrapped bytea       NOT NULL, -- AES-256-GCM under the master key (nonce || ciphertext || tag)
      kek_id         text        NOT NULL,
      created_at     timestamptz NOT NULL DEFAULT now(),
      deleted_at     timestamptz           -- deleted subscriptions stay: their deliveries refer to them
    )`.execute(db);
  await sql`
    CREATE TABLE webhook_outbox (
      id              uuid        PRIMARY KEY, -- the delivery id, sent as webhook-id on every attempt
      subscription_id uuid        NOT NULL REFERENCES webhook_subscriptions (id),
      ledger_seq      bigint      NOT NULL,
      event_id        uuid        NOT NULL,
      event_type      text        NOT NULL,
      status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
      attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_attempt_at timestamptz,
      last_status     integer,
      last_error      text,
      delivered_at    timestamptz,
      created_at      timestamptz NOT NULL DEFAULT now(),
      UNIQUE (event_id, subscription_id)
    )`.execute(db);
  await sql`CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (next_attempt_at) WHERE status = 'pending'`.execute(db);
  await sql`CREATE INDEX webhook_outbox_subscription_idx ON webhook_outbox (subscription_id, ledger_seq)`.execute(db);
  await sql`GRANT SELECT, INSERT, UPDATE ON webhook_subscriptions, webhook_outbox TO assentmark_service`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are never run down');
}
