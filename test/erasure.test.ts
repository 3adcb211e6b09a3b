// Erasure of a subject's personal data (docs/personal-data.md, "Erasure"): over HTTP and the CLI,
// on a subject with every kind of evidence (acceptances, a withdrawal, key rotation, gateway
// traffic, verifications with a plan, text-watermark keys, usage and a verification with a plan, a
// dossier, an acceptance session), plus an event written in
// clear before personal data left the log. Afterwards no table holds the subject's id, IP, user
// agent, session id, page URL or free text; the openings are cleared in place; the ledger and the
// erasure's signed receipt verify; the gateway treats the subject as one without a key.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { prepareEvent } from '../src/ledger/format.js';
import { parseEvent } from '../src/ledger/events.js';
import { CLI_MAIN, DEFAULT_SLUG, problemOf, useTestApp, type TestApp } from './helpers/app.js';
import { run } from './helpers/tools.js';
import { buildEvidence, supertestHttp, type Evidence } from './helpers/evidence.js';

type Json = Record<string, any>;

const S = 'erase-me-7f3a91';
const OTHER = 'keep-me-5c2e08';
const OLD = 'v1-subject-d41c';
const OLD_IP = '192.0.2.199';
const OLD_UA = 'OldBrowser/0.1 (clear-facts)';
const OLD_SESSION = 'sess-old-clear-9911';
const SESSION_SID = 'widget-sess-erase-77';
const REQUESTED_BY = 'Requester Erasmus Quill';
const COUNSEL = 'Counsel Octavia Wrenfield';
const FIRM = 'Wrenfield & Partners LLP';

let ev: Evidence;
let other: Evidence;

const t = useTestApp({
  setup: async (t) => {
    const http = supertestHttp(() => t.app, t.tokens);
    ev = await buildEvidence(http, { subject: S, acceptances: 2, withdrawals: 1, keyRotations: 1, decideQueries: 2000, verifications: 2 });
    other = await buildEvidence(http, { subject: OTHER, slug: 'other-terms', acceptances: 1, decideQueries: 2000, verifications: 1, caseRef: 'CASE-OTHER' });
    const d = await t.post('/v1/dossiers', 'investigator').set('Idempotency-Key', t.idem())
      .send({ subject: S, case_ref: 'CASE-2026-0042', requested_by: REQUESTED_BY, prepared_for: { name: COUNSEL, firm: FIRM } });
    assert.equal(d.status, 201, d.text);
    const s = await t.post('/v1/acceptance-sessions', 'signup').send({ subject: S, slug: ev.slug, origin: 'https://console.example.com', auth: { method: 'sso', session_id: SESSION_SID, mfa: true } });
    assert.equal(s.status, 201, s.text);
    await llmEvidence(t);
    await writeClearAcceptance(t);
  },
});

/** The text-watermark working rows of S: a usage report, a plan naming S and OTHER, a verification of S. */
async function llmEvidence(t: TestApp): Promise<void> {
  const set = await t.post('/v1/llm-watermark/parameter-sets', 'admin').send({ tokenizer: { name: 'synthetic', revision: '1' }, vocab_size: 100 });
  assert.equal(set.status, 201, set.text);
  const psid = set.body.id as string;
  const keys = await t.post('/v1/llm-watermark/keys', 'gateway').send({ parameter_set_id: psid, subjects: [S] });
  assert.equal(keys.status, 200, keys.text);
  const period = { start: '2026-11-30T00:00:00Z', end: '2026-12-01T00:00:00Z' };
  const usage = await t.post('/v1/llm-watermark/usage', 'gateway').set('Idempotency-Key', t.idem()).send({ parameter_set_id: psid, period, items: [{ subject: S, tokens_served: 4_000 }] });
  assert.equal(usage.status, 201, usage.text);
  const prompts = Array.from({ length: 8 }, (_, i) => [i + 1, i + 2]);
  const plan = await t.post('/v1/llm-verification-plans', 'investigator').send({ case_ref: 'CASE-LLM-E', parameter_set_id: psid, subjects: [S, OTHER], prompts, subjects_screened: 2 });
  assert.equal(plan.status, 201, plan.text);
  const outputs = prompts.map((_, i) => Array.from({ length: 40 }, (_, j) => (i * 7 + j * 13) % 100));
  const v = await t.post('/v1/llm-verifications', 'investigator').send({ case_ref: 'CASE-LLM-E', suspect: { name: 'EchoLM', version: '1', observed_at: 'https://echo.example/v1' }, plan_id: plan.body.id, outputs });
  assert.equal(v.status, 201, v.text);
}

/**
 * An acceptance as events were written before personal data left the log: the subject, client
 * and auth facts in clear in the ledger, the record in assent_records (appended as the old service did).
 */
