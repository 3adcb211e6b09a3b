// The tamper matrix. The attacker holds owner/superuser rights (createTestDb().superuser): they
// switch the append-only triggers off, change the stored evidence, and the verifier must name the
// first bad entry and why. What the chain alone cannot catch is asserted as such, by name.
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { MerkleFrontier } from '../src/ledger/merkle.js';
import { buf } from '../src/db/bytes.js';
import { chainHash, leafHash, prepareEvent, type LedgerEntry } from '../src/ledger/format.js';
import { verifyLedger, type VerifyFaultCode, type VerifyReport } from '../src/ledger/verifier.js';
import type { ServiceContext } from '../src/app/context.js';
import { createTestDb, isRealPostgres, type TestDb } from './helpers/context.js';
import { eulaEvent } from './helpers/ledger-fixtures.js';

const SIZE = 50; // entries, genesis included
const CP = 30; // a signed checkpoint covers entries 1..CP

interface Row {
  seq: number;
  event_id: string;
  event_type: string;
  canonical: Buffer;
  leaf_hash: Buffer;
  prev_hash: Buffer;
  chain_hash: Buffer;
}

interface Setup {
  db: TestDb;
  ctx: ServiceContext;
  attack(query: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  row(seq: number): Promise<Row>;
}

async function appendN(ctx: ServiceContext, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => ctx.ledger.append({ events: [eulaEvent(i)] })));
}

/** A fresh database with SIZE entries and a signed checkpoint at CP. */
async function fresh(): Promise<Setup> {
  const db = await createTestDb();
  const ctx = await db.open();
  await appendN(ctx, CP - 1);
  const cp = await ctx.ledger.checkpoint();
  assert.equal(cp?.size, CP);
  await appendN(ctx, SIZE - CP);
  const attack = (q: string, p: unknown[] = []) => db.superuser(q, p);
  const row = async (seq: number): Promise<Row> => {
    const [r] = await attack('SELECT seq, event_id, event_type, canonical, leaf_hash, prev_hash, chain_hash FROM ledger_entries WHERE seq = $1', [seq]);
    if (!r) throw new Error(`no row ${seq}`);
    return {
      seq: Number(r.seq),
      event_id: String(r.event_id),
      event_type: String(r.event_type),
      canonical: Buffer.from(buf(r.canonical as Uint8Array)),
      leaf_hash: Buffer.from(buf(r.leaf_hash as Uint8Array)),
      prev_hash: Buffer.from(buf(r.prev_hash as Uint8Array)),
      chain_hash: Buffer.from(buf(r.chain_hash as Uint8Array)),
    };
  };
  return { db, ctx, attack, row };
}

// A small group of tests shares one database (a fresh one costs a template clone on a real server,
// seconds of boot for embedded PGlite), which the attacker's
// connection restores to a snapshot taken right after setup (rows, head, triggers, constraints),
// and which is proven intact (verify ok, triggers ENABLE ALWAYS) before each test.
let pooled: { group: string; s: Setup } | null = null;

after(async () => {
  if (pooled) await pooled.s.db.destroy();
  pooled = null;
});

async function setup(t: TestContext, opts: { group?: string } = {}): Promise<Setup> {
  let s: Setup;
  if (!opts.group) {
    s = await fresh();
    t.after(() => s.db.destroy());
  } else {
    const group = opts.group;
    if (pooled && pooled.group !== group) {
      await pooled.s.db.destroy();
      pooled = null;
    }
    if (pooled) {
      s = pooled.s;
      await restore(s);
    } else {
      s = await fresh();
      await snapshot(s);
      pooled = { group, s };
    }
  }
  const before = await s.ctx.ledger.verify();
  assert.equal(before.ok, true, JSON.stringify(before.fault));
  assert.equal(before.size, SIZE);
  const triggers = await s.attack(`SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN ('ledger_entries'::regclass, 'ledger_checkpoints'::regclass) ORDER BY tgname`);
  assert.equal(triggers.length, 4);
  for (const tr of triggers) assert.equal(tr.tgenabled, 'A', `trigger ${String(tr.tgname)} is ENABLE ALWAYS`);
  return s;
}

