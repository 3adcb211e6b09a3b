// PostgreSQL itself restarts under load. A private PostgreSQL cluster (never the shared server other
// tests use) serves the real service process (dist/src/bin/server.js, real HTTP) while 32 clients
// post acceptances; the cluster is restarted with `pg_ctl restart -m immediate` (every backend
// killed, crash recovery), then stopped for a few seconds and started again. The service process
// must stay up, answer 503 database_unavailable with Retry-After meanwhile (never a 500), serve
// again by itself, and every acknowledged acceptance must be in the database exactly once with a
// ledger that verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { SigningKey } from '../src/crypto/ed25519.js';
import { writeSecretFile } from '../src/keys/files.js';
import { generateMasterKeyText } from '../src/keys/master-key.js';
import { generateSigningIdentity, saveSigningIdentity } from '../src/pdf/certificate.js';
import { packageRoot } from '../src/util/paths.js';
import { acceptanceBody, CLI_MAIN, isRealPostgres, publishBody } from './helpers/app.js';
import { privateClusterUnavailable, startPrivateCluster, type PgCluster } from './helpers/pg-cluster.js';
import { run } from './helpers/tools.js';

const SERVER_MAIN = path.join(packageRoot(), 'dist', 'src', 'bin', 'server.js');
const CLIENTS = 32;

const SKIP = !isRealPostgres ? 'embedded mode (no DATABASE_URL): this test is for the PostgreSQL server' : privateClusterUnavailable() ?? false;

interface Service {
  child: ChildProcessByStdio<null, Readable, Readable>;
  url: string;
  output: () => string;
}

async function startService(env: NodeJS.ProcessEnv): Promise<Service> {
  const child = spawn(process.execPath, [SERVER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const line = out.split('\n').find((l) => l.includes('"assentmark listening"'));
    if (line) return { child, url: `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`, output: () => out };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail(`the service did not start: ${out}`);
    }
    await sleep(20);
  }
}

type Phase = 'before' | 'restart' | 'after-restart' | 'down' | 'after-down';

interface Answer {
  status: number;
  body: Record<string, any>;
  contentType: string;
  retryAfter: string | null;
}

