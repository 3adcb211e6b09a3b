import { z } from 'zod';
import { IssueBody } from '../../dossier/schemas.js';
import type { DossierService } from '../../dossier/service.js';
import { Subject, Uuid } from '../../validation/fields.js';
import { DossierJson, dossierJson, DossierListJson, IssuedDossierJson, issuedDossierJson } from '../presenters/dossiers.js';
import type { IdempotencyService } from '../../idempotency/service.js';
import { idempotentAnswer } from '../idempotent.js';
import { defineRoute, type AnyRoute } from '../route.js';

export function dossierRoutes(dossiers: DossierService, idem: IdempotencyService): AnyRoute[] {
  const Id = z.strictObject({ id: Uuid });
  return [
    defineRoute({
      method: 'post', path: '/v1/dossiers', tag: 'Dossiers', access: ['investigator'], body: IssueBody, idempotent: 'optional',
      summary: 'Issue a signed PDF evidence dossier for a subject',
      description: 'Gathers the subject\'s evidence, renders and signs the PDF (CMS signature over the whole file, Ed25519-signed evidence bundle inside, detached Ed25519 signature beside it), stores it and appends a `dossier.issued` event with its SHA-256. With an Idempotency-Key header, a retry with the same key and body (also many at once) issues nothing more and answers with the dossier first issued (`Idempotent-Replayed: true`).',
      responses: { 201: { description: 'Issued, or the dossier this Idempotency-Key issued', schema: IssuedDossierJson }, 422: { description: 'No evidence for the subject, a verification of another subject, or the Idempotency-Key was used with another body' } },
      handler: async ({ body, principal, idempotencyKey }) => idempotentAnswer(idem, {
        kind: 'dossier.issue', principal: principal!, idempotencyKey, request: body,
        write: (keyRow) => dossiers.issue(body, principal!, keyRow), id: (r) => r.dossier.id, body: issuedDossierJson,
        headers: (b: { id: string }) => ({ Location: `/v1/dossiers/${b.id}` }),
      }),
    }),
    defineRoute({
      method: 'get', path: '/v1/dossiers/:id', tag: 'Dossiers', access: ['investigator', 'counsel'], params: Id,
      summary: 'Dossier metadata and hashes',
      responses: { 200: { description: 'Metadata', schema: DossierJson }, 404: { description: 'Unknown id' } },
      handler: async ({ params }) => ({ body: dossierJson(await dossiers.get(params.id), dossiers.signingKeyId) }),
    }),
    defineRoute({
      method: 'get', path: '/v1/dossiers/:id/pdf', tag: 'Dossiers', access: ['investigator', 'counsel'], params: Id,
      summary: 'Download the signed PDF',
      responses: { 200: { description: 'The PDF', contentType: 'application/pdf' }, 404: { description: 'Unknown id' } },
      handler: async ({ params }) => {
        const d = await dossiers.pdf(params.id);
        return { headers: { 'X-Content-SHA256': d.sha256 }, raw: { contentType: 'application/pdf', data: d.pdf, filename: `dossier-${params.id}.pdf` } };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/dossiers/:id/signature', tag: 'Dossiers', access: ['investigator', 'counsel'], params: Id,
      summary: 'Download the detached Ed25519 signature (64 bytes) over the PDF',
      responses: { 200: { description: 'Raw signature', contentType: 'application/octet-stream' }, 404: { description: 'Unknown id' } },
      handler: async ({ params }) => {
        const d = await dossiers.pdf(params.id);
        return { raw: { contentType: 'application/octet-stream', data: d.signature, filename: `dossier-${params.id}.pdf.sig` } };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/subjects/:subject/dossiers', tag: 'Dossiers', access: ['investigator', 'counsel'], params: z.strictObject({ subject: Subject }),
      summary: 'Dossiers issued for a subject',
      responses: { 200: { description: 'Dossiers in ledger order', schema: DossierListJson } },
      handler: async ({ params }) => ({ body: { subject: params.subject, dossiers: (await dossiers.listForSubject(params.subject)).map((d) => dossierJson(d, dossiers.signingKeyId)) } }),
    }),
  ];
}
