// Piscina task module: the per-entry checks of the ledger verifier (checkEntry: leaf hash, chain
// hash, RFC 8785 bytes, envelope, row id and type) for one chunk of thousands of entries, so they
// run on every core while the calling thread keeps the sequential checks (verifier-pool.ts). Each
// row is first checked where it lies (entryIntact); checkEntry sees only those it declines. The
// Merkle subtree roots of whole aligned blocks of 256 leaves are hashed here too.
import { ExportLineError, isBlank, parseLine, readWrittenEntry, toEntry, WrittenEntry } from './export-lines.js';
import type { LedgerEntry } from './format.js';
import { checkEntry, type SpecialEvent } from './verifier.js';
import { entryIntact } from './verifier-fast.js';
import { hash } from 'node:crypto';
import { NODE_PREFIX } from '../crypto/domains.js';

/**
 * A chunk: rows as the repository's entry pages hold them (LedgerRepository.entryPages): `copy`,
 * tuples of PostgreSQL's binary COPY format, or `packed` (the embedded database); or `lines` of
 * an export file (byte ranges [starts[i], ends[i]) of `bytes`, line firstLine + i). `owned`: the
 * bytes' ArrayBuffer belongs to the task alone and is transferred as it is.
 */
export type VerifyTask =
  | { kind: 'packed' | 'copy'; bytes: Uint8Array; count: number; owned?: boolean }
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
  /**
   * Merkle subtree roots of aligned blocks of BLOCK_WIDTH leaves within the chunk: the item index
   * where each starts (its entry number is one more than a multiple of BLOCK_WIDTH), the roots at
   * 32·k of blockRoots. The calling thread uses one only if every entry of its block is accepted.
   */
  blockStarts: Int32Array;
  blockRoots: Uint8Array;
}

/** Leaves per block hashed here (a C2SP tile's width): height 8. */
export const BLOCK_HEIGHT = 8;
export const BLOCK_WIDTH = 2 ** BLOCK_HEIGHT;

/** The packed row layout: seq (int8, big-endian), bad (1 byte), leaf, prev, chain (32 each), then id, type and event bytes, each after its int4 length. */
export const PACKED_FIXED = 8 + 1 + 96;

