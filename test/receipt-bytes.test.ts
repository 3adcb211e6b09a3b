// A receipt's signed bytes are built around the entry's canonical event bytes instead of
// canonicalising the whole payload again: they must be exactly RFC 8785 of the payload, for any
// event and origin (property-based, fixed seed), and verify like any receipt. Non-canonical
// entry bytes are refused rather than signed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { buildReceipt, verifyReceipt } from '../src/assent/receipt.js';
import { CanonicalError, canonicalBytes } from '../src/canonical/jcs.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import { leafHash } from '../src/ledger/format.js';

const key = SigningKey.generate();

function entryOf(value: unknown, seq: number, canonical = canonicalBytes(value)) {
  return { seq, eventId: randomUUID(), canonical, leafHash: leafHash(canonical), chainHash: Buffer.alloc(32, seq % 251) };
}

test('signed bytes are RFC 8785 of the payload for any event and origin, and verify', () => {
  // Events of any JSON shape (full Unicode strings, numbers with exponents, nesting, arrays, empty objects).
  const event = fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue({ maxDepth: 4, stringUnit: 'grapheme' }), { maxKeys: 8 });
  fc.assert(
    fc.property(event, fc.string({ unit: 'grapheme' }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (ev, origin, seq) => {
      const r = buildReceipt(entryOf(ev, seq), origin, key);
      const signed = Buffer.from(r.signed_bytes, 'base64');
      assert.deepEqual(signed, canonicalBytes(r.payload));
      assert.deepEqual(r.payload.event, JSON.parse(canonicalBytes(ev).toString('utf8')));
      const check = verifyReceipt(JSON.parse(JSON.stringify(r)), key.publicKey);
      assert.equal(check.ok, true, check.ok ? '' : check.reason);
    }),
    { seed: 20261201, numRuns: 500 },
  );
});

test('an assent-like event: the same bytes as canonicalising the payload, every time', () => {
  const ev = { v: 1, id: randomUUID(), type: 'acceptance.recorded', time: '2026-12-01T12:00:00.000Z', data: { subject: 'user-\u00e9\u{1F600}', eula: { slug: 'terms', version: '1.0' }, ip: '203.0.113.7', n: 1e21, f: 0.1 } };
  const entry = entryOf(ev, 42);
  const a = buildReceipt(entry, 'example.com/log', key);
  const b = buildReceipt(entry, 'example.com/log', key);
  assert.equal(a.signed_bytes, b.signed_bytes);
  assert.equal(a.signature, b.signature);
  assert.deepEqual(Buffer.from(a.signed_bytes, 'base64'), canonicalBytes(a.payload));
});

test('entry bytes that are not canonical are refused, not signed', () => {
  for (const bytes of ['{"b":1,"a":2}', '{"a": 1}', '{"a":1.0}', '{"a":"\\u0041"}', '{"a":1', '']) {
    assert.throws(() => buildReceipt(entryOf(null, 1, Buffer.from(bytes, 'utf8')), 'o', key), CanonicalError, bytes);
  }
});
