/**
 * RFC 3161 time-stamping client: build a TimeStampReq, send it through an injected `post`
 * function, and check the TimeStampResp strictly before anything of it is kept.
 *
 * The module does no I/O of its own (the caller supplies `post`), so it stays a pure domain
 * module that can be tested against any TSA. Everything received is hostile: the response must
 * be DER, granted, carry a SignedData token over a TSTInfo whose imprint and nonce are ours, and
 * the CMS signature must verify with the TSA certificate inside the token.
 *
 * Like src/pdf/verify.ts, pkijs/asn1js only parse the ASN.1; signatures and digests are checked
 * through crypto/hash.ts and crypto/signature.ts (synchronous; node:crypto in Node, their browser
 * twins in the verification page, which runs this module as it is). It deliberately
 * imports nothing from src/pdf: the PDF signer is the likely caller (signature timestamps), and
 * a pdf/ <-> timestamp/ import would be a folder cycle.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

import { DIGEST_BY_OID, OID, SIGNATURE_ALGORITHMS, type DigestName } from '../crypto/cms-algorithms.js';
import { constantTimeEqual, digestOf } from '../crypto/hash.js';
import { verifySignature } from '../crypto/signature.js';
import { certificatesFromPem, issuedBy, parseCertificate, pemOf, type Certificate } from '../crypto/x509.js';


/** Media types of RFC 3161 section 3.4 (time-stamp protocol via HTTP). */
export const TIMESTAMP_QUERY_TYPE = 'application/timestamp-query';
export const TIMESTAMP_REPLY_TYPE = 'application/timestamp-reply';

/** A response or token larger than this is refused before parsing (real ones are a few KiB). */
export const MAX_RESPONSE_BYTES = 256 * 1024;
const MAX_DER_DEPTH = 40;
const MAX_CHAIN = 8;

export type TimestampErrorCode =
  | 'bad-input' // our own arguments are wrong
  | 'http' // transport failed or HTTP status was not 200
  | 'content-type' // the answer is not application/timestamp-reply
  | 'malformed' // not DER / not the RFC 3161 or CMS structure
  | 'status' // the TSA refused (PKIStatus not granted)
  | 'imprint' // the token stamps a different digest
  | 'nonce' // the token answers another request (replay)
  | 'signature' // the CMS signature or its signed attributes do not verify
  | 'certificate' // the TSA certificate is unfit (EKU, validity, name)
  | 'untrusted'; // no chain to the given trusted certificates

