// The assent API's happy path, end to end through HTTP: publish, accept, status, receipts,
// declines and withdrawals, major/minor versions, watermark key assignment and rotation, and the
// promise that no response and no ledger byte ever carries a watermark key.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { verifyReceipt, verifyReceiptInclusion, type Receipt } from '../src/assent/receipt.js';
import { buf } from '../src/db/bytes.js';
import { acceptanceBody, eulaText, sha256OfText, useTestApp, withdrawalBody } from './helpers/app.js';
import { openedEvent } from './helpers/opened.js';

type Json = Record<string, any>;

const t = useTestApp();
/** Every response body seen, to prove none carries key material. */
const responses: string[] = [];

function seen<R extends { text: string }>(res: R): R {
  responses.push(res.text ?? '');
  return res;
}

async function ledgerEvents(): Promise<Array<{ seq: number; type: string; canonical: Buffer; event: Json }>> {
  const rows = await sql<{ seq: string; event_type: string; canonical: Uint8Array }>`SELECT seq, event_type, canonical FROM ledger_entries ORDER BY seq`.execute(t.ctx.handle.db);
  return rows.rows.map((r) => {
    const canonical = Buffer.from(buf(r.canonical));
    return { seq: Number(r.seq), type: r.event_type, canonical, event: JSON.parse(canonical.toString('utf8')) as Json };
  });
}

async function status(subject: string, slug = 'api-terms'): Promise<Json> {
  const res = seen(await t.get(`/v1/subjects/${encodeURIComponent(subject)}/status?slug=${slug}`, 'signup'));
  assert.equal(res.status, 200, res.text);
  return res.body as Json;
}

describe('EULA publishing', () => {
  test('publish is 201, then idempotent (200) with identical content, 409 with different text', async () => {
    const body = { slug: 'api-terms', version: '1.0', title: 'API Terms 1.0', text: eulaText('api-terms', '1.0'), effective_at: '2026-01-01T00:00:00Z', major: true, highlights: [{ text: 'must not use outputs to train a competing model', note: 'No distillation' }] };
    const first = seen(await t.post('/v1/eulas', 'admin').send(body));
    assert.equal(first.status, 201, first.text);
    assert.equal(first.body.text_sha256, sha256OfText(body.text));
    assert.equal(first.body.text, body.text);
    assert.equal(first.headers.location, '/v1/eulas/api-terms/versions/1.0');
    assert.equal(typeof first.body.ledger.seq, 'number');

    const before = await t.countRows();
    const again = seen(await t.post('/v1/eulas', 'admin').send(body));
    assert.equal(again.status, 200, again.text);
    assert.deepEqual(again.body, first.body);
    assert.deepEqual(await t.countRows(), before, 'an identical re-publish writes nothing');

    const changed = seen(await t.post('/v1/eulas', 'admin').send({ ...body, text: body.text + '\n4. One more clause.' }));
    assert.equal(changed.status, 409, changed.text);
    assert.equal(changed.headers['content-type']?.split(';')[0], 'application/problem+json');
    assert.equal(changed.body.code, 'eula_version_conflict');
    assert.equal(changed.body.existing_text_sha256, first.body.text_sha256);
    assert.deepEqual(await t.countRows(), before, 'a conflicting publish writes nothing');

    const got = seen(await t.get('/v1/eulas/api-terms/versions/1.0', 'gateway'));
    assert.equal(got.status, 200);
    assert.equal(got.body.text, body.text);
    const current = seen(await t.get('/v1/eulas/api-terms/current', 'counsel'));
    assert.equal(current.status, 200);
    assert.equal(current.body.version, '1.0');
    assert.equal(current.body.required_major_version, '1.0');
  });
});

