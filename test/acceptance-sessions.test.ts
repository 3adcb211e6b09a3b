// Acceptance sessions and the widget's API over real HTTP: a session shows the exact text, records
// acceptance.displayed then the acceptance or decline (the assent service's own events and
// receipts), once, never after it expires, only from its origin; bad input writes nothing. The
// status endpoint says when a new (re-)acceptance is needed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openedEvent } from './helpers/opened.js';
import { parseEvent } from '../src/ledger/events.js';
import { eulaText, problemOf, sha256OfText, useTestApp } from './helpers/app.js';

const ORIGIN = 'https://signup.example.com';
const t = useTestApp({ setup: (t) => t.publishEula().then(() => undefined) });

async function createSession(o: Record<string, unknown> = {}): Promise<{ id: string; session: string; [k: string]: any }> {
  const r = await t.post('/v1/acceptance-sessions', 'signup').send({ subject: 'widget-user', slug: 'api-terms', origin: ORIGIN, auth: { method: 'password', session_id: 'site-sess-1', mfa: false }, ...o });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

function manifest(o: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    widget: 'assentmark-widget/1', text_sha256: sha256OfText(eulaText()), markup_sha256: 'b'.repeat(64),
    viewport: { width: 1280, height: 800, device_pixel_ratio: 1 }, scrolled_to_end: true, time_on_screen_ms: 4200,
    consent_text: 'I have read and agree to the API Terms 1.0.', accept_text: 'Accept', decline_text: 'Decline', ...o,
  };
}

function decide(token: string, o: Record<string, unknown> = {}, origin = ORIGIN) {
  return t.post(`/v1/widget/sessions/${token}/decision`).set('Origin', origin).set('User-Agent', 'Mozilla/5.0 test')
    .send({ decision: 'accept', manifest: manifest(), page_url: `${ORIGIN}/signup`, locale: 'en-GB', client_time: new Date().toISOString(), ...o });
}

async function refused(res: { status: number; headers: Record<string, string | undefined>; text: string }, status: number, code: string): Promise<string> {
  assert.equal(res.status, status, res.text);
  const p = problemOf(res);
  assert.equal(p.code, code);
  return p.detail;
}

/** The entry's event with its personal facts opened (they are commitments in the log). */
async function eventAt(seq: number) {
  const e = await t.ctx.ledger.entry(seq);
  assert.ok(e, `entry ${seq}`);
  assert.equal(typeof (parseEvent(e.canonical).data as { subject: unknown }).subject, 'object', 'the log holds the subject as a pseudonym and commitment');
  return openedEvent(t.ctx, seq);
}

