import type { Command } from 'commander';
import { SigningKey } from '../crypto/ed25519.js';
import { renameSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/config.js';
import { readSecretFile, writeSecretFile } from '../keys/files.js';
import { CliError, withContext } from './common.js';
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
    .command('rotate-signing-key')
    .description('retire the ledger\'s signing key for a new one (stop the service first): appends signing_key.added, signed by both keys, and a checkpoint signed by the new key')
    .argument('<file>', 'the new key (PKCS#8 PEM, from `keys generate-signing-key`)')
    .requiredOption('--reason <text>', 'why the key is rotated (recorded in the ledger)')
    .action(async (file: string, o: { reason: string }) => {
      if (!o.reason.trim() || o.reason.length > 500) throw new CliError('--reason must be 1-500 characters');
      const next = SigningKey.fromPem(readSecretFile(file, 'new signing key').toString('utf8'));
      const config = loadConfig();
      await withContext(async (ctx) => {
        const { seq, checkpoint } = await ctx.ledger.rotateSigningKey(next, o.reason);
        process.stdout.write(`rotated at entry ${seq}: signing key ${next.keyId} (checkpoint at size ${checkpoint?.size ?? '?'} signed by it)\n`);
      });
      if (!config.databaseUrl && !config.signingKeyFile) {
        // Embedded default: the data directory's key file becomes the new key; the old one is kept beside it.
        const current = path.join(config.dataDir, 'signing-key.pem');
        const old = SigningKey.fromPem(readSecretFile(current, 'signing key').toString('utf8'));
        renameSync(current, path.join(config.dataDir, `signing-key.retired-${old.keyId}.pem`));
        writeSecretFile(current, next.toPem());
        process.stdout.write(`${current} now holds the new key; the retired key was moved beside it\n`);
      } else {
        process.stdout.write(`set ASSENTMARK_SIGNING_KEY_FILE=${file} before starting the service again: it refuses to start with the retired key\n`);
      }
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
