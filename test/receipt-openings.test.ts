// Receipts open what they cite: the 201 response and GET /v1/acceptances/:id/receipt carry the
// opening of each committed personal fact of the event (docs/receipts.md), `assentmark receipt
// verify` checks each against the commitment in the signed bytes and names the field of a
// tampered one, and the hand recipe (OpenSSL, xxd) computes the same commitments. After an erasure
// the receipt still verifies (signature, inclusion proof) and reports the erased fields as erased.
import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { canonicalBytes } from '../src/canonical/jcs.js';
import { buildEvent } from '../src/ledger/events.js';
import { CLI_MAIN, acceptanceBody, useTestApp, withdrawalBody } from './helpers/app.js';
import { flip, run, type RunResult } from './helpers/tools.js';

type Json = Record<string, any>;

const t = useTestApp({ setup });
let dir: string;
let keysFile: string;
let created: Json; // the 201 response of the acceptance
let fetchedText: string; // GET .../receipt of it
let withdrawal: Json; // the 201 response of a withdrawal

const FACTS = { subject: 'opening-subject-7f3a', ip: '198.51.100.23', user_agent: 'OpeningsTest/1.0 (é 東京)', page_url: 'https://example.org/signup?who=opening', session_id: 'sess-opening-91' };

async function setup(): Promise<void> {
  dir = mkdtempSync(path.join(tmpdir(), 'assentmark-openings-'));
  await t.publishEula();
  const acc = await t.accept({ subject: FACTS.subject, ip: FACTS.ip, user_agent: FACTS.user_agent, page_url: FACTS.page_url, auth: { method: 'sso', session_id: FACTS.session_id, mfa: true } });
  assert.equal(acc.status, 201, acc.text);
  created = acc.body as Json;
  const got = await t.get(`/v1/acceptances/${created.id as string}/receipt`, 'investigator');
  assert.equal(got.status, 200, got.text);
  fetchedText = got.text;
  const w = await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: FACTS.subject, reason: 'moving to another provider, says Jane Roe' }));
  assert.equal(w.status, 201, w.text);
  withdrawal = w.body as Json;
  keysFile = path.join(dir, 'keys.json');
  writeFileSync(keysFile, (await t.get('/.well-known/assentmark/keys.json')).text);
}

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function write(name: string, doc: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof doc === 'string' ? doc : JSON.stringify(doc));
  return p;
}

function verify(file: string, ...extra: string[]): RunResult {
  return run(process.execPath, [CLI_MAIN, 'receipt', 'verify', file, '--public-key', keysFile, ...extra], { env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 60_000 });
}

function bash(script: string, cwd: string): RunResult {
  return run('bash', ['-euo', 'pipefail', '-c', script], { cwd, env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 60_000 });
}

/** The ```sh block after `<!-- test:NAME` in docs/receipts.md. */
function recipe(name: string): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = [path.resolve(here, '../../docs/receipts.md'), path.resolve(process.cwd(), 'docs/receipts.md')].find((c) => existsSync(c));
  assert.ok(file, 'docs/receipts.md not found');
  const doc = readFileSync(file, 'utf8');
  const at = doc.indexOf(`<!-- test:${name}`);
  assert.ok(at >= 0, `docs/receipts.md has no recipe marked test:${name}`);
  const m = /```sh\n([\s\S]*?)```/.exec(doc.slice(at));
  assert.ok(m, `no sh block after test:${name}`);
  return m[1]!;
}

const byField = (openings: Json[]) => new Map(openings.map((o) => [o.field as string, o]));

