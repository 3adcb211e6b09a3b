// Subject access (GDPR Art. 15): everything the service holds about one subject, with the proofs
// that let the export be checked offline (docs/personal-data.md, "Subject access"). The ledger
// events about the subject are found by its pseudonym in personal_openings and, for events written
// before personal data left the log, through the working tables; each is returned as its exact
// canonical bytes with its leaf hash and its inclusion proof in the latest signed checkpoint, its
// personal facts opened (or said to be erased, with the erasure).
import type { AssentRecord, AssentRecordRepository } from '../assent/record-repository.js';
import type { DossierInfo, DossierRepository } from '../dossier/repository.js';
import type { StoredCheckpoint } from '../ledger/checkpoint-repository.js';
import { parseEvent } from '../ledger/events.js';
import type { LedgerEntry } from '../ledger/format.js';
import type { Ledger } from '../ledger/ledger.js';
import type { LlmVerificationRecord, LlmVerificationRepository } from '../llm-watermark/verification-repository.js';
import { AppError } from '../problems/app-error.js';
import type { PlanInfo, PlanRepository } from '../verification/plan-repository.js';
import type { VerificationRecord, VerificationRepository } from '../verification/repository.js';
import type { WatermarkKeyInfo, WatermarkKeyRepository } from '../watermark-keys/repository.js';
import type { PersonalGroup } from '../privacy/commitment.js';
import { openingProblem } from '../privacy/commitment.js';
import type { ErasureFacts, HoldFacts, LlmPlanFacts, SessionFacts, SubjectAccessRepository, UsageFacts } from './repository.js';
import { openData, personalFields } from '../privacy/fields.js';
import type { OpeningRepository, StoredOpening } from '../privacy/opening-repository.js';

/**
 * At most this many ledger events in one export: a subject's events are few (its acceptances, keys,
 * verifications, dossiers, daily usage roll-ups), so an export is built in memory and bounded, not streamed.
 */
export const MAX_EXPORT_EVENTS = 10_000;

/** One personal field of an exported event and what the service holds of it. */
export type ExportedField = {
  field: string;
  group: PersonalGroup;
  /** The commitment the event holds, or null for an event written with the value in clear. */
  commitment: string | null;
} & (
  | { state: 'open'; salt: string; value: unknown }
  | { state: 'erased'; erasedAt: Date; erasureEventId: string; erasure: ErasureFacts | null }
  /** Written in clear (before personal data left the log): the value is in the canonical bytes, and cannot be erased from them. */
  | { state: 'clear'; value: unknown }
  /** Committed, but its opening is not held (never written, or the stored one does not open the commitment). */
  | { state: 'missing'; problem: string }
);

export interface ExportedEvent {
  seq: number;
  eventId: string;
  type: string;
  time: string;
  /** The exact canonical bytes, or null when withheld (they name other subjects in clear). */
  canonical: Buffer | null;
  leafHash: Buffer;
  chainHash: Buffer;
  /** The event's data with this subject's personal facts opened (null when withheld). */
  data: unknown;
  /** This subject's personal fields of the event (another subject's are left out). */
  fields: ExportedField[];
  withheld: string | null;
  /** The RFC 9162 audit path to the export's checkpoint, or null when it does not cover the entry yet. */
  inclusion: { treeSize: number; leafIndex: number; proof: Buffer[] } | null;
}

export interface SubjectExport {
  subject: string;
  pseudonym: string;
  origin: string;
  generatedAt: Date;
  /** The latest signed checkpoint (a C2SP note): the proofs lead to its root. */
  checkpoint: StoredCheckpoint | null;
  events: ExportedEvent[];
  records: {
    assent: AssentRecord[];
    keys: WatermarkKeyInfo[];
    plans: PlanInfo[];
    verifications: VerificationRecord[];
    llmPlans: LlmPlanFacts[];
    llmVerifications: LlmVerificationRecord[];
    dossiers: DossierInfo[];
    sessions: SessionFacts[];
    usage: UsageFacts[];
    holds: HoldFacts[];
    erasures: ErasureFacts[];
  };
}