/**
 * Ledger.verify (worker threads, pages of 4,096 rows), the same in pages of 4 (every chunk
 * boundary a place to get the order wrong), and the one-thread verifier over the same rows: one
 * report, which is returned.
 */
async function verifyAllWays(ctx: ServiceContext): Promise<VerifyReport> {
  const r = await ctx.ledger.verify();
  assert.deepEqual(await ctx.ledger.verify({ pageSize: 4 }), r, 'pages of 4 entries');
  const entries: LedgerEntry[] = [];
  for await (const e of ctx.ledger.entries({ recordedAt: false })) entries.push(e);
  const cps = (await ctx.ledger.checkpoints()).map((c) => ({ body: c.body, signature: c.signature }));
  assert.deepEqual(verifyLedger(entries, cps, { trustedPublicKey: ctx.ledger.keyHistory()[0]!.publicKey, origin: ctx.ledger.origin }), r, 'one thread');
  return r;
}

async function snapshot(s: Setup): Promise<void> {
  await s.attack('CREATE TABLE tamper_snap_entries AS SELECT * FROM ledger_entries');
  await s.attack('CREATE TABLE tamper_snap_checkpoints AS SELECT * FROM ledger_checkpoints');
  await s.attack('CREATE TABLE tamper_snap_head AS SELECT * FROM ledger_head');
}

async function restore(s: Setup): Promise<void> {
  await s.attack('RESET session_replication_role');
  for (const table of ['ledger_entries', 'ledger_checkpoints']) {
    await s.attack(`ALTER TABLE ${table} DISABLE TRIGGER ALL`);
    await s.attack(`DELETE FROM ${table}`);
  }
  await s.attack(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ledger_entries_prev_hash_key') THEN
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_prev_hash_key UNIQUE (prev_hash);
      END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'ledger_entries_leaf_hash_check') THEN
        ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_leaf_hash_check CHECK (octet_length(leaf_hash) = 32);
      END IF;
    END $$`);
  await s.attack('INSERT INTO ledger_entries SELECT * FROM tamper_snap_entries');
  await s.attack('INSERT INTO ledger_checkpoints SELECT * FROM tamper_snap_checkpoints');
  await s.attack('UPDATE ledger_head h SET seq = n.seq, chain_hash = n.chain_hash, frontier = n.frontier FROM tamper_snap_head n WHERE h.id = n.id');
  for (const table of ['ledger_entries', 'ledger_checkpoints']) {
    await s.attack(`ALTER TABLE ${table} ENABLE TRIGGER ALL`);
    await s.attack(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${table}_no_update_delete`);
    await s.attack(`ALTER TABLE ${table} ENABLE ALWAYS TRIGGER ${table}_no_truncate`);
  }
}

const disableTriggers = (s: Setup, table = 'ledger_entries') => s.attack(`ALTER TABLE ${table} DISABLE TRIGGER ALL`);

function expectOk(r: VerifyReport): void {
  assert.equal(r.ok, true, JSON.stringify(r.fault));
}

function expectFault(r: VerifyReport, code: VerifyFaultCode, seq: number): void {
  assert.equal(r.ok, false, `expected ${code} at ${seq}, but the ledger verified`);
  assert.equal(r.fault?.code, code, JSON.stringify(r.fault));
  assert.equal(r.fault?.seq, seq, JSON.stringify(r.fault));
}

/** A forged event with the same id and type as the original (so only its content differs). */
function forge(original: Row): Buffer {
  const ev = JSON.parse(original.canonical.toString('utf8')) as { id: string; time: string };
  return prepareEvent('eula.published', { slug: 'terms', version: '9.9.9', text_sha256: '00'.repeat(32), forged: true }, { id: ev.id, time: new Date(ev.time) }).canonical;
}