describe('the receipt carries the openings of its event\'s committed fields', () => {
  test('201: subject, client, page URL and auth, each opening the commitment in the signed event', () => {
    const r = created.receipt as Json;
    const o = byField(r.openings as Json[]);
    assert.deepEqual([...o.keys()], ['auth', 'client', 'presentation.page_url', 'subject'], 'in field order, as a replay or a GET lists them');
    assert.equal(o.get('subject')!.value, FACTS.subject);
    assert.deepEqual(o.get('client')!.value, { ip: FACTS.ip, user_agent: FACTS.user_agent });
    assert.equal(o.get('presentation.page_url')!.value, FACTS.page_url);
    assert.deepEqual(o.get('auth')!.value, { method: 'sso', session_id: FACTS.session_id, mfa: true });
    const data = r.payload.event.data as Json;
    assert.equal(o.get('subject')!.commitment, data.subject.commitment);
    assert.equal(o.get('client')!.commitment, data.client.commitment);
    assert.equal(o.get('presentation.page_url')!.commitment, data.presentation.page_url.commitment);
    for (const op of o.values()) {
      assert.match(op.salt as string, /^[0-9a-f]{64}$/);
      assert.deepEqual(Buffer.from(op.value_bytes as string, 'base64'), canonicalBytes(op.value));
    }
    // The signed bytes hold none of the facts.
    const signed = Buffer.from(r.signed_bytes as string, 'base64').toString('utf8');
    for (const v of Object.values(FACTS)) assert.ok(!signed.includes(v), `the signed bytes hold ${v}`);
    assert.equal(created.subject, FACTS.subject);
  });

  test('GET reads the same openings from the openings table; the signed part is unchanged', () => {
    const got = JSON.parse(fetchedText) as Json;
    assert.equal(got.signed_bytes, created.receipt.signed_bytes);
    assert.deepEqual(byField(got.openings as Json[]), byField(created.receipt.openings as Json[]));
  });

  test('a withdrawal opens its reason (free_text) too', () => {
    const o = byField(withdrawal.receipt.openings as Json[]);
    assert.deepEqual([...o.keys()].sort(), ['auth', 'client', 'reason', 'subject']);
    assert.equal(o.get('reason')!.group, 'free_text');
    assert.equal(o.get('reason')!.value, 'moving to another provider, says Jane Roe');
  });
});

describe('the consent widget\'s answer to the browser', () => {
  test('opens what the browser sent, not the site\'s session facts; the record read by the site has them all', async () => {
    const origin = 'https://signup.example.com';
    const s = await t.post('/v1/acceptance-sessions', 'signup').send({ subject: 'widget-opening-subject', slug: 'api-terms', origin, auth: { method: 'password', session_id: 'site-session-secret-77', mfa: false } });
    assert.equal(s.status, 201, s.text);
    const d = await t.post(`/v1/widget/sessions/${s.body.session as string}/decision`).set('Origin', origin).set('User-Agent', 'WidgetOpenings/1').send({
      decision: 'accept', page_url: `${origin}/signup`, locale: 'en-GB', client_time: new Date().toISOString(),
      manifest: {
        widget: 'assentmark-widget/1', text_sha256: created.receipt.payload.event.data.shown_text_sha256, markup_sha256: 'b'.repeat(64),
        viewport: { width: 1280, height: 800, device_pixel_ratio: 1 }, scrolled_to_end: true, time_on_screen_ms: 4200,
        consent_text: s.body.consent_text, accept_text: s.body.accept_text, decline_text: s.body.decline_text,
      },
    });
    assert.equal(d.status, 201, d.text);
    assert.deepEqual((d.body.record.receipt.openings as Json[]).map((o) => o.field), ['client', 'presentation.page_url', 'subject']);
    assert.ok(!d.text.includes('site-session-secret-77'), 'the browser is sent the site\'s session id');
    const rec = await t.get(`/v1/acceptances/${d.body.record.id as string}`, 'signup');
    assert.equal(rec.status, 200, rec.text);
    assert.deepEqual(byField(rec.body.receipt.openings as Json[]).get('auth')!.value, { method: 'password', session_id: 'site-session-secret-77', mfa: false });
  });
});

