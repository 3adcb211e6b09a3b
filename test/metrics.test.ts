// GET /metrics: who may scrape it, that it is the Prometheus text format (a strict parser here and
// promtool's linter when installed), and that the counters move by exactly what the traffic did,
// with route templates, never ids or subjects, in the labels.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { chmodSync } from 'node:fs';
import { KeyFileError, writeSecretFile } from '../src/keys/files.js';
import { loadMetricsToken } from '../src/keys/metrics-token.js';
import { ALL_ROLES, isRealPostgres, problemOf, useTestApp } from './helpers/app.js';
import { buildEvidence, supertestHttp } from './helpers/evidence.js';
import { eulaEvent } from './helpers/ledger-fixtures.js';
import { parseMetrics, promtoolCheck, type Metrics } from './helpers/prometheus.js';

const tokenDir = mkdtempSync(path.join(tmpdir(), 'assentmark-metrics-'));
after(() => rmSync(tokenDir, { recursive: true, force: true }));
const metricsToken = randomBytes(32).toString('hex');
const metricsTokenFile = path.join(tokenDir, 'metrics-token');
writeSecretFile(metricsTokenFile, metricsToken + '\n');

const t = useTestApp({ config: { metricsTokenFile }, setup: async (app) => {
  await app.publishEula();
} });

async function scrape(): Promise<{ m: Metrics; text: string }> {
  const res = await t.get('/metrics', { token: metricsToken });
  assert.equal(res.status, 200, res.text);
  assert.match(res.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4; charset=utf-8$/);
  return { m: parseMetrics(res.text), text: res.text };
}

const HTTP = 'assentmark_http_requests_total';

describe('who may scrape', () => {
  test('the metrics token and admin keys may; no token is 401, a wrong token 401, every other role 403', async () => {
    assert.equal((await t.get('/metrics', { token: metricsToken })).status, 200);
    assert.equal((await t.get('/metrics', 'admin')).status, 200);
    const none = await t.get('/metrics');
    assert.equal(none.status, 401);
    assert.equal(problemOf(none).code, 'unauthenticated');
    // Same length, one character off: refused like any unknown token.
    const wrong = await t.get('/metrics', { token: metricsToken.slice(0, -1) + (metricsToken.endsWith('0') ? '1' : '0') });
    assert.equal(wrong.status, 401);
    assert.equal(problemOf(wrong).code, 'invalid_token');
    for (const role of ALL_ROLES.filter((r) => r !== 'admin')) {
      const res = await t.get('/metrics', role);
      assert.equal(res.status, 403, role);
      assert.equal(problemOf(res).code, 'forbidden');
    }
  });
});

describe('the metrics token file', () => {
  test('a short token, one with spaces, or a file others can read is refused at start', () => {
    const file = (name: string, text: string) => {
      const f = path.join(tokenDir, name);
      writeSecretFile(f, text);
      return f;
    };
    assert.throws(() => loadMetricsToken(file('short', 'abc\n')), (e: unknown) => e instanceof KeyFileError && /32 to 256 printable/.test(e.detail));
    assert.throws(() => loadMetricsToken(file('spaces', `${'a'.repeat(20)} ${'b'.repeat(20)}\n`)), KeyFileError);
    const open = file('open', 'c'.repeat(64));
    chmodSync(open, 0o644);
    assert.throws(() => loadMetricsToken(open), (e: unknown) => e instanceof KeyFileError && /readable by group or others/.test(e.detail));
    assert.equal(loadMetricsToken(undefined), null);
    const check = loadMetricsToken(file('good', 'd'.repeat(64)))!;
    assert.equal(check('d'.repeat(64)), true);
    assert.equal(check('d'.repeat(63)), false);
    assert.equal(check(''), false);
  });
});