export interface AccessRepositories {
  openings: OpeningRepository;
  access: SubjectAccessRepository;
  records: AssentRecordRepository;
  keys: WatermarkKeyRepository;
  plans: PlanRepository;
  verifications: VerificationRepository;
  llmVerifications: LlmVerificationRepository;
  dossiers: DossierRepository;
}

export class SubjectAccessService {
  constructor(
    private readonly repos: AccessRepositories,
    private readonly ledger: Pick<Ledger, 'origin' | 'entriesBySeq' | 'latestNoteCheckpoint' | 'inclusionProof'>,
    private readonly pseudonymOf: (subject: string) => string,
  ) {}

  /** Everything held about `subject`; 404 `subject_not_found` when nothing is. */
  async export(subject: string): Promise<SubjectExport> {
    const pseudonym = this.pseudonymOf(subject);
    const r = this.repos;
    // The checkpoint first: every entry it covers gets a proof to its root.
    const checkpoint = (await this.ledger.latestNoteCheckpoint()) ?? null;
    const [openings, assent, keys, plans, verifications, llmPlans, llmVerifications, dossiers, sessions, usage, holds, erasures] = await Promise.all([
      r.openings.forSubject(pseudonym), r.records.forSubject(subject), r.keys.all(subject), r.plans.forSubject(subject), r.verifications.forSubject(subject),
      r.access.llmPlans(subject), r.llmVerifications.forSubject(subject), r.dossiers.forSubject(subject), r.access.acceptanceSessions(subject),
      r.access.usageReports(subject), r.access.holds(pseudonym), r.access.erasures(pseudonym),
    ]);
    const seqs = new Set<number>([
      ...openings.map((o) => o.seq),
      ...[...assent, ...keys, ...plans, ...verifications, ...llmVerifications, ...dossiers].map((x) => x.ledgerSeq),
      ...[...llmPlans, ...usage, ...erasures].map((x) => x.seq),
      ...sessions.flatMap((s) => (s.use ? [s.use.seq] : [])),
      ...holds.flatMap((h) => [h.placedSeq, ...(h.released ? [h.released.seq] : [])]),
    ]);
    if (seqs.size === 0 && sessions.length === 0) {
      throw new AppError('subject_not_found', 'nothing is recorded about this subject: no ledger event names it and no working record holds it (the identifier must match exactly, upper and lower case included)');
    }
    if (seqs.size > MAX_EXPORT_EVENTS) {
      throw new AppError('subject_export_too_large', `${seqs.size} ledger events are about this subject; an export holds at most ${MAX_EXPORT_EVENTS}`);
    }
    const entries = await this.ledger.entriesBySeq([...seqs].sort((a, b) => a - b));
    const bySeq = new Map<number, StoredOpening[]>();
    for (const o of openings) (bySeq.get(o.seq) ?? bySeq.set(o.seq, []).get(o.seq)!).push(o);
    const erasureByEvent = new Map(erasures.map((e) => [e.eventId, e]));
    const events: ExportedEvent[] = [];
    for (const entry of entries) {
      const inclusion = await this.#inclusion(entry, checkpoint);
      events.push({ ...exportedEvent(entry, subject, pseudonym, bySeq.get(entry.seq) ?? [], erasureByEvent), inclusion });
    }
    return {
      subject, pseudonym, origin: this.ledger.origin, generatedAt: new Date(), checkpoint, events,
      records: { assent, keys, plans, verifications, llmPlans, llmVerifications, dossiers, sessions, usage, holds, erasures },
    };
  }

