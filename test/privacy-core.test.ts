// The personal-data core (docs/personal-data.md): commitments open only with their own salt, value,
// group and field; sealing replaces exactly the listed fields and leaves its input alone; the
// ledger refuses an event that names a person in clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildEvent, buildSealedEvent, parseEvent } from '../src/ledger/events.js';
import { commit, commitmentOf, openingProblem } from '../src/privacy/commitment.js';
import { openData, personalFields, sealData, type SealedOpening } from '../src/privacy/fields.js';
import { Pseudonyms } from '../src/privacy/pseudonyms.js';

const ps = new Pseudonyms(Buffer.alloc(32, 7));
const stored = (os: readonly SealedOpening[]) => os.map((o) => ({ field: o.field, opening: { salt: o.salt, value: o.value } }));

function acceptanceData(subject = 'user-1') {
  return {
    record_id: 'r1', subject,
    eula: { id: 'e', slug: 'api', version: '1.0', text_sha256: 'a'.repeat(64), effective_at: '2026-01-01T00:00:00.000Z', event_id: 'ev' },
    shown_text_sha256: 'a'.repeat(64),
    presentation: { consent_text: 'I agree', button_text: 'Accept', page_url: 'https://example.org/signup?email=bob@example.org', locale: 'en' },
    client_time: '2026-01-01T00:00:00.000Z', client: { ip: '203.0.113.9', user_agent: 'Mozilla/5.0 (X11)' },
    auth: { method: 'password', session_id: 'sess-42', mfa: true }, method: 'checkbox',
    recorded_by: { api_key_id: 'k', name: 'signup' }, idempotency_key: 'idem', server_time: '2026-01-01T00:00:01.000Z',
  };
}

test('a commitment is SHA-256(tag || 0x00 || salt || JCS(value)) and opens only with its own salt, value and group', () => {
  const { commitment, opening } = commit('network', { ip: '203.0.113.9', user_agent: 'UA' });
  assert.equal(commitmentOf('network', Buffer.from(opening.salt, 'hex'), { user_agent: 'UA', ip: '203.0.113.9' }), commitment, 'member order does not matter (RFC 8785)');
  assert.equal(openingProblem(commitment, opening), null);
  assert.match(openingProblem(commitment, { ...opening, value: { ip: '203.0.113.8', user_agent: 'UA' } })!, /is not the commitment/);
  assert.match(openingProblem(commitment, { ...opening, group: 'session' })!, /is not the commitment/);
  assert.match(openingProblem(commitment, opening, 'session')!, /group/);
  assert.match(openingProblem(commitment, { ...opening, salt: opening.salt.slice(2) })!, /salt/);
  assert.match(openingProblem(commitment, { group: 'nope', salt: opening.salt, value: 1 })!, /group/);
  assert.match(openingProblem(commitment, null)!, /not an object/);
  assert.notEqual(commit('network', { ip: '203.0.113.9', user_agent: 'UA' }).commitment, commitment, 'a fresh salt each time');
});

test('property: any change to one byte of the salt, or to the value, fails the opening', () => {
  fc.assert(fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: 255 }), (value, at, flip) => {
    const { commitment, opening } = commit('free_text', value);
    if (openingProblem(commitment, opening) !== null) return false;
    const salt = Buffer.from(opening.salt, 'hex');
    salt[at]! ^= flip;
    return openingProblem(commitment, { ...opening, salt: salt.toString('hex') }) !== null
      && openingProblem(commitment, { ...opening, value: [value] }) !== null;
  }), { seed: 11, numRuns: 300 });
});

test('sealing replaces exactly the personal fields, leaves its input unchanged, and the openings restore it', () => {
  const clear = acceptanceData();
  const before = structuredClone(clear);
  const { data, openings } = ps.seal('acceptance.recorded', clear, clear.subject);
  assert.deepEqual(clear, before, 'the clear data is not changed');
  assert.deepEqual(openings.map((o) => [o.field, o.group]), [['subject', 'subject'], ['client', 'network'], ['presentation.page_url', 'network'], ['auth', 'session']]);
  assert.ok(openings.every((o) => o.pseudonym === ps.of('user-1')));
  assert.deepEqual(Object.keys(data.subject as unknown as object).sort(), ['commitment', 'pseudonym']);
  assert.equal(data.presentation.consent_text, 'I agree', 'what the terms said stays in clear');
  const bytes = JSON.stringify(data);
  for (const v of ['user-1', '203.0.113.9', 'Mozilla', 'sess-42', 'bob@example.org']) assert.ok(!bytes.includes(v), `${v} is not in the sealed data`);
  assert.deepEqual(openData('acceptance.recorded', data, stored(openings)), clear);
  assert.deepEqual(personalFields('acceptance.recorded', data).map((f) => f.commitment !== null), [true, true, true, true]);
});

test('an opening that does not open its commitment is refused when read back, and a missing one leaves the commitment', () => {
  const { data, openings } = ps.seal('acceptance.recorded', acceptanceData(), 'user-1');
  const swapped = openings.map((o) => (o.field === 'client' ? { ...o, field: 'auth' } : o.field === 'auth' ? { ...o, field: 'client' } : o));
  assert.throws(() => openData('acceptance.recorded', data, stored(swapped)), /does not open its commitment/);
  const partial = openData('acceptance.recorded', data, stored(openings.filter((o) => o.field !== 'client')));
  assert.equal(partial.subject, 'user-1');
  assert.deepEqual(Object.keys(partial.client), ['commitment'], 'an erased fact stays a commitment');
});

test('every subject of a plan gets its own pseudonym and commitment', () => {
  const { data, openings } = sealData('verification.planned', { plan_id: 'p', subjects: ['a', 'b'] }, null, ps.of);
  assert.deepEqual(openings.map((o) => [o.field, o.pseudonym]), [['subjects.0', ps.of('a')], ['subjects.1', ps.of('b')]]);
  assert.notEqual(ps.of('a'), ps.of('b'));
  assert.deepEqual(openData('verification.planned', data, stored(openings)).subjects, ['a', 'b']);
});

test('the ledger refuses to build an event that names a person in clear; a sealed one parses', () => {
  assert.throws(() => buildEvent('acceptance.recorded', acceptanceData()), /subject field of a acceptance\.recorded event is a personal fact in clear/);
  const ev = buildSealedEvent(ps, 'acceptance.recorded', acceptanceData(), 'user-1');
  assert.equal(ev.openings?.length, 4);
  const parsed = parseEvent(ev.canonical);
  assert.equal(parsed.type, 'acceptance.recorded');
  assert.ok(!ev.canonical.toString('utf8').includes('user-1'));
});

test('pseudonyms are keyed: another key gives another pseudonym for the same subject', () => {
  const other = new Pseudonyms(Buffer.alloc(32, 8));
  assert.equal(ps.of('alice'), ps.of('alice'));
  assert.notEqual(ps.of('alice'), other.of('alice'));
  assert.match(ps.of('alice'), /^[0-9a-f]{64}$/);
  assert.equal(JSON.stringify({ ps }), '{"ps":"Pseudonyms"}', 'the key never serialises');
});