async function updateRow(s: Setup, r: Row): Promise<void> {
  await s.attack('UPDATE ledger_entries SET canonical = $1, leaf_hash = $2, prev_hash = $3, chain_hash = $4, event_id = $5, event_type = $6 WHERE seq = $7', [
    r.canonical, r.leaf_hash, r.prev_hash, r.chain_hash, r.event_id, r.event_type, r.seq,
  ]);
}

async function insertRow(s: Setup, r: Row): Promise<void> {
  await s.attack('INSERT INTO ledger_entries (seq, event_id, event_type, canonical, leaf_hash, prev_hash, chain_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
    r.seq, r.event_id, r.event_type, r.canonical, r.leaf_hash, r.prev_hash, r.chain_hash,
  ]);
}

/** Rewrites entries from..SIZE with forged content and recomputes every hash: a consistent suffix. */
async function rewriteSuffix(s: Setup, from: number): Promise<void> {
  let prev = (await s.row(from - 1)).chain_hash;
  for (let seq = from; seq <= SIZE; seq++) {
    const r = await s.row(seq);
    r.canonical = forge(r);
    r.leaf_hash = leafHash(r.canonical);
    r.prev_hash = prev;
    r.chain_hash = chainHash(seq, prev, r.leaf_hash);
    await updateRow(s, r);
    prev = r.chain_hash;
  }
  await s.attack('UPDATE ledger_head SET chain_hash = $1 WHERE id = 1', [prev]);
}

/** Asserts a statement is refused (permission denied by role, or by the append-only trigger). */
async function refused(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    const err = e as { code?: string; message?: string };
    assert.match(String(err.message), /permission denied|refused|must be owner/i, `${what}: ${String(err.message)}`);
    assert.equal(err.code, '42501', `${what}: SQLSTATE`);
    return true;
  }, what);
}

// ---- edits --------------------------------------------------------------------------------------

test('tamper: editing one event\'s bytes is caught at that entry (leaf_hash_mismatch)', async (t) => {
  const s = await setup(t, { group: 'entries' });
  await disableTriggers(s);
  await s.attack('UPDATE ledger_entries SET canonical = set_byte(canonical, 40, get_byte(canonical, 40) # 1) WHERE seq = 20');
  expectFault(await verifyAllWays(s.ctx), 'leaf_hash_mismatch', 20);
});

test('tamper: editing and re-hashing one row is caught at the next row (prev_hash_mismatch)', async (t) => {
  const s = await setup(t, { group: 'entries' });
  await disableTriggers(s);
  const r = await s.row(40);
  r.canonical = forge(r);
  r.leaf_hash = leafHash(r.canonical);
  r.chain_hash = chainHash(40, r.prev_hash, r.leaf_hash);
  await updateRow(s, r);
  expectFault(await verifyAllWays(s.ctx), 'prev_hash_mismatch', 41);
});

test('tamper: editing the row\'s event id or type beside the hashed bytes (event_row_mismatch)', async (t) => {
  const s = await setup(t, { group: 'entries' });
  await disableTriggers(s);
  await s.attack('UPDATE ledger_entries SET event_type = $1 WHERE seq = 12', ['acceptance.withdrawn']);
  expectFault(await verifyAllWays(s.ctx), 'event_row_mismatch', 12);
});

// ---- deletions ------------------------------------------------------------------------------------

test('tamper: deleting a middle row is caught at the gap (sequence_gap)', async (t) => {
  const s = await setup(t, { group: 'entries' });
  await disableTriggers(s);
  await s.attack('DELETE FROM ledger_entries WHERE seq = 25');
  expectFault(await verifyAllWays(s.ctx), 'sequence_gap', 25);
});

test('tamper: deleting a middle row and renumbering the rest is caught (chain binds seq)', async (t) => {
  const s = await setup(t, { group: 'entries' });
  await disableTriggers(s);
  await s.attack('DELETE FROM ledger_entries WHERE seq = 25');
  await s.attack('UPDATE ledger_entries SET seq = seq + 1000 WHERE seq > 25');
  await s.attack('UPDATE ledger_entries SET seq = seq - 1001 WHERE seq > 1000');
  expectFault(await verifyAllWays(s.ctx), 'prev_hash_mismatch', 25);
});

