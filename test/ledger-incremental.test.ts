// Incremental verification (what a dossier states at issue): the last full verification plus every
// entry and checkpoint since, checked from the verified point; alterations at or after it are caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDb } from './helpers/context.js';
import { eulaEvent } from './helpers/ledger-fixtures.js';

test('incremental verification resumes from the verified prefix and catches alterations', async (t) => {
  const db = await createTestDb();
  t.after(() => db.destroy());
  const ctx = await db.open();
  const append = async (from: number, n: number) => {
    for (let i = from; i < from + n; i++) await ctx.ledger.append({ events: [eulaEvent(i)] });
  };
  await append(0, 10);
  const reenable = async () => {
    for (const trg of ['ledger_entries_no_update_delete', 'ledger_entries_no_truncate']) await db.superuser(`ALTER TABLE ledger_entries ENABLE ALWAYS TRIGGER ${trg}`);
  };

  await t.test('without a prior full verification it runs one', async () => {
    const r = await ctx.ledger.verifyIncrementally();
    assert.equal(r.ok, true);
    assert.equal(r.incrementalFrom, null);
    assert.equal(r.size, 11);
    assert.equal(r.fullSize, 11);
  });

  await t.test('then checks only what is new, including new checkpoints', async () => {
    await append(10, 5);
    await ctx.ledger.checkpoint();
    await append(15, 3);
    const r = await ctx.ledger.verifyIncrementally();
    assert.equal(r.ok, true, JSON.stringify(r.fault));
    assert.equal(r.incrementalFrom, 12);
    assert.equal(r.size, 19);
    assert.equal(r.fullSize, 11);
    assert.equal(r.checkpointsVerified, 1);
  });

  await t.test('an entry altered after the verified point is caught', async () => {
    await append(18, 3); // entries 20..22
    await db.superuser('ALTER TABLE ledger_entries DISABLE TRIGGER ALL');
    await db.superuser(`UPDATE ledger_entries SET canonical = convert_to(replace(convert_from(canonical, 'UTF8'), 'Terms', 'Tarms'), 'UTF8') WHERE seq = 21`);
    await reenable();
    const r = await ctx.ledger.verifyIncrementally();
    assert.equal(r.ok, false);
    assert.equal(r.fault?.seq, 21);
    assert.equal(r.fault?.code, 'leaf_hash_mismatch');
  });

  await t.test('a rewrite reaching the verified point is caught there', async () => {
    await db.superuser('ALTER TABLE ledger_entries DISABLE TRIGGER ALL');
    await db.superuser(`UPDATE ledger_entries SET chain_hash = sha256(chain_hash) WHERE seq = 19`);
    await reenable();
    const r = await ctx.ledger.verifyIncrementally();
    assert.equal(r.ok, false);
    assert.equal(r.fault?.seq, 19);
    // The full verification finds the same first fault.
    const full = await ctx.ledger.verify();
    assert.equal(full.ok, false);
    assert.equal(full.fault?.seq, 19);
  });
});