describe('what the counters say', () => {
  test('HTTP requests by route template and status class; ledger batches, entries and errors', async () => {
    const before = (await scrape()).m;
    const headBefore = (await t.ctx.ledger.head()).size;
    // Three first acceptances at once: each appends acceptance.recorded and watermark_key.assigned.
    const subjects = ['metrics-subject-1', 'metrics-subject-2', 'metrics-subject-3'];
    const accepted = await Promise.all(subjects.map((subject) => t.accept({ subject })));
    for (const r of accepted) assert.equal(r.status, 201, r.text);
    for (const r of accepted.slice(0, 2)) assert.equal((await t.get(`/v1/acceptances/${r.body.id}`, 'investigator')).status, 200);
    assert.equal((await t.get('/v1/no-such-route/secret-subject-x')).status, 404);
    assert.equal((await t.accept({ subject: 'metrics-subject-4', shown_text_sha256: 'ABC' })).status, 400);
    // An append whose working rows cannot be built is refused to its caller: one append error.
    await assert.rejects(t.ctx.ledger.append({ events: [eulaEvent(9001)], rows: () => { throw new Error('no rows for this item'); } }), /no rows for this item/);
    const { m: after, text } = await scrape();
    const headAfter = (await t.ctx.ledger.head()).size;

    const delta = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    assert.equal(delta(HTTP, { method: 'POST', route: '/v1/acceptances', status_class: '2xx' }), 3);
    assert.equal(delta(HTTP, { method: 'POST', route: '/v1/acceptances', status_class: '4xx' }), 1);
    assert.equal(delta(HTTP, { method: 'GET', route: '/v1/acceptances/:id', status_class: '2xx' }), 2);
    assert.equal(delta(HTTP, { method: 'GET', route: 'unmatched', status_class: '4xx' }), 1);
    assert.equal(delta('assentmark_http_request_duration_seconds_count', { method: 'POST', route: '/v1/acceptances', status_class: '2xx' }), 3);
    // The scrape before this one is counted too (a request finishes after its body is built).
    assert.equal(delta(HTTP, { method: 'GET', route: '/metrics', status_class: '2xx' }), 1);

    assert.equal(headAfter - headBefore, 6);
    assert.equal(after.value('assentmark_ledger_entries'), headAfter);
    assert.equal(delta('assentmark_ledger_append_batch_entries_sum'), 6, 'every new entry is in exactly one committed batch');
    const batches = delta('assentmark_ledger_append_batch_entries_count');
    assert.ok(batches >= 1 && batches <= 3, `three appends in 1 to 3 batches, not ${batches}`);
    assert.equal(delta('assentmark_ledger_append_batch_duration_seconds_count'), batches);
    assert.equal(delta('assentmark_ledger_append_errors_total'), 1);

    // No label carries a subject, an id or a raw path.
    for (const s of after.samples) {
      for (const v of Object.values(s.labels)) {
        assert.doesNotMatch(v, /metrics-subject|secret-subject|[0-9a-f]{8}-[0-9a-f]{4}-/, `${s.name} label ${v}`);
      }
    }
    assert.ok(!text.includes(accepted[0]!.body.id), 'no record id anywhere in the exposition');
    const routes = new Set(after.find(HTTP).map((s) => s.labels.route));
    for (const r of routes) assert.ok(r === 'unmatched' || t.built.routes.some((x) => x.path === r) || r === '/healthz' || r === '/readyz' || r === '/openapi.json', `route label ${r} is a route template`);
  });

  test('checkpoint size and age, pool, process metrics', async () => {
    const cp = await t.ctx.ledger.checkpoint();
    assert.ok(cp);
    const { m } = await scrape();
    assert.equal(m.value('assentmark_ledger_checkpoint_size'), cp.size);
    const age = m.value('assentmark_ledger_checkpoint_age_seconds');
    assert.ok(age >= 0 && age < 3600, `age ${age}`);
    const pool = m.value('assentmark_db_pool_in_use') + m.value('assentmark_db_pool_idle');
    if (isRealPostgres) assert.ok(pool >= 1, 'the pool holds at least the connection that just answered');
    else assert.equal(pool, 0, 'the embedded database has no pool');
    // Waiting includes queries of this very scrape waiting for a connection being opened.
    const waiting = m.find('assentmark_db_pool_waiting');
    assert.equal(waiting.length, 1);
    assert.ok(Number.isInteger(waiting[0]!.value) && waiting[0]!.value >= 0);
    assert.equal(m.types.get('process_cpu_user_seconds_total'), 'counter');
    assert.ok(m.value('nodejs_heap_size_used_bytes') > 0);
    assert.equal(m.types.get('nodejs_eventloop_lag_seconds'), 'gauge');
  });

  test('watermark verifications by outcome and refusals by code; a dossier render', async () => {
    const before = (await scrape()).m;
    const ev = await buildEvidence(supertestHttp(() => t.app, t.tokens), { subject: 'metrics-evidence', verifications: 3 });
    const unknown = await t.post('/v1/verifications', 'investigator').send({ case_ref: 'M-1', suspect: { name: 'suspect model', version: '1', observed_at: '2026-11-30T00:00:00Z' }, subjects: ['nobody-has-this-key'], samples: [{ input_sha256: 'a'.repeat(64), owner_label: 1, suspect_label: 1, num_classes: 10 }] });
    assert.equal(unknown.status, 422, unknown.text);
    assert.equal(problemOf(unknown).code, 'unknown_subjects');
    const issued = await t.post('/v1/dossiers', 'investigator').send({ subject: ev.subject, case_ref: 'M-1', requested_by: 'Investigator', prepared_for: { name: 'Counsel', firm: 'Firm' } });
    assert.equal(issued.status, 201, issued.text);
    const { m: after, text } = await scrape();
    const delta = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    const count = (d: string) => ev.verifications.filter((v) => v.decision === d).length;
    assert.ok(count('detected') >= 1 && count('not_detected') >= 1, 'the scenario has both outcomes');
    assert.equal(delta('assentmark_verifications_total', { outcome: 'detected' }), count('detected'));
    assert.equal(delta('assentmark_verifications_total', { outcome: 'not_detected' }), count('not_detected'));
    assert.equal(delta('assentmark_verification_failures_total', { code: 'unknown_subjects' }), 1);
    assert.equal(delta('assentmark_dossier_render_duration_seconds_count', { outcome: 'ok' }), 1);
    assert.equal(after.value('assentmark_dossier_render_queue_depth'), 0);
    assert.ok(!text.includes('nobody-has-this-key') && !text.includes(ev.subject));
  });

  test('promtool check metrics accepts the exposition', async () => {
    const { text } = await scrape();
    const r = promtoolCheck(text);
    // prom-client's own process metrics name three gauges *_total; promtool's linter flags them.
    // Anything else (a parse error, a finding about any other metric) fails.
    const known = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
    const findings = r.out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    assert.deepEqual(findings.filter((l) => !known.test(l)), [], r.out);
    assert.ok(r.status === 0 || findings.length > 0, `promtool exited ${r.status} without saying why`);
  });
});
