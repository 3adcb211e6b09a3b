import { z } from 'zod';
import { GlobalKeyBody, KeysBody, LlmPlanBody, LlmVerificationBody, ParameterSetBody, UsageBody } from '../../llm-watermark/schemas.js';
import { KEY_TTL_SECONDS, type LlmWatermarkService, type UsageReport } from '../../llm-watermark/service.js';
import { Uuid } from '../../validation/fields.js';
import { AppError } from '../../problems/app-error.js';
import type { IdempotencyService } from '../../idempotency/service.js';
import { idempotentAnswer } from '../idempotent.js';
import { GlobalKeyJson, globalKeyJson, UsageJson, usageJson, KeysJson, keysJson, LlmPlanJson, llmPlanJson, LlmScreeningJson, llmScreeningJson, LlmVerificationJson, llmVerificationJson, ParameterSetJson, parameterSetJson } from '../presenters/llm-watermark.js';
import { defineRoute, type AnyRoute } from '../route.js';

export function llmWatermarkRoutes(llm: LlmWatermarkService, idem: IdempotencyService): AnyRoute[] {
  const tag = 'Text watermark';
  return [
    defineRoute({
      method: 'post', path: '/v1/llm-watermark/parameter-sets', tag, access: ['admin'], body: ParameterSetBody,
      summary: 'Register an immutable text-watermark parameter set',
      description: 'The id is the SHA-256 of the canonical set (docs/llm-watermark-spec.md §2); registering appends an `llm_watermark.parameter_set_registered` event. Registering the same set again returns it (200).',
      responses: { 201: { description: 'Registered', schema: ParameterSetJson }, 200: { description: 'Already registered', schema: ParameterSetJson } },
      handler: async ({ body, principal }) => {
        const { set, created } = await llm.register(body, principal!);
        return { status: created ? 201 : 200, body: parameterSetJson(set), headers: { Location: `/v1/llm-watermark/parameter-sets/${set.id}` } };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/llm-watermark/parameter-sets/:id', tag, access: ['admin', 'gateway', 'investigator'], params: z.strictObject({ id: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits') }),
      summary: 'A registered parameter set',
      responses: { 200: { description: 'The set', schema: ParameterSetJson }, 404: { description: 'Not registered' } },
      handler: async ({ params }) => ({ body: parameterSetJson(await llm.parameterSet(params.id)) }),
    }),
    defineRoute({
      method: 'post', path: '/v1/llm-watermark/keys', tag, access: ['gateway'], body: KeysBody,
      summary: 'Per-subject text-watermark keys for the gateway',
      description: 'For each subject with a standing acceptance: its PRF key for the parameter set, derived by HKDF from its watermark key (docs/llm-watermark-spec.md §6). Others get the decide endpoint\'s statuses (`no_key`, `no_acceptance`) and no key. Cache for `ttl_seconds` at most.',
      responses: { 200: { description: 'One result per subject, in order', schema: KeysJson }, 404: { description: 'Unknown parameter set' } },
      handler: async ({ body }) => {
        const r = await llm.keys(body);
        return { body: keysJson(r.parameterSetId, KEY_TTL_SECONDS, r.results, r.global), headers: { 'Cache-Control': `private, max-age=${KEY_TTL_SECONDS}` } };
      },
    }),
    defineRoute({
      method: 'post', path: '/v1/llm-watermark/global-key', tag, access: ['admin'], body: GlobalKeyBody,
      summary: 'Create (or replace) the optional global text-watermark key',
      description: 'One key for every account beside the per-subject keys (docs/llm-watermark-spec.md §6.1): 32 random bytes, stored only wrapped, committed by an `llm_watermark.global_key_created` event. The response carries its commitment, never the key; the gateway receives its derived PRF key from `POST /v1/llm-watermark/keys`. Older versions stay for detection.',
      responses: { 201: { description: 'Created', schema: GlobalKeyJson }, 409: { description: 'Another request changed the global key first' } },
      handler: async ({ body, principal }) => {
        const k = await llm.createGlobalKey(body.reason, principal!, body.from_version);
        return { status: 201, body: globalKeyJson(k) };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/llm-watermark/global-key', tag, access: ['admin', 'investigator'],
      summary: 'The current global text-watermark key\'s version and commitment',
      responses: { 200: { description: 'The current version', schema: GlobalKeyJson }, 409: { description: 'No global key exists' } },
      handler: async () => {
        const k = await llm.currentGlobalKey();
        if (!k) throw new AppError('no_global_key', 'no global text-watermark key exists; create one with POST /v1/llm-watermark/global-key (admin)');
        return { body: globalKeyJson(k) };
      },
    }),
    defineRoute({
      method: 'post', path: '/v1/llm-watermark/usage', tag, access: ['gateway'], body: UsageBody, idempotent: true,
      summary: 'Report marked tokens served per subject over a period (a daily roll-up)',
      description: 'One `llm_watermark.usage_reported` event per subject: evidence that the account received text marked under the parameter set, with the key version in effect. Requires an Idempotency-Key header: a retry with the same key and body (also many at once) records nothing more and answers with the first report (`Idempotent-Replayed: true`). Each subject\'s usage of a parameter set for one period (the exact start and end) is reported once: a second report of it, under another key, is refused with 409 `usage_already_reported` and nothing of it is recorded.',
      responses: { 201: { description: 'Recorded, or the report this Idempotency-Key recorded', schema: UsageJson }, 404: { description: 'Unknown parameter set' }, 409: { description: 'A subject\'s usage for this parameter set and period was already reported (`usage_already_reported`, the subjects named)' }, 422: { description: 'Subjects without a watermark key, or the Idempotency-Key was used with another body' } },
      handler: async ({ body, principal, idempotencyKey }) => idempotentAnswer(idem, {
        kind: 'llm_watermark.usage', principal: principal!, idempotencyKey, request: body,
        write: (keyRow) => llm.reportUsage(body, principal!, keyRow), id: (r: UsageReport) => r.reportId, body: (r: UsageReport) => usageJson(r.recorded),
      }),
    }),
    defineRoute({
      method: 'post', path: '/v1/llm-verification-plans', tag, access: ['investigator'], body: LlmPlanBody, largeBody: true, idempotent: 'optional',
      summary: 'Pre-register a text-watermark verification: commit the prompts before the suspect\'s outputs exist',
      description: 'With an Idempotency-Key header, a retry with the same key and body (also many at once) records nothing more and answers with the plan first recorded (`Idempotent-Replayed: true`).',
      responses: { 201: { description: 'Plan recorded (an `llm_verification.planned` event), or the one this Idempotency-Key recorded', schema: LlmPlanJson }, 404: { description: 'Unknown parameter set' }, 422: { description: 'Unknown subjects, or the Idempotency-Key was used with another body' } },
      handler: async ({ body, principal, idempotencyKey }) => idempotentAnswer(idem, {
        kind: 'llm_verification.plan', principal: principal!, idempotencyKey, request: body,
        write: (keyRow) => llm.plan(body, principal!, keyRow), id: (r) => r.id, body: llmPlanJson,
      }),
    }),
    defineRoute({
      method: 'get', path: '/v1/llm-verification-plans/:id', tag, access: ['investigator'], params: z.strictObject({ id: Uuid }),
      summary: 'A text-watermark verification plan',
      responses: { 200: { description: 'The plan', schema: LlmPlanJson }, 404: { description: 'Unknown id' } },
      handler: async ({ params }) => ({ body: llmPlanJson(await llm.getPlan(params.id)) }),
    }),
    defineRoute({
      method: 'post', path: '/v1/llm-verifications', tag, access: ['investigator'], body: LlmVerificationBody, largeBody: true, idempotent: 'optional',
      summary: 'Test a suspect language model\'s outputs for subjects\' text watermarks and record the outcome',
      description: 'Either `parameter_set_id` + `subjects` + `prompts` + `outputs`, or `plan_id` + `outputs`. Per subject: distinct (window, token) tuples without prompt windows n, green g, exact p = P[Binomial(n, p0) >= g], Bonferroni-corrected, decided at alpha (default 1e-9); too few tuples is recorded as `insufficient` with the count needed. Each outcome is an `llm_verification.recorded` event (docs/llm-watermark-spec.md §8). With an Idempotency-Key header, a retry with the same key and body (also many at once) records nothing more and answers with the first outcomes (`Idempotent-Replayed: true`).',
      responses: { 201: { description: 'Outcomes recorded, or those this Idempotency-Key recorded', schema: LlmScreeningJson }, 404: { description: 'Unknown parameter set or plan' }, 422: { description: 'Unknown subjects, a mismatch with the plan, or the Idempotency-Key was used with another body' } },
      handler: async ({ body, principal, idempotencyKey }) => idempotentAnswer(idem, {
        kind: 'llm_verification.verify', principal: principal!, idempotencyKey, request: body,
        write: (keyRow) => llm.verify(body, principal!, keyRow), id: (r) => r.screeningId, body: llmScreeningJson,
      }),
    }),
    defineRoute({
      method: 'get', path: '/v1/llm-verifications/:id', tag, access: ['investigator'], params: z.strictObject({ id: Uuid }),
      summary: 'A recorded text-watermark verification outcome',
      responses: { 200: { description: 'The outcome', schema: LlmVerificationJson }, 404: { description: 'Unknown id' } },
      handler: async ({ params }) => ({ body: llmVerificationJson(await llm.get(params.id)) }),
    }),
  ];
}
