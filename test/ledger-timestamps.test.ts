// Time from outside: the service stamps signed checkpoints at a real TSA (Debian's `openssl ts
// -reply` behind a local HTTP handler), keeps the tokens, serves them, and OpenSSL verifies them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verifyTimestampToken } from '../src/timestamp/rfc3161.js';
import { createTestApp, problemOf, useTestApp } from './helpers/app.js';
import { run } from './helpers/tools.js';
import { startTestTsa, type TestTsa } from './helpers/tsa.js';

describe('with a time-stamping authority', () => {
  let tsa: TestTsa;
  let work: string;
  before(async () => {
    tsa = await startTestTsa();
  });
  // The options are read when the app is created, once the TSA is up (a describe's hooks run in order).
  const t = useTestApp(() => ({
    config: { tsaUrl: tsa.url, tsaCaFile: tsa.caCertPath },
    async setup(app) {
      work = mkdtempSync(path.join(tmpdir(), 'assentmark-ts-'));
      await app.publishEula();
      assert.equal((await app.accept({ subject: 'ts-subject' })).status, 201);
    },
  }));
  after(async () => {
    await tsa.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('a signed checkpoint is stamped; the token is served and verifies with openssl ts -verify', async () => {
    const cp = await t.ctx.ledger.checkpoint();
    assert.ok(cp);
    await t.built.services.timestamps.stampLatest();
    const res = await t.get('/v1/ledger/timestamps/latest');
    assert.equal(res.status, 200, res.text);
    const body = res.body as { size: number; digest: string; token: string; checkpoint: string; gen_time: string };
    assert.equal(body.size, cp.size);
    assert.equal(body.checkpoint, cp.body.toString('utf8'));
    const digest = createHash('sha256').update(body.checkpoint, 'utf8').digest('hex');
    assert.equal(body.digest, digest, 'the imprint is SHA-256 of the whole signed note');
    assert.ok(Math.abs(Date.parse(body.gen_time) - Date.now()) < 60_000);
    writeFileSync(path.join(work, 'token.der'), Buffer.from(body.token, 'base64'));
    writeFileSync(path.join(work, 'checkpoint.note'), body.checkpoint);
    const sum = run('sha256sum', ['checkpoint.note'], { cwd: work }).stdout.split(' ')[0]!;
    const v = run('openssl', ['ts', '-verify', '-digest', sum, '-token_in', '-in', 'token.der', '-CAfile', tsa.caCertPath, '-untrusted', tsa.tsaCertPath], { cwd: work });
    assert.equal(v.status, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /Verification: OK/);
    const other = run('openssl', ['ts', '-verify', '-digest', 'ab'.repeat(32), '-token_in', '-in', 'token.der', '-CAfile', tsa.caCertPath, '-untrusted', tsa.tsaCertPath], { cwd: work });
    assert.notEqual(other.status, 0, 'another digest does not verify');
    // Stamping the same checkpoint again keeps the one token.
    const before = tsa.replies;
    await t.built.services.timestamps.stamp(cp);
    assert.equal(tsa.replies, before);
    verifyTimestampToken(Buffer.from(body.token, 'base64'), Buffer.from(digest, 'hex'), tsa.caCertPem);
  });

  test('a TSA that refuses gives timestamp_unavailable and records nothing', async () => {
    const bad = await createTestApp({ config: { tsaUrl: tsa.unavailableUrl } });
    try {
      await bad.publishEula();
      const cp = await bad.ctx.ledger.checkpoint();
      await assert.rejects(bad.built.services.timestamps.stamp(cp!), (e: unknown) => (e as { code?: string }).code === 'timestamp_unavailable' && /HTTP 503/.test((e as Error).message));
      assert.equal((await bad.get('/v1/ledger/timestamps/latest')).status, 404);
    } finally {
      await bad.close();
    }
  });
});

test('without a TSA the service runs, and says no outside timestamp exists', async () => {
  const t = await createTestApp();
  try {
    await t.publishEula();
    const cp = await t.ctx.ledger.checkpoint();
    assert.equal(await t.built.services.timestamps.stamp(cp!), null);
    const res = await t.get('/v1/ledger/timestamps/latest');
    assert.equal(res.status, 404);
    const p = problemOf(res);
    assert.equal(p.code, 'no_timestamp');
    assert.match(p.detail, /ASSENTMARK_TSA_URL/);
  } finally {
    await t.close();
  }
});