  /**
   * The personal facts of these entries about `subject` (opened, erased or in clear), by event id:
   * what the console's timeline shows beside each record (docs/console.md).
   */
  async factsOf(subject: string, seqs: readonly number[]): Promise<Map<string, ExportedField[]>> {
    const pseudonym = this.pseudonymOf(subject);
    const entries = await this.ledger.entriesBySeq([...new Set(seqs)].sort((a, b) => a - b));
    const openings = await this.repos.openings.forEvents(entries.map((e) => e.eventId));
    const erasureIds = [...new Set(openings.flatMap((o) => (o.erased ? [o.erased.eventId] : [])))];
    const erasures = erasureIds.length ? await this.repos.access.erasures(pseudonym) : [];
    const erasureByEvent = new Map(erasures.map((e) => [e.eventId, e]));
    const out = new Map<string, ExportedField[]>();
    for (const entry of entries) {
      const mine = openings.filter((o) => o.eventId === entry.eventId && o.pseudonym === pseudonym);
      out.set(entry.eventId, exportedEvent(entry, subject, pseudonym, mine, erasureByEvent).fields);
    }
    return out;
  }

  async #inclusion(entry: LedgerEntry, cp: StoredCheckpoint | null): Promise<ExportedEvent['inclusion']> {
    if (!cp || !cp.rootHash || cp.size < entry.seq) return null;
    const p = await this.ledger.inclusionProof(entry.seq, cp.size);
    // Never hand out a proof that cannot verify: the tree read back must be the one the checkpoint signed.
    if (!p.root.equals(cp.rootHash) || !p.leafHash.equals(entry.leafHash)) {
      throw new Error(`the Merkle tree at size ${cp.size} does not have the root its checkpoint signed, or entry ${entry.seq} has another leaf`);
    }
    return { treeSize: p.treeSize, leafIndex: p.leafIndex, proof: p.proof };
  }
}

/** One entry as exported: its bytes, and this subject's personal fields in it with what is held of each. */
function exportedEvent(entry: LedgerEntry, subject: string, pseudonym: string, openings: readonly StoredOpening[], erasures: ReadonlyMap<string, ErasureFacts>): Omit<ExportedEvent, 'inclusion'> {
  const e = parseEvent(entry.canonical);
  const byField = new Map(openings.filter((o) => o.eventId === e.id).map((o) => [o.field, o]));
  const fields: ExportedField[] = [];
  const opened: { field: string; opening: { salt: string; value: unknown } }[] = [];
  let others = false;
  for (const f of personalFields(e.type, e.data)) {
    const base = { field: f.field, group: f.group, commitment: f.commitment };
    if (f.commitment === null) {
      // In clear: a subject field naming someone else is another person's fact.
      if (f.group === 'subject' && f.clear !== subject) {
        others = true;
        continue;
      }
      fields.push({ ...base, state: 'clear', value: f.clear });
      continue;
    }
    const o = byField.get(f.field);
    if (f.group === 'subject' && f.pseudonym !== pseudonym) continue;
    if (!o) {
      fields.push({ ...base, state: 'missing', problem: 'no opening of this commitment is held' });
      continue;
    }
    if (o.opening) {
      const problem = openingProblem(f.commitment, { group: f.group, ...o.opening }, f.group);
      if (problem) fields.push({ ...base, state: 'missing', problem: `the stored opening does not open the commitment: ${problem}` });
      else {
        fields.push({ ...base, state: 'open', salt: o.opening.salt, value: o.opening.value });
        opened.push({ field: f.field, opening: o.opening });
      }
    } else if (o.erased) {
      fields.push({ ...base, state: 'erased', erasedAt: o.erased.at, erasureEventId: o.erased.eventId, erasure: erasures.get(o.erased.eventId) ?? null });
    } else fields.push({ ...base, state: 'missing', problem: 'the stored opening holds no value' });
  }
  const withheld = others ? 'this event was written before personal data left the log and names other subjects in clear: its bytes are withheld; its leaf hash and proof still show it is in the ledger' : null;
  return {
    seq: entry.seq, eventId: e.id, type: e.type, time: e.time,
    canonical: withheld ? null : entry.canonical, leafHash: entry.leafHash, chainHash: entry.chainHash,
    data: withheld ? null : openData(e.type, e.data, opened), fields, withheld,
  };
}
