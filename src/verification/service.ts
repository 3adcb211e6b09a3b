// Verification outcomes: recompute, per subject, which samples its key marks and what was served,
// compute the exact binomial tail, correct for subjects screened, and record it all in the ledger.
import { randomUUID, createHash } from 'node:crypto';
import { SCHEME, TAG } from '../crypto/domains.js';
import type { PlanSample } from '../db/schema.js';
import type { WorkingRow } from '../db/rows.js';
import type { Ledger } from '../ledger/ledger.js';
import type { PreparedEvent } from '../ledger/format.js';
import { buildSealedEvent, parseEventOf, type EventDataInput, type VerificationStatistic } from '../ledger/events.js';
import type { Position } from '../ledger/appender.js';
import type { Principal } from '../auth/api-keys.js';
import type { KeyRow } from '../idempotency/service.js';
import type { WatermarkKeyService } from '../watermark-keys/service.js';
import type { PlanInfo, PlanRepository } from './plan-repository.js';
import type { VerificationRecord, VerificationRepository } from './repository.js';
import type { VerificationSamplesRepository } from './samples-repository.js';
import { DEFAULT_ALPHA, sampleLine, verifyWatermark, type VerifyResult, type VerifySample } from '../watermark/verify.js';
import { WatermarkError } from '../watermark/decide.js';
import { AppError } from '../problems/app-error.js';
import type { PlanInput, VerificationInput } from './schemas.js';
import { checkSamples, labelOutOfRange, twoClassDetail } from './samples.js';

export const PLAN_DOMAIN = TAG.wmPlan;

/** SHA-256 over "assentmark/wm-plan/v1\n" and one `<digest>:<ownerLabel>:<numClasses>\n` line per sample. */
export function planDigest(samples: readonly PlanSample[]): string {
  const h = createHash('sha256').update(`${PLAN_DOMAIN}\n`, 'ascii');
  for (const s of samples) h.update(`${s.input_sha256}:${s.owner_label}:${s.num_classes}\n`, 'ascii');
  return h.digest('hex');
}

export interface RecordedPlan {
  plan: PlanInfo;
  alpha: number;
  position: Position;
}

export interface SubjectOutcome {
  id: string;
  subject: string;
  result: VerifyResult;
  key: { version: number; keyId: string; commitment: string };
  position: Position;
}

/** One verification request: an outcome per subject tested, recorded together. */
export interface Screening {
  screeningId: string;
  caseRef: string;
  preregistered: boolean;
  results: SubjectOutcome[];
}

/** What the service reports for monitoring (metrics); it must not throw. */
export interface VerificationObserver {
  /** One recorded outcome per subject tested. */
  recorded(decision: 'detected' | 'not_detected' | 'insufficient'): void;
  /** A verification request refused (nothing recorded), by problem code. */
  refused(code: string): void;
}

export interface VerificationRepositories {
  plans: PlanRepository;
  verifications: VerificationRepository;
  samples: VerificationSamplesRepository;
}

export class VerificationService {
  constructor(
    private readonly repos: VerificationRepositories,
    private readonly ledger: Ledger,
    private readonly keys: WatermarkKeyService,
    private readonly threshold: bigint,
    private readonly observer?: VerificationObserver,
  ) {}

  /**
   * Commits the candidate samples (and the test's parameters) to the ledger before any suspect
   * label exists. `keyRow`: the Idempotency-Key's row, written with the event.
   */
  async plan(input: PlanInput, principal: Principal, keyRow: KeyRow<RecordedPlan> | null = null): Promise<RecordedPlan> {
    const subjects = [...new Set(input.subjects)];
    await this.#requireKeys(subjects);
    if (input.subjects_screened !== undefined && input.subjects_screened < subjects.length) {
      throw new AppError('plan_mismatch', `subjects_screened (${input.subjects_screened}) cannot be less than the ${subjects.length} subjects in the plan`);
    }
    // Refused as a verification would refuse them: a recorded plan can always be run.
    checkSamples(input.samples);
    const id = randomUUID();
    const now = new Date();
    const digest = planDigest(input.samples);
    const ev = buildSealedEvent(this.keys.sealer, 'verification.planned', {
      plan_id: id,
      case_ref: input.case_ref,
      subjects,
      sample_count: input.samples.length,
      samples_digest: digest,
      samples_digest_scheme: SCHEME.planSamplesDigest,
      alpha: input.alpha ?? DEFAULT_ALPHA,
      subjects_screened: input.subjects_screened ?? subjects.length,
      threshold: this.threshold.toString(),
      ...(input.note ? { note: input.note } : {}),
      planned_by: { api_key_id: principal.keyId, name: principal.name },
    }, null, { time: now });
    const draft = { id, caseRef: input.case_ref, subjects, samples: input.samples, samplesDigest: digest, createdAt: now };
    const recorded = (p: Position): RecordedPlan => ({ plan: { id, caseRef: input.case_ref, subjects, sampleCount: input.samples.length, samplesDigest: digest, createdAt: now, ledgerSeq: p.seq, eventId: p.eventId }, alpha: input.alpha ?? DEFAULT_ALPHA, position: p });
    const [p] = await this.ledger.append({ events: [ev], rows: ([pos]) => [this.repos.plans.row(draft, pos!), ...(keyRow ? [keyRow(recorded(pos!))] : [])] });
    return recorded(p!);
  }

