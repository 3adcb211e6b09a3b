import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { verifyReceipt } from '../assent/receipt.js';
import { CliError, printJson, readTrustedKeys } from './common.js';

export function registerReceiptCommands(program: Command): void {
  const receipt = program.command('receipt').description('signed acceptance receipts');
  receipt
    .command('verify')
    .description('verify a receipt offline against the published public key; exit 0 if valid, 1 if not')
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
      if (good && good.ok) {
        const ev = good.payload.event as { type?: string; data?: { subject?: string; eula?: { slug?: string; version?: string } }; time?: string };
        if (opts.json) printJson({ ok: true, event_type: ev.type, ledger: good.payload.ledger, origin: good.payload.origin });
        else process.stdout.write(`OK: ${ev.type} of ${ev.data?.eula?.slug} ${ev.data?.eula?.version} by subject ${JSON.stringify(ev.data?.subject)} at ${ev.time}, ledger entry ${good.payload.ledger.seq} of ${good.payload.origin}\n`);
        return;
      }
      const reason = results.map((x) => (x.ok ? '' : x.reason)).join('; ');
      if (opts.json) printJson({ ok: false, reason });
      else process.stdout.write(`INVALID: ${reason}\n`);
      process.exitCode = 1;
    });
}
