// Erasure and legal holds (docs/personal-data.md).
import { z } from 'zod';
import type { IdempotencyService } from '../../idempotency/service.js';
import type { ErasureService } from '../../erasure/service.js';
import type { HoldService } from '../../erasure/hold-service.js';
import { EraseBody, HoldBody, ReleaseBody } from '../../erasure/schemas.js';
import { Subject, Uuid } from '../../validation/fields.js';
import { idempotentAnswer } from '../idempotent.js';
import { ErasureJson, erasureJson, LegalHoldJson, legalHoldJson, LegalHoldListJson } from '../presenters/privacy.js';
import { defineRoute, type AnyRoute } from '../route.js';

export function privacyRoutes(erasure: ErasureService, holds: HoldService, idem: IdempotencyService): AnyRoute[] {
  const SubjectParam = z.strictObject({ subject: Subject });
  return [
    defineRoute({
      method: 'post', path: '/v1/subjects/:subject/erasure', tag: 'Personal data', access: ['admin'], params: SubjectParam, body: EraseBody, idempotent: 'optional',
      summary: 'Erase a subject\'s personal data',
      description: 'Clears the openings of every committed personal fact of the subject (the commitments stay in the ledger, so every hash, proof and receipt still verifies), scrubs every working row that names it, destroys its wrapped watermark keys, and appends one `erasure.performed` event naming what was erased by commitment, all in one transaction. Events written before personal data left the log hold the subject\'s facts in clear and cannot be changed: the answer lists them (`clear_events`). Refused while the subject is on legal hold. `request_ref` is recorded in clear: a ticket id, never a name. With an Idempotency-Key header a retry answers with the first erasure.',
      responses: {
        201: { description: 'Erased: the signed receipt of the erasure.performed entry and a summary', schema: ErasureJson },
        404: { description: 'Nothing left to erase (`nothing_to_erase`)' },
        409: { description: 'The subject is on legal hold (`subject_on_legal_hold`, naming the holds)' },
      },
      handler: async ({ params, body, principal, idempotencyKey }) => idempotentAnswer(idem, {
        kind: 'subject.erase', principal: principal!, idempotencyKey, request: { subject: params.subject, ...body },
        write: (keyRow) => erasure.erase(params.subject, body, principal!, keyRow), id: (r) => r.erasureId, body: erasureJson,
      }),
    }),
    defineRoute({
      method: 'post', path: '/v1/subjects/:subject/legal-holds', tag: 'Personal data', access: ['admin', 'investigator'], params: SubjectParam, body: HoldBody, idempotent: 'optional',
      summary: 'Place a legal hold on a subject',
      description: 'Appends `legal_hold.placed` (the reason committed, its text kept erasable). While the hold is open the subject\'s personal data cannot be erased, by request or by retention. `case_ref` is recorded in clear: a case number, never a name. With an Idempotency-Key header a retry answers with the first hold instead of placing another.',
      responses: { 201: { description: 'Placed', schema: LegalHoldJson }, 409: { description: 'An open hold for this case and subject exists (`legal_hold_exists`), or an erasure, hold or release of the subject committed meanwhile (`subject_state_changed`)' } },
      handler: async ({ params, body, principal, idempotencyKey }) => idempotentAnswer(idem, {
        kind: 'legal_hold.place', principal: principal!, idempotencyKey, request: { subject: params.subject, ...body },
        write: (keyRow) => holds.place(params.subject, body, principal!, keyRow), id: (h) => h.id, body: legalHoldJson,
      }),
    }),
    defineRoute({
      method: 'get', path: '/v1/subjects/:subject/legal-holds', tag: 'Personal data', access: ['admin', 'investigator'], params: SubjectParam,
      summary: 'A subject\'s legal holds, open and released',
      responses: { 200: { description: 'Holds in ledger order', schema: LegalHoldListJson } },
      handler: async ({ params }) => {
        const { pseudonym, holds: list } = await holds.list(params.subject);
        return { body: { subject_pseudonym: pseudonym, holds: list.map(legalHoldJson) } };
      },
    }),
    defineRoute({
      method: 'post', path: '/v1/legal-holds/:id/release', tag: 'Personal data', access: ['admin', 'investigator'], params: z.strictObject({ id: Uuid }), body: ReleaseBody, idempotent: 'optional',
      summary: 'Release a legal hold',
      description: 'Appends `legal_hold.released` (the reason committed). A hold is released once; with an Idempotency-Key header a retry answers with the first release instead of 409.',
      responses: { 200: { description: 'Released', schema: LegalHoldJson }, 404: { description: 'Unknown hold (`legal_hold_not_found`)' }, 409: { description: 'Already released (`legal_hold_released`)' } },
      handler: async ({ params, body, principal, idempotencyKey }) => idempotentAnswer(idem, {
        kind: 'legal_hold.release', principal: principal!, idempotencyKey, request: { id: params.id, ...body }, status: 200,
        write: (keyRow) => holds.release(params.id, body, principal!, keyRow), id: (h) => h.id, body: legalHoldJson,
      }),
    }),
  ];
}