describe('acceptance, receipt and watermark key', () => {
  let accepted: Json;

  test('first acceptance: 201 with a signed receipt, key v1 assigned', async () => {
    const res = seen(await t.accept({ subject: 'alice' }));
    assert.equal(res.status, 201, res.text);
    accepted = res.body as Json;
    assert.equal(accepted.kind, 'accepted');
    assert.equal(accepted.subject, 'alice');
    assert.equal(accepted.slug, 'api-terms');
    assert.equal(accepted.version, '1.0');
    assert.equal(res.headers.location, `/v1/acceptances/${accepted.id}`);
    assert.equal(res.headers['idempotent-replayed'], undefined);
    assert.equal(accepted.watermark_key.version, 1);
    assert.equal(accepted.watermark_key.newly_assigned, true);
    assert.match(accepted.watermark_key.commitment, /^[0-9a-f]{64}$/);

    const receipt = accepted.receipt as Receipt;
    const check = verifyReceipt(receipt, t.ctx.ledger.signingKey.publicKey);
    assert.equal(check.ok, true, check.ok ? '' : check.reason);
    const ev = receipt.payload.event as Json;
    assert.equal(ev.type, 'acceptance.recorded');
    assert.equal(ev.data.record_id, accepted.id);
    // Personal facts are commitments in the signed event (docs/personal-data.md); their openings open them.
    assert.equal(ev.data.subject.pseudonym, t.built.services.pseudonyms.of('alice'));
    assert.deepEqual(Object.keys(ev.data.client), ['commitment']);
    assert.deepEqual(Object.keys(ev.data.auth), ['commitment']);
    assert.equal(ev.data.shown_text_sha256, sha256OfText(eulaText()));
    assert.equal(ev.data.presentation.consent_text, acceptanceBody().consent_text);
    const opened = (await openedEvent(t.ctx, accepted.ledger.seq)).data as Json;
    assert.equal(opened.subject, 'alice');
    assert.equal(opened.client.ip, '203.0.113.7');
    assert.deepEqual(opened.auth, { method: 'password', session_id: 'sess-1234', mfa: true });
    assert.equal(opened.presentation.page_url, acceptanceBody().page_url);
    assert.equal(ev.data.watermark_key.commitment, accepted.watermark_key.commitment);
    assert.deepEqual(receipt.payload.ledger, accepted.ledger);
    assert.equal(receipt.payload.type, 'assentmark.receipt/v2');
    assert.equal(accepted.ledger.leaf_index, accepted.ledger.seq - 1, 'the Merkle leaf index is signed');
    // Sent when the entry commits: no checkpoint covers it yet, so a promise instead of a proof.
    assert.equal(accepted.receipt.inclusion, null);
    assert.match(accepted.receipt.promise, /^a signed promise: this entry will be covered by .*; fetch this receipt again for its inclusion proof$/);
    // The receipt's key is the one published for everyone.
    const keys = seen(await t.get('/.well-known/assentmark/keys.json'));
    assert.equal(keys.body.keys[0].key_id, receipt.key_id);
    const check2 = verifyReceipt(receipt, Buffer.from(keys.body.keys[0].public_key, 'base64'));
    assert.equal(check2.ok, true);
  });

  test('GET receipt returns the identical receipt; GET record the identical body', async () => {
    const r = seen(await t.get(`/v1/acceptances/${accepted.id}/receipt`, 'investigator'));
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, accepted.receipt);
    const r2 = seen(await t.get(`/v1/acceptances/${accepted.id}/receipt`, 'signup'));
    assert.equal(r2.text, r.text, 'receipt bytes are the same every time');
    const rec = seen(await t.get(`/v1/acceptances/${accepted.id}`, 'admin'));
    assert.equal(rec.status, 200, rec.text);
    assert.deepEqual(rec.body, accepted);
  });

  test('after a checkpoint: the same signed receipt, now with its inclusion proof', async () => {
    const cp = await t.ctx.ledger.checkpoint();
    assert.ok(cp && cp.size >= accepted.ledger.seq);
    const r = seen(await t.get(`/v1/acceptances/${accepted.id}/receipt`, 'investigator'));
    assert.equal(r.status, 200, r.text);
    const { inclusion, promise, ...signed } = r.body as Json;
    const { inclusion: _none, promise: _promise, ...signedBefore } = accepted.receipt as Json;
    assert.deepEqual(signed, signedBefore, 'the signed part is identical');
    assert.equal(promise, undefined);
    assert.equal(inclusion.tree_size, cp.size);
    assert.equal(inclusion.leaf_index, accepted.ledger.seq - 1);
    assert.equal(inclusion.checkpoint, cp.body.toString('utf8'));
    const check = verifyReceipt(r.body, t.ctx.ledger.signingKey.publicKey);
    assert.ok(check.ok);
    const inc = verifyReceiptInclusion(check.payload, inclusion, t.ctx.ledger.signingKey.publicKey);
    assert.ok(inc.ok, inc.ok ? '' : inc.reason);
    const rec = seen(await t.get(`/v1/acceptances/${accepted.id}`, 'admin'));
    assert.deepEqual(rec.body, { ...accepted, receipt: r.body });
  });

  test('the key assignment is its own ledger event, referencing the acceptance event', async () => {
    const events = await ledgerEvents();
    const acc = events.find((e) => e.event.id === accepted.ledger.event_id);
    assert.ok(acc, 'acceptance event in the ledger');
    assert.equal(acc.seq, accepted.ledger.seq);
    assert.equal(acc.type, 'acceptance.recorded');
    const assigned = events.filter((e) => e.type === 'watermark_key.assigned');
    assert.equal(assigned.length, 1);
    const a = assigned[0]!;
    assert.equal(a.seq, acc.seq + 1, 'assigned right after the acceptance, in the same append');
    assert.equal(a.event.data.acceptance_event_id, accepted.ledger.event_id);
    assert.equal(a.event.data.subject.pseudonym, t.built.services.pseudonyms.of('alice'));
    assert.equal((await openedEvent(t.ctx, a.seq)).data.subject, 'alice');
    assert.equal(a.event.data.key_version, 1);
    assert.equal(a.event.data.commitment, ((accepted.receipt as Receipt).payload.event as Json).data.watermark_key.commitment, "the assignment's commitment is the receipt's");
    assert.equal(a.event.data.commitment, accepted.watermark_key.commitment);
    assert.equal(a.event.id, ((accepted.receipt as Receipt).payload.event as Json).data.watermark_key.event_id, 'the acceptance names the assignment event');
    assert.equal(a.event.data.key_id, ((accepted.receipt as Receipt).payload.event as Json).data.watermark_key.key_id);
  });

  test('status: compliant after accepting', async () => {
    const s = await status('alice');
    assert.equal(s.compliant, true, JSON.stringify(s));
    assert.equal(s.reason, 'accepted the current version');
    assert.equal(s.accepted.version, '1.0');
    assert.equal(s.accepted.record_id, accepted.id);
    assert.equal(s.accepted.ledger_seq, accepted.ledger.seq);
    const never = await status('nobody');
    assert.equal(never.compliant, false);
    assert.equal(never.reason, 'has never accepted');
    assert.equal(never.accepted, null);
  });

  test('a second acceptance by the same subject reuses key v1 and assigns nothing', async () => {
    const before = await t.countRows();
    const res = seen(await t.accept({ subject: 'alice', method: 'button', client_time: '2026-11-29T12:30:00+01:00' }));
    assert.equal(res.status, 201, res.text);
    assert.notEqual(res.body.id, accepted.id);
    assert.equal(res.body.watermark_key.version, 1);
    assert.equal(res.body.watermark_key.commitment, accepted.watermark_key.commitment);
    assert.equal(res.body.watermark_key.newly_assigned, false);
    const ev = (res.body.receipt as Receipt).payload.event as Json;
    assert.equal(ev.data.client_time, '2026-11-29T11:30:00.000Z', 'client time normalised to UTC');
    const afterCounts = await t.countRows();
    assert.deepEqual(afterCounts, { ...before, ledger_entries: before.ledger_entries + 1, assent_records: before.assent_records + 1, idempotency_keys: before.idempotency_keys + 1, personal_openings: before.personal_openings + 4 });
    const events = await ledgerEvents();
    assert.equal(events.filter((e) => e.type === 'watermark_key.assigned').length, 1);
    const recs = seen(await t.get('/v1/subjects/alice/records', 'investigator'));
    assert.equal(recs.status, 200);
    assert.deepEqual(recs.body.records.map((r: Json) => r.kind), ['accepted', 'accepted']);
  });
});

