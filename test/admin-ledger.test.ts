// The admin HTTP API of a running service: full ledger verification in the background (one at a
// time, its first bad entry after tampering), the streamed export that the CLI verifies offline,
// the ledger status, admin only; and the CLI's data_dir_locked message, whose curl lines work.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { ALL_ROLES, CLI_MAIN, isRealPostgres, problemOf, useTestApp, type TestApp } from './helpers/app.js';
import { exportLedger } from '../src/ledger/export.js';
import { binary, run, runAsync } from './helpers/tools.js';

type Json = Record<string, any>;

const ACCEPTANCES = 5;
const t = useTestApp({
  async setup(app) {
    await app.publishEula();
    for (let i = 0; i < ACCEPTANCES; i++) assert.equal((await app.accept({ subject: `admin-subject-${i}` })).status, 201);
    await app.ctx.ledger.checkpoint();
  },
});
const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-admin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const JOB_URL = /^\/v1\/admin\/ledger\/verifications\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Polls a job until it is no longer running (each poll waits for the event loop, no fixed sleep). */
async function outcome(location: string): Promise<Json> {
  for (;;) {
    const res = await t.get(location, 'admin');
    assert.equal(res.status, 200, res.text);
    if (res.body.state !== 'running') return res.body as Json;
    await new Promise((r) => setImmediate(r));
  }
}

/**
 * Holds the ledger's reads until released, so a started verification is certainly still running:
 * a lock on ledger_head from the attacker's connection (real server), or the one embedded
 * connection held by an open transaction.
 */
async function holdLedger(app: TestApp): Promise<() => Promise<void>> {
  if (isRealPostgres) {
    await app.db.superuser('BEGIN');
    await app.db.superuser('LOCK TABLE ledger_head IN ACCESS EXCLUSIVE MODE');
    return async () => {
      await app.db.superuser('COMMIT');
    };
  }
  let release!: () => void;
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const held = new Promise<void>((r) => (release = r));
  const tx = app.ctx.handle.db.transaction().execute(async () => {
    entered();
    await held;
  });
  await inside;
  return async () => {
    release();
    await tx;
  };
}

const headSize = async () => (await t.ctx.ledger.head()).size;

describe('admin only', () => {
  test('every role but admin gets 403 on every admin route, no key 401', async () => {
    const urls: Array<['get' | 'post', string]> = [
      ['post', '/v1/admin/ledger/verifications'],
      ['get', `/v1/admin/ledger/verifications/${randomUUID()}`],
      ['get', '/v1/admin/ledger/export'],
      ['get', '/v1/admin/ledger/status'],
    ];
    for (const [method, url] of urls) {
      for (const role of ALL_ROLES.filter((r) => r !== 'admin')) {
        const res = await t.req(method, url, role);
        assert.equal(res.status, 403, `${role} ${method} ${url}`);
        assert.equal(problemOf(res).code, 'forbidden');
      }
      assert.equal((await t.req(method, url)).status, 401);
    }
    assert.equal(t.ctx.ledgerVerifications.running(), null, 'no refused request started a verification');
  });

  test('an unknown job is 404 ledger_verification_not_found; a malformed id is 400', async () => {
    const res = await t.get(`/v1/admin/ledger/verifications/${randomUUID()}`, 'admin');
    assert.equal(res.status, 404);
    assert.equal(problemOf(res).code, 'ledger_verification_not_found');
    const bad = await t.get('/v1/admin/ledger/verifications/not-a-uuid', 'admin');
    assert.equal(bad.status, 400);
    assert.equal(problemOf(bad).code, 'validation_failed');
  });
});