test('tamper: deleting the tail past a signed checkpoint is caught (checkpoint_beyond_end)', async (t) => {
  const s = await setup(t, { group: 'entries' });
  await disableTriggers(s);
  await s.attack('DELETE FROM ledger_entries WHERE seq > 25');
  const tail = await s.row(25);
  await s.attack('UPDATE ledger_head SET seq = 25, chain_hash = $1 WHERE id = 1', [tail.chain_hash]);
  const r = await verifyAllWays(s.ctx);
  expectFault(r, 'checkpoint_beyond_end', 26);
  assert.equal(r.latestCheckpointSize, CP);
});

test('documented limit: deleting a tail no checkpoint covers is NOT detected by the chain alone', async (t) => {
  const s = await setup(t, { group: 'entries' });
  await disableTriggers(s);
  await s.attack(`DELETE FROM ledger_entries WHERE seq > ${CP + 5}`);
  const tail = await s.row(CP + 5);
  // A careful attacker rewrites the head's Merkle frontier too (the tiles still hold every node of the shorter tree).
  const frontier = (await MerkleFrontier.load(CP + 5, s.ctx.ledger.nodeReader())).toBytes();
  await s.attack('UPDATE ledger_head SET seq = $1, chain_hash = $2, frontier = $3 WHERE id = 1', [CP + 5, tail.chain_hash, frontier]);
  const r = await verifyAllWays(s.ctx);
  assert.equal(r.ok, true, 'a truncated tail beyond the last checkpoint is a valid, shorter ledger');
  assert.equal(r.size, CP + 5);
  assert.ok(r.size < SIZE);
  // What catches it: a later checkpoint (or a receipt) naming the old size. Signing one now is too late;
  // the service signs the shorter ledger without complaint, which is why checkpoints must leave the table.
  const cp = await s.ctx.ledger.checkpoint();
  assert.equal(cp?.size, CP + 5);
});

test('tamper: deleting every entry is reported, not passed (empty_ledger)', async (t) => {
  const s = await setup(t, { group: 'entries' });
  await disableTriggers(s);
  await s.attack('DELETE FROM ledger_entries');
  await s.attack('UPDATE ledger_head SET seq = 0, chain_hash = $1 WHERE id = 1', [Buffer.alloc(32)]);
  expectFault(await verifyAllWays(s.ctx), 'empty_ledger', 1);
});

// ---- reordering and forgery ---------------------------------------------------------------------

test('tamper: swapping two rows\' whole contents is caught at the first (prev_hash_mismatch)', async (t) => {
  const s = await setup(t, { group: 'forgery' });
  await disableTriggers(s);
  const a = await s.row(10);
  const b = await s.row(11);
  await s.attack('DELETE FROM ledger_entries WHERE seq IN (10, 11)');
  await insertRow(s, { ...b, seq: 10 });
  await insertRow(s, { ...a, seq: 11 });
  expectFault(await verifyAllWays(s.ctx), 'prev_hash_mismatch', 10);
});

test('tamper: swapping two events but keeping the hash columns in place is caught (chain_hash_mismatch)', async (t) => {
  const s = await setup(t, { group: 'forgery' });
  await disableTriggers(s);
  const a = await s.row(10);
  const b = await s.row(11);
  await s.attack('DELETE FROM ledger_entries WHERE seq IN (10, 11)');
  await insertRow(s, { ...a, event_id: b.event_id, event_type: b.event_type, canonical: b.canonical, leaf_hash: b.leaf_hash });
  await insertRow(s, { ...b, event_id: a.event_id, event_type: a.event_type, canonical: a.canonical, leaf_hash: a.leaf_hash });
  expectFault(await verifyAllWays(s.ctx), 'chain_hash_mismatch', 10);
});

