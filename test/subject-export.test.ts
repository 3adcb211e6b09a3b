// Subject access (GDPR Art. 15): GET /v1/subjects/{subject}/export and `assentmark subject export`.
// Every event's bytes hash to its leaf, every inclusion proof leads to the signed checkpoint's root
// (checked by the receipt verifier, against the ledger's public key), every opening opens the
// commitment its event holds, an erased fact is named as erased with its erasure, another subject
// named in the same event is not disclosed, and an unknown subject is a 404 problem.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { verifyReceiptInclusion, RECEIPT_TYPE } from '../src/assent/receipt.js';
import { parseCanonical } from '../src/canonical/jcs.js';
import { SubjectExportJson } from '../src/http/presenters/subject-export.js';
import { leafHash, prepareEvent } from '../src/ledger/format.js';
import { openingProblem, type PersonalGroup } from '../src/privacy/commitment.js';
import { personalFields } from '../src/privacy/fields.js';
import { acceptanceBody, problemOf, useTestApp, withdrawalBody, type TestApp } from './helpers/app.js';

const SUBJECT = 'export-subject-41';
const OTHER = 'export-other-77';
const IP = '198.51.100.23';
const UA = 'ExportTest/1.0 (subject access)';
const SESSION = 'sess-export-9911';

type Export = ReturnType<typeof SubjectExportJson.parse>;

let acceptanceEventId = '';

async function setup(t: TestApp): Promise<void> {
  await t.publishEula();
  const a = await t.accept({ subject: SUBJECT, ip: IP, user_agent: UA, auth: { method: 'sso', session_id: SESSION, mfa: true } });
  assert.equal(a.status, 201, a.text);
  acceptanceEventId = a.body.ledger.event_id;
  assert.equal((await t.accept({ subject: OTHER, ip: '192.0.2.200', user_agent: 'Other/2.0' })).status, 201);
  const w = await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', randomUUID()).send(withdrawalBody({ subject: SUBJECT, reason: 'moving to another provider' }));
  assert.equal(w.status, 201, w.text);
  const d = await t.post('/v1/declines', 'signup').set('Idempotency-Key', randomUUID()).send(acceptanceBody({ subject: SUBJECT }));
  assert.equal(d.status, 201, d.text);
  // A plan naming both subjects: the export names the other only by pseudonym and commitment.
  const plan = await t.post('/v1/verification-plans', 'investigator').send({
    case_ref: 'CASE-EXPORT-1', subjects: [SUBJECT, OTHER],
    samples: [{ input_sha256: 'ab'.repeat(32), owner_label: 3, num_classes: 10 }, { input_sha256: 'cd'.repeat(32), owner_label: 1, num_classes: 10 }],
  });
  assert.equal(plan.status, 201, plan.text);
  await t.ctx.ledger.checkpoint();
}

/** Checks every proof and opening of an export offline: nothing but the export and the public key. */
function verifyExport(x: Export, publicKey: Uint8Array): { proofs: number; openings: number } {
  assert.ok(x.checkpoint, 'the export carries the signed checkpoint');
  let proofs = 0;
  let openings = 0;
  for (const e of x.events) {
    assert.ok(e.inclusion, `entry ${e.seq} is covered by the checkpoint`);
    const payload = { type: RECEIPT_TYPE, origin: x.origin, event: {}, ledger: { seq: e.seq, event_id: e.event_id, leaf_hash: e.leaf_hash, leaf_index: e.seq - 1, chain_hash: e.chain_hash } } as const;
    const inc = verifyReceiptInclusion(payload, { ...e.inclusion, checkpoint: x.checkpoint.note }, publicKey);
    assert.ok(inc.ok, `entry ${e.seq}: ${inc.ok ? '' : inc.reason}`);
    proofs++;
    if (e.canonical === null) {
      assert.ok(e.withheld, `entry ${e.seq}: bytes withheld, and why`);
      continue;
    }
    const bytes = Buffer.from(e.canonical, 'base64');
    assert.equal(leafHash(bytes).toString('hex'), e.leaf_hash, `entry ${e.seq}: the bytes hash to the leaf`);
    // Each open field opens the commitment the signed bytes hold at that field.
    const signed = parseCanonical(bytes) as { type: string; data: unknown };
    const held = new Map(personalFields(signed.type, signed.data).map((f) => [f.field, f]));
    for (const f of e.personal_fields) {
      const inEvent = held.get(f.field);
      assert.ok(inEvent, `entry ${e.seq}: ${f.field} is a personal field of the event`);
      assert.equal(f.commitment, inEvent.commitment, `entry ${e.seq}: ${f.field} names the event's commitment`);
      if (f.state === 'open') {
        assert.equal(openingProblem(f.commitment!, { group: f.group, salt: f.salt, value: f.value }, f.group as PersonalGroup), null, `entry ${e.seq} ${f.field}`);
        openings++;
      }
    }
  }
  return { proofs, openings };
}

