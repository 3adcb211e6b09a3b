// X.509 certificates read with pkijs, the same code in Node and in the browser: the fields the
// CMS verifiers (PDF signature, RFC 3161 tokens) need, and whether one certificate issued another.
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Buffer } from 'buffer';
import { SIGNATURE_ALGORITHMS } from './cms-algorithms.js';
import { verifySignature } from './signature.js';

// Short names as OpenSSL prints them.
const NAME_OIDS: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber', '2.5.4.97': 'organizationIdentifier', '1.2.840.113549.1.9.1': 'emailAddress',
};

export interface Certificate {
  der: Buffer;
  pk: pkijs.Certificate;
  /** "CN=..., O=..." in the order of the name. */
  subject: string;
  /** "DNS:..., URI:..., email:..." as OpenSSL prints it, or "" */
  subjectAltName: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  keyType: 'ec' | 'rsa' | 'other';
  spki: Buffer;
}

function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

function nameText(n: pkijs.RelativeDistinguishedNames): string {
  return n.typesAndValues.map((tv) => `${NAME_OIDS[tv.type] ?? tv.type}=${String(tv.value.valueBlock.value)}`).join(', ');
}

/** Parses DER; throws for anything that is not exactly one certificate. */
export function parseCertificate(der: Uint8Array): Certificate {
  const parsed = asn1js.fromBER(toArrayBuffer(der));
  if (parsed.offset === -1 || parsed.offset !== der.length) throw new Error('not a DER certificate');
  const pk = new pkijs.Certificate({ schema: parsed.result });
  const ext = (oid: string) => pk.extensions?.find((e) => e.extnID === oid)?.parsedValue as unknown;
  const bc = ext('2.5.29.19');
  const san = ext('2.5.29.17');
  const sanText = san instanceof pkijs.AltName
    ? san.altNames.map((g) => ({ 1: 'email', 2: 'DNS', 6: 'URI' } as Record<number, string>)[g.type] ? `${({ 1: 'email', 2: 'DNS', 6: 'URI' } as Record<number, string>)[g.type]}:${String(g.value)}` : null).filter((s): s is string => s !== null).join(', ')
    : '';
  const alg = pk.subjectPublicKeyInfo.algorithm.algorithmId;
  return {
    der: Buffer.from(der),
    pk,
    subject: nameText(pk.subject),
    subjectAltName: sanText,
    notBefore: pk.notBefore.value,
    notAfter: pk.notAfter.value,
    isCa: bc instanceof pkijs.BasicConstraints && bc.cA === true,
    keyType: alg === '1.2.840.10045.2.1' ? 'ec' : alg === '1.2.840.113549.1.1.1' ? 'rsa' : 'other',
    spki: Buffer.from(pk.subjectPublicKeyInfo.toSchema().toBER(false)),
  };
}

/** Every certificate in PEM text. */
export function certificatesFromPem(text: string): Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => parseCertificate(Buffer.from(b.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64')));
}

export function pemOf(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN CERTIFICATE-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Whether `issuer` issued `cert`: its subject is the cert's issuer name and its key verifies the cert's signature. */
export function issuedBy(cert: Certificate, issuer: Certificate): boolean {
  if (!Buffer.from(cert.pk.issuer.toSchema().toBER(false)).equals(Buffer.from(issuer.pk.subject.toSchema().toBER(false)))) return false;
  const alg = SIGNATURE_ALGORITHMS[cert.pk.signatureAlgorithm.algorithmId];
  if (!alg?.digest || issuer.keyType !== alg.key) return false;
  try {
    return verifySignature(alg.key, alg.digest, issuer.spki, cert.pk.tbsView, cert.pk.signatureValue.valueBlock.valueHexView);
  } catch {
    return false;
  }
}
