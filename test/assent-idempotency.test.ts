// Idempotency-Key semantics of the assent endpoints: required and well-formed; a retry replays the
// original answer and writes nothing; a reused key with another body is refused; concurrent
// duplicates record once; concurrent first acceptances of one subject assign one key.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptanceBody, problemOf, useTestApp, withdrawalBody } from './helpers/app.js';

const t = useTestApp({ setup });

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  await t.publishEula();
}

describe('the Idempotency-Key header', () => {
  for (const path of ['/v1/acceptances', '/v1/declines', '/v1/withdrawals']) {
    const body = path === '/v1/withdrawals' ? withdrawalBody() : acceptanceBody();

    test(`${path}: missing is a 400 problem and writes nothing`, async () => {
      const before = await t.countRows();
      const res = await t.post(path, 'signup').send(body);
      assert.equal(res.status, 400, res.text);
      const p = problemOf(res);
      assert.equal(p.code, 'idempotency_key_missing');
      assert.match(p.detail, /Idempotency-Key/);
      assert.deepEqual(await t.countRows(), before);
    });

    for (const bad of ['', ' ', 'has space', 'x'.repeat(256), 'tab\there', 'naïve']) {
      test(`${path}: invalid ${JSON.stringify(bad.length > 20 ? `${bad.slice(0, 8)}…(${bad.length})` : bad)} is a 400 problem and writes nothing`, async () => {
        const before = await t.countRows();
        const res = await t.post(path, 'signup').set('Idempotency-Key', bad).send(body);
        assert.equal(res.status, 400, res.text);
        const p = problemOf(res);
        // An empty header value may reach the service as absent.
        assert.ok(p.code === 'idempotency_key_invalid' || (bad.trim() === '' && p.code === 'idempotency_key_missing'), p.code);
        assert.match(p.detail, /Idempotency-Key/);
        assert.deepEqual(await t.countRows(), before);
      });
    }
  }

  test('a 255-character key is accepted', async () => {
    const res = await t.accept({ subject: 'long-key' }, 'k'.repeat(255));
    assert.equal(res.status, 201, res.text);
  });
});

describe('retries', () => {
  test('same key and same body: identical body, Idempotent-Replayed, no new rows', async () => {
    const key = t.idem();
    const body = acceptanceBody({ subject: 'retry-1' });
    const first = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(body);
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(first.body.watermark_key.newly_assigned, true);
    const counts = await t.countRows();

    for (let i = 0; i < 3; i++) {
      const again = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(body);
      assert.equal(again.status, 201, again.text);
      assert.equal(again.headers['idempotent-replayed'], 'true');
      assert.equal(again.headers.location, first.headers.location);
      assert.deepEqual(again.body, first.body);
      assert.deepEqual(await t.countRows(), counts, 'a replay writes nothing');
    }

    // The same body with the keys in another order is the same request.
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    const again = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(reordered);
    assert.equal(again.status, 201);
    assert.deepEqual(again.body, first.body);
    assert.deepEqual(await t.countRows(), counts);
  });

  test('a replayed decline and withdrawal answer identically too', async () => {
    const dk = t.idem();
    const d1 = await t.post('/v1/declines', 'signup').set('Idempotency-Key', dk).send(acceptanceBody({ subject: 'retry-2' }));
    assert.equal(d1.status, 201, d1.text);
    const d2 = await t.post('/v1/declines', 'signup').set('Idempotency-Key', dk).send(acceptanceBody({ subject: 'retry-2' }));
    assert.equal(d2.headers['idempotent-replayed'], 'true');
    assert.deepEqual(d2.body, d1.body);

    assert.equal((await t.accept({ subject: 'retry-2' })).status, 201);
    const wk = t.idem();
    const w1 = await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', wk).send(withdrawalBody({ subject: 'retry-2' }));
    assert.equal(w1.status, 201, w1.text);
    const counts = await t.countRows();
    // A replay answers even though the subject now has nothing left to withdraw.
    const w2 = await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', wk).send(withdrawalBody({ subject: 'retry-2' }));
    assert.equal(w2.status, 201, w2.text);
    assert.equal(w2.headers['idempotent-replayed'], 'true');
    assert.deepEqual(w2.body, w1.body);
    assert.deepEqual(await t.countRows(), counts);
  });

  test('same key, different body: 422 and no new rows', async () => {
    const key = t.idem();
    const first = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(acceptanceBody({ subject: 'retry-3' }));
    assert.equal(first.status, 201, first.text);
    const counts = await t.countRows();
    for (const body of [acceptanceBody({ subject: 'retry-3', method: 'button' }), acceptanceBody({ subject: 'someone-else' })]) {
      const res = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(body);
      assert.equal(res.status, 422, res.text);
      const p = problemOf(res);
      assert.equal(p.code, 'idempotency_key_reused');
      assert.match(p.detail, /Idempotency-Key/);
      assert.deepEqual(await t.countRows(), counts);
    }
    // The same key on another endpoint is another request too.
    const decl = await t.post('/v1/declines', 'signup').set('Idempotency-Key', key).send(acceptanceBody({ subject: 'retry-3' }));
    assert.equal(decl.status, 422, decl.text);
    assert.equal(problemOf(decl).code, 'idempotency_key_reused');
    assert.deepEqual(await t.countRows(), counts);
  });

  test('keys are scoped per API key: another signup key may use the same Idempotency-Key', async () => {
    const { token } = await t.built.services.apiKeys.create('signup', 'second signup page');
    const key = t.idem();
    const a = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(acceptanceBody({ subject: 'scope-1' }));
    const b = await t.post('/v1/acceptances', { token }).set('Idempotency-Key', key).send(acceptanceBody({ subject: 'scope-2' }));
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.notEqual(a.body.id, b.body.id);
  });
});

