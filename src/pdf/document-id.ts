// Deterministic trailer /ID. pdfkit's default is an MD5 of the info dictionary; this one also
// depends on the dossier's documentId, so two dossiers issued in the same second differ.
import { createHash } from 'node:crypto';
import type { DocumentInfo } from './metadata.js';
import { internals } from './pdfkit-internals.js';

export function setDocumentId(doc: PDFKit.PDFDocument, documentId: string | undefined, info: DocumentInfo, issuedAt: Date): void {
  internals(doc)._id = new Uint8Array(
    createHash('sha256')
      .update(JSON.stringify([documentId ?? '', info.Title, info.Author, info.Subject ?? '', issuedAt.toISOString()]))
      .digest()
      .subarray(0, 16),
  );
}