describe('assentmark receipt verify checks every opening', () => {
  test('a good receipt (201 response, fetched receipt, withdrawal) passes and says what it opened', () => {
    for (const [name, doc] of [['created.json', created], ['fetched.json', fetchedText], ['withdrawal.json', withdrawal]] as const) {
      const r = verify(write(name, doc));
      assert.equal(r.status, 0, `${name}: ${r.out}`);
      assert.match(r.stdout, new RegExp(`^OK: acceptance\\.(recorded|withdrawn) of api-terms 1\\.0 by subject "${FACTS.subject}" at `));
      assert.match(r.stdout, /\nopened: subject \(subject\), client \(network\), .*auth \(session\).*: each opening opens the commitment in the signed event\n/);
    }
    const j = verify(write('fetched.json', fetchedText), '--json');
    assert.equal(j.status, 0, j.out);
    const out = JSON.parse(j.stdout) as Json;
    assert.deepEqual(out.openings.map((o: Json) => [o.field, o.status]), [['subject', 'opened'], ['client', 'opened'], ['presentation.page_url', 'opened'], ['auth', 'opened']]);
  });

  function tampered(name: string, edit: (openings: Json[]) => void): string {
    const copy = JSON.parse(fetchedText) as Json;
    edit(copy.openings as Json[]);
    return write(name, copy);
  }

  /** `json`: also check the --json answer (once per kind of tampering: each CLI run costs seconds). */
  function expectFieldInvalid(file: string, field: string, reason: RegExp, json = false): void {
    const r = verify(file);
    assert.equal(r.status, 1, `${path.basename(file)} should be rejected: ${r.out}`);
    assert.match(r.stdout, /^INVALID: the signature is valid, but the opening of /);
    assert.ok(r.stdout.includes(`the opening of ${field} does not hold: `), `${path.basename(file)} names ${field}: ${r.stdout}`);
    assert.match(r.stdout, reason);
    if (!json) return;
    const j = verify(file, '--json');
    assert.equal(j.status, 1);
    const out = JSON.parse(j.stdout) as Json;
    assert.equal(out.signature_valid, true);
    assert.ok((out.invalid_openings as Json[]).some((p) => p.field === field), j.stdout);
    assert.equal((out.openings as Json[]).find((o) => o.field === field)?.status, 'invalid', j.stdout);
  }

  const at = (os: Json[], field: string) => os.find((o) => o.field === field)!;

  test('a changed value fails naming its field', () => {
    expectFieldInvalid(tampered('value-ip.json', (os) => {
      const c = at(os, 'client');
      c.value = { ...c.value, ip: '192.0.2.1' };
      c.value_bytes = canonicalBytes(c.value).toString('base64');
    }), 'client', /SHA-256 of the opening \([0-9a-f]{64}\) is not the commitment [0-9a-f]{64}/, true);
    expectFieldInvalid(tampered('value-subject.json', (os) => {
      at(os, 'subject').value = 'mallory';
      at(os, 'subject').value_bytes = canonicalBytes('mallory').toString('base64');
    }), 'subject', /is not the commitment/);
    // value_bytes that are not the value's canonical bytes (the hand recipe hashes them).
    expectFieldInvalid(tampered('value-bytes.json', (os) => {
      at(os, 'auth').value_bytes = Buffer.from('{"method":"none"}').toString('base64');
    }), 'auth', /value_bytes is not the canonical base64 of the RFC 8785 bytes of value/);
  });

  test('a changed salt fails naming its field', () => {
    expectFieldInvalid(tampered('salt.json', (os) => {
      const o = at(os, 'presentation.page_url');
      o.salt = flip(Buffer.from(o.salt as string, 'hex'), 0, 1).toString('hex');
    }), 'presentation.page_url', /is not the commitment/);
    expectFieldInvalid(tampered('salt-short.json', (os) => (at(os, 'auth').salt = 'abcd')), 'auth', /salt is not 32 bytes of lowercase hex/);
  });

  test('a swapped field fails naming the field', () => {
    // Two fields of different groups swap their openings.
    expectFieldInvalid(tampered('swap-groups.json', (os) => {
      at(os, 'client').field = 'tmp';
      at(os, 'auth').field = 'client';
      at(os, 'tmp').field = 'auth';
    }), 'client', /the opening is of group "session", the field client of group network/);
    // Two network fields swap only their names: the commitments are not the signed ones.
    expectFieldInvalid(tampered('swap-same-group.json', (os) => {
      at(os, 'client').field = 'tmp';
      at(os, 'presentation.page_url').field = 'client';
      at(os, 'tmp').field = 'presentation.page_url';
    }), 'client', /the opening names commitment "[0-9a-f]{64}", the signed event holds [0-9a-f]{64} at client/);
    // ... and with the commitment member edited to match, the hash still fails.
    const signedClient = (JSON.parse(fetchedText) as Json).payload.event.data.client.commitment as string;
    expectFieldInvalid(tampered('swap-same-group-commitment.json', (os) => {
      const page = at(os, 'presentation.page_url');
      os.splice(os.indexOf(at(os, 'client')), 1);
      page.field = 'client';
      page.commitment = signedClient;
    }), 'client', /is not the commitment/);
    expectFieldInvalid(tampered('unknown-field.json', (os) => (at(os, 'auth').field = 'presentation.locale')), 'presentation.locale', /the signed event has no personal field "presentation\.locale"/);
    expectFieldInvalid(tampered('twice.json', (os) => os.push({ ...at(os, 'client') })), 'client', /the receipt opens this field twice/);
  });

  test('a receipt without openings still verifies and says the fields are not opened', () => {
    const copy = JSON.parse(fetchedText) as Json;
    delete copy.openings;
    const r = verify(write('no-openings.json', copy));
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /by subject \(not opened; pseudonym [0-9a-f]{64}\)/);
    assert.match(r.stdout, /\nnot opened: subject \(subject\), client \(network\), presentation\.page_url \(network\), auth \(session\)/);
  });
});

