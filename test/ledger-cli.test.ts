// The real command line: `assentmark ledger checkpoint | verify | export` against a test database,
// and `ledger verify --file --public-key` offline, with no database configured at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { SigningKey } from '../src/crypto/ed25519.js';
import type { VerifyReport } from '../src/ledger/verifier.js';
import type { ServiceContext } from '../src/app/context.js';
import { CLI_MAIN } from './helpers/app.js';
import { createTestDb, isRealPostgres, type TestDb } from './helpers/context.js';
import { eulaEvent } from './helpers/ledger-fixtures.js';
import { flip, hasTool, run, runAsync, type RunResult } from './helpers/tools.js';

/** The CLI (the compiled src/bin/assentmark.ts) as a child process: runs may overlap, as deployments' would. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
  return runAsync(process.execPath, [CLI_MAIN, ...args], { env });
}

/** The environment a deployment would set for this test database. */
function dbEnv(db: TestDb): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ASSENTMARK_SIGNING_KEY_FILE: db.config.signingKeyFile,
    ASSENTMARK_ORIGIN: db.config.origin,
    ASSENTMARK_DATA_DIR: db.config.dataDir,
    LOG_LEVEL: 'silent',
  };
  if (isRealPostgres) {
    env.DATABASE_URL = db.config.databaseUrl;
    env.ASSENTMARK_DB_ROLE = db.config.dbRole ?? 'assentmark_service';
  }
  return env;
}

