import type { Command } from 'commander';
import { SigningKey } from '../crypto/ed25519.js';
import { writeSecretFile } from '../keys/files.js';
import { generateMasterKeyText } from '../wmkeys/kek.js';

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
}
