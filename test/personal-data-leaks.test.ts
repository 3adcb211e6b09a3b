// No personal fact in clear where it should not be (issue 11, docs/personal-data.md): the test
// records acceptances, declines, withdrawals, widget displays, key rotations, verification plans and
// outcomes, LLM usage and a dossier with distinctive subject ids, IPs, user agents, session ids,
// page URLs, reasons and names, then greps the bytes of everything the log shows the world (the
// export written by `assentmark ledger export`, the admin export stream, every entry's canonical
// bytes, /checkpoint and the tiles), of every webhook delivery (which names the subject, opened,
// and nothing else personal; after an erasure not even that), and of the service's own logs at
// the most verbose level, for each value as UTF-8 and JSON-escaped.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { sql } from 'kysely';
import { pino } from 'pino';
import request from 'supertest';
import { loadConfig } from '../src/config/config.js';
import type { Role } from '../src/db/schema.js';
import { buildEvent } from '../src/ledger/events.js';
import { buildApp, type BuiltApp } from '../src/server/build-app.js';
import { acceptanceBody, eulaText, publishBody, sha256OfText, useTestApp, withdrawalBody } from './helpers/app.js';
import { buildEvidence, type EvidenceHttp, type Evidence } from './helpers/evidence.js';
import { startReceiver, type Receiver } from './helpers/webhook-receiver.js';

type Json = Record<string, any>;

// Distinctive values: none of them can occur by chance in a hash, an id or a time.
const SUBJECT = 'leak-subject-4q7z@example.org';
const SUBJECT_2 = 'leak-subject-two-8k1m';
// The widget's subject: its own, so the dossier below cites no display record (the dossier's
// display-record check compares subjects of committed events: issue 11's dossier part).
const SUBJECT_W = 'leak-widget-subject-3j5v';
const FACTS = {
  ip: '198.51.100.77',
  ip6: '2001:db8:1ea::77',
  userAgent: 'LeakProbe/9.3 (X11; "quoted" café 東京)',
  sessionId: 'leak-sess-0d9e',
  pageUrl: 'https://leak.example/signup?probe=7c1&who=leak',
  reason: 'leak-reason: Jane Leakwright is closing her account',
  widgetUserAgent: 'LeakWidget/2.0 (distinct-wua)',
  widgetIp: '198.51.100.88',
  widgetPageUrl: 'https://signup.leak.example/terms?w=55',
  widgetSession: 'leak-widget-site-sess-31',
  requestedBy: 'Quentin Leakinvestigator',
  preparedName: 'Priya Leakcounsel',
  preparedFirm: 'Leakfirm & Partners LLP',
};
const WIDGET_ORIGIN = 'https://signup.leak.example';

const t = useTestApp(() => ({
  config: {
    // The widget's IP comes from X-Forwarded-For (the test's requests come through loopback).
    trustProxy: loadConfig({ ASSENTMARK_TRUST_PROXY: 'loopback' }).trustProxy,
    webhooks: { ...loadConfig({}).webhooks, allowPrivate: true, pollMs: 20, baseDelayMs: 50, maxDelayMs: 500, timeoutMs: 5_000, maxAttempts: 50 },
  },
  setup,
}));

/** The service's log lines, at trace level, from an app built over the test's context. */
const logLines: string[] = [];
let logged: BuiltApp;
let loggedClosed = false;
async function closeLogged(): Promise<void> {
  if (loggedClosed || !logged) return;
  loggedClosed = true;
  await logged.close();
}
let rx: Receiver;
let rxLate: Receiver;
let lateOpen = false;
let evidence: Evidence;
let dir: string;
/** Every value the test sent that identifies or describes a person. */
let values: string[] = [];

/** A request through the logged app. */
function req(method: 'get' | 'post', url: string, as: Role | null) {
  const r = request(logged.app)[method](url);
  return as ? r.set('Authorization', `Bearer ${t.tokens[as]}`) : r;
}

const http: EvidenceHttp = {
  async post(url, role, body, headers = {}) {
    let r = req('post', url, role);
    // helpers/evidence.ts builds its Idempotency-Keys from the subject id; the API tells clients to
    // send opaque keys (the key is recorded in clear), so the client here sends a hash of it.
    for (const [k, v] of Object.entries(headers)) r = r.set(k, k.toLowerCase() === 'idempotency-key' ? createHash('sha256').update(v).digest('hex') : v);
    const res = await r.send(body as object);
    return { status: res.status, body: res.body as Json, text: res.text };
  },
};

async function ok(res: { status: number; text: string } | Promise<{ status: number; text: string }>, status = 201): Promise<Json> {
  const r = await res;
  assert.equal(r.status, status, r.text);
  return JSON.parse(r.text) as Json;
}

