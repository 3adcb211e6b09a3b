// The X.509 identity that signs dossier PDFs (ECDSA P-256; what PDF readers check).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { KeyFileError, readSecretFile } from './files.js';
import { generateSigningIdentity, saveSigningIdentity, validateSigningIdentity, type SigningIdentity } from '../pdf/certificate.js';

/** Embedded mode generates the certificate into the data directory on first use; a real server must be given one. */
export async function loadPdfIdentity(config: Config): Promise<SigningIdentity> {
  const embedded = !config.databaseUrl;
  const certFile = config.pdfCertFile ?? (embedded ? path.join(config.dataDir, 'pdf-signing-cert.pem') : undefined);
  const keyFile = config.pdfKeyFile ?? (embedded ? path.join(config.dataDir, 'pdf-signing-key.pem') : undefined);
  if (!certFile || !keyFile) {
    throw new KeyFileError('ASSENTMARK_PDF_CERT_FILE and ASSENTMARK_PDF_KEY_FILE must be set when DATABASE_URL is (create them with `assentmark keys generate-pdf-certificate CERT KEY`)');
  }
  if (!existsSync(certFile) && !existsSync(keyFile) && embedded && !config.pdfCertFile) {
    const id = await generateSigningIdentity({ organization: config.organisation || 'assentmark' });
    try {
      await saveSigningIdentity(id, certFile, keyFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const keyPem = readSecretFile(keyFile, 'PDF signing key').toString('utf8');
  let certPem: string;
  try {
    certPem = readFileSync(certFile, 'utf8');
  } catch {
    throw new KeyFileError(`PDF signing certificate ${certFile} cannot be read`);
  }
  return validateSigningIdentity({ certPem, keyPem });
}
