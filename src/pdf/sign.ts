/**
 * Detached CMS signature of a whole PDF produced by pdfkit.
 *
 * Two steps:
 *  1. `addSignaturePlaceholder(doc, ...)` (called by document.ts before `doc.end()`)
 *     adds an AcroForm with one signature field (merged field + invisible widget on
 *     page 1, /F 132 = Print|Locked, Rect [0 0 0 0]) whose /V is a /Sig dictionary with
 *     a zero-filled /Contents hex string and a fixed-width /ByteRange placeholder.
 *  2. `signPdf(unsignedPdf, signer)` fills in /ByteRange = [0 a b len-b] where [a, b)
 *     is exactly the `<…>` Contents hex string, hashes everything else with SHA-256,
 *     builds the CMS SignedData and writes its hex into /Contents (zero padded).
 *
 * The default SubFilter is ETSI.CAdES.detached (PAdES baseline B-B): signed attributes
 * contentType, messageDigest and signing-certificate-v2, and no CMS signing-time (PAdES
 * forbids it; the claimed signing time is the /M entry of the signature dictionary,
 * which is covered by the signature). With adbe.pkcs7.detached the signing-time
 * attribute is added as well (pinned to /M).
 */
import { createPrivateKey, createHash, X509Certificate } from 'node:crypto';
import { buildDetachedSignedData, parsePdfDate } from './cms.js';

export type SignatureSubFilter = 'ETSI.CAdES.detached' | 'adbe.pkcs7.detached';

export interface SignaturePlaceholderOptions {
  /** Claimed signing time, written to /M (also the CMS signing-time for adbe.pkcs7.detached). */
  signingTime: Date;
  subFilter?: SignatureSubFilter;
  /** Bytes reserved for the DER CMS blob (hex doubles it). Default 8192. */
  reserveBytes?: number;
  /** Signature field name (/T). Default "AssentmarkSignature". */
  fieldName?: string;
  /** /Name of the signer, e.g. the service name. */
  name?: string;
  reason?: string;
  location?: string;
  contactInfo?: string;
}

export interface SignerMaterial {
  /** PEM X.509 certificate of the signer. */
  certPem: string;
  /** PEM PKCS#8 (or SEC1/PKCS#1) private key matching certPem. */
  keyPem: string;
}

/** Written by pdfkit as `/ByteRange [0 /********** /********** /**********]`. */
const BYTE_RANGE_NAME = '**********';
const BYTE_RANGE_PLACEHOLDER = `/ByteRange [0 /${BYTE_RANGE_NAME} /${BYTE_RANGE_NAME} /${BYTE_RANGE_NAME}]`;
export const DEFAULT_SIGNATURE_RESERVE_BYTES = 8192;

/** The little of pdfkit's (partly private) document API the placeholder needs. */
interface PdfKitRef {
  data: Record<string, unknown>;
  write(chunk: Uint8Array | string): void;
  end(chunk?: Uint8Array | string): void;
}
interface PdfKitDocLike {
  ref(data: Record<string, unknown>): PdfKitRef;
  bufferedPageRange(): { start: number; count: number };
  _root: PdfKitRef;
  _pageBuffer?: Array<{ dictionary: PdfKitRef; annotations: unknown[] }>;
  _acroform?: unknown;
}

