// Legal holds (docs/personal-data.md, "Legal holds"): placed and released over HTTP and the CLI, a
// held subject cannot be erased (409 naming the holds, nothing written), release unblocks; a hold
// and an erasure racing never both win on one state, and 10 parallel erasures make one event; every
// role against every new route; bad input is a problem and writes nothing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Role } from '../src/db/schema.js';
import { parseEvent } from '../src/ledger/events.js';
import { ALL_ROLES, problemOf, useTestApp, type TestApp } from './helpers/app.js';
import { openedEvent } from './helpers/opened.js';

type Json = Record<string, any>;

const t = useTestApp({ setup: async (t) => { await t.publishEula(); } });

async function accepted(subject: string): Promise<void> {
  const r = await t.accept({ subject });
  assert.equal(r.status, 201, r.text);
}

const hold = (subject: string, body: Json = { case_ref: 'CASE-9/2026', reason: 'litigation expected: preserve the evidence' }, as: Role = 'investigator') =>
  t.post(`/v1/subjects/${encodeURIComponent(subject)}/legal-holds`, as).send(body);
const erase = (subject: string, body: Json = { basis: 'data_subject_request', request_ref: 'DSR-1' }, as: Role = 'admin') =>
  t.post(`/v1/subjects/${encodeURIComponent(subject)}/erasure`, as).send(body);
const release = (id: string, body: Json = { reason: 'case closed' }, as: Role = 'investigator') => t.post(`/v1/legal-holds/${id}/release`, as).send(body);

/** What an erasure, hold or release writes: counts of its rows and of open openings. */
async function written(t: TestApp): Promise<Json> {
  const r = await sql<Json>`SELECT (SELECT count(*) FROM ledger_entries) AS entries, (SELECT count(*) FROM erasures) AS erasures,
    (SELECT count(*) FROM legal_holds) AS holds, (SELECT count(*) FROM legal_holds WHERE released_at IS NOT NULL) AS released,
    (SELECT count(*) FROM personal_openings WHERE erased_at IS NULL) AS open_openings, (SELECT count(*) FROM assent_records WHERE subject LIKE 'erased:%') AS scrubbed`.execute(t.ctx.handle.db);
  return Object.fromEntries(Object.entries(r.rows[0]!).map(([k, v]) => [k, Number(v)]));
}

describe('a hold blocks erasure, its release unblocks it', () => {
  const subject = 'held-subject-1';
  let placed: Json;

  test('placing: 201, a legal_hold.placed event with subject and reason committed, a legal_holds row', async () => {
    await accepted(subject);
    const res = await hold(subject);
    assert.equal(res.status, 201, res.text);
    placed = res.body as Json;
    assert.equal(placed.state, 'open');
    assert.equal(placed.case_ref, 'CASE-9/2026');
    assert.equal(placed.subject_pseudonym, t.built.services.pseudonyms.of(subject));
    assert.equal(placed.released, null);
    const entry = (await t.ctx.ledger.entry(placed.placed.seq))!;
    assert.doesNotMatch(entry.canonical.toString('utf8'), /held-subject-1|litigation expected/);
    const opened = await openedEvent(t.ctx, placed.placed.seq);
    assert.equal(opened.type, 'legal_hold.placed');
    assert.equal((opened.data as Json).subject, subject);
    assert.equal((opened.data as Json).reason, 'litigation expected: preserve the evidence');
    assert.equal((opened.data as Json).hold_id, placed.id);
  });

  test('erasing a held subject: 409 subject_on_legal_hold naming the hold and its case, nothing written', async () => {
    const before = await written(t);
    const res = await erase(subject);
    assert.equal(res.status, 409, res.text);
    const p = problemOf(res);
    assert.equal(p.code, 'subject_on_legal_hold');
    assert.deepEqual(p.holds, [{ id: placed.id, case_ref: 'CASE-9/2026', placed_seq: placed.placed.seq }]);
    assert.match(p.detail, new RegExp(placed.id));
    assert.deepEqual(await written(t), before);
  });

  test('listing: admin and investigator see the subject\'s holds', async () => {
    for (const role of ['admin', 'investigator'] as const) {
      const res = await t.get(`/v1/subjects/${subject}/legal-holds`, role);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body.holds, [placed]);
    }
  });

  test('release: 200, legal_hold.released; a second release is 409 and writes nothing', async () => {
    const res = await release(placed.id, { reason: 'case settled' }, 'admin');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.state, 'released');
    assert.equal(res.body.released.by_key_id, t.keyIds.admin);
    const opened = await openedEvent(t.ctx, res.body.released.seq);
    assert.equal(opened.type, 'legal_hold.released');
    assert.deepEqual((opened.data as Json).placed, { event_id: placed.placed.event_id, seq: placed.placed.seq });
    assert.equal((opened.data as Json).reason, 'case settled');
    const before = await written(t);
    const again = await release(placed.id);
    assert.equal(again.status, 409);
    assert.equal(problemOf(again).code, 'legal_hold_released');
    assert.deepEqual(await written(t), before);
  });

  test('after the release the subject can be erased, the hold\'s own openings with it', async () => {
    const res = await erase(subject);
    assert.equal(res.status, 201, res.text);
    const e = parseEvent((await t.ctx.ledger.entry(res.body.ledger.seq))!.canonical).data as Json;
    const fields = new Set(e.erased.map((x: Json) => `${x.seq}/${x.field}`));
    assert.ok(fields.has(`${placed.placed.seq}/reason`) && fields.has(`${placed.placed.seq}/subject`), [...fields].join(' '));
    const list = await t.get(`/v1/subjects/${subject}/legal-holds`, 'investigator');
    assert.equal(list.body.holds[0].state, 'released', 'the hold stays listed after the erasure');
  });
});

