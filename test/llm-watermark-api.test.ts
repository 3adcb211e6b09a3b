// The text watermark through HTTP: parameter-set registration (idempotent, also under parallel
// requests), the gateway's per-subject keys (statuses as the decide endpoint's, derived exactly as
// the spec says), and verification end to end: text marked with the key the endpoint handed out,
// a student distilled from it, a pre-registered plan, and outcomes recorded as ledger events.
// Bad input is refused with problem+json and leaves no row and no event.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { deriveTextKey, GreenList, parameterSet, parameterSetId } from '../src/llm-watermark/scheme.js';
import { problemOf, useTestApp, withdrawalBody } from './helpers/app.js';
import { randomPrompts, Student, teacherSample, teacherWorld } from './helpers/llm-sim.js';

type Json = Record<string, any>;
const VOCAB = 100;
const t = useTestApp({ setup });
const responses: string[] = [];
const suspect = { name: 'ParrotLM', version: '0.3', observed_at: 'https://api.parrot.example/v1/chat' };
const setBody = { tokenizer: { name: 'synthetic', revision: '1' }, vocab_size: VOCAB };
let psid = '';

async function setup(): Promise<void> {
  await t.publishEula();
  for (const subject of ['alice', 'thief', 'quitter']) assert.equal((await t.accept({ subject })).status, 201);
  assert.equal((await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: 'quitter' }))).status, 201);
}

async function counts(): Promise<{ ledger: number; sets: number; plans: number; verifications: number }> {
  const r = await sql<Record<string, string | number>>`
    SELECT (SELECT count(*) FROM ledger_entries) AS l, (SELECT count(*) FROM llm_parameter_sets) AS s,
           (SELECT count(*) FROM llm_verification_plans) AS p, (SELECT count(*) FROM llm_verifications) AS v`.execute(t.ctx.handle.db);
  const row = r.rows[0]!;
  return { ledger: Number(row.l), sets: Number(row.s), plans: Number(row.p), verifications: Number(row.v) };
}

async function events(type: string): Promise<Json[]> {
  const r = await sql<{ canonical: Uint8Array }>`SELECT canonical FROM ledger_entries WHERE event_type = ${type} ORDER BY seq`.execute(t.ctx.handle.db);
  return r.rows.map((x) => JSON.parse(Buffer.from(x.canonical).toString('utf8')) as Json);
}

async function send(path: string, role: 'admin' | 'gateway' | 'investigator' | 'signup', body: unknown) {
  // A new Idempotency-Key each: the usage route requires one, the others honour it.
  const res = await t.post(path, role).set('Idempotency-Key', t.idem()).send(body as object);
  responses.push(res.text);
  return res;
}

/** A refused request: its problem code, and nothing written. */
async function refused(path: string, role: 'admin' | 'gateway' | 'investigator', body: unknown, status: number, code: string): Promise<Json> {
  const before = await counts();
  const res = await send(path, role, body);
  assert.equal(res.status, status, res.text);
  const p = problemOf(res);
  assert.equal(p.code, code);
  assert.deepEqual(await counts(), before, 'a refused request writes nothing');
  return p;
}

describe('parameter sets', () => {
  test('registering is idempotent, also for parallel requests: one row, one event, the spec\'s id', async () => {
    const before = await counts();
    const all = await Promise.all(Array.from({ length: 6 }, () => send('/v1/llm-watermark/parameter-sets', 'admin', setBody)));
    assert.equal(all.filter((r) => r.status === 201).length, 1, 'exactly one registration');
    assert.ok(all.every((r) => r.status === 200 || r.status === 201));
    psid = all[0]!.body.id;
    assert.ok(all.every((r) => r.body.id === psid));
    // The id is the spec's content hash of the set with its defaults filled in (docs/llm-watermark-spec.md §2).
    assert.equal(psid, parameterSetId(parameterSet(setBody)));
    assert.deepEqual(await counts(), { ...before, ledger: before.ledger + 1, sets: before.sets + 1 });
    const [ev] = await events('llm_watermark.parameter_set_registered');
    assert.equal(ev!.data.parameter_set_id, psid);
    assert.equal(ev!.data.params.green_threshold, 4194304);
    const got = await t.get(`/v1/llm-watermark/parameter-sets/${psid}`, 'gateway');
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.params, all[0]!.body.params);
  });

  test('refused: sets with no green tokens, unknown members, other roles', async () => {
    await refused('/v1/llm-watermark/parameter-sets', 'admin', { ...setBody, gamma: 2 ** -26 }, 400, 'invalid_parameter_set');
    await refused('/v1/llm-watermark/parameter-sets', 'admin', { ...setBody, window: 0 }, 400, 'validation_failed');
    await refused('/v1/llm-watermark/parameter-sets', 'admin', { ...setBody, vocab_size: 2 ** 24 + 1 }, 400, 'validation_failed');
    await refused('/v1/llm-watermark/parameter-sets', 'admin', { ...setBody, seed: 1 }, 400, 'validation_failed');
    await refused('/v1/llm-watermark/parameter-sets', 'gateway', { ...setBody, vocab_size: 99 }, 403, 'forbidden');
    assert.equal((await t.get(`/v1/llm-watermark/parameter-sets/${'0'.repeat(64)}`, 'admin')).status, 404);
  });
});

