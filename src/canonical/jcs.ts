// RFC 8785 (JCS) canonical bytes. Everything we hash or sign goes through here.
import canonicalizeModule from 'canonicalize';

// The package is CommonJS (module.exports = fn) while its typings declare an ES default export.
const canonicalize = canonicalizeModule as unknown as (value: unknown) => string | undefined;

export class CanonicalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalError';
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
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  const value: unknown = JSON.parse(text);
  const again = canonicalize(value);
  if (again !== text) throw new CanonicalError('bytes are not in RFC 8785 canonical form');
  return value;
}

function assertJsonValue(value: unknown, path: string): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalError(`${path}: non-finite number`);
      return;
    case 'object':
      if (value === null) return;
      if (Array.isArray(value)) {
        value.forEach((v, i) => assertJsonValue(v, `${path}[${i}]`));
        return;
      }
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
        throw new CanonicalError(`${path}: only plain objects are allowed`);
      }
      for (const [k, v] of Object.entries(value)) {
        if (v === undefined) throw new CanonicalError(`${path}.${k}: undefined is not JSON`);
        assertJsonValue(v, `${path}.${k}`);
      }
      return;
    default:
      throw new CanonicalError(`${path}: ${typeof value} is not JSON`);
  }
}