test('tamper: a forged row appended at the end with a bad chain hash is caught there', async (t) => {
  const s = await setup(t, { group: 'forgery' });
  await disableTriggers(s);
  const last = await s.row(SIZE);
  const ev = eulaEvent(4242);
  await insertRow(s, { seq: SIZE + 1, event_id: ev.id, event_type: ev.type, canonical: ev.canonical, leaf_hash: ev.leafHash, prev_hash: last.chain_hash, chain_hash: randomBytes(32) });
  expectFault(await verifyAllWays(s.ctx), 'chain_hash_mismatch', SIZE + 1);
});

test('tamper: a forged row inserted in the middle (rows shifted) is caught right after it', async (t) => {
  const s = await setup(t, { group: 'forgery' });
  await disableTriggers(s);
  const before = await s.row(25);
  const ev = eulaEvent(4243);
  const leaf = ev.leafHash;
  // A fork needs two rows with one prev_hash: the UNIQUE constraint forbids it even with triggers off.
  await assert.rejects(
    insertRow(s, { seq: SIZE + 100, event_id: ev.id, event_type: ev.type, canonical: ev.canonical, leaf_hash: leaf, prev_hash: before.chain_hash, chain_hash: chainHash(26, before.chain_hash, leaf) }),
    /duplicate key|unique/i,
  );
  // The attacker drops that constraint too, shifts rows 26.. up by one and writes a perfect entry 26.
  await s.attack('ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_prev_hash_key');
  await s.attack('UPDATE ledger_entries SET seq = seq + 1000 WHERE seq >= 26');
  await s.attack('UPDATE ledger_entries SET seq = seq - 999 WHERE seq > 1000');
  await insertRow(s, { seq: 26, event_id: ev.id, event_type: ev.type, canonical: ev.canonical, leaf_hash: leaf, prev_hash: before.chain_hash, chain_hash: chainHash(26, before.chain_hash, leaf) });
  expectFault(await verifyAllWays(s.ctx), 'prev_hash_mismatch', 27);
});

test('tamper: a hash of the wrong length (its CHECK dropped) is caught at that entry, not mis-split', async (t) => {
  const s = await setup(t, { group: 'forgery' });
  await disableTriggers(s);
  await s.attack('ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_leaf_hash_check');
  await s.attack('UPDATE ledger_entries SET leaf_hash = substring(leaf_hash from 1 for 31) WHERE seq = 15');
  expectFault(await verifyAllWays(s.ctx), 'leaf_hash_mismatch', 15);
  await s.attack('UPDATE ledger_entries SET leaf_hash = leaf_hash || $1::bytea WHERE seq = 15', [Buffer.from([0xaa, 0xbb])]);
  expectFault(await verifyAllWays(s.ctx), 'leaf_hash_mismatch', 15);
});

// ---- consistent rewrites ------------------------------------------------------------------------

test('tamper: a consistent rewrite of a suffix a checkpoint covers is caught at the checkpoint (checkpoint_mismatch)', async (t) => {
  const s = await setup(t, { group: 'rewrites' });
  await disableTriggers(s);
  await rewriteSuffix(s, 20);
  const r = await verifyAllWays(s.ctx);
  expectFault(r, 'checkpoint_mismatch', CP);
  // And the service refuses to sign a checkpoint over the rewritten ledger.
  await assert.rejects(s.ctx.ledger.checkpoint(), { name: 'LedgerError', code: 'checkpoint_inconsistent' });
});

test('documented limit: a consistent rewrite of a suffix after the last checkpoint is NOT detected by the chain alone', async (t) => {
  const s = await setup(t, { group: 'rewrites' });
  await disableTriggers(s);
  await rewriteSuffix(s, CP + 1);
  const r = await verifyAllWays(s.ctx);
  assert.equal(r.ok, true, 'entries after the last checkpoint can be rewritten consistently');
  assert.equal(r.size, SIZE);
  assert.equal(r.checkpointsVerified, 1);
});

// ---- checkpoints --------------------------------------------------------------------------------