describe('concurrency', () => {
  test('20 concurrent requests with the same key and body record once and answer identically', async () => {
    const key = t.idem();
    const body = acceptanceBody({ subject: 'concurrent-same' });
    const before = await t.countRows();
    const results = await Promise.all(Array.from({ length: 20 }, () => t.post('/v1/acceptances', 'signup').set('Idempotency-Key', key).send(body)));
    for (const r of results) assert.equal(r.status, 201, r.text);
    const first = results[0]!.body;
    for (const r of results) assert.deepEqual(r.body, first);
    assert.equal(results.filter((r) => r.headers['idempotent-replayed'] === undefined).length, 1, 'exactly one original answer');
    const afterCounts = await t.countRows();
    assert.deepEqual(afterCounts, {
      ...before,
      assent_records: before.assent_records + 1,
      idempotency_keys: before.idempotency_keys + 1,
      watermark_keys: before.watermark_keys + 1,
      ledger_entries: before.ledger_entries + 2, // the acceptance and its key assignment
      personal_openings: before.personal_openings + 5, // subject, client, page URL, auth; the assignment's subject
    });
    const recs = await t.get('/v1/subjects/concurrent-same/records', 'admin');
    assert.equal(recs.body.records.length, 1);
  });

  test('20 concurrent first acceptances of one subject (distinct keys): one watermark key, 20 records', async () => {
    const before = await t.countRows();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.accept({ subject: 'concurrent-first', client_time: new Date(Date.UTC(2026, 10, 29, 12, 0, i)).toISOString() })),
    );
    for (const r of results) assert.equal(r.status, 201, r.text);
    assert.equal(new Set(results.map((r) => r.body.id)).size, 20);
    const newly = results.filter((r) => r.body.watermark_key.newly_assigned === true);
    assert.equal(newly.length, 1, 'exactly one response assigned the key');
    const commitments = new Set(results.map((r) => r.body.watermark_key.commitment));
    assert.equal(commitments.size, 1, 'every acceptance names the one key');
    for (const r of results) assert.equal(r.body.watermark_key.version, 1);

    const keys = await t.get('/v1/subjects/concurrent-first/watermark-keys', 'admin');
    assert.equal(keys.status, 200);
    assert.equal(keys.body.keys.length, 1);
    assert.equal(keys.body.keys[0].version, 1);
    assert.equal(keys.body.keys[0].commitment, [...commitments][0]);

    const afterCounts = await t.countRows();
    assert.equal(afterCounts.assent_records, before.assent_records + 20);
    assert.equal(afterCounts.idempotency_keys, before.idempotency_keys + 20);
    assert.equal(afterCounts.watermark_keys, before.watermark_keys + 1);
    assert.equal(afterCounts.ledger_entries, before.ledger_entries + 21);

    const r = await t.ctx.ledger.verify();
    assert.equal(r.ok, true, JSON.stringify(r.fault));
    assert.equal(r.size, afterCounts.ledger_entries);
  });
});