describe('acceptance sessions', () => {
  test('created by the signup role only, with the text in effect and a one-time token', async () => {
    assert.equal((await t.post('/v1/acceptance-sessions', 'investigator').send({})).status, 403);
    const s = await createSession();
    assert.match(s.session, /^ams_[A-Za-z0-9_-]{43}$/);
    assert.equal(s.version, '1.0');
    assert.equal(new Date(s.expires_at).getTime() - new Date(s.created_at).getTime(), 900_000);
    assert.match(s.embed, /<script src="http:\/\/127\.0\.0\.1:\d+\/widget\.js" data-session="ams_/);
    await refused(await t.post('/v1/acceptance-sessions', 'signup').send({ subject: 'u', slug: 'api-terms', origin: 'https://x.example/signup', auth: { method: 'password', session_id: 's', mfa: false } }), 400, 'validation_failed');
    await refused(await t.post('/v1/acceptance-sessions', 'signup').send({ subject: 'u', slug: 'api-terms', version: '9.9', origin: ORIGIN, auth: { method: 'password', session_id: 's', mfa: false } }), 422, 'unknown_eula_version');
  });

  test('the widget reads the exact text with CORS, from the session\'s origin only', async () => {
    const s = await createSession();
    const r = await t.get(`/v1/widget/sessions/${s.session}`).set('Origin', ORIGIN);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.body.text, eulaText());
    assert.equal(r.body.text_sha256, sha256OfText(eulaText()));
    const pre = await t.req('get', `/v1/widget/sessions/${s.session}/decision`).set('Origin', ORIGIN); // a GET on a POST-only path still carries CORS
    assert.equal(pre.headers['access-control-allow-origin'], '*');
    const options = await (await import('supertest')).default(t.app).options(`/v1/widget/sessions/${s.session}/decision`).set('Origin', ORIGIN).set('Access-Control-Request-Method', 'POST').set('Access-Control-Request-Headers', 'content-type');
    assert.equal(options.status, 204);
    assert.match(options.headers['access-control-allow-methods'] ?? '', /POST/);
    assert.match(options.headers['access-control-allow-headers'] ?? '', /Content-Type/i);
    // No CORS anywhere else.
    assert.equal((await t.get('/v1/eulas/api-terms/current', 'signup').set('Origin', ORIGIN)).headers['access-control-allow-origin'], undefined);
    await refused(await t.get(`/v1/widget/sessions/${s.session}`).set('Origin', 'https://evil.example'), 403, 'acceptance_session_wrong_origin');
    await refused(await t.get(`/v1/widget/sessions/ams_${'A'.repeat(43)}`).set('Origin', ORIGIN), 404, 'acceptance_session_not_found');
  });

  test('/widget.js is the one built script, loadable from other sites', async () => {
    const r = await t.get('/widget.js').buffer(true).parse((res, cb) => {
      let data = '';
      res.on('data', (c: Buffer) => (data += c.toString('utf8')));
      res.on('end', () => cb(null, data));
    });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] ?? '', /^text\/javascript/);
    assert.equal(r.headers['cross-origin-resource-policy'], 'cross-origin');
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    assert.match(r.body as string, /^\(function\(\)\{/, 'one IIFE (Vite library mode), no module imports');
    assert.doesNotMatch(r.body as string, /\bimport\s*\(|^import /m);
  });

  test('an acceptance: acceptance.displayed with its manifest, then the assent service\'s acceptance.recorded and receipt', async () => {
    const s = await createSession({ subject: 'widget-accepts' });
    const before = await t.countRows();
    const r = await decide(s.session);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.decision, 'accepted');
    const after = await t.countRows();
    assert.equal(after.ledger_entries - before.ledger_entries, 3, 'displayed, accepted, first watermark key');
    const displayed = await eventAt(r.body.displayed.seq);
    assert.equal(displayed.type, 'acceptance.displayed');
    if (displayed.type !== 'acceptance.displayed') return;
    assert.deepEqual(displayed.data.manifest, manifest());
    assert.equal(displayed.data.session_id, s.id);
    assert.equal(displayed.data.page_url, `${ORIGIN}/signup`);
    assert.equal(displayed.data.client.user_agent, 'Mozilla/5.0 test');
    assert.equal(displayed.data.recorded_by.api_key_id, t.keyIds.signup);
    const accepted = await eventAt(r.body.displayed.seq + 1);
    assert.equal(accepted.type, 'acceptance.recorded');
    if (accepted.type !== 'acceptance.recorded') return;
    assert.deepEqual(accepted.data.presentation.displayed, { session_id: s.id, event_id: displayed.id, seq: r.body.displayed.seq });
    assert.equal(accepted.data.presentation.consent_text, 'I have read and agree to the API Terms 1.0.');
    assert.equal(accepted.data.presentation.button_text, 'Accept');
    assert.equal(accepted.data.shown_text_sha256, sha256OfText(eulaText()));
    assert.equal(accepted.data.method, 'checkbox');
    assert.deepEqual(accepted.data.auth, { method: 'password', session_id: 'site-sess-1', mfa: false });
    assert.equal(accepted.data.idempotency_key, `acceptance-session:${s.id}`);
    // The same record and receipt the assent API serves.
    const rec = await t.get(`/v1/acceptances/${r.body.record.id}`, 'signup');
    assert.equal(rec.status, 200);
    assert.equal(rec.body.receipt.signature, r.body.record.receipt.signature);
    const st = await t.get(`/v1/acceptance-sessions/${s.id}`, 'signup');
    assert.equal(st.body.state, 'used');
    assert.equal(st.body.decision, 'accepted');
    assert.equal(st.body.record_id, r.body.record.id);
    const status = await t.get('/v1/subjects/widget-accepts/status?slug=api-terms', 'signup');
    assert.equal(status.body.compliant, true);
    assert.equal(status.body.acceptance_needed, false);
    assert.equal(status.body.accept_version, null);
  });

  test('a used session is refused, by the read and by a second decision; nothing more is written', async () => {
    const s = await createSession({ subject: 'widget-replay' });
    assert.equal((await decide(s.session)).status, 201);
    const before = await t.countRows();
    const detail = await refused(await decide(s.session, { decision: 'decline' }), 409, 'acceptance_session_used');
    assert.match(detail, /already been used/);
    await refused(await decide(s.session), 409, 'acceptance_session_used');
    await refused(await t.get(`/v1/widget/sessions/${s.session}`).set('Origin', ORIGIN), 409, 'acceptance_session_used');
    assert.deepEqual(await t.countRows(), before);
  });

  test('parallel uses of one session: exactly one is recorded', async () => {
    const s = await createSession({ subject: 'widget-race' });
    const before = await t.countRows();
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => decide(s.session, { decision: i % 2 ? 'decline' : 'accept' })));
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 409, 409, 409, 409, 409, 409, 409], answers.map((a) => a.text).join('\n'));
    for (const a of answers) if (a.status === 409) assert.equal(problemOf(a).code, 'acceptance_session_used');
    const winner = answers.find((a) => a.status === 201)!;
    const after = await t.countRows();
    assert.equal(after.assent_records - before.assent_records, 1);
    assert.equal(after.ledger_entries - before.ledger_entries, winner.body.decision === 'accepted' ? 3 : 2);
    const rows = await t.db.superuser(`SELECT count(*)::int AS n FROM acceptance_session_uses WHERE session_id = '${s.id}'`);
    assert.equal(Number(rows[0]!.n), 1);
  });

  test('an expired session is refused with when it expired; nothing is written', async () => {
    const s = await createSession({ subject: 'widget-expired' });
    await t.db.superuser(`UPDATE acceptance_sessions SET created_at = now() - interval '20 minutes', expires_at = now() - interval '1 second' WHERE id = '${s.id}'`);
    const before = await t.countRows();
    assert.match(await refused(await t.get(`/v1/widget/sessions/${s.session}`).set('Origin', ORIGIN), 410, 'acceptance_session_expired'), /expired at/);
    await refused(await decide(s.session), 410, 'acceptance_session_expired');
    assert.deepEqual(await t.countRows(), before);
    assert.equal((await t.get(`/v1/acceptance-sessions/${s.id}`, 'signup')).body.state, 'expired');
  });

  test('what the browser reports is checked before anything is written', async () => {
    const s = await createSession({ subject: 'widget-bad' });
    const before = await t.countRows();
    await refused(await decide(s.session, { manifest: manifest({ text_sha256: 'c'.repeat(64) }) }), 422, 'text_hash_mismatch');
    await refused(await decide(s.session, { manifest: manifest({ accept_text: 'Continue' }) }), 422, 'presentation_mismatch');
    await refused(await decide(s.session, { page_url: 'https://evil.example/signup' }), 403, 'acceptance_session_wrong_origin');
    await refused(await decide(s.session, {}, 'https://evil.example'), 403, 'acceptance_session_wrong_origin');
    await refused(await decide(s.session, { manifest: { ...manifest(), extra: 1 } }), 400, 'validation_failed');
    await refused(await decide(s.session, { decision: 'maybe' }), 400, 'validation_failed');
    assert.deepEqual(await t.countRows(), before);
    // Still usable after the refusals.
    assert.equal((await decide(s.session, { decision: 'decline' })).status, 201);
  });

  test('a decline is the assent service\'s acceptance.declined; the status asks for an acceptance', async () => {
    const s = await createSession({ subject: 'widget-declines', decline_text: 'No thanks' });
    const r = await decide(s.session, { decision: 'decline', manifest: manifest({ decline_text: 'No thanks' }) });
    assert.equal(r.status, 201, r.text);
    const e = await eventAt(r.body.displayed.seq + 1);
    assert.equal(e.type, 'acceptance.declined');
    if (e.type === 'acceptance.declined') assert.equal(e.data.presentation.button_text, 'No thanks');
    const st = (await t.get('/v1/subjects/widget-declines/status?slug=api-terms', 'signup')).body;
    assert.deepEqual([st.compliant, st.acceptance_needed, st.reacceptance, st.accept_version], [false, true, false, '1.0']);
  });

  test('a new major version: the status asks for re-acceptance, and a new session presents it', async () => {
    const s = await createSession({ subject: 'widget-major' });
    assert.equal((await decide(s.session)).status, 201);
    await t.publishEula({ slug: 'api-terms', version: '2.0', major: true });
    const st = (await t.get('/v1/subjects/widget-major/status?slug=api-terms', 'signup')).body;
    assert.deepEqual([st.compliant, st.acceptance_needed, st.reacceptance, st.accept_version], [false, true, true, '2.0']);
    const again = await createSession({ subject: 'widget-major' });
    assert.equal(again.version, '2.0');
    const text = await t.get(`/v1/widget/sessions/${again.session}`).set('Origin', ORIGIN);
    assert.equal(text.body.text, eulaText('api-terms', '2.0'));
    assert.equal((await decide(again.session, { manifest: manifest({ text_sha256: sha256OfText(eulaText('api-terms', '2.0')), consent_text: 'I have read and agree to the API Terms 2.0.' }) })).status, 201);
    const now = (await t.get('/v1/subjects/widget-major/status?slug=api-terms', 'signup')).body;
    assert.deepEqual([now.compliant, now.acceptance_needed, now.reacceptance], [true, false, false]);
  });

  test('a session is visible only to the key that created it (and admin)', async () => {
    const s = await createSession({ subject: 'widget-private' });
    const other = await t.built.services.apiKeys.create('signup', 'another site');
    await refused(await t.get(`/v1/acceptance-sessions/${s.id}`, { token: other.token }), 404, 'acceptance_session_not_found');
    assert.equal((await t.get(`/v1/acceptance-sessions/${s.id}`, 'admin')).body.state, 'open');
  });
});
