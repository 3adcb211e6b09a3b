// `assentmark subject …`: erasure, legal holds and retention from the command line (docs/personal-data.md).
import type { Command } from 'commander';
import type { Principal } from '../auth/api-keys.js';
import { buildServices } from '../app/services.js';
import type { ServiceContext } from '../app/context.js';
import type { Services } from '../app/services.js';
import { erasureJson, legalHoldJson, retentionRunJson } from '../http/presenters/privacy.js';
import { AppError } from '../problems/app-error.js';
import { EraseBody, HoldBody, ReleaseBody } from '../erasure/schemas.js';
import { Subject, Uuid } from '../validation/fields.js';
import { loadConfig } from '../config/config.js';
import { CliError, printJson, withContext } from './common.js';
import { orOverHttp, type OverHttp } from './running-service.js';

const cliPrincipal = (): Principal => ({ keyId: 'cli', name: `command line (${process.env.USER ?? 'unknown user'})`, role: 'admin' });

/** A usage error naming the first invalid value, as the HTTP API's validation would. */
function parsed<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }, v: unknown, what: string): T {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  const i = r.error.issues[0]!;
  throw new CliError(`${what}${i.path.length ? ` ${i.path.map(String).join('.')}` : ''}: ${i.message}`);
}

async function withServices<T>(what: OverHttp, fn: (s: Services, ctx: ServiceContext) => Promise<T>): Promise<T> {
  return orOverHttp(what, () => withContext(async (ctx) => {
    const s = buildServices(ctx);
    try {
      return await fn(s, ctx);
    } catch (e) {
      // A refusal of the service (on hold, nothing to erase…) is the command's answer, exit 1.
      if (e instanceof AppError) throw new CliError(`${e.code}: ${e.detail}`, 1);
      throw e;
    } finally {
      await s.close();
    }
  }));
}

export function registerSubjectCommands(program: Command): void {
  const subject = program.commands.find((c) => c.name() === 'subject') ?? program.command('subject').description('a subject\'s personal data: erasure, legal holds, retention');

  subject
    .command('erase')
    .description('erase a subject\'s personal data (openings, working copies, watermark keys) and append erasure.performed; prints its signed receipt')
    .argument('<subject>', 'the subject (account id)')
    .requiredOption('--basis <basis>', 'data_subject_request, court_order or other')
    .requiredOption('--request-ref <ref>', 'the request\'s reference (a ticket id; recorded in clear, never a name)')
    .option('--json', 'machine-readable output (the HTTP answer)')
    .action(async (s: string, o: { basis: string; requestRef: string; json?: boolean }) => {
      const id = parsed(Subject, s, 'subject');
      const body = parsed(EraseBody, { basis: o.basis, request_ref: o.requestRef }, '--basis/--request-ref');
      await withServices('erase', async (svc) => {
        const e = erasureJson(await svc.erasure.erase(id, body, cliPrincipal()));
        if (o.json) return printJson(e);
        process.stdout.write(`erased: erasure ${e.erasure_id} at ledger entry ${e.ledger.seq} (${e.summary.openings_erased} openings, ${Object.values(e.summary.working_rows).reduce((a, b) => a + b, 0)} working rows, watermark keys ${e.summary.watermark_keys.action})\n`);
        if (e.summary.clear_events.length) process.stdout.write(`${e.summary.clear_events.length} earlier event(s) hold this subject's facts in clear and stay in the ledger: entries ${e.summary.clear_events.map((c) => c.seq).join(', ')}\n`);
        process.stdout.write(`${JSON.stringify(e.receipt)}\n`);
      });
    });

  subject
    .command('hold')
    .description('place a legal hold on a subject: its personal data cannot be erased until the hold is released')
    .argument('<subject>', 'the subject (account id)')
    .requiredOption('--case <ref>', 'case reference (recorded in clear: a number, not a name)')
    .requiredOption('--reason <text>', 'why (committed in the ledger, kept erasable)')
    .option('--json', 'machine-readable output')
    .action(async (s: string, o: { case: string; reason: string; json?: boolean }) => {
      const id = parsed(Subject, s, 'subject');
      const body = parsed(HoldBody, { case_ref: o.case, reason: o.reason }, '--case/--reason');
      await withServices('hold', async (svc) => {
        const h = legalHoldJson(await svc.holds.place(id, body, cliPrincipal()));
        if (o.json) printJson(h);
        else process.stdout.write(`placed legal hold ${h.id} (case ${h.case_ref}) at ledger entry ${h.placed.seq}\n`);
      });
    });

  subject
    .command('release')
    .description('release a legal hold')
    .argument('<hold-id>', 'the hold\'s id')
    .requiredOption('--reason <text>', 'why (committed in the ledger, kept erasable)')
    .option('--json', 'machine-readable output')
    .action(async (holdId: string, o: { reason: string; json?: boolean }) => {
      const id = parsed(Uuid, holdId, 'hold id');
      const body = parsed(ReleaseBody, { reason: o.reason }, '--reason');
      await withServices('release', async (svc) => {
        const h = legalHoldJson(await svc.holds.release(id, body, cliPrincipal()));
        if (o.json) printJson(h);
        else process.stdout.write(`released legal hold ${h.id} (case ${h.case_ref}) at ledger entry ${h.released!.seq}\n`);
      });
    });

  subject
    .command('holds')
    .description('list a subject\'s legal holds, open and released')
    .argument('<subject>', 'the subject (account id)')
    .option('--json', 'machine-readable output')
    .action(async (s: string, o: { json?: boolean }) => {
      const id = parsed(Subject, s, 'subject');
      await withServices('holds', async (svc) => {
        const { pseudonym, holds } = await svc.holds.list(id);
        const list = holds.map(legalHoldJson);
        if (o.json) return printJson({ subject_pseudonym: pseudonym, holds: list });
        if (!list.length) process.stdout.write('no legal holds\n');
        for (const h of list) process.stdout.write(`${h.id}  ${h.state.padEnd(8)}  case ${h.case_ref}  placed at entry ${h.placed.seq}${h.released ? `, released at entry ${h.released.seq}` : ''}\n`);
      });
    });

  subject
    .command('retention')
    .description('run the retention policy once (ASSENTMARK_RETENTION_DAYS): erase the openings recorded longer ago, except of subjects on legal hold')
    .option('--dry-run', 'only say what would be erased')
    .option('--json', 'machine-readable output')
    .action(async (o: { dryRun?: boolean; json?: boolean }) => {
      const days = loadConfig().retentionDays;
      if (days === undefined) throw new CliError('ASSENTMARK_RETENTION_DAYS is not set: retention is off');
      await withServices('retention', async (svc) => {
        const r = retentionRunJson(await svc.erasure.retention(days, { dryRun: !!o.dryRun }));
        if (o.json) return printJson(r);
        const due = r.subjects.filter((x) => x.held_by.length === 0);
        const held = r.subjects.filter((x) => x.held_by.length > 0);
        process.stdout.write(`retention ${days} days (before ${r.cutoff}): ${due.length} subject(s) due, ${held.length} on legal hold${r.dry_run ? ' (dry run: nothing erased)' : `, ${r.erasures.length} erased`}\n`);
        for (const x of r.subjects) process.stdout.write(`  ${x.subject_pseudonym}  ${x.openings_due} opening(s)${x.working_copies ? ' and working copies' : ''}${x.held_by.length ? `  HELD by ${x.held_by.join(', ')}` : ''}\n`);
      });
    });
}
