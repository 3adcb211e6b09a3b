// The optional global text-watermark layer through HTTP (docs/llm-watermark-spec.md §6.1): created
// by an admin, committed in the ledger, stored only wrapped, served only by the gateway key
// endpoint, refused when changed meanwhile; and detection against it. The simulation: an attacker
// spreads its queries over 20 accounts, each answer marked with that account's key and the global
// key; the student distilled from all of them is detected by the global key while the per-subject
// tests, each holding a twentieth of the text, are far weaker.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { loadKek } from '../src/keys/master-key.js';
import { deriveGlobalTextKey, unwrapGlobalKey } from '../src/llm-watermark/global-key.js';
import { GreenList } from '../src/llm-watermark/scheme.js';
import { keyCommitment } from '../src/watermark/decide.js';
import { problemOf, useTestApp } from './helpers/app.js';
import { randomPrompts, Student, teacherSample, teacherWorld } from './helpers/llm-sim.js';

type Json = Record<string, any>;
const VOCAB = 100;
const ACCOUNTS = Array.from({ length: 20 }, (_, i) => `sock-${String(i).padStart(2, '0')}`);
const suspect = { name: 'HydraLM', version: '1', observed_at: 'https://api.hydra.example/v1' };
const t = useTestApp({ setup });
const responses: string[] = [];
let psid = '';
let params: Json;

async function setup(): Promise<void> {
  await t.publishEula();
  for (const subject of [...ACCOUNTS, 'bystander']) assert.equal((await t.accept({ subject })).status, 201);
  const set = await t.post('/v1/llm-watermark/parameter-sets', 'admin').send({ tokenizer: { name: 'synthetic', revision: '1' }, vocab_size: VOCAB });
  assert.equal(set.status, 201, set.text);
  psid = set.body.id;
  params = set.body.params;
}

async function counts(): Promise<{ ledger: number; globals: number; verifications: number; plans: number }> {
  const r = await sql<Record<string, string>>`SELECT (SELECT count(*) FROM ledger_entries) AS l, (SELECT count(*) FROM llm_global_keys) AS g,
    (SELECT count(*) FROM llm_verifications) AS v, (SELECT count(*) FROM llm_verification_plans) AS p`.execute(t.ctx.handle.db);
  const row = r.rows[0]!;
  return { ledger: Number(row.l), globals: Number(row.g), verifications: Number(row.v), plans: Number(row.p) };
}

async function send(path: string, role: 'admin' | 'gateway' | 'investigator', body: unknown) {
  const res = await t.post(path, role).send(body as object);
  responses.push(res.text);
  return res;
}

async function refused(path: string, role: 'admin' | 'gateway' | 'investigator', body: unknown, status: number, code: string): Promise<void> {
  const before = await counts();
  const res = await send(path, role, body);
  assert.equal(res.status, status, res.text);
  assert.equal(problemOf(res).code, code);
  assert.deepEqual(await counts(), before, 'a refused request writes nothing');
}

/** The global key's raw bytes, read the way the service does (only for checking here). */
async function rawGlobal(version?: number): Promise<Buffer> {
  const w = await t.ctx.repos.llmGlobalKeys.wrapped(version);
  assert.ok(w);
  return unwrapGlobalKey(loadKek(t.config), w);
}

const verifyBody = (extra: Json) => ({ case_ref: 'CASE-G', suspect, parameter_set_id: psid, prompts: [[1, 2]], outputs: [[3, 4, 5]], ...extra });

