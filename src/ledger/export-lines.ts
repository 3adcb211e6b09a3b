// The lines of a ledger export file (export.ts), parsed strictly: what was written is exactly what
// is read. Pure, so the entry lines can be parsed on the verifier's worker threads.
import type { LedgerEntry } from './format.js';

/** A line that is not what the export format allows; `message` names the line. */
export class ExportLineError extends Error {}

/** The JSON object on a line, else an ExportLineError. */
export function parseLine(text: string, lineNo: number): Record<string, unknown> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new ExportLineError(`line ${lineNo} is not JSON`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ExportLineError(`line ${lineNo} is not a JSON object`);
  return o as Record<string, unknown>;
}

/** An entry line's fields as a ledger entry. */
export function toEntry(o: Record<string, unknown>, line: number): LedgerEntry {
  if (typeof o.seq !== 'number' || !Number.isSafeInteger(o.seq) || typeof o.event_id !== 'string' || typeof o.event_type !== 'string') {
    throw new ExportLineError(`line ${line}: entry lacks seq, event_id or event_type`);
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

/** Canonical padded standard base64 (RFC 4648 section 4) only. */
export function b64(v: unknown, line: number): Buffer {
  const b = typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v) ? Buffer.from(v, 'base64') : null;
  if (!b || b.toString('base64') !== v) throw new ExportLineError(`line ${line}: expected padded standard base64`);
  return b;
}

function hex32(v: unknown, line: number): Buffer {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new ExportLineError(`line ${line}: expected a 64-digit hex hash`);
  return Buffer.from(v, 'hex');
}

/** A line of nothing but whitespace is skipped (as String.prototype.trim sees whitespace). */
export const isBlank = (text: string): boolean => text.trim() === '';

/**
 * An entry line exactly as exportLines writes it (JSON.stringify, fields in its order, no escape):
 * {"kind":"entry","seq":N,"event_id":"…","event_type":"…","recorded_at":"…","canonical":"<base64>",
 * "leaf_hash":"<hex>","prev_hash":"<hex>","chain_hash":"<hex>"}, read without JSON.parse. The
 * three hashes are decoded into out[outAt, outAt + 96). Returns false for any other line (then
 * parseLine and toEntry read it, and report its faults): a line this accepts is one they accept,
 * with the same values. `f` receives where the fields lie.
 */
export function readWrittenEntry(b: Uint8Array, start: number, end: number, out: Uint8Array, outAt: number, f: WrittenEntry): boolean {
  rb = b;
  rp = start;
  rend = end;
  try {
    if (!lit(W_SEQ)) return false;
    // seq: an integer JSON.parse reads exactly (no leading zero, at most 15 digits)
    const s0 = rp;
    while (rp < end && b[rp]! >= 0x30 && b[rp]! <= 0x39) rp++;
    const digits = rp - s0;
    if (digits === 0 || digits > 15 || (digits > 1 && b[s0] === 0x30)) return false;
    let seq = 0;
    for (let i = s0; i < rp; i++) seq = seq * 10 + (b[i]! - 0x30);
    if (!lit(W_ID)) return false;
    f.idAt = rp;
    f.idLen = plain();
    if (!lit(W_TYPE)) return false;
    f.typeAt = rp;
    f.typeLen = plain();
    if (!lit(W_RECORDED)) return false;
    plain();
    if (!lit(W_CANONICAL)) return false;
    f.canAt = rp;
    while (rp < end && b[rp] !== 0x22) rp++;
    f.canEnd = rp;
    if (!canonicalBase64(b, f.canAt, f.canEnd)) return false;
    if (!lit(W_LEAF) || !hexInto(b, rp, end, out, outAt)) return false;
    rp += 64;
    if (!lit(W_PREV) || !hexInto(b, rp, end, out, outAt + 32)) return false;
    rp += 64;
    if (!lit(W_CHAIN) || !hexInto(b, rp, end, out, outAt + 64)) return false;
    rp += 64;
    if (!lit(W_END) || rp !== end) return false;
    f.seq = seq;
    return true;
  } finally {
    rb = NO_BYTES;
  }
}

// readWrittenEntry's position (synchronous: one read at a time; no closure per line).
const NO_BYTES = new Uint8Array(0);
let rb: Uint8Array = NO_BYTES;
let rp = 0;
let rend = 0;

function lit(s: Uint8Array): boolean {
  if (rp + s.length > rend) return false;
  for (let i = 0; i < s.length; i++) if (rb[rp + i] !== s[i]) return false;
  rp += s.length;
  return true;
}

/** A string value of printable ASCII without `"` or `\`: its bytes are its text. Returns its length. */
function plain(): number {
  const s = rp;
  while (rp < rend) {
    const c = rb[rp]!;
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) break;
    rp++;
  }
  return rp - s;
}

/** Where readWrittenEntry found the fields (offsets into the line's buffer). */
export class WrittenEntry {
  seq = 0;
  idAt = 0;
  idLen = 0;
  typeAt = 0;
  typeLen = 0;
  canAt = 0;
  canEnd = 0;
}

const ascii = (s: string) => Buffer.from(s, 'latin1');
const W_SEQ = ascii('{"kind":"entry","seq":');
const W_ID = ascii(',"event_id":"');
const W_TYPE = ascii('","event_type":"');
const W_RECORDED = ascii('","recorded_at":"');
const W_CANONICAL = ascii('","canonical":"');
const W_LEAF = ascii('","leaf_hash":"');
const W_PREV = ascii('","prev_hash":"');
const W_CHAIN = ascii('","chain_hash":"');
const W_END = ascii('"}');

const B64 = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/**
 * Whether b[s, e) is canonical padded standard base64, as b64 requires (the re-encoding of what it
 * decodes to is itself): a multiple of 4 characters of the alphabet, "=" only as the last one or
 * two, and the bits the padding leaves unused all zero.
 */
export function canonicalBase64(b: Uint8Array, s: number, e: number): boolean {
  const n = e - s;
  if (n % 4 !== 0) return false;
  if (n === 0) return true;
  const pad = b[e - 1] === 0x3d ? (b[e - 2] === 0x3d ? 2 : 1) : 0;
  for (let i = s; i < e - pad; i++) if (B64[b[i]!]! < 0) return false;
  if (pad === 2) return (B64[b[e - 3]!]! & 0x0f) === 0;
  if (pad === 1) return (B64[b[e - 2]!]! & 0x03) === 0;
  return true;
}

const HEXV = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEXV['0123456789abcdef'.charCodeAt(i)] = i;

/** 64 lowercase hex digits at b[p] into 32 bytes at out[o] (false, and out partly written, if not). */
function hexInto(b: Uint8Array, p: number, end: number, out: Uint8Array, o: number): boolean {
  if (p + 64 > end) return false;
  for (let i = 0; i < 32; i++) {
    const hi = HEXV[b[p + 2 * i]!]!;
    const lo = HEXV[b[p + 2 * i + 1]!]!;
    if (hi < 0 || lo < 0) return false;
    out[o + i] = (hi << 4) | lo;
  }
  return true;
}