test('tamper: editing a checkpoint\'s body is caught (checkpoint_signature_invalid)', async (t) => {
  const s = await setup(t, { group: 'rewrites' });
  await disableTriggers(s, 'ledger_checkpoints');
  const [cp] = await s.attack('SELECT body FROM ledger_checkpoints WHERE size = $1', [CP]);
  const note = buf(cp!.body as Uint8Array).toString('utf8');
  // Well-formed, only the time line moved: the note's signature no longer covers it.
  const edited = Buffer.from(note.replace(/\ntime [^\n]+\n/, '\ntime 2020-01-01T00:00:00.000Z\n'), 'utf8');
  assert.notEqual(edited.toString('utf8'), note);
  await s.attack('UPDATE ledger_checkpoints SET body = $1 WHERE size = $2', [edited, CP]);
  expectFault(await verifyAllWays(s.ctx), 'checkpoint_signature_invalid', CP);
});

test('tamper: editing a checkpoint\'s signature is caught (checkpoint_signature_invalid)', async (t) => {
  const s = await setup(t, { group: 'rewrites' });
  await disableTriggers(s, 'ledger_checkpoints');
  await s.attack('UPDATE ledger_checkpoints SET signature = set_byte(signature, 5, get_byte(signature, 5) # 16) WHERE size = $1', [CP]);
  expectFault(await verifyAllWays(s.ctx), 'checkpoint_signature_invalid', CP);
});

test('tamper: a checkpoint re-signed by a key the genesis does not name is caught (checkpoint_unknown_key)', async (t) => {
  const s = await setup(t, { group: 'rewrites' });
  await disableTriggers(s, 'ledger_checkpoints');
  const { SigningKey } = await import('../src/crypto/ed25519.js');
  const { signCheckpoint } = await import('../src/ledger/checkpoint.js');
  const other = SigningKey.generate();
  const head = await s.row(CP);
  const cp = signCheckpoint(other, s.ctx.ledger.origin, CP, head.chain_hash, new Date());
  await s.attack('UPDATE ledger_checkpoints SET body = $1, signature = $2, key_id = $3 WHERE size = $4', [cp.body, cp.signature, other.keyId, CP]);
  expectFault(await verifyAllWays(s.ctx), 'checkpoint_unknown_key', CP);
});

test('documented limit: without a checkpoint (none, or its rows deleted) a consistent rewrite from entry 2 is NOT detected; a checkpoint kept outside is', async (t) => {
  const s = await setup(t, { group: 'rewrites' });
  const kept = await s.ctx.ledger.checkpoints(); // e.g. what an auditor holds
  await disableTriggers(s);
  await disableTriggers(s, 'ledger_checkpoints');
  await s.attack('DELETE FROM ledger_checkpoints');
  await rewriteSuffix(s, 2);
  const r = await verifyAllWays(s.ctx);
  assert.equal(r.ok, true, 'the database alone no longer holds anything to contradict the rewrite');
  assert.equal(r.checkpointsVerified, 0);
  // The checkpoint kept outside the table does contradict it.
  const { LedgerVerifier } = await import('../src/ledger/verifier.js');
  const v = new LedgerVerifier({ trustedPublicKey: s.ctx.ledger.signingKey.publicKey });
  v.addCheckpoints(kept);
  for await (const e of s.ctx.ledger.entries()) if (!v.push(e)) break;
  expectFault(v.finish(), 'checkpoint_mismatch', CP);
});

// ---- what the database refuses ------------------------------------------------------------------

