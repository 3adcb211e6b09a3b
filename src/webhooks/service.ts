// Webhook subscriptions and their deliveries: create (the secret is generated here and returned
// once), list, delete, the delivery log, and a signed test ping sent at once.
import { randomUUID } from 'node:crypto';
import { requestDigest } from '../idempotency/digest.js';
import { constantTimeEqual } from '../crypto/hash.js';
import type { WebhookDeliveryStatus } from '../db/schema.js';
import { AppError } from '../problems/app-error.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';
import type { AttemptOutcome, WebhookPost } from './delivery.js';
import type { Delivery, WebhookOutboxRepository } from './outbox-repository.js';
import type { CreateWebhook } from './schemas.js';
import { unwrapSecret, wrapSecret } from './secrets.js';
import { generateSecret } from './signer.js';
import type { SubscriptionIndex } from './subscriptions.js';
import type { WebhookSubscription, WebhookSubscriptionRepository } from './subscription-repository.js';
import { checkWebhookUrl } from './url.js';
import { signedHeaders } from './worker.js';

export type DeliveryCounts = Record<WebhookDeliveryStatus, number>;

export interface WebhookWithCounts {
  subscription: WebhookSubscription;
  deliveries: DeliveryCounts;
}

const NO_DELIVERIES: DeliveryCounts = { pending: 0, delivered: 0, failed: 0, cancelled: 0 };

export interface WebhookDeps {
  subscriptions: WebhookSubscriptionRepository;
  outbox: WebhookOutboxRepository;
  index: SubscriptionIndex;
  kek: KeyEncryptionKey;
  post: WebhookPost;
}

export class WebhookService {
  constructor(private readonly deps: WebhookDeps, private readonly opts: { allowPrivate: boolean }) {}

  /**
   * Creates a subscription; the secret is returned to this caller only. A retry with the same
   * Idempotency-Key (from the same API key) and the same body gets the same subscription and
   * secret back (`replayed`), however many run at once; with another body it is refused.
   */
  async create(body: CreateWebhook, caller: { keyId: string; idempotencyKey: string }): Promise<{ subscription: WebhookSubscription; secret: string; replayed: boolean }> {
    const check = checkWebhookUrl(body.url, this.opts.allowPrivate);
    if (!check.ok) throw new AppError('webhook_url_invalid', `url: ${check.reason}. Give an http or https URL of your own endpoint.`);
    const id = randomUUID();
    const secret = generateSecret();
    const digest = requestDigest('webhook.create', body);
    const r = await this.deps.subscriptions.insert({
      id, url: new URL(body.url).toString(), eventTypes: body.event_types, description: body.description ?? '',
      secretWrapped: wrapSecret(this.deps.kek, id, secret), kekId: this.deps.kek.id,
      idempotency: { scope: caller.keyId, key: caller.idempotencyKey, requestSha256: digest },
    });
    if (!r.created) {
      if (!constantTimeEqual(Buffer.from(r.requestSha256, 'utf8'), Buffer.from(digest, 'utf8'))) throw new AppError('idempotency_key_reused', 'this Idempotency-Key was already used to create a webhook with a different request body; use a new key for a new subscription');
      const prior = r.subscription.id;
      const wrapped = (await this.deps.subscriptions.wrappedSecrets([prior])).get(prior)!;
      return { subscription: r.subscription, secret: unwrapSecret(this.deps.kek, prior, wrapped.wrapped), replayed: true };
    }
    // Appends after this answer see the subscription in this process; other processes within their reload interval.
    await this.deps.index.reload();
    return { subscription: r.subscription, secret, replayed: false };
  }

  async list(): Promise<WebhookWithCounts[]> {
    const [subs, counts] = await Promise.all([this.deps.subscriptions.active(), this.deps.outbox.counts()]);
    return subs.map((s) => ({ subscription: s, deliveries: counts.get(s.id) ?? { ...NO_DELIVERIES } }));
  }

  async get(id: string): Promise<WebhookWithCounts> {
    const s = await this.#active(id);
    return { subscription: s, deliveries: (await this.deps.outbox.counts()).get(id) ?? { ...NO_DELIVERIES } };
  }

  /** Deletes it: no new deliveries, and pending ones are cancelled. */
  async delete(id: string): Promise<void> {
    if (!(await this.deps.subscriptions.markDeleted(id, new Date()))) throw notFound(id);
    await this.deps.index.reload();
    await this.deps.outbox.cancelPending(id);
  }

  async deliveries(id: string, opts: { status?: WebhookDeliveryStatus; limit: number }): Promise<Delivery[]> {
    await this.#active(id);
    return this.deps.outbox.list(id, opts);
  }

  /** Sends a signed `webhook.test` ping now (not through the outbox, never retried). */
  async test(id: string): Promise<{ deliveryId: string; outcome: AttemptOutcome }> {
    const s = await this.#active(id);
    const wrapped = (await this.deps.subscriptions.wrappedSecrets([id])).get(id)!;
    const secret = unwrapSecret(this.deps.kek, id, wrapped.wrapped);
    const deliveryId = randomUUID();
    const body = JSON.stringify({ type: 'webhook.test', timestamp: new Date().toISOString(), data: { subscription_id: id } });
    return { deliveryId, outcome: await this.deps.post(s.url, signedHeaders(secret, deliveryId, body), body) };
  }

  async #active(id: string): Promise<WebhookSubscription> {
    const s = await this.deps.subscriptions.get(id);
    if (!s || s.deletedAt) throw notFound(id);
    return s;
  }
}

function notFound(id: string): AppError {
  return new AppError('webhook_not_found', `no webhook subscription with id ${id} (deleted ones are not listed)`);
}