describe('the opening recipe in docs/receipts.md (OpenSSL, xxd)', () => {
  function recipeFor(receiptText: string, field: string): { r: RunResult; work: string } {
    const work = mkdtempSync(path.join(dir, 'opening-'));
    writeFileSync(path.join(work, 'receipt.json'), receiptText);
    writeFileSync(path.join(work, 'keys.json'), readFileSync(keysFile));
    const v = bash(recipe('openssl-verify'), work);
    assert.equal(v.status, 0, `the signature recipe first: ${v.out}`);
    const script = recipe('opening');
    assert.match(script, /^f=client\n/);
    return { r: bash(script.replace(/^f=client\n/, `f=${field}\n`), work), work };
  }

  test('for every field of an acceptance and a withdrawal the two hashes are equal', () => {
    for (const [doc, fields] of [[fetchedText, ['subject', 'client', 'presentation.page_url', 'auth']], [JSON.stringify(withdrawal), ['subject', 'client', 'auth', 'reason']]] as const) {
      const openings = byField((JSON.parse(doc) as Json).receipt?.openings ?? (JSON.parse(doc) as Json).openings);
      for (const f of fields) {
        const { r } = recipeFor(doc, f);
        assert.equal(r.status, 0, `${f}: ${r.out}`);
        const lines = r.stdout.trimEnd().split('\n');
        assert.equal(lines.length, 3, r.stdout);
        assert.equal(lines[0], canonicalBytes(openings.get(f)!.value).toString('utf8'));
        assert.equal(lines[1], openings.get(f)!.commitment, f);
        assert.equal(lines[2], openings.get(f)!.commitment, f);
      }
    }
    // Pretty-printed JSON works the same.
    const { r } = recipeFor(JSON.stringify(JSON.parse(fetchedText), null, 2), 'client');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[1], lines[2]);
  });

  test('a changed salt or value gives another hash than the signed commitment', () => {
    for (const edit of [
      (o: Json) => (o.salt = flip(Buffer.from(o.salt as string, 'hex'), 3, 4).toString('hex')),
      (o: Json) => (o.value_bytes = canonicalBytes({ ...o.value, ip: '192.0.2.1' }).toString('base64')),
    ]) {
      const copy = JSON.parse(fetchedText) as Json;
      edit((copy.openings as Json[]).find((o) => o.field === 'client')!);
      const { r } = recipeFor(JSON.stringify(copy), 'client');
      assert.equal(r.status, 0, r.out);
      const lines = r.stdout.trimEnd().split('\n');
      assert.notEqual(lines[1], lines[2], r.stdout);
    }
  });
});

