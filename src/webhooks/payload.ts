// What a webhook says about a ledger event. The subscriber is the customer's own backend, so the
// payload names the subject (the customer's own user id, opened from the event's commitment while
// its opening is kept; null once erased) and the records' ids, EULA versions and outcomes a backend
// acts on, with links to the full records; it leaves out what only the evidence needs: client IP
// addresses, user agents, session ids, consent wording, who recorded it, and the names of the
// people a dossier was prepared for (docs/webhooks.md). Pure: no I/O.
import type { LedgerEntry } from '../ledger/format.js';
import { parseEvent, type AnyLedgerEvent } from '../ledger/events.js';
import type { PersonalGroup } from '../privacy/commitment.js';
import { openData } from '../privacy/fields.js';

/** The openings of an event's fields as the service holds them (null once erased). */
export interface HookOpening {
  field: string;
  group: PersonalGroup;
  opening: { salt: string; value: unknown } | null;
}

/** The event types a subscription may ask for. */
export const WEBHOOK_EVENT_TYPES = [
  'acceptance.recorded',
  'acceptance.declined',
  'acceptance.withdrawn',
  'verification.planned',
  'verification.recorded',
  'dossier.issued',
] as const;

export interface WebhookPayload {
  type: string;
  /** The event's server time (RFC 3339). */
  timestamp: string;
  event_id: string;
  ledger: { seq: number; leaf_hash: string };
  data: Record<string, unknown>;
  /** Paths on this service (its API, with an API key of the right role). */
  links: Record<string, string>;
}

/**
 * The payload of a delivery of one ledger entry, given the openings of its fields: the same bytes
 * on every attempt, except that an attempt after an erasure no longer names the subject. Only
 * subject openings are used: the other personal facts never leave in a webhook.
 */
export function webhookPayload(entry: LedgerEntry, openings: readonly HookOpening[]): WebhookPayload {
  const sealed = parseEvent(entry.canonical);
  let e = sealed;
  try {
    e = { ...sealed, data: openData(sealed.type, sealed.data, openings.filter((o) => o.group === 'subject')) } as AnyLedgerEvent;
  } catch {
    // An opening that does not open its commitment names no one.
  }
  const { data, links } = publicData(e, entry.seq, sealed);
  return { type: e.type, timestamp: e.time, event_id: e.id, ledger: { seq: entry.seq, leaf_hash: entry.leafHash.toString('hex') }, data, links };
}

/** An opened subject: its identifier (in clear in events written before commitments), or null when not opened. */
const subjectOf = (v: unknown): string | null => (typeof v === 'string' ? v : null);
/** A subject's pseudonym as the sealed event states it (null for events that name it in clear). */
const pseudonymOf = (v: unknown): string | null => (typeof v === 'object' && v !== null && typeof (v as { pseudonym?: unknown }).pseudonym === 'string' ? (v as { pseudonym: string }).pseudonym : null);

function publicData(e: AnyLedgerEvent, seq: number, sealed: AnyLedgerEvent): { data: Record<string, unknown>; links: Record<string, string> } {
  const entry = `/v1/ledger/proofs/inclusion?seq=${seq}`;
  const s = sealed.data as { subject?: unknown; subjects?: unknown[] };
  const who = { subject: subjectOf((e.data as { subject?: unknown }).subject), subject_pseudonym: pseudonymOf(s.subject) };
  switch (e.type) {
    case 'acceptance.recorded':
    case 'acceptance.declined': {
      const d = e.data;
      return {
        data: {
          record_id: d.record_id, ...who, eula: { slug: d.eula.slug, version: d.eula.version, text_sha256: d.eula.text_sha256 },
          method: d.method, server_time: d.server_time,
          ...(d.watermark_key ? { watermark_key: { version: d.watermark_key.version, key_id: d.watermark_key.key_id } } : {}),
        },
        links: { record: `/v1/acceptances/${d.record_id}`, receipt: `/v1/acceptances/${d.record_id}/receipt`, inclusion_proof: entry },
      };
    }
    case 'acceptance.withdrawn': {
      const d = e.data;
      return {
        data: { record_id: d.record_id, ...who, eula: { slug: d.eula.slug, version: d.eula.version }, method: d.method, server_time: d.server_time },
        links: { record: `/v1/acceptances/${d.record_id}`, receipt: `/v1/acceptances/${d.record_id}/receipt`, inclusion_proof: entry },
      };
    }
    case 'verification.planned': {
      const d = e.data;
      return {
        data: {
          plan_id: d.plan_id, case_ref: d.case_ref, subjects: d.subjects.map(subjectOf), subject_pseudonyms: (s.subjects ?? []).map(pseudonymOf),
          sample_count: d.sample_count, samples_digest: d.samples_digest,
        },
        links: { plan: `/v1/verification-plans/${d.plan_id}`, inclusion_proof: entry },
      };
    }
    case 'verification.recorded': {
      const d = e.data;
      return {
        data: {
          verification_id: d.verification_id, case_ref: d.case_ref, ...who, decision: d.decision, preregistered: d.preregistered,
          suspect: { name: d.suspect.name, version: d.suspect.version }, p_adjusted: d.statistic.p_adjusted,
        },
        links: { verification: `/v1/verifications/${d.verification_id}`, inclusion_proof: entry },
      };
    }
    case 'dossier.issued': {
      const d = e.data;
      return {
        data: { dossier_id: d.dossier_id, ...who, case_ref: d.case_ref, pdf_sha256: d.pdf_sha256, pages: d.pages, verification_ids: d.verification_ids },
        links: { dossier: `/v1/dossiers/${d.dossier_id}`, pdf: `/v1/dossiers/${d.dossier_id}/pdf`, inclusion_proof: entry },
      };
    }
    default:
      // Subscriptions name only the types above; any other reaching here says so and no more.
      return { data: {}, links: { inclusion_proof: entry } };
  }
}
