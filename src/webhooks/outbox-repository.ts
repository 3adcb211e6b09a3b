// webhook_outbox: one row per (ledger event, subscription). Rows are built here as working rows and
// inserted by the ledger appender with their event; the delivery worker claims and updates them.
import { sql, type Kysely } from 'kysely';
import { workingRow, type WorkingRow } from '../db/rows.js';
import type { Database, WebhookDeliveryStatus } from '../db/schema.js';

export interface Delivery {
  id: string;
  subscriptionId: string;
  ledgerSeq: number;
  eventId: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
}

const COLUMNS = ['id', 'subscription_id', 'ledger_seq', 'event_id', 'event_type', 'status', 'attempts', 'next_attempt_at', 'last_attempt_at', 'last_status', 'last_error', 'delivered_at', 'created_at'] as const;

type Row = { id: string; subscription_id: string; ledger_seq: string | number; event_id: string; event_type: string; status: WebhookDeliveryStatus; attempts: number; next_attempt_at: Date; last_attempt_at: Date | null; last_status: number | null; last_error: string | null; delivered_at: Date | null; created_at: Date };

/** An error message stored in last_error: short, one line. */
const MAX_ERROR = 300;

export class WebhookOutboxRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The outbox row of one event for one subscription, for the appender to insert with the event. */
  static row(r: { id: string; subscriptionId: string; ledgerSeq: number; eventId: string; eventType: string }): WorkingRow {
    return workingRow('webhook_outbox', { id: r.id, subscription_id: r.subscriptionId, ledger_seq: r.ledgerSeq, event_id: r.eventId, event_type: r.eventType });
  }

  /**
   * Claims up to `limit` due deliveries: their attempt is counted and they are hidden from other
   * workers until `leaseUntil` (when the attempt outcome is recorded sooner, that replaces it).
   * SKIP LOCKED lets several processes claim side by side without waiting on each other's rows.
   */
  async claimDue(now: Date, leaseUntil: Date, limit: number): Promise<Delivery[]> {
    const r = await sql<Row>`
      UPDATE webhook_outbox o SET attempts = o.attempts + 1, next_attempt_at = ${leaseUntil}, last_attempt_at = ${now}
      FROM (SELECT id FROM webhook_outbox WHERE status = 'pending' AND next_attempt_at <= ${now}
            ORDER BY next_attempt_at, ledger_seq LIMIT ${limit} FOR UPDATE SKIP LOCKED) due
      WHERE o.id = due.id
      RETURNING ${sql.join(COLUMNS.map((c) => sql.ref(`o.${c}`)))}`.execute(this.db);
    return r.rows.map(toDelivery).sort((a, b) => a.ledgerSeq - b.ledgerSeq);
  }

  async markDelivered(id: string, status: number, at: Date): Promise<void> {
    await this.db.updateTable('webhook_outbox').set({ status: 'delivered', delivered_at: at, last_status: status, last_error: null }).where('id', '=', id).where('status', '=', 'pending').execute();
  }

  /** Records a failed attempt: retried at `retryAt`, or given up (`failed`) when that is null. */
  async markAttemptFailed(id: string, outcome: { status: number | null; error: string }, retryAt: Date | null): Promise<void> {
    await this.db
      .updateTable('webhook_outbox')
      .set({ status: retryAt ? 'pending' : 'failed', ...(retryAt ? { next_attempt_at: retryAt } : {}), last_status: outcome.status, last_error: outcome.error.slice(0, MAX_ERROR) })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }

  async markCancelled(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('webhook_outbox').set({ status: 'cancelled' }).where('id', 'in', [...ids]).where('status', '=', 'pending').execute();
  }

  /** Pending deliveries of a deleted subscription are not sent. */
  async cancelPending(subscriptionId: string): Promise<void> {
    await this.db.updateTable('webhook_outbox').set({ status: 'cancelled' }).where('subscription_id', '=', subscriptionId).where('status', '=', 'pending').execute();
  }

  async list(subscriptionId: string, opts: { status?: WebhookDeliveryStatus; limit: number }): Promise<Delivery[]> {
    let q = this.db.selectFrom('webhook_outbox').select(COLUMNS).where('subscription_id', '=', subscriptionId);
    if (opts.status) q = q.where('status', '=', opts.status);
    const rows = await q.orderBy('ledger_seq', 'desc').limit(opts.limit).execute();
    return rows.map(toDelivery);
  }

  /** Deliveries per status of each subscription. */
  async counts(): Promise<Map<string, Record<WebhookDeliveryStatus, number>>> {
    const rows = await this.db.selectFrom('webhook_outbox').select(['subscription_id', 'status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy(['subscription_id', 'status']).execute();
    const out = new Map<string, Record<WebhookDeliveryStatus, number>>();
    for (const r of rows) {
      const c = out.get(r.subscription_id) ?? { pending: 0, delivered: 0, failed: 0, cancelled: 0 };
      c[r.status] = Number(r.n);
      out.set(r.subscription_id, c);
    }
    return out;
  }
}

function toDelivery(r: Row): Delivery {
  const d = (v: Date | null) => (v ? new Date(v) : null);
  return {
    id: r.id, subscriptionId: r.subscription_id, ledgerSeq: Number(r.ledger_seq), eventId: r.event_id, eventType: r.event_type, status: r.status,
    attempts: Number(r.attempts), nextAttemptAt: new Date(r.next_attempt_at), lastAttemptAt: d(r.last_attempt_at), lastStatus: r.last_status,
    lastError: r.last_error, deliveredAt: d(r.delivered_at), createdAt: new Date(r.created_at),
  };
}
