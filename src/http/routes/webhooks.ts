import { z } from 'zod';
import { Uuid } from '../../validation/fields.js';
import { CreateWebhookBody, DeliveryStatus } from '../../webhooks/schemas.js';
import type { WebhookService } from '../../webhooks/service.js';
import {
  DeliveryListJson, deliveryJson, NewWebhookJson, TestDeliveryJson, testDeliveryJson, WebhookJson, webhookJson, WebhookListJson, webhookListJson,
} from '../presenters/webhooks.js';
import { defineRoute, type AnyRoute } from '../route.js';

const Id = z.strictObject({ id: Uuid });
const ADMIN = ['admin'] as const;

export function webhookRoutes(webhooks: WebhookService): AnyRoute[] {
  return [
    defineRoute({
      method: 'post', path: '/v1/admin/webhooks', tag: 'Webhooks', access: ADMIN, body: CreateWebhookBody, idempotent: true,
      summary: 'Subscribe a URL to events (the signing secret is shown once, in this response)',
      description: 'Each event of the named types appended from now on is delivered to the URL as a signed POST (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature), retried with backoff until a 2xx answer. See docs/webhooks.md. Requires an Idempotency-Key header: a retry with the same key and body answers with the same subscription (and secret), however many are sent at once.',
      responses: { 201: { description: 'Created (or, with `Idempotent-Replayed: true`, the subscription this Idempotency-Key created)', schema: NewWebhookJson }, 422: { description: 'The URL is not accepted, or the Idempotency-Key was used with another body' } },
      handler: async ({ body, principal, idempotencyKey }) => {
        const { subscription, secret, replayed } = await webhooks.create(body, { keyId: principal!.keyId, idempotencyKey: idempotencyKey! });
        // The answer of the create, also on a replay: no deliveries are counted in it.
        const zero = { pending: 0, delivered: 0, failed: 0, cancelled: 0 };
        return { status: 201, body: { ...webhookJson(subscription, zero), secret }, headers: { ...(replayed ? { 'Idempotent-Replayed': 'true' } : {}), Location: `/v1/admin/webhooks/${subscription.id}` } };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/admin/webhooks', tag: 'Webhooks', access: ADMIN,
      summary: 'List webhook subscriptions (never their secrets)',
      responses: { 200: { description: 'Subscriptions', schema: WebhookListJson } },
      handler: async () => ({ body: webhookListJson(await webhooks.list()) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/admin/webhooks/:id', tag: 'Webhooks', access: ADMIN, params: Id,
      summary: 'One webhook subscription with its delivery counts',
      responses: { 200: { description: 'Subscription', schema: WebhookJson }, 404: { description: 'Unknown or deleted' } },
      handler: async ({ params }) => {
        const w = await webhooks.get(params.id);
        return { body: webhookJson(w.subscription, w.deliveries) };
      },
    }),
    defineRoute({
      method: 'delete', path: '/v1/admin/webhooks/:id', tag: 'Webhooks', access: ADMIN, params: Id,
      summary: 'Delete a webhook subscription (its pending deliveries are cancelled)',
      responses: { 204: { description: 'Deleted' }, 404: { description: 'Unknown or already deleted' } },
      handler: async ({ params }) => {
        await webhooks.delete(params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/admin/webhooks/:id/deliveries', tag: 'Webhooks', access: ADMIN, params: Id,
      query: z.strictObject({ status: DeliveryStatus.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      summary: 'Deliveries of a subscription, newest event first (failed ones with their last error)',
      responses: { 200: { description: 'Deliveries', schema: DeliveryListJson }, 404: { description: 'Unknown or deleted' } },
      handler: async ({ params, query }) => ({
        body: { webhook_id: params.id, deliveries: (await webhooks.deliveries(params.id, { limit: query.limit, ...(query.status ? { status: query.status } : {}) })).map(deliveryJson) },
      }),
    }),
    defineRoute({
      method: 'post', path: '/v1/admin/webhooks/:id/test', tag: 'Webhooks', access: ADMIN, params: Id,
      summary: 'Send a signed webhook.test ping now and report the answer',
      responses: { 200: { description: 'The attempt (sent once, not retried)', schema: TestDeliveryJson }, 404: { description: 'Unknown or deleted' } },
      handler: async ({ params }) => {
        const r = await webhooks.test(params.id);
        return { body: testDeliveryJson(r.deliveryId, r.outcome) };
      },
    }),
  ];
}
