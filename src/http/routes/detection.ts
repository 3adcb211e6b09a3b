import { z } from 'zod';
import type { DecisionService } from '../../gateway/decisions.js';
import { DecideBody, parseDecideBody } from '../../gateway/schemas.js';
import type { VerificationService } from '../../verification/service.js';
import { parsePlanBody, parseVerificationBody, PlanBody, VerificationBody } from '../../verification/schemas.js';
import { Subject, Uuid } from '../../validation/fields.js';
import { DecideJson, decideResponseJson } from '../presenters/gateway.js';
import { PlanJson, planJson, RecordedPlanJson, recordedPlanJson, ScreeningJson, screeningJson, VerificationJson, verificationJson, VerificationListJson } from '../presenters/detection.js';
import type { IdempotencyService } from '../../idempotency/service.js';
import { idempotentAnswer } from '../idempotent.js';
import { defineRoute, type AnyRoute } from '../route.js';

export function detectionRoutes(decisions: DecisionService, verifications: VerificationService, idem: IdempotencyService): AnyRoute[] {
  return [
    defineRoute({
      method: 'post', path: '/v1/watermark/decide', tag: 'Detection', access: ['gateway'], body: DecideBody, parseBody: parseDecideBody,
      summary: 'Watermark decisions for a batch of answers (the gateway\'s hot path)',
      description: 'For each item: whether the answer is watermarked for this subject and which label to serve (docs/watermark-spec.md). With `probs`, a watermarked answer swaps the probabilities of the true and the watermark label. Subjects without a key or without a standing acceptance get a per-item status and their true label.',
      responses: { 200: { description: 'One result per item, in order', schema: DecideJson } },
      // Serialised from templates (same bytes as JSON.stringify): the hot path's response.
      handler: async ({ body }) => ({ raw: { contentType: 'application/json; charset=utf-8', data: Buffer.from(decideResponseJson(await decisions.decide(body.items, body.slug)), 'utf8') } }),
    }),
    defineRoute({
      method: 'post', path: '/v1/verification-plans', tag: 'Detection', access: ['investigator'], body: PlanBody, parseBody: parsePlanBody, largeBody: true, idempotent: 'optional',
      summary: 'Pre-register a verification: commit the candidate samples before any suspect label is known',
      description: 'With an Idempotency-Key header, a retry with the same key and body (also many at once) records nothing more and answers with the plan first recorded (`Idempotent-Replayed: true`).',
      responses: { 201: { description: 'Plan recorded (a `verification.planned` ledger event), or the one this Idempotency-Key recorded', schema: RecordedPlanJson }, 422: { description: 'Unknown subjects or k = 2, or the Idempotency-Key was used with another body' } },
      handler: async ({ body, principal, idempotencyKey }) => idempotentAnswer(idem, {
        kind: 'verification.plan', principal: principal!, idempotencyKey, request: body,
        write: (keyRow) => verifications.plan(body, principal!, keyRow), id: (r) => r.plan.id, body: recordedPlanJson,
      }),
    }),
    defineRoute({
      method: 'get', path: '/v1/verification-plans/:id', tag: 'Detection', access: ['investigator'], params: z.strictObject({ id: Uuid }),
      summary: 'A verification plan',
      responses: { 200: { description: 'The plan', schema: PlanJson }, 404: { description: 'Unknown id' } },
      handler: async ({ params }) => ({ body: planJson(await verifications.getPlan(params.id)) }),
    }),
    defineRoute({
      method: 'post', path: '/v1/verifications', tag: 'Detection', access: ['investigator'], body: VerificationBody, parseBody: parseVerificationBody, largeBody: true, idempotent: 'optional',
      summary: 'Test a suspect model against subjects\' watermarks and record the outcome',
      description: 'Either `subjects` + `samples`, or `plan_id` + `suspect_labels` (pre-registered). Per subject: marked samples n, matches m, exact p = P[Binomial(n, 1/(k-1)) >= m], Bonferroni-corrected for subjects screened, decided at alpha (default 1e-9). Each outcome is a `verification.recorded` ledger event. k = 2 is refused. With an Idempotency-Key header, a retry with the same key and body (also many at once) records nothing more and answers with the first outcomes (`Idempotent-Replayed: true`).',
      responses: { 201: { description: 'Outcomes recorded, or those this Idempotency-Key recorded', schema: ScreeningJson }, 422: { description: 'Unknown subjects, k = 2, a mismatch with the plan, or the Idempotency-Key was used with another body' } },
      handler: async ({ body, principal, idempotencyKey }) => idempotentAnswer(idem, {
        kind: 'verification.verify', principal: principal!, idempotencyKey, request: body,
        write: (keyRow) => verifications.verify(body, principal!, keyRow), id: (r) => r.screeningId, body: screeningJson,
      }),
    }),
    defineRoute({
      method: 'get', path: '/v1/verifications/:id', tag: 'Detection', access: ['investigator'], params: z.strictObject({ id: Uuid }),
      summary: 'A recorded verification outcome',
      responses: { 200: { description: 'The outcome', schema: VerificationJson }, 404: { description: 'Unknown id' } },
      handler: async ({ params }) => ({ body: verificationJson(await verifications.get(params.id)) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/subjects/:subject/verifications', tag: 'Detection', access: ['investigator'], params: z.strictObject({ subject: Subject }),
      summary: 'Every verification outcome recorded for a subject',
      responses: { 200: { description: 'Outcomes in ledger order', schema: VerificationListJson } },
      handler: async ({ params }) => ({ body: { subject: params.subject, verifications: (await verifications.listForSubject(params.subject)).map(verificationJson) } }),
    }),
  ];
}
