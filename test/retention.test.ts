// Retention (ASSENTMARK_RETENTION_DAYS, docs/personal-data.md "Retention"): a pass erases only the
// openings recorded before the cutoff, one erasure.performed per subject with basis retention;
// a subject with newer facts keeps them and its working copies, one with none left is erased
// whole; a held subject is skipped; a dry run writes nothing; a second pass finds nothing.
// The clock is faked by backdating openings' recorded_at.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { parseEvent } from '../src/ledger/events.js';
import { useTestApp, type TestApp } from './helpers/app.js';

type Json = Record<string, any>;

const t = useTestApp({ config: { retentionDays: 365 }, setup: async (t) => { await t.publishEula(); } });

const PARTLY = 'retention-partly';
const WHOLE = 'retention-whole';
const HELD = 'retention-held';
const FRESH = 'retention-fresh';

async function accept(t: TestApp, subject: string, ip: string): Promise<number> {
  const r = await t.accept({ subject, ip });
  assert.equal(r.status, 201, r.text);
  return r.body.ledger.seq as number;
}

/** Makes the openings of these entries `days` older. */
async function backdate(t: TestApp, seqs: number[], days: number): Promise<void> {
  await sql`UPDATE personal_openings SET recorded_at = recorded_at - make_interval(days => ${days}) WHERE ledger_seq = ANY(${seqs}::bigint[])`.execute(t.ctx.handle.db);
}

const pseudonym = (s: string) => t.built.services.pseudonyms.of(s);

async function openings(subject: string): Promise<Array<{ seq: number; erased: boolean }>> {
  return (await t.ctx.repos.openings.forSubject(pseudonym(subject))).map((o) => ({ seq: o.seq, erased: o.erased !== null }));
}

async function entries(): Promise<number> {
  return (await t.ctx.ledger.head()).size;
}

describe('retention', () => {
  let partlyOld: number[];
  let partlyNew: number;

  test('setup: old and new facts', async () => {
    // The first acceptance appends acceptance.recorded and watermark_key.assigned.
    const a = await accept(t, PARTLY, '198.51.100.1');
    partlyOld = [a, a + 1];
    partlyNew = await accept(t, PARTLY, '198.51.100.2');
    const w = await accept(t, WHOLE, '198.51.100.3');
    const h = await accept(t, HELD, '198.51.100.4');
    await accept(t, FRESH, '198.51.100.5');
    await backdate(t, [...partlyOld, w, w + 1, h, h + 1], 400);
    const hold = await t.post(`/v1/subjects/${HELD}/legal-holds`, 'admin').send({ case_ref: 'RET-1', reason: 'keep' });
    assert.equal(hold.status, 201, hold.text);
    // The hold's own openings are new: HELD stays due only through its backdated acceptance.
  });

  test('a dry run says what is due and writes nothing', async () => {
    const before = await entries();
    const run = await t.built.services.erasure.retention(365, { dryRun: true });
    assert.equal(run.dryRun, true);
    assert.equal(run.erasures.length, 0);
    const bySubject = new Map(run.subjects.map((s) => [s.pseudonym, s]));
    assert.equal(bySubject.get(pseudonym(PARTLY))?.workingCopies, false);
    assert.equal(bySubject.get(pseudonym(WHOLE))?.workingCopies, true);
    assert.ok((bySubject.get(pseudonym(HELD))?.heldBy.length ?? 0) === 1);
    assert.equal(bySubject.has(pseudonym(FRESH)), false);
    assert.equal(await entries(), before);
    assert.ok((await openings(PARTLY)).every((o) => !o.erased));
  });

  test('the CLI\'s dry run says the same', async () => {
    // The CLI reads the policy from its environment (cliEnv copies process.env).
    process.env.ASSENTMARK_RETENTION_DAYS = '365';
    let r;
    try {
      r = await t.cli(['subject', 'retention', '--dry-run', '--json']);
    } finally {
      delete process.env.ASSENTMARK_RETENTION_DAYS;
    }
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as Json;
    assert.equal(j.dry_run, true);
    assert.deepEqual(new Set(j.subjects.map((s: Json) => s.subject_pseudonym)), new Set([pseudonym(PARTLY), pseudonym(WHOLE), pseudonym(HELD)]));
  });

  test('a pass erases only what is due, one erasure.performed per subject, never a held subject', async () => {
    const before = await entries();
    const run = await t.built.services.erasure.retention(365);
    assert.equal(run.erasures.length, 2);
    assert.equal(await entries(), before + 2);
    for (const e of run.erasures) {
      assert.equal(e.basis, 'retention');
      assert.equal(e.requestRef, 'retention:365d');
      const ev = parseEvent((await t.ctx.ledger.entry(e.position.seq))!.canonical).data as Json;
      assert.equal(ev.basis, 'retention');
      assert.equal(ev.performed_by.api_key_id, 'retention');
    }
    // PARTLY: the old acceptance and key assignment erased, the newer acceptance kept, the working copies too.
    for (const o of await openings(PARTLY)) assert.equal(o.erased, partlyOld.includes(o.seq), `entry ${o.seq}`);
    assert.ok((await openings(PARTLY)).some((o) => o.seq === partlyNew && !o.erased));
    const partly = run.erasures.find((e) => e.pseudonym === pseudonym(PARTLY))!;
    assert.deepEqual(partly.data.working_rows, {});
    assert.equal((await t.ctx.repos.assentRecords.forSubject(PARTLY)).length, 2);
    // WHOLE: nothing newer, so its working copies are scrubbed and its key destroyed.
    assert.ok((await openings(WHOLE)).every((o) => o.erased));
    const whole = run.erasures.find((e) => e.pseudonym === pseudonym(WHOLE))!;
    assert.equal(whole.data.working_rows.assent_records, 1);
    assert.deepEqual(whole.data.watermark_keys, { action: 'destroyed', versions: [1] });
    assert.equal((await t.ctx.repos.assentRecords.forSubject(WHOLE)).length, 0);
    // HELD and FRESH: untouched.
    assert.ok((await openings(HELD)).every((o) => !o.erased));
    assert.ok((await openings(FRESH)).every((o) => !o.erased));
    assert.equal((await t.ctx.repos.erasures.forSubject(pseudonym(HELD))).length, 0);
  });

  test('a second pass finds nothing more; after the release the held subject is due', async () => {
    const again = await t.built.services.erasure.retention(365);
    assert.equal(again.erasures.length, 0);
    const holds = await t.get(`/v1/subjects/${HELD}/legal-holds`, 'admin');
    assert.equal((await t.post(`/v1/legal-holds/${holds.body.holds[0].id}/release`, 'admin').send({ reason: 'closed' })).status, 200);
    const run = await t.built.services.erasure.retention(365);
    assert.equal(run.erasures.length, 1);
    assert.equal(run.erasures[0]!.pseudonym, pseudonym(HELD));
    // The hold's own events are newer than the cutoff: kept, and with them the working copies.
    assert.deepEqual(run.erasures[0]!.data.working_rows, {});
    const v = await t.ctx.ledger.verify();
    assert.equal(v.ok, true);
  });

  test('an injected clock: everything recorded is due a year and a day later', async () => {
    const run = await t.built.services.erasure.retention(365, { now: new Date(Date.now() + 366 * 86_400_000), dryRun: true });
    assert.ok(run.subjects.some((s) => s.pseudonym === pseudonym(FRESH) && s.workingCopies));
  });
});
