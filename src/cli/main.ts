#!/usr/bin/env node
// The `assentmark` command line.
import { Command, CommanderError } from 'commander';
import { registerLedgerCommands } from './ledger.js';
import { registerKeyCommands } from './keys.js';
import { registerServeCommands } from './serve.js';
import { registerApiKeyCommands } from './apikey.js';
import { registerReceiptCommands } from './receipt.js';
import { registerDossierCommands } from './dossier.js';
import { CliError } from './common.js';

const program = new Command();
program
  .name('assentmark')
  .description('Terms-of-Service evidence: assent, watermark linkage, detection and signed dossiers.')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerServeCommands(program);
registerLedgerCommands(program);
registerKeyCommands(program);
registerApiKeyCommands(program);
registerReceiptCommands(program);
registerDossierCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`assentmark: ${msg}\n`);
  process.exit(err instanceof CliError ? err.exitCode : 2);
}
