// XMP metadata equivalent to the Info dictionary (PDF/A requires both to agree). pdfkit writes Info
// values into XMP without XML escaping, so its writer is replaced by this one.
import type { DocumentInfo } from './metadata.js';
import { internals } from './pdfkit-internals.js';

/** XML 1.0 text escaping, dropping characters XML cannot carry. */
function xmlEscape(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
      .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c)
  );
}

function xmpDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The rdf:Description elements (xmp, dc, pdf) for the Info dictionary. */
function xmpInfo(info: DocumentInfo, issuedAt: Date): string {
  const s = (v: unknown): string => xmlEscape(typeof v === 'string' ? v : '');
  let xml = `
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
  <xmp:CreateDate>${xmpDate(issuedAt)}</xmp:CreateDate>
  <xmp:ModifyDate>${xmpDate(issuedAt)}</xmp:ModifyDate>
  <xmp:MetadataDate>${xmpDate(issuedAt)}</xmp:MetadataDate>
  <xmp:CreatorTool>${s(info.Creator)}</xmp:CreatorTool>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:format>application/pdf</dc:format>
  <dc:title><rdf:Alt><rdf:li xml:lang="x-default">${s(info.Title)}</rdf:li></rdf:Alt></dc:title>
  <dc:creator><rdf:Seq><rdf:li>${s(info.Author)}</rdf:li></rdf:Seq></dc:creator>`;
  if (info.Subject) xml += `\n  <dc:description><rdf:Alt><rdf:li xml:lang="x-default">${s(info.Subject)}</rdf:li></rdf:Alt></dc:description>`;
  xml += `
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
  <pdf:Producer>${s(info.Producer)}</pdf:Producer>`;
  if (info.Keywords) xml += `\n  <pdf:Keywords>${s(info.Keywords)}</pdf:Keywords>`;
  xml += '\n</rdf:Description>';
  return xml;
}

/** Make pdfkit write our escaped XMP for `info` when it ends the document. */
export function useEscapedXmpInfo(doc: PDFKit.PDFDocument, info: DocumentInfo, issuedAt: Date): void {
  const pdfkit = internals(doc);
  pdfkit._addInfo = () => pdfkit.appendXML(xmpInfo(info, issuedAt));
}