describe('declines and withdrawals', () => {
  test('a decline is its own event; status says declined', async () => {
    const res = seen(await t.post('/v1/declines', 'signup').set('Idempotency-Key', t.idem()).send(acceptanceBody({ subject: 'bob', method: 'button' })));
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.kind, 'declined');
    assert.equal(res.body.watermark_key, undefined, 'a decline assigns no key');
    const ev = (res.body.receipt as Receipt).payload.event as Json;
    assert.equal(ev.type, 'acceptance.declined');
    assert.equal(verifyReceipt(res.body.receipt, t.ctx.ledger.signingKey.publicKey).ok, true);
    const s = await status('bob');
    assert.equal(s.compliant, false);
    assert.equal(s.reason, 'declined and has not accepted');
    assert.equal(s.last_event.kind, 'declined');
    assert.equal(s.last_event.record_id, res.body.id);
    const keys = seen(await t.get('/v1/subjects/bob/watermark-keys', 'admin'));
    assert.deepEqual(keys.body.keys, []);
  });

  test('a withdrawal is its own event; status says withdrawn; accepting again restores compliance', async () => {
    const acc = seen(await t.accept({ subject: 'carol' }));
    assert.equal(acc.status, 201, acc.text);
    assert.equal((await status('carol')).compliant, true);
    const w = seen(await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: 'carol' })));
    assert.equal(w.status, 201, w.text);
    assert.equal(w.body.kind, 'withdrawn');
    assert.equal(w.body.version, '1.0', 'withdraws the version accepted');
    const ev = (w.body.receipt as Receipt).payload.event as Json;
    assert.equal(ev.type, 'acceptance.withdrawn');
    const opened = (await openedEvent(t.ctx, w.body.ledger.seq)).data as Json;
    assert.equal(opened.reason, 'closing my account');
    assert.equal(opened.client.ip, '2001:db8::7');
    assert.equal(verifyReceipt(w.body.receipt, t.ctx.ledger.signingKey.publicKey).ok, true);
    const s = await status('carol');
    assert.equal(s.compliant, false);
    assert.equal(s.reason, 'withdrew assent');
    assert.equal(s.accepted, null);
    assert.equal(s.last_event.kind, 'withdrawn');
    const again = seen(await t.accept({ subject: 'carol' }));
    assert.equal(again.status, 201);
    assert.equal(again.body.watermark_key.newly_assigned, false, 'the key survives a withdrawal');
    assert.equal(again.body.watermark_key.commitment, acc.body.watermark_key.commitment);
    assert.equal((await status('carol')).compliant, true);
    const recs = seen(await t.get('/v1/subjects/carol/records', 'admin'));
    assert.deepEqual(recs.body.records.map((r: Json) => r.kind), ['accepted', 'withdrawn', 'accepted']);
  });
});