export default function verifyChunk(task: VerifyTask): VerifyChunkResult {
  const n = task.kind === 'lines' ? task.starts.length : task.count;
  const r: VerifyChunkResult = { count: n, codes: new Uint8Array(n), seqs: new Float64Array(n), hashes: new Uint8Array(96 * n), bad: new Uint8Array(n), specials: [], error: null, blockStarts: new Int32Array(0), blockRoots: new Uint8Array(0) };
  const one = (i: number, e: LedgerEntry, bad: number): void => {
    const c = checkEntry(e);
    r.codes[i] = c.code;
    r.seqs[i] = e.seq;
    r.bad[i] = bad;
    if (c.special) r.specials.push([i, c.special]);
  };
  const b = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  if (task.kind === 'copy') {
    copyRows(b, n, r, one);
    return withBlocks(r);
  }
  if (task.kind !== 'lines') {
    let off = 0;
    for (let i = 0; i < n; i++) {
      if (off + PACKED_FIXED > b.length) throw new Error('a packed entry page ends inside a row');
      const seq = b.readUInt32BE(off) * 0x1_0000_0000 + b.readUInt32BE(off + 4);
      const bad = b[off + 8]!;
      b.copy(r.hashes, 96 * i, off + 9, off + 9 + 96);
      const leafAt = off + 9;
      off += PACKED_FIXED;
      const idLen = lengthAt(b, off);
      const idAt = off + 4;
      off = idAt + idLen;
      const typeLen = lengthAt(b, off);
      const typeAt = off + 4;
      off = typeAt + typeLen;
      const canLen = lengthAt(b, off);
      const canAt = off + 4;
      off = canAt + canLen;
      r.seqs[i] = seq;
      r.bad[i] = bad;
      if (bad === 0 && entryIntact(seq, b, canAt, canLen, b, leafAt, b, leafAt + 32, b, leafAt + 64, b, idAt, idLen, b, typeAt, typeLen)) continue;
      // A hash of another length can never match: an empty view makes the comparison fail.
      const none = b.subarray(0, 0);
      one(i, {
        seq,
        eventId: b.toString('latin1', idAt, idAt + idLen), // a uuid's text form is ASCII
        eventType: b.toString('utf8', typeAt, typeAt + typeLen),
        canonical: b.subarray(canAt, canAt + canLen),
        leafHash: bad & BAD_LEAF ? none : b.subarray(leafAt, leafAt + 32),
        prevHash: bad & BAD_PREV ? none : b.subarray(leafAt + 32, leafAt + 64),
        chainHash: bad & BAD_CHAIN ? none : b.subarray(leafAt + 64, leafAt + 96),
      }, bad);
    }
    return withBlocks(r);
  }
  const w = new WrittenEntry();
  for (let i = 0; i < n; i++) {
    const lineNo = task.firstLine + i;
    // The line as exportLines writes it: read in place; anything else as JSON, below.
    if (readWrittenEntry(b, task.starts[i]!, task.ends[i]!, r.hashes, 96 * i, w)) {
      r.seqs[i] = w.seq;
      const h = r.hashes;
      const o = 96 * i;
      const can = Buffer.from(b.toString('latin1', w.canAt, w.canEnd), 'base64');
      if (entryIntact(w.seq, can, 0, can.length, h, o, h, o + 32, h, o + 64, b, w.idAt, w.idLen, b, w.typeAt, w.typeLen)) continue;
      one(i, {
        seq: w.seq,
        eventId: b.toString('latin1', w.idAt, w.idAt + w.idLen),
        eventType: b.toString('latin1', w.typeAt, w.typeAt + w.typeLen),
        canonical: can,
        leafHash: Buffer.from(h.subarray(o, o + 32)),
        prevHash: Buffer.from(h.subarray(o + 32, o + 64)),
        chainHash: Buffer.from(h.subarray(o + 64, o + 96)),
      }, 0);
      continue;
    }
    r.hashes.fill(0, 96 * i, 96 * i + 96); // the fast read may have written part of them
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
    r.seqs[i] = e.seq;
    // UTF-8 bytes are equal exactly when the strings are (entryIntact compares bytes).
    const id = Buffer.from(e.eventId, 'utf8');
    const type = Buffer.from(e.eventType, 'utf8');
    if (entryIntact(e.seq, e.canonical, 0, e.canonical.length, e.leafHash, 0, e.prevHash, 0, e.chainHash, 0, id, 0, id.length, type, 0, type.length)) continue;
    one(i, e, 0);
  }
  return withBlocks(r);
}

/** A field's int4 length at `off` in a packed page, checked to lie within it. */
function lengthAt(b: Buffer, off: number): number {
  if (off + 4 > b.length) throw new Error('a packed entry page ends inside a row');
  const len = b.readUInt32BE(off);
  if (off + 4 + len > b.length) throw new Error('a packed entry page ends inside a row');
  return len;
}

/** The columns a COPY page holds, in this order (LedgerRepository.entryPages). */
export const COPY_COLUMNS = 7;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const idText = Buffer.alloc(36);

/**
 * Rows of PostgreSQL's binary COPY format (each: int2 column count, then per column an int4
 * length, -1 for NULL, and the bytes): seq (int8), event_id (uuid, 16 bytes), event_type, canonical,
 * leaf_hash, prev_hash, chain_hash (bytea). A hash of another length than 32 is flagged and
 * zero-filled in the result, and compared as empty, as in a packed page.
 */
