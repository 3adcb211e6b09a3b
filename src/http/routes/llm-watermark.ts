import { z } from 'zod';
import { GlobalKeyBody, KeysBody, LlmPlanBody, LlmVerificationBody, ParameterSetBody, UsageBody } from '../../llm-watermark/schemas.js';
import { KEY_TTL_SECONDS, type LlmWatermarkService } from '../../llm-watermark/service.js';
import { Uuid } from '../../validation/fields.js';
import { AppError } from '../../problems/app-error.js';
import { GlobalKeyJson, globalKeyJson, UsageJson, usageJson, KeysJson, keysJson, LlmPlanJson, llmPlanJson, LlmScreeningJson, llmScreeningJson, LlmVerificationJson, llmVerificationJson, ParameterSetJson, parameterSetJson } from '../presenters/llm-watermark.js';
import { defineRoute, type AnyRoute } from '../route.js';

export function llmWatermarkRoutes(llm: LlmWatermarkService): AnyRoute[] {
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
      method: 'post', path: '/v1/llm-watermark/usage', tag, access: ['gateway'], body: UsageBody,
      summary: 'Report marked tokens served per subject over a period (a daily roll-up)',
      description: 'One `llm_watermark.usage_reported` event per subject: evidence that the account received text marked under the parameter set, with the key version in effect. Report each period once: the ledger keeps every report.',
      responses: { 201: { description: 'Recorded', schema: UsageJson }, 404: { description: 'Unknown parameter set' }, 422: { description: 'Subjects without a watermark key' } },
      handler: async ({ body, principal }) => ({ status: 201, body: usageJson(await llm.reportUsage(body, principal!)) }),
    }),
    defineRoute({
      method: 'post', path: '/v1/llm-verification-plans', tag, access: ['investigator'], body: LlmPlanBody, largeBody: true,
      summary: 'Pre-register a text-watermark verification: commit the prompts before the suspect\'s outputs exist',
      responses: { 201: { description: 'Plan recorded (an `llm_verification.planned` event)', schema: LlmPlanJson }, 404: { description: 'Unknown parameter set' }, 422: { description: 'Unknown subjects' } },
      handler: async ({ body, principal }) => ({ status: 201, body: llmPlanJson(await llm.plan(body, principal!)) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/llm-verification-plans/:id', tag, access: ['investigator'], params: z.strictObject({ id: Uuid }),
      summary: 'A text-watermark verification plan',
      responses: { 200: { description: 'The plan', schema: LlmPlanJson }, 404: { description: 'Unknown id' } },
      handler: async ({ params }) => ({ body: llmPlanJson(await llm.getPlan(params.id)) }),
    }),
    defineRoute({
      method: 'post', path: '/v1/llm-verifications', tag, access: ['investigator'], body: LlmVerificationBody, largeBody: true,
      summary: 'Test a suspect language model\'s outputs for subjects\' text watermarks and record the outcome',
      description: 'Either `parameter_set_id` + `subjects` + `prompts` + `outputs`, or `plan_id` + `outputs`. Per subject: distinct (window, token) tuples without prompt windows n, green g, exact p = P[Binomial(n, p0) >= g], Bonferroni-corrected, decided at alpha (default 1e-9); too few tuples is recorded as `insufficient` with the count needed. Each outcome is an `llm_verification.recorded` event (docs/llm-watermark-spec.md §8).',
      responses: { 201: { description: 'Outcomes recorded', schema: LlmScreeningJson }, 404: { description: 'Unknown parameter set or plan' }, 422: { description: 'Unknown subjects or a mismatch with the plan' } },
      handler: async ({ body, principal }) => ({ status: 201, body: llmScreeningJson(await llm.verify(body, principal!)) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/llm-verifications/:id', tag, access: ['investigator'], params: z.strictObject({ id: Uuid }),
      summary: 'A recorded text-watermark verification outcome',
      responses: { 200: { description: 'The outcome', schema: LlmVerificationJson }, 404: { description: 'Unknown id' } },
      handler: async ({ params }) => ({ body: llmVerificationJson(await llm.get(params.id)) }),
    }),
  ];
}