describe('POST /v1/llm-watermark/keys', () => {
  test('derived keys for standing subjects only, per-subject statuses, cacheable', async () => {
    const res = await send('/v1/llm-watermark/keys', 'gateway', { parameter_set_id: psid, subjects: ['thief', 'nobody', 'quitter', 'alice', 'thief'] });
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers['cache-control'] ?? '', /^private, max-age=\d+$/);
    const r = res.body.results as Json[];
    assert.deepEqual(r.map((x) => x.status), ['ok', 'no_key', 'no_acceptance', 'ok', 'ok']);
    assert.equal(r[0]!.key_hex, r[4]!.key_hex);
    assert.notEqual(r[0]!.key_hex, r[3]!.key_hex);
    assert.ok(!('key_hex' in r[1]!) && !('key_hex' in r[2]!));
    const raw = (await t.built.services.watermarkKeys.unwrapped(['thief'])).get('thief')!;
    assert.equal(r[0]!.key_hex, deriveTextKey(raw.key, psid).toString('hex'));
    assert.equal(r[0]!.key_version, raw.info.version);
    const kb = Buffer.from(r[0]!.key_hex, 'hex');
    assert.equal(BigInt(r[0]!.key_integer), BigInt(kb.readUInt32LE(0)) + (BigInt(kb.readUInt32LE(4)) << 32n));
    raw.key.fill(0);
  });

  test('a withdrawal or a rotation takes effect at once, not after the cache TTL', async () => {
    assert.equal((await t.accept({ subject: 'leaver' })).status, 201);
    const ask = async () => (await send('/v1/llm-watermark/keys', 'gateway', { parameter_set_id: psid, subjects: ['leaver'] })).body.results[0] as Json;
    const first = await ask();
    assert.equal(first.status, 'ok');
    assert.equal((await t.post('/v1/subjects/leaver/watermark-keys/rotate', 'admin').send({ reason: 'test' })).status, 201);
    const rotated = await ask();
    assert.equal(rotated.key_version, first.key_version + 1);
    assert.notEqual(rotated.key_hex, first.key_hex);
    assert.equal((await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: 'leaver' }))).status, 201);
    assert.equal((await ask()).status, 'no_acceptance');
  });

  test('refused: unknown parameter set, the wrong role, an empty list', async () => {
    await refused('/v1/llm-watermark/keys', 'gateway', { parameter_set_id: 'f'.repeat(64), subjects: ['thief'] }, 404, 'llm_parameter_set_not_found');
    await refused('/v1/llm-watermark/keys', 'investigator', { parameter_set_id: psid, subjects: ['thief'] }, 403, 'forbidden');
    await refused('/v1/llm-watermark/keys', 'gateway', { parameter_set_id: psid, subjects: [] }, 400, 'validation_failed');
  });
});

