// Least privilege (docs/personal-data.md, "Least privilege"): a signup key reads only the records
// and receipts it recorded (another key's answer 404 exactly as an unknown id does), and of a
// subject only its compliance status; subject listings, timelines, searches and exports are not for
// it; the gateway reads nothing about a subject but what its hot path needs. The route table is
// held to the documented matrix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AnyRoute } from '../src/http/route.js';
import { acceptanceBody, openTestApp, problemOf, withdrawalBody } from './helpers/app.js';

const t = await openTestApp();
await t.publishEula();
const other = await t.built.services.apiKeys.create('signup', 'another signup backend');
const OTHER = { token: other.token };

const SUBJECT = 'lp-subject-5';
const IP = '203.0.113.99';
const UA = 'LeastPrivilege/1.0';
const mine = await t.accept({ subject: SUBJECT, ip: IP, user_agent: UA });
assert.equal(mine.status, 201, mine.text);
const theirs = await t.req('post', '/v1/acceptances', OTHER).set('Idempotency-Key', randomUUID()).send(acceptanceBody({ subject: SUBJECT, ip: IP, user_agent: UA }));
assert.equal(theirs.status, 201, theirs.text);
const withdrawn = await t.req('post', '/v1/withdrawals', OTHER).set('Idempotency-Key', randomUUID()).send(withdrawalBody({ subject: SUBJECT }));
assert.equal(withdrawn.status, 201, withdrawn.text);

/** The problem's fields that must not tell another key's record from an unknown one (its id aside). */
function shapeOf(res: { status: number; headers: Record<string, string | undefined>; text: string }, id: string) {
  const p = problemOf(res);
  return { status: res.status, code: p.code, title: p.title, detail: p.detail.replace(id, '<id>'), type: p.type, members: Object.keys(p).sort() };
}

test('a signup key reads its own records and receipts; another key\'s are 404, exactly as unknown ids', async () => {
  const own = await t.get(`/v1/acceptances/${mine.body.id}`, 'signup');
  assert.equal(own.status, 200, own.text);
  assert.equal((await t.get(`/v1/acceptances/${mine.body.id}/receipt`, 'signup')).status, 200);
  const unknownId = randomUUID();
  for (const suffix of ['', '/receipt']) {
    const unknown = await t.get(`/v1/acceptances/${unknownId}${suffix}`, 'signup');
    for (const id of [theirs.body.id as string, withdrawn.body.id as string]) {
      const res = await t.get(`/v1/acceptances/${id}${suffix}`, 'signup');
      assert.equal(res.status, 404, `${id}${suffix}: ${res.text}`);
      assert.deepEqual(shapeOf(res, id), shapeOf(unknown, unknownId), 'the same problem as an unknown id');
      assert.ok(!res.text.includes(SUBJECT) && !res.text.includes(IP), 'nothing of the record is told');
    }
    // And the other way round: the other key reads its own, not this one's.
    assert.equal((await t.get(`/v1/acceptances/${theirs.body.id}${suffix}`, OTHER)).status, 200);
    assert.equal((await t.get(`/v1/acceptances/${mine.body.id}${suffix}`, OTHER)).status, 404);
  }
  // Investigators and admins read every record.
  for (const role of ['investigator', 'admin'] as const) {
    for (const id of [mine.body.id, theirs.body.id, withdrawn.body.id]) assert.equal((await t.get(`/v1/acceptances/${id}`, role)).status, 200, `${role} ${id}`);
  }
});

