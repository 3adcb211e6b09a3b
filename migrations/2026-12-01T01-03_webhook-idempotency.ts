// Webhook subscriptions remember the Idempotency-Key they were created with (per API key): a
// retried or parallel create with the same key finds the one subscription instead of adding
// another. NULL for subscriptions created before; NULLs never conflict in a unique constraint.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE webhook_subscriptions
      ADD COLUMN idempotency_scope text,
      ADD COLUMN idempotency_key   text,
      ADD COLUMN request_sha256    text,
      ADD CONSTRAINT webhook_subscriptions_idempotency_key UNIQUE (idempotency_scope, idempotency_key),
      ADD CONSTRAINT webhook_subscriptions_idempotency_complete
        CHECK ((idempotency_scope IS NULL) = (idempotency_key IS NULL) AND (idempotency_key IS NULL) = (request_sha256 IS NULL))`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('migrations are never run down');
}
