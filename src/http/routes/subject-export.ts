// GET /v1/subjects/:subject/export: subject access (GDPR Art. 15), admin only.
import { z } from 'zod';
import type { SubjectAccessService } from '../../subject-access/service.js';
import { Subject } from '../../validation/fields.js';
import { SubjectExportJson, subjectExportJson } from '../presenters/subject-export.js';
import { defineRoute, type AnyRoute } from '../route.js';

export function subjectExportRoutes(access: SubjectAccessService): AnyRoute[] {
  return [
    defineRoute({
      method: 'get', path: '/v1/subjects/:subject/export', tag: 'Subjects', access: ['admin'], params: z.strictObject({ subject: Subject }),
      summary: 'Subject access export (GDPR Art. 15): everything held about one subject, with the proofs',
      description: 'Every ledger event about the subject (found by its pseudonym, and for events written before personal data left the log through the working records), each as its exact canonical bytes with its leaf hash and its RFC 9162 inclusion proof in the latest signed checkpoint (given once, as its signed note), its personal facts opened with their salts, or, once erased, when and by which erasure; and the working records (acceptances, watermark key versions and commitments (never a key), verification plans and outcomes, dossier metadata, acceptance sessions, usage reports, legal holds, erasures). Bounded: at most 10 000 events (`subject_export_too_large`). `assentmark subject export` writes the same JSON. docs/personal-data.md, "Subject access".',
      responses: { 200: { description: 'The export', schema: SubjectExportJson }, 404: { description: 'Nothing is recorded about the subject (`subject_not_found`)' }, 422: { description: 'More events than one export holds (`subject_export_too_large`)' } },
      handler: async ({ params }) => ({ headers: { 'Cache-Control': 'no-store' }, body: subjectExportJson(await access.export(params.subject)) }),
    }),
  ];
}