async function writeClearAcceptance(t: TestApp): Promise<void> {
  await t.publishEula();
  const res = await t.accept({ subject: 'template-subject' });
  assert.equal(res.status, 201, res.text);
  const template = parseEvent((await t.ctx.ledger.entry(res.body.ledger.seq))!.canonical) as unknown as { data: Json };
  const data: Json = {
    ...template.data, record_id: crypto.randomUUID(), subject: OLD, client: { ip: OLD_IP, user_agent: OLD_UA },
    auth: { method: 'password', session_id: OLD_SESSION, mfa: false }, presentation: { ...template.data.presentation, page_url: 'https://old.example/signup' },
  };
  delete data.watermark_key;
  const e = prepareEvent('acceptance.recorded', data);
  const row = await sql<{ eula_id: string }>`SELECT eula_id FROM assent_records WHERE id = ${res.body.id}`.execute(t.ctx.handle.db);
  await t.ctx.ledger.append({
    events: [e],
    rows: ([pos]) => [t.ctx.repos.assentRecords.row({
      id: data.record_id as string, kind: 'accepted', subject: OLD, eulaId: row.rows[0]!.eula_id, slug: DEFAULT_SLUG, version: '1.0', serverTime: new Date(), record: data, keyVersion: null, keyCommitment: null,
    }, pos!)],
  });
}

/** The personal facts of S the service was sent (its records' requests, the dossier, the session). */
function personalStrings(e: Evidence): string[] {
  const out = new Set<string>([e.subject, REQUESTED_BY, COUNSEL, FIRM, SESSION_SID]);
  for (const r of e.records) {
    for (const k of ['ip', 'user_agent', 'page_url', 'reason']) if (typeof r.request[k] === 'string') out.add(r.request[k] as string);
    if (r.request.auth?.session_id) out.add(r.request.auth.session_id as string);
  }
  return [...out];
}

