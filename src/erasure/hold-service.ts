// Legal holds (docs/personal-data.md, "Legal holds"): while a hold is open the subject cannot be
// erased. Placing and releasing are ledger events (legal_hold.placed / legal_hold.released) with a
// legal_holds row in the same append, each decided on the subject's personal-data state: a hold
// and an erasure decided on one state never both commit (ledger/subject-state.ts).
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/api-keys.js';
import type { Position } from '../ledger/appender.js';
import type { KeyRow } from '../idempotency/service.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The API key that acted, or null for the command line (its principal has no key). */
const keyIdOf = (p: Principal): string | null => (UUID.test(p.keyId) ? p.keyId : null);
import { buildSealedEvent, type EventDataInput } from '../ledger/events.js';
import type { Ledger } from '../ledger/ledger.js';
import { isStateRefusal } from '../ledger/subject-state.js';
import { AppError } from '../problems/app-error.js';
import type { HoldRepository, LegalHold } from '../privacy/hold-repository.js';
import type { OpeningRepository } from '../privacy/opening-repository.js';
import type { Pseudonyms } from '../privacy/pseudonyms.js';
import type { HoldInput, ReleaseInput } from './schemas.js';
import { PERSONAL_DATA_SCOPE, type WorkingCopyRepository } from '../privacy/working-copy-repository.js';

export interface HoldRepos {
  holds: HoldRepository;
  openings: OpeningRepository;
  copies: WorkingCopyRepository;
}

export class HoldService {
  constructor(private readonly repos: HoldRepos, private readonly ledger: Ledger, private readonly pseudonyms: Pseudonyms) {}

  /** `keyRow`: the Idempotency-Key's row, committed with the hold (a retry then answers with this hold). */
  async place(subject: string, input: HoldInput, principal: Principal, keyRow: KeyRow<LegalHold> | null = null): Promise<LegalHold> {
    const pseudonym = this.pseudonyms.of(subject);
    const state = await this.repos.copies.personalDataState(pseudonym);
    // One open hold per case and subject: the same placement sent twice is refused, not recorded
    // twice (read on the state the append is guarded by, so two at once cannot both pass).
    const open = (await this.repos.holds.forSubject(pseudonym)).find((h) => !h.released && h.caseRef === input.case_ref);
    if (open) throw new AppError('legal_hold_exists', `the subject already has an open legal hold for case ${input.case_ref} (hold ${open.id}, ledger entry ${open.placed.seq}); nothing was recorded`, { hold_id: open.id, placed_seq: open.placed.seq });
    const id = randomUUID();
    const now = new Date();
    const ev = buildSealedEvent(this.pseudonyms, 'legal_hold.placed', {
      hold_id: id, subject, case_ref: input.case_ref, reason: input.reason, placed_by: { api_key_id: principal.keyId, name: principal.name },
    } as unknown as EventDataInput<'legal_hold.placed'>, subject, { time: now }); // clear here, sealed by the call
    const placed = (pos: Position): LegalHold => ({ id, pseudonym, caseRef: input.case_ref, placed: { byKeyId: keyIdOf(principal), at: now, seq: pos.seq, eventId: pos.eventId }, released: null });
    let p: Position;
    try {
      [p] = (await this.ledger.append({
        events: [ev],
        rows: ([pos]) => [
          this.repos.holds.placedRow({ id, pseudonym, caseRef: input.case_ref, byKeyId: keyIdOf(principal), at: now }, pos!),
          ...(keyRow ? [keyRow(placed(pos!))] : []),
        ],
        states: [{ subject: pseudonym, scope: PERSONAL_DATA_SCOPE, expected: state }],
      })) as [Position];
    } catch (e) {
      if (isStateRefusal(e)) throw changedMeanwhile();
      throw e;
    }
    return placed(p);
  }

  async release(id: string, input: ReleaseInput, principal: Principal, keyRow: KeyRow<LegalHold> | null = null): Promise<LegalHold> {
    const hold = await this.get(id);
    if (hold.released) throw released(hold);
    const state = await this.repos.copies.personalDataState(hold.pseudonym);
    // The subject's identifier, for the released event's commitment: the placed event's opening (a held subject is never erased).
    const opened = (await this.repos.openings.forEvents([hold.placed.eventId])).find((o) => o.field === 'subject')?.opening;
    if (!opened || typeof opened.value !== 'string') throw new Error(`the opening of legal hold ${id}'s subject is missing`);
    const subject = opened.value;
    const now = new Date();
    const ev = buildSealedEvent(this.pseudonyms, 'legal_hold.released', {
      hold_id: id, subject, placed: { event_id: hold.placed.eventId, seq: hold.placed.seq }, reason: input.reason, released_by: { api_key_id: principal.keyId, name: principal.name },
    } as unknown as EventDataInput<'legal_hold.released'>, subject, { time: now });
    const releasedAs = (pos: Position): LegalHold => ({ ...hold, released: { byKeyId: keyIdOf(principal), at: now, seq: pos.seq, eventId: pos.eventId } });
    let p: Position;
    try {
      [p] = (await this.ledger.append({
        events: [ev],
        rows: ([pos]) => [this.repos.holds.releasedUpdate(id, { byKeyId: keyIdOf(principal), at: now }, pos!), ...(keyRow ? [keyRow(releasedAs(pos!))] : [])],
        states: [{ subject: hold.pseudonym, scope: PERSONAL_DATA_SCOPE, expected: state }],
      })) as [Position];
    } catch (e) {
      if (!isStateRefusal(e)) throw e;
      const now2 = await this.get(id);
      if (now2.released) throw released(now2);
      throw changedMeanwhile();
    }
    return releasedAs(p);
  }

  async get(id: string): Promise<LegalHold> {
    const h = await this.repos.holds.byId(id);
    if (!h) throw new AppError('legal_hold_not_found', `no legal hold with id ${id}`);
    return h;
  }

  async list(subject: string): Promise<{ pseudonym: string; holds: LegalHold[] }> {
    const pseudonym = this.pseudonyms.of(subject);
    return { pseudonym, holds: await this.repos.holds.forSubject(pseudonym) };
  }
}

function released(h: LegalHold): AppError {
  return new AppError('legal_hold_released', `legal hold ${h.id} (case ${h.caseRef}) was released at ledger entry ${h.released!.seq}; nothing was recorded`, { released_seq: h.released!.seq });
}

function changedMeanwhile(): AppError {
  return new AppError('subject_state_changed', 'an erasure, legal hold or release of this subject committed while this request was decided; nothing was recorded. Read the subject\'s holds and send the request again if it still applies.');
}
