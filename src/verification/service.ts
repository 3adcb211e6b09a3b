// Verification outcomes: recompute, per subject, which samples its key marks and what was served,
// compute the exact binomial tail, correct for subjects screened, and record it all in the ledger.
import { randomUUID, createHash } from 'node:crypto';
import { SCHEME, TAG } from '../crypto/domains.js';
import type { Kysely } from 'kysely';
import type { Database, PlanSample } from '../db/schema.js';
import type { Ledger } from '../ledger/ledger.js';
import { prepareEvent, type PreparedEvent } from '../ledger/format.js';
import type { Position, WorkingRow } from '../ledger/appender.js';
import type { Principal } from '../auth/api-keys.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';
import { WatermarkKeyRepository } from '../watermark-keys/keys.js';
import { DEFAULT_ALPHA, verifyWatermark, type VerifyResult, type VerifySample } from '../watermark/verify.js';
import { WatermarkError } from '../watermark/decide.js';
import { AppError } from '../problems/app-error.js';
import type { PlanInput, VerificationInput } from './schemas.js';

export const PLAN_DOMAIN = TAG.wmPlan;

/** SHA-256 over "assentmark/wm-plan/v1\n" and one `<digest>:<ownerLabel>:<numClasses>\n` line per sample. */
export function planDigest(samples: readonly PlanSample[]): string {
  const h = createHash('sha256').update(`${PLAN_DOMAIN}\n`, 'ascii');
  for (const s of samples) h.update(`${s.input_sha256}:${s.owner_label}:${s.num_classes}\n`, 'ascii');
  return h.digest('hex');
}

