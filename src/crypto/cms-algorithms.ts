// Object identifiers and the algorithms the CMS verifiers accept, shared by the PDF signature
// (pdf/) and RFC 3161 timestamp tokens (timestamp/). SHA-1 is not accepted: a collision would
// forge signed attributes.
export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  signingCertificate: '1.2.840.113549.1.9.16.2.12',
  signingCertificateV2: '1.2.840.113549.1.9.16.2.47',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  timeStamping: '1.3.6.1.5.5.7.3.8',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  ecdsaWithSha512: '1.2.840.10045.4.3.4',
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
} as const;

export type DigestName = 'sha256' | 'sha384' | 'sha512';

export const DIGEST_BY_OID: Readonly<Record<string, DigestName>> = {
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
};

/** Signature algorithm OIDs accepted by the verifiers, with their key type and digest. */
export const SIGNATURE_ALGORITHMS: Readonly<Record<string, { key: 'ec' | 'rsa'; digest?: DigestName }>> = {
  [OID.ecdsaWithSha256]: { key: 'ec', digest: 'sha256' },
  [OID.ecdsaWithSha384]: { key: 'ec', digest: 'sha384' },
  [OID.ecdsaWithSha512]: { key: 'ec', digest: 'sha512' },
  // Some signers put the bare key algorithm OID here (allowed by RFC 5652 for RSA).
  [OID.ecPublicKey]: { key: 'ec' },
  [OID.rsaEncryption]: { key: 'rsa' },
  [OID.sha256WithRsa]: { key: 'rsa', digest: 'sha256' },
  [OID.sha384WithRsa]: { key: 'rsa', digest: 'sha384' },
  [OID.sha512WithRsa]: { key: 'rsa', digest: 'sha512' },
};
