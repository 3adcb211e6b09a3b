// Request bodies of the webhook admin API.
import { z } from 'zod';
import { Text } from '../validation/fields.js';
import { WEBHOOK_EVENT_TYPES } from './payload.js';

export const WebhookEventType = z.enum(WEBHOOK_EVENT_TYPES, { message: `must be one of: ${WEBHOOK_EVENT_TYPES.join(', ')}` });

export const CreateWebhookBody = z.strictObject({
  url: z.string().min(1, 'must not be empty').max(2048, 'must be at most 2048 characters'),
  event_types: z.array(WebhookEventType).min(1, 'name at least one event type').max(WEBHOOK_EVENT_TYPES.length)
    .refine((a) => new Set(a).size === a.length, 'must not name an event type twice'),
  description: Text(200).optional(),
});

export type CreateWebhook = z.infer<typeof CreateWebhookBody>;

export const DeliveryStatus = z.enum(['pending', 'delivered', 'failed', 'cancelled']);
