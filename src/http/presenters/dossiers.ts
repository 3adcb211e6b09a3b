// Responses of the dossier routes.
import { z } from 'zod';
import type { DossierInfo } from '../../dossier/repository.js';
import type { IssuedDossier } from '../../dossier/service.js';
import { LedgerPosition, LedgerRef, positionJson, refJson } from './common.js';

const Links = z.object({ pdf: z.string(), signature: z.string() });

export const IssuedDossierJson = z.object({
  id: z.string(),
  subject: z.string(),
  case_ref: z.string(),
  issued_at: z.string(),
  pages: z.number().int(),
  pdf_sha256: z.string(),
  bundle_sha256: z.string(),
  signature: z.string().describe('Detached Ed25519 signature over the PDF, base64'),
  signing_key_id: z.string(),
  pdf_certificate_sha256: z.string(),
  verification_ids: z.array(z.string()),
  ledger: LedgerPosition,
  links: Links,
});

export const DossierJson = z.object({
  id: z.string(),
  subject: z.string(),
  case_ref: z.string(),
  requested_by: z.string(),
  prepared_for: z.object({ name: z.string(), firm: z.string() }),
  verification_ids: z.array(z.string()),
  issued_at: z.string(),
  pages: z.number().int(),
  pdf_sha256: z.string(),
  bundle_sha256: z.string(),
  signature: z.string(),
  signing_key_id: z.string(),
  ledger: LedgerRef,
  links: Links,
});
export const DossierListJson = z.object({ subject: z.string(), dossiers: z.array(DossierJson) });

const links = (id: string) => ({ pdf: `/v1/dossiers/${id}/pdf`, signature: `/v1/dossiers/${id}/signature` });

export function issuedDossierJson(r: IssuedDossier): z.infer<typeof IssuedDossierJson> {
  const d = r.dossier;
  return {
    id: d.id, subject: d.subject, case_ref: d.caseRef, issued_at: d.issuedAt.toISOString(), pages: d.pages, pdf_sha256: d.pdfSha256, bundle_sha256: d.bundleSha256,
    signature: d.signature.toString('base64'), signing_key_id: r.signingKeyId, pdf_certificate_sha256: r.pdfCertificateSha256, verification_ids: d.verificationIds,
    ledger: positionJson(r.position), links: links(d.id),
  };
}

export function dossierJson(d: DossierInfo, signingKeyId: string): z.infer<typeof DossierJson> {
  return {
    id: d.id, subject: d.subject, case_ref: d.caseRef, requested_by: d.requestedBy, prepared_for: d.preparedFor, verification_ids: d.verificationIds,
    issued_at: d.issuedAt.toISOString(), pages: d.pages, pdf_sha256: d.pdfSha256, bundle_sha256: d.bundleSha256, signature: d.signature.toString('base64'),
    signing_key_id: signingKeyId, ledger: refJson(d), links: links(d.id),
  };
}
