// Erasure (docs/personal-data.md, "Erasure" and "Retention"): a subject's openings are cleared in
// place, its working copies scrubbed, and one erasure.performed event records what was erased (by
// commitment) and why, all in that event's one append. Refused while the subject is on legal hold;
// decided on the subject's personal-data state, so a hold (or another erasure) that commits first
// makes it decide again.
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/api-keys.js';
import { buildReceipt, inclusionPromise, type CheckpointSchedule, type ServedReceipt } from '../assent/receipt.js';
import type { WorkingRow } from '../db/rows.js';
import type { KeyRow } from '../idempotency/service.js';
import type { Position } from '../ledger/appender.js';
import { ASSENT_EVENT, buildEvent, parseEvent, type EventData } from '../ledger/events.js';
import type { Ledger } from '../ledger/ledger.js';
import { isStateRefusal } from '../ledger/subject-state.js';
import { AppError } from '../problems/app-error.js';
import type { ErasureBasis, ErasureRepository } from '../privacy/erasure-repository.js';
import { erasedSubjectName, personalFields } from '../privacy/fields.js';
import type { HoldRepository, LegalHold } from '../privacy/hold-repository.js';
import type { OpeningRepository, StoredOpening } from '../privacy/opening-repository.js';
import type { Pseudonyms } from '../privacy/pseudonyms.js';
import { copiedSeqs, copyCounts, PERSONAL_DATA_SCOPE, type SubjectCopies, type WorkingCopyRepository } from '../privacy/working-copy-repository.js';

export interface ErasureRepos {
  openings: OpeningRepository;
  copies: WorkingCopyRepository;
  holds: HoldRepository;
  erasures: ErasureRepository;
}

export interface PerformedErasure {
  erasureId: string;
  pseudonym: string;
  basis: ErasureBasis;
  requestRef: string;
  performedAt: Date;
  position: Pick<Position, 'seq' | 'eventId'>;
  data: EventData<'erasure.performed'>;
  /** The signed receipt of the erasure.performed entry (the format of acceptance receipts). */
  receipt: ServedReceipt;
}

export interface RetentionPlanItem {
  pseudonym: string;
  /** Openings due (recorded before the cutoff). */
  openings: number;
  /** Whether the subject's working copies are scrubbed too (no newer fact of it is kept). */
  workingCopies: boolean;
  /** Skipped: the subject is on legal hold (these holds). */
  heldBy: string[];
}

export interface RetentionRun {
  days: number;
  cutoff: Date;
  dryRun: boolean;
  subjects: RetentionPlanItem[];
  erasures: PerformedErasure[];
}

/** What one erasure removes. */
interface Target {
  pseudonym: string;
  /** The subject identifier, when its working copies are scrubbed too. */
  subject: string | null;
  openings: StoredOpening[];
}

