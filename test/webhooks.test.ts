// Signed webhooks from the outbox: subscriptions through the admin API (the secret shown once),
// outbox rows written with their event (none for a refused request, exactly one per event and
// subscription under parallel appends), Standard Webhooks signatures checked with node:crypto
// here (not the service's code), retries with backoff, and (in webhooks-kill.test.ts) delivery across a kill -9 of the real service process.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../src/config/config.js';
import { DeliveryListJson, NewWebhookJson, TestDeliveryJson, WebhookJson, WebhookListJson } from '../src/http/presenters/webhooks.js';
import { retryDelayMs } from '../src/webhooks/backoff.js';
import { webhookPost } from '../src/webhooks/delivery.js';
import { checkWebhookUrl } from '../src/webhooks/url.js';
import { DeliveryWorker } from '../src/webhooks/worker.js';
import { acceptanceBody, ALL_ROLES, problemOf, useTestApp, withdrawalBody, type TestApp } from './helpers/app.js';
import { run } from './helpers/tools.js';
import { startReceiver, waitUntil, type ReceivedRequest } from './helpers/webhook-receiver.js';

const BASE_DELAY_MS = 100;
const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/webhooks.md');

/** Standard Webhooks verification written out here with node:crypto, independent of src/webhooks/signer.ts. */
function signatureValid(secret: string, r: ReceivedRequest): boolean {
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const mac = createHmac('sha256', key).update(`${r.id}.${r.timestamp}.${r.body}`, 'utf8').digest('base64');
  const fresh = Math.abs(Math.floor(Date.now() / 1000) - Number(r.timestamp)) <= 300;
  return fresh && r.signature.split(' ').includes(`v1,${mac}`);
}

/** The body has exactly the documented shape (zod objects drop undocumented members, so compare). */
function exactly(schema: { parse(v: unknown): unknown }, body: unknown, what: string): void {
  assert.deepEqual(schema.parse(body), body, `${what}: the body has members its schema does not document`);
}

async function outboxRows(t: TestApp): Promise<Array<{ id: string; subscription_id: string; event_id: string; event_type: string; status: string; attempts: number; ledger_seq: string }>> {
  return (await t.db.superuser('SELECT id::text, subscription_id::text, event_id::text, event_type, status, attempts, ledger_seq::text FROM webhook_outbox ORDER BY ledger_seq')) as never;
}

async function subscribe(t: TestApp, url: string, eventTypes: string[]): Promise<{ id: string; secret: string }> {
  const res = await t.post('/v1/admin/webhooks', 'admin').set('Idempotency-Key', t.idem()).send({ url, event_types: eventTypes, description: 'test receiver' });
  assert.equal(res.status, 201, res.text);
  return { id: res.body.id as string, secret: res.body.secret as string };
}