export class VerificationService {
  readonly #keys: WatermarkKeyRepository;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ledger: Ledger,
    private readonly kek: KeyEncryptionKey,
    private readonly threshold: bigint,
  ) {
    this.#keys = new WatermarkKeyRepository(db);
  }

  /** Commits the candidate samples (and the test's parameters) to the ledger before any suspect label exists. */
  async plan(input: PlanInput, principal: Principal): Promise<Record<string, unknown>> {
    const subjects = [...new Set(input.subjects)];
    await this.#requireKeys(subjects);
    if (input.subjects_screened !== undefined && input.subjects_screened < subjects.length) {
      throw new AppError('plan_mismatch', `subjects_screened (${input.subjects_screened}) cannot be less than the ${subjects.length} subjects in the plan`);
    }
    if (input.samples.some((s) => s.num_classes === 2)) {
      throw new AppError('two_class_unsupported', twoClassDetail());
    }
    const id = randomUUID();
    const now = new Date();
    const digest = planDigest(input.samples);
    const ev = prepareEvent('verification.planned', {
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
    }, { time: now });
    const [p] = await this.ledger.append({
      events: [ev],
      rows: ([pos]) => [{ table: 'verification_plans', values: { id, case_ref: input.case_ref, subjects: JSON.stringify(subjects), samples: JSON.stringify(input.samples), sample_count: input.samples.length, samples_digest: digest, created_at: now, ledger_seq: pos!.seq, event_id: pos!.eventId } }],
    });
    return { id, case_ref: input.case_ref, subjects, sample_count: input.samples.length, samples_digest: digest, alpha: input.alpha ?? DEFAULT_ALPHA, created_at: now.toISOString(), ledger: ledgerJson(p!) };
  }

  async getPlan(id: string): Promise<Record<string, unknown>> {
    const r = await this.db.selectFrom('verification_plans').select(['id', 'case_ref', 'subjects', 'sample_count', 'samples_digest', 'created_at', 'ledger_seq', 'event_id']).where('id', '=', id).executeTakeFirst();
    if (!r) throw new AppError('plan_not_found', `no verification plan with id ${id}`);
    return { id: r.id, case_ref: r.case_ref, subjects: r.subjects, sample_count: r.sample_count, samples_digest: r.samples_digest, created_at: new Date(r.created_at).toISOString(), ledger: { seq: Number(r.ledger_seq), event_id: r.event_id } };
  }

  async verify(input: VerificationInput, principal: Principal): Promise<Record<string, unknown>> {
    const { subjects, samples, alpha, screened, plan } = await this.#resolveInput(input);
    const keyRows = await this.#keys.unwrapped(this.kek, subjects, input.key_version);
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
    const short = results.filter((r) => r.result.decision === 'insufficient');
    if (short.length) {
      throw new AppError('insufficient_samples', short.map((r) => `subject ${r.subject}: ${r.result.n} marked sample(s), at least ${r.result.minMarkedSamplesNeeded} needed for alpha ${alpha} over ${screened} subject(s) screened`).join('; ') + '. Submit more samples (at the default rate about 1 in 200 queries is marked). Nothing was recorded.', {
        subjects: short.map((r) => ({ subject: r.subject, marked_samples: r.result.n, needed: r.result.minMarkedSamplesNeeded })),
      });
    }

    const screeningId = randomUUID();
    const now = new Date();
    const events: PreparedEvent[] = [];
    const ids: string[] = [];
    for (const r of results) {
      const id = randomUUID();
      ids.push(id);
      events.push(prepareEvent('verification.recorded', outcomeData(id, screeningId, input, r, plan, principal), { time: now }));
    }
    const rows = (pos: Position[]): WorkingRow[] =>
      results.map((r, i) => ({
        table: 'verifications' as const,
        values: {
          id: ids[i]!, screening_id: screeningId, case_ref: input.case_ref, subject: r.subject, plan_id: plan?.id ?? null,
          decision: r.result.decision, outcome: JSON.stringify(JSON.parse(events[i]!.canonical.toString('utf8')).data), key_version: r.key.version,
          created_at: now, ledger_seq: pos[i]!.seq, event_id: pos[i]!.eventId,
        },
      }));
    const positions = await this.ledger.append({ events, rows });
    return {
      screening_id: screeningId,
      case_ref: input.case_ref,
      preregistered: !!plan,
      results: results.map((r, i) => ({ id: ids[i], subject: r.subject, decision: r.result.decision, ...statJson(r.result), key: { version: r.key.version, commitment: r.key.commitment }, ledger: ledgerJson(positions[i]!) })),
    };
  }

  async get(id: string): Promise<Record<string, unknown>> {
    const r = await this.db.selectFrom('verifications').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new AppError('verification_not_found', `no verification with id ${id}`);
    return rowJson(r);
  }

  async listForSubject(subject: string): Promise<Array<Record<string, unknown>>> {
    const rows = await this.db.selectFrom('verifications').selectAll().where('subject', '=', subject).orderBy('ledger_seq').execute();
    return rows.map(rowJson);
  }

  async #requireKeys(subjects: string[]): Promise<void> {
    const have = await this.db.selectFrom('watermark_keys').select('subject').distinct().where('subject', 'in', subjects).execute();
    const set = new Set(have.map((h) => h.subject));
    const missing = subjects.filter((s) => !set.has(s));
    if (missing.length) throw new AppError('unknown_subjects', `${missing.length} subject(s) have no watermark key: ${missing.slice(0, 10).join(', ')}`, { subjects: missing.slice(0, 100) });
  }

  async #resolveInput(input: VerificationInput): Promise<{ subjects: string[]; samples: VerifySample[]; alpha: number; screened: number; plan: PlanRef | null }> {
    if (input.plan_id) {
      if (input.samples || input.subjects) throw new AppError('plan_mismatch', 'with plan_id, send suspect_labels only: the subjects and samples are the plan\'s');
      if (!input.suspect_labels) throw new AppError('plan_mismatch', 'with plan_id, send suspect_labels: one label per planned sample, in plan order');
      const p = await this.db.selectFrom('verification_plans').select(['id', 'case_ref', 'subjects', 'samples', 'samples_digest', 'ledger_seq', 'event_id']).where('id', '=', input.plan_id).executeTakeFirst();
      if (!p) throw new AppError('plan_not_found', `no verification plan with id ${input.plan_id}`);
      const planned = (typeof p.samples === 'string' ? JSON.parse(p.samples) : p.samples) as PlanSample[];
      if (input.suspect_labels.length !== planned.length) {
        throw new AppError('plan_mismatch', `the plan has ${planned.length} samples but ${input.suspect_labels.length} suspect labels were sent`);
      }
      const ev = await this.ledger.repo.entry(Number(p.ledger_seq));
      const planData = (JSON.parse(ev!.canonical.toString('utf8')) as { data: { alpha: number; subjects_screened: number; threshold: string } }).data;
      if (input.alpha !== undefined && input.alpha !== planData.alpha) throw new AppError('plan_mismatch', `the plan fixed alpha = ${planData.alpha}`);
      if (planData.threshold !== this.threshold.toString()) throw new AppError('plan_mismatch', 'the service\'s watermark rate changed since the plan was registered');
      const samples = planned.map((s, i) => {
        const y = input.suspect_labels![i]!;
        if (y >= s.num_classes) throw new AppError('invalid_item', `suspect_labels[${i}] = ${y} is out of range for num_classes ${s.num_classes}`);
        return { inputDigest: s.input_sha256, ownerLabel: s.owner_label, suspectLabel: y, numClasses: s.num_classes };
      });
      const subjects = (typeof p.subjects === 'string' ? JSON.parse(p.subjects) : p.subjects) as string[];
      const screened = Math.max(planData.subjects_screened, input.subjects_screened ?? 0);
      return { subjects, samples, alpha: planData.alpha, screened, plan: { id: p.id, eventId: p.event_id, seq: Number(p.ledger_seq), samplesDigest: p.samples_digest } };
    }
    if (input.suspect_labels) throw new AppError('plan_mismatch', 'suspect_labels go with a plan_id; without a plan send samples');
    if (!input.samples || !input.subjects) throw new AppError('invalid_item', 'send subjects and samples (or plan_id and suspect_labels for a pre-registered test)', { errors: [{ field: input.samples ? 'subjects' : 'samples', message: 'is required' }] });
    const subjects = [...new Set(input.subjects)];
    const screened = input.subjects_screened ?? subjects.length;
    if (screened < subjects.length) throw new AppError('invalid_item', `subjects_screened (${screened}) cannot be less than the ${subjects.length} subjects tested`, { errors: [{ field: 'subjects_screened', message: 'must be at least the number of subjects' }] });
    const outOfRange = (i: number, f: 'owner_label' | 'suspect_label', v: number, k: number): AppError =>
      new AppError('invalid_item', `samples[${i}].${f} = ${v} is out of range for num_classes ${k}`, { errors: [{ field: `samples.${i}.${f}`, message: 'must be less than num_classes' }] });
    const samples = input.samples.map((s, i) => {
      if (s.owner_label >= s.num_classes) throw outOfRange(i, 'owner_label', s.owner_label, s.num_classes);
      if (s.suspect_label >= s.num_classes) throw outOfRange(i, 'suspect_label', s.suspect_label, s.num_classes);
      return { inputDigest: s.input_sha256, ownerLabel: s.owner_label, suspectLabel: s.suspect_label, numClasses: s.num_classes };
    });
    return { subjects, samples, alpha: input.alpha ?? DEFAULT_ALPHA, screened, plan: null };
  }
}

