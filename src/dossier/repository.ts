// dossiers: every issued dossier's PDF, detached signature and metadata.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { fromJson, workingRow, type WorkingRow } from '../db/rows.js';

export interface DossierInfo {
  id: string;
  subject: string;
  caseRef: string;
  requestedBy: string;
  preparedFor: { name: string; firm: string };
  verificationIds: string[];
  issuedAt: Date;
  pdfSha256: string;
  signature: Buffer;
  bundleSha256: string;
  pages: number;
  ledgerSeq: number;
  eventId: string;
}

export interface DossierFile {
  pdf: Buffer;
  signature: Buffer;
  sha256: string;
}

const INFO = ['id', 'subject', 'case_ref', 'requested_by', 'prepared_for', 'verification_ids', 'issued_at', 'pdf_sha256', 'signature', 'bundle_sha256', 'pages', 'ledger_seq', 'event_id'] as const;

export class DossierRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<DossierInfo | undefined> {
    const r = await this.db.selectFrom('dossiers').select(INFO).where('id', '=', id).executeTakeFirst();
    return r ? toInfo(r) : undefined;
  }

  async forSubject(subject: string): Promise<DossierInfo[]> {
    const rows = await this.db.selectFrom('dossiers').select(INFO).where('subject', '=', subject).orderBy('ledger_seq').execute();
    return rows.map(toInfo);
  }

  async file(id: string): Promise<DossierFile | undefined> {
    const r = await this.db.selectFrom('dossiers').select(['pdf', 'signature', 'pdf_sha256']).where('id', '=', id).executeTakeFirst();
    return r ? { pdf: Buffer.from(r.pdf), signature: Buffer.from(r.signature), sha256: r.pdf_sha256 } : undefined;
  }

  row(d: Omit<DossierInfo, 'ledgerSeq' | 'eventId'> & { pdf: Buffer }, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('dossiers', {
      id: d.id, subject: d.subject, case_ref: d.caseRef, requested_by: d.requestedBy, prepared_for: JSON.stringify(d.preparedFor),
      verification_ids: JSON.stringify(d.verificationIds), issued_at: d.issuedAt, pdf: d.pdf, pdf_sha256: d.pdfSha256, signature: d.signature,
      bundle_sha256: d.bundleSha256, pages: d.pages, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}

function toInfo(r: { id: string; subject: string; case_ref: string; requested_by: string; prepared_for: { name: string; firm: string } | string; verification_ids: string[] | string; issued_at: Date; pdf_sha256: string; signature: Buffer; bundle_sha256: string; pages: number; ledger_seq: string; event_id: string }): DossierInfo {
  return {
    id: r.id, subject: r.subject, caseRef: r.case_ref, requestedBy: r.requested_by, preparedFor: fromJson(r.prepared_for), verificationIds: fromJson(r.verification_ids),
    issuedAt: new Date(r.issued_at), pdfSha256: r.pdf_sha256, signature: Buffer.from(r.signature), bundleSha256: r.bundle_sha256, pages: r.pages,
    ledgerSeq: Number(r.ledger_seq), eventId: r.event_id,
  };
}
