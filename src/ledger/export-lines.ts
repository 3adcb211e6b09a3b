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