interface PlanRef {
  id: string;
  eventId: string;
  seq: number;
  samplesDigest: string;
}

function twoClassDetail(): string {
  return 'k = 2 is refused: with two classes the watermark label is simply "the other label", so an independent model that disagrees with the owner matches it (p0 = 1) and the test has no power. Use samples from models with at least 3 classes.';
}

function outcomeData(id: string, screeningId: string, input: VerificationInput, r: { subject: string; result: VerifyResult; key: { version: number; keyId: string; commitment: string } }, plan: PlanRef | null, principal: Principal): Record<string, unknown> {
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
    statistic: statJson(r.result),
    samples_digest: r.result.samplesDigest,
    samples_digest_scheme: SCHEME.samplesDigest,
    decision: r.result.decision,
    requested_by: { api_key_id: principal.keyId, name: principal.name },
  };
}

function statJson(r: VerifyResult): Record<string, unknown> {
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

function ledgerJson(p: Position): Record<string, unknown> {
  return { seq: p.seq, event_id: p.eventId, leaf_hash: p.leafHash.toString('hex'), chain_hash: p.chainHash.toString('hex') };
}

function rowJson(r: { id: string; screening_id: string; case_ref: string; subject: string; plan_id: string | null; decision: string; outcome: Record<string, unknown> | string; key_version: number; created_at: Date; ledger_seq: string; event_id: string }): Record<string, unknown> {
  const outcome = typeof r.outcome === 'string' ? (JSON.parse(r.outcome) as Record<string, unknown>) : r.outcome;
  return { id: r.id, screening_id: r.screening_id, case_ref: r.case_ref, subject: r.subject, decision: r.decision, preregistered: r.plan_id !== null, plan_id: r.plan_id, key_version: r.key_version, created_at: new Date(r.created_at).toISOString(), outcome, ledger: { seq: Number(r.ledger_seq), event_id: r.event_id } };
}
