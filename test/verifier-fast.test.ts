// The verifier's fast per-entry path (ledger/verifier-fast.ts) only ever says "intact and
// ordinary" when checkEntry says exactly that (ENTRY_OK, no special event): on intact entries of
// every ordinary type, and on entries whose bytes, hashes, id, type or number were edited, with
// the hashes recomputed over the edit (so only the canonical and envelope checks can catch it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalBytes } from '../src/canonical/jcs.js';
import { chainHash, EVENT_TYPES, leafHash, type LedgerEntry } from '../src/ledger/format.js';
import { checkEntry, ENTRY_OK } from '../src/ledger/verifier.js';
import { entryIntact } from '../src/ledger/verifier-fast.js';

const ID = '0b6f3c1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
const PREV = Buffer.alloc(32, 7);

function entry(seq: number, canonical: Buffer, eventId = ID, eventType = 'acceptance.recorded', rehash = true): LedgerEntry {
  const leaf = leafHash(canonical);
  return { seq, eventId, eventType, canonical, leafHash: leaf, prevHash: PREV, chainHash: rehash ? chainHash(seq, PREV, leaf) : Buffer.alloc(32) };
}

const fast = (e: LedgerEntry) => {
  const id = Buffer.from(e.eventId, 'utf8');
  const type = Buffer.from(e.eventType, 'utf8');
  if (e.leafHash.length !== 32 || e.prevHash.length !== 32 || e.chainHash.length !== 32) return false;
  return entryIntact(e.seq, e.canonical, 0, e.canonical.length, e.leafHash, 0, e.prevHash, 0, e.chainHash, 0, id, 0, id.length, type, 0, type.length);
};

/** The property: fast => checkEntry gives ENTRY_OK with no special event. */
function agrees(e: LedgerEntry): boolean {
  const f = fast(e);
  if (f) {
    const c = checkEntry(e);
    assert.equal(c.code, ENTRY_OK, `fast path accepted an entry checkEntry rejects (${c.code}): ${e.canonical.toString('utf8')}`);
    assert.equal(c.special, undefined);
  }
  return f;
}

const event = (type: string, data: unknown, extra: Record<string, unknown> = {}) => canonicalBytes({ v: 1, id: ID, type, time: '2026-12-01T15:50:00.000Z', data, ...extra });

test('intact ordinary entries of every type take the fast path; special ones never do', () => {
  for (const t of EVENT_TYPES) {
    const e = entry(5, event(t, { subject: 'user-5', n: 12 }), ID, t);
    const special = t === 'ledger.genesis' || t === 'signing_key.added';
    assert.equal(agrees(e), !special, t);
  }
  assert.equal(fast(entry(1, event('eula.published', {}), ID, 'eula.published')), false, 'entry 1 is always read by checkEntry');
});

test('each single fault leaves the fast path (checkEntry then names it)', () => {
  const good = event('acceptance.recorded', { subject: 'u' });
  assert.ok(agrees(entry(9, good)));
  const e = entry(9, good);
  assert.ok(!agrees({ ...e, leafHash: Buffer.alloc(32) }), 'leaf hash');
  assert.ok(!agrees({ ...e, chainHash: Buffer.alloc(32) }), 'chain hash');
  assert.ok(!agrees({ ...e, prevHash: Buffer.alloc(32, 1) }), 'chain over another predecessor');
  assert.ok(!agrees({ ...e, seq: 10 }), 'chain over another number');
  assert.ok(!agrees(entry(9, good, ID.toUpperCase())), 'row id differs');
  assert.ok(!agrees(entry(9, good, ID, 'acceptance.declined')), 'row type differs');
  assert.ok(!agrees(entry(9, Buffer.from(good.toString('utf8').replace('{"data"', '{ "data"')))), 'whitespace, re-hashed');
  assert.ok(!agrees(entry(9, event('acceptance.recorded', { subject: 'u' }, { v: 2 }))), 'v 2');
  assert.ok(!agrees(entry(9, event('acceptance.recorded', 'not an object'))), 'data not an object');
  assert.ok(!agrees(entry(9, event('nothing.known', {}), ID, 'nothing.known')), 'unknown type');
  assert.ok(!agrees(entry(9, canonicalBytes({ v: 1, id: ID, type: 'acceptance.recorded', data: {} }))), 'no time');
  assert.ok(!agrees(entry(9, canonicalBytes({ v: 1, id: ID, type: 'acceptance.recorded', time: 5, data: {} }))), 'time not a string');
});

test('random edits of an event, re-hashed: the fast path never accepts what checkEntry rejects', () => {
  const base = event('acceptance.recorded', { subject: 'user-42', eula: { slug: 'terms', version: '2.1.0' }, method: 'checkbox', n: 3, ok: true });
  const edit = fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), op: fc.constantFrom('flip', 'insert', 'delete') });
  let accepted = 0;
  fc.assert(fc.property(fc.array(edit, { minLength: 0, maxLength: 2 }), fc.constantFrom(ID, ID.toUpperCase(), ''), fc.constantFrom('acceptance.recorded', 'acceptance.declined', 'ledger.genesis'), (edits, id, type) => {
    const a = [...base];
    for (const m of edits) {
      const i = m.at % (a.length + 1);
      if (m.op === 'flip') a[i % a.length] = m.byte;
      else if (m.op === 'insert') a.splice(i, 0, m.byte);
      else a.splice(i % a.length, 1);
    }
    if (agrees(entry(77, Buffer.from(a), id, type))) accepted++;
  }), { numRuns: 50_000 });
  assert.ok(accepted > 0, 'the unedited event is accepted');
});