test('a signup key keeps the compliance status, which holds no IP address or user agent; nothing else about a subject', async () => {
  const status = await t.get(`/v1/subjects/${SUBJECT}/status?slug=api-terms`, 'signup');
  assert.equal(status.status, 200, status.text);
  assert.equal(status.body.reason, 'withdrew assent', 'the status covers records of every key');
  assert.ok(!status.text.includes(IP) && !status.text.includes(UA), status.text);
  for (const path of [`/v1/subjects/${SUBJECT}/records`, `/v1/subjects/${SUBJECT}/timeline`, `/v1/subjects/${SUBJECT}/watermark-keys`, `/v1/subjects/${SUBJECT}/export`, '/v1/subjects?prefix=lp', `/v1/subjects/${SUBJECT}/verifications`, `/v1/subjects/${SUBJECT}/dossiers`]) {
    const res = await t.get(path, 'signup');
    assert.equal(res.status, 403, `${path}: ${res.status}`);
    assert.equal(problemOf(res).code, 'forbidden');
    assert.ok(!res.text.includes(IP));
  }
});

/**
 * Who reads what about a subject: every route that reads a subject's records, keys, outcomes or
 * dossiers, with its roles. docs/personal-data.md prints the same table.
 */
const SUBJECT_READS: Record<string, string[]> = {
  'GET /v1/acceptances/:id': ['signup (own records)', 'investigator', 'admin'],
  'GET /v1/acceptances/:id/receipt': ['signup (own records)', 'investigator', 'admin'],
  'GET /v1/acceptance-sessions/:id': ['signup (own sessions)', 'admin'],
  'GET /v1/subjects/:subject/status': ['signup', 'investigator', 'admin'],
  'GET /v1/subjects': ['investigator', 'admin'],
  'GET /v1/subjects/:subject/records': ['investigator', 'admin'],
  'GET /v1/subjects/:subject/watermark-keys': ['investigator', 'admin'],
  'GET /v1/subjects/:subject/timeline': ['investigator', 'admin'],
  'GET /v1/subjects/:subject/verifications': ['investigator'],
  'GET /v1/subjects/:subject/dossiers': ['investigator', 'counsel'],
  'GET /v1/subjects/:subject/export': ['admin'],
  'GET /v1/subjects/:subject/legal-holds': ['investigator', 'admin'],
};

const routes: readonly AnyRoute[] = t.built.routes;
const key = (r: AnyRoute) => `${r.method.toUpperCase()} ${r.path}`;

test('the route table grants subject reads as documented, and none to the gateway', () => {
  const subjectReads = routes.filter((r) => r.method === 'get' && (r.path.startsWith('/v1/subjects') || r.path.startsWith('/v1/acceptances/') || r.path.startsWith('/v1/acceptance-sessions/')));
  assert.deepEqual(subjectReads.map(key).sort(), Object.keys(SUBJECT_READS).sort(), 'every subject read is in the matrix');
  for (const r of subjectReads) {
    const roles = SUBJECT_READS[key(r)]!.map((x) => x.split(' ')[0]);
    assert.deepEqual([...(r.access as string[])].sort(), [...roles].sort(), key(r));
  }
  // The gateway's routes: its hot path (decisions, text-watermark keys and parameter sets, usage roll-ups) and the published terms.
  const gateway = routes.filter((r) => r.access !== 'public' && r.access.includes('gateway')).map(key).sort();
  assert.deepEqual(gateway, [
    'GET /v1/eulas/:slug/current', 'GET /v1/eulas/:slug/versions', 'GET /v1/eulas/:slug/versions/:version', 'GET /v1/llm-watermark/parameter-sets/:id',
    'POST /v1/llm-watermark/keys', 'POST /v1/llm-watermark/usage', 'POST /v1/watermark/decide',
  ]);
});

test('docs/personal-data.md prints the same matrix', () => {
  const doc = readFileSync(new URL('../../docs/personal-data.md', import.meta.url), 'utf8');
  const at = doc.search(/^## (\d+\. )?Least privilege/m);
  assert.ok(at >= 0, 'the section exists');
  const section = doc.slice(at);
  for (const [route, roles] of Object.entries(SUBJECT_READS)) {
    const [method, path] = route.split(' ');
    const row = section.split('\n').find((l) => l.startsWith(`| \`${method} ${path!.replace(/:([a-z_]+)/g, '{$1}')}\``));
    assert.ok(row, `a row for ${route}`);
    assert.equal(row.split('|')[2]!.trim(), roles.join(', '), route);
  }
});