describe('subject access export', () => {
  const t = useTestApp({ setup });

  test('every ledger event about the subject, opened, with proofs that verify offline', async () => {
    const res = await t.get(`/v1/subjects/${SUBJECT}/export`, 'admin');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['cache-control'], 'no-store');
    const x = SubjectExportJson.parse(res.body);
    assert.deepEqual(x, res.body, 'the body is exactly its documented schema');
    assert.equal(x.subject, SUBJECT);
    assert.equal(x.pseudonym, t.built.services.pseudonyms.of(SUBJECT));
    const types = x.events.map((e) => e.type);
    for (const type of ['acceptance.recorded', 'watermark_key.assigned', 'acceptance.withdrawn', 'acceptance.declined', 'verification.planned']) {
      assert.ok(types.includes(type), `${type} in ${types.join(', ')}`);
    }
    assert.deepEqual(x.events.map((e) => e.seq), [...x.events.map((e) => e.seq)].sort((a, b) => a - b), 'ledger order');
    const { proofs, openings } = verifyExport(x, t.ctx.ledger.signingKey.publicKey);
    assert.equal(proofs, x.events.length);
    assert.ok(openings >= 10, `${openings} openings checked`);

    // The acceptance: opened in data and in its fields.
    const acc = x.events.find((e) => e.event_id === acceptanceEventId)!;
    const data = acc.data as { subject: string; client: { ip: string; user_agent: string }; auth: { session_id: string }; presentation: { page_url: string } };
    assert.equal(data.subject, SUBJECT);
    assert.deepEqual(data.client, { ip: IP, user_agent: UA });
    assert.equal(data.auth.session_id, SESSION);
    assert.equal(data.presentation.page_url, 'https://example.org/signup?step=terms');
    assert.deepEqual(acc.personal_fields.map((f) => [f.field, f.state]), [['subject', 'open'], ['client', 'open'], ['presentation.page_url', 'open'], ['auth', 'open']]);
    const withdrawal = x.events.find((e) => e.type === 'acceptance.withdrawn')!;
    assert.equal((withdrawal.data as { reason: string }).reason, 'moving to another provider');

    // The plan names the other subject: only its pseudonym and commitment are in the export.
    const plan = x.events.find((e) => e.type === 'verification.planned')!;
    assert.deepEqual(plan.personal_fields.map((f) => f.field), ['subjects.0']);
    assert.equal((plan.data as { subjects: unknown[] }).subjects[0], SUBJECT);
    assert.deepEqual(Object.keys((plan.data as { subjects: Array<Record<string, unknown>> }).subjects[1]!).sort(), ['commitment', 'pseudonym']);
    const text = JSON.stringify(res.body);
    assert.ok(!text.includes(OTHER) && !text.includes('192.0.2.200') && !text.includes('Other/2.0'), 'nothing of the other subject is disclosed');
    assert.equal(x.records.verification_plans[0]!.subjects_named, 2);

    // The working records: acceptances, keys (never a key), the plan.
    assert.deepEqual(x.records.acceptances.map((r) => r.kind), ['accepted', 'withdrawn', 'declined']);
    assert.equal(x.records.watermark_keys.length, 1);
    assert.deepEqual(Object.keys(x.records.watermark_keys[0]!).sort(), ['assigned_at', 'commitment', 'key_id', 'ledger', 'reason', 'version']);
    assert.ok(!/wrapped/.test(text), 'no wrapped key in the export');
    assert.deepEqual(x.records.legal_holds, []);
    assert.deepEqual(x.records.erasures, []);
  });

  test('a tampered opening in an export no longer opens its commitment', async () => {
    const x = SubjectExportJson.parse((await t.get(`/v1/subjects/${SUBJECT}/export`, 'admin')).body);
    const f = x.events.find((e) => e.event_id === acceptanceEventId)!.personal_fields.find((p) => p.field === 'client')!;
    assert.equal(openingProblem(f.commitment!, { group: f.group, salt: f.salt, value: f.value }, 'network'), null);
    assert.match(openingProblem(f.commitment!, { group: f.group, salt: f.salt, value: { ip: '198.51.100.24', user_agent: UA } }, 'network') ?? '', /is not the commitment/);
    assert.match(openingProblem(f.commitment!, { group: f.group, salt: `${f.salt!.slice(0, -1)}${f.salt!.endsWith('0') ? '1' : '0'}`, value: f.value }, 'network') ?? '', /is not the commitment/);
  });

  test('an erased fact is named as erased, with its erasure; every proof still verifies', async () => {
    // An erasure, simulated: the opening cleared in place (as erasure does) and an erasures row naming its event.
    const db = t.ctx.handle.db;
    const erasureEvent = randomUUID();
    await sql`UPDATE personal_openings SET salt = NULL, value = NULL, erased_at = '2026-12-01T10:00:00Z', erasure_event_id = ${erasureEvent}::uuid
      WHERE event_id = ${acceptanceEventId}::uuid AND field = 'client'`.execute(db);
    const seq = (await t.ctx.ledger.head()).size;
    await sql`INSERT INTO erasures (id, subject_pseudonym, basis, request_ref, performed_by_key_id, performed_at, ledger_seq, event_id)
      VALUES (${randomUUID()}::uuid, ${t.built.services.pseudonyms.of(SUBJECT)}, 'data_subject_request', 'DSR-2026-0042', NULL, '2026-12-01T10:00:00Z', ${seq}, ${erasureEvent}::uuid)`.execute(db);
    try {
      const res = await t.get(`/v1/subjects/${SUBJECT}/export`, 'admin');
      assert.equal(res.status, 200, res.text);
      const x = SubjectExportJson.parse(res.body);
      verifyExport(x, t.ctx.ledger.signingKey.publicKey);
      const acc = x.events.find((e) => e.event_id === acceptanceEventId)!;
      const client = acc.personal_fields.find((f) => f.field === 'client')!;
      assert.equal(client.state, 'erased');
      assert.equal(client.erased_at, '2026-12-01T10:00:00.000Z');
      assert.deepEqual(client.erasure, { event_id: erasureEvent, seq, basis: 'data_subject_request', request_ref: 'DSR-2026-0042' });
      assert.equal(client.salt, undefined);
      assert.ok(!JSON.stringify(res.body).includes(IP), 'the erased IP address is nowhere in the export');
      // The event's data keeps the commitment where the value was.
      assert.deepEqual(Object.keys((acc.data as { client: object }).client), ['commitment']);
      assert.equal(x.records.erasures.length, 1);
      // The timeline (investigator) says the same.
      const tl = await t.get(`/v1/subjects/${SUBJECT}/timeline`, 'investigator');
      assert.equal(tl.status, 200, tl.text);
      const rec = (tl.body.records as Array<{ ledger: { event_id: string }; facts: Array<{ field: string; state: string; value?: unknown; erased_at?: string }> }>).find((r) => r.ledger.event_id === acceptanceEventId)!;
      assert.deepEqual(rec.facts.find((f) => f.field === 'client'), { field: 'client', group: 'network', state: 'erased', erased_at: '2026-12-01T10:00:00.000Z', erasure_event_id: erasureEvent });
      assert.deepEqual(rec.facts.find((f) => f.field === 'auth')?.value, { method: 'sso', session_id: SESSION, mfa: true });
    } finally {
      await sql`DELETE FROM erasures WHERE event_id = ${erasureEvent}::uuid`.execute(db).catch(() => undefined);
    }
  });

  test('an event written before personal data left the log: the subject\'s fact reads clear; naming another subject in clear, its bytes are withheld', async () => {
    // A v1-style plan (subjects in clear), appended as such events were, with its working row.
    const planId = randomUUID();
    const samples = [{ input_sha256: 'ef'.repeat(32), owner_label: 2, num_classes: 10 }];
    const ev = prepareEvent('verification.planned', {
      plan_id: planId, case_ref: 'CASE-EARLY', subjects: [SUBJECT, OTHER], sample_count: 1, samples_digest: '00'.repeat(32), samples_digest_scheme: 'x',
      alpha: 1e-9, subjects_screened: 2, threshold: '1', planned_by: { api_key_id: randomUUID(), name: 'early' },
    });
    const [pos] = await t.ctx.ledger.append({ events: [ev], rows: (p) => [t.ctx.repos.plans.row({ id: planId, caseRef: 'CASE-EARLY', subjects: [SUBJECT, OTHER], samples, samplesDigest: '00'.repeat(32), createdAt: new Date() }, p[0]!)] });
    await t.ctx.ledger.checkpoint();
    const res = await t.get(`/v1/subjects/${SUBJECT}/export`, 'admin');
    assert.equal(res.status, 200, res.text);
    const x = SubjectExportJson.parse(res.body);
    const early = x.events.find((e) => e.seq === pos!.seq)!;
    assert.ok(early, 'found through the working record');
    assert.equal(early.canonical, null);
    assert.equal(early.data, null);
    assert.match(early.withheld ?? '', /names other subjects in clear/);
    assert.deepEqual(early.personal_fields, [{ field: 'subjects.0', group: 'subject', commitment: null, state: 'clear', value: SUBJECT }]);
    assert.equal(early.leaf_hash, pos!.leafHash.toString('hex'));
    // Its proof still shows the entry is in the ledger.
    const inc = verifyReceiptInclusion({ type: RECEIPT_TYPE, origin: x.origin, event: {}, ledger: { seq: early.seq, event_id: early.event_id, leaf_hash: early.leaf_hash, leaf_index: early.seq - 1, chain_hash: early.chain_hash } }, { ...early.inclusion, checkpoint: x.checkpoint!.note }, t.ctx.ledger.signingKey.publicKey);
    assert.ok(inc.ok, inc.ok ? '' : inc.reason);
    assert.ok(!JSON.stringify(res.body).includes(OTHER), 'the other subject is not disclosed');
  });

  test('an unknown subject is a 404 problem; a malformed one a 400; only admins may export', async () => {
    const res = await t.get('/v1/subjects/nobody-recorded-here/export', 'admin');
    assert.equal(res.status, 404);
    assert.equal(problemOf(res).code, 'subject_not_found');
    const bad = await t.get(`/v1/subjects/${encodeURIComponent('x'.repeat(300))}/export`, 'admin');
    assert.equal(bad.status, 400, bad.text);
    assert.equal(problemOf(bad).code, 'validation_failed');
    for (const role of ['signup', 'gateway', 'investigator', 'counsel'] as const) {
      const r = await t.get(`/v1/subjects/${SUBJECT}/export`, role);
      assert.equal(r.status, 403, `${role}: ${r.status}`);
      assert.equal(problemOf(r).code, 'forbidden');
    }
    assert.equal((await t.get(`/v1/subjects/${SUBJECT}/export`)).status, 401);
  });

  test('assentmark subject export writes the same export to a file, or stdout; an unknown subject exits 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'subject-export-'));
    const file = path.join(dir, 'export.json');
    const r = await t.cli(['subject', 'export', SUBJECT, file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /exported \d+ ledger events about the subject/);
    const x = SubjectExportJson.parse(JSON.parse(readFileSync(file, 'utf8')));
    assert.equal(x.subject, SUBJECT);
    verifyExport(x, t.ctx.ledger.signingKey.publicKey);
    const again = await t.cli(['subject', 'export', SUBJECT, file]);
    assert.equal(again.status, 1, 'an existing file is not overwritten');
    const out = await t.cli(['subject', 'export', SUBJECT]);
    assert.equal(out.status, 0, out.stderr);
    assert.equal(SubjectExportJson.parse(JSON.parse(out.stdout)).events.length, x.events.length);
    const none = await t.cli(['subject', 'export', 'nobody-recorded-here', path.join(dir, 'none.json')]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /nothing is recorded about this subject/);
    assert.equal(existsSync(path.join(dir, 'none.json')), false);
  });
});
