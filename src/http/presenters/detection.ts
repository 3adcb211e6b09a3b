// Responses of the verification routes.
import { z } from 'zod';
import type { PlanInfo } from '../../verification/plan-repository.js';
import type { VerificationRecord } from '../../verification/repository.js';
import { statisticOf, type RecordedPlan, type Screening } from '../../verification/service.js';
import { LedgerPosition, LedgerRef, positionJson, refJson } from './common.js';

export const PlanJson = z.object({
  id: z.string(),
  case_ref: z.string(),
  subjects: z.array(z.string()),
  sample_count: z.number().int(),
  samples_digest: z.string(),
  created_at: z.string(),
  ledger: LedgerRef,
});

/** A plan as just recorded: with its alpha and its ledger entry's hashes. */
export const RecordedPlanJson = PlanJson.omit({ created_at: true, ledger: true }).extend({ alpha: z.number(), created_at: z.string(), ledger: LedgerPosition });

export function recordedPlanJson(r: RecordedPlan): z.infer<typeof RecordedPlanJson> {
  const p = r.plan;
  return { id: p.id, case_ref: p.caseRef, subjects: p.subjects, sample_count: p.sampleCount, samples_digest: p.samplesDigest, alpha: r.alpha, created_at: p.createdAt.toISOString(), ledger: positionJson(r.position) };
}

export function planJson(p: PlanInfo): z.infer<typeof PlanJson> {
  return { id: p.id, case_ref: p.caseRef, subjects: p.subjects, sample_count: p.sampleCount, samples_digest: p.samplesDigest, created_at: p.createdAt.toISOString(), ledger: refJson(p) };
}

const Statistic = z.object({
  samples_submitted: z.number().int(),
  duplicates_dropped: z.number().int(),
  samples_unique: z.number().int(),
  n: z.number().int().describe('Marked samples'),
  m: z.number().int().describe('Marked samples the suspect answered with the watermark label'),
  match_rate: z.number(),
  num_classes: z.number().int().nullable(),
  p0: z.number().nullable(),
  groups: z.array(z.object({ num_classes: z.number().int(), p0: z.number(), n: z.number().int(), m: z.number().int() })),
  test: z.string(),
  threshold: z.string(),
  rate: z.number(),
  alpha: z.number(),
  subjects_screened: z.number().int(),
  p_value: z.number(),
  log10_p_value: z.number(),
  p_adjusted: z.number(),
  log10_p_adjusted: z.number(),
  min_marked_samples_needed: z.number().int(),
});

export const ScreeningJson = z.object({
  screening_id: z.string(),
  case_ref: z.string(),
  preregistered: z.boolean(),
  results: z.array(Statistic.extend({ id: z.string(), subject: z.string(), decision: z.enum(['detected', 'not_detected', 'insufficient']), key: z.object({ version: z.number().int(), commitment: z.string() }), ledger: LedgerPosition })),
});

export function screeningJson(s: Screening): z.infer<typeof ScreeningJson> {
  return {
    screening_id: s.screeningId,
    case_ref: s.caseRef,
    preregistered: s.preregistered,
    results: s.results.map((r) => ({
      id: r.id, subject: r.subject, decision: r.result.decision, ...(statisticOf(r.result) as z.infer<typeof Statistic>),
      key: { version: r.key.version, commitment: r.key.commitment }, ledger: positionJson(r.position),
    })),
  };
}

export const VerificationJson = z.object({
  id: z.string(),
  screening_id: z.string(),
  case_ref: z.string(),
  subject: z.string(),
  decision: z.enum(['detected', 'not_detected', 'insufficient']),
  preregistered: z.boolean(),
  plan_id: z.string().nullable(),
  key_version: z.number().int(),
  created_at: z.string(),
  outcome: z.record(z.string(), z.unknown()).describe('The recorded `verification.recorded` event data'),
  ledger: LedgerRef,
});
export const VerificationListJson = z.object({ subject: z.string(), verifications: z.array(VerificationJson) });

export function verificationJson(r: VerificationRecord): z.infer<typeof VerificationJson> {
  return {
    id: r.id, screening_id: r.screeningId, case_ref: r.caseRef, subject: r.subject, decision: r.decision, preregistered: r.planId !== null, plan_id: r.planId,
    key_version: r.keyVersion, created_at: r.createdAt.toISOString(), outcome: r.outcome, ledger: refJson(r),
  };
}