describe('verification jobs', () => {
  test('start, poll, outcome ok with the verifier\'s report; the status and metrics record it', async () => {
    const size = await headSize();
    const res = await t.post('/v1/admin/ledger/verifications', 'admin');
    assert.equal(res.status, 202, res.text);
    assert.match(res.headers.location ?? '', JOB_URL);
    assert.equal(res.body.state, 'running');
    assert.equal(res.body.trigger, 'admin');
    assert.equal(res.headers.location, `/v1/admin/ledger/verifications/${res.body.id}`);
    const job = await outcome(res.headers.location!);
    assert.equal(job.state, 'finished');
    assert.equal(job.entries_total, size);
    assert.equal(job.entries_checked, size);
    assert.ok(job.finished_at >= job.started_at);
    assert.equal(job.result.ok, true, JSON.stringify(job.result));
    assert.equal(job.result.size, size);
    assert.equal(job.result.fault, null);
    assert.equal(job.result.checkpoints_verified, 1);
    assert.equal(job.result.head_hash, (await t.ctx.ledger.head()).chainHash.toString('hex'));

    const st = await t.get('/v1/admin/ledger/status', 'admin');
    assert.equal(st.status, 200, st.text);
    assert.equal(st.body.size, size);
    assert.equal(st.body.latest_checkpoint.size, size);
    assert.equal(st.body.last_verification.id, job.id);
    assert.equal(st.body.last_verification.result.ok, true);
    assert.equal(st.body.running_verification, null);
    const metrics = await t.get('/metrics', 'admin');
    assert.match(metrics.text, /^assentmark_ledger_verifications_total\{outcome="ok"\} 1$/m);
  });

  test('one at a time: starts while one runs get 409 naming it, start nothing, and it still finishes ok', async () => {
    assert.equal((await t.get('/v1/admin/ledger/status', 'admin')).status, 200); // the admin key is now cached
    const release = await holdLedger(t);
    let first: Json;
    let refused: Array<{ status: number; body: Json; text: string; headers: Record<string, string> }>;
    try {
      const res = await t.post('/v1/admin/ledger/verifications', 'admin');
      assert.equal(res.status, 202, res.text);
      first = res.body as Json;
      refused = await Promise.all(Array.from({ length: 4 }, () => t.post('/v1/admin/ledger/verifications', 'admin')));
    } finally {
      await release();
    }
    for (const r of refused) {
      assert.equal(r.status, 409, r.text);
      const p = problemOf(r);
      assert.equal(p.code, 'ledger_verification_running');
      assert.equal(p.job_id, first.id);
      assert.equal(p.location, `/v1/admin/ledger/verifications/${first.id}`);
    }
    const job = await outcome(`/v1/admin/ledger/verifications/${first.id}`);
    assert.equal(job.result.ok, true, JSON.stringify(job));
    const again = await t.post('/v1/admin/ledger/verifications', 'admin');
    assert.equal(again.status, 202, 'a new one starts once it has finished');
    await outcome(again.headers.location!);
  });
});

describe('export over HTTP', () => {
  test('streams the CLI\'s export format v2; the CLI verifies the file, and it matches `ledger export` line for line', async () => {
    const size = await headSize();
    const res = await t.get('/v1/admin/ledger/export', 'admin').buffer(true).parse(binary as never);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^application\/x-ndjson/);
    assert.match(res.headers['content-disposition'] ?? '', /^attachment; filename="?ledger-export\.jsonl"?$/);
    const file = path.join(dir, 'http-export.jsonl');
    writeFileSync(file, res.body as Buffer);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    assert.equal(JSON.parse(lines[0]!).format, 'assentmark.ledger-export/v2');
    assert.equal(lines.filter((l) => JSON.parse(l).kind === 'entry').length, size);

    const pub = t.ctx.ledger.signingKey.publicKey.toString('base64');
    const offline: NodeJS.ProcessEnv = { PATH: process.env.PATH, ASSENTMARK_DATA_DIR: path.join(dir, 'no-data-dir') };
    const v = run(process.execPath, [CLI_MAIN, 'ledger', 'verify', '--file', file, '--public-key', pub], { env: offline });
    assert.equal(v.status, 0, v.out);
    assert.match(v.stdout, new RegExp(`^OK: ${size} entries intact, 1 signed checkpoint\\(s\\) verified`));

    // What `assentmark ledger export` writes (its own function, in process: the data directory is held here).
    const cliFile = path.join(dir, 'cli-export.jsonl');
    await exportLedger(t.ctx.ledger, cliFile, t.ctx.ledger.origin);
    const cliLines = readFileSync(cliFile, 'utf8').trimEnd().split('\n');
    const header = (l: string) => {
      const { exported_at: _, ...rest } = JSON.parse(l) as Json;
      return rest;
    };
    assert.deepEqual(header(cliLines[0]!), header(lines[0]!));
    assert.deepEqual(cliLines.slice(1), lines.slice(1));
  });

  test('a client that goes away mid-export leaves the service answering', async () => {
    const srv = await t.listen();
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`${srv.url}/v1/admin/ledger/export`, { headers: { authorization: `Bearer ${t.tokens.admin}` } }, (res) => {
          assert.equal(res.statusCode, 200);
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(e)));
      });
      const st = await fetch(`${srv.url}/v1/admin/ledger/status`, { headers: { authorization: `Bearer ${t.tokens.admin}` } });
      assert.equal(st.status, 200);
      const again = await fetch(`${srv.url}/v1/admin/ledger/export`, { headers: { authorization: `Bearer ${t.tokens.admin}` } });
      assert.equal(again.status, 200);
      assert.equal((await again.text()).trimEnd().split('\n').length, 1 + 1 + (await headSize()));
    } finally {
      await srv.close();
    }
  });
});

