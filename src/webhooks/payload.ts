// What a webhook says about a ledger event. The subscriber is the customer's own backend, so the
// payload names the subject (the customer's own user id) and the records' ids, EULA versions and
// outcomes a backend acts on, with links to the full records; it leaves out what only the evidence
// needs: client IP addresses, user agents, session ids, consent wording, who recorded it, and the
// names of the people a dossier was prepared for. Pure: no I/O.
import type { LedgerEntry } from '../ledger/format.js';
import { parseEvent, type AnyLedgerEvent } from '../ledger/events.js';

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

/** The payload of a delivery of one ledger entry (the same bytes on every attempt). */
export function webhookPayload(entry: LedgerEntry): WebhookPayload {
  const e = parseEvent(entry.canonical);
  const { data, links } = publicData(e, entry.seq);
  return { type: e.type, timestamp: e.time, event_id: e.id, ledger: { seq: entry.seq, leaf_hash: entry.leafHash.toString('hex') }, data, links };
}

function publicData(e: AnyLedgerEvent, seq: number): { data: Record<string, unknown>; links: Record<string, string> } {
  const entry = `/v1/ledger/proofs/inclusion?seq=${seq}`;
  switch (e.type) {
    case 'acceptance.recorded':
    case 'acceptance.declined': {
      const d = e.data;
      return {
        data: {
          record_id: d.record_id, subject: d.subject, eula: { slug: d.eula.slug, version: d.eula.version, text_sha256: d.eula.text_sha256 },
          method: d.method, server_time: d.server_time,
          ...(d.watermark_key ? { watermark_key: { version: d.watermark_key.version, key_id: d.watermark_key.key_id } } : {}),
        },
        links: { record: `/v1/acceptances/${d.record_id}`, receipt: `/v1/acceptances/${d.record_id}/receipt`, inclusion_proof: entry },
      };
    }
    case 'acceptance.withdrawn': {
      const d = e.data;
      return {
        data: { record_id: d.record_id, subject: d.subject, eula: { slug: d.eula.slug, version: d.eula.version }, method: d.method, server_time: d.server_time },
        links: { record: `/v1/acceptances/${d.record_id}`, receipt: `/v1/acceptances/${d.record_id}/receipt`, inclusion_proof: entry },
      };
    }
    case 'verification.planned': {
      const d = e.data;
      return {
        data: { plan_id: d.plan_id, case_ref: d.case_ref, subjects: d.subjects, sample_count: d.sample_count, samples_digest: d.samples_digest },
        links: { plan: `/v1/verification-plans/${d.plan_id}`, inclusion_proof: entry },
      };
    }
    case 'verification.recorded': {
      const d = e.data;
      return {
        data: {
          verification_id: d.verification_id, case_ref: d.case_ref, subject: d.subject, decision: d.decision, preregistered: d.preregistered,
          suspect: { name: d.suspect.name, version: d.suspect.version }, p_adjusted: d.statistic.p_adjusted,
        },
        links: { verification: `/v1/verifications/${d.verification_id}`, inclusion_proof: entry },
      };
    }
    case 'dossier.issued': {
      const d = e.data;
      return {
        data: { dossier_id: d.dossier_id, subject: d.subject, case_ref: d.case_ref, pdf_sha256: d.pdf_sha256, pages: d.pages, verification_ids: d.verification_ids },
        links: { dossier: `/v1/dossiers/${d.dossier_id}`, pdf: `/v1/dossiers/${d.dossier_id}/pdf`, inclusion_proof: entry },
      };
    }
    default:
      // Subscriptions name only the types above; any other reaching here says so and no more.
      return { data: {}, links: { inclusion_proof: entry } };
  }
}
