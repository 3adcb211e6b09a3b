/**
 * Offline verification of the (last) detached CMS signature of a PDF, and extraction of
 * embedded files.
 *
 * Everything in the input is treated as hostile: offsets are bounds-checked, sizes are
 * capped, and the signature must cover the whole file except exactly the /Contents hex
 * string (so nothing can be appended or altered outside the signed bytes).
 */
// No node:crypto here: the browser verification page runs this module as it is (crypto/hash.ts
// and crypto/signature.ts have browser twins).
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { DIGEST_BY_OID, OID, SIGNATURE_ALGORITHMS } from '../crypto/cms-algorithms.js';
import { digestOf } from '../crypto/hash.js';
import { verifySignature } from '../crypto/signature.js';
import { certificatesFromPem, parseCertificate, pemOf, type Certificate } from '../crypto/x509.js';
import { parsePdfDate, tlvLength } from './pdf-syntax.js';

export interface VerifyPdfOptions {
  /** Require the signer certificate to equal this one (PEM). */
  expectedCertificatePem?: string;
  /** Require the signer certificate's SHA-256 fingerprint (hex, colons/case ignored). */
  expectedFingerprintSha256?: string;
}

export interface PdfSignatureVerification {
  ok: boolean;
  /** Why verification failed (first failed check). */
  reason?: string;
  /** ByteRange is [0 a b c] with [a, b) exactly the /Contents hex string and b + c = file length. */
  coversWholeFile: boolean;
  byteRange?: [number, number, number, number];
  subFilter?: string;
  /** Signer certificate from the CMS (PEM), when it could be parsed. */
  certificatePem?: string;
  /** SHA-256 of the signer certificate DER, lowercase hex. */
  certificateFingerprintSha256?: string;
  signerSubject?: string;
  /** CMS signing-time attribute if present, else the signature dictionary's /M. */
  signingTime?: Date;
  signingTimeSource?: 'cms' | 'pdf-M';
}

const MAX_CONTENTS_HEX = 2 * 1024 * 1024; // 1 MiB of DER is far beyond any sane signature
const MAX_PDF_SIZE = 2 ** 31;

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function isHexDigit(c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66));
}

function isPdfWhite(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x0c || c === 0x00;
}

class VerifyError extends Error {}

function fail(msg: string): never {
  throw new VerifyError(msg);
}

interface SigDictInfo {
  byteRange: [number, number, number, number];
  subFilter: string | undefined;
  pdfSigningTime: Date | undefined;
}