describe('versions', () => {
  test('a minor version does not require re-acceptance; a major version does', async () => {
    await t.publishEula({ slug: 'model-terms', version: '1.0', major: true, effective_at: '2026-01-01T00:00:00Z' });
    const a = seen(await t.accept({ subject: 'dave', slug: 'model-terms', version: '1.0' }));
    assert.equal(a.status, 201, a.text);
    assert.equal((await status('dave', 'model-terms')).compliant, true);

    // Later versions take effect when they are published, not before (eula_backdated).
    await t.publishEula({ slug: 'model-terms', version: '1.1', major: false, effective_at: new Date().toISOString() });
    const minor = await status('dave', 'model-terms');
    assert.equal(minor.compliant, true, JSON.stringify(minor));
    assert.equal(minor.current_version, '1.1');
    assert.equal(minor.required_version, '1.0');
    assert.equal(minor.reason, 'accepted 1.0; later versions are minor changes');

    await t.publishEula({ slug: 'model-terms', version: '2.0', major: true, effective_at: new Date().toISOString() });
    const major = await status('dave', 'model-terms');
    assert.equal(major.compliant, false, JSON.stringify(major));
    assert.equal(major.required_version, '2.0');
    assert.equal(major.reason, 'accepted 1.0, but major version 2.0 requires accepting again');
    assert.equal(major.accepted.version, '1.0');

    // A version published for the future is not yet in effect.
    await t.publishEula({ slug: 'model-terms', version: '3.0', major: true, effective_at: '2099-01-01T00:00:00Z' });
    const b = seen(await t.accept({ subject: 'dave', slug: 'model-terms', version: '2.0' }));
    assert.equal(b.status, 201, b.text);
    assert.equal(b.body.watermark_key.newly_assigned, false);
    const now = await status('dave', 'model-terms');
    assert.equal(now.compliant, true, JSON.stringify(now));
    assert.equal(now.current_version, '2.0');
    assert.equal(now.accepted.version, '2.0');

    const hist = seen(await t.get('/v1/eulas/model-terms/versions', 'gateway'));
    assert.deepEqual(hist.body.versions.map((v: Json) => v.version), ['1.0', '1.1', '2.0', '3.0']);
    assert.equal(hist.body.versions[0].text, undefined, 'history omits texts');
  });
});

