// Erasures and legal holds (docs/personal-data.md). Neither names the subject in clear: an answer
// outlives the erasure it may precede (a stored Idempotency-Key answer), so it names the pseudonym.
import { z } from 'zod';
import type { LegalHold } from '../../privacy/hold-repository.js';
import type { PerformedErasure, RetentionRun } from '../../erasure/service.js';
import { LedgerRef } from './common.js';
import { ReceiptJson } from './assent.js';

const Pseudonym = z.string().describe('The subject\'s keyed pseudonym (HMAC-SHA256), the ledger\'s lookup key for it');

export const ErasureJson = z.object({
  erasure_id: z.string(),
  subject_pseudonym: Pseudonym,
  basis: z.enum(['data_subject_request', 'retention', 'court_order', 'other']),
  request_ref: z.string(),
  performed_at: z.string(),
  ledger: LedgerRef.describe('The erasure.performed entry'),
  summary: z.object({
    openings_erased: z.number().int().describe('Openings of committed personal facts cleared (their commitments stay in the ledger)'),
    clear_events: z.array(LedgerRef).describe('Events written before personal data left the log: they hold the subject\'s facts in clear, and the immutable ledger keeps them'),
    working_rows: z.record(z.string(), z.number().int()).describe('Working rows scrubbed, per table'),
    watermark_keys: z.object({ action: z.enum(['destroyed', 'none']), versions: z.array(z.number().int()) }).describe('The subject\'s wrapped watermark keys: destroyed, so its watermark can no longer be detected'),
  }),
  receipt: ReceiptJson.describe('The signed receipt of the erasure.performed entry (verify with `assentmark receipt verify`)'),
});

export function erasureJson(e: PerformedErasure): z.infer<typeof ErasureJson> {
  return {
    erasure_id: e.erasureId, subject_pseudonym: e.pseudonym, basis: e.basis, request_ref: e.requestRef, performed_at: e.performedAt.toISOString(),
    ledger: { seq: e.position.seq, event_id: e.position.eventId },
    summary: {
      openings_erased: e.data.erased.length,
      clear_events: e.data.clear_events.map((c) => ({ seq: c.seq, event_id: c.event_id })),
      working_rows: e.data.working_rows,
      watermark_keys: { action: e.data.watermark_keys.action, versions: e.data.watermark_keys.versions },
    },
    receipt: e.receipt as z.infer<typeof ReceiptJson>,
  };
}

export const RetentionRunJson = z.object({
  days: z.number().int(),
  cutoff: z.string(),
  dry_run: z.boolean(),
  subjects: z.array(z.object({ subject_pseudonym: Pseudonym, openings_due: z.number().int(), working_copies: z.boolean(), held_by: z.array(z.string()) })),
  erasures: z.array(ErasureJson),
});

export function retentionRunJson(r: RetentionRun): z.infer<typeof RetentionRunJson> {
  return {
    days: r.days, cutoff: r.cutoff.toISOString(), dry_run: r.dryRun,
    subjects: r.subjects.map((s) => ({ subject_pseudonym: s.pseudonym, openings_due: s.openings, working_copies: s.workingCopies, held_by: s.heldBy })),
    erasures: r.erasures.map(erasureJson),
  };
}

export const LegalHoldJson = z.object({
  id: z.string(),
  subject_pseudonym: Pseudonym,
  case_ref: z.string(),
  state: z.enum(['open', 'released']),
  placed: LedgerRef.extend({ at: z.string(), by_key_id: z.string().nullable().describe('The API key that placed it; null: the command line') }).describe('The legal_hold.placed entry'),
  released: LedgerRef.extend({ at: z.string(), by_key_id: z.string().nullable() }).nullable().describe('The legal_hold.released entry, or null while the hold is open'),
});

export function legalHoldJson(h: LegalHold): z.infer<typeof LegalHoldJson> {
  return {
    id: h.id, subject_pseudonym: h.pseudonym, case_ref: h.caseRef, state: h.released ? 'released' : 'open',
    placed: { seq: h.placed.seq, event_id: h.placed.eventId, at: h.placed.at.toISOString(), by_key_id: h.placed.byKeyId },
    released: h.released ? { seq: h.released.seq, event_id: h.released.eventId ?? '', at: h.released.at.toISOString(), by_key_id: h.released.byKeyId } : null,
  };
}

export const LegalHoldListJson = z.object({ subject_pseudonym: Pseudonym, holds: z.array(LegalHoldJson).describe('In ledger order, open and released') });