function copyRows(b: Buffer, n: number, r: VerifyChunkResult, one: (i: number, e: LedgerEntry, bad: number) => void): void {
  const broken = () => new Error('a COPY entry page ends inside a row or has other columns than the verifier reads');
  let off = 0;
  const starts = [0, 0, 0, 0, 0, 0, 0];
  const lens = [0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    if (off + 2 > b.length || b.readInt16BE(off) !== COPY_COLUMNS) throw broken();
    off += 2;
    for (let c = 0; c < COPY_COLUMNS; c++) {
      if (off + 4 > b.length) throw broken();
      const len = b.readInt32BE(off);
      off += 4;
      starts[c] = off;
      lens[c] = len;
      if (len > 0) off += len;
      if (off > b.length) throw broken();
    }
    if (lens[0] !== 8 || lens[1] !== 16) throw broken();
    const seq = b.readUInt32BE(starts[0]!) * 0x1_0000_0000 + b.readUInt32BE(starts[0]! + 4);
    // The uuid's text form, lowercase, as PostgreSQL writes it (and as events carry it).
    const u = starts[1]!;
    for (let k = 0, o = 0; k < 16; k++) {
      if (k === 4 || k === 6 || k === 8 || k === 10) idText[o++] = 0x2d;
      idText[o++] = HEX[b[u + k]! >> 4]!;
      idText[o++] = HEX[b[u + k]! & 15]!;
    }
    const typeAt = starts[2]!;
    const typeLen = Math.max(0, lens[2]!);
    const canAt = starts[3]!;
    const canLen = Math.max(0, lens[3]!);
    const bad = (lens[4] === 32 ? 0 : BAD_LEAF) | (lens[5] === 32 ? 0 : BAD_PREV) | (lens[6] === 32 ? 0 : BAD_CHAIN);
    const h = 96 * i;
    const out = r.hashes;
    for (let c = 4, at = h; c <= 6; c++, at += 32) {
      if (lens[c] !== 32) continue; // zero-filled
      const from = starts[c]!;
      for (let k = 0; k < 32; k++) out[at + k] = b[from + k]!;
    }
    r.seqs[i] = seq;
    r.bad[i] = bad;
    if (bad === 0 && entryIntact(seq, b, canAt, canLen, b, starts[4]!, b, starts[5]!, b, starts[6]!, idText, 0, 36, b, typeAt, typeLen)) continue;
    const none = b.subarray(0, 0);
    const field = (c: number) => (lens[c]! > 0 ? b.subarray(starts[c]!, starts[c]! + lens[c]!) : none);
    one(i, {
      seq,
      eventId: idText.toString('latin1'),
      eventType: b.toString('utf8', typeAt, typeAt + typeLen),
      canonical: field(3),
      leafHash: bad & BAD_LEAF ? none : field(4),
      prevHash: bad & BAD_PREV ? none : field(5),
      chainHash: bad & BAD_CHAIN ? none : field(6),
    }, bad);
  }
}

const level = Buffer.alloc(BLOCK_WIDTH * 32);
const nodeInput = Buffer.alloc(65);

/** Adds the subtree roots of the aligned blocks of BLOCK_WIDTH entries the chunk holds whole. */
function withBlocks(r: VerifyChunkResult): VerifyChunkResult {
  const n = r.count;
  const starts: number[] = [];
  for (let i = 0; i + BLOCK_WIDTH <= n; i++) {
    if ((r.seqs[i]! - 1) % BLOCK_WIDTH !== 0 || r.codes[i] === ITEM_BLANK) continue;
    // Consecutive entries only (no blank line, no gap): else the leaves go to the tree one by one.
    let whole = true;
    for (let j = 1; j < BLOCK_WIDTH && whole; j++) whole = r.codes[i + j] !== ITEM_BLANK && r.seqs[i + j] === r.seqs[i]! + j;
    if (!whole) continue;
    starts.push(i);
    i += BLOCK_WIDTH - 1;
  }
  if (starts.length === 0) return r;
  r.blockStarts = Int32Array.from(starts);
  r.blockRoots = new Uint8Array(32 * starts.length);
  nodeInput[0] = NODE_PREFIX;
  starts.forEach((start, k) => {
    for (let j = 0; j < BLOCK_WIDTH; j++) level.set(r.hashes.subarray(96 * (start + j), 96 * (start + j) + 32), 32 * j);
    // RFC 9162 node hashes, level by level, in place: SHA-256(0x01 || left || right).
    for (let width = BLOCK_WIDTH; width > 1; width /= 2) {
      for (let j = 0; j < width; j += 2) {
        level.copy(nodeInput, 1, 32 * j, 32 * j + 64);
        level.write(hash('sha256', nodeInput, 'binary'), 16 * j, 32, 'latin1');
      }
    }
    r.blockRoots.set(level.subarray(0, 32), 32 * k);
  });
  return r;
}