function pdfText(s: string): string {
  // Strip control characters; pdfkit escapes ( ) \ itself and switches to UTF-16BE for non-ASCII.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/**
 * Add the signature field, widget and /Sig dictionary to a pdfkit document.
 * Must be called before `doc.end()`, with `bufferPages: true` (or while page 1 is
 * still buffered), and at most once per document.
 */
export function addSignaturePlaceholder(docIn: object, opts: SignaturePlaceholderOptions): void {
  const doc = docIn as PdfKitDocLike;
  if (doc._root.data['AcroForm'] || doc._acroform) throw new Error('document already has an AcroForm; only one signature is supported');
  const reserve = opts.reserveBytes ?? DEFAULT_SIGNATURE_RESERVE_BYTES;
  if (!Number.isInteger(reserve) || reserve < 1024 || reserve > 1 << 20) throw new Error('reserveBytes must be an integer in [1024, 1048576]');
  if (!(opts.signingTime instanceof Date) || Number.isNaN(opts.signingTime.getTime())) throw new Error('signingTime must be a valid Date');
  const range = doc.bufferedPageRange();
  const firstPage = doc._pageBuffer?.[0];
  if (range.start !== 0 || range.count < 1 || !firstPage) throw new Error('page 1 must still be buffered (create the document with bufferPages: true)');

  const sigDict: Record<string, unknown> = {
    Type: 'Sig',
    Filter: 'Adobe.PPKLite',
    SubFilter: opts.subFilter ?? 'ETSI.CAdES.detached',
    // Names (/**********) of fixed width, replaced by numbers padded with spaces in signPdf.
    ByteRange: [0, BYTE_RANGE_NAME, BYTE_RANGE_NAME, BYTE_RANGE_NAME],
    // pdfkit writes a Uint8Array as a hex string: <0000…>.
    Contents: new Uint8Array(reserve),
    M: opts.signingTime,
  };
  if (opts.name) sigDict['Name'] = new String(pdfText(opts.name));
  if (opts.reason) sigDict['Reason'] = new String(pdfText(opts.reason));
  if (opts.location) sigDict['Location'] = new String(pdfText(opts.location));
  if (opts.contactInfo) sigDict['ContactInfo'] = new String(pdfText(opts.contactInfo));
  const sig = doc.ref(sigDict);

  // Empty appearance stream: the widget is invisible (zero-size Rect) but PDF/A likes an /AP.
  const ap = doc.ref({ Type: 'XObject', Subtype: 'Form', BBox: [0, 0, 0, 0] });
  ap.write(new Uint8Array(0));

  const widget = doc.ref({
    Type: 'Annot',
    Subtype: 'Widget',
    FT: 'Sig',
    T: new String(pdfText(opts.fieldName ?? 'AssentmarkSignature')),
    Rect: [0, 0, 0, 0],
    F: 132, // Print (4) | Locked (128)
    P: firstPage.dictionary,
    V: sig,
    AP: { N: ap },
  });
  firstPage.annotations.push(widget);

  // pdfkit's endAcroForm() (run by doc.end()) expects its own form state; give it an empty
  // one so it ends the AcroForm dictionary for us (it only ends fields that have Kids).
  doc._acroform = { fonts: {}, defaultFont: 'none' };
  doc._root.data['AcroForm'] = doc.ref({ Fields: [widget], SigFlags: 3, DR: { Font: {} } });

  sig.end();
  ap.end();
  widget.end();
}

interface PlaceholderLocation {
  /** Offset of the `[` of the ByteRange array. */
  byteRangeStart: number;
  /** Length of the placeholder array text `[0 /… /… /…]`. */
  byteRangeLength: number;
  /** Offset of `<` of /Contents. */
  contentsStart: number;
  /** Offset just past `>` of /Contents. */
  contentsEnd: number;
  subFilter: string;
  signingTime: Date | undefined;
}

function locatePlaceholder(pdf: Buffer): PlaceholderLocation {
  const marker = Buffer.from(BYTE_RANGE_PLACEHOLDER, 'latin1');
  const pos = pdf.indexOf(marker);
  if (pos < 0) throw new Error('no signature placeholder found (was the document created with a signature placeholder?)');
  if (pdf.indexOf(marker, pos + 1) >= 0) throw new Error('more than one signature placeholder found');
  const byteRangeStart = pos + '/ByteRange '.length;
  const byteRangeLength = marker.length - '/ByteRange '.length;

  const after = pos + marker.length;
  const contentsKey = pdf.indexOf('/Contents <', after, 'latin1');
  if (contentsKey < 0 || contentsKey - after > 16) throw new Error('signature placeholder: /Contents must follow /ByteRange');
  const contentsStart = contentsKey + '/Contents '.length;
  const close = pdf.indexOf('>', contentsStart, 'latin1');
  if (close < 0) throw new Error('signature placeholder: unterminated /Contents');
  for (let i = contentsStart + 1; i < close; i++) {
    if (pdf[i] !== 0x30) throw new Error('signature placeholder: /Contents is not zero-filled (already signed?)');
  }
  const contentsEnd = close + 1;

  // The dictionary opens at the last "<<" before /ByteRange (no nested dicts precede it).
  const dictStart = pdf.lastIndexOf('<<', pos, 'latin1');
  const head = pdf.subarray(Math.max(0, dictStart), pos).toString('latin1');
  const sub = /\/SubFilter\s*\/([A-Za-z0-9.]+)/.exec(head)?.[1];
  if (!sub) throw new Error('signature placeholder: missing /SubFilter');
  const tail = pdf.subarray(contentsEnd, Math.min(pdf.length, contentsEnd + 2048)).toString('latin1');
  const dictEnd = tail.indexOf('>>');
  const m = /\/M\s*\((D:[0-9Z+\-']+)\)/.exec(dictEnd >= 0 ? tail.slice(0, dictEnd) : tail);
  const signingTime = m?.[1] ? parsePdfDate(m[1]) : undefined;
  return { byteRangeStart, byteRangeLength, contentsStart, contentsEnd, subFilter: sub, signingTime };
}

/**
 * Sign an unsigned dossier produced with a signature placeholder. Returns a new Buffer
 * of the same length; the input is not modified.
 */
export async function signPdf(unsignedPdf: Buffer, signer: SignerMaterial): Promise<Buffer> {
  const loc = locatePlaceholder(unsignedPdf);
  if (loc.subFilter !== 'ETSI.CAdES.detached' && loc.subFilter !== 'adbe.pkcs7.detached') {
    throw new Error(`unsupported /SubFilter ${loc.subFilter}`);
  }
  const out = Buffer.from(unsignedPdf);
  const len = out.length;
  const a = loc.contentsStart;
  const b = loc.contentsEnd;
  const byteRange = `[0 ${a} ${b} ${len - b}]`;
  if (byteRange.length > loc.byteRangeLength) throw new Error('ByteRange does not fit its placeholder');
  out.write(byteRange.padEnd(loc.byteRangeLength, ' '), loc.byteRangeStart, 'latin1');

  const digest = createHash('sha256').update(out.subarray(0, a)).update(out.subarray(b)).digest();

  const cert = new X509Certificate(signer.certPem);
  const key = createPrivateKey(signer.keyPem);
  const isCades = loc.subFilter === 'ETSI.CAdES.detached';
  if (!isCades && !loc.signingTime) throw new Error('adbe.pkcs7.detached placeholder needs a /M signing time');
  const cms = buildDetachedSignedData({
    contentDigest: digest,
    certificateDer: cert.raw,
    privateKey: key,
    signingCertificateV2: true,
    ...(isCades || !loc.signingTime ? {} : { signingTime: loc.signingTime }),
  });
  const hex = cms.toString('hex');
  const room = b - a - 2;
  if (hex.length > room) throw new Error(`CMS signature (${cms.length} bytes) exceeds the reserved ${room / 2} bytes`);
  out.write(hex, a + 1, 'latin1');
  return out;
}