describe('the CLI while the service holds the embedded database', () => {
  test('ledger verify and export refuse with curl lines for the admin API, and those lines work', { skip: isRealPostgres && 'only the embedded database is locked to one process' }, async () => {
    const srv = await t.listen();
    try {
      const port = new URL(srv.url).port;
      const env = { ...t.cliEnv(), HOST: '127.0.0.1', PORT: port };
      // This test process holds the data directory: the CLI cannot open it.
      const v = run(process.execPath, [CLI_MAIN, 'ledger', 'verify'], { env });
      assert.equal(v.status, 2, v.out);
      assert.match(v.stderr, /is in use by process \d+/);
      const curl = v.stderr.split('\n').filter((l) => l.trim().startsWith('curl '));
      assert.equal(curl.length, 2, v.stderr);
      assert.ok(curl[0]!.includes(`http://127.0.0.1:${port}/v1/admin/ledger/verifications`), curl[0]);
      const shell = { ...process.env, ADMIN_API_KEY: t.tokens.admin };
      // The service answers from this process: the commands run asynchronously.
      const started = await runAsync('bash', ['-c', curl[0]!.trim()], { env: shell });
      assert.equal(started.status, 0, started.out);
      const id = (JSON.parse(started.stdout) as Json).id as string;
      await outcome(`/v1/admin/ledger/verifications/${id}`);
      const polled = await runAsync('bash', ['-c', curl[1]!.trim().replace('<id from that answer>', id)], { env: shell });
      assert.equal(polled.status, 0, polled.out);
      assert.equal((JSON.parse(polled.stdout) as Json).result.ok, true, polled.stdout);

      const e = run(process.execPath, [CLI_MAIN, 'ledger', 'export', path.join(dir, 'never-written.jsonl')], { env });
      assert.equal(e.status, 2, e.out);
      const lines = e.stderr.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('curl ') || l.startsWith('assentmark '));
      assert.equal(lines.length, 3, e.stderr);
      const work = mkdtempSync(path.join(dir, 'cli-hint-'));
      for (const l of lines) {
        const cmd = l.replace(/^assentmark /, `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_MAIN)} `);
        const r = await runAsync('bash', ['-c', cmd], { env: { ...shell, ASSENTMARK_DATA_DIR: path.join(work, 'no-data-dir') }, cwd: work });
        assert.equal(r.status, 0, `${cmd}\n${r.out}`);
        if (l.startsWith('assentmark ')) assert.match(r.stdout, /^OK: \d+ entries intact/);
      }
    } finally {
      await srv.close();
    }
  });
});

describe('tampering', () => {
  test('an entry altered in the database: the job reports it as the first bad entry, in the verifier\'s terms', async () => {
    const size = await headSize();
    const target = size - 2;
    await t.db.superuser('ALTER TABLE ledger_entries DISABLE TRIGGER ALL');
    try {
      await t.db.superuser('UPDATE ledger_entries SET leaf_hash = $1 WHERE seq = $2', [randomBytes(32), target]);
    } finally {
      await t.db.superuser('ALTER TABLE ledger_entries ENABLE TRIGGER ALL');
      for (const tr of ['no_update_delete', 'no_truncate']) await t.db.superuser(`ALTER TABLE ledger_entries ENABLE ALWAYS TRIGGER ledger_entries_${tr}`);
    }
    const res = await t.post('/v1/admin/ledger/verifications', 'admin');
    assert.equal(res.status, 202, res.text);
    const job = await outcome(res.headers.location!);
    assert.equal(job.state, 'finished');
    assert.equal(job.result.ok, false);
    assert.deepEqual({ seq: job.result.fault.seq, code: job.result.fault.code }, { seq: target, code: 'leaf_hash_mismatch' });
    assert.match(job.result.fault.reason, /leaf hash/);
    const st = await t.get('/v1/admin/ledger/status', 'admin');
    assert.equal(st.body.last_verification.result.fault.seq, target);
    const metrics = await t.get('/metrics', 'admin');
    assert.match(metrics.text, /^assentmark_ledger_verifications_total\{outcome="failed"\} 1$/m);
  });
});
