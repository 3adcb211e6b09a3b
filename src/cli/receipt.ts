import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyReceipt, verifyReceiptInclusion, verifyReceiptOpenings, type InclusionCheck, type OpeningsCheck } from '../assent/receipt.js';
import { CliError, printJson, readTrustedKeys } from './common.js';

export function registerReceiptCommands(program: Command): void {
  const receipt = program.command('receipt').description('signed acceptance receipts');
  receipt
    .command('verify')
    .description('verify a receipt offline against the published public key: its signature, its inclusion proof in a signed checkpoint when it carries one, and each opening of a personal fact against the commitment the signed event holds; exit 0 if valid, 1 if not')
    .argument('<file>', 'receipt JSON (a receipt, or an acceptance response that contains one)')
    .requiredOption('--public-key <key>', 'trusted key: PEM file, hex/base64 key, or a saved keys.json')
    .option('--json', 'machine-readable output')
    .action((file: string, opts: { publicKey: string; json?: boolean }) => {
      let doc: unknown;
      try {
        doc = JSON.parse(readFileSync(file, 'utf8'));
      } catch (e) {
        throw new CliError(`cannot read ${file} as JSON: ${(e as Error).message}`, 1);
      }
      const r = (doc as { receipt?: unknown })?.receipt ?? doc;
      const keys = readTrustedKeys(opts.publicKey);
      const results = keys.map((k) => verifyReceipt(r, k));
      const good = results.find((x) => x.ok);
      if (!good || !good.ok) {
        const reason = results.map((x) => (x.ok ? '' : x.reason)).join('; ');
        if (opts.json) printJson({ ok: false, reason });
        else process.stdout.write(`INVALID: ${reason}\n`);
        process.exitCode = 1;
        return;
      }
      const p = good.payload;
      const ev = p.event as { type?: string; data?: { subject?: unknown; eula?: { slug?: string; version?: string } }; time?: string };
      const rec = r as { inclusion?: unknown; promise?: unknown; openings?: unknown };
      // The openings are unsigned: each stands only if it opens the commitment the signed event holds.
      const opened = verifyReceiptOpenings(p, rec.openings);
      const signedLine = `${ev.type} of ${ev.data?.eula?.slug} ${ev.data?.eula?.version} by subject ${subjectText(ev.data?.subject, opened)} at ${ev.time}, ledger entry ${p.ledger.seq} of ${p.origin}`;
      // The inclusion member is unsigned: it stands only if the checkpoint's signature and the proof verify.
      const inclusion: InclusionCheck | null = rec.inclusion === undefined || rec.inclusion === null ? null : verifyReceiptInclusion(p, rec.inclusion, keys);
      const base = { event_type: ev.type, receipt_type: p.type, ledger: p.ledger, leaf_index: good.leafIndex, origin: p.origin };
      const openingsJson = opened.fields.map((f) => ({
        field: f.field, group: f.group, status: f.status, ...(f.erased ? { erased_at: f.erased.at, erasure_event_id: f.erased.erasure_event_id } : {}),
        ...(opened.problems.some((x) => x.field === f.field) ? { status: 'invalid', problem: opened.problems.find((x) => x.field === f.field)!.reason } : {}),
      }));
      if (inclusion && !inclusion.ok) {
        const reason = `the signature is valid, but the inclusion proof is not: ${inclusion.reason}`;
        if (opts.json) printJson({ ok: false, signature_valid: true, ...base, reason });
        else process.stdout.write(`INVALID: ${reason} (${signedLine})\n`);
        process.exitCode = 1;
        return;
      }
      if (opened.problems.length > 0) {
        const reason = `the signature${inclusion ? ' and the inclusion proof are' : ' is'} valid, but ${opened.problems.map((x) => `the opening of ${x.field} does not hold: ${x.reason}`).join('; ')}`;
        if (opts.json) printJson({ ok: false, signature_valid: true, ...base, reason, invalid_openings: opened.problems, openings: openingsJson });
        else process.stdout.write(`INVALID: ${reason} (${signedLine})\n`);
        process.exitCode = 1;
        return;
      }
      const promise = typeof rec.promise === 'string' ? rec.promise : null;
      const notYet = `not yet included: this receipt is a signed promise, not yet backed by a proof that a signed checkpoint includes entry ${p.ledger.seq}; fetch it again later for its inclusion proof`;
      if (opts.json) {
        printJson({
          ok: true, ...base,
          inclusion: inclusion
            ? { status: 'included', tree_size: inclusion.treeSize, leaf_index: inclusion.leafIndex, root_hash: inclusion.rootHash.toString('base64'), checkpoint_time: inclusion.time }
            : { status: 'not_yet_included', promise },
          openings: openingsJson,
        });
        return;
      }
      process.stdout.write(`OK: ${signedLine}\n`);
      if (inclusion) process.stdout.write(`included in the checkpoint of size ${inclusion.treeSize} signed ${inclusion.time} (leaf index ${inclusion.leafIndex}, root ${inclusion.rootHash.toString('base64')})\n`);
      else process.stdout.write(`${notYet}${promise ? ` (the service says: ${promise})` : ''}\n`);
      for (const line of openingLines(opened)) process.stdout.write(`${line}\n`);
    });
}

/** The subject as the summary line names it: opened, in clear (older events), or by pseudonym. */
function subjectText(subject: unknown, opened: OpeningsCheck): string {
  if (typeof subject === 'string') return JSON.stringify(subject);
  const f = opened.fields.find((x) => x.field === 'subject');
  if (f?.status === 'opened' && typeof f.value === 'string') return JSON.stringify(f.value);
  const pseudonym = typeof subject === 'object' && subject !== null ? (subject as { pseudonym?: unknown }).pseudonym : undefined;
  const how = f?.status === 'erased' ? 'erased' : 'not opened';
  return `(${how}; pseudonym ${typeof pseudonym === 'string' ? pseudonym : '?'})`;
}

/** What the openings check found, one line per status. */
function openingLines(c: OpeningsCheck): string[] {
  const lines: string[] = [];
  const of = (status: string) => c.fields.filter((f) => f.status === status);
  const opened = of('opened');
  if (opened.length) lines.push(`opened: ${opened.map((f) => `${f.field} (${f.group})`).join(', ')}: each opening opens the commitment in the signed event`);
  for (const f of of('erased')) lines.push(`erased: ${f.field} (${f.group}) was erased at ${f.erased!.at} by erasure event ${f.erased!.erasure_event_id}; its commitment stays in the signed event`);
  const notOpened = of('not_opened');
  if (notOpened.length) lines.push(`not opened: ${notOpened.map((f) => `${f.field} (${f.group})`).join(', ')}: the receipt carries no opening for these commitments`);
  const clear = of('clear');
  if (clear.length) lines.push(`in clear: ${clear.map((f) => f.field).join(', ')}: the event was written before personal facts were committed`);
  return lines;
}
