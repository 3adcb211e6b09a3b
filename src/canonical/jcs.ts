// RFC 8785 (JCS) canonical bytes. Everything we hash or sign goes through here.
import canonicalizeModule from 'canonicalize';
import { AppError } from '../problems/app-error.js';

// The package is CommonJS (module.exports = fn) while its typings declare an ES default export.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export class CanonicalError extends AppError<'not_canonical'> {
  constructor(detail: string) {
    super('not_canonical', detail);
  }
}

/** Canonical UTF-8 string of a JSON value. Rejects values JSON cannot carry exactly. */
export function canonicalString(value: unknown): string {
  assertJsonValue(value, '$');
  const out = canonicalize(value);
  if (out === undefined) throw new CanonicalError('value has no JSON form');
  return out;
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalString(value), 'utf8');
}

/**
 * Parses bytes that claim to be canonical JSON and proves it: the bytes must be valid UTF-8 and
 * re-canonicalising the parsed value must give the same bytes (this also rejects duplicate keys,
 * whitespace and non-canonical numbers or escapes).
 */
export function parseCanonical(bytes: Uint8Array): unknown {
  let text: string;
  let value: unknown;
  try {
    text = UTF8.decode(bytes);
    value = JSON.parse(text);
  } catch (e) {
    // Hostile bytes fail here as CanonicalError only: invalid UTF-8 (TypeError) or not JSON (SyntaxError).
    throw new CanonicalError(e instanceof SyntaxError ? 'bytes are not JSON' : 'bytes are not valid UTF-8');
  }
  // Fast path (the verifier's hot loop): when every object's members already come out of the
  // parse in sorted order, JSON.stringify writes exactly what canonicalize would (JCS numbers and
  // strings are JSON.stringify's), without re-sorting. Otherwise canonicalize decides.
  const again = membersInOrder(value) ? JSON.stringify(value) : canonicalize(value);
  if (again !== text) throw new CanonicalError('bytes are not in RFC 8785 canonical form');
  // Valid UTF-8 cannot carry a lone surrogate; only a \uD800-\uDFFF escape can (RFC 8785 forbids them).
  if (text.includes('\\ud')) assertJsonValue(value, '$');
  return value;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** True when the members of every object in a parsed value are in strictly increasing UTF-16 order. */
function membersInOrder(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (Array.isArray(v)) {
    for (const x of v) if (!membersInOrder(x)) return false;
    return true;
  }
  const keys = Object.keys(v);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && !(keys[i - 1]! < keys[i]!)) return false;
    if (!membersInOrder((v as Record<string, unknown>)[keys[i]!])) return false;
  }
  return true;
}

/**
 * Throws CanonicalError naming the first value JSON cannot carry exactly. The path to it is
 * built only then: checking a value that is fine (every event, every request) allocates nothing.
 */
function assertJsonValue(value: unknown, root: string): void {
  const path: string[] = [];
  const why = problem(value, path);
  if (why !== null) throw new CanonicalError(`${root}${path.reverse().join('')}${why}`);
}

// A UTF-16 surrogate not part of a pair: RFC 8785 (3.2.2.2) requires rejecting it. isWellFormed()
// is false exactly when a string holds one (ES2024; Node 20 has it).
const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

/** What is wrong with `value` (": ..."), its path segments pushed innermost first; null when it is JSON. */
function problem(value: unknown, path: string[]): string | null {
  switch (typeof value) {
    case 'string':
      return wellFormed(value) ? null : ': string contains a lone surrogate';
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : ': non-finite number';
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const why = problem(value[i], path);
          if (why !== null) return path.push(`[${i}]`), why;
        }
        return null;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return ': only plain objects are allowed';
      for (const k of Object.keys(value)) {
        if (!wellFormed(k)) return ': key contains a lone surrogate';
        const v = (value as Record<string, unknown>)[k];
        if (v === undefined) return path.push(`.${k}`), ': undefined is not JSON';
        const why = problem(v, path);
        if (why !== null) return path.push(`.${k}`), why;
      }
      return null;
    }
    default:
      return `: ${typeof value} is not JSON`;
  }
}