describe('webhooks through the service', () => {
  const t = useTestApp(() => ({
    config: { webhooks: { ...loadConfig({}).webhooks, allowPrivate: true, pollMs: 20, baseDelayMs: BASE_DELAY_MS, maxDelayMs: 5_000, timeoutMs: 5_000, maxAttempts: 3 } },
    setup: async (app) => {
      await app.publishEula();
      app.built.services.webhookDelivery.start();
    },
  }));

  test('a delivery is signed (Standard Webhooks), carries the public data of the event, and the secret appears only in the create response', async () => {
    const rx = await startReceiver(() => 204);
    try {
      const created = await t.post('/v1/admin/webhooks', 'admin').set('Idempotency-Key', t.idem()).send({ url: rx.url, event_types: ['acceptance.recorded'] });
      assert.equal(created.status, 201, created.text);
      const { id, secret } = created.body as { id: string; secret: string };
      const list = await t.get('/v1/admin/webhooks', 'admin');
      const one = await t.get(`/v1/admin/webhooks/${id}`, 'admin');
      for (const r of [list, one]) {
        assert.equal(r.status, 200, r.text);
        assert.ok(!r.text.includes(secret.slice(6)), 'a listing shows the secret');
      }
      assert.deepEqual(one.body.event_types, ['acceptance.recorded']);
      exactly(NewWebhookJson, created.body, 'POST /v1/admin/webhooks');
      exactly(WebhookListJson, list.body, 'GET /v1/admin/webhooks');
      exactly(WebhookJson, one.body, 'GET /v1/admin/webhooks/:id');
      const stored = await t.db.superuser('SELECT encode(secret_wrapped, \'hex\') AS w FROM webhook_subscriptions WHERE id = $1', [id]);
      assert.ok(!String(stored[0]!.w).includes(Buffer.from(secret).toString('hex')) && !String(stored[0]!.w).includes(Buffer.from(secret.slice(6), 'base64').toString('hex')), 'the secret is stored in the clear');

      const acc = await t.accept({ subject: 'hook-signed' });
      assert.equal(acc.status, 201, acc.text);
      await waitUntil(() => rx.processed.size === 1, 'the acceptance is delivered');
      const r = rx.requests[0]!;
      assert.ok(signatureValid(secret, r), `signature ${r.signature} does not verify`);
      assert.ok(!signatureValid(secret, { ...r, body: r.body.replace('hook-signed', 'hook-signeD') }), 'a changed body still verifies');
      assert.equal(r.contentType, 'application/json');
      const p = JSON.parse(r.body) as Record<string, any>;
      assert.equal(p.type, 'acceptance.recorded');
      assert.equal(p.event_id, acc.body.ledger.event_id);
      assert.equal(p.ledger.seq, acc.body.ledger.seq);
      assert.equal(p.data.subject, 'hook-signed');
      assert.equal(p.data.record_id, acc.body.id);
      assert.equal(p.links.receipt, `/v1/acceptances/${acc.body.id}/receipt`);
      for (const personal of ['203.0.113.7', 'sess-1234', 'Firefox', 'I have read']) assert.ok(!r.body.includes(personal), `the payload carries ${personal}`);
      // The receiver answered; the worker records the answer just after: wait for that, not for the receiver.
      await waitUntil(async () => (await t.get(`/v1/admin/webhooks/${id}/deliveries?status=delivered`, 'admin')).body.deliveries?.length === 1, 'the delivery is recorded as delivered');
      const deliveries = await t.get(`/v1/admin/webhooks/${id}/deliveries`, 'admin');
      assert.equal(deliveries.status, 200, deliveries.text);
      exactly(DeliveryListJson, deliveries.body, 'GET deliveries');
      assert.equal(deliveries.body.deliveries[0].id, r.id);
      assert.equal(deliveries.body.deliveries[0].status, 'delivered');
      assert.ok(!deliveries.text.includes(secret.slice(6)));
      // The test ping is signed the same way.
      const ping = await t.post(`/v1/admin/webhooks/${id}/test`, 'admin').send();
      assert.equal(ping.status, 200, ping.text);
      exactly(TestDeliveryJson, ping.body, 'POST test');
      assert.equal(ping.body.delivered, true);
      const pr = rx.requests.find((q) => q.id === ping.body.delivery_id)!;
      assert.ok(signatureValid(secret, pr));
      assert.equal(JSON.parse(pr.body).type, 'webhook.test');
      assert.equal((await t.req('delete', `/v1/admin/webhooks/${id}`, 'admin')).status, 204);
      assert.equal(problemOf(await t.get(`/v1/admin/webhooks/${id}`, 'admin')).code, 'webhook_not_found');
    } finally {
      await rx.close();
    }
  });

  test('a receiver that fails twice then succeeds gets the event once successfully, after increasing waits, with one webhook-id', async () => {
    const rx = await startReceiver(({ n }) => (n <= 2 ? 503 : 200));
    try {
      const { id, secret } = await subscribe(t, rx.url, ['acceptance.withdrawn']);
      assert.equal((await t.accept({ subject: 'hook-retry' })).status, 201);
      const res = await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: 'hook-retry' }));
      assert.equal(res.status, 201, res.text);
      await waitUntil(() => rx.processed.size === 1, 'the withdrawal is delivered');
      assert.equal(rx.requests.length, 3, 'two failures and one success');
      assert.deepEqual(rx.requests.map((q) => q.answer), [503, 503, 200]);
      assert.equal(new Set(rx.requests.map((q) => q.id)).size, 1, 'every attempt carries the same webhook-id');
      assert.equal(new Set(rx.requests.map((q) => q.body)).size, 1, 'every attempt carries the same body');
      for (const q of rx.requests) assert.ok(signatureValid(secret, q));
      // Retry n waits at least base * 2^(n-1): lower bounds only, so a slow machine cannot fail this.
      const [a, b, c] = rx.requests.map((q) => q.at) as [number, number, number];
      assert.ok(b - a >= BASE_DELAY_MS, `first retry after ${b - a} ms`);
      assert.ok(c - b >= 2 * BASE_DELAY_MS, `second retry after ${c - b} ms`);
      await waitUntil(async () => (await t.get(`/v1/admin/webhooks/${id}/deliveries?status=delivered`, 'admin')).body.deliveries?.length === 1, 'the delivery is recorded as delivered');
      const d = (await t.get(`/v1/admin/webhooks/${id}/deliveries?status=delivered`, 'admin')).body.deliveries;
      assert.equal(d.length, 1);
      assert.equal(d[0].attempts, 3);
      assert.equal(d[0].last_status, 200);
      assert.equal(rx.duplicates, 0);
      await t.req('delete', `/v1/admin/webhooks/${id}`, 'admin');
    } finally {
      await rx.close();
    }
  });

  test('a delivery that keeps failing ends as failed, visible through the admin API with its last error', async () => {
    const rx = await startReceiver(() => 500);
    try {
      const { id } = await subscribe(t, rx.url, ['acceptance.declined']);
      // This app gives up after 3 attempts (its configuration above).
      const dec = await t.post('/v1/declines', 'signup').set('Idempotency-Key', t.idem()).send(acceptanceBody({ subject: 'hook-declines' }));
      assert.equal(dec.status, 201, dec.text);
      await waitUntil(async () => (await t.get(`/v1/admin/webhooks/${id}/deliveries?status=failed`, 'admin')).body.deliveries.length === 1, 'the delivery is marked failed');
      const d = (await t.get(`/v1/admin/webhooks/${id}/deliveries?status=failed`, 'admin')).body.deliveries[0];
      assert.equal(d.attempts, 3);
      assert.equal(d.last_status, 500);
      assert.match(d.last_error, /HTTP 500/);
      assert.equal(d.next_attempt_at, null);
      await t.built.services.webhookDelivery.runOnce();
      assert.equal(rx.requests.length, 3, 'not tried again once failed');
      assert.equal((await t.get(`/v1/admin/webhooks/${id}`, 'admin')).body.deliveries.failed, 1);
      await t.req('delete', `/v1/admin/webhooks/${id}`, 'admin');
    } finally {
      await rx.close();
    }
  });

  test('a refused request writes no outbox row and no ledger entry; a refused subscription writes nothing', async () => {
    const rx = await startReceiver(() => 200);
    try {
      const { id } = await subscribe(t, rx.url, ['acceptance.recorded', 'acceptance.declined', 'acceptance.withdrawn']);
      const rows = (await outboxRows(t)).length;
      const counts = await t.countRows();
      const bad = [
        await t.accept({ subject: 'hook-bad', shown_text_sha256: 'f'.repeat(64) }),
        await t.accept({ subject: 'hook-bad', version: '9.9' }),
        await t.accept({ subject: '' }),
        await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()).set('Content-Type', 'application/json').send('{"subject": "hook-bad", '),
        await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: 'never-accepted' })),
      ];
      for (const r of bad) assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.text}`);
      assert.equal((await outboxRows(t)).length, rows);
      assert.deepEqual(await t.countRows(), counts);

      const subs = await t.db.superuser('SELECT count(*)::int AS n FROM webhook_subscriptions');
      for (const body of [
        { url: 'ftp://127.0.0.1/hook', event_types: ['acceptance.recorded'] },
        { url: 'http://user:pw@127.0.0.1/hook', event_types: ['acceptance.recorded'] },
        { url: 'not a url', event_types: ['acceptance.recorded'] },
        { url: rx.url, event_types: [] },
        { url: rx.url, event_types: ['ledger.genesis'] },
        { url: rx.url, event_types: ['acceptance.recorded', 'acceptance.recorded'] },
        { url: rx.url, event_types: ['acceptance.recorded'], secret: 'whsec_mine' },
      ]) {
        const r = await t.post('/v1/admin/webhooks', 'admin').set('Idempotency-Key', t.idem()).send(body);
        const p = problemOf(r);
        assert.ok(p.code === 'validation_failed' || p.code === 'webhook_url_invalid', `${JSON.stringify(body)}: ${r.status} ${r.text}`);
      }
      assert.deepEqual(await t.db.superuser('SELECT count(*)::int AS n FROM webhook_subscriptions'), subs);
      await t.req('delete', `/v1/admin/webhooks/${id}`, 'admin');
    } finally {
      await rx.close();
    }
  });

  test('parallel appends write exactly one outbox row per event and subscription, and two workers deliver each once', async () => {
    const rx1 = await startReceiver(() => 200);
    const rx2 = await startReceiver(() => 200);
    // A second worker beside the app's, as another process would run: claims must not overlap.
    const w = t.config.webhooks;
    const second = new DeliveryWorker(
      { outbox: t.ctx.repos.webhookOutbox, subscriptions: t.ctx.repos.webhookSubscriptions, entriesBySeq: (seqs) => t.ctx.ledger.entriesBySeq(seqs), openingsFor: (ids) => t.ctx.repos.openings.forEvents(ids), kek: t.kek(), post: webhookPost({ timeoutMs: w.timeoutMs, allowPrivate: true }) },
      { pollMs: 5, batch: 3, timeoutMs: w.timeoutMs, baseDelayMs: w.baseDelayMs, maxDelayMs: w.maxDelayMs, maxAttempts: w.maxAttempts, maxAgeMs: w.maxAgeMs },
    );
    second.start();
    try {
      const s1 = await subscribe(t, rx1.url, ['acceptance.recorded']);
      const s2 = await subscribe(t, rx2.url, ['acceptance.recorded', 'acceptance.declined']);
      const before = new Set((await outboxRows(t)).map((r) => r.id));
      const replayKey = t.idem();
      const results = await Promise.all([
        ...Array.from({ length: 24 }, (_, i) => t.accept({ subject: `hook-par-${i % 6}` })),
        ...Array.from({ length: 8 }, () => t.accept({ subject: 'hook-replayed' }, replayKey)),
      ]);
      for (const r of results) assert.equal(r.status, 201, r.text);
      const events = new Set(results.map((r) => r.body.ledger.event_id as string));
      assert.equal(events.size, 25, '24 acceptances and one replayed');
      const rows = (await outboxRows(t)).filter((r) => !before.has(r.id));
      assert.equal(rows.length, 50);
      for (const sub of [s1, s2]) {
        const mine = rows.filter((r) => r.subscription_id === sub.id);
        assert.deepEqual(new Set(mine.map((r) => r.event_id)), events, 'one row per event for each subscription');
        assert.equal(mine.length, events.size);
      }
      await waitUntil(() => rx1.processed.size === 25 && rx2.processed.size === 25, 'every event reaches both receivers');
      await t.built.services.webhookDelivery.runOnce(); // nothing left to send
      for (const rx of [rx1, rx2]) {
        assert.equal(rx.requests.length, 25, 'no event sent twice');
        assert.deepEqual(new Set([...rx.processed.values()].map((b) => JSON.parse(b).event_id)), events);
      }
      await t.req('delete', `/v1/admin/webhooks/${s1.id}`, 'admin');
      await t.req('delete', `/v1/admin/webhooks/${s2.id}`, 'admin');
      const after = (await outboxRows(t)).length;
      assert.equal((await t.accept({ subject: 'hook-after-delete' })).status, 201);
      assert.equal((await outboxRows(t)).length, after, 'a deleted subscription gets no new rows');
    } finally {
      await second.stop();
      await rx1.close();
      await rx2.close();
    }
  });

  test('the Node and Python snippets of docs/webhooks.md accept a real delivery and refuse a replayed or altered one', async () => {
    const rx = await startReceiver(() => 200);
    try {
      const { id, secret } = await subscribe(t, rx.url, ['acceptance.recorded']);
      assert.equal((await t.accept({ subject: 'hook-doc' })).status, 201);
      await waitUntil(() => rx.processed.size === 1, 'the acceptance is delivered');
      await t.req('delete', `/v1/admin/webhooks/${id}`, 'admin');
      const r = rx.requests[0]!;
      const doc = readFileSync(DOC, 'utf8');
      const js = /```js\n([\s\S]*?)```/.exec(doc)![1]!;
      const py = /```python\n([\s\S]*?)```/.exec(doc)![1]!;
      const cases = [
        { what: 'the delivery', ts: r.timestamp, body: r.body, ok: true },
        { what: 'an altered body', ts: r.timestamp, body: r.body.replace('hook-doc', 'hook-dog'), ok: false },
        { what: 'an old timestamp', ts: String(Number(r.timestamp) - 3600), body: r.body, ok: false },
      ];
      for (const c of cases) {
        const input = JSON.stringify({ secret, headers: { 'webhook-id': r.id, 'webhook-timestamp': c.ts, 'webhook-signature': r.signature }, body: c.body });
        const node = run(process.execPath, ['--input-type=module', '-e', `${js}\nimport { readFileSync } from 'node:fs';\nconst i = JSON.parse(readFileSync(0, 'utf8'));\nprocess.stdout.write(String(verifyWebhook(i.secret, i.headers, Buffer.from(i.body, 'utf8'))));`], { input });
        assert.equal(node.stdout, String(c.ok), `node, ${c.what}: ${node.out}`);
        const python = run('python3', ['-c', `${py}\nimport json, sys\ni = json.load(sys.stdin)\nprint(verify_webhook(i["secret"], i["headers"], i["body"].encode()), end="")`], { input });
        assert.equal(python.stdout, c.ok ? 'True' : 'False', `python, ${c.what}: ${python.out}`);
      }
    } finally {
      await rx.close();
    }
  });

  test('only admin keys may use the webhook routes', async () => {
    const id = randomUUID();
    const calls = [
      ['post', '/v1/admin/webhooks'], ['get', '/v1/admin/webhooks'], ['get', `/v1/admin/webhooks/${id}`], ['delete', `/v1/admin/webhooks/${id}`],
      ['get', `/v1/admin/webhooks/${id}/deliveries`], ['post', `/v1/admin/webhooks/${id}/test`],
    ] as const;
    for (const role of ALL_ROLES.filter((r) => r !== 'admin')) {
      for (const [method, url] of calls) {
        const res = await t.req(method, url, role).send(method === 'post' ? { url: 'https://example.org/h', event_types: ['acceptance.recorded'] } : undefined);
        assert.equal(res.status, 403, `${role} ${method} ${url}: ${res.status}`);
        assert.equal(problemOf(res).code, 'forbidden');
      }
    }
    assert.equal((await t.get('/v1/admin/webhooks')).status, 401);
  });
});

describe('webhook building blocks', () => {
  test('retry waits grow with each attempt below the cap, whatever the jitter', () => {
    for (const jitter of [0, 0.5, 0.999999]) {
      const waits = Array.from({ length: 12 }, (_, i) => retryDelayMs(i + 1, { baseMs: 1000, maxMs: 3_600_000 }, () => jitter));
      for (let i = 1; i < waits.length; i++) {
        if (waits[i]! < 3_600_000) assert.ok(waits[i]! > waits[i - 1]!, `${waits}`);
      }
      assert.ok(waits.every((w) => w <= 3_600_000));
    }
    // Two extremes of jitter on the same attempt still leave the next attempt longer.
    assert.ok(retryDelayMs(3, { baseMs: 100, maxMs: 1e9 }, () => 0) > retryDelayMs(2, { baseMs: 100, maxMs: 1e9 }, () => 0.999999));
  });

  test('URLs: http(s) only, no credentials, and no loopback, private or link-local address unless allowed', () => {
    for (const u of ['http://127.0.0.1/h', 'http://10.1.2.3/h', 'http://172.16.0.1/', 'http://192.168.1.1/', 'http://169.254.169.254/latest', 'http://[::1]/h', 'http://[fd00::1]/', 'http://[fe80::1]/', 'http://[::ffff:127.0.0.1]/', 'http://localhost:8080/', 'http://0.0.0.0/', 'http://100.64.0.1/', 'http://203.0.113.5/', 'http://192.0.2.1/']) {
      assert.equal(checkWebhookUrl(u, false).ok, false, u);
    }
    for (const u of ['https://hooks.example.com/assentmark', 'http://203.0.114.9/h', 'https://[2606:4700::1111]/h']) assert.equal(checkWebhookUrl(u, false).ok, true, u);
    assert.equal(checkWebhookUrl('http://127.0.0.1:9/h', true).ok, true);
    for (const u of ['ftp://example.com/', 'javascript:alert(1)', 'https://u:p@example.com/', 'https://example.com/#x', '/relative']) assert.equal(checkWebhookUrl(u, true).ok, false, u);
  });

  test('delivery refuses a host name that resolves to a private address (checked at connect time)', async () => {
    const rx = await startReceiver(() => 200);
    try {
      const post = webhookPost({ timeoutMs: 2000, allowPrivate: false });
      const byName = await post(`http://localhost:${rx.port}/hook`, { 'webhook-id': 'x' }, '{}');
      assert.equal(byName.ok, false);
      assert.match(byName.error ?? '', /not a public address/);
      const byIp = await post(rx.url, {}, '{}');
      assert.equal(byIp.ok, false);
      assert.equal(rx.requests.length, 0, 'nothing reached the private receiver');
      const allowed = await webhookPost({ timeoutMs: 2000, allowPrivate: true })(rx.url, {}, '{}');
      assert.equal(allowed.ok, true);
    } finally {
      await rx.close();
    }
  });
});
