// A one-pass RFC 8785 check over bytes, building no values: the verifier's fast path. It is sound
// and deliberately incomplete: it answers true only for bytes that parseCanonical (jcs.ts) accepts,
// and false whenever it is not certain (a member name with an escape or a non-ASCII character,
// whose UTF-16 order needs decoding; a number that is not a plain integer of at most 15 digits; a
// nesting deeper than 64). The caller then asks parseCanonical, which decides. So the exact RFC 8785
// rules stay in one place, and most events, ASCII names and small integers, are checked here.
import { isUtf8 } from 'node:buffer';

/**
 * Where the root object's envelope members are (RFC 8785 sorts them data, id, time, type, v): the
 * first byte of each value (-1 when absent), the end of the string values id and type, and
 * whether those two are plain (no escape, ASCII only) so their bytes are their text.
 */
export class EnvelopeSpans {
  data = -1;
  id = -1;
  idEnd = -1;
  idPlain = false;
  time = -1;
  type = -1;
  typeEnd = -1;
  typePlain = false;
  v = -1;
  vEnd = -1;

  reset(): void {
    this.data = this.id = this.idEnd = this.time = this.type = this.typeEnd = this.v = this.vEnd = -1;
    this.idPlain = this.typePlain = false;
  }
}

const MAX_DEPTH = 64;
const NONE = new Uint8Array(0);

// The scan's state (one scan at a time: the function is synchronous).
let b: Uint8Array = NONE;
let p = 0;
let lim = 0;
let highBytes = false; // a byte >= 0x80 was seen inside a string: UTF-8 is validated at the end
let env: EnvelopeSpans | null = null;

/**
 * True only if bytes[start, end) are RFC 8785 canonical JSON (valid UTF-8 included), as
 * parseCanonical would accept them; false when they are not or when this scan is not sure.
 * With `spans`, the root object's envelope members are recorded in it.
 */
export function scanCanonical(bytes: Uint8Array, start: number, end: number, spans?: EnvelopeSpans): boolean {
  if (start < 0 || end > bytes.length || start >= end) return false;
  b = bytes;
  p = start;
  lim = end;
  highBytes = false;
  env = spans ?? null;
  env?.reset();
  let ok: boolean;
  try {
    ok = value(0) && p === lim;
  } finally {
    b = NONE;
    env = null;
  }
  if (ok && highBytes) ok = isUtf8(bytes.subarray(start, end));
  return ok;
}

function value(depth: number): boolean {
  if (p >= lim) return false;
  const c = b[p]!;
  if (c === 0x7b) return object(depth + 1);
  if (c === 0x5b) return array(depth + 1);
  if (c === 0x22) return string() >= 0;
  if (c === 0x74) return literal(TRUE);
  if (c === 0x66) return literal(FALSE);
  if (c === 0x6e) return literal(NULL);
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return integer();
  return false;
}

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function literal(word: number[]): boolean {
  if (p + word.length > lim) return false;
  for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) return false;
  p += word.length;
  return true;
}

/**
 * A number the scan is sure of: an integer of at most 15 digits (below 2^53, so ECMAScript prints
 * it digit for digit), no leading zero, not "-0". Fractions and exponents go to parseCanonical.
 */
function integer(): boolean {
  const neg = b[p] === 0x2d;
  if (neg) p++;
  const first = p;
  if (p >= lim) return false;
  if (b[p] === 0x30) {
    if (neg) return false; // -0 is written 0
    p++;
  } else if (b[p]! >= 0x31 && b[p]! <= 0x39) {
    p++;
    while (p < lim && b[p]! >= 0x30 && b[p]! <= 0x39) p++;
  } else {
    return false;
  }
  if (p < lim && (b[p] === 0x2e || b[p] === 0x65 || b[p] === 0x45 || (b[p]! >= 0x30 && b[p]! <= 0x39))) return false;
  return p - first <= 15;
}

/**
 * A string at p (its opening quote), as JSON.stringify writes it: only `"` `\` and the control
 * characters escaped, these as \b \t \n \f \r or else \u00xx in lowercase hex; every other
 * character raw. Returns -1 if not, else flags: 1 an escape was seen, 2 a byte >= 0x80.
 */