async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The forms a value takes in bytes: UTF-8 as is, and JSON-escaped (the inside of a JSON string). */
function forms(v: string): Buffer[] {
  const escaped = JSON.stringify(v).slice(1, -1);
  const ascii = JSON.stringify(v).slice(1, -1).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [...new Set([v, escaped, ascii])].map((s) => Buffer.from(s, 'utf8'));
}

/** The values found in `bytes`. */
function found(bytes: Buffer, among = values): string[] {
  return among.filter((v) => forms(v).some((f) => bytes.includes(f)));
}

function assertClean(bytes: Buffer, what: string, among = values): void {
  const hits = found(bytes, among);
  assert.deepEqual(hits, [], `${what} holds ${hits.map((h) => JSON.stringify(h)).join(', ')}`);
}

/**
 * An export's bytes with each entry's canonical event bytes decoded (the export carries them as
 * base64): what is grepped, so a value inside an event cannot hide in its encoding.
 */
function exportWithEvents(bytes: Buffer): { all: Buffer; events: number } {
  const decoded: Buffer[] = [];
  for (const line of bytes.toString('utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as Json;
    if (typeof o.canonical === 'string') decoded.push(Buffer.from(o.canonical, 'base64'));
  }
  return { all: Buffer.concat([bytes, Buffer.from('\n'), ...decoded.flatMap((d) => [d, Buffer.from('\n')])]), events: decoded.length };
}

async function setup(): Promise<void> {
  dir = mkdtempSync(path.join(tmpdir(), 'assentmark-leaks-'));
  const sink = new Writable({ write(chunk, _enc, done) { logLines.push(String(chunk)); done(); } });
  logged = await buildApp(t.ctx, pino({ level: 'trace' }, sink));
  rx = await startReceiver(() => 204);
  rxLate = await startReceiver(() => (lateOpen ? 204 : 503));
  const types = ['acceptance.recorded', 'acceptance.declined', 'acceptance.withdrawn', 'verification.planned', 'verification.recorded', 'dossier.issued'];
  for (const [url, eventTypes] of [[rx.url, types], [rxLate.url, ['acceptance.recorded']]] as const) {
    await ok(req('post', '/v1/admin/webhooks', 'admin').set('Idempotency-Key', randomUUID()).send({ url, event_types: eventTypes, description: 'leak test' }));
  }
  logged.services.webhookDelivery.start();

  // Acceptances, declines, withdrawals, a key rotation, a verification plan and outcomes (helpers/evidence.ts).
  evidence = await buildEvidence(http, { subject: SUBJECT, acceptances: 2, declines: 1, withdrawals: 1, keyRotations: 1, decideQueries: 2000, verifications: 2 });
  // Ours, with the distinctive facts, on another EULA.
  await ok(req('post', '/v1/eulas', 'admin').send(publishBody()));
  const facts = { ip: FACTS.ip, user_agent: FACTS.userAgent, page_url: FACTS.pageUrl, auth: { method: 'password', session_id: FACTS.sessionId, mfa: true } };
  await ok(req('post', '/v1/declines', 'signup').set('Idempotency-Key', randomUUID()).send(acceptanceBody({ subject: SUBJECT, ...facts })));
  await ok(req('post', '/v1/acceptances', 'signup').set('Idempotency-Key', randomUUID()).send(acceptanceBody({ subject: SUBJECT, ...facts })));
  await ok(req('post', '/v1/withdrawals', 'signup').set('Idempotency-Key', randomUUID()).send(withdrawalBody({ subject: SUBJECT, ip: FACTS.ip6, user_agent: FACTS.userAgent, reason: FACTS.reason, auth: { method: 'sso', session_id: FACTS.sessionId, mfa: false } })));
  // The consent widget: acceptance.displayed, then the acceptance.
  const session = await ok(req('post', '/v1/acceptance-sessions', 'signup').send({ subject: SUBJECT_W, slug: 'api-terms', origin: WIDGET_ORIGIN, auth: { method: 'password', session_id: FACTS.widgetSession, mfa: false } }));
  await ok(req('post', `/v1/widget/sessions/${session.session as string}/decision`, null).set('Origin', WIDGET_ORIGIN).set('User-Agent', FACTS.widgetUserAgent).set('X-Forwarded-For', FACTS.widgetIp).send({
    decision: 'accept', page_url: FACTS.widgetPageUrl, locale: 'en-GB', client_time: new Date().toISOString(),
    manifest: {
      widget: 'assentmark-widget/1', text_sha256: sha256OfText(eulaText()), markup_sha256: 'b'.repeat(64), viewport: { width: 1280, height: 800, device_pixel_ratio: 1 },
      scrolled_to_end: true, time_on_screen_ms: 4200, consent_text: session.consent_text, accept_text: session.accept_text, decline_text: session.decline_text,
    },
  }));
  // LLM usage.
  const set = await req('post', '/v1/llm-watermark/parameter-sets', 'admin').send({ tokenizer: { name: 'synthetic', revision: '1' }, vocab_size: 100 });
  assert.ok(set.status === 201 || set.status === 200, set.text);
  await ok(req('post', '/v1/llm-watermark/usage', 'gateway').set('Idempotency-Key', randomUUID()).send({
    parameter_set_id: set.body.id, period: { start: '2026-11-30T00:00:00Z', end: '2026-12-01T00:00:00Z' }, items: [{ subject: SUBJECT, tokens_served: 1234 }],
  }));
  // A dossier, with the names of the people it was prepared for.
  await ok(req('post', '/v1/dossiers', 'investigator').send({ subject: SUBJECT, case_ref: 'CASE-LEAK-1', requested_by: FACTS.requestedBy, prepared_for: { name: FACTS.preparedName, firm: FACTS.preparedFirm } }));
  // Reads that name the subject in their path, and a refused request carrying the facts.
  await ok(req('get', `/v1/subjects/${encodeURIComponent(SUBJECT)}/status?slug=api-terms`, 'signup'), 200);
  await ok(req('get', `/v1/subjects/${encodeURIComponent(SUBJECT)}/records`, 'investigator'), 200);
  assert.equal((await req('post', '/v1/acceptances', 'signup').set('Idempotency-Key', randomUUID()).send(acceptanceBody({ subject: SUBJECT, ...facts, version: '9.9' }))).status, 422);
  // A second subject whose delivery waits until after its erasure.
  await ok(req('post', '/v1/acceptances', 'signup').set('Idempotency-Key', randomUUID()).send(acceptanceBody({ subject: SUBJECT_2, ...facts })));
  assert.ok(await t.ctx.ledger.checkpoint());

  // Every distinctive value sent: ours, and the client facts helpers/evidence.ts sent.
  const fromEvidence = evidence.records.flatMap((r) => [r.request.ip, r.request.user_agent, r.request.auth.session_id, ...(r.request.page_url ? [r.request.page_url] : []), ...(r.request.reason ? [r.request.reason] : [])] as string[]);
  values = [...new Set([SUBJECT, SUBJECT_2, SUBJECT_W, ...Object.values(FACTS), ...fromEvidence])];
}

after(async () => {
  await closeLogged();
  await rx?.close();
  await rxLate?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the log holds no personal fact in clear', () => {
  test('every entry\'s canonical bytes', async () => {
    const size = (await t.ctx.ledger.head()).size;
    assert.ok(size > 20, `only ${size} entries`);
    const entries = await t.ctx.ledger.entriesBySeq(Array.from({ length: size }, (_, i) => i + 1));
    assert.equal(entries.length, size);
    const types = new Set(entries.map((e) => e.eventType));
    for (const type of ['acceptance.recorded', 'acceptance.declined', 'acceptance.withdrawn', 'acceptance.displayed', 'watermark_key.assigned', 'watermark_key.rotated', 'verification.planned', 'verification.recorded', 'llm_watermark.usage_reported', 'dossier.issued']) {
      assert.ok(types.has(type as never), `no ${type} event was recorded`);
    }
    for (const e of entries) assertClean(e.canonical, `entry ${e.seq} (${e.eventType})`);
  });

  test('the admin export stream and the file `assentmark ledger export` writes', async () => {
    const stream = await req('get', '/v1/admin/ledger/export', 'admin').buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    assert.equal(stream.status, 200);
    const { all, events } = exportWithEvents(stream.body as Buffer);
    assert.equal(events, (await t.ctx.ledger.head()).size, 'every entry is in the export');
    // The events are in it, their personal facts as commitments.
    assert.ok(all.includes(Buffer.from('"client":{"commitment":"')), 'the export holds the events');
    assertClean(all, 'the admin export stream');
  });

  test('/checkpoint and the tiles', async () => {
    const cp = await req('get', '/checkpoint', null);
    assert.equal(cp.status, 200);
    assertClean(Buffer.from(cp.text, 'utf8'), '/checkpoint');
    const size = Number(cp.text.split('\n')[1]);
    assert.ok(size > 20 && size < 256, `a checkpoint of size ${size}: one partial tile`);
    const tile = await req('get', `/tile/0/000.p/${size}`, null).buffer(true).parse((res, cb) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    assert.equal(tile.status, 200, `${tile.status}: ${String((tile.body as Buffer).toString('utf8'))}`);
    assertClean(tile.body as Buffer, 'the level-0 tile');
  });
});

describe('webhooks name the subject and nothing else personal', () => {
  test('every delivery: the subject (the operator\'s own user id) opened, no IP, user agent, session, page URL, reason or name', async () => {
    await waitUntil(() => rx.processed.size >= 12, `the deliveries arrive (${rx.processed.size})`);
    const bodies = [...rx.processed.values()];
    const notSubject = values.filter((v) => v !== SUBJECT && v !== SUBJECT_2 && v !== SUBJECT_W);
    for (const b of bodies) {
      const p = JSON.parse(b) as Json;
      assertClean(Buffer.from(b, 'utf8'), `the ${p.type as string} delivery`, notSubject);
      if (p.type === 'verification.planned') {
        assert.deepEqual(p.data.subjects, [SUBJECT]);
        assert.match(p.data.subject_pseudonyms[0] as string, /^[0-9a-f]{64}$/);
      } else {
        assert.ok([SUBJECT, SUBJECT_2, SUBJECT_W].includes(p.data.subject as string), `${p.type as string}: ${b}`);
        assert.match(p.data.subject_pseudonym as string, /^[0-9a-f]{64}$/);
      }
    }
    const types = new Set(bodies.map((b) => (JSON.parse(b) as Json).type as string));
    for (const type of ['acceptance.recorded', 'acceptance.declined', 'acceptance.withdrawn', 'verification.planned', 'verification.recorded', 'dossier.issued']) assert.ok(types.has(type), `no ${type} delivery`);
  });

  test('after an erasure, a delivery not yet made no longer names the subject', async () => {
    await waitUntil(() => rxLate.requests.some((r) => r.body.includes(SUBJECT_2)), 'the second subject\'s delivery is attempted (and refused)');
    // The erasure as the erasure service performs it: an erasure.performed event, the openings cleared in place.
    const pseudonym = t.built.services.pseudonyms.of(SUBJECT_2);
    const held = await t.ctx.repos.openings.forSubject(pseudonym);
    assert.ok(held.length >= 4);
    const erasureEventId = randomUUID();
    await t.ctx.ledger.append({ events: [buildEvent('erasure.performed', {
      erasure_id: randomUUID(), subject_pseudonym: pseudonym, basis: 'data_subject_request', request_ref: 'DSR-LEAK-2',
      erased: held.map((h) => ({ event_id: h.eventId, seq: h.seq, field: h.field, group: h.group, commitment: h.commitment })),
      clear_events: [], working_rows: {}, watermark_keys: { action: 'none', versions: [] }, performed_by: { api_key_id: t.keyIds.admin, name: 'test admin' },
    }, { id: erasureEventId })] });
    await sql`UPDATE personal_openings SET salt = NULL, value = NULL, erased_at = now(), erasure_event_id = ${erasureEventId}::uuid WHERE subject_pseudonym = ${pseudonym}`.execute(t.ctx.handle.db);
    // An attempt already under way may have read the opening before the erasure: let two more
    // attempts come (each claimed, and its openings read, after the erasure), then answer 2xx.
    const mine = (b: string) => (JSON.parse(b) as Json).data.subject_pseudonym === pseudonym;
    const attempts = () => rxLate.requests.filter((q) => mine(q.body));
    const n0 = attempts().length;
    await waitUntil(() => attempts().length >= n0 + 2, 'two more attempts after the erasure');
    lateOpen = true;
    await waitUntil(() => [...rxLate.processed.values()].some(mine), 'the delivery succeeds after the erasure');
    for (const r of attempts().slice(n0 + 1)) assert.ok(!r.body.includes(SUBJECT_2), `an attempt after the erasure names the subject: ${r.body}`);
    const body = [...rxLate.processed.values()].find(mine)!;
    assert.ok(body, 'the erased subject\'s delivery');
    const p = JSON.parse(body) as Json;
    assert.equal(p.data.subject, null);
    assertClean(Buffer.from(body, 'utf8'), 'the delivery after the erasure');
  });
});

describe('logs', () => {
  test('the service\'s logs, at trace level, hold no subject id, IP, user agent, session id, page URL, reason or name', () => {
    assert.ok(logLines.length > 20, `only ${logLines.length} log lines`);
    assertClean(Buffer.from(logLines.join(''), 'utf8'), 'the service log');
  });
});

describe('the export file', () => {
  test('`assentmark ledger export FILE` holds none of the values (run last: the CLI takes the embedded database)', async () => {
    await closeLogged();
    const file = path.join(dir, 'export.jsonl');
    const r = await t.cli(['ledger', 'export', file]);
    assert.equal(r.status, 0, r.out);
    const { all, events } = exportWithEvents(readFileSync(file));
    assert.ok(events > 20, `${events} entries exported`);
    assert.ok(all.includes(Buffer.from('"client":{"commitment":"')), 'the export holds the events');
    assertClean(all, 'the exported ledger file');
  });
});
