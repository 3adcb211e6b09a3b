// Ledger export files (JSON lines) and their offline verification: what an auditor receives.
// Line 1: header; then one line per checkpoint; then one line per entry, in sequence order.
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { AppError } from '../problems/app-error.js';
import type { LedgerReader } from './ledger.js';
import { checkpointFormat, type SignedCheckpoint } from './checkpoint.js';
import type { LedgerEntry } from './format.js';
import { LedgerVerifier, type VerifierOptions, type VerifyReport } from './verifier.js';

/** v2: checkpoint lines may hold C2SP signed notes (format 2) beside the first version's JSON statements. */
export const EXPORT_FORMAT = 'assentmark.ledger-export/v2';
const READABLE_FORMATS = new Set(['assentmark.ledger-export/v1', EXPORT_FORMAT]);

export async function exportLedger(repo: LedgerReader, file: string, origin: string): Promise<{ entries: number; checkpoints: number }> {
  const out = createWriteStream(file, { flags: 'wx' });
  const counts = { entries: 0, checkpoints: 0 };
  for await (const line of exportLines(repo, origin, counts)) {
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return counts;
}

/**
 * The lines of an export (each ending in a newline), read as they are consumed: a slow consumer
 * holds back the database reads, so memory stays constant. `counts` is updated as lines go out.
 */
export async function* exportLines(repo: LedgerReader, origin: string, counts = { entries: 0, checkpoints: 0 }): AsyncGenerator<string> {
  const line = (obj: unknown) => JSON.stringify(obj) + '\n';
  const cps = await repo.checkpoints();
  yield line({ format: EXPORT_FORMAT, origin, exported_at: new Date().toISOString() });
  for (const c of cps) {
    yield line({ kind: 'checkpoint', format: checkpointFormat(c.body), body: c.body.toString('base64'), signature: c.signature.toString('base64') });
    counts.checkpoints++;
  }
  for await (const e of repo.entries()) {
    yield line({
      kind: 'entry',
      seq: e.seq,
      event_id: e.eventId,
      event_type: e.eventType,
      recorded_at: e.recordedAt,
      canonical: e.canonical.toString('base64'),
      leaf_hash: e.leafHash.toString('hex'),
      prev_hash: e.prevHash.toString('hex'),
      chain_hash: e.chainHash.toString('hex'),
    });
    counts.entries++;
  }
}

export class ExportFormatError extends AppError<'export_format_invalid'> {
  constructor(detail: string) {
    super('export_format_invalid', detail);
  }
}

/** Verifies an export file in constant memory (checkpoints precede entries in the file). */
export async function verifyExportFile(file: string, opts: VerifierOptions, onProgress?: (n: number) => void): Promise<VerifyReport> {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const v = new LedgerVerifier(opts);
  const cps: SignedCheckpoint[] = [];
  let lineNo = 0;
  let entriesStarted = false;
  for await (const line of rl) {
    lineNo++;
    if (line.trim() === '') continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new ExportFormatError(`line ${lineNo} is not JSON`);
    }
    if (lineNo === 1) {
      if (typeof o.format !== 'string' || !READABLE_FORMATS.has(o.format)) throw new ExportFormatError(`not an assentmark ledger export (line 1 has format ${JSON.stringify(o.format)})`);
      continue;
    }
    if (o.kind === 'checkpoint') {
      if (entriesStarted) throw new ExportFormatError(`line ${lineNo}: checkpoints must precede entries`);
      cps.push({ body: b64(o.body, lineNo), signature: b64(o.signature, lineNo) });
    } else if (o.kind === 'entry') {
      if (!entriesStarted) {
        v.addCheckpoints(cps);
        entriesStarted = true;
      }
      if (!v.push(toEntry(o, lineNo))) break;
      if (onProgress && v.fault === null) onProgress(lineNo);
    } else {
      throw new ExportFormatError(`line ${lineNo}: unknown kind ${JSON.stringify(o.kind)}`);
    }
  }
  rl.close();
  if (!entriesStarted) v.addCheckpoints(cps);
  return v.finish();
}

function toEntry(o: Record<string, unknown>, line: number): LedgerEntry {
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || typeof o.event_id !== 'string' || typeof o.event_type !== 'string') {
    throw new ExportFormatError(`line ${line}: entry lacks seq, event_id or event_type`);
  }
  return {
    seq: o.seq,
    eventId: o.event_id,
    eventType: o.event_type,
    canonical: b64(o.canonical, line),
    leafHash: hex32(o.leaf_hash, line),
    prevHash: hex32(o.prev_hash, line),
    chainHash: hex32(o.chain_hash, line),
  };
}

function b64(v: unknown, line: number): Buffer {
  const b = typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) ? Buffer.from(v, 'base64') : null;
  // Canonical padded base64 only: what was written is exactly what is read.
  if (!b || b.toString('base64') !== v) throw new ExportFormatError(`line ${line}: expected padded standard base64`);
  return b;
}

function hex32(v: unknown, line: number): Buffer {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new ExportFormatError(`line ${line}: expected a 64-digit hex hash`);
  return Buffer.from(v, 'hex');
}
