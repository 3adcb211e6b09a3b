// The delivery worker of a service process: claims due outbox rows (several processes share them),
// signs and POSTs each, and records the outcome: delivered on a 2xx, else retried with backoff
// until the attempts or the age run out (then failed). A kill between the POST and the record
// means the same delivery (same webhook-id, same body) is sent again after its lease: receivers
// de-duplicate by webhook-id.
import type { WebhookConfig } from '../config/config.js';
import type { LedgerEntry } from '../ledger/format.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';
import { retryDelayMs } from './backoff.js';
import type { AttemptOutcome, WebhookPost } from './delivery.js';
import type { Delivery, WebhookOutboxRepository } from './outbox-repository.js';
import { webhookPayload, type HookOpening } from './payload.js';
import { unwrapSecret } from './secrets.js';
import { signDelivery } from './signer.js';
import type { WebhookSubscriptionRepository } from './subscription-repository.js';

/** The delivery settings of the configuration (`batch`: deliveries claimed, and sent side by side, per round). */
export type DeliveryOptions = Pick<WebhookConfig, 'pollMs' | 'batch' | 'timeoutMs' | 'baseDelayMs' | 'maxDelayMs' | 'maxAttempts' | 'maxAgeMs'>;

export interface DeliveryDeps {
  outbox: WebhookOutboxRepository;
  subscriptions: WebhookSubscriptionRepository;
  entriesBySeq(seqs: number[]): Promise<LedgerEntry[]>;
  /** The openings of these events' personal facts, read at each attempt: an erased one is not sent. */
  openingsFor(eventIds: string[]): Promise<Array<HookOpening & { eventId: string }>>;
  kek: KeyEncryptionKey;
  post: WebhookPost;
  onError?: (err: unknown) => void;
}

export const USER_AGENT = 'assentmark-webhooks/1';

/** The headers of one signed attempt (Standard Webhooks). */
export function signedHeaders(secret: string, id: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000);
  return {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signDelivery(secret, id, timestamp, body),
  };
}

export class DeliveryWorker {
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<void> | null = null;
  #stopped = true;

  constructor(private readonly deps: DeliveryDeps, private readonly opts: DeliveryOptions) {}

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops claiming; resolves once the deliveries in flight are sent and recorded. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#round;
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#round = this.runOnce().then(
        (n) => this.#schedule(n >= this.opts.batch ? 0 : this.opts.pollMs),
        (err: unknown) => {
          this.deps.onError?.(err);
          this.#schedule(this.opts.pollMs);
        },
      ).finally(() => {
        this.#round = null;
      });
    }, ms);
  }

  /** One round: claims what is due and delivers it; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const now = new Date();
    // The lease outlasts an attempt, so no other worker sends it while this one waits for an answer.
    const lease = new Date(now.getTime() + 2 * this.opts.timeoutMs + 1_000);
    const due = await this.deps.outbox.claimDue(now, lease, this.opts.batch);
    if (due.length === 0) return 0;
    const subIds = [...new Set(due.map((d) => d.subscriptionId))];
    const [subs, secrets, entries, openings] = await Promise.all([
      Promise.all(subIds.map((id) => this.deps.subscriptions.get(id))),
      this.deps.subscriptions.wrappedSecrets(subIds),
      this.deps.entriesBySeq([...new Set(due.map((d) => d.ledgerSeq))]),
      this.deps.openingsFor([...new Set(due.map((d) => d.eventId))]),
    ]);
    const openingsOf = new Map<string, HookOpening[]>();
    for (const o of openings) (openingsOf.get(o.eventId) ?? openingsOf.set(o.eventId, []).get(o.eventId)!).push(o);
    const live = new Map(subs.filter((s) => s && !s.deletedAt).map((s) => [s!.id, s!]));
    const bySeq = new Map(entries.map((e) => [e.seq, e]));
    await this.deps.outbox.markCancelled(due.filter((d) => !live.has(d.subscriptionId)).map((d) => d.id));
    await Promise.all(due.filter((d) => live.has(d.subscriptionId)).map(async (d) => {
      const entry = bySeq.get(d.ledgerSeq);
      const wrapped = secrets.get(d.subscriptionId);
      let outcome: AttemptOutcome;
      if (!entry || entry.eventId !== d.eventId) outcome = { status: null, ok: false, error: `ledger entry ${d.ledgerSeq} does not hold event ${d.eventId}` };
      else if (!wrapped) outcome = { status: null, ok: false, error: 'the subscription has no secret' };
      else {
        let secret: string | null = null;
        try {
          secret = unwrapSecret(this.deps.kek, d.subscriptionId, wrapped.wrapped);
        } catch {
          outcome = { status: null, ok: false, error: `the signing secret does not open with master key ${this.deps.kek.id} (it was wrapped by ${wrapped.kekId})` };
        }
        if (secret !== null) {
          const body = JSON.stringify(webhookPayload(entry, openingsOf.get(entry.eventId) ?? []));
          outcome = await this.deps.post(live.get(d.subscriptionId)!.url, signedHeaders(secret, d.id, body), body);
        }
      }
      await this.#record(d, outcome!);
    }));
    return due.length;
  }

  async #record(d: Delivery, outcome: AttemptOutcome): Promise<void> {
    const now = new Date();
    if (outcome.ok) return this.deps.outbox.markDelivered(d.id, outcome.status!, now);
    const exhausted = d.attempts >= this.opts.maxAttempts || now.getTime() - d.createdAt.getTime() >= this.opts.maxAgeMs;
    const retryAt = exhausted ? null : new Date(now.getTime() + retryDelayMs(d.attempts, { baseMs: this.opts.baseDelayMs, maxMs: this.opts.maxDelayMs }));
    await this.deps.outbox.markAttemptFailed(d.id, { status: outcome.status, error: outcome.error ?? 'failed' }, retryAt);
  }
}