const RETENTION_ACTOR = { api_key_id: 'retention', name: 'retention policy (ASSENTMARK_RETENTION_DAYS)' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A subject's openings are read and erased in pages of this many per retention pass. */
const RETENTION_PAGE = 10_000;

export class ErasureService {
  constructor(
    private readonly repos: ErasureRepos,
    private readonly ledger: Ledger,
    private readonly pseudonyms: Pseudonyms,
    /** Told about an erased subject, so caches (the gateway's keys) drop it. */
    private readonly onSubjectChanged: (subject: string) => void = () => {},
    private readonly checkpoints?: CheckpointSchedule,
  ) {}

  /** Erases everything the service holds about `subject` that identifies the person (HTTP and CLI). */
  async erase(subject: string, input: { basis: ErasureBasis; request_ref: string }, principal: Pick<Principal, 'keyId' | 'name'>, keyRow: KeyRow<PerformedErasure> | null = null): Promise<PerformedErasure> {
    const pseudonym = this.pseudonyms.of(subject);
    for (let attempt = 0; ; attempt++) {
      const state = await this.repos.copies.personalDataState(pseudonym);
      const openings = (await this.repos.openings.forSubject(pseudonym)).filter((o) => o.erased === null);
      try {
        return await this.#erase({ pseudonym, subject, openings }, state, input.basis, input.request_ref, { api_key_id: principal.keyId, name: principal.name }, keyRow);
      } catch (e) {
        // A hold, a release or another erasure of this subject committed meanwhile: decide again on what it left.
        if (isStateRefusal(e) && attempt < 3) continue;
        throw e;
      }
    }
  }

  /**
   * One pass of the retention policy (`days`): every open opening recorded before now - days is
   * erased, one erasure.performed per subject, except for subjects on legal hold. A subject none
   * of whose openings stays open is erased whole (its working copies scrubbed too); one with newer
   * facts keeps those and its working copies. `dryRun`: what would be erased, nothing written.
   */
  async retention(days: number, opts: { now?: Date; dryRun?: boolean } = {}): Promise<RetentionRun> {
    const cutoff = new Date((opts.now ?? new Date()).getTime() - days * 86_400_000);
    const run: RetentionRun = { days, cutoff, dryRun: !!opts.dryRun, subjects: [], erasures: [] };
    const done = new Set<string>();
    for (;;) {
      const due = (await this.repos.openings.dueBefore(cutoff, RETENTION_PAGE)).filter((o) => !done.has(o.pseudonym));
      if (due.length === 0) break;
      const bySubject = new Map<string, StoredOpening[]>();
      for (const o of due) bySubject.set(o.pseudonym, [...(bySubject.get(o.pseudonym) ?? []), o]);
      const held = holdsBySubject(await this.repos.holds.openFor([...bySubject.keys()]));
      for (const pseudonym of bySubject.keys()) {
        done.add(pseudonym);
        const heldBy = held.get(pseudonym) ?? [];
        if (heldBy.length) {
          run.subjects.push({ pseudonym, openings: bySubject.get(pseudonym)!.length, workingCopies: false, heldBy: heldBy.map((h) => h.id) });
          continue;
        }
        for (let attempt = 0; ; attempt++) {
          const state = await this.repos.copies.personalDataState(pseudonym);
          const open = (await this.repos.openings.forSubject(pseudonym)).filter((o) => o.erased === null);
          const openings = open.filter((o) => o.recordedAt < cutoff);
          if (openings.length === 0) break;
          const whole = openings.length === open.length;
          // The identifier is the value of one of its own subject openings (every personal event has one).
          const subject = whole ? subjectOf(openings, pseudonym, this.pseudonyms) : null;
          if (attempt === 0) run.subjects.push({ pseudonym, openings: openings.length, workingCopies: subject !== null, heldBy: [] });
          if (run.dryRun) break;
          try {
            run.erasures.push(await this.#erase({ pseudonym, subject, openings }, state, 'retention', `retention:${days}d`, RETENTION_ACTOR, null));
            break;
          } catch (e) {
            if (e instanceof AppError && (e.code === 'subject_on_legal_hold' || e.code === 'nothing_to_erase')) break;
            if (isStateRefusal(e) && attempt < 3) continue;
            throw e;
          }
        }
      }
      if (due.length < RETENTION_PAGE) break;
    }
    return run;
  }

  async #erase(target: Target, state: number, basis: ErasureBasis, requestRef: string, actor: { api_key_id: string; name: string }, keyRow: KeyRow<PerformedErasure> | null): Promise<PerformedErasure> {
    const { pseudonym, subject, openings } = target;
    const holds = await this.repos.holds.openFor([pseudonym]);
    if (holds.length) {
      throw new AppError('subject_on_legal_hold', `the subject is on legal hold (${holds.map((h) => `hold ${h.id}, case ${h.caseRef}`).join('; ')}): nothing was erased. Release the hold(s) first (POST /v1/legal-holds/{id}/release).`,
        { holds: holds.map((h) => ({ id: h.id, case_ref: h.caseRef, placed_seq: h.placed.seq })) });
    }
    const copies = subject === null ? null : await this.repos.copies.find(subject);
    const counts = copies ? copyCounts(copies) : {};
    const copied = Object.values(counts).reduce((a, b) => a + b, 0);
    if (openings.length === 0 && copied === 0) {
      const before = await this.repos.erasures.forSubject(pseudonym);
      throw new AppError('nothing_to_erase', before.length
        ? `nothing is left to erase for this subject: erased by ${before.map((e) => `erasure ${e.id} (ledger entry ${e.seq})`).join(', ')}`
        : 'the service holds no personal data of this subject (no opening, no working row names it)',
      { erasures: before.map((e) => ({ id: e.id, seq: e.seq })) });
    }
    const erasureId = randomUUID();
    const tombstone = erasedSubjectName(erasureId);
    const now = new Date();
    const clearEvents = copies ? await this.#clearEvents(copiedSeqs(copies)) : [];
    const keyVersions = copies ? copies.watermarkKeys.map((k) => k.key).sort((a, b) => a - b) : [];
    const data: EventData<'erasure.performed'> = {
      erasure_id: erasureId,
      subject_pseudonym: pseudonym,
      basis,
      request_ref: requestRef,
      erased: openings.map((o) => ({ event_id: o.eventId, seq: o.seq, field: o.field, group: o.group, commitment: o.commitment })),
      clear_events: clearEvents,
      working_rows: counts,
      watermark_keys: { action: keyVersions.length ? 'destroyed' : 'none', versions: keyVersions },
      performed_by: actor,
    };
    const ev = buildEvent('erasure.performed', data, { time: now });
    const performed = (p: Position): PerformedErasure => ({
      erasureId, pseudonym, basis, requestRef, performedAt: now, position: { seq: p.seq, eventId: p.eventId }, data,
      receipt: { ...buildReceipt({ seq: p.seq, eventId: p.eventId, canonical: ev.canonical, leafHash: p.leafHash, chainHash: p.chainHash }, this.ledger.origin, this.ledger.signingKey), openings: [], inclusion: null, promise: inclusionPromise(this.checkpoints) },
    });
    const [p] = await this.ledger.append({
      events: [ev],
      rows: ([pos]) => {
        const rows: WorkingRow[] = [
          this.repos.erasures.row({ id: erasureId, pseudonym, basis, requestRef, performedByKeyId: UUID.test(actor.api_key_id) ? actor.api_key_id : null, performedAt: now }, pos!),
        ];
        if (openings.length) rows.push(this.repos.openings.erasedUpdate(openings, now, pos!));
        if (copies && subject !== null) rows.push(...this.repos.copies.scrub(subject, copies, scrubbedValues(subject, copies, tombstone, erasureId)));
        if (keyRow) rows.push(keyRow(performed(pos!)));
        return rows;
      },
      states: [{ subject: pseudonym, scope: PERSONAL_DATA_SCOPE, expected: state }],
    });
    if (subject !== null) this.onSubjectChanged(subject);
    return performed(p!);
  }

  /** Of these entries, those written before personal data left the log: they hold personal facts in clear. */
  async #clearEvents(seqs: number[]): Promise<Array<{ event_id: string; seq: number }>> {
    const out: Array<{ event_id: string; seq: number }> = [];
    for (let i = 0; i < seqs.length; i += 1000) {
      for (const entry of await this.ledger.entriesBySeq(seqs.slice(i, i + 1000))) {
        const e = parseEvent(entry.canonical);
        if (personalFields(e.type, e.data).some((f) => f.commitment === null)) out.push({ event_id: entry.eventId, seq: entry.seq });
      }
    }
    return out.sort((a, b) => a.seq - b.seq);
  }
}

