// A subject's erasure and legal holds as the dossier tests need them, until the erasure service
// lands: an erasure.performed event appended through the ledger (with its erasures row) naming
// every open opening of the subject, which is then cleared in place; a hold's legal_hold.placed
// event with its legal_holds row. Kept tiny on purpose: the real service replaces it.
import { randomUUID } from 'node:crypto';
import type { ServiceContext } from '../../src/app/context.js';
import { workingRow } from '../../src/db/rows.js';
import { buildEvent, buildSealedEvent } from '../../src/ledger/events.js';
import type { Pseudonyms } from '../../src/privacy/pseudonyms.js';

const ACTOR = { api_key_id: '00000000-0000-4000-8000-0000000000ad', name: 'test admin' };

export async function eraseSubject(ctx: ServiceContext, pseudonyms: Pseudonyms, subject: string, opts: { basis?: 'data_subject_request' | 'retention' | 'court_order' | 'other'; requestRef?: string } = {}): Promise<{ seq: number; eventId: string; erased: number; requestRef: string }> {
  const pseudonym = pseudonyms.of(subject);
  const open = (await ctx.repos.openings.forSubject(pseudonym)).filter((o) => o.opening);
  const basis = opts.basis ?? 'data_subject_request';
  const requestRef = opts.requestRef ?? 'DSR-2026-0001';
  const id = randomUUID();
  const ev = buildEvent('erasure.performed', {
    erasure_id: id, subject_pseudonym: pseudonym, basis, request_ref: requestRef,
    erased: open.map((o) => ({ event_id: o.eventId, seq: o.seq, field: o.field, group: o.group, commitment: o.commitment })),
    clear_events: [], working_rows: {}, watermark_keys: { action: 'none', versions: [] }, performed_by: ACTOR,
  });
  const now = new Date();
  const [p] = await ctx.ledger.append({
    events: [ev],
    rows: ([pos]) => [workingRow('erasures', { id, subject_pseudonym: pseudonym, basis, request_ref: requestRef, performed_by_key_id: ACTOR.api_key_id, performed_at: now, ledger_seq: pos!.seq, event_id: pos!.eventId })],
  });
  await ctx.handle.db.updateTable('personal_openings').set({ salt: null, value: null, erased_at: now, erasure_event_id: p!.eventId })
    .where('subject_pseudonym', '=', pseudonym).where('erased_at', 'is', null).execute();
  return { seq: p!.seq, eventId: p!.eventId, erased: open.length, requestRef };
}

export async function placeHold(ctx: ServiceContext, pseudonyms: Pseudonyms, subject: string, caseRef: string, reason: string): Promise<{ id: string; seq: number }> {
  const id = randomUUID();
  const ev = buildSealedEvent(pseudonyms, 'legal_hold.placed', { hold_id: id, subject, case_ref: caseRef, reason, placed_by: ACTOR } as never, subject);
  const [p] = await ctx.ledger.append({
    events: [ev],
    rows: ([pos]) => [workingRow('legal_holds', { id, subject_pseudonym: pseudonyms.of(subject), case_ref: caseRef, placed_by_key_id: ACTOR.api_key_id, placed_at: new Date(), placed_seq: pos!.seq, placed_event_id: pos!.eventId })],
  });
  return { id, seq: p!.seq };
}
