// webhook_subscriptions: where to send which events. The wrapped secret is read in exactly one
// function (wrappedSecret); every other read leaves it out.
import type { Kysely } from 'kysely';
import { buf } from '../db/bytes.js';
import { fromJson } from '../db/rows.js';
import type { Database } from '../db/schema.js';

export interface WebhookSubscription {
  id: string;
  url: string;
  eventTypes: string[];
  description: string;
  createdAt: Date;
  deletedAt: Date | null;
}

/** Which API key created it, with which Idempotency-Key, for which request (digest). */
export interface CreateKey {
  scope: string;
  key: string;
  requestSha256: string;
}

const INFO = ['id', 'url', 'event_types', 'description', 'created_at', 'deleted_at'] as const;

type InfoRow = { id: string; url: string; event_types: string[] | string; description: string; created_at: Date; deleted_at: Date | null };

export class WebhookSubscriptionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Inserts it unless its (scope, Idempotency-Key) pair was used before: then nothing is written
   * and the earlier subscription is returned with the digest of the request that created it. One
   * statement, so parallel creates with one key wait for each other and exactly one inserts.
   */
  async insert(s: { id: string; url: string; eventTypes: string[]; description: string; secretWrapped: Buffer; kekId: string; idempotency: CreateKey }): Promise<{ subscription: WebhookSubscription; created: boolean; requestSha256: string }> {
    const row = await this.db
      .insertInto('webhook_subscriptions')
      .values({
        id: s.id, url: s.url, event_types: JSON.stringify(s.eventTypes), description: s.description, secret_wrapped: s.secretWrapped, kek_id: s.kekId,
        idempotency_scope: s.idempotency.scope, idempotency_key: s.idempotency.key, request_sha256: s.idempotency.requestSha256,
      })
      .onConflict((oc) => oc.columns(['idempotency_scope', 'idempotency_key']).doNothing())
      .returning(INFO)
      .executeTakeFirst();
    if (row) return { subscription: toSubscription(row), created: true, requestSha256: s.idempotency.requestSha256 };
    const prior = await this.db
      .selectFrom('webhook_subscriptions')
      .select([...INFO, 'request_sha256'])
      .where('idempotency_scope', '=', s.idempotency.scope)
      .where('idempotency_key', '=', s.idempotency.key)
      .executeTakeFirstOrThrow();
    return { subscription: toSubscription(prior), created: false, requestSha256: prior.request_sha256! };
  }

  /** Subscriptions not deleted, oldest first. */
  async active(): Promise<WebhookSubscription[]> {
    const rows = await this.db.selectFrom('webhook_subscriptions').select(INFO).where('deleted_at', 'is', null).orderBy('created_at').orderBy('id').execute();
    return rows.map(toSubscription);
  }

  async get(id: string): Promise<WebhookSubscription | undefined> {
    const row = await this.db.selectFrom('webhook_subscriptions').select(INFO).where('id', '=', id).executeTakeFirst();
    return row ? toSubscription(row) : undefined;
  }

  /** Marks it deleted; false when there is no such subscription left to delete. */
  async markDeleted(id: string, at: Date): Promise<boolean> {
    const r = await this.db.updateTable('webhook_subscriptions').set({ deleted_at: at }).where('id', '=', id).where('deleted_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The only read of the wrapped signing secrets: for the delivery worker, by subscription id. */
  async wrappedSecrets(ids: readonly string[]): Promise<Map<string, { wrapped: Buffer; kekId: string }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.selectFrom('webhook_subscriptions').select(['id', 'secret_wrapped', 'kek_id']).where('id', 'in', [...ids]).execute();
    return new Map(rows.map((r) => [r.id, { wrapped: buf(r.secret_wrapped), kekId: r.kek_id }]));
  }
}

function toSubscription(r: InfoRow): WebhookSubscription {
  return { id: r.id, url: r.url, eventTypes: fromJson(r.event_types), description: r.description, createdAt: new Date(r.created_at), deletedAt: r.deleted_at ? new Date(r.deleted_at) : null };
}
