// The ledger as an RFC 9162 Merkle log: the tree the appender stores (tiles, frontier) is the tree of
// the leaves; checkpoints are C2SP signed notes; proofs and tiles served over HTTP verify with our
// code and with Go's golang.org/x/mod/sumdb (note, tlog); a first-version ledger migrates in place.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileMigrationProvider, Migrator, sql, type Kysely } from 'kysely';
import pg from 'pg';
import { SigningKey } from '../src/crypto/ed25519.js';
import { connect } from '../src/db/connect.js';
import { migrationsFolder } from '../src/db/migrate.js';
import { writeSecretFile } from '../src/keys/files.js';
import { openContext } from '../src/app/context.js';
import { loadConfig } from '../src/config/config.js';
import { readCheckpoint, signCheckpoint } from '../src/ledger/checkpoint.js';
import { chainHash } from '../src/ledger/format.js';
import { nodeHash, parseTilePath, rootHash, tileNodeReader, tilePath, verifyConsistency, verifyInclusion, EMPTY_ROOT } from '../src/ledger/merkle.js';
import { openCheckpointNote } from '../src/ledger/note.js';
import { isRealPostgres, useTestApp, type TestApp } from './helpers/app.js';
import { eulaEvent, genesisEvent } from './helpers/ledger-fixtures.js';
import { cleanupGo, goAccepts, goRejects } from './helpers/go.js';
import { binary } from './helpers/tools.js';

/** RFC 9162 MTH straight from the definition, over leaf hashes (an independent recomputation). */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return Buffer.from(EMPTY_ROOT);
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

async function leafHashes(t: TestApp, size: number): Promise<Buffer[]> {
  return t.ctx.ledger.leafHashes(1, size);
}

const t = useTestApp({
  async setup(app) {
    await app.publishEula();
    for (let i = 0; i < 20; i++) assert.equal((await app.accept({ subject: `merkle-${i}` })).status, 201);
  },
});
after(() => {
  cleanupGo();
});

describe('the stored tree is the tree of the leaves', () => {
  test('across tile boundaries (sizes past 256 and 512), appended concurrently: roots, tiles and checkpoints agree', async () => {
    const first = await t.ctx.ledger.checkpoint();
    assert.ok(first && first.format === 2 && first.rootHash);
    // 600 events from 60 concurrent callers: several group-commit batches, two level-0 tiles filled.
    await Promise.all(Array.from({ length: 60 }, (_, c) => (async () => {
      for (let i = 0; i < 10; i++) await t.ctx.ledger.append({ events: [eulaEvent(c * 10 + i, { id: randomUUID() })] });
    })()));
    const cp = await t.ctx.ledger.checkpoint();
    assert.ok(cp && cp.rootHash && cp.size > 600);
    const leaves = await leafHashes(t, cp.size);
    assert.ok(cp.rootHash.equals(mth(leaves)), 'the signed root is RFC 9162 MTH of the leaves');
    assert.ok(first.rootHash.equals(mth(leaves.slice(0, first.size))), 'and so was the earlier one');
    // Every size's root, computed from the stored tiles alone, is MTH of that prefix.
    const read = t.ctx.ledger.nodeReader();
    for (const n of [1, 2, 3, 255, 256, 257, 511, 512, 513, cp.size]) assert.ok((await rootHash(n, read)).equals(mth(leaves.slice(0, n))), `root at ${n}`);
    const report = await t.ctx.ledger.verify();
    assert.equal(report.ok, true, report.fault?.reason);
    assert.equal(report.treeRoot, cp.rootHash.toString('hex'));
  });

  test('the checkpoint is a C2SP signed note: origin, size, base64 root, chain-hash and time lines, signed under the origin', async () => {
    const res = await t.get('/checkpoint');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] ?? '', /^text\/plain/);
    const note = Buffer.from(res.text, 'utf8');
    const keys = (await t.get('/.well-known/assentmark/keys.json')).body as { keys: Array<{ public_key: string; note_verifier_key: string }> };
    const opened = openCheckpointNote(note, [{ name: t.ctx.ledger.origin, publicKey: Buffer.from(keys.keys[0]!.public_key, 'base64') }], { origin: t.ctx.ledger.origin });
    assert.ok(opened.ok, JSON.stringify(opened));
    const lines = opened.note.text.split('\n');
    assert.equal(lines[0], t.ctx.ledger.origin);
    assert.match(lines[1]!, /^[1-9][0-9]*$/);
    assert.match(lines[2]!, /^[A-Za-z0-9+/]{43}=$/);
    assert.match(lines[3]!, /^chain-hash [0-9a-f]{64}$/);
    assert.match(lines[4]!, /^time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const head = await t.ctx.ledger.entry(Number(lines[1]));
    assert.equal(lines[3], `chain-hash ${head!.chainHash.toString('hex')}`, 'the chain hash at that size is committed beside the root');
    assert.match(note.toString('utf8'), new RegExp(`\\n\\n\u2014 ${t.ctx.ledger.origin.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} [A-Za-z0-9+/]+=*\\n$`));
    // Go's sumdb/note, given the verifier key the service publishes, opens it; and refuses a changed one.
    goAccepts('verify-note', { verifierKeys: [keys.keys[0]!.note_verifier_key], note: note.toString('base64') }, 'our checkpoint note');
    const forged = Buffer.from(note.toString('utf8').replace(/^(.*\n)(\d+)\n/, (_, o: string, n: string) => `${o}${Number(n) + 1}\n`), 'utf8');
    goRejects('verify-note', { verifierKeys: [keys.keys[0]!.note_verifier_key], note: forged.toString('base64') }, 'a note with a changed size');
  });
});