describe('the CLI: subject hold, holds, release', () => {
  test('hold, list, refused erasure, release, erasure', async () => {
    const subject = 'cli-held-subject';
    await accepted(subject);
    const h = await t.cli(['subject', 'hold', subject, '--case', 'CASE-CLI-1', '--reason', 'preserve for the tribunal', '--json']);
    assert.equal(h.status, 0, h.stdout + h.stderr);
    const placed = JSON.parse(h.stdout) as Json;
    const l = await t.cli(['subject', 'holds', subject]);
    assert.equal(l.status, 0, l.stderr);
    assert.match(l.stdout, new RegExp(`${placed.id}\\s+open\\s+case CASE-CLI-1`));
    const refused = await t.cli(['subject', 'erase', subject, '--basis', 'other', '--request-ref', 'T-1']);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /subject_on_legal_hold/);
    assert.match(refused.stderr, new RegExp(placed.id));
    const r = await t.cli(['subject', 'release', placed.id, '--reason', 'tribunal closed']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /released legal hold/);
    const e = await t.cli(['subject', 'erase', subject, '--basis', 'other', '--request-ref', 'T-1']);
    assert.equal(e.status, 0, e.stdout + e.stderr);
    assert.match(e.stdout, /^erased: erasure /);
  });
});

describe('races', () => {
  test('10 parallel identical erasures: one erasure.performed, the others nothing_to_erase', async () => {
    const subject = 'race-erase-subject';
    await accepted(subject);
    const before = await written(t);
    const res = await Promise.all(Array.from({ length: 10 }, () => erase(subject)));
    const ok = res.filter((r) => r.status === 201);
    assert.equal(ok.length, 1, res.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join('\n'));
    for (const r of res.filter((x) => x.status !== 201)) assert.equal(problemOf(r).code, 'nothing_to_erase', r.text);
    const after = await written(t);
    assert.equal(after.erasures - before.erasures, 1);
    assert.equal(after.entries - before.entries, 1);
    const events = await sql<{ n: string }>`SELECT count(*) AS n FROM ledger_entries WHERE event_type = 'erasure.performed' AND seq > ${before.entries}`.execute(t.ctx.handle.db);
    assert.equal(Number(events.rows[0]!.n), 1);
  });

  test('10 parallel erasures under one Idempotency-Key: one erasure, ten identical answers', async () => {
    const subject = 'race-erase-idem';
    await accepted(subject);
    const key = t.idem();
    const res = await Promise.all(Array.from({ length: 10 }, () => t.post(`/v1/subjects/${subject}/erasure`, 'admin').set('Idempotency-Key', key).send({ basis: 'other', request_ref: 'IDEM-1' })));
    assert.deepEqual(res.map((r) => r.status), Array(10).fill(201));
    assert.equal(new Set(res.map((r) => r.text)).size, 1);
    assert.equal((await t.ctx.repos.erasures.forSubject(t.built.services.pseudonyms.of(subject))).length, 1);
  });

  test('10 parallel hold placements under one Idempotency-Key: one hold, one event, ten identical answers', async () => {
    const subject = 'race-hold-idem';
    await accepted(subject);
    const key = t.idem();
    const before = await written(t);
    const body = { case_ref: 'IDEM-HOLD-1', reason: 'preserve' };
    const res = await Promise.all(Array.from({ length: 10 }, () => hold(subject, body).set('Idempotency-Key', key)));
    assert.deepEqual(res.map((r) => r.status), Array(10).fill(201), res.map((r) => r.text.slice(0, 160)).join('\n'));
    assert.equal(new Set(res.map((r) => r.text)).size, 1);
    assert.equal(res.filter((r) => r.headers['idempotent-replayed'] === 'true').length, 9);
    const after = await written(t);
    assert.equal(after.holds - before.holds, 1);
    assert.equal(after.entries - before.entries, 1);
    // The same key with another body is refused and writes nothing.
    const other = await hold(subject, { ...body, case_ref: 'IDEM-HOLD-2' }).set('Idempotency-Key', key);
    assert.equal(other.status, 422, other.text);
    assert.equal(problemOf(other).code, 'idempotency_key_reused');
    assert.deepEqual(await written(t), after);
  });

  test('10 parallel hold placements without a key: one hold, the others subject_state_changed or legal_hold_exists', async () => {
    const subject = 'race-hold-nokey';
    await accepted(subject);
    const before = await written(t);
    const res = await Promise.all(Array.from({ length: 10 }, (_, i) => hold(subject, { case_ref: `PAR-${i}`, reason: 'preserve' })));
    const ok = res.filter((r) => r.status === 201);
    assert.equal(ok.length, 1, res.map((r) => `${r.status} ${r.text.slice(0, 120)}`).join('\n'));
    for (const r of res.filter((x) => x.status !== 201)) assert.ok(['subject_state_changed', 'legal_hold_exists'].includes(problemOf(r).code), r.text);
    const after = await written(t);
    assert.equal(after.holds - before.holds, 1);
    assert.equal(after.entries - before.entries, 1);
  });

  test('the same case placed again while its hold is open: 409 legal_hold_exists naming it, nothing written; another case is a hold of its own', async () => {
    const subject = 'hold-twice';
    await accepted(subject);
    const first = await hold(subject, { case_ref: 'TWICE-1', reason: 'preserve' });
    assert.equal(first.status, 201, first.text);
    const before = await written(t);
    const again = await hold(subject, { case_ref: 'TWICE-1', reason: 'preserve, again' });
    assert.equal(again.status, 409, again.text);
    const p = problemOf(again);
    assert.equal(p.code, 'legal_hold_exists');
    assert.equal(p.hold_id, first.body.id);
    assert.deepEqual(await written(t), before);
    const other = await hold(subject, { case_ref: 'TWICE-2', reason: 'another case' });
    assert.equal(other.status, 201, other.text);
    // Released, the case may be held again.
    assert.equal((await release(first.body.id)).status, 200);
    assert.equal((await hold(subject, { case_ref: 'TWICE-1', reason: 'reopened' })).status, 201);
  });

  test('a release retried under its Idempotency-Key answers with the first release, not 409', async () => {
    const subject = 'release-idem';
    await accepted(subject);
    const placed = await hold(subject);
    assert.equal(placed.status, 201, placed.text);
    const key = t.idem();
    const res = await Promise.all(Array.from({ length: 5 }, () => release(placed.body.id).set('Idempotency-Key', key)));
    assert.deepEqual(res.map((r) => r.status), Array(5).fill(200), res.map((r) => r.text.slice(0, 160)).join('\n'));
    assert.equal(new Set(res.map((r) => r.text)).size, 1);
    assert.equal(res[0]!.body.state, 'released');
    const again = await release(placed.body.id);
    assert.equal(again.status, 409);
    assert.equal(problemOf(again).code, 'legal_hold_released');
  });

  test('a hold and an erasure in parallel: never an erasure after a hold it did not see', async () => {
    let holdsWon = 0;
    let erasuresWon = 0;
    for (let i = 0; i < 8; i++) {
      const subject = `race-hold-${i}`;
      await accepted(subject);
      const [h, e] = await Promise.all([hold(subject, { case_ref: `RACE-${i}`, reason: 'race' }), erase(subject)]);
      assert.ok([201, 409].includes(h.status) && [201, 409].includes(e.status), `${h.status} ${h.text} / ${e.status} ${e.text}`);
      if (h.status === 201) holdsWon++;
      if (e.status === 201) erasuresWon++;
      const holds = await t.ctx.repos.holds.forSubject(t.built.services.pseudonyms.of(subject));
      const erasures = await t.ctx.repos.erasures.forSubject(t.built.services.pseudonyms.of(subject));
      if (h.status === 201 && e.status === 201) {
        // Both committed only in order: the erasure first, the hold decided after it (on the erased subject).
        assert.ok(holds[0]!.placed.seq > erasures[0]!.seq, `hold at ${holds[0]!.placed.seq}, erasure at ${erasures[0]!.seq}`);
      }
      // The invariant: no erasure follows an open hold.
      for (const x of erasures) for (const y of holds) assert.ok(!(y.placed.seq < x.seq && (y.released === null || y.released.seq > x.seq)), `erasure ${x.seq} after hold ${y.placed.seq}`);
      if (e.status === 409) assert.equal(problemOf(e).code, 'subject_on_legal_hold');
      if (h.status === 409) assert.equal(problemOf(h).code, 'subject_state_changed');
    }
    assert.ok(holdsWon + erasuresWon >= 8, `${holdsWon} holds, ${erasuresWon} erasures`);
  });
});