test('a PostgreSQL restart (immediate) and a stop/start under 32 clients: the process stays up, 503 meanwhile, recovers, every 201 recorded once', { skip: SKIP, timeout: 120_000 }, async (tc) => {
  const t0 = performance.now();
  const cluster: PgCluster = await startPrivateCluster();
  tc.after(() => cluster.destroy());
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-restart-'));
  tc.after(() => rmSync(dir, { recursive: true, force: true }));
  const admin = new pg.Client({ connectionString: cluster.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE assentmark');
  await admin.end();

  mkdirSync(path.join(dir, 'keys'));
  const keys = { sign: path.join(dir, 'keys', 'signing.pem'), master: path.join(dir, 'keys', 'master.hex'), cert: path.join(dir, 'keys', 'pdf-cert.pem'), key: path.join(dir, 'keys', 'pdf-key.pem') };
  writeSecretFile(keys.sign, SigningKey.generate().toPem());
  writeSecretFile(keys.master, generateMasterKeyText());
  await saveSigningIdentity(await generateSigningIdentity({ organization: 'assentmark restart test' }), keys.cert, keys.key);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: cluster.url('assentmark'),
    ASSENTMARK_DATA_DIR: path.join(dir, 'data'),
    ASSENTMARK_SIGNING_KEY_FILE: keys.sign,
    ASSENTMARK_MASTER_KEY_FILE: keys.master,
    ASSENTMARK_PDF_CERT_FILE: keys.cert,
    ASSENTMARK_PDF_KEY_FILE: keys.key,
    ASSENTMARK_DB_CONNECT_TIMEOUT_MS: '1000',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };

  const svc = await startService(env);
  let exited: string | null = null;
  svc.child.once('exit', (code, signal) => (exited = `exit ${code ?? signal}`));
  tc.after(() => {
    svc.child.kill('SIGKILL');
  });
  const cliEnv = { ...env, LOG_LEVEL: 'silent' };
  const tokenOf = async (role: string) => {
    const r = await run(process.execPath, [CLI_MAIN, 'apikey', 'create', '--role', role, '--name', `restart ${role}`], { env: cliEnv });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const [adminToken, signupToken] = [await tokenOf('admin'), await tokenOf('signup')];
  const published = await fetch(`${svc.url}/v1/eulas`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(publishBody()) });
  assert.equal(published.status, 201, await published.text());
  tc.diagnostic(`cluster, service, keys and EULA ready after ${Math.round(performance.now() - t0)} ms`);

  // A plain GET of the service. The CLI commands below run synchronously and block this process for
  // seconds; meanwhile the service closes the idle keep-alive sockets of this process's fetch pool,
  // and the first request on such a socket fails without reaching the service. So a failed GET is
  // tried once more, on a new connection; a service that is gone fails both.
  const get = async (p: string): Promise<Response> => {
    try {
      return await fetch(`${svc.url}${p}`);
    } catch (e) {
      if (exited !== null) assert.fail(`the service process ended (${String(exited)}): ${svc.output().slice(-3000)}`);
      await sleep(100);
      try {
        return await fetch(`${svc.url}${p}`);
      } catch (again) {
        assert.fail(`GET ${p} failed twice (${String(e)}; ${String(again)}; cause ${String((again as { cause?: unknown }).cause)}); service output:\n${svc.output().slice(-3000)}`);
      }
    }
  };

  const accept = async (key: string, subject: string): Promise<Answer> => {
    const res = await fetch(`${svc.url}/v1/acceptances`, {
      method: 'POST',
      headers: { authorization: `Bearer ${signupToken}`, 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(acceptanceBody({ subject })),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let body: Record<string, any> = {};
    try {
      body = JSON.parse(text) as Record<string, any>;
    } catch {
      body = { unparsed: text.slice(0, 200) };
    }
    return { status: res.status, body, contentType: res.headers.get('content-type') ?? '', retryAfter: res.headers.get('retry-after') };
  };

  let phase: Phase = 'before';
  let stop = false;
  let n = 0;
  const acked = new Map<string, { id: string; seq: number }>(); // Idempotency-Key -> acknowledged record
  const refused: Array<{ key: string; subject: string }> = [];
  const unavailableIn = new Map<Phase, number>();
  const wrong: string[] = [];
  const servedAfter = new Map<Phase, Set<number>>();
  const client = async (w: number) => {
    while (!stop) {
      const key = `restart-${w}-${n++}`;
      const subject = `subject-${key}`;
      const seen = phase;
      let a: Answer;
      try {
        a = await accept(key, subject);
      } catch (e) {
        wrong.push(`no HTTP answer (${seen}): ${String(e)}`);
        refused.push({ key, subject });
        await sleep(50);
        continue;
      }
      if (a.status === 201) {
        acked.set(key, { id: a.body.id as string, seq: a.body.ledger.seq as number });
        (servedAfter.get(seen) ?? servedAfter.set(seen, new Set()).get(seen)!).add(w);
      } else if (a.status === 503 && a.body.code === 'database_unavailable') {
        if (!a.contentType.startsWith('application/problem+json')) wrong.push(`503 as ${a.contentType}`);
        if (!/^\d+$/.test(a.retryAfter ?? '')) wrong.push(`503 without Retry-After (${String(a.retryAfter)})`);
        unavailableIn.set(seen, (unavailableIn.get(seen) ?? 0) + 1);
        refused.push({ key, subject });
        // As a client told to retry later would: not at once (sooner than Retry-After, to see the recovery).
        await sleep(250);
      } else {
        wrong.push(`${a.status} (${seen}): ${JSON.stringify(a.body).slice(0, 300)}`);
        refused.push({ key, subject });
      }
    }
  };
  const until = async (done: () => boolean, what: string, ms = 45_000) => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (exited !== null) assert.fail(`the service process ended (${String(exited)}) waiting for ${what}:\n${svc.output().slice(-3000)}`);
      if (Date.now() > deadline) assert.fail(`gave up waiting: ${what}; ${wrong.slice(0, 5).join('; ')}\n${svc.output().slice(-3000)}`);
      await sleep(20);
    }
  };
  const everyClientServed = (p: Phase) => () => (servedAfter.get(p)?.size ?? 0) === CLIENTS;

  const clients = Array.from({ length: CLIENTS }, (_, w) => client(w));
  // A failed wait ends the clients too, so the file ends with the test.
  tc.after(() => {
    stop = true;
  });
  await until(() => acked.size >= 100, '100 acceptances before the restart');

  phase = 'restart';
  const r0 = performance.now();
  await cluster.restartImmediate();
  phase = 'after-restart';
  tc.diagnostic(`pg_ctl restart -m immediate took ${Math.round(performance.now() - r0)} ms`);
  await until(everyClientServed('after-restart'), 'every client served again after the restart');

  phase = 'down';
  await cluster.stop('fast');
  const downFrom = performance.now();
  await sleep(3000);
  await cluster.start();
  tc.diagnostic(`down for ${Math.round(performance.now() - downFrom)} ms`);
  phase = 'after-down';
  await until(everyClientServed('after-down'), 'every client served again after the stop and start');
  stop = true;
  await Promise.all(clients);

  tc.diagnostic(`${acked.size} acknowledged; 503 during the restart ${unavailableIn.get('restart') ?? 0}, while down ${unavailableIn.get('down') ?? 0}, just after ${(unavailableIn.get('after-restart') ?? 0) + (unavailableIn.get('after-down') ?? 0)}`);
  assert.equal(exited, null, 'the service process stayed up');
  assert.equal(svc.child.exitCode, null);
  assert.deepEqual(wrong, [], 'every answer is a 201 or a 503 database_unavailable problem with Retry-After');
  assert.ok((unavailableIn.get('down') ?? 0) > 0, 'requests while the database was down were answered 503');
  assert.ok((unavailableIn.get('restart') ?? 0) + (unavailableIn.get('after-restart') ?? 0) > 0, 'requests cut by the immediate restart were answered 503');

  // Each refused request retried with its Idempotency-Key: its record if the outage hid a commit, a new one otherwise.
  tc.diagnostic(`outages over after ${Math.round(performance.now() - t0)} ms; retrying ${refused.length}`);
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let r = refused.shift(); r; r = refused.shift()) {
      const a = await accept(r.key, r.subject);
      assert.equal(a.status, 201, JSON.stringify(a.body));
      acked.set(r.key, { id: a.body.id as string, seq: a.body.ledger.seq as number });
    }
  }));
  tc.diagnostic(`retried after ${Math.round(performance.now() - t0)} ms`);

  let size = 0;
  const db = new pg.Client({ connectionString: cluster.url('assentmark') });
  await db.connect();
  try {
    const { rows } = await db.query<{ id: string; ledger_seq: string; key: string; event_type: string }>(`
      SELECT r.id, r.ledger_seq, i.key, e.event_type
        FROM assent_records r
        JOIN idempotency_keys i ON i.record_id = r.id
        JOIN ledger_entries e ON e.seq = r.ledger_seq
       WHERE i.key LIKE 'restart-%'`);
    const byKey = new Map<string, typeof rows>();
    for (const r of rows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
    assert.equal(rows.length, acked.size, 'one record per acknowledged Idempotency-Key, nothing more');
    for (const [key, a] of acked) {
      const found = byKey.get(key) ?? [];
      assert.equal(found.length, 1, `acknowledged ${key} (${a.id}) is recorded exactly once`);
      assert.equal(found[0]!.id, a.id);
      assert.equal(Number(found[0]!.ledger_seq), a.seq);
      assert.equal(found[0]!.event_type, 'acceptance.recorded');
    }
    const { rows: [events] } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ledger_entries WHERE event_type = 'acceptance.recorded'`);
    assert.equal(Number(events!.n), acked.size, 'no acceptance event without its acknowledged record');
    size = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM ledger_entries')).rows[0]!.n);
  } finally {
    await db.end();
  }

  // The checkpoint timer came back by itself too: a signed checkpoint covers the whole ledger.
  const covered = async () => ((await (await get('/v1/ledger/checkpoints/latest')).json()) as { size?: number }).size === size;
  for (let deadline = Date.now() + 10_000; !(await covered()); await sleep(100)) {
    if (Date.now() > deadline) assert.fail(`no checkpoint of the ledger's ${size} entries after the outages`);
  }
  // Outages are logged as such; nothing was an unhandled error.
  const unhandled = svc.output().split('\n').filter((l) => l.includes('"unhandled error"') || l.includes('uncaught'));
  assert.deepEqual(unhandled, []);

  const verified = await run(process.execPath, [CLI_MAIN, 'ledger', 'verify', '--json'], { env: cliEnv });
  assert.equal(verified.status, 0, `ledger verify: ${verified.stdout}${verified.stderr}`);
  assert.equal((JSON.parse(verified.stdout) as { ok: boolean }).ok, true);
  assert.equal((await get('/readyz')).status, 200);
  assert.equal(exited, null, 'still up at the end');
  svc.child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => (svc.child.exitCode !== null ? resolve(svc.child.exitCode) : svc.child.once('exit', (c) => resolve(c))));
  assert.equal(code, 0, 'a graceful stop');
  tc.diagnostic(`done after ${Math.round(performance.now() - t0)} ms`);
});