function holdsBySubject(holds: LegalHold[]): Map<string, LegalHold[]> {
  const m = new Map<string, LegalHold[]>();
  for (const h of holds) m.set(h.pseudonym, [...(m.get(h.pseudonym) ?? []), h]);
  return m;
}

/** The subject identifier an opening of its own subject field holds (checked against its pseudonym). */
function subjectOf(openings: StoredOpening[], pseudonym: string, pseudonyms: Pseudonyms): string | null {
  for (const o of openings) {
    if (o.group === 'subject' && o.opening && typeof o.opening.value === 'string' && pseudonyms.of(o.opening.value) === pseudonym) return o.opening.value;
  }
  return null;
}

/** An event's data as a working copy holds it, with every personal fact still in clear (v1 events) replaced by the tombstone. */
function scrubClear(type: string, data: Record<string, unknown>, tombstone: string): Record<string, unknown> {
  const out = structuredClone(data);
  for (const f of personalFields(type, data)) {
    if (f.commitment !== null) continue;
    const parts = f.field.split('.');
    let node: any = out;
    for (const part of parts.slice(0, -1)) node = node?.[Array.isArray(node) ? Number(part) : part];
    const last = parts[parts.length - 1]!;
    if (node && typeof node === 'object') node[Array.isArray(node) ? Number(last) : last] = tombstone;
  }
  return out;
}

function scrubbedValues(subject: string, c: SubjectCopies, tombstone: string, erasureId: string) {
  const kindType = (kind: string): string => ASSENT_EVENT[kind as keyof typeof ASSENT_EVENT] ?? 'acceptance.recorded';
  const planned = (subjects: string[]) => subjects.map((s) => (s === subject ? tombstone : s));
  return {
    tombstone,
    records: new Map(c.assentRecords.map((r) => [r.key, scrubClear(kindType(r.kind), r.record, tombstone)])),
    outcomes: new Map(c.verifications.map((r) => [r.key, scrubClear('verification.recorded', r.outcome, tombstone)])),
    llmOutcomes: new Map(c.llmVerifications.map((r) => [r.key, scrubClear('llm_verification.recorded', r.outcome, tombstone)])),
    plans: new Map(c.verificationPlans.map((r) => [r.key, planned(r.subjects)])),
    llmPlans: new Map(c.llmVerificationPlans.map((r) => [r.key, planned(r.subjects)])),
    idempotencyAnswer: JSON.stringify({ erased: true, erasure_id: erasureId, detail: 'this answer named a subject whose personal data was erased; the events it answered for stay in the ledger' }),
  };
}
