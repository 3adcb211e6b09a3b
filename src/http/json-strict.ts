// A strict scan of JSON text for what JSON.parse accepts but evidence must not: duplicate member
// names (JSON.parse keeps the last, so the record would not be what was sent), escapes that leave
// a lone surrogate (no Unicode scalar value, no RFC 8785 canonical form) and nesting too deep to
// be any documented body. It also locates a byte offset in a body (for invalid UTF-8 errors).
// One pass, no recursion; string contents are skipped with indexOf.

export type JsonPath = Array<string | number>;

export type StrictJsonIssue =
  | { kind: 'duplicate_member'; path: JsonPath; member: string }
  | { kind: 'lone_surrogate'; path: JsonPath; memberName: boolean }
  | { kind: 'too_deep'; path: JsonPath; limit: number };

/** Deeper than any documented body (they nest at most four levels). */
export const MAX_JSON_DEPTH = 64;

// Up to this many member names an object's names are kept in an array, beyond it in a Set.
const SMALL_OBJECT = 16;

interface Frame {
  object: boolean;
  names: string[] | Set<string>;
  key: string;
  index: number;
}

interface Str {
  /** Index of the closing quote, -1 if the text ends inside the string. */
  end: number;
  escaped: boolean;
  lone: boolean;
}

class Scanner {
  readonly stack: Frame[] = [];
  expectName = false;
  private nextBackslash = -1;

  constructor(private readonly text: string) {}

  path(frames = this.stack.length): JsonPath {
    const p: JsonPath = [];
    for (let k = 0; k < frames; k++) {
      const f = this.stack[k]!;
      p.push(f.object ? f.key : f.index);
    }
    return p;
  }

  /** The string starting at the quote at `i`. */
  string(i: number): Str {
    const t = this.text;
    let j = i + 1;
    let escaped = false;
    let lone = false;
    for (;;) {
      const q = t.indexOf('"', j);
      // The next backslash is looked up once per backslash passed, so the scan stays linear.
      if (this.nextBackslash !== -2 && this.nextBackslash < j) {
        const b = t.indexOf('\\', j);
        this.nextBackslash = b === -1 ? -2 : b;
      }
      const b = this.nextBackslash;
      if (b === -2 || (q !== -1 && b > q)) return { end: q, escaped, lone };
      escaped = true;
      if (t.charCodeAt(b + 1) === 0x75) {
        const cu = parseInt(t.slice(b + 2, b + 6), 16);
        if (cu >= 0xd800 && cu <= 0xdbff) {
          if (t.charCodeAt(b + 6) === 0x5c && t.charCodeAt(b + 7) === 0x75) {
            const low = parseInt(t.slice(b + 8, b + 12), 16);
            if (low >= 0xdc00 && low <= 0xdfff) {
              j = b + 12;
              continue;
            }
          }
          lone = true;
        } else if (cu >= 0xdc00 && cu <= 0xdfff) lone = true;
        j = b + 6;
      } else j = b + 2;
    }
  }

  name(i: number, s: Str): string {
    if (!s.escaped) return this.text.slice(i + 1, s.end);
    try {
      return JSON.parse(this.text.slice(i, s.end + 1)) as string;
    } catch {
      return this.text.slice(i + 1, s.end);
    }
  }

  /**
   * Scans to the end of the text, or to the first issue (with `report`). The text may also end
   * anywhere (a body cut at a bad byte): the scan then says whether it ended inside a string.
   */
  run(maxDepth: number, report = true): StrictJsonIssue | { kind: 'end'; in: 'member_name' | 'string' | null } {
    const t = this.text;
    const n = t.length;
    const stack = this.stack;
    let i = 0;
    while (i < n) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        const top = stack[stack.length - 1];
        const isName = top !== undefined && top.object && this.expectName;
        const s = this.string(i);
        if (s.end === -1) return { kind: 'end', in: isName ? 'member_name' : 'string' };
        if (isName) {
          const name = this.name(i, s);
          if (report && s.lone) return { kind: 'lone_surrogate', path: this.path(stack.length - 1), memberName: true };
          if (report && has(top.names, name)) return { kind: 'duplicate_member', path: this.path(stack.length - 1), member: name };
          top.names = add(top.names, name);
          top.key = name;
          this.expectName = false;
        } else if (report && s.lone) return { kind: 'lone_surrogate', path: this.path(), memberName: false };
        i = s.end + 1;
      } else if (c === 0x7b || c === 0x5b) {
        if (stack.length >= maxDepth) return { kind: 'too_deep', path: this.path(), limit: maxDepth };
        stack.push({ object: c === 0x7b, names: [], key: '', index: 0 });
        this.expectName = c === 0x7b;
        i++;
      } else if (c === 0x7d || c === 0x5d) {
        stack.pop();
        this.expectName = false;
        i++;
      } else if (c === 0x2c) {
        const top = stack[stack.length - 1];
        if (top?.object) this.expectName = true;
        else if (top) top.index++;
        i++;
      } else i++;
    }
    return { kind: 'end', in: null };
  }
}

function has(names: string[] | Set<string>, name: string): boolean {
  return Array.isArray(names) ? names.includes(name) : names.has(name);
}

function add(names: string[] | Set<string>, name: string): string[] | Set<string> {
  if (!Array.isArray(names)) return names.add(name);
  names.push(name);
  return names.length > SMALL_OBJECT ? new Set(names) : names;
}

/** The first issue of JSON text that JSON.parse accepted, or null. */
export function strictJsonIssue(text: string, maxDepth = MAX_JSON_DEPTH): StrictJsonIssue | null {
  const r = new Scanner(text).run(maxDepth);
  return r.kind === 'end' ? null : r;
}

/**
 * Where the end of `prefix` (the part of a body before some offset) lies: inside the string value
 * at `path`, inside a member name of the object at `path`, or outside any string (`in` null).
 */
export function locateEnd(prefix: string): { path: JsonPath; in: 'member_name' | 'string' | null } {
  const s = new Scanner(prefix);
  const r = s.run(Number.MAX_SAFE_INTEGER, false);
  if (r.kind !== 'end') return { path: [], in: null };
  return { path: s.path(r.in === 'member_name' ? s.stack.length - 1 : s.stack.length), in: r.in };
}

/** A path as validation errors name fields: "auth.mfa", "samples.3.owner_label", "(root)". */
export function fieldName(path: JsonPath): string {
  return path.length ? path.map(String).join('.') : '(root)';
}
