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
  const lines = new FileLines(file);
  try {
    let first: { lineNo: number; bytes: Buffer } | null = null; // the first entry line, read here
    for (let line = await lines.line(); line; line = await lines.line()) {
      const text = line.bytes.toString('utf8');
      if (isBlank(text)) continue;
      const o = parseHere(text, line.lineNo);
      if (line.lineNo === 1) {
        if (typeof o.format !== 'string' || !READABLE_FORMATS.has(o.format)) throw new ExportFormatError(`not an assentmark ledger export (line 1 has format ${JSON.stringify(o.format)})`);
        continue;
      }
      if (o.kind === 'checkpoint') {
        const lineNo = line.lineNo;
        cps.push({ body: here(() => b64(o.body, lineNo)), signature: here(() => b64(o.signature, lineNo)) });
      } else if (o.kind === 'entry') {
        first = line;
        break;
      } else {
        throw new ExportFormatError(`line ${line.lineNo}: unknown kind ${JSON.stringify(o.kind)}`);
      }
    }
    v.addCheckpoints(cps);
    if (first && !v.fault) {
      const head = first;
      async function* chunks(): AsyncGenerator<VerifyTask> {
        const bytes = Buffer.from(head.bytes);
        yield { kind: 'lines', bytes, starts: Int32Array.of(0), ends: Int32Array.of(bytes.length), firstLine: head.lineNo };
        for (let t = await lines.block(chunkLines); t; t = await lines.block(chunkLines)) {
          if (v.fault) return;
          yield t;
        }
      }
      const out = await verifyChunks(v, chunks(), onProgress ? (task, i) => {
        if (v.fault === null && task.kind === 'lines') onProgress(task.firstLine + i);
      } : undefined);
      if (out.formatError) throw new ExportFormatError(out.formatError);
    }
  } finally {
    await lines.close();
  }
  return v.finish();
}

/**
 * The lines of a file with their numbers (from 1), as readline splits them (LF, CRLF, lone CR):
 * one at a time (the header and checkpoints), or as blocks of many lines in one buffer of their
 * own (the entries), cut from the file's chunks without an object per line.
 */
class FileLines {
  readonly #chunks: AsyncIterator<Buffer>;
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;
  #eof = false;
  #lineNo = 0;
  #cr = -2; // index of the next CR in #buf at or after the last search, -1 if none, -2 not searched

  constructor(file: string) {
    this.#chunks = (createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  /** Reads more of the file after the unread rest; false at its end. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const r = await this.#chunks.next();
    if (r.done) {
      this.#eof = true;
      return false;
    }
    // The unread rest (part of a line) is copied once, in front of the new chunk.
    this.#buf = this.#pos < this.#buf.length ? Buffer.concat([this.#buf.subarray(this.#pos), r.value]) : r.value;
    this.#pos = 0;
    this.#cr = -2;
    return true;
  }

  /**
   * The next line break at or after `from` in the buffer: its index and where the next line
   * starts; null if there is none yet (a CR at the end of the buffer waits for the next chunk,
   * which may start with its LF).
   */
  #break(from: number): { at: number; next: number } | null {
    const b = this.#buf;
    const lf = b.indexOf(0x0a, from);
    const end = lf < 0 ? b.length : lf;
    // The next CR, searched again only once passed (a search per line would rescan the buffer).
    if (this.#cr !== -1 && this.#cr < from) this.#cr = b.indexOf(0x0d, from);
    const cr = this.#cr;
    if (cr >= 0 && cr < end) {
      if (cr + 1 < b.length) return { at: cr, next: b[cr + 1] === 0x0a ? cr + 2 : cr + 1 };
      return this.#eof ? { at: cr, next: cr + 1 } : null;
    }
    return lf < 0 ? null : { at: lf, next: lf + 1 };
  }

  async line(): Promise<{ lineNo: number; bytes: Buffer } | null> {
    for (;;) {
      const br = this.#break(this.#pos);
      if (br) {
        const bytes = this.#buf.subarray(this.#pos, br.at);
        this.#pos = br.next;
        return { lineNo: ++this.#lineNo, bytes };
      }
      if (!(await this.#fill())) {
        if (this.#pos >= this.#buf.length) return null;
        const bytes = this.#buf.subarray(this.#pos);
        this.#pos = this.#buf.length;
        return { lineNo: ++this.#lineNo, bytes };
      }
    }
  }

  /** Up to `max` lines as one task (the bytes copied once into a buffer of their own); null at the end. */
  async block(max: number): Promise<VerifyTask | null> {
    for (;;) {
      const starts: number[] = [];
      const ends: number[] = [];
      let p = this.#pos;
      while (starts.length < max) {
        const br = this.#break(p);
        if (!br) break;
        starts.push(p);
        ends.push(br.at);
        p = br.next;
      }
      if (starts.length === 0) {
        if (await this.#fill()) continue;
        if (this.#pos >= this.#buf.length) return null;
        starts.push(this.#pos);
        ends.push(this.#buf.length);
        p = this.#buf.length;
      }
      const base = starts[0]!;
      const bytes = Buffer.allocUnsafeSlow(ends.at(-1)! - base);
      this.#buf.copy(bytes, 0, base, ends.at(-1)!);
      const firstLine = this.#lineNo + 1;
      this.#lineNo += starts.length;
      this.#pos = p;
      return { kind: 'lines', bytes, starts: Int32Array.from(starts, (x) => x - base), ends: Int32Array.from(ends, (x) => x - base), firstLine };
    }
  }

  async close(): Promise<void> {
    await this.#chunks.return?.();
  }
}

function here<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof ExportLineError ? new ExportFormatError(e.message) : e;
  }
}

const parseHere = (text: string, lineNo: number): Record<string, unknown> => here(() => parseLine(text, lineNo));
