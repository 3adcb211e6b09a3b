// Client input that used to reach the service or the database unchecked: a plan without samples,
// integers beyond PostgreSQL's int4 columns, plan samples the verification would refuse. Each is a
// 400 naming the field (and the sample's index), and nothing is recorded.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { problemOf, useTestApp } from './helpers/app.js';

type Json = Record<string, any>;

const t = useTestApp({
  setup: async (t) => {
    await t.publishEula();
    assert.equal((await t.accept({ subject: 'alice' })).status, 201);
  },
});

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const planSample = (i: number, o: Json = {}): Json => ({ input_sha256: sha(`plan input ${i}`), owner_label: i % 10, num_classes: 10, ...o });
const planSamples = (n: number): Json[] => Array.from({ length: n }, (_, i) => planSample(i));
const plan = (o: Json = {}): Json => ({ case_ref: 'CASE-INPUT', subjects: ['alice'], samples: planSamples(40), ...o });
const suspect = { name: 'CopyCat-1', version: '1', observed_at: 'https://api.copycat.example' };
const verification = (o: Json = {}): Json => ({ case_ref: 'CASE-INPUT', suspect, subjects: ['alice'], samples: planSamples(40).map((s, i) => ({ ...s, suspect_label: (i * 7) % 10 })), ...o });

async function evidenceCounts(): Promise<Record<string, number>> {
  const r = await sql<Record<string, string | number>>`
    SELECT (SELECT count(*) FROM ledger_entries) AS ledger, (SELECT count(*) FROM verification_plans) AS plans, (SELECT count(*) FROM verifications) AS verifications`.execute(t.ctx.handle.db);
  return Object.fromEntries(Object.entries(r.rows[0]!).map(([k, v]) => [k, Number(v)]));
}

/** POSTs `body` as investigator: a 400 problem whose errors name `field` first (and whose detail does too), nothing recorded. */
async function refusedNaming(path: string, body: Json, field: string): Promise<ReturnType<typeof problemOf>> {
  const before = await evidenceCounts();
  const res = await t.post(path, 'investigator').send(body);
  assert.equal(res.status, 400, `${path} → ${res.status}: ${res.text.slice(0, 400)}`);
  const p = problemOf(res);
  assert.ok(p.errors && p.errors.length > 0, JSON.stringify(p));
  assert.equal(p.errors[0]!.field, field, JSON.stringify(p.errors));
  assert.ok(p.detail.includes(field) || p.detail.includes(field.replace(/\.(\d+)/g, '[$1]')), `detail names ${field}: ${p.detail}`);
  assert.deepEqual(await evidenceCounts(), before, 'nothing recorded');
  return p;
}

describe('required fields of large bodies', () => {
  test('a plan without samples is a 400 naming samples', async () => {
    const { samples: _, ...body } = plan();
    const p = await refusedNaming('/v1/verification-plans', body, 'samples');
    assert.match(p.errors![0]!.message, /required/);
  });

  test('a plan without subjects or case_ref is a 400 naming it', async () => {
    const { subjects: _s, ...noSubjects } = plan();
    await refusedNaming('/v1/verification-plans', noSubjects, 'subjects');
    const { case_ref: _c, ...noCase } = plan();
    await refusedNaming('/v1/verification-plans', noCase, 'case_ref');
  });

  test('a plan with samples: null is a 400 naming samples', async () => {
    await refusedNaming('/v1/verification-plans', plan({ samples: null }), 'samples');
  });
});

describe('integers beyond int4 columns', () => {
  for (const v of [2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
    test(`key_version ${v} on a verification is a 400 naming key_version`, async () => {
      await refusedNaming('/v1/verifications', verification({ key_version: v }), 'key_version');
    });
  }

  test('key_version 2^31 - 1 is in range: answered as an unknown key version (422), not refused as input', async () => {
    const res = await t.post('/v1/verifications', 'investigator').send(verification({ key_version: 2 ** 31 - 1 }));
    assert.equal(res.status, 422, res.text);
    assert.equal(problemOf(res).code, 'unknown_subjects');
  });

  test('from_version beyond int4 on a rotation is a 400 naming from_version', async () => {
    const res = await t.post('/v1/subjects/alice/watermark-keys/rotate', 'admin').send({ reason: 'x', from_version: 2 ** 31 });
    assert.equal(res.status, 400, res.text);
    assert.equal(problemOf(res).errors![0]!.field, 'from_version');
  });
});

describe('plan samples are checked as the verification checks them', () => {
  for (const [what, sample, field] of [
    ['owner_label 99 with num_classes 10', { owner_label: 99 }, 'owner_label'],
    ['owner_label 2^53 - 1', { owner_label: Number.MAX_SAFE_INTEGER }, 'owner_label'],
    ['owner_label equal to num_classes', { owner_label: 10 }, 'owner_label'],
  ] as const) {
    test(`a plan sample with ${what} is a 400 naming its index and field`, async () => {
      const samples = planSamples(40);
      samples[17] = { ...samples[17], ...sample };
      await refusedNaming('/v1/verification-plans', plan({ samples }), `samples.17.${field}`);
    });

    test(`a verification sample with ${what} is the same 400`, async () => {
      const body = verification();
      body.samples[17] = { ...body.samples[17], ...sample };
      await refusedNaming('/v1/verifications', body, `samples.17.${field}`);
    });
  }

  test('a plan with a two-class sample is refused as the verification refuses it (422), nothing recorded', async () => {
    const before = await evidenceCounts();
    const samples = planSamples(40);
    samples[3] = { ...samples[3], num_classes: 2, owner_label: 1 };
    const res = await t.post('/v1/verification-plans', 'investigator').send(plan({ samples }));
    assert.equal(res.status, 422, res.text);
    assert.equal(problemOf(res).code, 'two_class_unsupported');
    assert.deepEqual(await evidenceCounts(), before);
  });

  test('against a recorded plan, each suspect label is checked against its planned sample, naming the index', async () => {
    const made = await t.post('/v1/verification-plans', 'investigator').send(plan());
    assert.equal(made.status, 201, made.text);
    const labels = planSamples(40).map((s) => (s.owner_label + 1) % 10);
    labels[5] = 10;
    const p = await refusedNaming('/v1/verifications', { case_ref: 'CASE-INPUT', suspect, plan_id: made.body.id, suspect_labels: labels }, 'suspect_labels.5');
    assert.match(p.detail, /num_classes 10/);
  });
});
