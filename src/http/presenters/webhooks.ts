// JSON of the webhook admin API. The signing secret appears in exactly one response: creation.
import { z } from 'zod';
import type { Delivery } from '../../webhooks/outbox-repository.js';
import type { AttemptOutcome } from '../../webhooks/delivery.js';
import type { DeliveryCounts, WebhookWithCounts } from '../../webhooks/service.js';
import type { WebhookSubscription } from '../../webhooks/subscription-repository.js';

const Counts = z.object({ pending: z.number().int(), delivered: z.number().int(), failed: z.number().int(), cancelled: z.number().int() });

export const WebhookJson = z.object({
  id: z.string(),
  url: z.string(),
  event_types: z.array(z.string()),
  description: z.string(),
  created_at: z.string(),
  deliveries: Counts.describe('Deliveries of this subscription by status'),
});
export const NewWebhookJson = WebhookJson.extend({
  secret: z.string().describe('The signing secret (whsec_...): shown only in this response; store it with the receiver'),
});
export const WebhookListJson = z.object({ webhooks: z.array(WebhookJson) });

export const DeliveryJson = z.object({
  id: z.string().describe('The delivery id, sent as webhook-id on every attempt'),
  event_id: z.string(),
  event_type: z.string(),
  ledger_seq: z.number().int(),
  status: z.enum(['pending', 'delivered', 'failed', 'cancelled']),
  attempts: z.number().int(),
  next_attempt_at: z.string().nullable().describe('When a pending delivery is next tried'),
  last_attempt_at: z.string().nullable(),
  last_status: z.number().int().nullable().describe('HTTP status of the last attempt, null when none came'),
  last_error: z.string().nullable(),
  delivered_at: z.string().nullable(),
  created_at: z.string(),
});
export const DeliveryListJson = z.object({ webhook_id: z.string(), deliveries: z.array(DeliveryJson) });

export const TestDeliveryJson = z.object({
  delivery_id: z.string(),
  delivered: z.boolean(),
  status: z.number().int().nullable(),
  error: z.string().nullable(),
});

export function webhookJson(s: WebhookSubscription, deliveries: DeliveryCounts): z.infer<typeof WebhookJson> {
  return { id: s.id, url: s.url, event_types: s.eventTypes, description: s.description, created_at: s.createdAt.toISOString(), deliveries: { ...deliveries } };
}

export function webhookListJson(list: WebhookWithCounts[]): z.infer<typeof WebhookListJson> {
  return { webhooks: list.map((w) => webhookJson(w.subscription, w.deliveries)) };
}

export function deliveryJson(d: Delivery): z.infer<typeof DeliveryJson> {
  return {
    id: d.id, event_id: d.eventId, event_type: d.eventType, ledger_seq: d.ledgerSeq, status: d.status, attempts: d.attempts,
    next_attempt_at: d.status === 'pending' ? d.nextAttemptAt.toISOString() : null, last_attempt_at: d.lastAttemptAt?.toISOString() ?? null,
    last_status: d.lastStatus, last_error: d.lastError, delivered_at: d.deliveredAt?.toISOString() ?? null, created_at: d.createdAt.toISOString(),
  };
}

export function testDeliveryJson(deliveryId: string, o: AttemptOutcome): z.infer<typeof TestDeliveryJson> {
  return { delivery_id: deliveryId, delivered: o.ok, status: o.status, error: o.error };
}
