// Webhooks across a kill -9 of the real service process (dist/src/bin/server.js as a child): events
// appended while the receiver is down, the service killed while the receiver holds a delivery open,
// then restarted: every event is delivered, a cut-off delivery is resent with its webhook-id and
// body, and a receiver that de-duplicates by webhook-id processes each event once. Its own file so
// that it runs beside webhooks.test.ts and each stays short.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiKeyStore } from '../src/auth/api-keys.js';
import { acceptanceBody, isRealPostgres, publishBody, withdrawalBody } from './helpers/app.js';
import { createTestDb } from './helpers/context.js';
import { startReceiver, waitUntil, type Receiver } from './helpers/webhook-receiver.js';

const SERVER_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/bin/server.js');

describe('across a kill -9 of the service process', () => {
  interface Service {
    child: ChildProcess;
    url: string;
    exited: Promise<number | null>;
    /** Everything it printed (its logs). */
    output(): string;
  }

  function startService(env: NodeJS.ProcessEnv): Promise<Service> {
    const child = spawn(process.execPath, [SERVER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the service did not start: ${out}`)), 60_000);
      const onData = (c: Buffer) => {
        out += c.toString('utf8');
        for (const line of out.split('\n')) {
          if (!line.includes('assentmark listening')) continue;
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          child.stdout!.on('data', (more: Buffer) => (out += more.toString('utf8')));
          resolve({ child, url: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, exited, output: () => out });
          return;
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (c: Buffer) => (out += c.toString('utf8')));
      void exited.then((code) => reject(new Error(`the service exited with ${code}: ${out}`)));
    });
  }

  test('every event appended before the kill is delivered after the restart, each webhook-id processed once', async () => {
    const db = await createTestDb();
    let service: Service | null = null;
    let rx: Receiver | null = null;
    try {
      // The first admin key: on a server database written before the service starts; an embedded
      // one (whose database has one owner at a time) writes its bootstrap key on first start.
      let admin = '';
      if (isRealPostgres) {
        const ctx = await db.open();
        admin = (await new ApiKeyStore(ctx.repos.apiKeys).create('admin', 'kill test admin')).token;
        await ctx.close();
      }

      // A port for the receiver, closed for now: the receiver is down when the events are appended.
      const probe = await startReceiver(() => 200);
      const port = probe.port;
      await probe.close();

      const c = db.config;
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH, HOME: process.env.HOME, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info',
        ASSENTMARK_DATA_DIR: c.dataDir, ASSENTMARK_ORIGIN: c.origin,
        ASSENTMARK_SIGNING_KEY_FILE: c.signingKeyFile, ASSENTMARK_MASTER_KEY_FILE: c.masterKeyFile,
        ASSENTMARK_PDF_CERT_FILE: c.pdfCertFile, ASSENTMARK_PDF_KEY_FILE: c.pdfKeyFile,
        ASSENTMARK_CHECKPOINT_INTERVAL_MS: '0',
        ASSENTMARK_WEBHOOK_ALLOW_PRIVATE: 'true', ASSENTMARK_WEBHOOK_POLL_MS: '20', ASSENTMARK_WEBHOOK_BASE_DELAY_MS: '50',
        ASSENTMARK_WEBHOOK_MAX_DELAY_MS: '200', ASSENTMARK_WEBHOOK_MAX_ATTEMPTS: '100000', ASSENTMARK_WEBHOOK_TIMEOUT_MS: '1000',
        ...(isRealPostgres ? { DATABASE_URL: c.databaseUrl } : {}),
      };
      service = await startService(env);
      const logs: string[] = [];
      if (!admin) admin = readFileSync(path.join(c.dataDir, 'admin-token'), 'utf8').trim();
      const call = async (method: string, p: string, token: string, body?: unknown) => {
        const res = await fetch(service!.url + p, {
          method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, any> };
      };
      const signupKey = await call('POST', '/v1/api-keys', admin, { role: 'signup', name: 'kill test signup' });
      assert.equal(signupKey.status, 201, JSON.stringify(signupKey.body));
      const signup = signupKey.body.token as string;
      const sub = await call('POST', '/v1/admin/webhooks', admin, { url: `http://127.0.0.1:${port}/hook`, event_types: ['acceptance.recorded', 'acceptance.declined', 'acceptance.withdrawn'] });
      assert.equal(sub.status, 201, JSON.stringify(sub.body));
      assert.equal((await call('POST', '/v1/eulas', admin, publishBody())).status, 201);
      const appended: string[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await call('POST', '/v1/acceptances', signup, acceptanceBody({ subject: `kill-${i}` }));
        assert.equal(r.status, 201, JSON.stringify(r.body));
        appended.push(r.body.ledger.event_id);
      }
      const dec = await call('POST', '/v1/declines', signup, acceptanceBody({ subject: 'kill-declines' }));
      const wd = await call('POST', '/v1/withdrawals', signup, withdrawalBody({ subject: 'kill-0' }));
      assert.equal(dec.status, 201);
      assert.equal(wd.status, 201);
      appended.push(dec.body.ledger.event_id, wd.body.ledger.event_id);

      // The receiver comes up but holds every request open: the service is killed mid-delivery.
      rx = await startReceiver(() => 'hang', port);
      await waitUntil(() => rx!.requests.length >= 1, 'a delivery reaches the hanging receiver');
      service.child.kill('SIGKILL');
      await service.exited;
      logs.push(service.output());
      service = null;
      const seenBeforeKill = new Map(rx.requests.map((q) => [q.id, q.body]));
      await rx.close();

      // Restart; the receiver now answers 200 and de-duplicates by webhook-id.
      rx = await startReceiver(() => 200, port);
      service = await startService(env);
      await waitUntil(() => rx!.processed.size === appended.length, `all ${appended.length} events are delivered`, 60_000);
      // Recorded as delivered, none pending (so none will be sent again), none failed.
      await waitUntil(async () => (await call('GET', `/v1/admin/webhooks/${sub.body.id}`, admin)).body.deliveries.delivered === appended.length, 'every delivery is recorded');
      assert.deepEqual((await call('GET', `/v1/admin/webhooks/${sub.body.id}`, admin)).body.deliveries, { pending: 0, delivered: appended.length, failed: 0, cancelled: 0 });
      service.child.kill('SIGTERM');
      assert.equal(await service.exited, 0, 'a clean shutdown');
      logs.push(service.output());
      service = null;
      const secret = sub.body.secret as string;
      assert.ok(logs.join('').includes('assentmark listening') && !logs.join('').includes(secret.slice(6)), 'the signing secret is in the service log');

      const delivered = [...rx.processed.values()].map((b) => JSON.parse(b).event_id as string);
      assert.deepEqual(delivered.sort(), [...appended].sort(), 'each event once');
      assert.equal(rx.duplicates, 0, 'no webhook-id answered 2xx twice');
      for (const [id, body] of seenBeforeKill) assert.equal(rx.processed.get(id), body, 'a delivery cut off by the kill is resent with its webhook-id and body');

    } finally {
      if (service) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
      await rx?.close();
      await db.destroy();
    }
  });
});
