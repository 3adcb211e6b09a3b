// The export reader's in-place read of entry lines (readWrittenEntry) agrees with the JSON path
// (parseLine, toEntry) it stands in for: a line it accepts gives the same entry, on the lines
// exportLines writes and on random edits of them; its base64 check is exactly b64's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { b64, ExportLineError, parseLine, readWrittenEntry, toEntry, WrittenEntry, canonicalBase64 } from '../src/ledger/export-lines.js';

const line = (o: Record<string, unknown>) => Buffer.from(JSON.stringify(o), 'utf8');
const written = (seq: number, canonical: Buffer) => line({
  kind: 'entry', seq, event_id: '0b6f3c1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b', event_type: 'acceptance.recorded', recorded_at: '2026-12-01T15:50:00.000Z',
  canonical: canonical.toString('base64'), leaf_hash: 'ab'.repeat(32), prev_hash: '01'.repeat(32), chain_hash: 'fe'.repeat(32),
});

/** The property: readWrittenEntry accepts => the JSON path gives the same entry. */
function agrees(b: Buffer): boolean {
  const out = new Uint8Array(96);
  const f = new WrittenEntry();
  if (!readWrittenEntry(b, 0, b.length, out, 0, f)) return false;
  const e = toEntry(parseLine(b.toString('utf8'), 7), 7);
  assert.equal(parseLine(b.toString('utf8'), 7).kind, 'entry');
  assert.equal(f.seq, e.seq);
  assert.equal(b.toString('latin1', f.idAt, f.idAt + f.idLen), e.eventId);
  assert.equal(b.toString('latin1', f.typeAt, f.typeAt + f.typeLen), e.eventType);
  assert.ok(Buffer.from(b.toString('latin1', f.canAt, f.canEnd), 'base64').equals(e.canonical));
  assert.ok(Buffer.from(out).equals(Buffer.concat([e.leafHash, e.prevHash, e.chainHash])));
  return true;
}

const jsonOk = (b: Buffer) => {
  try {
    const o = parseLine(b.toString('utf8'), 1);
    return o.kind === 'entry' && (toEntry(o, 1), true);
  } catch (e) {
    if (e instanceof ExportLineError) return false;
    throw e;
  }
};

test('lines as exportLines writes them are read in place', () => {
  for (const [seq, can] of [[1, Buffer.from('{"a":1}')], [123456789012345, Buffer.alloc(0)], [42, Buffer.from([0xff, 0, 1])], [7, Buffer.from('xy')]] as const) {
    assert.ok(agrees(written(seq, can)), String(seq));
  }
});

test('other lines go to the JSON path (which decides)', () => {
  const ok = written(5, Buffer.from('{}'));
  const s = ok.toString();
  for (const other of [
    s.replace('{"kind"', '{ "kind"'), s.replace('"seq":5', '"seq":05'), s.replace('"seq":5', '"seq":5.0'), s.replace('"seq":5', '"seq":1234567890123456'),
    s.replace('acceptance.recorded', 'acceptance\\u002erecorded'), s.replace('"ab', '"AB'), s.replace(/"recorded_at":"[^"]*",/, ''),
    s.replace('"}', '","x":1}'), s + ' ', s.replace('e30=', 'e31='),
  ]) {
    assert.equal(agrees(Buffer.from(other)), false, other);
  }
});

test('canonicalBase64 is exactly b64 (padded standard base64 that re-encodes to itself)', () => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ \n';
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 10 }).map((u) => Buffer.from(u).toString('base64')), fc.string({ unit: fc.constantFrom(...alphabet), maxLength: 12 })), (s) => {
    let ref: boolean;
    try {
      b64(s, 1);
      ref = true;
    } catch {
      ref = false;
    }
    assert.equal(canonicalBase64(Buffer.from(s, 'latin1'), 0, s.length), ref, JSON.stringify(s));
  }), { numRuns: 50_000 });
});

test('random edits of written lines: accepted in place only as the JSON path reads them', () => {
  const base = written(31337, Buffer.from('{"data":{"x":"y"},"id":"q","type":"t","v":1}'));
  let inPlace = 0;
  fc.assert(fc.property(fc.array(fc.record({ at: fc.nat(), byte: fc.constantFrom(0x22, 0x5c, 0x2c, 0x30, 0x39, 0x41, 0x61, 0x66, 0x67, 0x3d, 0x2b, 0x2f, 0x20, 0x0a, 0x7b, 0x7d, 0x3a, 0x80, 0xc3), op: fc.constantFrom('flip', 'insert', 'delete') }), { maxLength: 2 }), (edits) => {
    const a = [...base];
    for (const m of edits) {
      const i = m.at % (a.length + 1);
      if (m.op === 'flip') a[i % a.length] = m.byte;
      else if (m.op === 'insert') a.splice(i, 0, m.byte);
      else a.splice(i % a.length, 1);
    }
    const b = Buffer.from(a);
    if (agrees(b)) {
      inPlace++;
      assert.ok(jsonOk(b));
    }
  }), { numRuns: 30_000 });
  assert.ok(inPlace > 0);
});
