import type { Command } from 'commander';
import { SigningKey } from '../crypto/ed25519.js';
import { writeSecretFile } from '../keys/files.js';
import { generateMasterKeyText } from '../keys/master-key.js';
import { generateSigningIdentity, saveSigningIdentity } from '../pdf/certificate.js';

export function registerKeyCommands(program: Command): void {
  const keys = program.command('keys').description('service keys');
  keys
    .command('generate-signing-key')
    .description('write a new Ed25519 signing key (PKCS#8 PEM, mode 0600) for ASSENTMARK_SIGNING_KEY_FILE')
    .argument('<file>', 'where to write the private key (never overwritten)')
    .action((file: string) => {
      const k = SigningKey.generate();
      writeSecretFile(file, k.toPem());
      process.stdout.write(`key id ${k.keyId}\n${k.publicKeyPem()}`);
    });
  keys
    .command('generate-master-key')
    .description('write a new watermark key-encryption key (64 hex digits, mode 0600) for ASSENTMARK_MASTER_KEY_FILE')
    .argument('<file>', 'where to write it (never overwritten)')
    .action((file: string) => {
      writeSecretFile(file, generateMasterKeyText());
      process.stdout.write(`wrote ${file}\n`);
    });
  keys
    .command('generate-pdf-certificate')
    .description('write a self-signed ECDSA P-256 certificate and key for signing dossier PDFs (ASSENTMARK_PDF_CERT_FILE / _KEY_FILE)')
    .argument('<cert>', 'certificate file (PEM)')
    .argument('<key>', 'private key file (PKCS#8 PEM, mode 0600)')
    .option('--organisation <name>', 'subject O of the certificate')
    .action(async (cert: string, key: string, o: { organisation?: string }) => {
      const id = await generateSigningIdentity(o.organisation ? { organization: o.organisation } : {});
      await saveSigningIdentity(id, cert, key);
      process.stdout.write(`wrote ${cert} and ${key}\ncertificate SHA-256 ${id.fingerprintSha256}\n`);
    });
}