describe('bad input: a problem, nothing written', () => {
  const subject = 'bad-input-subject';
  test('erasure, hold and release bodies and ids', async () => {
    await accepted(subject);
    const h = await hold(subject);
    assert.equal(h.status, 201);
    const cases: Array<[string, () => ReturnType<typeof erase>, number, string]> = [
      ['unknown basis', () => erase(subject, { basis: 'because', request_ref: 'X' }), 400, 'validation_failed'],
      ['basis retention (the job\'s own)', () => erase(subject, { basis: 'retention', request_ref: 'X' }), 400, 'validation_failed'],
      ['oversized request_ref', () => erase(subject, { basis: 'other', request_ref: 'R'.repeat(201) }), 400, 'validation_failed'],
      ['request_ref with spaces', () => erase(subject, { basis: 'other', request_ref: 'Jane Doe' }), 400, 'validation_failed'],
      ['missing request_ref', () => erase(subject, { basis: 'other' }), 400, 'validation_failed'],
      ['extra member', () => erase(subject, { basis: 'other', request_ref: 'X', subject: 'x' }), 400, 'validation_failed'],
      ['subject too long', () => erase('s'.repeat(300)), 400, 'validation_failed'],
      ['held subject', () => erase(subject), 409, 'subject_on_legal_hold'],
      ['hold without reason', () => hold(subject, { case_ref: 'C-1' }), 400, 'validation_failed'],
      ['hold with empty case_ref', () => hold(subject, { case_ref: '', reason: 'r' }), 400, 'validation_failed'],
      ['hold with oversized reason', () => hold(subject, { case_ref: 'C', reason: 'r'.repeat(2001) }), 400, 'validation_failed'],
      ['release of an unknown hold', () => release(randomUUID()), 404, 'legal_hold_not_found'],
      ['release with a malformed id', () => release('not-a-uuid'), 400, 'validation_failed'],
      ['release without reason', () => release(h.body.id, {}), 400, 'validation_failed'],
    ];
    for (const [what, send, status, code] of cases) {
      const before = await written(t);
      const res = await send();
      assert.equal(res.status, status, `${what}: ${res.text}`);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/, what);
      assert.equal(problemOf(res).code, code, what);
      assert.deepEqual(await written(t), before, what);
    }
  });
});