describe('the global key', () => {
  test('before one exists: the gateway gets global null, and a verification or plan asking for it is refused', async () => {
    const keys = await send('/v1/llm-watermark/keys', 'gateway', { parameter_set_id: psid, subjects: ['sock-00'] });
    assert.equal(keys.status, 200, keys.text);
    assert.equal(keys.body.global, null);
    assert.equal((await t.get('/v1/llm-watermark/global-key', 'admin')).status, 409);
    await refused('/v1/llm-verifications', 'investigator', verifyBody({ subjects: ['sock-00'], global_key: true }), 409, 'no_global_key');
    await refused('/v1/llm-verification-plans', 'investigator', { case_ref: 'CASE-G', parameter_set_id: psid, subjects: [], global_key: true, prompts: [[1, 2]] }, 409, 'no_global_key');
  });

  test('created by an admin: committed in the ledger, stored wrapped, the response carries the commitment only', async () => {
    const before = await counts();
    const res = await send('/v1/llm-watermark/global-key', 'admin', { reason: 'second layer for the gateway', from_version: 0 });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.key_version, 1);
    assert.deepEqual(await counts(), { ...before, ledger: before.ledger + 1, globals: before.globals + 1 });
    const ev = await sql<{ canonical: Uint8Array }>`SELECT canonical FROM ledger_entries WHERE event_type = 'llm_watermark.global_key_created'`.execute(t.ctx.handle.db);
    const data = JSON.parse(Buffer.from(ev.rows[0]!.canonical).toString('utf8')).data as Json;
    assert.deepEqual(data.key, { version: 1, key_id: res.body.key_id, commitment: res.body.commitment });
    assert.equal(data.previous, null);
    const g = await rawGlobal();
    assert.equal(g.length, 32);
    assert.equal(keyCommitment(res.body.key_id, g), res.body.commitment, 'the commitment is the spec\'s, over the stored key');
    const stored = await sql<{ wrapped: Uint8Array }>`SELECT wrapped FROM llm_global_keys`.execute(t.ctx.handle.db);
    assert.ok(!Buffer.from(stored.rows[0]!.wrapped).includes(g), 'stored only wrapped');
    g.fill(0);
    assert.deepEqual((await t.get('/v1/llm-watermark/global-key', 'investigator')).body.commitment, res.body.commitment);
  });

  test('the gateway key endpoint serves its HKDF key beside the subjects\' keys', async () => {
    const res = await send('/v1/llm-watermark/keys', 'gateway', { parameter_set_id: psid, subjects: ['sock-00', 'nobody'] });
    assert.equal(res.status, 200);
    const g = await rawGlobal();
    assert.equal(res.body.global.key_hex, deriveGlobalTextKey(g, psid).toString('hex'));
    assert.equal(res.body.global.key_version, 1);
    assert.notEqual(res.body.global.key_hex, res.body.results[0].key_hex);
    g.fill(0);
  });

  test('refused and nothing written: another role, a stale from_version, parallel replacements of one version (one wins)', async () => {
    await refused('/v1/llm-watermark/global-key', 'gateway', { reason: 'x' }, 403, 'forbidden');
    await refused('/v1/llm-watermark/global-key', 'admin', { reason: '' }, 400, 'validation_failed');
    await refused('/v1/llm-watermark/global-key', 'admin', { reason: 'no version named' }, 400, 'validation_failed');
    await refused('/v1/llm-watermark/global-key', 'admin', { reason: 'stale', from_version: 0 }, 409, 'global_key_changed');
    const all = await Promise.all(Array.from({ length: 10 }, () => send('/v1/llm-watermark/global-key', 'admin', { reason: 'rotate', from_version: 1 })));
    assert.deepEqual(all.map((r) => r.status).sort(), [201, ...Array(9).fill(409)], all.map((r) => r.text).join('\n'));
    assert.equal((await t.get('/v1/llm-watermark/global-key', 'admin')).body.key_version, 2);
    // The gateway's cache follows the replacement at once in this process.
    const keys = await send('/v1/llm-watermark/keys', 'gateway', { parameter_set_id: psid, subjects: ['sock-00'] });
    assert.equal(keys.body.global.key_version, 2);
  });
});

