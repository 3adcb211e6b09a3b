import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { parsePublicKey } from '../crypto/ed25519.js';
import { exportLedger, verifyExportFile } from '../ledger/export.js';
import type { VerifyReport } from '../ledger/verifier.js';
import { CliError, printJson, withContext } from './common.js';

export function registerLedgerCommands(program: Command): void {
  const ledger = program.command('ledger').description('the append-only evidence ledger');

  ledger
    .command('verify')
    .description('verify every entry and checkpoint; exit 0 when intact, 1 naming the first bad entry')
    .option('--file <file>', 'verify a ledger export file instead of the database (no database needed)')
    .option('--public-key <key>', 'trusted Ed25519 public key (PEM file, or hex/base64 of 32 bytes); required with --file')
    .option('--origin <origin>', 'expected origin name')
    .option('--json', 'machine-readable output')
    .action(async (opts: { file?: string; publicKey?: string; origin?: string; json?: boolean }) => {
      const bar = !opts.json && process.stderr.isTTY ? new cliProgress.SingleBar({ stream: process.stderr, format: 'verifying [{bar}] {value}/{total} entries' }, cliProgress.Presets.shades_classic) : null;
      let report: VerifyReport;
      if (opts.file) {
        if (!opts.publicKey) throw new CliError('--public-key is required with --file: the verifier must be told which key to trust');
        const key = readKey(opts.publicKey);
        bar?.start(0, 0);
        report = await verifyExportFile(opts.file, { trustedPublicKey: key, ...(opts.origin ? { origin: opts.origin } : {}) }, (n) => {
          if (bar && n % 10_000 === 0) bar.update(n);
        });
      } else {
        report = await withContext(async (ctx) => {
          const head = await ctx.ledger.head();
          bar?.start(head.size, 0);
          return ctx.ledger.verify({
            ...(opts.publicKey ? { trustedPublicKey: readKey(opts.publicKey) } : {}),
            onProgress: (n) => bar?.update(n),
          });
        });
      }
      bar?.stop();
      printReport(report, !!opts.json);
      if (!report.ok) process.exitCode = 1;
    });

  ledger
    .command('export')
    .description('write the ledger and its checkpoints to FILE (JSON lines) for offline verification')
    .argument('<file>', 'output file (must not exist)')
    .action(async (file: string) => {
      await withContext(async (ctx) => {
        const r = await exportLedger(ctx.ledger, file, ctx.ledger.origin);
        process.stdout.write(`wrote ${r.entries} entries and ${r.checkpoints} checkpoints to ${file}\n`);
        process.stdout.write(`verify with: assentmark ledger verify --file ${file} --public-key ${ctx.ledger.signingKey.publicKey.toString('base64')}\n`);
      });
    });

  ledger
    .command('checkpoint')
    .description('sign a checkpoint at the current head now')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      await withContext(async (ctx) => {
        const cp = await ctx.ledger.checkpoint();
        if (!cp) throw new CliError('the ledger is empty');
        if (opts.json) printJson({ size: cp.size, chain_hash: cp.chainHash.toString('hex'), key_id: cp.keyId, body: cp.body.toString('utf8'), signature: cp.signature.toString('base64') });
        else process.stdout.write(`checkpoint at size ${cp.size}, chain ${cp.chainHash.toString('hex')}, key ${cp.keyId}\n`);
      });
    });
}

function readKey(arg: string): Buffer {
  let text = arg;
  try {
    text = readFileSync(arg, 'utf8');
  } catch {
    // not a file: the key itself
  }
  try {
    return parsePublicKey(text);
  } catch (e) {
    throw new CliError(`--public-key: ${(e as Error).message}`);
  }
}

function printReport(r: VerifyReport, json: boolean): void {
  if (json) {
    printJson(r);
    return;
  }
  if (r.ok) {
    process.stdout.write(`OK: ${r.size} entries intact, ${r.checkpointsVerified} signed checkpoint(s) verified, head ${r.headHash}\n`);
  } else {
    const f = r.fault!;
    process.stdout.write(`FAILED at entry ${f.seq}: ${f.reason} [${f.code}]\n`);
  }
}
