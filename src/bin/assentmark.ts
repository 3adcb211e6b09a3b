#!/usr/bin/env node
// The `assentmark` command line: the commands of cli/, and `serve`, which runs the server process.
import { Command, CommanderError } from 'commander';
import { registerLedgerCommands } from '../cli/ledger.js';
import { registerKeyCommands } from '../cli/keys.js';
import { registerMigrateCommand } from '../cli/migrate.js';
import { start } from '../server/start.js';
import { registerApiKeyCommands } from '../cli/apikey.js';
import { registerReceiptCommands } from '../cli/receipt.js';
import { registerDossierCommands } from '../cli/dossier.js';
import { registerSubjectExportCommand } from '../cli/subject-export.js';
import { registerSubjectCommands } from '../cli/subject.js';
import { CliError } from '../cli/common.js';

const program = new Command();
program
  .name('assentmark')
  .description('Terms-of-Service evidence: assent, watermark linkage, detection and signed dossiers.')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

program
  .command('serve')
  .description('start the HTTP service (same as npm start)')
  .action(async () => {
    await start();
  });
registerMigrateCommand(program);
registerLedgerCommands(program);
registerKeyCommands(program);
registerApiKeyCommands(program);
registerReceiptCommands(program);
registerDossierCommands(program);
registerSubjectExportCommand(program);
registerSubjectCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`assentmark: ${msg}\n`);
  process.exit(err instanceof CliError ? err.exitCode : 2);
}
