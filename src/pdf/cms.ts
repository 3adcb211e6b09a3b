/**
 * CMS (RFC 5652) SignedData construction for detached PDF signatures, plus small
 * shared helpers (OIDs, PDF date strings, DER utilities) used by sign.ts and verify.ts.
 *
 * The signature value is produced with node:crypto (ECDSA P-256 / RSA PKCS#1 v1.5,
 * both with SHA-256); pkijs/asn1js only do the ASN.1 structure.
 */
import { createHash, createPublicKey, sign as cryptoSign, type KeyObject, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

export { DIGEST_BY_OID, OID, SIGNATURE_ALGORITHMS } from '../crypto/cms-algorithms.js';
import { DIGEST_BY_OID, OID, SIGNATURE_ALGORITHMS } from '../crypto/cms-algorithms.js';
export { parsePdfDate, tlvLength } from './pdf-syntax.js';

/** DER length prefix. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Parse a DER buffer into a pkijs Certificate. */
export function pkijsCertificate(der: Uint8Array): pkijs.Certificate {
  return pkijs.Certificate.fromBER(toArrayBuffer(der));
}

function clone<T extends asn1js.AsnType>(v: { toBER(sizeOnly?: boolean): ArrayBuffer }): T {
  const parsed = asn1js.fromBER(v.toBER(false));
  if (parsed.offset === -1) throw new Error('internal ASN.1 clone failed');
  return parsed.result as T;
}

function timeValue(d: Date): asn1js.UTCTime | asn1js.GeneralizedTime {
  const y = d.getUTCFullYear();
  // RFC 5652 11.3: UTCTime for 1950..2049, GeneralizedTime otherwise. Whole seconds only.
  const whole = new Date(Math.floor(d.getTime() / 1000) * 1000);
  return y >= 1950 && y < 2050 ? new asn1js.UTCTime({ valueDate: whole }) : new asn1js.GeneralizedTime({ valueDate: whole });
}

/** ESS signing-certificate-v2 attribute value (RFC 5035) for SHA-256, with issuerSerial. */
function signingCertificateV2Value(cert: pkijs.Certificate, certDer: Uint8Array): asn1js.Sequence {
  const certHash = createHash('sha256').update(certDer).digest();
  const issuerSerial = new asn1js.Sequence({
    value: [
      new asn1js.Sequence({
        value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [cert.issuer.toSchema()] })],
      }),
      clone<asn1js.Integer>(cert.serialNumber),
    ],
  });
  // hashAlgorithm omitted: DEFAULT id-sha256 (DER forbids encoding defaults).
  const essCertIdV2 = new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: toArrayBuffer(certHash) }), issuerSerial] });
  return new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertIdV2] })] });
}

export interface BuildSignedDataParams {
  /** SHA-256 digest of the signed content (the PDF ByteRange bytes). */
  contentDigest: Buffer;
  /** DER of the signer certificate. */
  certificateDer: Uint8Array;
  privateKey: KeyObject;
  /** Adds the CMS signing-time attribute. PAdES (ETSI.CAdES.detached) forbids it; the time goes into /M instead. */
  signingTime?: Date;
  /** Adds the ESS signing-certificate-v2 attribute (mandatory for ETSI.CAdES.detached). */
  signingCertificateV2: boolean;
}

/**
 * Build a DER-encoded CMS ContentInfo(SignedData) with detached content, one signer,
 * signed attributes (contentType, messageDigest, [signingTime], [signingCertificateV2])
 * and the signer certificate embedded.
 */
export function buildDetachedSignedData(p: BuildSignedDataParams): Buffer {
  if (p.contentDigest.length !== 32) throw new Error('contentDigest must be a SHA-256 digest');
  const certDer = p.certificateDer;
  const cert = pkijsCertificate(certDer);

  // The private key must match the certificate, or the result would never verify.
  const certSpki = new X509Certificate(Buffer.from(certDer)).publicKey.export({ type: 'spki', format: 'der' });
  const keySpki = createPublicKey(p.privateKey).export({ type: 'spki', format: 'der' });
  if (!certSpki.equals(keySpki)) throw new Error('private key does not match the signing certificate');

  const keyType = p.privateKey.asymmetricKeyType;
  let sigAlgOid: string;
  let sigAlgParams: asn1js.Null | undefined;
  if (keyType === 'ec') {
    sigAlgOid = OID.ecdsaWithSha256; // RFC 5758: parameters absent
  } else if (keyType === 'rsa') {
    sigAlgOid = OID.sha256WithRsa;
    sigAlgParams = new asn1js.Null();
  } else {
    throw new Error(`unsupported signing key type: ${String(keyType)} (use ECDSA or RSA)`);
  }

  const attributes: pkijs.Attribute[] = [
    new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
    new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: toArrayBuffer(p.contentDigest) })] }),
  ];
  if (p.signingTime) attributes.push(new pkijs.Attribute({ type: OID.signingTime, values: [timeValue(p.signingTime)] }));
  if (p.signingCertificateV2) {
    attributes.push(new pkijs.Attribute({ type: OID.signingCertificateV2, values: [signingCertificateV2Value(cert, certDer)] }));
  }

  // DER: SET OF elements are ordered by their encodings. Verifiers (OpenSSL, NSS) re-encode
  // the attributes as DER before checking, so the order matters.
  const encoded = attributes.map((a) => ({ a, der: Buffer.from(a.toSchema().toBER(false)) }));
  encoded.sort((x, y) => Buffer.compare(x.der, y.der));
  const content = Buffer.concat(encoded.map((e) => e.der));
  const signedAttrsSet = Buffer.concat([Buffer.from([0x31]), derLength(content.length), content]);

  const signature = keyType === 'ec' ? cryptoSign('sha256', signedAttrsSet, { key: p.privateKey, dsaEncoding: 'der' }) : cryptoSign('sha256', signedAttrsSet, p.privateKey);

  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: clone<asn1js.Integer>(cert.serialNumber) }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 }),
    signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: encoded.map((e) => e.a) }),
    signatureAlgorithm: new pkijs.AlgorithmIdentifier(
      sigAlgParams ? { algorithmId: sigAlgOid, algorithmParams: sigAlgParams } : { algorithmId: sigAlgOid },
    ),
    signature: new asn1js.OctetString({ valueHex: toArrayBuffer(signature) }),
  });

  const signedData = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 })],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: [cert],
    signerInfos: [signerInfo],
  });
  const contentInfo = new pkijs.ContentInfo({ contentType: OID.signedData, content: signedData.toSchema(true) });
  const der = Buffer.from(contentInfo.toSchema().toBER(false));

  // Self-check: the signed attributes as encoded in the output must be exactly what we signed.
  const check = pkijs.ContentInfo.fromBER(toArrayBuffer(der));
  const sd = new pkijs.SignedData({ schema: check.content });
  const enc = sd.signerInfos[0]?.signedAttrs?.encodedValue;
  if (!enc || !Buffer.from(enc).equals(signedAttrsSet)) throw new Error('internal error: signed attributes re-encoding mismatch');
  return der;
}
