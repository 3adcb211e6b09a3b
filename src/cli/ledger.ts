import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { exportLedger, verifyExportFile } from '../ledger/export.js';
import type { VerifyReport } from '../ledger/verifier.js';
import { checkpointJson, consistencyProofJson, inclusionProofJson } from '../http/presenters/ledger.js';
import { CliError, printJson, readTrustedKeys, withContext } from './common.js';
import { orOverHttp } from './running-service.js';

export function registerLedgerCommands(program: Command): void {
  const ledger = program.command('ledger').description('the append-only evidence ledger');

  ledger
    .command('verify')
    .description('verify every entry and checkpoint; exit 0 when intact, 1 naming the first bad entry')
    .option('--file <file>', 'verify a ledger export file instead of the database (no database needed)')
    .option('--public-key <key>', 'trusted Ed25519 public key: a saved keys.json, a PEM file, or 64 hex digits / padded base64 of the 32 bytes; required with --file')
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
        report = await orOverHttp('verify', () => withContext(async (ctx) => {
          const head = await ctx.ledger.head();
          bar?.start(head.size, 0);
          return ctx.ledger.verify({
            ...(opts.publicKey ? { trustedPublicKey: readKey(opts.publicKey) } : {}),
            onProgress: (n) => bar?.update(n),
          });
        }));
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
      await orOverHttp('export', () => withContext(async (ctx) => {
        const r = await exportLedger(ctx.ledger, file, ctx.ledger.origin);
        process.stdout.write(`wrote ${r.entries} entries and ${r.checkpoints} checkpoints to ${file}\n`);
        process.stdout.write(`verify with: assentmark ledger verify --file ${file} --public-key ${ctx.ledger.signingKey.publicKey.toString('base64')}\n`);
      }));
    });

  const proof = ledger.command('proof').description('RFC 9162 Merkle proofs from the ledger (JSON, as the HTTP API serves them)');
  const size = (v: string) => {
    if (!/^[1-9][0-9]{0,15}$/.test(v)) throw new CliError(`not a positive integer: ${v}`);
    return Number(v);
  };
  proof
    .command('inclusion')
    .description('the inclusion proof of an entry in the tree of a size (default: the latest signed checkpoint)')
    .requiredOption('--seq <n>', 'the entry', size)
    .option('--size <n>', 'the tree size', size)
    .action(async (o: { seq: number; size?: number }) => {
      await withContext(async (ctx) => {
        const treeSize = o.size ?? (await ctx.ledger.latestNoteCheckpoint())?.size;
        if (!treeSize) throw new CliError('the ledger has no signed checkpoint yet: run `assentmark ledger checkpoint`, or give --size');
        const [p, cp] = await Promise.all([ctx.ledger.inclusionProof(o.seq, treeSize), ctx.ledger.checkpointAt(treeSize)]);
        printJson(inclusionProofJson(o.seq, p, cp?.rootHash ? cp : null));
      });
    });
  proof
    .command('consistency')
    .description('the consistency proof between two tree sizes (default --to: the latest signed checkpoint)')
    .requiredOption('--from <n>', 'the smaller tree size', size)
    .option('--to <n>', 'the larger tree size', size)
    .action(async (o: { from: number; to?: number }) => {
      await withContext(async (ctx) => {
        const to = o.to ?? (await ctx.ledger.latestNoteCheckpoint())?.size;
        if (!to) throw new CliError('the ledger has no signed checkpoint yet: run `assentmark ledger checkpoint`, or give --to');
        const [p, a, b] = await Promise.all([ctx.ledger.consistencyProof(o.from, to), ctx.ledger.checkpointAt(o.from), ctx.ledger.checkpointAt(to)]);
        printJson(consistencyProofJson(p, a?.rootHash ? a : null, b?.rootHash ? b : null));
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
        if (opts.json) printJson({ ...checkpointJson(cp), key_id: cp.keyId });
        else process.stdout.write(`checkpoint at size ${cp.size}, root ${cp.rootHash?.toString('base64') ?? '(none)'}, chain ${cp.chainHash.toString('hex')}, key ${cp.keyId}\n${cp.body.toString('utf8')}`);
      });
    });
}

/** The key the ledger's genesis must name: PEM, hex or base64 (file or literal), or a saved keys.json. */
function readKey(arg: string): Buffer {
  return readTrustedKeys(arg)[0]!;
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