const explain = (r: RunResult) => `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

test('CLI: checkpoint, verify, export, offline verify, and failures naming the entry', async (t) => {
  const db = await createTestDb();
  t.after(() => db.destroy());
  let ctx: ServiceContext | null = await db.open();
  await Promise.all(Array.from({ length: 30 }, (_, i) => ctx!.ledger.append({ events: [eulaEvent(i)] })));
  const publicKey = ctx.ledger.signingKey.publicKey;
  const origin = ctx.ledger.origin;
  // PGlite is single-process: the CLI can only open the data directory once we let go of it.
  if (!isRealPostgres) {
    await ctx.close();
    ctx = null;
  }
  const env = dbEnv(db);
  const exportFile = path.join(db.dir, 'ledger-export.jsonl');
  const pubPem = path.join(db.dir, 'signing-public.pem');
  writeFileSync(pubPem, SigningKey.fromPem(readFileSync(db.config.signingKeyFile!, 'utf8')).publicKeyPem());
  // Offline: no DATABASE_URL, and a data directory that must not come into existence.
  const offlineDir = path.join(db.dir, 'offline-data-dir-must-not-exist');
  const offline: NodeJS.ProcessEnv = { PATH: process.env.PATH, ASSENTMARK_DATA_DIR: offlineDir };

  await t.test('ledger checkpoint signs the current head', async () => {
    const r = await cli(['ledger', 'checkpoint', '--json'], env);
    assert.equal(r.status, 0, explain(r));
    const cp = JSON.parse(r.stdout) as { format: number; size: number; chain_hash: string; root_hash: string; key_id: string; body: string; signature: string };
    assert.equal(cp.size, 31);
    assert.equal(cp.format, 2, 'a C2SP signed note');
    assert.match(cp.chain_hash, /^[0-9a-f]{64}$/);
    assert.equal(cp.body.split('\n')[1], '31', 'the note\'s size line');
    assert.equal(cp.body.split('\n')[2], cp.root_hash, 'the note\'s root line');
    assert.equal(Buffer.from(cp.signature, 'base64').length, 64);
  });

  await t.test('ledger verify exits 0; --json has the report shape', async () => {
    // Embedded PGlite boots slowly and admits one process at a time: there only --json runs here
    // (the text forms are checked by the offline runs and after tampering, through the same printer).
    const [jr, r] = await Promise.all([cli(['ledger', 'verify', '--json'], env), ...(isRealPostgres ? [cli(['ledger', 'verify'], env)] : [])]);
    if (r) {
      assert.equal(r.status, 0, explain(r));
      assert.match(r.stdout, /^OK: 31 entries intact, 1 signed checkpoint\(s\) verified, head [0-9a-f]{64}\n$/);
    }
    assert.equal(jr!.status, 0, explain(jr!));
    const rep = JSON.parse(jr!.stdout) as VerifyReport;
    assert.deepEqual(Object.keys(rep).sort(), ['checkpointsVerified', 'fault', 'headHash', 'latestCheckpointSize', 'ok', 'origin', 'size', 'treeRoot']);
    assert.equal(rep.ok, true);
    assert.equal(rep.size, 31);
    assert.equal(rep.origin, origin);
    assert.match(rep.headHash!, /^[0-9a-f]{64}$/);
    assert.equal(rep.checkpointsVerified, 1);
    assert.equal(rep.latestCheckpointSize, 31);
    assert.equal(rep.fault, null);
  });

  await t.test('ledger export, then verify --file offline without any database', async () => {
    const r = await cli(['ledger', 'export', exportFile], env);
    assert.equal(r.status, 0, explain(r));
    assert.match(r.stdout, /wrote 31 entries and 1 checkpoints/);
    const lines = readFileSync(exportFile, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1 + 1 + 31);
    // Offline verifications are independent processes: run them side by side.
    const runs = await Promise.all([
      ...[publicKey.toString('base64'), publicKey.toString('hex'), pubPem].map((key) => cli(['ledger', 'verify', '--file', exportFile, '--public-key', key], offline)),
      cli(['ledger', 'verify', '--file', exportFile, '--public-key', pubPem, '--json', '--origin', origin], offline),
    ]);
    for (const v of runs.slice(0, 3)) {
      assert.equal(v.status, 0, explain(v));
      assert.match(v.stdout, /^OK: 31 entries intact, 1 signed checkpoint\(s\) verified/);
    }
    const j = runs[3]!;
    assert.equal(j.status, 0, explain(j));
    assert.equal((JSON.parse(j.stdout) as VerifyReport).size, 31);
    assert.equal(existsSync(offlineDir), false, 'the offline verifier must not open or create a database');
  });

  await t.test('the OpenSSL recipe of docs/ledger-format.md verifies an exported checkpoint', async (st) => {
    if (!hasTool('openssl', ['version'])) {
      st.skip('openssl is not installed');
      return;
    }
    const line = readFileSync(exportFile, 'utf8').split('\n').find((l) => l.includes('"kind":"checkpoint"'))!;
    const cp = JSON.parse(line) as { format: number; body: string; signature: string };
    assert.equal(cp.format, 2);
    const dir = path.join(db.dir, 'openssl');
    mkdirSync(dir);
    // A signed note: the signed text is everything before the blank line, with its final newline.
    const note = Buffer.from(cp.body, 'base64').toString('utf8');
    writeFileSync(path.join(dir, 'body.json'), note.slice(0, note.lastIndexOf('\n\n') + 1));
    writeFileSync(path.join(dir, 'sig.bin'), Buffer.from(cp.signature, 'base64'));
    // The signature in the note's signature line is the same 64 bytes, after the 4-byte key hash.
    assert.equal(Buffer.from(note.trim().split(' ').at(-1)!, 'base64').subarray(4).toString('base64'), cp.signature);
    // The public key PEM built from the raw key as the document says: fixed SPKI prefix + 32 bytes.
    writeFileSync(path.join(dir, 'pub.der'), Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publicKey]));
    const toPem = run('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', 'pub.der', '-out', 'pub.pem'], { cwd: dir });
    assert.equal(toPem.status, 0, toPem.stderr);
    const verify = (body: string) => run('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'pub.pem', '-rawin', '-in', body, '-sigfile', 'sig.bin'], { cwd: dir });
    const ok = verify('body.json');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Signature Verified Successfully/);
    const body = readFileSync(path.join(dir, 'body.json'));
    writeFileSync(path.join(dir, 'edited.json'), flip(body, body.length - 3));
    const bad = verify('edited.json');
    assert.notEqual(bad.status, 0);
  });

  await t.test('a tampered export file exits 1 naming the entry', async () => {
    const lines = readFileSync(exportFile, 'utf8').trim().split('\n');
    const i = lines.findIndex((l) => (JSON.parse(l) as { seq?: number }).seq === 17);
    const o = JSON.parse(lines[i]!) as { canonical: string };
    o.canonical = flip(Buffer.from(o.canonical, 'base64'), 25).toString('base64');
    lines[i] = JSON.stringify(o);
    const bad = path.join(db.dir, 'tampered.jsonl');
    writeFileSync(bad, lines.join('\n') + '\n');
    const short = path.join(db.dir, 'short.jsonl');
    writeFileSync(short, readFileSync(exportFile, 'utf8').trim().split('\n').slice(0, -3).join('\n') + '\n');
    const [v, j, s] = await Promise.all([
      cli(['ledger', 'verify', '--file', bad, '--public-key', pubPem], offline),
      cli(['ledger', 'verify', '--file', bad, '--public-key', pubPem, '--json'], offline),
      // Dropping the tail past the checkpoint from the file is caught too.
      cli(['ledger', 'verify', '--file', short, '--public-key', pubPem], offline),
    ]);
    assert.equal(v.status, 1, explain(v));
    assert.match(v.stdout, /^FAILED at entry 17: .*\[leaf_hash_mismatch\]/);
    assert.equal(j.status, 1, explain(j));
    const rep = JSON.parse(j.stdout) as VerifyReport;
    assert.deepEqual([rep.ok, rep.fault?.seq, rep.fault?.code], [false, 17, 'leaf_hash_mismatch']);
    assert.equal(s.status, 1, explain(s));
    assert.match(s.stdout, /^FAILED at entry 29: .*\[checkpoint_beyond_end\]/);
  });

  await t.test('a wrong public key exits 1 (genesis_key_mismatch)', async () => {
    const other = SigningKey.generate().publicKey.toString('base64');
    const v = await cli(['ledger', 'verify', '--file', exportFile, '--public-key', other], offline);
    assert.equal(v.status, 1, explain(v));
    assert.match(v.stdout, /^FAILED at entry 1: .*\[genesis_key_mismatch\]/);
  });

  await t.test('--file without --public-key exits 2 with a message; so does a malformed key', async () => {
    const [v, k] = await Promise.all([
      cli(['ledger', 'verify', '--file', exportFile], offline),
      cli(['ledger', 'verify', '--file', exportFile, '--public-key', 'not-a-key'], offline),
    ]);
    assert.equal(v.status, 2, explain(v));
    assert.match(v.stderr, /--public-key is required with --file/);
    assert.equal(k.status, 2, explain(k));
    assert.match(k.stderr, /--public-key/);
    assert.equal(existsSync(offlineDir), false);
  });

  await t.test('after tampering with the database, ledger verify exits 1 with "FAILED at entry N"', async () => {
    // The attacker: a superuser connection on a real server; the owner's handle on PGlite.
    const attackCtx = ctx ?? (await db.open());
    const attack = (q: string) => (isRealPostgres ? db.superuser(q) : sql.raw(q).execute(attackCtx.handle.db));
    await attack('ALTER TABLE ledger_entries DISABLE TRIGGER ALL');
    await attack('UPDATE ledger_entries SET canonical = set_byte(canonical, 40, get_byte(canonical, 40) # 1) WHERE seq = 23');
    if (!isRealPostgres) await attackCtx.close();
    const r = await cli(['ledger', 'verify'], env);
    assert.equal(r.status, 1, explain(r));
    assert.match(r.stdout, /^FAILED at entry 23: .*\[leaf_hash_mismatch\]/);
  });
});
