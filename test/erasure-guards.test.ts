// The working tables erasure scrubs stay append-only for everything but erasure (migration
// 2026-12-01T03-02): the service's role may overwrite only the personal columns, a subject only with
// a tombstone, and may never delete a row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { useTestApp } from './helpers/app.js';

const t = useTestApp({ setup: async (t) => { await t.publishEula(); const r = await t.accept({ subject: 'guarded-subject' }); assert.equal(r.status, 201, r.text); } });

test('only erasure\'s overwrite of personal columns passes the guard', async () => {
  const db = t.ctx.handle.db;
  const refused = async (what: string, q: ReturnType<typeof sql>) => {
    await assert.rejects(q.execute(db), (e: Error) => /refused|permission denied/.test(e.message), what);
  };
  await refused('another column', sql`UPDATE assent_records SET slug = 'other' WHERE subject = 'guarded-subject'`);
  await refused('a subject renamed to another subject', sql`UPDATE assent_records SET subject = 'someone-else' WHERE subject = 'guarded-subject'`);
  await refused('a delete', sql`DELETE FROM watermark_keys WHERE subject = 'guarded-subject'`);
  await refused('a key commitment', sql`UPDATE watermark_keys SET commitment = 'x' WHERE subject = 'guarded-subject'`);
  await refused('a ledger entry', sql`UPDATE ledger_entries SET event_type = 'x' WHERE seq = 1`);
  const n = await sql<{ n: string }>`SELECT count(*) AS n FROM assent_records WHERE subject = 'guarded-subject'`.execute(db);
  assert.equal(Number(n.rows[0]!.n), 1);
  // What erasure does passes: a tombstone and destroyed key bytes.
  await sql`UPDATE watermark_keys SET subject = 'erased:test', wrapped = ''::bytea WHERE subject = 'guarded-subject'`.execute(db);
  const k = await sql<{ n: string }>`SELECT count(*) AS n FROM watermark_keys WHERE subject = 'erased:test' AND octet_length(wrapped) = 0`.execute(db);
  assert.equal(Number(k.rows[0]!.n), 1);
});
