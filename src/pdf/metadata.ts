// The Info dictionary of a dossier and the checks on what goes into it.

export type DocumentInfo = PDFKit.DocumentInfo & Record<string, unknown>;

interface DocumentInfoFields {
  title: string;
  author: string;
  subject?: string;
  keywords?: readonly string[];
  creator?: string;
  producer?: string;
}

/** Metadata strings: single line, no control characters. */
export function metaText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

export function assertDate(d: unknown, what: string): asserts d is Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new Error(`${what} must be a valid Date`);
}

/** Info dictionary with CreationDate and ModDate pinned to `issuedAt`. */
export function documentInfo(fields: DocumentInfoFields, issuedAt: Date): DocumentInfo {
  const info: DocumentInfo = {
    Title: metaText(fields.title),
    Author: metaText(fields.author),
    Creator: metaText(fields.creator ?? 'assentmark'),
    Producer: metaText(fields.producer ?? 'assentmark (pdfkit)'),
    CreationDate: issuedAt,
    ModDate: issuedAt,
  };
  if (fields.subject) info.Subject = metaText(fields.subject);
  if (fields.keywords && fields.keywords.length > 0) info.Keywords = metaText(fields.keywords.join(', '));
  return info;
}