describe('watermark key rotation', () => {
  test('rotation adds v2 with a watermark_key.rotated event; listing shows both, never the keys; no key material anywhere', async () => {
    const before = seen(await t.get('/v1/subjects/alice/watermark-keys', 'investigator'));
    assert.equal(before.status, 200);
    assert.equal(before.body.keys.length, 1);
    const v1 = before.body.keys[0] as Json;

    const rot = seen(await t.post('/v1/subjects/alice/watermark-keys/rotate', 'admin').send({ reason: 'suspected key exposure' }));
    assert.equal(rot.status, 201, rot.text);
    assert.equal(rot.body.version, 2);
    assert.equal(rot.body.previous_version, 1);
    assert.match(rot.body.commitment, /^[0-9a-f]{64}$/);
    assert.notEqual(rot.body.commitment, v1.commitment);

    const events = await ledgerEvents();
    const rotated = events.filter((e) => e.type === 'watermark_key.rotated');
    assert.equal(rotated.length, 1);
    const r = rotated[0]!;
    assert.equal(r.seq, rot.body.ledger.seq);
    assert.equal(r.event.id, rot.body.ledger.event_id);
    assert.equal((await openedEvent(t.ctx, r.seq)).data.subject, 'alice');
    assert.equal(r.event.data.key_version, 2);
    assert.equal(r.event.data.commitment, rot.body.commitment);
    assert.equal(r.event.data.reason, 'suspected key exposure');
    assert.deepEqual(r.event.data.previous, { key_version: 1, key_id: v1.key_id, commitment: v1.commitment });

    const list = seen(await t.get('/v1/subjects/alice/watermark-keys', 'admin'));
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.keys.map((k: Json) => k.version), [1, 2]);
    assert.equal(list.body.keys[0].commitment, v1.commitment);
    assert.equal(list.body.keys[1].commitment, rot.body.commitment);
    assert.equal(list.body.keys[1].reason, 'suspected key exposure');
    for (const k of list.body.keys as Json[]) {
      assert.deepEqual(Object.keys(k).sort(), ['assigned_at', 'commitment', 'key_id', 'ledger', 'reason', 'version']);
    }

    // Accepting after the rotation records the current key version.
    const acc = seen(await t.accept({ subject: 'alice' }));
    assert.equal(acc.status, 201);
    assert.equal(acc.body.watermark_key.version, 2);
    assert.equal(acc.body.watermark_key.commitment, rot.body.commitment);

    // Rotating a subject without a key is a 409.
    const none = seen(await t.post('/v1/subjects/nokey/watermark-keys/rotate', 'admin').send({ reason: 'x' }));
    assert.equal(none.status, 409);
    assert.equal(none.body.code, 'subject_has_no_key');

    // Unwrap every key the service holds and look for it in every response and every ledger byte.
    const repo = t.built.services.watermarkKeys;
    const kek = t.kek();
    const secrets: Buffer[] = [];
    for (const subject of ['alice', 'carol', 'dave']) {
      for (const version of [1, 2]) {
        const m = await repo.unwrapped([subject], version);
        const k = m.get(subject);
        if (!k) continue;
        assert.equal(k.key.length, 32);
        secrets.push(k.key);
      }
    }
    assert.equal(secrets.length, 4, 'alice v1+v2, carol v1, dave v1');
    const allEvents = await ledgerEvents();
    const ledgerBytes = Buffer.concat(allEvents.map((e) => e.canonical));
    assert.ok(responses.length > 20);
    for (const key of secrets) {
      const forms = [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), key.toString('base64url'), key.toString('base64').replace(/=+$/, '')];
      for (const text of responses) {
        for (const f of forms) assert.ok(!text.includes(f), 'a response carries a watermark key');
      }
      for (const f of forms) assert.ok(!ledgerBytes.includes(Buffer.from(f, 'utf8')), 'the ledger carries a watermark key');
      assert.ok(!ledgerBytes.includes(key), 'the ledger carries raw watermark key bytes');
    }
  });
});

test('the ledger verifies at the end', async () => {
  const r = await t.ctx.ledger.verify();
  assert.equal(r.ok, true, JSON.stringify(r.fault));
  const counts = await t.countRows();
  assert.equal(r.size, counts.ledger_entries);
});
