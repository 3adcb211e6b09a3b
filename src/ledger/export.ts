// Ledger export files (JSON lines) and their offline verification: what an auditor receives.
// Line 1: header; then one line per checkpoint; then one line per entry, in sequence order.
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { AppError } from '../problems/app-error.js';
import type { LedgerReader } from './ledger.js';
import { checkpointFormat, type SignedCheckpoint } from './checkpoint.js';
import { LedgerVerifier, type VerifierOptions, type VerifyReport } from './verifier.js';
import { verifyChunks, type VerifyTask } from './verifier-pool.js';
import { b64, ExportLineError, isBlank, parseLine } from './export-lines.js';

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

/** Lines of an export file per chunk sent to a worker thread. */
const CHUNK_LINES = 4096;

/**
 * Verifies an export file in constant memory (checkpoints precede entries in the file): the header
 * and checkpoint lines here, then the entry lines in chunks whose parsing and per-entry checks run
 * on worker threads (verifier-pool.ts). Lines end at LF, CRLF or a lone CR, as readline reads them.
 */
export async function verifyExportFile(file: string, opts: VerifierOptions & { chunkLines?: number }, onProgress?: (n: number) => void): Promise<VerifyReport> {
  const v = new LedgerVerifier(opts);
  const cps: SignedCheckpoint[] = [];
  const chunkLines = opts.chunkLines ?? CHUNK_LINES;
  const lines = fileLines(file);
  try {
    let pending: { lineNo: number; bytes: Buffer } | null = null; // the first entry line, read here
    // Read with next(), not for-await: leaving a for-await loop would close the generator.
    for (let r = await lines.next(); !r.done; r = await lines.next()) {
      const line = r.value;
      const text = line.bytes.toString('utf8');
      if (isBlank(text)) continue;
      const o = parseHere(text, line.lineNo);
      if (line.lineNo === 1) {
        if (typeof o.format !== 'string' || !READABLE_FORMATS.has(o.format)) throw new ExportFormatError(`not an assentmark ledger export (line 1 has format ${JSON.stringify(o.format)})`);
        continue;
      }
      if (o.kind === 'checkpoint') {
        cps.push({ body: here(() => b64(o.body, line.lineNo)), signature: here(() => b64(o.signature, line.lineNo)) });
      } else if (o.kind === 'entry') {
        pending = line;
        break;
      } else {
        throw new ExportFormatError(`line ${line.lineNo}: unknown kind ${JSON.stringify(o.kind)}`);
      }
    }
    v.addCheckpoints(cps);
    if (pending && !v.fault) {
      const first = pending;
      async function* chunks(): AsyncGenerator<VerifyTask> {
        let group: Array<{ lineNo: number; bytes: Buffer }> = [first];
        const flush = (): VerifyTask => {
          const size = group.reduce((n, l) => n + l.bytes.length, 0);
          const bytes = Buffer.allocUnsafeSlow(size);
          const starts = new Int32Array(group.length);
          const ends = new Int32Array(group.length);
          let off = 0;
          group.forEach((l, i) => {
            starts[i] = off;
            off += l.bytes.copy(bytes, off);
            ends[i] = off;
          });
          const task: VerifyTask = { kind: 'lines', bytes, starts, ends, firstLine: group[0]!.lineNo };
          group = [];
          return task;
        };
        for (let r = await lines.next(); !r.done; r = await lines.next()) {
          const line = r.value;
          if (v.fault) return;
          group.push(line);
          if (group.length >= chunkLines) yield flush();
        }
        if (group.length > 0) yield flush();
      }
      const out = await verifyChunks(v, chunks(), onProgress ? (task, i) => {
        if (v.fault === null && task.kind === 'lines') onProgress(task.firstLine + i);
      } : undefined);
      if (out.formatError) throw new ExportFormatError(out.formatError);
    }
  } finally {
    await lines.return(undefined);
  }
  return v.finish();
}

/** The lines of a file with their numbers (from 1), as readline splits them (LF, CRLF, lone CR). */
async function* fileLines(file: string): AsyncGenerator<{ lineNo: number; bytes: Buffer }> {
  let lineNo = 0;
  let rest: Buffer = Buffer.alloc(0);
  let cr = false; // the last chunk ended in CR: an LF starting the next one belongs to it
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let b = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    if (cr && b[0] === 0x0a) b = b.subarray(1);
    cr = false;
    let start = 0;
    for (;;) {
      const nl = nextBreak(b, start);
      if (nl < 0) break;
      lineNo++;
      yield { lineNo, bytes: b.subarray(start, nl) };
      if (b[nl] === 0x0d) {
        if (nl + 1 === b.length) {
          cr = true;
          start = nl + 1;
          break;
        }
        start = b[nl + 1] === 0x0a ? nl + 2 : nl + 1;
      } else {
        start = nl + 1;
      }
    }
    // A line split across chunks is copied once, into the next chunk's buffer.
    rest = Buffer.from(b.subarray(start));
  }
  if (rest.length > 0) {
    lineNo++;
    yield { lineNo, bytes: rest };
  }
}

/** The index of the next LF or CR at or after `from`, or -1. */
function nextBreak(b: Buffer, from: number): number {
  const lf = b.indexOf(0x0a, from);
  const end = lf < 0 ? b.length : lf;
  const cr = b.subarray(from, end).indexOf(0x0d);
  return cr >= 0 ? from + cr : lf;
}

function here<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof ExportLineError ? new ExportFormatError(e.message) : e;
  }
}

const parseHere = (text: string, lineNo: number): Record<string, unknown> => here(() => parseLine(text, lineNo));
