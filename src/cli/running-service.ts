// While a service holds the embedded database, the CLI cannot open it: this says how to ask the
// running service instead, with the exact curl lines for its admin HTTP API (docs/operations.md).
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config.js';
import { loadConfig } from '../config/config.js';
import { DataDirLockedError } from '../db/connect.js';
import { CliError } from './common.js';

export type OverHttp = 'verify' | 'export' | 'erase' | 'hold' | 'release' | 'holds' | 'retention';

/** Runs `fn`; a locked data directory becomes a CliError with the curl lines that do `what` over HTTP. */
export async function orOverHttp<T>(what: OverHttp, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (!(e instanceof DataDirLockedError)) throw e;
    throw new CliError(`${e.detail}\n${overHttpHint(what, loadConfig())}`);
  }
}

export function overHttpHint(what: OverHttp, config: Config): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const base = `http://${host}:${config.port}`;
  const tokenFile = path.join(config.dataDir, 'admin-token');
  const own = existsSync(tokenFile);
  const auth = own ? `"Authorization: Bearer $(cat ${sh(tokenFile)})"` : '"Authorization: Bearer $ADMIN_API_KEY"';
  const key = own ? `an admin API key (the first one is in ${tokenFile})` : 'an admin API key in ADMIN_API_KEY (create one with `assentmark apikey create` once the service is stopped, or POST /v1/api-keys)';
  const json = '-H "Content-Type: application/json"';
  const privacy: Partial<Record<OverHttp, string[]>> = {
    erase: [`The running service erases a subject itself; with ${key}:`,
      `  curl -sS -X POST -H ${auth} ${json} -d '{"basis":"data_subject_request","request_ref":"<ticket>"}' ${base}/v1/subjects/<subject>/erasure`],
    hold: [`The running service places legal holds itself; with ${key}:`,
      `  curl -sS -X POST -H ${auth} ${json} -d '{"case_ref":"<case>","reason":"<why>"}' ${base}/v1/subjects/<subject>/legal-holds`],
    release: [`The running service releases legal holds itself; with ${key}:`,
      `  curl -sS -X POST -H ${auth} ${json} -d '{"reason":"<why>"}' ${base}/v1/legal-holds/<hold id>/release`],
    holds: [`The running service lists legal holds itself; with ${key}:`,
      `  curl -sS -H ${auth} ${base}/v1/subjects/<subject>/legal-holds`],
    retention: ['The running service applies ASSENTMARK_RETENTION_DAYS itself, once an hour; stop it to run a pass from the command line.'],
  };
  const lines = privacy[what] ?? (what === 'verify'
    ? [
      `The running service verifies its ledger itself; with ${key}:`,
      `  curl -sS -X POST -H ${auth} ${base}/v1/admin/ledger/verifications`,
      `  curl -sS -H ${auth} ${base}/v1/admin/ledger/verifications/<id from that answer>`,
      'The second shows the progress, then the outcome: "result.ok", or "result.fault" naming the first bad entry.',
    ]
    : [
      `The running service exports its ledger itself; with ${key}:`,
      `  curl -sS --fail -H ${auth} -o ledger-export.jsonl ${base}/v1/admin/ledger/export`,
      `  curl -sS --fail -o keys.json ${base}/.well-known/assentmark/keys.json`,
      '  assentmark ledger verify --file ledger-export.jsonl --public-key keys.json',
    ]);
  return lines.join('\n');
}

/** Single-quoted for a POSIX shell. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
