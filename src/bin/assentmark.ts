#!/usr/bin/env node
// The `assentmark` command line: the commands of cli/, and `serve`, which runs the server process.
import { Command, CommanderError } from 'commander';
import { CliError } from '../cli/common.js';

type Register = (program: Command) => void;

/**
 * Each top-level command's modules, loaded only when that command runs: a `receipt verify` does not
 * load the PDF, server and database code of the others (a second or more of start-up per run).
 * Help, the version and an unknown command load them all, so every command is listed.
 */
const COMMANDS: Record<string, () => Promise<Register[]>> = {
  migrate: async () => [(await import('../cli/migrate.js')).registerMigrateCommand],
  ledger: async () => [(await import('../cli/ledger.js')).registerLedgerCommands],
  keys: async () => [(await import('../cli/keys.js')).registerKeyCommands],
  apikey: async () => [(await import('../cli/apikey.js')).registerApiKeyCommands],
  receipt: async () => [(await import('../cli/receipt.js')).registerReceiptCommands],
  dossier: async () => [(await import('../cli/dossier.js')).registerDossierCommands],
  subject: async () => {
    const [exp, sub] = await Promise.all([import('../cli/subject-export.js'), import('../cli/subject.js')]);
    return [exp.registerSubjectExportCommand, sub.registerSubjectCommands];
  },
};

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
    const { start } = await import('../server/start.js');
    await start();
  });
const named = process.argv[2];
const wanted = named !== undefined && Object.prototype.hasOwnProperty.call(COMMANDS, named) ? [COMMANDS[named]!] : named === 'serve' ? [] : Object.values(COMMANDS);
for (const load of wanted) for (const register of await load()) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`assentmark: ${msg}\n`);
  process.exit(err instanceof CliError ? err.exitCode : 2);
}
