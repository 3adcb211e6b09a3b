// The real service process (dist/src/bin/server.js) killed with SIGKILL in the middle of concurrent
// acceptances, then started again on the same database: every acceptance it acknowledged is in the
// ledger exactly once, a retry of every unacknowledged one with its Idempotency-Key gets one record,
// and the ledger verifies. Runs on the test database of the run: a real PostgreSQL database, or an
// embedded data directory (whose lock the killed process leaves behind).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { packageRoot } from '../src/util/paths.js';
import { acceptanceBody, createTestApp, isRealPostgres, type TestApp } from './helpers/app.js';

const SERVER_MAIN = path.join(packageRoot(), 'dist', 'src', 'bin', 'server.js');

interface Service {
  child: ChildProcessByStdio<null, Readable, Readable>;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the service on the test app's database and waits until it listens. */
async function startService(t: TestApp): Promise<Service> {
  const env = { ...t.cliEnv(), PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  const child = spawn(process.execPath, [SERVER_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const deadline = Date.now() + 120_000;
  for (;;) {
    const line = out.split('\n').find((l) => l.includes('"assentmark listening"'));
    if (line) {
      const { port } = JSON.parse(line) as { port: number };
      return { child, url: `http://127.0.0.1:${port}`, exited };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      assert.fail(`the service did not start: ${out}${err}`);
    }
    await sleep(20);
  }
}

interface Attempt {
  key: string;
  subject: string;
  /** The acknowledged record (a 201), or null when no answer came or it was not a 201. */
  acked: { id: string; seq: number } | null;
}

async function acceptOnce(svc: Service, token: string, a: Pick<Attempt, 'key' | 'subject'>): Promise<{ status: number; body: Record<string, any>; replayed: boolean }> {
  const res = await fetch(`${svc.url}/v1/acceptances`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': a.key },
    body: JSON.stringify(acceptanceBody({ subject: a.subject })),
  });
  const body = (await res.json()) as Record<string, any>;
  return { status: res.status, body, replayed: res.headers.get('idempotent-replayed') === 'true' };
}

test('kill -9 mid-load and restart: every acknowledged acceptance is in the ledger once, retries answer right, the ledger verifies', async (tc) => {
  const t = await createTestApp();
  tc.after(() => t.close());
  await t.publishEula();
  const token = t.tokens.signup;
  // Embedded PostgreSQL belongs to one process: the service process takes the data directory.
  if (!isRealPostgres) await t.ctx.close();

  const t0 = performance.now();
  let svc = await startService(t);
  tc.after(() => {
    svc.child.kill('SIGKILL');
  });
  const attempts: Attempt[] = [];
  let acked = 0;
  let stop = false;
  const client = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const a: Attempt = { key: t.idem(), subject: `crash-${w}-${i}`, acked: null };
      attempts.push(a);
      try {
        const r = await acceptOnce(svc, token, a);
        if (r.status === 201) {
          a.acked = { id: r.body.id as string, seq: r.body.ledger.seq as number };
          acked++;
        } else {
          assert.fail(`before the kill: ${r.status} ${JSON.stringify(r.body)}`);
        }
      } catch (e) {
        if (!stop) throw e;
        // The service died under this request: its outcome is unknown.
      }
    }
  };
  const clients = Array.from({ length: 16 }, (_, w) => client(w));
  const deadline = Date.now() + 120_000;
  while (acked < 60) {
    if (Date.now() > deadline) assert.fail(`only ${acked} acceptances acknowledged`);
    await sleep(5);
  }
  stop = true;
  svc.child.kill('SIGKILL');
  const died = await svc.exited;
  assert.equal(died.signal, 'SIGKILL');
  await Promise.all(clients);
  const unanswered = attempts.filter((a) => !a.acked);
  tc.diagnostic(`${acked} acknowledged before the kill, ${unanswered.length} without an answer`);
  assert.ok(unanswered.length > 0, 'the kill caught requests in flight');

  tc.diagnostic(`killed after ${Math.round(performance.now() - t0)} ms`);
  svc = await startService(t);
  tc.diagnostic(`restarted after ${Math.round(performance.now() - t0)} ms`);
  const retry = async (a: Attempt) => {
    const r = await acceptOnce(svc, token, a);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    if (a.acked) {
      // An acknowledged acceptance survived the kill: its retry is a replay of the same record.
      assert.equal(r.replayed, true, `acknowledged ${a.acked.id} was not found after the restart`);
      assert.equal(r.body.id, a.acked.id);
      assert.equal(r.body.ledger.seq, a.acked.seq);
    } else {
      a.acked = { id: r.body.id as string, seq: r.body.ledger.seq as number };
    }
  };
  const queue = [...attempts];
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let a = queue.shift(); a; a = queue.shift()) await retry(a);
  }));
  assert.equal((await acceptOnce(svc, token, { key: t.idem(), subject: 'after-restart' })).status, 201);
  svc.child.kill('SIGTERM');
  assert.equal((await svc.exited).code, 0, 'a graceful stop after the restart');

  tc.diagnostic(`retried and stopped after ${Math.round(performance.now() - t0)} ms`);
  if (!isRealPostgres) await t.reopen(false);
  // Read through the service's own connection: in embedded mode the context opened last.
  const query = async (text: string) => (await sql.raw<Record<string, unknown>>(text).execute(t.ctx.handle.db)).rows;
  const rows = await query(`
    SELECT r.id, r.ledger_seq, i.key, e.event_type
      FROM assent_records r
      JOIN idempotency_keys i ON i.record_id = r.id
      JOIN ledger_entries e ON e.seq = r.ledger_seq
     WHERE r.subject LIKE 'crash-%'`);
  const byKey = new Map(rows.map((r) => [r.key as string, r]));
  assert.equal(rows.length, attempts.length, 'one record per Idempotency-Key');
  assert.equal(byKey.size, attempts.length);
  for (const a of attempts) {
    const r = byKey.get(a.key);
    assert.ok(r, `no record for ${a.subject}`);
    assert.equal(r.id, a.acked!.id);
    assert.equal(Number(r.ledger_seq), a.acked!.seq);
    assert.equal(r.event_type, 'acceptance.recorded');
  }
  const [events] = await query(`SELECT count(*) AS n FROM ledger_entries WHERE event_type = 'acceptance.recorded'`);
  assert.equal(Number(events!.n), attempts.length + 1, 'no acceptance event without its record (+1: after-restart)');
  const report = await t.ctx.ledger.verify();
  assert.equal(report.ok, true, JSON.stringify(report.fault));
});
