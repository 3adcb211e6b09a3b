// Piscina task module: the per-entry checks of the ledger verifier (checkEntry: leaf hash, chain
// hash, RFC 8785 bytes, envelope, row id and type) for one chunk of thousands of entries, so they
// run on every core while the calling thread keeps the sequential checks (verifier-pool.ts).
import { ExportLineError, isBlank, parseLine, toEntry } from './export-lines.js';
import type { LedgerEntry } from './format.js';
import { checkEntry, type SpecialEvent } from './verifier.js';

/**
 * A chunk: `packed` rows as the repository's entry pages hold them (LedgerRepository.entryPages),
 * or `lines` of an export file (byte ranges [starts[i], ends[i]) of `bytes`, line firstLine + i).
 */
export type VerifyTask =
  | { kind: 'packed'; bytes: Uint8Array; count: number }
  | { kind: 'lines'; bytes: Uint8Array; starts: Int32Array; ends: Int32Array; firstLine: number };

/** Item codes beyond an entry's EntryCode (0-5). */
export const ITEM_BLANK = 6;
/** Hashes whose stored length was not 32 bytes (then zero-filled in `hashes`). */
export const BAD_LEAF = 1;
export const BAD_PREV = 2;
export const BAD_CHAIN = 4;

/**
 * Per item: its code, sequence number, stored hashes (leaf, prev, chain: 96 bytes at 96·i) and
 * which were not 32 bytes; the special events (entry 1, genesis, rotation) by item index. `error`
 * is the first line that is not a valid export line: no item from it on is checked.
 */
export interface VerifyChunkResult {
  count: number;
  codes: Uint8Array;
  seqs: Float64Array;
  hashes: Uint8Array;
  bad: Uint8Array;
  specials: Array<[index: number, event: SpecialEvent]>;
  error: { index: number; message: string } | null;
}

/** The packed row layout: seq (int8, big-endian), bad (1 byte), leaf, prev, chain (32 each), then id, type and event bytes, each after its int4 length. */
export const PACKED_FIXED = 8 + 1 + 96;

export default function verifyChunk(task: VerifyTask): VerifyChunkResult {
  const n = task.kind === 'packed' ? task.count : task.starts.length;
  const r: VerifyChunkResult = { count: n, codes: new Uint8Array(n), seqs: new Float64Array(n), hashes: new Uint8Array(96 * n), bad: new Uint8Array(n), specials: [], error: null };
  const one = (i: number, e: LedgerEntry, bad: number): void => {
    const c = checkEntry(e);
    r.codes[i] = c.code;
    r.seqs[i] = e.seq;
    r.bad[i] = bad;
    if (c.special) r.specials.push([i, c.special]);
  };
  const b = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  if (task.kind === 'packed') {
    let off = 0;
    for (let i = 0; i < n; i++) {
      if (off + PACKED_FIXED > b.length) throw new Error('a packed entry page ends inside a row');
      const seq = b.readUInt32BE(off) * 0x1_0000_0000 + b.readUInt32BE(off + 4);
      const bad = b[off + 8]!;
      r.hashes.set(b.subarray(off + 9, off + 9 + 96), 96 * i);
      const leaf = b.subarray(off + 9, off + 41);
      const prev = b.subarray(off + 41, off + 73);
      const chain = b.subarray(off + 73, off + 105);
      off += PACKED_FIXED;
      const field = (): Buffer => {
        const len = b.readUInt32BE(off);
        const v = b.subarray(off + 4, off + 4 + len);
        if (v.length !== len) throw new Error('a packed entry page ends inside a row');
        off += 4 + len;
        return v;
      };
      const eventId = field().toString('latin1'); // a uuid's text form is ASCII
      const eventType = field().toString('utf8');
      const canonical = field();
      // A hash of another length can never match: an empty view makes the comparison fail.
      const none = b.subarray(0, 0);
      one(i, { seq, eventId, eventType, canonical, leafHash: bad & BAD_LEAF ? none : leaf, prevHash: bad & BAD_PREV ? none : prev, chainHash: bad & BAD_CHAIN ? none : chain }, bad);
    }
    return r;
  }
  for (let i = 0; i < n; i++) {
    const lineNo = task.firstLine + i;
    const text = b.toString('utf8', task.starts[i], task.ends[i]);
    if (isBlank(text)) {
      r.codes[i] = ITEM_BLANK;
      continue;
    }
    let e: LedgerEntry;
    try {
      const o = parseLine(text, lineNo);
      if (o.kind === 'checkpoint') throw new ExportLineError(`line ${lineNo}: checkpoints must precede entries`);
      if (o.kind !== 'entry') throw new ExportLineError(`line ${lineNo}: unknown kind ${JSON.stringify(o.kind)}`);
      e = toEntry(o, lineNo);
    } catch (err) {
      if (!(err instanceof ExportLineError)) throw err;
      r.error = { index: i, message: err.message };
      r.count = i;
      return r;
    }
    r.hashes.set(e.leafHash, 96 * i);
    r.hashes.set(e.prevHash, 96 * i + 32);
    r.hashes.set(e.chainHash, 96 * i + 64);
    one(i, e, 0);
  }
  return r;
}
