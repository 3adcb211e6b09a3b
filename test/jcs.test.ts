// RFC 8785 (JCS): the cyberphone/json-canonicalization conformance vectors, and parseCanonical's
// refusal of every byte string that is not exactly canonical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CanonicalError, canonicalBytes, canonicalString, parseCanonical } from '../src/canonical/jcs.js';
import { packageRoot } from '../src/util/paths.js';
import canonicalizeModule from 'canonicalize';

const reference = canonicalizeModule as unknown as (v: unknown) => string;

const repoRoot = packageRoot();
const VECTORS = path.join(repoRoot, 'test', 'vectors', 'jcs'); // in-repo copy: works from any clone
const SHARED = path.resolve(repoRoot, '../shared/vectors/jcs'); // the CI machine's copy, when present

const names = readdirSync(path.join(VECTORS, 'input')).filter((f) => f.endsWith('.json')).sort();

test('the in-repo JCS vectors are all there', () => {
  assert.deepEqual(names, ['arrays.json', 'french.json', 'structures.json', 'unicode.json', 'values.json', 'weird.json']);
});

for (const name of names) {
  const base = name.replace(/\.json$/, '');
  test(`JCS vector ${base}: input canonicalises to exactly output (and outhex)`, () => {
    const input = readFileSync(path.join(VECTORS, 'input', name), 'utf8');
    const expected = readFileSync(path.join(VECTORS, 'output', name));
    const hex = readFileSync(path.join(VECTORS, 'outhex', `${base}.txt`), 'utf8').replace(/\s+/g, '');
    assert.equal(expected.toString('hex'), hex, 'output/ and outhex/ disagree');
    const got = canonicalBytes(JSON.parse(input));
    assert.equal(got.toString('hex'), hex);
    assert.ok(got.equals(expected));
    // The canonical bytes are their own canonical form, and parse back to the same value.
    assert.deepEqual(parseCanonical(expected), JSON.parse(input));
    assert.equal(canonicalString(parseCanonical(expected)), expected.toString('utf8'));
  });
}

test('the in-repo JCS vectors equal ../shared/vectors/jcs when that copy exists', (t) => {
  if (!existsSync(SHARED)) {
    t.skip(`${SHARED} is not present on this machine`);
    return;
  }
  for (const dir of ['input', 'output', 'outhex']) {
    const mine = readdirSync(path.join(VECTORS, dir)).sort();
    const theirs = readdirSync(path.join(SHARED, dir)).sort();
    assert.deepEqual(mine, theirs, dir);
    for (const f of mine) assert.ok(readFileSync(path.join(VECTORS, dir, f)).equals(readFileSync(path.join(SHARED, dir, f))), `${dir}/${f}`);
  }
});

const rejects = (bytes: Uint8Array | string, why: string) => {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  assert.throws(() => parseCanonical(b), (e: unknown) => e instanceof CanonicalError || e instanceof SyntaxError || e instanceof TypeError, `${why}: ${Buffer.from(b).toString('hex')}`);
};

test('parseCanonical accepts canonical bytes', () => {
  for (const s of ['{}', '[]', '0', '-1', '1.5', '1e+30', '1e-7', '"\\u001f"', '{"a":[1,{"b":null}],"b":true}', '"é€😀"', '{"\\n":1,"a":2}']) {
    assert.doesNotThrow(() => parseCanonical(Buffer.from(s, 'utf8')), s);
  }
});

test('parseCanonical rejects whitespace anywhere', () => {
  for (const s of [' {}', '{} ', '{}\n', '{ "a":1}', '{"a": 1}', '{"a":1 }', '[1, 2]', '\t[]', '{"a":1}\r\n']) rejects(s, `whitespace ${JSON.stringify(s)}`);
});

test('parseCanonical rejects keys out of order (including UTF-16 order)', () => {
  rejects('{"b":1,"a":2}', 'key order');
  rejects('{"a":{"d":1,"c":2}}', 'nested key order');
  // JCS sorts by UTF-16 code units: U+FB01 (ﬁ) sorts after U+1F600 (😀, surrogates D83D...) is wrong; the reverse is right.
  assert.equal(canonicalString({ '\ufb01': 1, '\u{1f600}': 2 }), '{"😀":2,"ﬁ":1}');
  rejects('{"ﬁ":1,"😀":2}', 'code-point order instead of UTF-16 order');
});

test('parseCanonical rejects duplicate keys', () => {
  rejects('{"a":1,"a":2}', 'duplicate key, different values');
  rejects('{"a":1,"a":1}', 'duplicate key, same value');
  rejects('{"x":{"a":1,"a":1}}', 'nested duplicate key');
});

test('parseCanonical rejects non-canonical numbers', () => {
  for (const s of ['1.0', '1e2', '1E2', '1e+2', '100.00', '0.10', '-0', '01', '1.5e0', '1E+30', '1e30', '0.0000001', '9007199254740993', '[1.0]', '{"a":1e2}']) {
    rejects(s, `number ${s}`);
  }
  // What the canonical forms of those are.
  assert.equal(canonicalString(100), '100');
  assert.equal(canonicalString(1e30), '1e+30');
  assert.equal(canonicalString(1e-7), '1e-7');
  assert.equal(canonicalString(-0), '0');
});