test('database: UPDATE, DELETE and TRUNCATE as the service are refused', async (t) => {
  const s = await setup(t, { group: 'database' });
  const db = s.ctx.handle.db;
  await refused(sql`UPDATE ledger_entries SET event_type = 'x' WHERE seq = 3`.execute(db), 'UPDATE ledger_entries');
  await refused(sql`DELETE FROM ledger_entries WHERE seq = ${SIZE}`.execute(db), 'DELETE ledger_entries');
  await refused(sql`TRUNCATE ledger_entries`.execute(db), 'TRUNCATE ledger_entries');
  await refused(sql`UPDATE ledger_checkpoints SET key_id = 'x'`.execute(db), 'UPDATE ledger_checkpoints');
  await refused(sql`DELETE FROM ledger_checkpoints`.execute(db), 'DELETE ledger_checkpoints');
  await refused(sql`TRUNCATE ledger_checkpoints`.execute(db), 'TRUNCATE ledger_checkpoints');
  const r = await verifyAllWays(s.ctx);
  assert.equal(r.ok, true);
  assert.equal(r.size, SIZE);
});

test('database: the service role may not disable triggers or enter replica mode (real server)', async (t) => {
  if (!isRealPostgres) {
    t.skip('role separation exists only on a real server (embedded PGlite has one owner user)');
    return;
  }
  const s = await setup(t);
  const db = s.ctx.handle.db;
  const [who] = (await sql<{ u: string }>`SELECT current_user AS u`.execute(db)).rows;
  assert.equal(who?.u, 'assentmark_service');
  await refused(sql`ALTER TABLE ledger_entries DISABLE TRIGGER ALL`.execute(db), 'ALTER TABLE as the service');
  await refused(sql`DROP TABLE ledger_entries`.execute(db), 'DROP TABLE as the service');
  await refused(sql`SET session_replication_role = replica`.execute(db), 'replica mode as the service');
  await refused(sql`INSERT INTO ledger_head (id, seq, chain_hash) VALUES (2, 0, ${Buffer.alloc(32)})`.execute(db), 'INSERT into ledger_head');
  assert.equal((await verifyAllWays(s.ctx)).ok, true);
});

test('database: owner/superuser statements are refused by the triggers, even in replica mode (ENABLE ALWAYS)', async (t) => {
  const s = await setup(t, { group: 'database' });
  for (const replica of [false, true]) {
    if (replica) await s.attack('SET session_replication_role = replica');
    const mode = replica ? ' in replica mode' : '';
    await refused(s.attack('UPDATE ledger_entries SET event_type = $1 WHERE seq = 3', ['x']), `UPDATE${mode}`);
    await refused(s.attack('DELETE FROM ledger_entries WHERE seq = 50'), `DELETE${mode}`);
    await refused(s.attack('TRUNCATE ledger_entries'), `TRUNCATE${mode}`);
    await refused(s.attack('UPDATE ledger_checkpoints SET key_id = $1', ['x']), `UPDATE checkpoints${mode}`);
    await refused(s.attack('DELETE FROM ledger_checkpoints'), `DELETE checkpoints${mode}`);
    await refused(s.attack('TRUNCATE ledger_checkpoints'), `TRUNCATE checkpoints${mode}`);
  }
  await s.attack('RESET session_replication_role');
  const r = await verifyAllWays(s.ctx);
  assert.equal(r.ok, true);
  assert.equal(r.size, SIZE);
});

test('database: a duplicate sequence number or event id is refused by constraints, even with triggers off', async (t) => {
  const s = await setup(t, { group: 'database' });
  await disableTriggers(s);
  const last = await s.row(SIZE);
  const ev = eulaEvent(1);
  await assert.rejects(insertRow(s, { ...last, event_id: randomUUID(), prev_hash: randomBytes(32), chain_hash: randomBytes(32) }), /duplicate key|unique/i);
  await assert.rejects(insertRow(s, { seq: SIZE + 1, event_id: last.event_id, event_type: ev.type, canonical: ev.canonical, leaf_hash: ev.leafHash, prev_hash: last.chain_hash, chain_hash: randomBytes(32) }), /duplicate key|unique/i);
  assert.equal((await verifyAllWays(s.ctx)).ok, true);
});

// ---- the Merkle tree and its signed notes -------------------------------------------------------