describe('proofs over HTTP verify with our verifier and with Go\'s sumdb/tlog', () => {
  test('inclusion proofs of early, middle and last entries at the latest checkpoint', async () => {
    const cp = (await t.get('/v1/ledger/checkpoints/latest')).body as { size: number; root_hash: string };
    const root = Buffer.from(cp.root_hash, 'base64');
    for (const seq of [1, 2, 37, 256, 257, cp.size]) {
      const res = await t.get(`/v1/ledger/proofs/inclusion?seq=${seq}`);
      assert.equal(res.status, 200, res.text);
      const p = res.body as { leaf_index: number; tree_size: number; leaf_hash: string; root_hash: string; proof: string[]; checkpoint: { note: string } | null };
      assert.equal(p.tree_size, cp.size);
      assert.equal(p.leaf_index, seq - 1);
      assert.equal(p.root_hash, root.toString('hex'));
      assert.ok(p.checkpoint, 'the checkpoint at that size comes with the proof');
      assert.ok(p.proof.length <= Math.ceil(Math.log2(cp.size)), `O(log n): ${p.proof.length} hashes at ${cp.size}`);
      const proof = p.proof.map((h) => Buffer.from(h, 'hex'));
      const leaf = Buffer.from(p.leaf_hash, 'hex');
      assert.ok(leaf.equals((await t.ctx.ledger.entry(seq))!.leafHash));
      assert.equal(verifyInclusion(seq - 1, cp.size, leaf, proof, root), true);
      goAccepts('inclusion', { treeSize: cp.size, rootHash: root.toString('hex'), leafIndex: seq - 1, leafHash: p.leaf_hash, proof: p.proof }, `entry ${seq}`);
      if (proof.length > 0) {
        const bad = proof.map((h, i) => (i === 0 ? Buffer.from(h.map((b, j) => (j === 0 ? b ^ 1 : b))) : h));
        assert.equal(verifyInclusion(seq - 1, cp.size, leaf, bad, root), false);
        goRejects('inclusion', { treeSize: cp.size, rootHash: root.toString('hex'), leafIndex: seq - 1, leafHash: p.leaf_hash, proof: bad.map((h) => h.toString('hex')) }, `changed proof of ${seq}`);
      }
    }
  });

  test('consistency proofs between an early checkpoint and the latest', async () => {
    const all = await t.ctx.ledger.checkpoints();
    const notes = all.filter((c) => c.rootHash);
    assert.ok(notes.length >= 2);
    const [a, b] = [notes[0]!, notes.at(-1)!];
    const res = await t.get(`/v1/ledger/proofs/consistency?from=${a.size}&to=${b.size}`);
    assert.equal(res.status, 200, res.text);
    const p = res.body as { from_root_hash: string; to_root_hash: string; proof: string[]; from_checkpoint: { note: string } | null; to_checkpoint: { note: string } | null };
    assert.equal(p.from_root_hash, a.rootHash!.toString('hex'));
    assert.equal(p.to_root_hash, b.rootHash!.toString('hex'));
    assert.ok(p.from_checkpoint && p.to_checkpoint);
    const proof = p.proof.map((h) => Buffer.from(h, 'hex'));
    assert.equal(verifyConsistency(a.size, b.size, a.rootHash!, b.rootHash!, proof), true);
    goAccepts('consistency', { oldSize: a.size, oldRoot: p.from_root_hash, newSize: b.size, newRoot: p.to_root_hash, proof: p.proof }, 'consistency');
    const wrongRoot = Buffer.from(a.rootHash!.map((x, i) => (i === 0 ? x ^ 1 : x))).toString('hex');
    goRejects('consistency', { oldSize: a.size, oldRoot: wrongRoot, newSize: b.size, newRoot: p.to_root_hash, proof: p.proof }, 'a forked old root');
  });

  test('beyond the ledger is a 422 problem, not a 500', async () => {
    const head = await t.ctx.ledger.head();
    for (const url of [`/v1/ledger/proofs/inclusion?seq=${head.size + 1}&size=${head.size}`, `/v1/ledger/proofs/inclusion?seq=1&size=${head.size + 5}`, `/v1/ledger/proofs/consistency?from=5&to=3`, `/v1/ledger/proofs/consistency?from=1&to=${head.size + 1}`]) {
      const r = await t.get(url);
      assert.equal(r.status, 422, `${url}: ${r.text}`);
      assert.equal(r.body.code, 'proof_unavailable');
    }
    assert.equal((await t.get('/v1/ledger/proofs/inclusion?seq=0')).status, 400);
  });
});

