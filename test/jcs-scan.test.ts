// The verifier's one-pass RFC 8785 scan (canonical/jcs-scan.ts) is sound against parseCanonical:
// it never accepts bytes parseCanonical refuses, on the JCS vectors, on every refusal case of
// test/jcs.test.ts, and on hundreds of thousands of random documents and byte-level mutations
// of them. It accepts the common event shape (ASCII names, small integers), which is the point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { canonicalBytes, parseCanonical } from '../src/canonical/jcs.js';
import { EnvelopeSpans, scanCanonical } from '../src/canonical/jcs-scan.js';
import { packageRoot } from '../src/util/paths.js';

const scan = (b: Uint8Array, spans?: EnvelopeSpans) => scanCanonical(b, 0, b.length, spans);
const bytes = (s: string) => Buffer.from(s, 'utf8');
const parses = (b: Uint8Array) => {
  try {
    parseCanonical(b);
    return true;
  } catch {
    return false;
  }
};

/** The property under test: accepted by the scan => accepted by parseCanonical. */
function sound(b: Uint8Array): void {
  if (scan(b)) assert.ok(parses(b), `the scan accepted what parseCanonical refuses: ${Buffer.from(b).toString('hex')} ${JSON.stringify(Buffer.from(b).toString('utf8'))}`);
}

test('the scan accepts canonical events and plain documents', () => {
  for (const s of ['{}', '[]', '0', '-1', '123456789012345', '"\\u001f"', '"\\b\\t\\n\\f\\r\\"\\\\"', '{"a":[1,{"b":null}],"b":true}', '"é€😀"', '{"a":"ﬁ😀","b":false}', '[[],{}]']) {
    assert.ok(scan(bytes(s)), s);
    assert.ok(parses(bytes(s)), s);
  }
  const event = canonicalBytes({ v: 1, id: '0b6f3c1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b', type: 'acceptance.recorded', time: '2026-12-01T15:50:00.000Z', data: { subject: 'user-1', n: 3, ok: true, x: null, tags: ['a', 'ü'] } });
  const spans = new EnvelopeSpans();
  assert.ok(scanCanonical(event, 0, event.length, spans));
  const text = (a: number, z: number) => event.toString('utf8', a, z);
  assert.equal(text(spans.id, spans.idEnd), '0b6f3c1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b');
  assert.equal(text(spans.type, spans.typeEnd), 'acceptance.recorded');
  assert.equal(text(spans.v, spans.vEnd), '1');
  assert.equal(event[spans.data], 0x7b);
  assert.equal(event[spans.time], 0x22);
  assert.ok(spans.idPlain && spans.typePlain);
  // Within a larger buffer: only the range counts.
  const framed = Buffer.concat([bytes('xx'), event, bytes('yy')]);
  assert.ok(scanCanonical(framed, 2, 2 + event.length));
  assert.ok(!scanCanonical(framed, 1, 2 + event.length));
  assert.ok(!scanCanonical(framed, 2, 3 + event.length));
});

test('what the scan leaves to parseCanonical (not sure), though it is canonical', () => {
  // Names with escapes or non-ASCII need UTF-16 ordering; fractions, exponents and long integers need ECMAScript number printing.
  for (const s of ['{"\\n":1,"a":2}', '{"é":1}', '{"😀":2,"ﬁ":1}', '1.5', '1e+30', '1e-7', '1234567890123456']) {
    assert.ok(parses(bytes(s)), s);
    assert.ok(!scan(bytes(s)), s);
  }
  assert.ok(!scan(bytes('['.repeat(65) + ']'.repeat(65))), 'deeper than 64');
});

test('the scan refuses every non-canonical form that parseCanonical refuses', () => {
  const cases: Array<string | Buffer> = [
    ' {}', '{} ', '{}\n', '{ "a":1}', '{"a": 1}', '{"a":1 }', '[1, 2]', '\t[]', '{"a":1}\r\n',
    '{"b":1,"a":2}', '{"a":{"d":1,"c":2}}', '{"a":1,"a":2}', '{"a":1,"a":1}', '{"x":{"a":1,"a":1}}', '{"ab":1,"a":2}',
    '1.0', '1e2', '1E2', '1e+2', '100.00', '0.10', '-0', '01', '-01', '1.5e0', '1E+30', '1e30', '0.0000001', '9007199254740993', '[1.0]', '{"a":1e2}', '+1', '.5', '-',
    '"\\u0041"', '"\\/"', '"\\u00e9"', '"\\u20ac"', '"\\u001F"', '"\\u0008"', '"\\u0009"', '"\\u000a"', '"\\u000c"', '"\\u000d"', '"\\uD83D\\uDE00"', '"\\ud800"', '{"\\udc00":1}', '["x\\udfff"]', '"\\x41"', '"\\u00"', '"\\',
    '', '{', '{"a":1}{}', 'NaN', 'undefined', "{'a':1}", '[1,]', '{"a":1,}', '{,}', '[,1]', '{"a"}', '{"a":}', '{1:2}', 'tru', 'nul', 'True', '"a', '"\u0001"', '"\u001f"',
    Buffer.from([0x22, 0xff, 0x22]), Buffer.from([0x22, 0xc3, 0x22]), Buffer.from([0x22, 0xc0, 0xaf, 0x22]), Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]),
    Buffer.from([0x22, 0xf4, 0x90, 0x80, 0x80, 0x22]), Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]), Buffer.from([0x7b, 0x22, 0xc3, 0xa9, 0x22, 0x3a, 0x31, 0x7d]).subarray(0, 7),
  ];
  for (const c of cases) {
    const b = typeof c === 'string' ? bytes(c) : c;
    assert.ok(!parses(b), `parseCanonical accepts ${JSON.stringify(b.toString('utf8'))}`);
    assert.ok(!scan(b), `the scan accepts ${JSON.stringify(b.toString('utf8'))} (${b.toString('hex')})`);
  }
});