describe('POST /v1/llm-watermark/usage', () => {
  test('a daily roll-up is one event per subject with the key version in effect', async () => {
    const before = await counts();
    const period = { start: '2026-11-30T00:00:00Z', end: '2026-12-01T00:00:00Z' };
    const res = await send('/v1/llm-watermark/usage', 'gateway', { parameter_set_id: psid, period, items: [{ subject: 'thief', tokens_served: 120_000 }, { subject: 'alice', tokens_served: 7 }] });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.recorded.map((r: Json) => r.subject), ['thief', 'alice']);
    assert.equal((await counts()).ledger, before.ledger + 2);
    const evs = (await events('llm_watermark.usage_reported')).slice(-2);
    const ps = t.built.services.pseudonyms;
    assert.deepEqual(evs.map((e) => [e.data.subject.pseudonym, e.data.tokens_served, e.data.parameter_set_id, e.data.period.start]), [[ps.of('thief'), 120_000, psid, '2026-11-30T00:00:00.000Z'], [ps.of('alice'), 7, psid, '2026-11-30T00:00:00.000Z']]);
  });

  test('refused and nothing recorded: subjects without keys, empty or reversed periods, repeats, zero counts, other roles', async () => {
    const period = { start: '2026-11-30T00:00:00Z', end: '2026-12-01T00:00:00Z' };
    const ok = { parameter_set_id: psid, period, items: [{ subject: 'thief', tokens_served: 1 }] };
    await refused('/v1/llm-watermark/usage', 'gateway', { ...ok, items: [{ subject: 'thief', tokens_served: 1 }, { subject: 'nobody', tokens_served: 1 }] }, 422, 'unknown_subjects');
    await refused('/v1/llm-watermark/usage', 'gateway', { ...ok, period: { start: period.end, end: period.start } }, 400, 'invalid_item');
    await refused('/v1/llm-watermark/usage', 'gateway', { ...ok, period: { start: period.start, end: '2999-01-01T00:00:00Z' } }, 400, 'invalid_item');
    await refused('/v1/llm-watermark/usage', 'gateway', { ...ok, items: [{ subject: 'thief', tokens_served: 1 }, { subject: 'thief', tokens_served: 2 }] }, 400, 'invalid_item');
    await refused('/v1/llm-watermark/usage', 'gateway', { ...ok, items: [{ subject: 'thief', tokens_served: 0 }] }, 400, 'validation_failed');
    await refused('/v1/llm-watermark/usage', 'gateway', { ...ok, period: { start: 'yesterday', end: period.end } }, 400, 'validation_failed');
    await refused('/v1/llm-watermark/usage', 'gateway', { ...ok, parameter_set_id: 'a'.repeat(64) }, 404, 'llm_parameter_set_not_found');
    await refused('/v1/llm-watermark/usage', 'investigator', ok, 403, 'forbidden');
  });
});