/** Parse `/ByteRange [a b c d]` at the last occurrence in the file, and nearby /SubFilter and /M. */
function findLastSignatureDictionary(pdf: Buffer): SigDictInfo {
  const key = Buffer.from('/ByteRange', 'latin1');
  const pos = pdf.lastIndexOf(key);
  if (pos < 0) fail('no signature (/ByteRange) found');
  const window = pdf.subarray(pos, Math.min(pdf.length, pos + 160)).toString('latin1');
  const m = /^\/ByteRange\s*\[\s*(\d{1,15})\s+(\d{1,15})\s+(\d{1,15})\s+(\d{1,15})\s*\]/.exec(window);
  if (!m) fail('malformed /ByteRange');
  const nums = [m[1], m[2], m[3], m[4]].map((s) => Number(s));
  if (nums.some((n) => !Number.isSafeInteger(n) || n < 0)) fail('malformed /ByteRange');
  const byteRange = nums as [number, number, number, number];

  // The enclosing dictionary: scan a bounded window either side for /SubFilter and /M.
  // (Those keys are inside the signed bytes, so a forger cannot change them undetected.)
  const dictStart = pdf.lastIndexOf('<<', pos, 'latin1');
  const before = pdf.subarray(Math.max(0, dictStart, pos - 4096), pos).toString('latin1');
  // /M normally follows /Contents; skip over the Contents hex (at b = byteRange[2]) when it is there.
  const afterStart = byteRange[2] > pos && byteRange[2] < pdf.length ? byteRange[2] : pos;
  const afterRaw = pdf.subarray(afterStart, Math.min(pdf.length, afterStart + 2048)).toString('latin1');
  const end = afterRaw.indexOf('>>');
  const after = end >= 0 ? afterRaw.slice(0, end) : afterRaw;
  const subFilterRe = /\/SubFilter\s*\/([A-Za-z0-9.#_-]{1,64})/;
  const subFilter = (subFilterRe.exec(before) ?? subFilterRe.exec(after))?.[1];
  const mm = /\/M\s*\((D:[0-9Zz+\-']{4,24})\)/.exec(before) ?? /\/M\s*\((D:[0-9Zz+\-']{4,24})\)/.exec(after);
  const pdfSigningTime = mm?.[1] ? parsePdfDate(mm[1]) : undefined;
  return { byteRange, subFilter, pdfSigningTime };
}

function decodeHex(pdf: Buffer, from: number, to: number): Buffer {
  // Caller checked every byte is a hex digit and the length is even.
  return Buffer.from(pdf.subarray(from, to).toString('latin1'), 'hex');
}

function sameDer(a: { toSchema(): { toBER(sizeOnly?: boolean): ArrayBuffer } }, b: { toSchema(): { toBER(sizeOnly?: boolean): ArrayBuffer } }): boolean {
  return Buffer.from(a.toSchema().toBER(false)).equals(Buffer.from(b.toSchema().toBER(false)));
}

function attrValues(attrs: pkijs.Attribute[], oid: string): unknown[] | undefined {
  const found = attrs.filter((a) => a.type === oid);
  if (found.length === 0) return undefined;
  if (found.length > 1) fail(`signed attribute ${oid} occurs more than once`);
  return found[0]?.values ?? [];
}

function asn1Time(v: unknown): Date | undefined {
  if (v instanceof asn1js.UTCTime || v instanceof asn1js.GeneralizedTime) return v.toDate();
  return undefined;
}

function normFingerprint(s: string): string {
  return s.replace(/[:\s]/g, '').toLowerCase();
}

/**
 * Verify the last signature in a PDF. Never throws for bad input: returns ok=false with a
 * reason. Checks: ByteRange shape and whole-file coverage, /Contents is exactly the gap,
 * CMS structure (one signer, detached id-data), digest algorithm, contentType and
 * messageDigest attributes, signing-certificate-v2 (if present) matches the embedded
 * certificate, signature over the signed attributes with the certificate's key, validity
 * of the certificate at the claimed signing time, and the optional certificate pin.
 */
export function verifyPdfSignature(pdf: Buffer, opts: VerifyPdfOptions = {}): PdfSignatureVerification {
  const result: PdfSignatureVerification = { ok: false, coversWholeFile: false };
  try {
    if (!Buffer.isBuffer(pdf)) fail('input is not a Buffer');
    if (pdf.length > MAX_PDF_SIZE) fail('file too large');
    const sd = findLastSignatureDictionary(pdf);
    result.byteRange = sd.byteRange;
    if (sd.subFilter) result.subFilter = sd.subFilter;
    const [start, aLen, b, bLen] = sd.byteRange;
    const len = pdf.length;

    // ---- ByteRange: [0 a b c], a < b, b + c = len, gap = "<hex>" right after /Contents.
    if (start !== 0) fail('ByteRange does not start at 0');
    const a = aLen;
    if (!(a > 0 && a < b && b <= len)) fail('ByteRange offsets out of bounds');
    if (b + bLen !== len) fail(`ByteRange does not reach the end of the file (covers up to ${b + bLen} of ${len} bytes)`);
    if (pdf[a] !== 0x3c || pdf[b - 1] !== 0x3e) fail('ByteRange gap is not exactly the /Contents hex string');
    const hexLen = b - a - 2;
    if (hexLen <= 0 || hexLen % 2 !== 0 || hexLen > MAX_CONTENTS_HEX) fail('bad /Contents length');
    for (let i = a + 1; i < b - 1; i++) if (!isHexDigit(pdf[i])) fail('ByteRange gap contains non-hex bytes');
    let k = a - 1;
    while (k > 0 && isPdfWhite(pdf[k])) k--;
    if (pdf.subarray(Math.max(0, k - 8), k + 1).toString('latin1') !== '/Contents') fail('ByteRange gap is not the value of /Contents');
    result.coversWholeFile = true;

    if (sd.subFilter !== 'ETSI.CAdES.detached' && sd.subFilter !== 'adbe.pkcs7.detached') {
      fail(`unsupported /SubFilter ${sd.subFilter ?? '(missing)'}`);
    }

    // ---- CMS blob: DER, zero padded.
    const raw = decodeHex(pdf, a + 1, b - 1);
    if (raw[0] !== 0x30) fail('/Contents is not a DER SEQUENCE');
    const derLen = tlvLength(raw);
    if (derLen === undefined) fail('/Contents has a malformed DER length');
    for (let i = derLen; i < raw.length; i++) if (raw[i] !== 0) fail('/Contents has non-zero bytes after the CMS');
    const der = raw.subarray(0, derLen);
    const parsed = asn1js.fromBER(toArrayBuffer(der));
    if (parsed.offset === -1 || parsed.offset !== der.length) fail('/Contents is not valid BER/DER');
    let signedData: pkijs.SignedData;
    try {
      const ci = new pkijs.ContentInfo({ schema: parsed.result });
      if (ci.contentType !== OID.signedData) fail('CMS is not SignedData');
      signedData = new pkijs.SignedData({ schema: ci.content });
    } catch (e) {
      if (e instanceof VerifyError) throw e;
      fail(`CMS parse error: ${(e as Error).message}`);
    }
    if (signedData.signerInfos.length !== 1) fail(`expected exactly one signer, found ${signedData.signerInfos.length}`);
    const si = signedData.signerInfos[0];
    if (!si) fail('no signer');
    if (signedData.encapContentInfo.eContentType !== OID.data) fail('encapsulated content type is not id-data');
    if (signedData.encapContentInfo.eContent) fail('CMS is not detached (contains eContent)');

    // ---- Signer certificate: the embedded one matching the SignerIdentifier.
    const certs = (signedData.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
    let signerCert: pkijs.Certificate | undefined;
    if (si.sid instanceof pkijs.IssuerAndSerialNumber) {
      const sid = si.sid;
      signerCert = certs.find((c) => sameDer(c.issuer, sid.issuer) && Buffer.from(c.serialNumber.toBER(false)).equals(Buffer.from(sid.serialNumber.toBER(false))));
    } else if (si.sid instanceof asn1js.Constructed || si.sid instanceof asn1js.Primitive) {
      // [0] SubjectKeyIdentifier
      const skiRaw = si.sid instanceof asn1js.Primitive ? Buffer.from(si.sid.valueBlock.valueHexView) : undefined;
      if (skiRaw) {
        signerCert = certs.find((c) => {
          const ext = c.extensions?.find((e) => e.extnID === '2.5.29.14');
          const v = ext?.parsedValue as asn1js.OctetString | undefined;
          return v ? Buffer.from(v.valueBlock.valueHexView).equals(skiRaw) : false;
        });
      }
    }
    if (!signerCert) fail('signer certificate not found in the CMS');
    const certDer = Buffer.from(signerCert.toSchema().toBER(false));
    let cert: Certificate;
    try {
      cert = parseCertificate(certDer);
    } catch (e) {
      fail(`signer certificate does not parse: ${(e as Error).message}`);
    }
    result.certificatePem = pemOf(certDer);
    result.certificateFingerprintSha256 = digestOf('sha256', certDer).toString('hex');
    result.signerSubject = cert.subject;

    // ---- Digest of the signed byte ranges.
    const digestName = DIGEST_BY_OID[si.digestAlgorithm.algorithmId];
    if (!digestName) fail(`unsupported digest algorithm ${si.digestAlgorithm.algorithmId}`);
    const digest = digestOf(digestName, pdf.subarray(0, a), pdf.subarray(b, len));

    // ---- Signed attributes.
    const signedAttrs = si.signedAttrs;
    if (!signedAttrs || signedAttrs.attributes.length === 0) fail('CMS has no signed attributes');
    const attrs = signedAttrs.attributes;
    const ct = attrValues(attrs, OID.contentType);
    if (!ct || ct.length !== 1 || !(ct[0] instanceof asn1js.ObjectIdentifier) || ct[0].valueBlock.toString() !== OID.data) {
      fail('contentType attribute missing or not id-data');
    }
    const md = attrValues(attrs, OID.messageDigest);
    if (!md || md.length !== 1 || !(md[0] instanceof asn1js.OctetString)) fail('messageDigest attribute missing or malformed');
    if (!Buffer.from(md[0].valueBlock.valueHexView).equals(digest)) fail('messageDigest does not match the document (document modified)');

    const scv2 = attrValues(attrs, OID.signingCertificateV2);
    if (scv2) {
      // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, ... }; check the first ESSCertIDv2.
      const seq = scv2[0];
      const certsSeq = seq instanceof asn1js.Sequence ? seq.valueBlock.value[0] : undefined;
      const first = certsSeq instanceof asn1js.Sequence ? certsSeq.valueBlock.value[0] : undefined;
      if (!(first instanceof asn1js.Sequence)) fail('malformed signing-certificate-v2 attribute');
      let idx = 0;
      let hashName: 'sha256' | 'sha384' | 'sha512' | undefined = 'sha256';
      const f0 = first.valueBlock.value[0];
      if (f0 instanceof asn1js.Sequence) {
        const algOid = f0.valueBlock.value[0];
        hashName = algOid instanceof asn1js.ObjectIdentifier ? DIGEST_BY_OID[algOid.valueBlock.toString()] : undefined;
        idx = 1;
      }
      const certHash = first.valueBlock.value[idx];
      if (!hashName || !(certHash instanceof asn1js.OctetString)) fail('malformed signing-certificate-v2 attribute');
      if (!Buffer.from(certHash.valueBlock.valueHexView).equals(digestOf(hashName, certDer))) {
        fail('signing-certificate-v2 does not match the embedded certificate');
      }
    } else if (sd.subFilter === 'ETSI.CAdES.detached') {
      fail('ETSI.CAdES.detached signature lacks the signing-certificate-v2 attribute');
    }

    const st = attrValues(attrs, OID.signingTime);
    if (st) {
      const t = asn1Time(st[0]);
      if (!t || st.length !== 1) fail('malformed signing-time attribute');
      result.signingTime = t;
      result.signingTimeSource = 'cms';
    } else if (sd.pdfSigningTime) {
      result.signingTime = sd.pdfSigningTime;
      result.signingTimeSource = 'pdf-M';
    }

    // ---- Signature over the DER SET of signed attributes.
    const sigAlg = SIGNATURE_ALGORITHMS[si.signatureAlgorithm.algorithmId];
    if (!sigAlg) fail(`unsupported signature algorithm ${si.signatureAlgorithm.algorithmId}`);
    if (cert.keyType !== sigAlg.key) fail(`signature algorithm does not match the certificate key type (${cert.keyType})`);
    if (sigAlg.digest && sigAlg.digest !== digestName) fail('signature algorithm digest differs from the digest algorithm');
    const signedBytes = Buffer.from(signedAttrs.encodedValue); // pkijs already swapped [0] for SET (0x31)
    if (signedBytes[0] !== 0x31) fail('internal: signed attributes encoding');
    const signature = Buffer.from(si.signature.valueBlock.valueHexView);
    let valid = false;
    try {
      valid = verifySignature(sigAlg.key, digestName, cert.spki, signedBytes, signature);
    } catch (e) {
      fail(`the certificate's public key does not parse: ${(e as Error).message}`);
    }
    if (!valid) fail('CMS signature does not verify with the embedded certificate');

    // ---- Certificate validity at the claimed signing time.
    if (result.signingTime) {
      const t = result.signingTime.getTime();
      if (t < cert.notBefore.getTime() || t > cert.notAfter.getTime()) {
        fail('certificate was not valid at the signing time');
      }
    }

    // ---- Pinning.
    if (opts.expectedCertificatePem !== undefined) {
      let pinned: Certificate | undefined;
      try {
        pinned = certificatesFromPem(opts.expectedCertificatePem)[0];
      } catch {
        // reported below
      }
      if (!pinned) fail('expected certificate PEM does not parse');
      if (!pinned.der.equals(certDer)) fail('signer certificate is not the expected certificate');
    }
    if (opts.expectedFingerprintSha256 !== undefined && normFingerprint(opts.expectedFingerprintSha256) !== result.certificateFingerprintSha256) {
      fail('signer certificate fingerprint is not the expected one');
    }
    result.ok = true;
    return result;
  } catch (e) {
    result.ok = false;
    result.reason = e instanceof VerifyError ? e.message : `verification error: ${(e as Error)?.message ?? String(e)}`;
    return result;
  }
}

export interface ExtractedAttachment {
  content: Buffer;
  description?: string;
}

/**
 * Embedded files of a PDF (EmbeddedFiles name tree and file attachment annotations),
 * keyed by file name, parsed with pdfjs-dist (loaded lazily; no eval, no system fonts,
 * no network). Throws if the PDF cannot be parsed.
 */
export async function extractAttachments(pdf: Uint8Array): Promise<Map<string, Buffer>> {
  const detailed = await extractAttachmentsDetailed(pdf);
  return new Map([...detailed].map(([k, v]) => [k, v.content]));
}

async function openPdf(pdf: Uint8Array) {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  // pdfjs takes ownership of (and may detach) the buffer it is given: pass a copy.
  const data = new Uint8Array(pdf.byteLength);
  data.set(pdf);
  const task = pdfjs.getDocument({
    data,
    useSystemFonts: false,
    isEvalSupported: false,
    disableFontFace: true,
    stopAtErrors: true,
    verbosity: 0,
  });
  return task.promise;
}

/** The text of the first `pages` pages, each page's items joined by spaces (what a reader shows, for looking up a line). */
export async function extractText(pdf: Uint8Array, pages: number): Promise<string[]> {
  const doc = await openPdf(pdf);
  try {
    const out: string[] = [];
    for (let n = 1; n <= Math.min(pages, doc.numPages); n++) {
      const content = await (await doc.getPage(n)).getTextContent();
      out.push(content.items.map((i) => ('str' in i ? i.str : '')).join(' '));
    }
    return out;
  } finally {
    await doc.destroy();
  }
}

export async function extractAttachmentsDetailed(pdf: Uint8Array): Promise<Map<string, ExtractedAttachment>> {
  const doc = await openPdf(pdf);
  try {
    const atts = ((await doc.getAttachments()) ?? {}) as Record<string, { filename?: string; content?: Uint8Array; description?: string }>;
    const out = new Map<string, ExtractedAttachment>();
    for (const [key, att] of Object.entries(atts)) {
      if (!att?.content) continue;
      const name = att.filename || key;
      const entry: ExtractedAttachment = { content: Buffer.from(att.content) };
      if (att.description) entry.description = att.description;
      out.set(name, entry);
    }
    return out;
  } finally {
    await doc.destroy();
  }
}