/** Every failure of this module is a TimestampError with a code and a sentence saying why. */
export class TimestampError extends Error {
  override readonly name = 'TimestampError';
  constructor(
    readonly code: TimestampErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function fail(code: TimestampErrorCode, message: string): never {
  throw new TimestampError(code, message);
}

/** Runs `f`; any non-TimestampError (a pkijs/asn1js/node throw on odd input) becomes 'malformed'. */
function guarded<T>(what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof TimestampError) throw e;
    fail('malformed', `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export interface TimestampToken {
  /** The TimeStampToken: DER of the CMS ContentInfo(SignedData), the thing to store. */
  token: Buffer;
  /** TSTInfo genTime. */
  genTime: Date;
  /** TSTInfo serialNumber, lowercase hex of its two's complement bytes (OpenSSL prints "0x" + this). */
  serial: string;
  /** TSTInfo tsa name, when present (a directory name is written like "CN=..., O=..."). */
  tsaName?: string;
  /** TSTInfo policy OID. */
  policy: string;
  /** TSTInfo nonce, when present. */
  nonce?: bigint;
  /** The TSA certificate (from the token) that verified the signature, PEM. */
  tsaCertificatePem: string;
}

export interface ExpectedTimestamp {
  /** The SHA-256 digest we asked to be stamped. */
  digest: Uint8Array;
  /** The nonce of our request: the reply must echo it. */
  nonce: bigint;
  /** If given, the TSA certificate must chain to one of these (PEM; one string may hold several). */
  trustedCertsPem?: string | readonly string[];
}

// ---------------------------------------------------------------------------------------------
// DER: a small strict walker. It runs before asn1js so hostile input (indefinite lengths, BER
// tricks, absurd nesting, trailing bytes) is refused with a reason and never reaches the parsers.

interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function readTlv(buf: Uint8Array, p: number, end: number): Tlv {
  const start = p;
  const tag = buf[p++];
  if (tag === undefined || p > end) fail('malformed', 'truncated DER');
  if ((tag & 0x1f) === 0x1f) fail('malformed', 'DER high tag numbers are not used by RFC 3161');
  const l0 = buf[p++];
  if (l0 === undefined || p > end) fail('malformed', 'truncated DER length');
  let len = l0;
  if (l0 === 0x80) fail('malformed', 'indefinite-length encoding (BER, not DER)');
  if (l0 > 0x80) {
    const n = l0 & 0x7f;
    if (n > 3 || p + n > end) fail('malformed', 'DER length out of range');
    if (buf[p] === 0) fail('malformed', 'non-minimal DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p + i] ?? 0);
    if (len < 0x80) fail('malformed', 'non-minimal DER length');
    p += n;
  }
  if (p + len > end) fail('malformed', 'DER element overruns its container');
  return { tag, start, contentStart: p, end: p + len };
}

function childrenOf(buf: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.contentStart; p < t.end; ) {
    const c = readTlv(buf, p, t.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** Checks the whole of `buf` is exactly one DER element, recursively; returns it. */
function strictDer(buf: Uint8Array, what: string): Tlv {
  if (buf.length === 0) fail('malformed', `${what} is empty`);
  if (buf.length > MAX_RESPONSE_BYTES) fail('malformed', `${what} is larger than ${MAX_RESPONSE_BYTES} bytes`);
  const top = readTlv(buf, 0, buf.length);
  if (top.end !== buf.length) fail('malformed', `${what} has ${buf.length - top.end} trailing bytes after the DER`);
  const walk = (t: Tlv, depth: number): void => {
    if (depth > MAX_DER_DEPTH) fail('malformed', `${what} nests too deeply`);
    const constructed = (t.tag & 0x20) !== 0;
    const universal = (t.tag & 0xc0) === 0;
    const num = t.tag & 0x1f;
    // DER: strings are primitive; SEQUENCE and SET are constructed.
    if (universal && constructed && num !== 16 && num !== 17) fail('malformed', `${what} uses a constructed string (BER, not DER)`);
    if (universal && !constructed && (num === 16 || num === 17)) fail('malformed', `${what} has a primitive SEQUENCE/SET`);
    if (constructed) for (const c of childrenOf(buf, t)) walk(c, depth + 1);
  };
  walk(top, 0);
  return top;
}

function bytes(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function parseBer(buf: Uint8Array, what: string): asn1js.AsnType {
  const r = asn1js.fromBER(bytes(buf));
  if (r.offset === -1 || r.offset !== buf.length) fail('malformed', `${what} does not parse as ASN.1${r.result.error ? ` (${r.result.error})` : ''}`);
  return r.result;
}

function checkDigest(digest: Uint8Array, what = 'digest'): Buffer {
  if (!(digest instanceof Uint8Array) || digest.length !== 32) fail('bad-input', `${what} must be a 32-byte SHA-256 digest`);
  return Buffer.from(digest);
}

function oidOf(v: unknown): string | undefined {
  return v instanceof asn1js.ObjectIdentifier ? v.valueBlock.toString() : undefined;
}

function hexOfInteger(i: asn1js.Integer): string {
  const raw = Buffer.from(i.valueBlock.valueHexView);
  // The 00 that only keeps a positive INTEGER positive is not part of the serial.
  return (raw.length > 1 && raw[0] === 0 ? raw.subarray(1) : raw).toString('hex');
}

// ---------------------------------------------------------------------------------------------
// Request

/**
 * DER TimeStampReq (RFC 3161 2.4.1): version 1, messageImprint (SHA-256, parameters NULL as
 * OpenSSL writes them), nonce, certReq TRUE (so the token carries the TSA certificate we verify
 * against). No reqPolicy: the TSA's default policy is reported back in the token.
 */
export function buildTimeStampRequest(sha256Digest: Uint8Array, nonce: bigint): Buffer {
  const digest = checkDigest(sha256Digest);
  // A nonce is a large positive random number; cap it at 160 bits (what RFC 3161 implementations accept).
  if (typeof nonce !== 'bigint' || nonce <= 0n || nonce >= 1n << 160n) fail('bad-input', 'nonce must be a positive integer below 2^160');
  const req = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 1 }),
      new asn1js.Sequence({
        value: [new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.sha256 }), new asn1js.Null()] }), new asn1js.OctetString({ valueHex: bytes(digest) })],
      }),
      asn1js.Integer.fromBigInt(nonce),
      new asn1js.Boolean({ value: true }),
    ],
  });
  return Buffer.from(req.toBER(false));
}

/** A random 64-bit nonce (top bit set so it always has 8 bytes, never zero). */
export function randomNonce(): bigint {
  const b = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(8)));
  b[0] = (b[0] ?? 0) | 0x80;
  return BigInt(`0x${b.toString('hex')}`);
}

// ---------------------------------------------------------------------------------------------
// Response

const PKI_STATUS: Readonly<Record<string, string>> = {
  '0': 'granted',
  '1': 'grantedWithMods',
  '2': 'rejection',
  '3': 'waiting',
  '4': 'revocationWarning',
  '5': 'revocationNotification',
};

const FAILURE_INFO: Readonly<Record<number, string>> = {
  0: 'badAlg',
  2: 'badRequest',
  5: 'badDataFormat',
  14: 'timeNotAvailable',
  15: 'unacceptedPolicy',
  16: 'unacceptedExtension',
  17: 'addInfoNotAvailable',
  25: 'systemFailure',
};

/** PKIStatusInfo: returns normally only for granted / grantedWithMods; otherwise throws the TSA's own words. */
function checkStatus(buf: Uint8Array, t: Tlv): void {
  if (t.tag !== 0x30) fail('malformed', 'PKIStatusInfo is not a SEQUENCE');
  const [st, ...rest] = childrenOf(buf, t);
  if (!st || st.tag !== 0x02 || st.end - st.contentStart > 4) fail('malformed', 'PKIStatus is not a small INTEGER');
  const status = (parseBer(buf.subarray(st.start, st.end), 'PKIStatus') as asn1js.Integer).toBigInt().toString();
  // statusString then failInfo, each optional, in that order.
  const [first, second, ...extra] = rest;
  const textTlv = first?.tag === 0x30 ? first : undefined;
  const failTlv = textTlv ? second : first;
  const leftover = textTlv ? extra : [second, ...extra].filter((x) => x !== undefined);
  if (leftover.length > 0 || (failTlv && failTlv.tag !== 0x03)) fail('malformed', 'unexpected element in PKIStatusInfo');
  let text: string[] = [];
  const failInfo: string[] = [];
  if (textTlv) {
    const free = parseBer(buf.subarray(textTlv.start, textTlv.end), 'PKIFreeText') as asn1js.Sequence;
    // TSA-supplied text goes into our error message: keep it printable and short.
    text = free.valueBlock.value.map((s) => (s instanceof asn1js.Utf8String ? s.valueBlock.value : '?').replace(/[^\x20-\x7e]/g, '?').slice(0, 200));
  }
  if (failTlv) {
    if (failTlv.end === failTlv.contentStart) fail('malformed', 'empty PKIFailureInfo BIT STRING');
    const bits = buf.subarray(failTlv.contentStart + 1, failTlv.end); // first content byte: unused-bit count
    for (let i = 0; i < bits.length * 8; i++) if (((bits[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) failInfo.push(FAILURE_INFO[i] ?? `bit ${i}`);
  }
  if (status === '0' || status === '1') return;
  const detail = [text.length ? `"${text.join(' ')}"` : '', failInfo.length ? `failInfo ${failInfo.join(', ')}` : ''].filter(Boolean).join('; ');
  fail('status', `TSA did not grant the timestamp: status ${PKI_STATUS[status] ?? status}${detail ? ` (${detail})` : ''}`);
}

/**
 * Checks a DER TimeStampResp (RFC 3161 2.4.2) against our request and returns the token.
 * Throws TimestampError saying why when the TSA refused, the bytes are not a well-formed
 * response, the imprint or nonce is not ours, or the CMS signature does not verify.
 */
export function parseTimeStampResponse(der: Uint8Array, expect: ExpectedTimestamp): TimestampToken {
  if (!(der instanceof Uint8Array)) fail('bad-input', 'response must be bytes');
  const digest = checkDigest(expect.digest, 'expected digest');
  if (typeof expect.nonce !== 'bigint') fail('bad-input', 'expected nonce must be a bigint');
  return guarded('TimeStampResp', () => {
    const top = strictDer(der, 'TimeStampResp');
    if (top.tag !== 0x30) fail('malformed', 'TimeStampResp is not a SEQUENCE');
    const parts = childrenOf(der, top);
    const statusInfo = parts[0];
    if (!statusInfo || parts.length > 2) fail('malformed', `TimeStampResp has ${parts.length} elements (expected status and token)`);
    checkStatus(der, statusInfo);
    const tok = parts[1];
    if (!tok) fail('malformed', 'TSA granted the request but sent no TimeStampToken');
    const result = checkToken(Buffer.from(der.subarray(tok.start, tok.end)), digest, expect.trustedCertsPem);
    if (result.nonce === undefined) fail('nonce', 'token has no nonce, but our request carried one (RFC 3161 requires it to be echoed)');
    if (result.nonce !== expect.nonce) fail('nonce', 'token nonce differs from our request: a replayed or misrouted response');
    return result;
  });
}

/**
 * Re-checks a stored TimeStampToken (ContentInfo DER) for `digest`: structure, imprint, signed
 * attributes and CMS signature with the TSA certificate in the token, and when
 * `trustedCertsPem` is given, a certificate chain from that TSA certificate to one of them,
 * valid at genTime. Throws TimestampError with the reason.
 */
export function verifyTimestampToken(tokenDer: Uint8Array, digest: Uint8Array, trustedCertsPem?: string | readonly string[]): TimestampToken {
  if (!(tokenDer instanceof Uint8Array)) fail('bad-input', 'token must be bytes');
  const d = checkDigest(digest);
  return guarded('TimeStampToken', () => checkToken(Buffer.from(tokenDer), d, trustedCertsPem));
}

function certificatesOf(buf: Buffer, signedData: Tlv): Buffer[] {
  // Raw bytes of the embedded certificates ([0] IMPLICIT SET OF), so that the ESS hash is over
  // exactly what the TSA put there, not a re-encoding.
  const field = childrenOf(buf, signedData).find((c) => c.tag === 0xa0);
  return field ? childrenOf(buf, field).filter((c) => c.tag === 0x30).map((c) => Buffer.from(buf.subarray(c.start, c.end))) : [];
}

function attribute(attrs: pkijs.Attribute[], oid: string, what: string): unknown | undefined {
  const found = attrs.filter((a) => a.type === oid);
  if (found.length === 0) return undefined;
  if (found.length > 1 || found[0]?.values.length !== 1) fail('signature', `signed attribute ${what} must occur once with one value`);
  return found[0].values[0];
}

/** ESS signing-certificate(-v2) (RFC 3161 2.4.1 / RFC 5816): the first ESSCertID must hash the signer certificate. */
function checkEssCertId(attrs: pkijs.Attribute[], certDer: Buffer): void {
  const v2 = attribute(attrs, OID.signingCertificateV2, 'signingCertificateV2');
  const v1 = attribute(attrs, OID.signingCertificate, 'signingCertificate');
  if (v2 === undefined && v1 === undefined) fail('signature', 'token lacks the ESS signing-certificate attribute that binds the TSA certificate');
  const check = (v: unknown, isV2: boolean) => {
    const certs = v instanceof asn1js.Sequence ? v.valueBlock.value[0] : undefined;
    const first = certs instanceof asn1js.Sequence ? certs.valueBlock.value[0] : undefined;
    if (!(first instanceof asn1js.Sequence)) fail('signature', 'malformed ESS signing-certificate attribute');
    let hash: 'sha1' | DigestName | undefined = isV2 ? 'sha256' : 'sha1';
    let idx = 0;
    const f0 = first.valueBlock.value[0];
    if (isV2 && f0 instanceof asn1js.Sequence) {
      hash = DIGEST_BY_OID[oidOf(f0.valueBlock.value[0]) ?? ''];
      idx = 1;
    }
    const certHash = first.valueBlock.value[idx];
    if (!hash || !(certHash instanceof asn1js.OctetString)) fail('signature', 'malformed or unsupported ESS signing-certificate attribute');
    if (!Buffer.from(certHash.valueBlock.valueHexView).equals(digestOf(hash, certDer))) {
      fail('signature', 'ESS signing-certificate attribute does not match the TSA certificate in the token');
    }
  };
  if (v2 !== undefined) check(v2, true);
  if (v1 !== undefined) check(v1, false);
}

function findSigner(si: pkijs.SignerInfo, certs: { der: Buffer; pk: pkijs.Certificate }[]): { der: Buffer; pk: pkijs.Certificate } | undefined {
  if (si.sid instanceof pkijs.IssuerAndSerialNumber) {
    const issuer = Buffer.from(si.sid.issuer.toSchema().toBER(false));
    const serial = Buffer.from(si.sid.serialNumber.valueBlock.valueHexView);
    return certs.find((c) => Buffer.from(c.pk.issuer.toSchema().toBER(false)).equals(issuer) && Buffer.from(c.pk.serialNumber.valueBlock.valueHexView).equals(serial));
  }
  if (si.sid instanceof asn1js.Primitive) {
    // [0] SubjectKeyIdentifier
    const ski = Buffer.from(si.sid.valueBlock.valueHexView);
    return certs.find((c) => {
      const v = c.pk.extensions?.find((e) => e.extnID === OID.subjectKeyIdentifier)?.parsedValue as asn1js.OctetString | undefined;
      return v instanceof asn1js.OctetString && Buffer.from(v.valueBlock.valueHexView).equals(ski);
    });
  }
  return undefined;
}

/** Parameters of the digest and signature algorithms we accept are absent or NULL (RFC 5754, 5758, 8017). */
function nullOrAbsent(a: pkijs.AlgorithmIdentifier): boolean {
  return a.algorithmParams === undefined || a.algorithmParams instanceof asn1js.Null;
}

function validAt(c: pkijs.Certificate, t: Date): boolean {
  return c.notBefore.value.getTime() <= t.getTime() && t.getTime() <= c.notAfter.value.getTime();
}

function tsaNameOf(name: pkijs.GeneralName, cert: pkijs.Certificate, x509: Certificate): string {
  // RFC 3161: if present, tsa MUST correspond to one of the subject names of the TSA certificate.
  if (name.type === 4 && name.value instanceof pkijs.RelativeDistinguishedNames) {
    if (!Buffer.from(name.value.toSchema().toBER(false)).equals(Buffer.from(cert.subject.toSchema().toBER(false)))) {
      fail('certificate', 'TSTInfo tsa name is not the subject of the TSA certificate');
    }
    return x509.subject;
  }
  const prefix = ({ 1: 'email', 2: 'DNS', 6: 'URI' } as Record<number, string>)[name.type];
  if (!prefix || typeof name.value !== 'string') fail('certificate', `TSTInfo tsa name of GeneralName type ${name.type} is not supported`);
  const s = `${prefix}:${name.value}`;
  if (!(x509.subjectAltName ?? '').split(', ').includes(s)) fail('certificate', 'TSTInfo tsa name is not a subject alternative name of the TSA certificate');
  return s;
}

function checkToken(token: Buffer, digest: Buffer, trustedCertsPem: string | readonly string[] | undefined): TimestampToken {
  // ---- ContentInfo(SignedData) with an id-ct-TSTInfo eContent.
  const ciTlv = strictDer(token, 'TimeStampToken');
  const ci = new pkijs.ContentInfo({ schema: parseBer(token, 'TimeStampToken') });
  if (ci.contentType !== OID.signedData) fail('malformed', `TimeStampToken is not CMS SignedData (content type ${ci.contentType})`);
  const sdTlv = childrenOf(token, childrenOf(token, ciTlv)[1] ?? fail('malformed', 'TimeStampToken has no content'))[0];
  if (!sdTlv) fail('malformed', 'TimeStampToken has no SignedData');
  const sd = new pkijs.SignedData({ schema: ci.content });
  if (sd.version !== 3) fail('malformed', `SignedData version ${sd.version} (RFC 5652 requires 3 for TSTInfo content)`);
  if (sd.encapContentInfo.eContentType !== OID.tstInfo) fail('malformed', `token content is ${sd.encapContentInfo.eContentType}, not id-ct-TSTInfo`);
  const eContent = sd.encapContentInfo.eContent;
  if (!(eContent instanceof asn1js.OctetString) || eContent.idBlock.isConstructed) fail('malformed', 'token has no TSTInfo content');
  const tstDer = Buffer.from(eContent.valueBlock.valueHexView);
  strictDer(tstDer, 'TSTInfo');

  // ---- TSTInfo: version, imprint (the one check that ties the token to our data), genTime.
  const tst = new pkijs.TSTInfo({ schema: parseBer(tstDer, 'TSTInfo') });
  if (tst.version !== 1) fail('malformed', `TSTInfo version ${tst.version}`);
  const mi = tst.messageImprint;
  if (mi.hashAlgorithm.algorithmId !== OID.sha256) fail('imprint', `token stamps a ${mi.hashAlgorithm.algorithmId} digest, we asked for SHA-256`);
  if (!nullOrAbsent(mi.hashAlgorithm)) fail('malformed', 'SHA-256 AlgorithmIdentifier has parameters');
  const imprint = Buffer.from(mi.hashedMessage.valueBlock.valueHexView);
  // Constant time: how much of the imprint matches is nobody's business.
  if (!constantTimeEqual(imprint, digest)) fail('imprint', 'token imprint is not the digest we asked to be stamped');
  // We understand no TSTInfo extension, so a critical one means we cannot know what was stamped.
  const critical = tst.extensions?.find((e) => e.critical);
  if (critical) fail('malformed', `TSTInfo has a critical extension we do not support (${critical.extnID})`);
  const genTime = tst.genTime;
  if (!(genTime instanceof Date) || Number.isNaN(genTime.getTime())) fail('malformed', 'TSTInfo genTime is not a valid time');

  // ---- One signer, its certificate from the token.
  if (sd.signerInfos.length !== 1) fail('signature', `token has ${sd.signerInfos.length} signers (expected exactly one)`);
  const si = sd.signerInfos[0] ?? fail('signature', 'token has no signer');
  // pkijs has parsed the certificates already (in order); pair them with their raw bytes.
  const rawCerts = certificatesOf(token, sdTlv);
  const parsedCerts = sd.certificates ?? [];
  if (parsedCerts.length !== rawCerts.length) fail('malformed', 'token certificates are not all X.509 certificates');
  const certs = rawCerts.map((der, i) => {
    const pk = parsedCerts[i];
    if (!(pk instanceof pkijs.Certificate)) fail('malformed', 'token certificates are not all X.509 certificates');
    return { der, pk };
  });
  const signer = findSigner(si, certs);
  if (!signer) fail('signature', 'TSA certificate is not in the token (certReq was set, so it must be)');
  const x509 = guarded('TSA certificate', () => parseCertificate(signer.der));

  // RFC 5652 5.3: version 1 goes with issuerAndSerialNumber, 3 with subjectKeyIdentifier.
  if (si.version !== (si.sid instanceof pkijs.IssuerAndSerialNumber ? 1 : 3)) fail('malformed', `SignerInfo version ${si.version} does not fit its signer identifier`);

  // ---- Algorithms. The unsigned parts of the token are held to what a TSA writes, so that no
  // byte of a stored token can change without it being refused.
  const digestName = DIGEST_BY_OID[si.digestAlgorithm.algorithmId];
  if (!digestName) fail('signature', `unsupported CMS digest algorithm ${si.digestAlgorithm.algorithmId}`);
  for (const a of [si.digestAlgorithm, ...sd.digestAlgorithms]) {
    if (!DIGEST_BY_OID[a.algorithmId] || !nullOrAbsent(a)) fail('malformed', `unexpected digest AlgorithmIdentifier ${a.algorithmId}`);
  }
  if (!sd.digestAlgorithms.some((a) => a.algorithmId === si.digestAlgorithm.algorithmId)) fail('malformed', 'SignedData digestAlgorithms does not list the signer digest');
  if (!nullOrAbsent(si.signatureAlgorithm)) fail('malformed', 'signature AlgorithmIdentifier has unexpected parameters');

  // ---- Signed attributes: content type, message digest of the TSTInfo bytes, ESS certificate id.
  const signedAttrs = si.signedAttrs;
  if (!signedAttrs || signedAttrs.attributes.length === 0) fail('signature', 'token has no signed attributes');
  const attrs = signedAttrs.attributes;
  if (oidOf(attribute(attrs, OID.contentType, 'contentType')) !== OID.tstInfo) fail('signature', 'signed contentType attribute is not id-ct-TSTInfo');
  const md = attribute(attrs, OID.messageDigest, 'messageDigest');
  if (!(md instanceof asn1js.OctetString)) fail('signature', 'signed messageDigest attribute is missing');
  const tstHash = digestOf(digestName, tstDer);
  const mdBytes = Buffer.from(md.valueBlock.valueHexView);
  if (!constantTimeEqual(mdBytes, tstHash)) fail('signature', 'messageDigest does not match the TSTInfo (token altered)');
  checkEssCertId(attrs, signer.der);

  // ---- The signature over the DER SET of signed attributes.
  const alg = SIGNATURE_ALGORITHMS[si.signatureAlgorithm.algorithmId];
  if (!alg) fail('signature', `unsupported signature algorithm ${si.signatureAlgorithm.algorithmId}`);
  if (x509.keyType !== alg.key) fail('signature', `signature algorithm does not fit the TSA key (${x509.keyType})`);
  if (alg.digest && alg.digest !== digestName) fail('signature', 'signature algorithm digest differs from the CMS digest algorithm');
  const signed = Buffer.from(signedAttrs.encodedValue); // pkijs keeps the original bytes, tag set to SET (0x31)
  if (signed[0] !== 0x31) fail('malformed', 'signed attributes encoding');
  const sig = Buffer.from(si.signature.valueBlock.valueHexView);
  const ok = guarded('CMS signature', () =>
    verifySignature(alg.key, digestName, x509.spki, signed, sig),
  );
  if (!ok) fail('signature', 'CMS signature does not verify with the TSA certificate');

  // ---- The certificate must be a TSA certificate, valid when it stamped.
  const eku = signer.pk.extensions?.filter((e) => e.extnID === OID.extKeyUsage) ?? [];
  const purposes = eku[0]?.parsedValue instanceof pkijs.ExtKeyUsage ? eku[0].parsedValue.keyPurposes : [];
  // RFC 3161 2.3: exactly one extendedKeyUsage extension, critical, with id-kp-timeStamping.
  if (eku.length !== 1 || !eku[0]?.critical || !purposes.includes(OID.timeStamping)) {
    fail('certificate', 'TSA certificate lacks a critical extendedKeyUsage timeStamping');
  }
  if (!validAt(signer.pk, genTime)) fail('certificate', `TSA certificate was not valid at genTime ${genTime.toISOString()}`);

  const out: TimestampToken = {
    token,
    genTime,
    serial: hexOfInteger(tst.serialNumber),
    policy: tst.policy,
    tsaCertificatePem: pemOf(signer.der),
  };
  if (tst.tsa) out.tsaName = tsaNameOf(tst.tsa, signer.pk, x509);
  if (tst.nonce) out.nonce = tst.nonce.toBigInt();
  if (trustedCertsPem !== undefined) checkChain(x509, certs.map((c) => c.der), genTime, trustedCertsPem);
  return out;
}

/** PEM certificates from one or more strings (a bundle may hold several). */
function pemCertificates(pems: string | readonly string[]): Certificate[] {
  const text = typeof pems === 'string' ? pems : pems.join('\n');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) fail('bad-input', 'no PEM certificate among the trusted certificates');
  return blocks.map((b) => {
    try {
      const [c] = certificatesFromPem(b);
      if (!c) throw new Error('no certificate');
      return c;
    } catch (e) {
      fail('bad-input', `a trusted certificate does not parse: ${(e as Error).message}`);
    }
  });
}

function validAtX509(c: Certificate, t: Date): boolean {
  return c.notBefore.getTime() <= t.getTime() && t.getTime() <= c.notAfter.getTime();
}

/** From the TSA certificate up through the token's certificates to a trusted one, each signature and validity checked. */
function checkChain(leaf: Certificate, tokenCerts: Buffer[], at: Date, trustedPems: string | readonly string[]): void {
  const trusted = pemCertificates(trustedPems);
  const pool = tokenCerts.map((d) => parseCertificate(d)).filter((c) => !c.der.equals(leaf.der));
  let cur = leaf;
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    if (trusted.some((t) => t.der.equals(cur.der))) return; // the TSA certificate itself is pinned
    const anchor = trusted.find((t) => t.isCa && issuedBy(cur, t));
    if (anchor) {
      if (!validAtX509(anchor, at)) fail('untrusted', 'trusted certificate was not valid at genTime');
      return;
    }
    const next = pool.find((c) => c.isCa && issuedBy(cur, c));
    if (!next) fail('untrusted', `TSA certificate does not chain to a trusted certificate (stuck at ${cur.subject})`);
    if (!validAtX509(next, at)) fail('untrusted', 'an intermediate certificate was not valid at genTime');
    cur = next;
  }
  fail('untrusted', 'certificate chain too long');
}

// ---------------------------------------------------------------------------------------------
// HTTP exchange (through the injected post).

export interface TsaHttpResponse {
  status: number;
  contentType: string | null | undefined;
  body: Uint8Array;
}

/**
 * Sends `body` to `url` as an HTTP POST with these headers and resolves with the answer. The
 * implementation must forward the headers (Content-Type is what makes it an RFC 3161 query) and
 * should bound time and body size.
 */
export type TsaPost = (url: string, body: Uint8Array, headers: Readonly<Record<string, string>>) => Promise<TsaHttpResponse>;

export interface RequestedTimestamp extends TimestampToken {
  nonce: bigint;
  /** The DER TimeStampReq sent. */
  request: Buffer;
  /** The whole DER TimeStampResp received (what `openssl ts -verify -in` takes). */
  response: Buffer;
}

export interface RequestTimestampOptions {
  /** Use this nonce instead of a random one (tests). */
  nonce?: bigint;
  trustedCertsPem?: string | readonly string[];
}

/** Asks the TSA at `url` to stamp a SHA-256 `digest` and returns the checked token. */
export async function requestTimestamp(url: string, digest: Uint8Array, post: TsaPost, opts: RequestTimestampOptions = {}): Promise<RequestedTimestamp> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    fail('bad-input', `TSA URL is not a URL: ${url}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') fail('bad-input', `TSA URL must be http(s): ${url}`);
  const nonce = opts.nonce ?? randomNonce();
  const request = buildTimeStampRequest(digest, nonce);
  let res: TsaHttpResponse;
  try {
    res = await post(u.toString(), request, { 'Content-Type': TIMESTAMP_QUERY_TYPE, Accept: TIMESTAMP_REPLY_TYPE });
  } catch (e) {
    // fetch() hides the useful part ("other side closed", "ECONNREFUSED") in the cause.
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    fail('http', `request to the TSA failed: ${e instanceof Error ? e.message : String(e)}${cause}`);
  }
  if (res.status !== 200) fail('http', `TSA answered HTTP ${res.status}`);
  const type = (res.contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== TIMESTAMP_REPLY_TYPE) fail('content-type', `TSA answered ${type ? `"${type.slice(0, 100)}"` : 'without a content type'}, not ${TIMESTAMP_REPLY_TYPE}`);
  if (!(res.body instanceof Uint8Array)) fail('http', 'TSA answer has no body');
  const response = Buffer.from(res.body);
  const parsed = parseTimeStampResponse(response, opts.trustedCertsPem === undefined ? { digest, nonce } : { digest, nonce, trustedCertsPem: opts.trustedCertsPem });
  return { ...parsed, nonce, request, response };
}
