// `assentmark subject export SUBJECT [FILE]`: the subject access export (GDPR Art. 15) that
// GET /v1/subjects/{subject}/export answers, written to FILE or stdout (docs/personal-data.md).
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { buildServices } from '../app/services.js';
import { subjectExportJson } from '../http/presenters/subject-export.js';
import { AppError } from '../problems/app-error.js';
import { CliError, withContext } from './common.js';

/** The one `subject` command (erase, hold and export register under it, whichever file comes first). */
export function subjectCommand(program: Command): Command {
  return program.commands.find((c) => c.name() === 'subject') ?? program.command('subject').description('one subject\'s personal data: export, erasure, legal holds');
}

export function registerSubjectExportCommand(program: Command): void {
  subjectCommand(program)
    .command('export')
    .description('write everything held about a subject as JSON, with the proofs to check it offline (GDPR Art. 15)')
    .argument('<subject>', 'the subject (account id), exactly as recorded')
    .argument('[file]', 'where to write the JSON (default: stdout); an existing file is not overwritten')
    .action(async (subject: string, file: string | undefined) => {
      await withContext(async (ctx) => {
        const s = buildServices(ctx);
        try {
          let doc;
          try {
            doc = subjectExportJson(await s.subjectAccess.export(subject));
          } catch (e) {
            if (e instanceof AppError && (e.code === 'subject_not_found' || e.code === 'subject_export_too_large')) throw new CliError(e.message, 1);
            throw e;
          }
          const text = `${JSON.stringify(doc, null, 2)}\n`;
          if (file === undefined) process.stdout.write(text);
          else {
            try {
              writeFileSync(file, text, { flag: 'wx', mode: 0o600 });
            } catch (e) {
              throw new CliError(`cannot write ${file}: ${(e as Error).message}`, 1);
            }
            process.stderr.write(`exported ${doc.events.length} ledger events about the subject -> ${file}\n`);
          }
        } finally {
          await s.close();
        }
      });
    });
}
