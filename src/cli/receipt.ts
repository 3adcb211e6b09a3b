import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyReceipt, verifyReceiptInclusion, type InclusionCheck } from '../assent/receipt.js';
import { CliError, printJson, readTrustedKeys } from './common.js';

export function registerReceiptCommands(program: Command): void {
  const receipt = program.command('receipt').description('signed acceptance receipts');
  receipt
    .command('verify')
    .description('verify a receipt offline against the published public key: its signature and, when it carries one, its inclusion proof in a signed checkpoint; exit 0 if valid, 1 if not')
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
      const ev = p.event as { type?: string; data?: { subject?: string; eula?: { slug?: string; version?: string } }; time?: string };
      const signedLine = `${ev.type} of ${ev.data?.eula?.slug} ${ev.data?.eula?.version} by subject ${JSON.stringify(ev.data?.subject)} at ${ev.time}, ledger entry ${p.ledger.seq} of ${p.origin}`;
      // The inclusion member is unsigned: it stands only if the checkpoint's signature and the proof verify.
      const rec = r as { inclusion?: unknown; promise?: unknown };
      const inclusion: InclusionCheck | null = rec.inclusion === undefined || rec.inclusion === null ? null : verifyReceiptInclusion(p, rec.inclusion, keys);
      const base = { event_type: ev.type, receipt_type: p.type, ledger: p.ledger, leaf_index: good.leafIndex, origin: p.origin };
      if (inclusion && !inclusion.ok) {
        const reason = `the signature is valid, but the inclusion proof is not: ${inclusion.reason}`;
        if (opts.json) printJson({ ok: false, signature_valid: true, ...base, reason });
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
        });
        return;
      }
      process.stdout.write(`OK: ${signedLine}\n`);
      if (inclusion) process.stdout.write(`included in the checkpoint of size ${inclusion.treeSize} signed ${inclusion.time} (leaf index ${inclusion.leafIndex}, root ${inclusion.rootHash.toString('base64')})\n`);
      else process.stdout.write(`${notYet}${promise ? ` (the service says: ${promise})` : ''}\n`);
    });
}
