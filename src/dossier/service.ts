// Issuing dossiers: gather, render and sign off the event loop, store, and record `dossier.issued`.
import { createHash, randomUUID } from 'node:crypto';
import type { PaperSize } from '../config/config.js';
import type { Position } from '../ledger/appender.js';
import type { KeyRow } from '../idempotency/service.js';
import { buildSealedEvent } from '../ledger/events.js';
import type { SigningIdentity } from '../pdf/certificate.js';
import { AppError } from '../problems/app-error.js';
import { gatherDossier, type EvidenceSources } from './gather.js';
import type { RenderPool, RenderedDossier } from './render-pool.js';
import type { DossierFile, DossierInfo, DossierRepository } from './repository.js';

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
  jurisdiction: string;
  keysUrl: string;
  paperSize: PaperSize;
}

export interface IssuedDossier {
  dossier: DossierInfo;
  signingKeyId: string;
  pdfCertificateSha256: string;
  position: Position;
}

export class DossierService {
  constructor(
    private readonly repo: DossierRepository,
    private readonly sources: EvidenceSources,
    private readonly identity: () => Promise<SigningIdentity>,
    private readonly pool: () => Promise<RenderPool>,
    private readonly settings: DossierSettings,
  ) {}

  /** `keyRow`: the Idempotency-Key's row, written with the dossier and its event. */
  async issue(input: IssueInput, issuer: { keyId: string; name: string }, keyRow: KeyRow<IssuedDossier> | null = null): Promise<IssuedDossier> {
    const ledger = this.sources.ledger;
    const id = randomUUID();
    // Whole seconds: the PDF date format has no fractions, so every date in the dossier agrees.
    const issuedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    const identity = await this.identity();
    // Sample lists are written and read back on a render worker, off the request thread.
    const sources: EvidenceSources = { ...this.sources, samplesCsv: async (t) => (await this.pool()).samplesCsv(t) };
    const { model, citedSeqs } = await gatherDossier(sources, identity, {
      dossierId: id, subject: input.subject, caseRef: input.case_ref, verificationIds: input.verification_ids,
      requestedBy: input.requested_by, preparedFor: input.prepared_for, issuedAt, ...this.settings,
    });
    let rendered: RenderedDossier;
    try {
      rendered = await (await this.pool()).render(model);
    } catch (e) {
      throw new AppError('render_failed', `the dossier could not be rendered (${e instanceof Error ? e.message : String(e)}); nothing was recorded`);
    }
    const pdfSha256 = createHash('sha256').update(rendered.pdf).digest('hex');
    const signature = ledger.signingKey.sign(rendered.pdf);
    const verificationIds = [...model.verifications, ...(model.llmVerifications ?? [])].map((v) => v.id);
    const ev = buildSealedEvent(this.sources.sealer, 'dossier.issued', {
      dossier_id: id,
      subject: input.subject,
      case_ref: input.case_ref,
      requested_by: input.requested_by,
      prepared_for: input.prepared_for,
      issued_by: { api_key_id: issuer.keyId, name: issuer.name },
      verification_ids: verificationIds,
      cited_seqs: citedSeqs,
      checkpoint: { size: model.checkpoint.size, chain_hash: model.checkpoint.chainHash, root_hash: model.checkpoint.rootHash, note_sha256: model.checkpoint.noteSha256 },
      pdf_sha256: pdfSha256,
      unsigned_pdf_sha256: rendered.unsignedSha256,
      bundle_sha256: model.bundleSha256,
      pdf_certificate_sha256: identity.fingerprintSha256,
      pages: rendered.pages,
    }, input.subject, { time: issuedAt });
    const dossier = {
      id, subject: input.subject, caseRef: input.case_ref, requestedBy: input.requested_by, preparedFor: input.prepared_for, verificationIds,
      issuedAt, pdfSha256, signature, bundleSha256: model.bundleSha256, pages: rendered.pages,
    };
    const issued = (p: Position): IssuedDossier => ({ dossier: { ...dossier, ledgerSeq: p.seq, eventId: p.eventId }, signingKeyId: ledger.signingKey.keyId, pdfCertificateSha256: identity.fingerprintSha256, position: p });
    const [p] = await ledger.append({ events: [ev], rows: ([pos]) => [this.repo.row({ ...dossier, pdf: rendered.pdf }, pos!), ...(keyRow ? [keyRow(issued(pos!))] : [])] });
    return issued(p!);
  }

  get signingKeyId(): string {
    return this.sources.ledger.signingKey.keyId;
  }

  async get(id: string): Promise<DossierInfo> {
    const r = await this.repo.get(id);
    if (!r) throw new AppError('dossier_not_found', `no dossier with id ${id}`);
    return r;
  }

  listForSubject(subject: string): Promise<DossierInfo[]> {
    return this.repo.forSubject(subject);
  }

  async pdf(id: string): Promise<DossierFile> {
    const r = await this.repo.file(id);
    if (!r) throw new AppError('dossier_not_found', `no dossier with id ${id}`);
    // An erasure destroyed the stored PDF (it printed the subject); its hash and signature stay.
    if (r.pdf.length === 0) throw new AppError('dossier_pdf_erased', `the PDF of dossier ${id} was destroyed by an erasure of its subject's personal data; a copy its recipient holds still verifies against its SHA-256 ${r.sha256}`);
    return r;
  }
}