test('parseCanonical rejects non-canonical string escapes', () => {
  for (const s of ['"\\u0041"', '"\\/"', '"\\u00e9"', '"\\u20ac"', '"\\u001F"', '"\\u0008"', '"\\uD83D\\uDE00"']) rejects(s, `escape ${s}`);
  assert.equal(canonicalString('\u0008\u001f/é'), '"\\b\\u001f/é"');
});

test('parseCanonical rejects invalid UTF-8 and a byte-order mark', () => {
  rejects(Buffer.from([0x22, 0xff, 0x22]), 'invalid byte 0xff');
  rejects(Buffer.from([0x22, 0xc3, 0x22]), 'truncated sequence');
  rejects(Buffer.from([0x22, 0xc0, 0xaf, 0x22]), 'overlong encoding');
  rejects(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), 'encoded surrogate (CESU-8)');
  rejects(Buffer.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), 'code point above U+10FFFF');
  rejects(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), 'byte-order mark');
});

test('lone surrogates are refused both ways (RFC 8785 section 3.2.2.2)', () => {
  for (const v of ['\ud800', 'a\udc00b', { '\udbff': 1 }, ['\ude00x']]) {
    assert.throws(() => canonicalBytes(v), CanonicalError, JSON.stringify(v));
  }
  rejects('"\\ud800"', 'escaped lone high surrogate');
  rejects('{"\\udc00":1}', 'escaped lone low surrogate as a key');
  rejects('["x\\udfff"]', 'escaped lone surrogate in an array');
  // A paired surrogate is one character, written as UTF-8; a backslash followed by "ud800" is just text.
  assert.equal(canonicalString('\ud83d\ude00'), '"😀"');
  assert.deepEqual(parseCanonical(Buffer.from('"\\\\ud800"', 'utf8')), '\\ud800');
});

test('parseCanonical rejects text that is not JSON at all', () => {
  for (const s of ['', '{', '{"a":1}{}', 'NaN', 'undefined', "{'a':1}", '[1,]']) rejects(s, `not JSON ${JSON.stringify(s)}`);
});

test('canonicalBytes refuses values JSON cannot carry exactly', () => {
  for (const v of [NaN, Infinity, -Infinity, undefined, 1n, () => 1, Symbol('x'), new Date(0), { a: undefined }, [1, NaN], new Map()]) {
    assert.throws(() => canonicalBytes(v), CanonicalError, String(typeof v));
  }
});

test('parseCanonical agrees with the reference (parse, canonicalize, compare) on random documents', () => {
  // parseCanonical has a fast path (members already in order -> JSON.stringify); this checks it
  // accepts and rejects exactly what the plain definition does.
  let seed = 0x2545f491;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const keyPool = ['a', 'b', 'B', 'aa', '1', '10', '2', '9', '01', '-1', 'é', 'ﬁ', '😀', '\u0000', ' ', '__proto__', 'toJSON', 'id', 'data', 'v'];
  const strPool = ['', 'x', 'é€', '😀', '"q"', 'back\\slash', 'tab\t', '\u001f', '/', '\u2028'];
  const numPool = [0, -0, 1, -1, 1.5, 0.1, 1e21, 1e-7, 123456789012, 2 ** 53, 5e-324, 333333333.33333329];
  const gen = (depth: number): unknown => {
    const k = rnd(depth > 2 ? 4 : 6);
    if (k === 0) return strPool[rnd(strPool.length)];
    if (k === 1) return numPool[rnd(numPool.length)];
    if (k === 2) return [true, false, null][rnd(3)];
    if (k === 3) return rnd(2) ? strPool[rnd(strPool.length)] : numPool[rnd(numPool.length)];
    if (k === 4) return Array.from({ length: rnd(4) }, () => gen(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = rnd(5); i > 0; i--) Object.defineProperty(o, keyPool[rnd(keyPool.length)]!, { value: gen(depth + 1), enumerable: true, writable: true, configurable: true });
    return o;
  };
  let accepted = 0;
  let rejected = 0;
  for (let i = 0; i < 4000; i++) {
    const v = gen(0);
    const variants = [reference(v), JSON.stringify(v), JSON.stringify(v, null, rnd(2)), reference(v).replace(/:/, ': ')];
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length > 1) {
        const dup = `{${JSON.stringify(keys[0])}:1,${reference(v).slice(1)}`;
        variants.push(dup);
      }
    }
    for (const text of variants) {
      if (text === undefined) continue;
      let expected: boolean;
      try {
        expected = reference(JSON.parse(text)) === text;
      } catch {
        expected = false;
      }
      let got: boolean;
      try {
        parseCanonical(Buffer.from(text, 'utf8'));
        got = true;
      } catch {
        got = false;
      }
      assert.equal(got, expected, `disagree on ${JSON.stringify(text)}`);
      if (got) accepted++;
      else rejected++;
    }
  }
  assert.ok(accepted > 1000 && rejected > 1000, `exercised both outcomes (${accepted} accepted, ${rejected} rejected)`);
});
