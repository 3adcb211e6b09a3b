// Responses of the text-watermark routes (docs/llm-watermark-spec.md).
import { z } from 'zod';
import type { RegisteredParameterSet } from '../../llm-watermark/parameter-set-repository.js';
import type { LlmPlan } from '../../llm-watermark/plan-repository.js';
import type { GlobalKeyInfo } from '../../llm-watermark/global-key-repository.js';
import type { GatewayGlobalKey, GatewayKey, LlmScreening } from '../../llm-watermark/service.js';
import type { LlmVerificationRecord } from '../../llm-watermark/verification-repository.js';
import { LedgerPosition, LedgerRef, positionJson, refJson } from './common.js';

export const ParameterSetJson = z.object({
  id: z.string().describe('SHA-256 of the canonical parameter set (docs/llm-watermark-spec.md §2)'),
  params: z.object({
    scheme: z.string(), algorithm: z.string(), prf: z.string(), window: z.number().int(), gamma: z.number(), delta: z.number(),
    green_threshold: z.number().int(), tokenizer: z.object({ name: z.string(), revision: z.string() }), vocab_size: z.number().int(),
  }),
  created_at: z.string(),
  ledger: LedgerRef,
});

export function parameterSetJson(s: RegisteredParameterSet): z.infer<typeof ParameterSetJson> {
  return { id: s.id, params: s.params, created_at: s.createdAt.toISOString(), ledger: refJson(s) };
}

export const KeysJson = z.object({
  parameter_set_id: z.string(),
  ttl_seconds: z.number().int().describe('Use the keys for at most this long, then fetch again'),
  results: z.array(z.object({
    subject: z.string(),
    status: z.enum(['ok', 'no_key', 'no_acceptance']),
    key_hex: z.string().optional().describe('The 8-byte PRF key (little-endian words k0, k1)'),
    key_integer: z.string().optional().describe('The same key as vLLM\'s integer key, in decimal'),
    key_version: z.number().int().optional(),
    detail: z.string().optional(),
  })),
  global: z.object({ key_hex: z.string(), key_integer: z.string(), key_version: z.number().int() }).nullable()
    .describe('The global layer\'s PRF key for the parameter set (docs/llm-watermark-spec.md §6.1), applied beside each `ok` subject\'s key; null while no global key exists'),
});

export function keysJson(parameterSetId: string, ttl: number, results: GatewayKey[], global: GatewayGlobalKey | null): z.infer<typeof KeysJson> {
  return { parameter_set_id: parameterSetId, ttl_seconds: ttl, results, global };
}

export const GlobalKeyJson = z.object({
  key_version: z.number().int(), key_id: z.string(), commitment: z.string().describe('SHA-256("assentmark/wm-commit/v1" || 0x00 || key_id || 0x00 || key)'),
  reason: z.string(), created_at: z.string(), ledger: LedgerRef,
}).describe('The global key\'s commitment; the key itself is never returned here');

export function globalKeyJson(k: GlobalKeyInfo): z.infer<typeof GlobalKeyJson> {
  return { key_version: k.version, key_id: k.keyId, commitment: k.commitment, reason: k.reason, created_at: k.createdAt.toISOString(), ledger: refJson(k) };
}

export const UsageJson = z.object({
  recorded: z.array(z.object({ subject: z.string(), key_version: z.number().int(), ledger: LedgerPosition })),
});

export function usageJson(r: Array<{ subject: string; keyVersion: number; position: Parameters<typeof positionJson>[0] }>): z.infer<typeof UsageJson> {
  return { recorded: r.map((x) => ({ subject: x.subject, key_version: x.keyVersion, ledger: positionJson(x.position) })) };
}

export const LlmPlanJson = z.object({
  id: z.string(), case_ref: z.string(), parameter_set_id: z.string(), subjects: z.array(z.string()), prompt_count: z.number().int(),
  prompts_sha256: z.string(), alpha: z.number(), subjects_screened: z.number().int(), global_key: z.boolean(), created_at: z.string(), ledger: LedgerRef,
});

export function llmPlanJson(p: LlmPlan): z.infer<typeof LlmPlanJson> {
  return {
    id: p.id, case_ref: p.caseRef, parameter_set_id: p.parameterSetId, subjects: p.subjects, prompt_count: p.prompts.length, prompts_sha256: p.promptsSha256,
    alpha: p.alpha, subjects_screened: p.subjectsScreened, global_key: p.globalKey, created_at: p.createdAt.toISOString(), ledger: refJson(p),
  };
}

const Outcome = z.object({
  id: z.string(),
  subject: z.string().nullable().describe('Null for the global key'),
  layer: z.enum(['subject', 'global']),
  key_version: z.number().int(),
  decision: z.enum(['detected', 'not_detected', 'insufficient']),
  n: z.number().int().describe('Distinct (window, token) tuples scored'),
  green: z.number().int(),
  green_rate: z.number(),
  p0: z.number(),
  p_value: z.number(),
  log10_p_value: z.number(),
  p_adjusted: z.number(),
  log10_p_adjusted: z.number(),
  min_tuples_needed: z.number().int(),
  ledger: LedgerPosition,
});

export const LlmScreeningJson = z.object({
  screening_id: z.string(),
  case_ref: z.string(),
  parameter_set_id: z.string(),
  preregistered: z.boolean(),
  tuples: z.object({ positions: z.number().int(), prompt_windows_dropped: z.number().int(), duplicates_dropped: z.number().int(), n: z.number().int() }),
  results: z.array(Outcome),
});

export function llmScreeningJson(s: LlmScreening): z.infer<typeof LlmScreeningJson> {
  return {
    screening_id: s.screeningId, case_ref: s.caseRef, parameter_set_id: s.parameterSetId, preregistered: s.preregistered,
    tuples: { positions: s.counts.positions, prompt_windows_dropped: s.counts.promptWindowDropped, duplicates_dropped: s.counts.duplicatesDropped, n: s.counts.n },
    results: s.results.map((r) => ({
      id: r.id, subject: r.subject, layer: r.layer, key_version: r.key.version, decision: r.result.decision, n: r.result.n, green: r.result.green, green_rate: r.result.greenRate, p0: r.result.p0,
      p_value: r.result.p, log10_p_value: r.result.log10P, p_adjusted: r.result.pAdjusted, log10_p_adjusted: r.result.log10PAdjusted, min_tuples_needed: r.result.minTuplesNeeded,
      ledger: positionJson(r.position),
    })),
  };
}

export const LlmVerificationJson = z.object({
  id: z.string(), screening_id: z.string(), case_ref: z.string(), subject: z.string().nullable(), layer: z.enum(['subject', 'global']), parameter_set_id: z.string(), plan_id: z.string().nullable(),
  decision: z.enum(['detected', 'not_detected', 'insufficient']), key_version: z.number().int(), created_at: z.string(),
  outcome: z.record(z.string(), z.unknown()).describe('The recorded `llm_verification.recorded` event data'),
  ledger: LedgerRef,
});

export function llmVerificationJson(v: LlmVerificationRecord): z.infer<typeof LlmVerificationJson> {
  return {
    id: v.id, screening_id: v.screeningId, case_ref: v.caseRef, subject: v.subject, layer: v.layer, parameter_set_id: v.parameterSetId, plan_id: v.planId,
    decision: v.decision, key_version: v.keyVersion, created_at: v.createdAt.toISOString(), outcome: v.outcome, ledger: refJson(v),
  };
}