describe('tiles at the C2SP tlog-tiles paths', () => {
  test('a client that reads only /checkpoint and /tile/... recomputes the signed root', async () => {
    const cp = (await t.get('/v1/ledger/checkpoints/latest')).body as { size: number; root_hash: string };
    const fetched = new Map<string, Buffer>();
    const read = tileNodeReader(async (level, index) => {
      // A client asks for the tile as wide as the tree at this size makes it.
      const span = 256 ** (level + 1);
      const full = Math.floor(cp.size / span) > index;
      const width = full ? 256 : Math.floor((cp.size % span) / 256 ** level);
      const p = tilePath(level, index, width);
      if (!fetched.has(p)) {
        const r = await t.get(`/${p}`).buffer(true).parse(binary as never);
        assert.equal(r.status, 200, `${p}: ${r.status}`);
        fetched.set(p, r.body as Buffer);
        assert.equal((r.body as Buffer).length, width * 32, p);
      }
      return fetched.get(p)!;
    });
    const root = await rootHash(cp.size, read);
    assert.equal(root.toString('base64'), cp.root_hash);
    assert.ok([...fetched.keys()].some((p) => p.includes('.p/')), 'a partial tile was used');
    // A full level-0 tile hashes to the first entry of the level-1 tile (C2SP's definition of level 1).
    const level1 = (await read(8, 0)).toString('hex');
    const tile0 = (await t.get('/tile/0/000').buffer(true).parse(binary as never)).body as Buffer;
    assert.equal(tile0.length, 256 * 32);
    assert.equal(mth(Array.from({ length: 256 }, (_, i) => tile0.subarray(i * 32, i * 32 + 32))).toString('hex'), level1);
    for (const p of fetched.keys()) assert.ok(parseTilePath(p));
  });

  test('malformed and missing tiles are 404 problems', async () => {
    for (const p of ['/tile/0/1234', '/tile/0/x001', '/tile/9/000', '/tile/0/000.p/0', '/tile/0/x999/999', '/tile/0/003.p/255', '/tile/entries/000']) {
      const r = await t.get(p);
      assert.equal(r.status, 404, `${p}: ${r.text}`);
      assert.equal(r.body.code, 'tile_not_found');
    }
  });
});