/** Every table's every row as text (bytea decoded as UTF-8 too), for grepping. */
async function databaseText(t: TestApp): Promise<Map<string, string>> {
  const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'kysely_migration' AND table_name <> 'kysely_migration_lock'`.execute(t.ctx.handle.db);
  const out = new Map<string, string>();
  for (const { table_name } of tables.rows) {
    const rows = await sql<Json>`SELECT * FROM ${sql.table(table_name)}`.execute(t.ctx.handle.db);
    out.set(table_name, rows.rows.map((r) => Object.values(r).map((v) => (Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v))).join('\u0001')).join('\n'));
  }
  return out;
}

/**
 * Which needles occur in which table. The evidence helper's Idempotency-Keys embed the subject
 * (`evidence-<subject>-<i>-<hash>`); keys are documented as opaque tokens that must not hold
 * personal data (docs/personal-data.md), so they are taken out before the search.
 */
function found(text: Map<string, string>, needles: string[]): string[] {
  const hits: string[] = [];
  for (const [table, raw] of text) {
    const s = raw.replace(/evidence-[\x21-\x7e]+?-\d+-[0-9a-f]{12}/g, '');
    for (const n of needles) if (s.includes(n)) hits.push(`${table}: ${n}`);
  }
  return hits;
}

async function openOpenings(t: TestApp, subject: string): Promise<number> {
  return (await t.ctx.repos.openings.forSubject(t.built.services.pseudonyms.of(subject))).filter((o) => o.erased === null).length;
}

describe('erasure over HTTP', () => {
  let answer: Json;
  let key: string;
  let openBefore: number;

  test('before: the subject\'s facts are in the working tables and openings, in clear', async () => {
    openBefore = await openOpenings(t, S);
    assert.ok(openBefore > 10, `openings of S: ${openBefore}`);
    const hits = found(await databaseText(t), personalStrings(ev));
    for (const table of ['personal_openings', 'assent_records', 'dossiers', 'llm_verification_plans', 'llm_verifications', 'llm_usage_reports']) {
      assert.ok(hits.some((h) => h.startsWith(`${table}:`)), `${table} holds none of S's facts: ${hits.join('\n')}`);
    }
  });

  test('201: a signed receipt of the one erasure.performed entry and a summary', async () => {
    key = t.idem();
    const res = await t.post(`/v1/subjects/${S}/erasure`, 'admin').set('Idempotency-Key', key).send({ basis: 'data_subject_request', request_ref: 'DSR-2026-0042' });
    assert.equal(res.status, 201, res.text);
    answer = res.body as Json;
    assert.equal(answer.subject_pseudonym, t.built.services.pseudonyms.of(S));
    assert.equal(answer.basis, 'data_subject_request');
    assert.equal(answer.request_ref, 'DSR-2026-0042');
    assert.equal(answer.summary.openings_erased, openBefore);
    assert.equal(answer.receipt.payload.event.type, 'erasure.performed');
    assert.equal(answer.receipt.payload.ledger.seq, answer.ledger.seq);
    assert.equal(answer.receipt.inclusion, null);
    assert.doesNotMatch(res.text, new RegExp(S), 'the answer names the subject only by pseudonym');
    const rows = answer.summary.working_rows as Record<string, number>;
    for (const table of ['assent_records', 'watermark_keys', 'verifications', 'verification_plans', 'dossiers', 'acceptance_sessions', 'subject_states', 'idempotency_keys', 'llm_verification_plans', 'llm_verifications', 'llm_usage_reports']) {
      assert.ok(rows[table]! > 0, `${table}: ${rows[table]}`);
    }
    assert.equal(rows.assent_records, 3);
    assert.deepEqual(answer.summary.watermark_keys, { action: 'destroyed', versions: [1, 2] });
    assert.deepEqual(answer.summary.clear_events, [], 'S has no event written in clear');
  });

  test('the event: what was erased, by commitment; nothing in clear', async () => {
    const entry = (await t.ctx.ledger.entry(answer.ledger.seq))!;
    const e = parseEvent(entry.canonical);
    assert.equal(e.type, 'erasure.performed');
    const d = e.data as Json;
    assert.equal(d.erasure_id, answer.erasure_id);
    assert.equal(d.subject_pseudonym, answer.subject_pseudonym);
    assert.equal(d.erased.length, openBefore);
    assert.deepEqual(d.working_rows, answer.summary.working_rows);
    assert.equal(d.performed_by.api_key_id, t.keyIds.admin);
    const stored = await t.ctx.repos.openings.forSubject(answer.subject_pseudonym);
    assert.deepEqual(new Set(d.erased.map((x: Json) => `${x.event_id}/${x.field}/${x.commitment}`)), new Set(stored.map((o) => `${o.eventId}/${o.field}/${o.commitment}`)));
    assert.doesNotMatch(entry.canonical.toString('utf8'), new RegExp(`${S}|${REQUESTED_BY}`));
    const erasures = await t.ctx.repos.erasures.forSubject(answer.subject_pseudonym);
    assert.deepEqual(erasures.map((x) => [x.id, x.seq, x.eventId, x.performedByKeyId]), [[answer.erasure_id, answer.ledger.seq, answer.ledger.event_id, t.keyIds.admin]]);
  });

  test('openings cleared in place: commitments kept, salt and value gone, the erasure named', async () => {
    const stored = await t.ctx.repos.openings.forSubject(answer.subject_pseudonym);
    assert.equal(stored.length, openBefore);
    for (const o of stored) {
      assert.equal(o.opening, null);
      assert.equal(o.erased?.eventId, answer.ledger.event_id);
      assert.match(o.commitment, /^[0-9a-f]{64}$/);
    }
    const raw = await sql<{ n: string }>`SELECT count(*) AS n FROM personal_openings WHERE subject_pseudonym = ${answer.subject_pseudonym} AND (salt IS NOT NULL OR value IS NOT NULL)`.execute(t.ctx.handle.db);
    assert.equal(Number(raw.rows[0]!.n), 0);
  });

  test('no table holds the subject\'s id, IP, user agent, session id, page URL or free text', async () => {
    // The helper gives both subjects' first records the same client facts: only S's own are searched for.
    const theirs = new Set(personalStrings(other));
    const needles = personalStrings(ev).filter((n) => !theirs.has(n));
    assert.ok(needles.length >= 8, needles.join(', '));
    assert.deepEqual(found(await databaseText(t), needles), []);
  });

  test('the other subject is untouched', async () => {
    assert.ok((await openOpenings(t, OTHER)) > 0);
    const hits = found(await databaseText(t), [OTHER]);
    assert.ok(hits.some((h) => h.startsWith('assent_records')) && hits.some((h) => h.startsWith('watermark_keys')), hits.join('\n'));
    const r = await t.post('/v1/watermark/decide', 'gateway').send({ slug: other.slug, items: [{ subject: OTHER, input_sha256: 'a'.repeat(64), label: 1, num_classes: 10 }] });
    assert.equal(r.body.results[0].status, 'ok');
  });

  test('the gateway answers for the erased subject as for one without a key', async () => {
    const item = (subject: string) => ({ subject, input_sha256: 'b'.repeat(64), label: 3, num_classes: 10 });
    const r = await t.post('/v1/watermark/decide', 'gateway').send({ slug: ev.slug, items: [item(S), item('never-seen-subject')] });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.results[0].status, 'no_key');
    assert.deepEqual({ ...r.body.results[0], detail: undefined }, { ...r.body.results[1], detail: undefined });
  });

  test('the dossier\'s PDF is gone (410), its metadata and hashes stay', async () => {
    const list = await t.get(`/v1/subjects/${S}/dossiers`, 'investigator');
    assert.equal(list.body.dossiers.length, 0, 'the working row no longer names the subject');
    const id = (await sql<{ id: string }>`SELECT id FROM dossiers WHERE subject = ${`erased:${answer.erasure_id}`}`.execute(t.ctx.handle.db)).rows[0]!.id;
    const pdf = await t.get(`/v1/dossiers/${id}/pdf`, 'investigator');
    assert.equal(pdf.status, 410);
    assert.equal(problemOf(pdf).code, 'dossier_pdf_erased');
    assert.equal((await t.get(`/v1/dossiers/${id}`, 'investigator')).status, 200);
  });

  test('a replay with the Idempotency-Key answers with the first erasure', async () => {
    const res = await t.post(`/v1/subjects/${S}/erasure`, 'admin').set('Idempotency-Key', key).send({ basis: 'data_subject_request', request_ref: 'DSR-2026-0042' });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.headers['idempotent-replayed'], 'true');
    assert.deepEqual(res.body, answer);
  });

  test('a second erasure: nothing to erase (404), nothing written', async () => {
    const before = await t.countRows();
    const res = await t.post(`/v1/subjects/${S}/erasure`, 'admin').send({ basis: 'other', request_ref: 'DSR-2026-0043' });
    assert.equal(res.status, 404, res.text);
    const p = problemOf(res);
    assert.equal(p.code, 'nothing_to_erase');
    assert.deepEqual(p.erasures, [{ id: answer.erasure_id, seq: answer.ledger.seq }]);
    assert.deepEqual(await t.countRows(), before);
    assert.equal(problemOf(await t.post('/v1/subjects/nobody-at-all/erasure', 'admin').send({ basis: 'other', request_ref: 'X-1' })).code, 'nothing_to_erase');
  });

  test('the erasure\'s receipt verifies offline, and so does the whole ledger', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'erasure-'));
    try {
      const keys = await t.get('/.well-known/assentmark/keys.json');
      writeFileSync(path.join(dir, 'keys.json'), keys.text);
      writeFileSync(path.join(dir, 'erasure.json'), JSON.stringify(answer));
      const r = await t.cli(['receipt', 'verify', path.join(dir, 'erasure.json'), '--public-key', path.join(dir, 'keys.json'), '--json']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(JSON.parse(r.stdout).event_type, 'erasure.performed');
      const v = await t.cli(['ledger', 'verify', '--json']);
      assert.equal(v.status, 0, v.stdout + v.stderr);
      assert.equal(JSON.parse(v.stdout).ok, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('erasure of a subject with events written in clear, from the CLI', () => {
  test('`subject erase` scrubs the working copies and names the clear events it cannot change', async () => {
    const r = await t.cli(['subject', 'erase', OLD, '--basis', 'court_order', '--request-ref', 'COURT-77/2026', '--json']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const e = JSON.parse(r.stdout) as Json;
    assert.equal(e.basis, 'court_order');
    assert.equal(e.summary.openings_erased, 0, 'a clear event has no openings');
    assert.equal(e.summary.clear_events.length, 1);
    assert.equal(e.summary.working_rows.assent_records, 1);
    const performed = (await t.ctx.repos.erasures.forSubject(e.subject_pseudonym))[0]!;
    assert.equal(performed.performedByKeyId, null, 'the CLI has no API key');
    const text = await databaseText(t);
    // The working copy is scrubbed; the ledger entry keeps its clear facts (it cannot change).
    const hits = found(text, [OLD, OLD_IP, OLD_UA, OLD_SESSION]);
    assert.deepEqual(new Set(hits.map((h) => h.split(':')[0])), new Set(['ledger_entries']), hits.join('\n'));
    const again = await t.cli(['subject', 'erase', OLD, '--basis', 'court_order', '--request-ref', 'COURT-77/2026']);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /nothing_to_erase/);
  });

  test('bad CLI input: usage error, nothing written', async () => {
    const before = await t.countRows();
    // Refused before the database is opened: run without closing the test's context.
    for (const args of [['--basis', 'retention', '--request-ref', 'X'], ['--basis', 'nonsense', '--request-ref', 'X'], ['--basis', 'other', '--request-ref', 'has a space'], ['--basis', 'other', '--request-ref', 'x'.repeat(201)]]) {
      const r = run(process.execPath, [CLI_MAIN, 'subject', 'erase', OTHER, ...args], { env: t.cliEnv() });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
    assert.deepEqual(await t.countRows(), before);
  });
});