test('the scan is sound on the JCS vectors', () => {
  const dir = path.join(packageRoot(), 'test', 'vectors', 'jcs');
  for (const name of readdirSync(path.join(dir, 'output'))) {
    const out = readFileSync(path.join(dir, 'output', name));
    sound(out);
    const input = readFileSync(path.join(dir, 'input', name));
    sound(input); // the inputs are not canonical (whitespace, order, escapes)
    assert.ok(!scan(input) || input.equals(out), name);
  }
});

// Documents of the kinds events carry, plus the awkward corners of RFC 8785.
const key = fc.oneof(fc.constantFrom('a', 'b', 'B', 'aa', 'ab', '1', '10', '2', 'id', 'data', 'type', 'v', 'time', '__proto__', 'é', 'ﬁ', '😀', '\n', ''), fc.string({ maxLength: 6 }));
const str = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('\u0000', '\u0008', '\u001f', '\u007f', '"', '\\', '/', '\u2028', 'é€😀', '\ufeff'));
const num = fc.oneof(fc.integer(), fc.constantFrom(0, -0, 1.5, 0.1, 1e21, 1e-7, 2 ** 53, 2 ** 53 + 2, 5e-324, 999999999999999, 1e15, -1e15));
const doc = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, str, num, fc.boolean(), fc.constant(null), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(key, tie('value'), { maxKeys: 5 }),
})).value;

test('random canonical documents: accepted only when parseCanonical accepts them', () => {
  fc.assert(fc.property(doc, (v) => {
    let b: Buffer;
    try {
      b = canonicalBytes(v);
    } catch {
      return; // a lone surrogate in a generated string: no canonical form
    }
    assert.ok(parses(b));
    sound(b);
  }), { numRuns: 20_000 });
});

test('byte-level mutations of canonical documents: never accepted when parseCanonical refuses', () => {
  const mutation = fc.record({ at: fc.nat(), op: fc.constantFrom('flip', 'insert', 'delete', 'swap'), byte: fc.constantFrom(0x20, 0x22, 0x2c, 0x2e, 0x30, 0x31, 0x3a, 0x5c, 0x5b, 0x5d, 0x65, 0x75, 0x7b, 0x7d, 0x80, 0xc3, 0xed, 0xff, 0x00, 0x0a, 0x2d, 0x2b) });
  fc.assert(fc.property(doc, fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, ms) => {
    let b: Buffer;
    try {
      b = canonicalBytes(v);
    } catch {
      return;
    }
    const a = [...b];
    for (const m of ms) {
      const i = a.length === 0 ? 0 : m.at % (a.length + (m.op === 'insert' ? 1 : 0));
      if (m.op === 'flip' && a.length) a[i] = m.byte;
      else if (m.op === 'insert') a.splice(i, 0, m.byte);
      else if (m.op === 'delete' && a.length) a.splice(i, 1);
      else if (m.op === 'swap' && a.length > 1) [a[i], a[(i + 1) % a.length]] = [a[(i + 1) % a.length]!, a[i]!];
    }
    sound(Uint8Array.from(a));
  }), { numRuns: 100_000 });
});

test('the envelope members are found only at the root', () => {
  const nested = canonicalBytes({ data: { id: 'x', type: 'y', v: 1 }, z: 1 });
  const spans = new EnvelopeSpans();
  assert.ok(scanCanonical(nested, 0, nested.length, spans));
  assert.equal(spans.id, -1);
  assert.equal(spans.type, -1);
  assert.equal(spans.v, -1);
  assert.equal(nested[spans.data], 0x7b);
  // An escaped id is found but not plain: its bytes are not its text.
  const escaped = canonicalBytes({ id: 'a"b', type: 'é', v: 1 });
  assert.ok(scanCanonical(escaped, 0, escaped.length, spans));
  assert.ok(!spans.idPlain);
  assert.ok(!spans.typePlain);
});