  async getPlan(id: string): Promise<PlanInfo> {
    const r = await this.repos.plans.get(id);
    if (!r) throw new AppError('plan_not_found', `no verification plan with id ${id}`);
    return r;
  }

  /** `keyRow`: the Idempotency-Key's row, written with the outcomes. */
  async verify(input: VerificationInput, principal: Principal, keyRow: KeyRow<Screening> | null = null): Promise<Screening> {
    let s: Screening;
    try {
      s = await this.#verify(input, principal, keyRow);
    } catch (e) {
      this.observer?.refused(e instanceof AppError ? e.code : 'internal_error');
      throw e;
    }
    for (const r of s.results) this.observer?.recorded(r.result.decision);
    return s;
  }

  async #verify(input: VerificationInput, principal: Principal, keyRow: KeyRow<Screening> | null): Promise<Screening> {
    const { subjects, samples, alpha, screened, plan } = await this.#resolveInput(input);
    const keyRows = await this.keys.unwrapped(subjects, input.key_version);
    const results: Array<{ subject: string; result: VerifyResult; key: { version: number; keyId: string; commitment: string } }> = [];
    try {
      const missing = subjects.filter((s) => !keyRows.has(s));
      if (missing.length) {
        throw new AppError('unknown_subjects', `${missing.length} subject(s) have no watermark key${input.key_version ? ` version ${input.key_version}` : ''}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`, { subjects: missing.slice(0, 100) });
      }
      for (const subject of subjects) {
        const k = keyRows.get(subject)!;
        results.push({ subject, result: verifyWatermark({ key: k.key, threshold: this.threshold, samples, alpha, subjectsScreened: screened }), key: k.info });
      }
    } catch (e) {
      if (e instanceof WatermarkError) {
        if (e.code === 'two_class_unsupported') throw new AppError('two_class_unsupported', twoClassDetail());
        throw new AppError('invalid_item', e.message);
      }
      throw e;
    } finally {
      // Every unwrapped key, also those of subjects not reached when an earlier one failed.
      for (const k of keyRows.values()) k.key.fill(0);
    }
    const screeningId = randomUUID();
    const now = new Date();
    const ids = results.map(() => randomUUID());
    const events: PreparedEvent[] = results.map((r, i) => buildSealedEvent(this.keys.sealer, 'verification.recorded', outcomeData(ids[i]!, screeningId, input, r, plan, principal), r.subject, { time: now }));
    const screening = (positions: Position[]): Screening => ({
      screeningId,
      caseRef: input.case_ref,
      preregistered: !!plan,
      results: results.map((r, i) => ({ id: ids[i]!, subject: r.subject, result: r.result, key: r.key, position: positions[i]! })),
    });
    // The samples as the lines of the recorded digest (the same for every subject), and each
    // subject's marks, so that a dossier can attach them and n and m can be re-derived.
    const lines = samples.map(sampleLine).join('');
    const rows = (pos: Position[]): WorkingRow[] => [
      ...results.map((r, i) => this.repos.verifications.row({
        id: ids[i]!, screeningId, caseRef: input.case_ref, subject: r.subject, planId: plan?.id ?? null,
        decision: r.result.decision, outcome: parseEventOf('verification.recorded', events[i]!.canonical).data, keyVersion: r.key.version, createdAt: now,
      }, pos[i]!)),
      this.repos.samples.samplesRow({ screeningId, sampleCount: samples.length, samplesDigest: results[0]!.result.samplesDigest, lines, createdAt: now }, pos[0]!),
      ...results.map((r, i) => this.repos.samples.marksRow(ids[i]!, screeningId, r.result.marked)),
      ...(keyRow ? [keyRow(screening(pos))] : []),
    ];
    return screening(await this.ledger.append({ events, rows }));
  }

  async get(id: string): Promise<VerificationRecord> {
    const r = await this.repos.verifications.get(id);
    if (!r) throw new AppError('verification_not_found', `no verification with id ${id}`);
    return r;
  }

  listForSubject(subject: string): Promise<VerificationRecord[]> {
    return this.repos.verifications.forSubject(subject);
  }

  /** The pre-registered plans that name a subject. */
  plansForSubject(subject: string): Promise<PlanInfo[]> {
    return this.repos.plans.forSubject(subject);
  }

  async #requireKeys(subjects: string[]): Promise<void> {
    const set = await this.keys.repo.subjectsWithKeys(subjects);
    const missing = subjects.filter((s) => !set.has(s));
    if (missing.length) throw new AppError('unknown_subjects', `${missing.length} subject(s) have no watermark key: ${missing.slice(0, 10).join(', ')}`, { subjects: missing.slice(0, 100) });
  }

  async #resolveInput(input: VerificationInput): Promise<{ subjects: string[]; samples: VerifySample[]; alpha: number; screened: number; plan: PlanRef | null }> {
    if (input.plan_id) {
      if (input.samples || input.subjects) throw new AppError('plan_mismatch', 'with plan_id, send suspect_labels only: the subjects and samples are the plan\'s');
      if (!input.suspect_labels) throw new AppError('plan_mismatch', 'with plan_id, send suspect_labels: one label per planned sample, in plan order');
      const p = await this.repos.plans.withSamples(input.plan_id);
      if (!p) throw new AppError('plan_not_found', `no verification plan with id ${input.plan_id}`);
      const planned: PlanSample[] = p.samples;
      if (input.suspect_labels.length !== planned.length) {
        throw new AppError('plan_mismatch', `the plan has ${planned.length} samples but ${input.suspect_labels.length} suspect labels were sent`);
      }
      const ev = await this.ledger.entry(p.ledgerSeq);
      if (!ev) throw new Error(`ledger entry ${p.ledgerSeq} of plan ${p.id} is missing`);
      const planData = parseEventOf('verification.planned', ev.canonical).data;
      if (input.alpha !== undefined && input.alpha !== planData.alpha) throw new AppError('plan_mismatch', `the plan fixed alpha = ${planData.alpha}`);
      if (planData.threshold !== this.threshold.toString()) throw new AppError('plan_mismatch', 'the service\'s watermark rate changed since the plan was registered');
      const samples = planned.map((s, i) => {
        const y = input.suspect_labels![i]!;
        if (y >= s.num_classes) throw labelOutOfRange(`suspect_labels.${i}`, y, s.num_classes);
        return { inputDigest: s.input_sha256, ownerLabel: s.owner_label, suspectLabel: y, numClasses: s.num_classes };
      });
      const screened = Math.max(planData.subjects_screened, input.subjects_screened ?? 0);
      return { subjects: p.subjects, samples, alpha: planData.alpha, screened, plan: { id: p.id, eventId: p.eventId, seq: p.ledgerSeq, samplesDigest: p.samplesDigest } };
    }
    if (input.suspect_labels) throw new AppError('plan_mismatch', 'suspect_labels go with a plan_id; without a plan send samples');
    if (!input.samples || !input.subjects) throw new AppError('invalid_item', 'send subjects and samples (or plan_id and suspect_labels for a pre-registered test)', { errors: [{ field: input.samples ? 'subjects' : 'samples', message: 'is required' }] });
    const subjects = [...new Set(input.subjects)];
    const screened = input.subjects_screened ?? subjects.length;
    if (screened < subjects.length) throw new AppError('invalid_item', `subjects_screened (${screened}) cannot be less than the ${subjects.length} subjects tested`, { errors: [{ field: 'subjects_screened', message: 'must be at least the number of subjects' }] });
    checkSamples(input.samples);
    const samples = input.samples.map((s) => ({ inputDigest: s.input_sha256, ownerLabel: s.owner_label, suspectLabel: s.suspect_label, numClasses: s.num_classes }));
    return { subjects, samples, alpha: input.alpha ?? DEFAULT_ALPHA, screened, plan: null };
  }
}

