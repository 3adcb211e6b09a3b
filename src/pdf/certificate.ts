/**
 * The service's document-signing identity: a self-signed X.509 certificate with an
 * ECDSA P-256 key (generated with @peculiar/x509 over node's WebCrypto), stored as PEM.
 */
// @peculiar/x509 (through tsyringe) needs a Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import { createHash, createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import * as x509 from '@peculiar/x509';
import type { SignerMaterial } from './sign.js';

/** id-kp-documentSigning (RFC 9336). */
export const EKU_DOCUMENT_SIGNING = '1.3.6.1.5.5.7.3.36';
/** id-kp-emailProtection: lets NSS (pdfsig) / Acrobat accept the key for signing. */
export const EKU_EMAIL_PROTECTION = '1.3.6.1.5.5.7.3.4';

export interface SigningCertificateOptions {
  /** Subject CN. Default "assentmark evidence signing". */
  commonName?: string;
  /** Subject O. */
  organization?: string;
  /** Subject C (two letters). */
  country?: string;
  /** Validity start. Default: now (rounded down to the second). */
  notBefore?: Date;
  /** Validity in years. Default 10. */
  validityYears?: number;
}

export interface SigningIdentity extends SignerMaterial {
  /** SHA-256 of the certificate DER, lowercase hex. */
  fingerprintSha256: string;
}

/** Escape a value for an RFC 4514 distinguished name string. */
function dnValue(v: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = v.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return clean.replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`).replace(/^ | $/g, (c) => `\\${c}`);
}

/** SHA-256 fingerprint (lowercase hex) of a PEM or DER certificate. */
export function certificateFingerprint(cert: string | Uint8Array): string {
  const der = typeof cert === 'string' ? new X509Certificate(cert).raw : cert;
  return createHash('sha256').update(der).digest('hex');
}

/** Generate a new self-signed ECDSA P-256 signing certificate and PKCS#8 key (PEM). */
export async function generateSigningIdentity(opts: SigningCertificateOptions = {}): Promise<SigningIdentity> {
  const crypto = webcrypto;
  const x509Crypto = webcrypto as unknown as NonNullable<Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[1]>;
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;

  const notBefore = new Date(Math.floor((opts.notBefore ?? new Date()).getTime() / 1000) * 1000);
  const years = opts.validityYears ?? 10;
  if (!(years > 0 && years <= 100)) throw new Error('validityYears must be in (0, 100]');
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + Math.floor(years));

  const parts = [`CN=${dnValue(opts.commonName ?? 'assentmark evidence signing')}`];
  if (opts.organization) parts.push(`O=${dnValue(opts.organization)}`);
  if (opts.country) {
    if (!/^[A-Z]{2}$/.test(opts.country)) throw new Error('country must be two capital letters');
    parts.push(`C=${opts.country}`);
  }
  // Positive 16-byte serial (top bit cleared).
  const serial = Buffer.from(crypto.getRandomValues(new Uint8Array(16)));
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;

  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial.toString('hex'),
      name: parts.join(', '),
      notBefore,
      notAfter,
      signingAlgorithm: alg,
      keys: keys as never,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true),
        new x509.ExtendedKeyUsageExtension([EKU_DOCUMENT_SIGNING, EKU_EMAIL_PROTECTION], false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never, false, x509Crypto),
      ],
    },
    x509Crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  const certPem = cert.toString('pem');
  return { certPem: ensureTrailingNewline(certPem), keyPem: ensureTrailingNewline(keyPem), fingerprintSha256: certificateFingerprint(certPem) };
}

function ensureTrailingNewline(s: string): string {
  const n = s.replace(/\r\n/g, '\n');
  return n.endsWith('\n') ? n : `${n}\n`;
}

/** Check a PEM certificate/key pair: parseable, matching, and (optionally) currently valid. */
export function validateSigningIdentity(material: SignerMaterial, opts: { at?: Date } = {}): SigningIdentity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(material.certPem);
  } catch (e) {
    throw new Error(`signing certificate is not a valid PEM X.509 certificate: ${(e as Error).message}`);
  }
  let key;
  try {
    key = createPrivateKey(material.keyPem);
  } catch (e) {
    throw new Error(`signing key is not a valid PEM private key: ${(e as Error).message}`);
  }
  const a = cert.publicKey.export({ type: 'spki', format: 'der' });
  const b = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (!a.equals(b)) throw new Error('signing key does not match the signing certificate');
  if (opts.at) {
    const t = opts.at.getTime();
    if (t < new Date(cert.validFrom).getTime() || t > new Date(cert.validTo).getTime()) {
      throw new Error(`signing certificate is not valid at ${opts.at.toISOString()} (valid ${cert.validFrom} .. ${cert.validTo})`);
    }
  }
  return { certPem: material.certPem, keyPem: material.keyPem, fingerprintSha256: certificateFingerprint(cert.raw) };
}

/** Load a signing identity from PEM files (certificate, PKCS#8 private key). */
export async function loadSigningIdentity(certPath: string, keyPath: string): Promise<SigningIdentity> {
  const [certPem, keyPem] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return validateSigningIdentity({ certPem, keyPem });
}

/** Write a signing identity to PEM files; the key file gets mode 0600. */
export async function saveSigningIdentity(identity: SignerMaterial, certPath: string, keyPath: string): Promise<void> {
  await writeFile(keyPath, identity.keyPem, { mode: 0o600, flag: 'wx' });
  await writeFile(certPath, identity.certPem, { flag: 'wx' });
}
