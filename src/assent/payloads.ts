// The event data of acceptances, declines and withdrawals, built once from validated input.
import type { Principal } from '../auth/api-keys.js';
import type { EulaVersion } from '../eula/repository.js';
import type { EventDataInput } from '../ledger/events.js';
import type { AssentInput, WithdrawalInput } from './schemas.js';

type ClientInput = Pick<AssentInput, 'client_time' | 'ip' | 'user_agent' | 'auth'>;

export function eulaRef(e: EulaVersion): EventDataInput<'acceptance.recorded'>['eula'] {
  return { id: e.id, slug: e.slug, version: e.version, text_sha256: e.textSha256, effective_at: e.effectiveAt.toISOString(), event_id: e.eventId };
}

function clientFacts(i: ClientInput) {
  return { client_time: new Date(i.client_time).toISOString(), client: { ip: i.ip, user_agent: i.user_agent }, auth: i.auth };
}

export interface Recording {
  recordId: string;
  principal: Principal;
  idempotencyKey: string;
  serverTime: Date;
}

function recordingFacts(r: Recording) {
  return { record_id: r.recordId, recorded_by: { api_key_id: r.principal.keyId, name: r.principal.name }, idempotency_key: r.idempotencyKey, server_time: r.serverTime.toISOString() };
}

export type KeyLinkInput = NonNullable<EventDataInput<'acceptance.recorded'>['watermark_key']>;

export type DisplayedLink = NonNullable<EventDataInput<'acceptance.recorded'>['presentation']['displayed']>;

export function assentData(input: AssentInput, eula: EulaVersion, key: KeyLinkInput | null, r: Recording, displayed?: DisplayedLink): EventDataInput<'acceptance.recorded'> {
  return {
    subject: input.subject,
    eula: eulaRef(eula),
    shown_text_sha256: input.shown_text_sha256,
    presentation: { consent_text: input.consent_text, button_text: input.button_text, page_url: input.page_url, locale: input.locale, ...(displayed ? { displayed } : {}) },
    ...clientFacts(input),
    method: input.method,
    ...(key ? { watermark_key: key } : {}),
    ...recordingFacts(r),
  };
}

export function withdrawalData(input: WithdrawalInput, eula: EulaVersion, r: Recording): EventDataInput<'acceptance.withdrawn'> {
  return { subject: input.subject, eula: eulaRef(eula), reason: input.reason, ...clientFacts(input), method: input.method, ...recordingFacts(r) };
}