function string(): number {
  let flags = 0;
  p++;
  while (p < lim) {
    const c = b[p]!;
    if (c === 0x22) {
      p++;
      return flags;
    }
    if (c === 0x5c) {
      flags |= 1;
      if (p + 1 >= lim) return -1;
      const e = b[p + 1]!;
      if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        p += 2;
        continue;
      }
      if (e !== 0x75 || p + 6 > lim || b[p + 2] !== 0x30 || b[p + 3] !== 0x30) return -1;
      const hi = b[p + 4]!;
      const lo = b[p + 5]!;
      if (hi !== 0x30 && hi !== 0x31) return -1;
      const low = lo >= 0x30 && lo <= 0x39 ? lo - 0x30 : lo >= 0x61 && lo <= 0x66 ? lo - 0x57 : -1;
      if (low < 0) return -1;
      const code = (hi - 0x30) * 16 + low;
      // These five have short escapes, which JSON.stringify uses.
      if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
      p += 6;
      continue;
    }
    if (c < 0x20) return -1;
    if (c >= 0x80) {
      flags |= 2;
      highBytes = true;
    }
    p++;
  }
  return -1;
}

function array(depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  p++;
  if (p < lim && b[p] === 0x5d) {
    p++;
    return true;
  }
  for (;;) {
    if (!value(depth)) return false;
    if (p >= lim) return false;
    const c = b[p++];
    if (c === 0x2c) continue;
    return c === 0x5d;
  }
}

function object(depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  const root = depth === 1 && env !== null;
  p++;
  if (p < lim && b[p] === 0x7d) {
    p++;
    return true;
  }
  let prevStart = -1;
  let prevEnd = -1;
  for (;;) {
    if (p >= lim || b[p] !== 0x22) return false;
    const ks = p + 1;
    // A name with an escape or a non-ASCII character: its UTF-16 order needs decoding (parseCanonical).
    if (string() !== 0) return false;
    const ke = p - 1;
    if (prevStart >= 0 && !asciiBefore(prevStart, prevEnd, ks, ke)) return false;
    prevStart = ks;
    prevEnd = ke;
    if (p >= lim || b[p] !== 0x3a) return false;
    p++;
    const vs = p;
    if (root && p < lim && b[p] === 0x22) {
      const f = string();
      if (f < 0) return false;
      recordString(ks, ke, vs, p, f === 0);
    } else {
      if (!value(depth)) return false;
      if (root) recordOther(ks, ke, vs, p);
    }
    if (p >= lim) return false;
    const c = b[p++];
    if (c === 0x2c) continue;
    return c === 0x7d;
  }
}

/** Strictly before in byte order, which for ASCII names is RFC 8785's UTF-16 order. */
function asciiBefore(a: number, aEnd: number, c: number, cEnd: number): boolean {
  const n = Math.min(aEnd - a, cEnd - c);
  for (let i = 0; i < n; i++) {
    const x = b[a + i]!;
    const y = b[c + i]!;
    if (x !== y) return x < y;
  }
  return aEnd - a < cEnd - c;
}

function nameIs(ks: number, ke: number, name: number[]): boolean {
  if (ke - ks !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (b[ks + i] !== name[i]) return false;
  return true;
}

const N_DATA = [0x64, 0x61, 0x74, 0x61];
const N_ID = [0x69, 0x64];
const N_TIME = [0x74, 0x69, 0x6d, 0x65];
const N_TYPE = [0x74, 0x79, 0x70, 0x65];
const N_V = [0x76];

/** A string value of the root object: for id and type, its content [vs + 1, end - 1). */
function recordString(ks: number, ke: number, vs: number, end: number, plain: boolean): void {
  const e = env!;
  if (nameIs(ks, ke, N_ID)) {
    e.id = vs + 1;
    e.idEnd = end - 1;
    e.idPlain = plain;
  } else if (nameIs(ks, ke, N_TYPE)) {
    e.type = vs + 1;
    e.typeEnd = end - 1;
    e.typePlain = plain;
  } else {
    recordOther(ks, ke, vs, end);
  }
}

function recordOther(ks: number, ke: number, vs: number, end: number): void {
  const e = env!;
  if (nameIs(ks, ke, N_DATA)) e.data = vs;
  else if (nameIs(ks, ke, N_TIME)) e.time = vs;
  else if (nameIs(ks, ke, N_V)) {
    e.v = vs;
    e.vEnd = end;
  }
}