describe('roles: every role on every new route', () => {
  test('erasure: admin only; holds: admin and investigator', async () => {
    const expect: Record<string, readonly Role[]> = { erase: ['admin'], hold: ['admin', 'investigator'], list: ['admin', 'investigator'], release: ['admin', 'investigator'] };
    for (const role of ALL_ROLES) {
      const subject = `roles-${role}`;
      await accepted(subject);
      const before = await written(t);
      // Denied roles first: a 403 writes nothing.
      const h = await hold(subject, { case_ref: `R-${role}`, reason: 'roles' }, role);
      const l = await t.get(`/v1/subjects/${subject}/legal-holds`, role);
      const holdId = h.status === 201 ? h.body.id as string : (await hold(subject, { case_ref: `R-${role}`, reason: 'roles' }, 'admin')).body.id as string;
      const r = await release(holdId, { reason: 'roles' }, role);
      if (r.status !== 200) assert.equal((await release(holdId, { reason: 'roles' }, 'admin')).status, 200);
      const e = await erase(subject, { basis: 'other', request_ref: `R-${role}` }, role);
      const got = { hold: h.status, list: l.status, release: r.status, erase: e.status };
      const want = { hold: expect.hold!.includes(role) ? 201 : 403, list: expect.list!.includes(role) ? 200 : 403, release: expect.release!.includes(role) ? 200 : 403, erase: expect.erase!.includes(role) ? 201 : 403 };
      assert.deepEqual(got, want, role);
      for (const res of [h, l, r, e]) if (res.status === 403) assert.equal(problemOf(res).code, 'forbidden');
      if (!expect.erase!.includes(role)) assert.equal((await written(t)).erasures, before.erasures, `${role}: no erasure written`);
    }
    for (const [method, url] of [['post', '/v1/subjects/x/erasure'], ['post', '/v1/subjects/x/legal-holds'], ['get', '/v1/subjects/x/legal-holds'], ['post', `/v1/legal-holds/${randomUUID()}/release`]] as const) {
      assert.equal((await t.req(method, url).send({})).status, 401, url);
    }
  });
});