interface PlanRef {
  id: string;
  eventId: string;
  seq: number;
  samplesDigest: string;
}

function outcomeData(id: string, screeningId: string, input: VerificationInput, r: { subject: string; result: VerifyResult; key: { version: number; keyId: string; commitment: string } }, plan: PlanRef | null, principal: Principal): EventDataInput<'verification.recorded'> {
  return {
    verification_id: id,
    screening_id: screeningId,
    case_ref: input.case_ref,
    suspect: input.suspect,
    subject: r.subject,
    key: { version: r.key.version, key_id: r.key.keyId, commitment: r.key.commitment },
    preregistered: !!plan,
    plan: plan ? { id: plan.id, event_id: plan.eventId, seq: plan.seq, samples_digest: plan.samplesDigest } : null,
    method: 'DAWN keyed watermark; one-sided exact binomial test, Bonferroni-corrected',
    statistic: statisticOf(r.result),
    samples_digest: r.result.samplesDigest,
    samples_digest_scheme: SCHEME.samplesDigest,
    decision: r.result.decision,
    requested_by: { api_key_id: principal.keyId, name: principal.name },
  };
}

/** The recorded statistic of one outcome (event data; the API shows the same members). */
export function statisticOf(r: VerifyResult): VerificationStatistic {
  return {
    samples_submitted: r.samplesSubmitted,
    duplicates_dropped: r.duplicatesDropped,
    samples_unique: r.samplesUnique,
    n: r.n,
    m: r.m,
    match_rate: r.n > 0 ? r.m / r.n : 0,
    num_classes: r.numClasses,
    p0: r.p0,
    groups: r.groups.map((g) => ({ num_classes: g.numClasses, p0: g.p0, n: g.n, m: g.m })),
    test: r.method,
    threshold: r.threshold,
    rate: r.rate,
    alpha: r.alpha,
    subjects_screened: r.subjectsScreened,
    p_value: r.p,
    log10_p_value: r.log10P,
    p_adjusted: r.pAdjusted,
    log10_p_adjusted: r.log10PAdjusted,
    min_marked_samples_needed: r.minMarkedSamplesNeeded,
  };
}

