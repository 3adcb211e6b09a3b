// The subscriptions the ledger's append hook consults: an in-memory index from event type to
// subscription ids, loaded at start, reloaded by this process after each change and on a timer
// (for changes made by another process). The hook turns each fresh event of a subscribed type into
// one outbox row per subscription, inserted in the event's own transaction.
import { randomUUID } from 'node:crypto';
import type { WorkingRow } from '../db/rows.js';
import type { PreparedEvent } from '../ledger/format.js';
import { WebhookOutboxRepository } from './outbox-repository.js';
import type { WebhookSubscriptionRepository } from './subscription-repository.js';

export class SubscriptionIndex {
  #byType = new Map<string, readonly string[]>();
  /** Reloads started and applied: a slower, older reload never overwrites a newer one. */
  #started = 0;
  #applied = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly repo: WebhookSubscriptionRepository, private readonly onError: (err: unknown) => void = () => {}) {}

  async reload(): Promise<void> {
    const n = ++this.#started;
    const subs = await this.repo.active();
    if (n < this.#applied) return;
    this.#applied = n;
    const byType = new Map<string, string[]>();
    for (const s of subs) for (const t of s.eventTypes) (byType.get(t) ?? byType.set(t, []).get(t)!).push(s.id);
    this.#byType = byType;
  }

  startReloading(intervalMs: number): void {
    if (intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => this.reload().catch(this.onError), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The outbox rows of freshly appended events, given their positions. */
  outboxRows(events: readonly PreparedEvent[], positions: readonly { seq: number; eventId: string }[]): WorkingRow[] {
    const rows: WorkingRow[] = [];
    events.forEach((e, i) => {
      const ids = this.#byType.get(e.type);
      if (!ids) return;
      const seq = positions[i]!.seq;
      for (const subscriptionId of ids) rows.push(WebhookOutboxRepository.row({ id: randomUUID(), subscriptionId, ledgerSeq: seq, eventId: e.id, eventType: e.type }));
    });
    return rows;
  }
}
