// Issuing dossiers: gather, render and sign off the event loop, store, and record `dossier.issued`.
import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Ledger } from '../ledger/ledger.js';
import { prepareEvent } from '../ledger/format.js';
import type { EulaService } from '../eula/service.js';
import type { SigningIdentity } from '../pdf/certificate.js';
import { AppError } from '../problems/app-error.js';
import { gatherDossier } from './gather.js';
import type { RenderPool } from './render-pool.js';

export interface IssueInput {
  subject: string;
  case_ref: string;
  verification_ids?: string[] | undefined;
  requested_by: string;
  prepared_for: { name: string; firm: string };
}

export interface DossierSettings {
  organisation: string;
  certifierName: string;
  certifierTitle: string;
}

export class DossierService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly ledger: Ledger,
    private readonly eulas: EulaService,
    private readonly identity: () => Promise<SigningIdentity>,
    private readonly pool: () => Promise<RenderPool>,
    private readonly settings: DossierSettings,
  ) {}

  async issue(input: IssueInput, issuer: { keyId: string; name: string }): Promise<Record<string, unknown>> {
    const id = randomUUID();
    // Whole seconds: the PDF date format has no fractions, so every date in the dossier agrees.
    const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const identity = await this.identity();
    const { model, citedSeqs } = await gatherDossier(this.db, this.ledger, this.eulas, identity, {
      dossierId: id, subject: input.subject, caseRef: input.case_ref, verificationIds: input.verification_ids,
      requestedBy: input.requested_by, preparedFor: input.prepared_for, issuedAt, ...this.settings,
    });
    const rendered = await (await this.pool()).render(model);
    const pdfSha256 = createHash('sha256').update(rendered.pdf).digest('hex');
    const signature = this.ledger.signingKey.sign(rendered.pdf);
    const verificationIds = model.verifications.map((v) => v.id);
    const ev = prepareEvent('dossier.issued', {
      dossier_id: id,
      subject: input.subject,
      case_ref: input.case_ref,
      requested_by: input.requested_by,
      prepared_for: input.prepared_for,
      issued_by: { api_key_id: issuer.keyId, name: issuer.name },
      verification_ids: verificationIds,
      cited_seqs: citedSeqs,
      checkpoint: { size: model.checkpoint.size, chain_hash: model.checkpoint.chainHash },
      pdf_sha256: pdfSha256,
      unsigned_pdf_sha256: rendered.unsignedSha256,
      bundle_sha256: model.bundleSha256,
      pdf_certificate_sha256: identity.fingerprintSha256,
      pages: rendered.pages,
    }, { time: issuedAt });
    const [p] = await this.ledger.append({
      events: [ev],
      rows: ([pos]) => [{
        table: 'dossiers',
        values: {
          id, subject: input.subject, case_ref: input.case_ref, requested_by: input.requested_by, prepared_for: JSON.stringify(input.prepared_for),
          verification_ids: JSON.stringify(verificationIds), issued_at: issuedAt, pdf: rendered.pdf, pdf_sha256: pdfSha256, signature,
          bundle_sha256: model.bundleSha256, pages: rendered.pages, ledger_seq: pos!.seq, event_id: pos!.eventId,
        },
      }],
    });
    return {
      id,
      subject: input.subject,
      case_ref: input.case_ref,
      issued_at: issuedAt.toISOString(),
      pages: rendered.pages,
      pdf_sha256: pdfSha256,
      bundle_sha256: model.bundleSha256,
      signature: signature.toString('base64'),
      signing_key_id: this.ledger.signingKey.keyId,
      pdf_certificate_sha256: identity.fingerprintSha256,
      verification_ids: verificationIds,
      ledger: { seq: p!.seq, event_id: p!.eventId, leaf_hash: p!.leafHash.toString('hex'), chain_hash: p!.chainHash.toString('hex') },
      links: { pdf: `/v1/dossiers/${id}/pdf`, signature: `/v1/dossiers/${id}/signature` },
    };
  }

  async get(id: string): Promise<Record<string, unknown>> {
    const r = await this.db.selectFrom('dossiers').select(['id', 'subject', 'case_ref', 'requested_by', 'prepared_for', 'verification_ids', 'issued_at', 'pdf_sha256', 'signature', 'bundle_sha256', 'pages', 'ledger_seq', 'event_id']).where('id', '=', id).executeTakeFirst();
    if (!r) throw new AppError('dossier_not_found', `no dossier with id ${id}`);
    return metaJson(r, this.ledger.signingKey.keyId);
  }

  async listForSubject(subject: string): Promise<Array<Record<string, unknown>>> {
    const rows = await this.db.selectFrom('dossiers').select(['id', 'subject', 'case_ref', 'requested_by', 'prepared_for', 'verification_ids', 'issued_at', 'pdf_sha256', 'signature', 'bundle_sha256', 'pages', 'ledger_seq', 'event_id']).where('subject', '=', subject).orderBy('ledger_seq').execute();
    return rows.map((r) => metaJson(r, this.ledger.signingKey.keyId));
  }

  async pdf(id: string): Promise<{ pdf: Buffer; signature: Buffer; sha256: string }> {
    const r = await this.db.selectFrom('dossiers').select(['pdf', 'signature', 'pdf_sha256']).where('id', '=', id).executeTakeFirst();
    if (!r) throw new AppError('dossier_not_found', `no dossier with id ${id}`);
    return { pdf: Buffer.from(r.pdf), signature: Buffer.from(r.signature), sha256: r.pdf_sha256 };
  }
}

function metaJson(r: { id: string; subject: string; case_ref: string; requested_by: string; prepared_for: unknown; verification_ids: unknown; issued_at: Date; pdf_sha256: string; signature: Buffer; bundle_sha256: string; pages: number; ledger_seq: string; event_id: string }, keyId: string): Record<string, unknown> {
  const j = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);
  return {
    id: r.id, subject: r.subject, case_ref: r.case_ref, requested_by: r.requested_by, prepared_for: j(r.prepared_for), verification_ids: j(r.verification_ids),
    issued_at: new Date(r.issued_at).toISOString(), pages: r.pages, pdf_sha256: r.pdf_sha256, bundle_sha256: r.bundle_sha256,
    signature: Buffer.from(r.signature).toString('base64'), signing_key_id: keyId,
    ledger: { seq: Number(r.ledger_seq), event_id: r.event_id },
    links: { pdf: `/v1/dossiers/${r.id}/pdf`, signature: `/v1/dossiers/${r.id}/signature` },
  };
}
