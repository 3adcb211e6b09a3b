// PDF/A-3 associated files (embedded attachments with /AFRelationship).
import { createHash } from 'node:crypto';
import { assertDate, metaText } from './metadata.js';
import { internals } from './pdfkit-internals.js';

type AttachmentRelationship = 'Data' | 'Source' | 'Alternative' | 'Supplement' | 'Unspecified';

export interface AttachmentSpec {
  /** File name shown in viewers; no path separators or control characters. */
  name: string;
  /** MIME type, e.g. "application/json" (PDF/A-3 requires one). */
  mimeType: string;
  description?: string;
  /** PDF/A-3 /AFRelationship. */
  relationship: AttachmentRelationship;
  /** Not listed in the EmbeddedFiles name tree (still referenced from the catalog /AF). */
  hidden?: boolean;
  /** Default: the document's issuedAt. */
  creationDate?: Date;
  /** Default: the document's issuedAt. PDF/A-3 requires /ModDate. */
  modifiedDate?: Date;
}

/** The attachments of one document; names are unique within it. */
export class Attachments {
  private readonly names = new Set<string>();

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    /** Default creation and modification date. */
    private readonly issuedAt: Date,
  ) {}

  /**
   * Embed a file as a PDF/A-3 associated file: an /EmbeddedFile stream (MIME /Subtype,
   * /Params with Size, MD5 CheckSum, CreationDate and ModDate), a /Filespec with /F, /UF,
   * /Desc and /AFRelationship, referenced from the catalog /AF array and (unless hidden)
   * from the EmbeddedFiles name tree.
   *
   * (Not pdfkit's doc.file(): it writes CheckSum as a 32-character hex text instead of
   * the 16-byte MD5 string ISO 32000 asks for, and treats string sources as file paths.)
   */
  add(data: Uint8Array, spec: AttachmentSpec): void {
    if (!(data instanceof Uint8Array)) throw new Error('attachment data must be a Buffer/Uint8Array');
    // eslint-disable-next-line no-control-regex
    if (!spec.name || spec.name.length > 200 || /[\u0000-\u001f\u007f/\\]/.test(spec.name)) throw new Error(`invalid attachment name: ${JSON.stringify(spec.name)}`);
    if (this.names.has(spec.name)) throw new Error(`duplicate attachment name: ${spec.name}`);
    if (!/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(spec.mimeType)) throw new Error(`invalid MIME type: ${spec.mimeType}`);
    if (!['Data', 'Source', 'Alternative', 'Supplement', 'Unspecified'].includes(spec.relationship)) throw new Error(`invalid relationship: ${spec.relationship}`);
    const creationDate = spec.creationDate ?? this.issuedAt;
    const modDate = spec.modifiedDate ?? this.issuedAt;
    assertDate(creationDate, 'attachment creationDate');
    assertDate(modDate, 'attachment modifiedDate');
    this.names.add(spec.name);

    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const doc = this.doc;
    // PDF name: '#' and '/' (and anything outside the regular characters) as #XX.
    const subtype = spec.mimeType.replace(/[^A-Za-z0-9!$&^_.+-]/g, (c) => `#${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
    const stream = doc.ref({
      Type: 'EmbeddedFile',
      Subtype: subtype,
      Params: {
        Size: bytes.byteLength,
        CheckSum: new Uint8Array(createHash('md5').update(bytes).digest()),
        CreationDate: creationDate,
        ModDate: modDate,
      },
    });
    stream.end(bytes);
    const asciiName = spec.name.replace(/[^\x20-\x7e]/g, '_');
    const filespec: Record<string, unknown> = {
      Type: 'Filespec',
      F: new String(asciiName),
      UF: new String(spec.name),
      EF: { F: stream, UF: stream },
      AFRelationship: spec.relationship,
    };
    if (spec.description) filespec['Desc'] = new String(metaText(spec.description));
    const ref = doc.ref(filespec);
    ref.end(undefined);
    if (spec.hidden !== true) doc.addNamedEmbeddedFile(spec.name, ref);
    const root = internals(doc)._root.data;
    const af = root['AF'];
    if (Array.isArray(af)) af.push(ref);
    else root['AF'] = [ref];
  }
}