describe('a first-version ledger migrates in place', () => {
  test('its tree is built from its leaves; its JSON checkpoints stay verifiable; new checkpoints are notes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-migrate-'));
    const origin = 'migrated.example/ledger';
    const key = SigningKey.generate();
    const keyFile = path.join(dir, 'signing-key.pem');
    writeSecretFile(keyFile, key.toPem());
    let url: string | undefined;
    let admin: pg.Client | null = null;
    let dbName = '';
    try {
      if (isRealPostgres) {
        dbName = `assentmark_mig_${randomUUID().slice(0, 8)}`;
        admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${dbName}`);
        const u = new URL(process.env.DATABASE_URL!);
        u.pathname = `/${dbName}`;
        url = u.toString();
      }
      const h = await connect({ databaseUrl: url, dataDir: path.join(dir, 'data'), poolSize: 1 });
      // The schema of the first version, then a ledger written as it wrote one: chained entries, JSON checkpoints.
      const migrator = new Migrator({ db: h.db, provider: new FileMigrationProvider({ fs, path, migrationFolder: migrationsFolder() }) });
      const r = await migrator.migrateTo('2026-11-29T00-04_dossiers');
      assert.equal(r.error, undefined);
      const events = [genesisEvent(key, origin), ...Array.from({ length: 299 }, (_, i) => eulaEvent(i + 2, { id: randomUUID() }))];
      let prev: Buffer = Buffer.alloc(32);
      const leaves: Buffer[] = [];
      for (const [i, e] of events.entries()) {
        const chain = chainHash(i + 1, prev, e.leafHash);
        await sql`INSERT INTO ledger_entries (seq, event_id, event_type, canonical, leaf_hash, prev_hash, chain_hash) VALUES (${i + 1}, ${e.id}, ${e.type}, ${e.canonical}, ${e.leafHash}, ${prev}, ${chain})`.execute(h.db as Kysely<any>);
        if (i + 1 === 100 || i + 1 === 300) {
          const cp = signCheckpoint(key, origin, i + 1, chain, new Date());
          await sql`INSERT INTO ledger_checkpoints (size, chain_hash, key_id, body, signature) VALUES (${i + 1}, ${chain}, ${key.keyId}, ${cp.body}, ${cp.signature})`.execute(h.db as Kysely<any>);
        }
        prev = Buffer.from(chain);
        leaves.push(e.leafHash);
      }
      await sql`UPDATE ledger_head SET seq = 300, chain_hash = ${prev} WHERE id = 1`.execute(h.db as Kysely<any>);
      await h.close();

      const config = { ...loadConfig({ LOG_LEVEL: 'silent', ASSENTMARK_DATA_DIR: path.join(dir, 'data') }), databaseUrl: url, signingKeyFile: keyFile, origin, checkpointIntervalMs: 0, dbRole: undefined };
      const ctx = await openContext(config, { timers: false });
      try {
        const report = await ctx.ledger.verify();
        assert.equal(report.ok, true, report.fault?.reason);
        assert.equal(report.checkpointsVerified, 2, 'the first version\'s checkpoints verify as before');
        assert.equal(report.treeRoot, mth(leaves).toString('hex'));
        assert.ok((await rootHash(100, ctx.ledger.nodeReader())).equals(mth(leaves.slice(0, 100))), 'the migrated tiles');
        await ctx.ledger.append({ events: [eulaEvent(1000, { id: randomUUID() })] });
        const cp = await ctx.ledger.checkpoint();
        assert.ok(cp && cp.format === 2 && cp.size === 301);
        const all: Buffer[] = [...leaves, Buffer.from((await ctx.ledger.entry(301))!.leafHash)];
        assert.ok(cp.rootHash!.equals(mth(all)));
        const stmt = readCheckpoint(cp.body)!;
        assert.ok(stmt.chainHash.equals((await ctx.ledger.entry(301))!.chainHash));
        const again = await ctx.ledger.verify();
        assert.equal(again.ok, true, again.fault?.reason);
        assert.equal(again.checkpointsVerified, 3);
        assert.ok((await ctx.ledger.consistencyProof(300, 301)).proof.length > 0);
      } finally {
        await ctx.close();
      }
    } finally {
      if (admin) {
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
        await admin.end();
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('hash helpers in this file agree with the module (sanity of the independent recomputation)', () => {
  const a = createHash('sha256').update(Buffer.from([0x00])).update('a').digest();
  const b = createHash('sha256').update(Buffer.from([0x00])).update('b').digest();
  assert.ok(mth([a, b]).equals(createHash('sha256').update(Buffer.from([0x01])).update(a).update(b).digest()));
});
