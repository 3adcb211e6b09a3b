// A subject's erasure and legal hold through the real services (src/erasure/), as the dossier
// tests need them: the erasure clears the openings, scrubs the working copies and appends
// erasure.performed; the hold appends legal_hold.placed.
import type { Services } from '../../src/app/services.js';

const ADMIN = { keyId: '00000000-0000-4000-8000-0000000000ad', name: 'test admin', role: 'admin' as const };

export async function eraseSubject(services: Services, subject: string, opts: { basis?: 'data_subject_request' | 'court_order' | 'other'; requestRef?: string } = {}): Promise<{ seq: number; eventId: string; erased: number; requestRef: string }> {
  const requestRef = opts.requestRef ?? 'DSR-2026-0001';
  const e = await services.erasure.erase(subject, { basis: opts.basis ?? 'data_subject_request', request_ref: requestRef }, ADMIN);
  return { seq: e.position.seq, eventId: e.position.eventId, erased: e.data.erased.length, requestRef };
}

export async function placeHold(services: Services, subject: string, caseRef: string, reason: string): Promise<{ id: string; seq: number }> {
  const h = await services.holds.place(subject, { case_ref: caseRef, reason }, ADMIN);
  return { id: h.id, seq: h.placed.seq };
}