describe('an attacker spreading its queries over 20 accounts', () => {
  test('the student is detected by the global key; the per-subject tests hold a twentieth of the text each', async () => {
    // Version 2 is current: the gateway marks every account's answers with its own key and the global key.
    const keys = await send('/v1/llm-watermark/keys', 'gateway', { parameter_set_id: psid, subjects: ACCOUNTS });
    const global = new GreenList(Buffer.from(keys.body.global.key_hex, 'hex'), params as never);
    const world = teacherWorld(VOCAB, 10, 51);
    const training: number[][] = [];
    keys.body.results.forEach((r: Json, i: number) => {
      assert.equal(r.status, 'ok');
      const own = new GreenList(Buffer.from(r.key_hex, 'hex'), params as never);
      training.push(...teacherSample(world, randomPrompts(VOCAB, 15, 2, 100 + i), 500, 200 + i, { green: [own, global], delta: params.delta }));
    });
    const prompts = randomPrompts(VOCAB, 40, 2, 52);
    const outputs = new Student(VOCAB).train(training).generate(prompts, 500, 53);
    const before = await counts();
    const res = await send('/v1/llm-verifications', 'investigator', { case_ref: 'CASE-HYDRA', suspect, parameter_set_id: psid, subjects: [...ACCOUNTS, 'bystander'], global_key: true, prompts, outputs });
    assert.equal(res.status, 201, res.text);
    const results = res.body.results as Json[];
    assert.equal(results.length, 22);
    assert.deepEqual(await counts(), { ...before, ledger: before.ledger + 22, verifications: before.verifications + 22 });
    const g = results.at(-1)!;
    assert.equal(g.layer, 'global');
    assert.equal(g.subject, null);
    assert.equal(g.key_version, 2);
    assert.equal(g.decision, 'detected');
    assert.ok(g.log10_p_adjusted < -9, `global: 10^${g.log10_p_adjusted}`);
    const perSubject = results.slice(0, 20);
    const best = Math.min(...perSubject.map((r) => r.log10_p_adjusted));
    const detected = perSubject.filter((r) => r.decision === 'detected').length;
    // Reported, not tuned: how much weaker the per-account evidence is than the global one.
    console.log(`# global 10^${g.log10_p_adjusted.toFixed(1)} (green ${(g.green_rate * 100).toFixed(1)}% of ${g.n}); per account best 10^${best.toFixed(1)}, ${detected} of 20 detected; bystander 10^${results[20]!.log10_p_adjusted.toFixed(2)}`);
    assert.ok(g.log10_p_adjusted < 5 * best, 'the global layer is far stronger than any single account\'s');
    assert.equal(results[20]!.decision, 'not_detected', 'an account that did not take part is not detected');
    // Recorded: the global outcome is an event with layer "global", no subject and the global key's commitment; S counts it.
    const ev = await sql<{ canonical: Uint8Array }>`SELECT canonical FROM ledger_entries WHERE seq = ${g.ledger.seq}`.execute(t.ctx.handle.db);
    const data = JSON.parse(Buffer.from(ev.rows[0]!.canonical).toString('utf8')).data as Json;
    assert.equal(data.layer, 'global');
    assert.equal(data.subject, null);
    assert.equal(data.key.version, 2);
    assert.equal(data.key.commitment, (await t.get('/v1/llm-watermark/global-key', 'admin')).body.commitment);
    assert.equal(data.statistic.subjects_screened, 22);
    const got = await t.get(`/v1/llm-verifications/${g.id}`, 'investigator');
    assert.equal(got.body.layer, 'global');
    assert.equal(got.body.subject, null);
  });

  test('pre-registered against the global key alone; an older version on request; refused combinations', async () => {
    const prompts = randomPrompts(VOCAB, 5, 2, 61);
    const plan = await send('/v1/llm-verification-plans', 'investigator', { case_ref: 'CASE-GP', parameter_set_id: psid, subjects: [], global_key: true, prompts });
    assert.equal(plan.status, 201, plan.text);
    assert.equal(plan.body.global_key, true);
    assert.equal(plan.body.subjects_screened, 1);
    const outputs = prompts.map((p) => [...p, 7, 8, 9, 10]);
    const res = await send('/v1/llm-verifications', 'investigator', { case_ref: 'CASE-GP', suspect, plan_id: plan.body.id, outputs, global_key_version: 1 });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.results.map((r: Json) => [r.layer, r.key_version]), [['global', 1]]);
    await refused('/v1/llm-verifications', 'investigator', { case_ref: 'CASE-GP', suspect, plan_id: plan.body.id, outputs, global_key: true }, 422, 'plan_mismatch');
    await refused('/v1/llm-verifications', 'investigator', verifyBody({ global_key_version: 9 }), 409, 'no_global_key');
    await refused('/v1/llm-verifications', 'investigator', verifyBody({ subjects: [], global_key: false }), 400, 'invalid_item');
    await refused('/v1/llm-verifications', 'investigator', verifyBody({ subjects: ['sock-00'], global_key: true, subjects_screened: 1 }), 400, 'invalid_item');
    await refused('/v1/llm-verification-plans', 'investigator', { case_ref: 'CASE-GP', parameter_set_id: psid, subjects: [], prompts }, 400, 'invalid_item');
  });

  test('no response but the gateway key endpoint carries a global PRF key, and none carries the global key itself', async () => {
    for (const version of [1, 2]) {
      const g = await rawGlobal(version);
      const raw = g.toString('hex');
      const derived = deriveGlobalTextKey(g, psid).toString('hex');
      g.fill(0);
      for (const r of responses) {
        assert.ok(!r.includes(raw));
        if (!r.includes('"ttl_seconds"')) assert.ok(!r.includes(derived), r.slice(0, 200));
      }
    }
  });
});