test('tamper: a changed hash in a tile is caught: proofs from it fail, and the service refuses to sign over it', async (t) => {
  const s = await setup(t);
  const cp = (await s.ctx.ledger.latestNoteCheckpoint())!;
  const genuine = await s.ctx.ledger.inclusionProof(3, cp.size);
  const { verifyInclusion } = await import('../src/ledger/merkle.js');
  assert.equal(verifyInclusion(2, cp.size, genuine.leafHash, genuine.proof, cp.rootHash!), true);
  await disableTriggers(s, 'ledger_tiles');
  // Leaf 4's hash in tile 0/0 (the sibling of leaf 3's path).
  await s.attack(`UPDATE ledger_tiles SET hashes = overlay(hashes placing '\\x${'ee'.repeat(32)}'::bytea from ${3 * 32 + 1} for 32) WHERE level = 0 AND idx = 0`);
  // A fresh context: the tile cache of the first one must not hide the change.
  const ctx = await s.db.open();
  const forged = await ctx.ledger.inclusionProof(3, cp.size);
  assert.equal(verifyInclusion(2, cp.size, forged.leafHash, forged.proof, cp.rootHash!), false, 'a proof read from the changed tile no longer reaches the signed root');
  await ctx.ledger.append({ events: [eulaEvent(9999, { id: randomUUID() })] });
  await assert.rejects(ctx.ledger.checkpoint(), (e: unknown) => (e as { code?: string }).code === 'checkpoint_inconsistent' && /Merkle tree/.test((e as Error).message));
  // The leaves are intact: a full verification rebuilds the tree from them and still agrees with every signed root.
  expectOk(await verifyAllWays(ctx));
});

test('tamper: a root hash in a signed note that the leaves do not give is caught (checkpoint_root_mismatch or signature)', async (t) => {
  const s = await setup(t, { group: 'rewrites' });
  await disableTriggers(s, 'ledger_checkpoints');
  const [cp] = await s.attack('SELECT body FROM ledger_checkpoints WHERE size = $1', [CP]);
  const note = buf(cp!.body as Uint8Array).toString('utf8');
  const lines = note.split('\n');
  lines[2] = Buffer.alloc(32, 7).toString('base64');
  await s.attack('UPDATE ledger_checkpoints SET body = $1 WHERE size = $2', [Buffer.from(lines.join('\n'), 'utf8'), CP]);
  expectFault(await verifyAllWays(s.ctx), 'checkpoint_signature_invalid', CP);
  // Re-signed by a key the genesis does not name: still refused, as an unknown key.
  const { SigningKey } = await import('../src/crypto/ed25519.js');
  const { signCheckpointNoteV2, readCheckpoint } = await import('../src/ledger/checkpoint.js');
  const stmt = readCheckpoint(Buffer.from(note, 'utf8'))!;
  const other = SigningKey.generate();
  const resigned = signCheckpointNoteV2(other, s.ctx.ledger.origin, CP, Buffer.alloc(32, 7), stmt.chainHash, new Date());
  await s.attack('UPDATE ledger_checkpoints SET body = $1, signature = $2 WHERE size = $3', [resigned.body, resigned.signature, CP]);
  expectFault(await verifyAllWays(s.ctx), 'checkpoint_unknown_key', CP);
});

test('verifier: a note signed by the ledger key over a wrong root is caught at its size (checkpoint_root_mismatch)', async () => {
  const { SigningKey } = await import('../src/crypto/ed25519.js');
  const { signCheckpointNoteV2 } = await import('../src/ledger/checkpoint.js');
  const { verifyLedger } = await import('../src/ledger/verifier.js');
  const { buildLedger } = await import('./helpers/ledger-fixtures.js');
  const key = SigningKey.generate();
  const origin = 'example.org/ledger';
  const entries = buildLedger(key, origin, 12);
  const wrong = signCheckpointNoteV2(key, origin, 10, Buffer.alloc(32, 1), entries[9]!.chainHash, new Date());
  expectFault(verifyLedger(entries, [wrong], { trustedPublicKey: key.publicKey }), 'checkpoint_root_mismatch', 10);
});