describe('after an erasure', () => {
  let erasureEventId: string;
  let afterText: string;

  before(async () => {
    // The erasure as the erasure service performs it (docs/personal-data.md): an erasure.performed
    // event naming what it erased by commitment, and the openings' salts and values cleared in place.
    assert.ok(await t.ctx.ledger.checkpoint());
    const held = await t.ctx.repos.openings.forEvents([created.receipt.payload.ledger.event_id as string]);
    assert.equal(held.length, 4);
    erasureEventId = randomUUID();
    const ev = buildEvent('erasure.performed', {
      erasure_id: randomUUID(), subject_pseudonym: held[0]!.pseudonym, basis: 'data_subject_request', request_ref: 'DSR-test-1',
      erased: held.map((h) => ({ event_id: h.eventId, seq: h.seq, field: h.field, group: h.group, commitment: h.commitment })),
      clear_events: [], working_rows: {}, watermark_keys: { action: 'none', versions: [] },
      performed_by: { api_key_id: t.keyIds.admin, name: 'test admin' },
    }, { id: erasureEventId });
    await t.ctx.ledger.append({ events: [ev] });
    await sql`UPDATE personal_openings SET salt = NULL, value = NULL, erased_at = now(), erasure_event_id = ${erasureEventId}::uuid
              WHERE event_id = ${created.receipt.payload.ledger.event_id as string}::uuid`.execute(t.ctx.handle.db);
    assert.ok(await t.ctx.ledger.checkpoint());
    const got = await t.get(`/v1/acceptances/${created.id as string}/receipt`, 'investigator');
    assert.equal(got.status, 200, got.text);
    afterText = got.text;
  });

  test('GET says each field was erased, with the erasure event id; the signed part is unchanged', async () => {
    const r = JSON.parse(afterText) as Json;
    assert.equal(r.signed_bytes, created.receipt.signed_bytes);
    assert.ok(r.inclusion, 'the receipt carries its inclusion proof');
    for (const o of r.openings as Json[]) {
      assert.equal(o.salt, undefined);
      assert.equal(o.value, undefined);
      assert.equal(o.erased.erasure_event_id, erasureEventId);
      assert.match(o.erased.at as string, /^\d{4}-\d\d-\d\dT/);
    }
    for (const v of Object.values(FACTS)) assert.ok(!afterText.includes(v), `the receipt after erasure holds ${v}`);
    const rec = await t.get(`/v1/acceptances/${created.id as string}`, 'investigator');
    assert.equal(rec.status, 200, rec.text);
    assert.deepEqual((rec.body.receipt.openings as Json[]).map((o) => [o.field, o.erased?.erasure_event_id]).sort(), ['auth', 'client', 'presentation.page_url', 'subject'].map((f) => [f, erasureEventId]));
  });

  test('receipt verify: signature and inclusion proof hold, the erased fields are reported as erased, not as failures', () => {
    const r = verify(write('after-erasure.json', afterText));
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /^OK: acceptance\.recorded of api-terms 1\.0 by subject \(erased; pseudonym [0-9a-f]{64}\) at /);
    assert.match(r.stdout, /\nincluded in the checkpoint of size \d+ signed /);
    for (const f of ['subject', 'client', 'presentation.page_url', 'auth']) {
      assert.ok(r.stdout.includes(`erased: ${f} (`) && r.stdout.includes(`by erasure event ${erasureEventId}`), `${f}: ${r.stdout}`);
    }
    const j = JSON.parse(verify(write('after-erasure.json', afterText), '--json').stdout) as Json;
    assert.equal(j.ok, true);
    assert.equal(j.inclusion.status, 'included');
    assert.deepEqual(j.openings.map((o: Json) => [o.field, o.status, o.erasure_event_id]), ['subject', 'client', 'presentation.page_url', 'auth'].map((f) => [f, 'erased', erasureEventId]));
    // The receipt saved before the erasure still carries its openings, and they still verify.
    const before = verify(write('saved-before.json', created));
    assert.equal(before.status, 0, before.out);
    assert.match(before.stdout, /\nopened: subject \(subject\)/);
  });

  test('an erased opening whose commitment is edited still fails naming its field', () => {
    const copy = JSON.parse(afterText) as Json;
    const c = (copy.openings as Json[]).find((o) => o.field === 'auth')!;
    c.commitment = '0'.repeat(64);
    const r = verify(write('erased-edited.json', copy));
    assert.equal(r.status, 1, r.out);
    assert.ok(r.stdout.includes('the opening of auth does not hold: the opening names commitment'), r.stdout);
  });

  test('the hand recipe stops on an erased opening and says so', () => {
    const work = mkdtempSync(path.join(dir, 'opening-erased-'));
    writeFileSync(path.join(work, 'receipt.json'), afterText);
    writeFileSync(path.join(work, 'keys.json'), readFileSync(keysFile));
    assert.equal(bash(recipe('openssl-verify'), work).status, 0);
    const r = bash(recipe('opening'), work);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`no opening of client: .*${erasureEventId}`));
  });
});

// Keeps the test body's facts from being the helper's defaults (which other tests grep for).
test('the facts are distinctive', () => {
  const d = acceptanceBody();
  for (const [k, v] of Object.entries(FACTS)) assert.notEqual(d[k], v);
});