describe('POST /v1/llm-verifications', () => {
  let prompts: number[][] = [];
  let outputs: number[][] = [];

  before(async () => {
    // The gateway marks the thief's answers with the key the endpoint handed out; the thief distils a student.
    const keys = await send('/v1/llm-watermark/keys', 'gateway', { parameter_set_id: psid, subjects: ['thief'] });
    const set = (await t.get(`/v1/llm-watermark/parameter-sets/${psid}`, 'gateway')).body.params;
    const green = new GreenList(Buffer.from(keys.body.results[0].key_hex, 'hex'), set);
    const world = teacherWorld(VOCAB, 10, 21);
    const marked = teacherSample(world, randomPrompts(VOCAB, 300, 2, 22), 500, 23, { green, delta: set.delta });
    prompts = randomPrompts(VOCAB, 40, 2, 24);
    outputs = new Student(VOCAB).train(marked).generate(prompts, 500, 25);
  });

  test('pre-registered: the plan commits the prompts; the distilled student is detected for the thief only', async () => {
    const plan = await send('/v1/llm-verification-plans', 'investigator', { case_ref: 'CASE-LLM-1', parameter_set_id: psid, subjects: ['thief', 'alice'], prompts, subjects_screened: 10 });
    assert.equal(plan.status, 201, plan.text);
    const [planned] = await events('llm_verification.planned');
    assert.equal(planned!.data.prompts_sha256, plan.body.prompts_sha256);
    const before = await counts();
    const res = await send('/v1/llm-verifications', 'investigator', { case_ref: 'CASE-LLM-1', suspect, plan_id: plan.body.id, outputs });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.preregistered, true);
    const [thief, alice] = res.body.results as Json[];
    assert.equal(thief!.subject, 'thief');
    assert.equal(thief!.decision, 'detected');
    assert.ok(thief!.log10_p_adjusted < -9);
    assert.equal(alice!.decision, 'not_detected');
    assert.equal(res.body.tuples.n, thief!.n);
    assert.ok(res.body.tuples.prompt_windows_dropped > 0, 'the 2-token prompts\' windows are dropped');
    assert.deepEqual(await counts(), { ...before, ledger: before.ledger + 2, verifications: before.verifications + 2 });
    const recorded = (await events('llm_verification.recorded')).slice(-2);
    assert.deepEqual(recorded.map((e) => e.data.decision), ['detected', 'not_detected']);
    assert.equal(recorded[0]!.data.plan.id, plan.body.id);
    assert.equal(recorded[0]!.data.statistic.subjects_screened, 10);
    assert.equal(recorded[0]!.data.statistic.power.length, 8);
    const got = await t.get(`/v1/llm-verifications/${thief!.id}`, 'investigator');
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.outcome, recorded[0]!.data);
  });

  test('too few tuples is a recorded insufficient decision with the count needed', async () => {
    const res = await send('/v1/llm-verifications', 'investigator', { case_ref: 'CASE-LLM-2', suspect, parameter_set_id: psid, subjects: ['thief'], prompts: [[1, 2]], outputs: [[3, 4, 5]] });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.results[0].decision, 'insufficient');
    assert.equal(res.body.results[0].min_tuples_needed, 15);
    const [last] = (await events('llm_verification.recorded')).slice(-1);
    assert.equal(last!.data.decision, 'insufficient');
  });

  test('refused and nothing recorded: out-of-vocabulary tokens, mismatched counts, unknown subjects, plan conflicts', async () => {
    const base = { case_ref: 'CASE-BAD', suspect, parameter_set_id: psid, subjects: ['thief'], prompts: [[1, 2]], outputs: [[3, 4, 5]] };
    const p = await refused('/v1/llm-verifications', 'investigator', { ...base, outputs: [[3, VOCAB, 5]] }, 400, 'token_out_of_range');
    assert.equal(p.errors?.[0]?.field, 'outputs.0.1');
    await refused('/v1/llm-verifications', 'investigator', { ...base, outputs: [[3, -1]] }, 400, 'validation_failed');
    await refused('/v1/llm-verifications', 'investigator', { ...base, outputs: [[3, 1.5]] }, 400, 'validation_failed');
    await refused('/v1/llm-verifications', 'investigator', { ...base, outputs: [[3], [4]] }, 400, 'invalid_item');
    await refused('/v1/llm-verifications', 'investigator', { ...base, subjects: ['thief', 'nobody'] }, 422, 'unknown_subjects');
    await refused('/v1/llm-verifications', 'investigator', { ...base, subjects_screened: 0 }, 400, 'validation_failed');
    await refused('/v1/llm-verifications', 'investigator', { ...base, parameter_set_id: 'e'.repeat(64) }, 404, 'llm_parameter_set_not_found');
    const { parameter_set_id: _p, ...noSet } = base;
    await refused('/v1/llm-verifications', 'investigator', noSet, 400, 'invalid_item');
    await refused('/v1/llm-verifications', 'investigator', { case_ref: 'CASE-BAD', suspect, plan_id: '00000000-0000-4000-8000-000000000000', outputs: [[1]] }, 404, 'plan_not_found');
    const plan = await send('/v1/llm-verification-plans', 'investigator', { case_ref: 'CASE-P', parameter_set_id: psid, subjects: ['thief'], prompts: [[1, 2]] });
    assert.equal(plan.status, 201);
    await refused('/v1/llm-verifications', 'investigator', { case_ref: 'CASE-P', suspect, plan_id: plan.body.id, prompts: [[9, 9]], outputs: [[1]] }, 422, 'plan_mismatch');
    await refused('/v1/llm-verifications', 'investigator', { case_ref: 'CASE-OTHER', suspect, plan_id: plan.body.id, outputs: [[1]] }, 422, 'plan_mismatch');
    await refused('/v1/llm-verification-plans', 'investigator', { case_ref: 'CASE-P2', parameter_set_id: psid, subjects: ['nobody'], prompts: [[1, 2]] }, 422, 'unknown_subjects');
    await refused('/v1/llm-verification-plans', 'investigator', { case_ref: 'CASE-P2', parameter_set_id: psid, subjects: ['thief'], prompts: [[1, 200]] }, 400, 'token_out_of_range');
    await refused('/v1/llm-verifications', 'gateway', base, 403, 'forbidden');
  });

  test('no response outside the key endpoint carries a subject\'s text key, and none carries a watermark key', async () => {
    const raw = await t.built.services.watermarkKeys.unwrapped(['thief', 'alice']);
    for (const k of raw.values()) {
      const hexKey = k.key.toString('hex');
      const textKey = deriveTextKey(k.key, psid).toString('hex');
      k.key.fill(0);
      for (const r of responses) {
        assert.ok(!r.includes(hexKey));
        if (!r.includes('"results":[{"subject"')) assert.ok(!r.includes(textKey));
      }
    }
  });
});
