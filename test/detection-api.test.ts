// Detection through HTTP: the gateway's per-item watermark decisions (status per subject, slug
// filter, probability swaps, key rotation), and verification end to end (a simulated extraction
// through /v1/watermark/decide is detected for the extracting subject only, outcomes are ledger
// events, pre-registered plans are referenced by their outcomes). No response carries a key.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openedEvent } from './helpers/opened.js';
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { buf } from '../src/db/bytes.js';
import { planDigest } from '../src/verification/service.js';
import { decide, rateToThreshold, swapProbabilities } from '../src/watermark/decide.js';
import { samplesDigest, type VerifySample } from '../src/watermark/verify.js';
import { problemOf, useTestApp, withdrawalBody } from './helpers/app.js';

type Json = Record<string, any>;

const K = 10;
const OTHER_SLUG = 'other-terms';

const t = useTestApp({ setup });
let threshold: bigint;
/** Every response body seen, to prove none carries key material. */
const responses: string[] = [];
/** Every key (version) handed to the pure reference, to search for in responses and the ledger. */
const seenKeys: Buffer[] = [];

function seen<R extends { text: string }>(res: R): R {
  responses.push(res.text ?? '');
  return res;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();
/** The owner's model: a deterministic labelling of inputs (by digest). */
const ownerLabel = (dg: Buffer): number => (dg[0] as number) % K;
/** An independent model: agrees with the owner 90% of the time, else its own (different) label. */
const independentLabel = (dg: Buffer): number => ((dg[1] as number) % 10 < 9 ? ownerLabel(dg) : (ownerLabel(dg) + 1 + ((dg[2] as number) % (K - 1))) % K);
/** A probability vector whose argmax is the owner label. */
function ownerProbs(dg: Buffer): number[] {
  const y = ownerLabel(dg);
  return Array.from({ length: K }, (_, i) => (i === y ? 0.5 : ((dg[i + 1] as number) % 8) / 160));
}

function digests(tag: string, n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => sha256(`${tag} ${i}`));
}

/** The subject's current key, unwrapped for the pure reference only. */
async function keyOf(subject: string): Promise<{ key: Buffer; version: number }> {
  const m = await t.built.services.watermarkKeys.unwrapped([subject]);
  const k = m.get(subject);
  assert.ok(k, `${subject} has a key`);
  seenKeys.push(Buffer.from(k.key));
  return { key: k.key, version: k.info.version };
}

async function decideBatch(items: Json[], slug?: string): Promise<Json[]> {
  const res = seen(await t.post('/v1/watermark/decide', 'gateway').send({ ...(slug ? { slug } : {}), items }));
  assert.equal(res.status, 200, res.text.slice(0, 500));
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
  // The response is built from templates: it must be exactly what JSON.stringify would write.
  assert.equal(res.text, JSON.stringify(res.body));
  assert.equal(res.body.results.length, items.length);
  return res.body.results as Json[];
}

async function ledgerEvents(type?: string): Promise<Array<{ seq: number; type: string; canonical: Buffer; event: Json }>> {
  const rows = await sql<{ seq: string; event_type: string; canonical: Uint8Array }>`SELECT seq, event_type, canonical FROM ledger_entries ORDER BY seq`.execute(t.ctx.handle.db);
  return rows.rows
    .map((r) => {
      const canonical = Buffer.from(buf(r.canonical));
      return { seq: Number(r.seq), type: r.event_type, canonical, event: JSON.parse(canonical.toString('utf8')) as Json };
    })
    .filter((e) => type === undefined || e.type === type);
}

async function counts(): Promise<{ ledger: number; verifications: number; plans: number }> {
  const r = await sql<{ l: string | number; v: string | number; p: string | number }>`
    SELECT (SELECT count(*) FROM ledger_entries) AS l, (SELECT count(*) FROM verifications) AS v, (SELECT count(*) FROM verification_plans) AS p`.execute(t.ctx.handle.db);
  const row = r.rows[0]!;
  return { ledger: Number(row.l), verifications: Number(row.v), plans: Number(row.p) };
}

const suspect = { name: 'CopyCat-1', version: '2026.11', observed_at: 'https://api.copycat.example/v1/classify' };

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  threshold = rateToThreshold(t.config.watermarkRate);
  await t.publishEula();
  await t.publishEula({ slug: OTHER_SLUG });
  for (const subject of ['alice', 'carol', 'thief', 'bystander', 'rotor']) {
    const r = seen(await t.accept({ subject }));
    assert.equal(r.status, 201, r.text);
  }
  const d = seen(await t.accept({ subject: 'dave', slug: OTHER_SLUG }));
  assert.equal(d.status, 201, d.text);
}

describe('POST /v1/watermark/decide', () => {
  test('a mixed batch: ok with the pure decide() labels, no_key with the true label, per-item status', async () => {
    const alice = await keyOf('alice');
    const dgs = digests('alice query', 5000);
    const items: Json[] = [];
    dgs.forEach((dg, i) => {
      items.push({ subject: 'alice', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K });
      if (i % 500 === 0) items.push({ subject: 'nokey-user', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K });
    });
    const results = await decideBatch(items);
    let marked = 0;
    results.forEach((r, i) => {
      const it = items[i]!;
      const dg = Buffer.from(it.input_sha256, 'hex');
      if (it.subject === 'nokey-user') {
        assert.equal(r.status, 'no_key');
        assert.equal(r.watermarked, false);
        assert.equal(r.label, it.label, 'no key: the true label');
        assert.equal(typeof r.detail, 'string');
        assert.equal(r.key_version, undefined);
        return;
      }
      const ref = decide(alice.key, dg, it.label, K, threshold);
      assert.equal(r.status, 'ok');
      assert.equal(r.key_version, alice.version);
      assert.equal(r.watermarked, ref.watermarked, `item ${i}`);
      assert.equal(r.label, ref.label, `item ${i}`);
      if (r.watermarked) {
        marked++;
        assert.notEqual(r.label, it.label);
      } else assert.equal(r.label, it.label);
    });
    // Rate 0.005 over 5,000 inputs: ~25 marked; P[< 5] is ~1e-7.
    assert.ok(marked >= 5 && marked <= 60, `marked ${marked} of 5000`);
    // Deterministic: the same batch gives the same answers.
    const again = await decideBatch(items);
    assert.deepEqual(again, results);
  });

  test('a subject who withdrew gets no_acceptance and the true label (the cache is invalidated)', async () => {
    const carol = await keyOf('carol');
    const dgs = digests('carol query', 3000);
    const items = dgs.map((dg) => ({ subject: 'carol', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K }));
    const before = await decideBatch(items);
    assert.ok(before.every((r) => r.status === 'ok'));
    assert.ok(before.some((r) => r.watermarked), 'some answers marked while accepted');
    before.forEach((r, i) => assert.equal(r.label, decide(carol.key, dgs[i]!, items[i]!.label, K, threshold).label));

    const w = seen(await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: 'carol' })));
    assert.equal(w.status, 201, w.text);
    const afterW = await decideBatch(items);
    afterW.forEach((r, i) => {
      assert.equal(r.status, 'no_acceptance');
      assert.equal(r.watermarked, false);
      assert.equal(r.label, items[i]!.label);
      assert.match(r.detail, /standing acceptance/);
    });
  });

  test('slug filter: only subjects with a standing acceptance of that slug are watermarked', async () => {
    const dave = await keyOf('dave');
    const alice = await keyOf('alice');
    const dgs = digests('slug query', 3000);
    const items = dgs.flatMap((dg) => [
      { subject: 'dave', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K },
      { subject: 'alice', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K },
    ]);
    const apiTerms = await decideBatch(items, 'api-terms');
    const other = await decideBatch(items, OTHER_SLUG);
    const any = await decideBatch(items);
    items.forEach((it, i) => {
      const dg = Buffer.from(it.input_sha256, 'hex');
      const ref = decide(it.subject === 'dave' ? dave.key : alice.key, dg, it.label, K, threshold);
      const [a, o, n] = [apiTerms[i]!, other[i]!, any[i]!];
      if (it.subject === 'dave') {
        assert.equal(a.status, 'no_acceptance');
        assert.match(a.detail, /api-terms/);
        assert.equal(a.label, it.label);
        assert.equal(o.status, 'ok');
        assert.equal(o.label, ref.label);
      } else {
        assert.equal(a.status, 'ok');
        assert.equal(a.label, ref.label);
        assert.equal(o.status, 'no_acceptance');
        assert.equal(o.label, it.label);
      }
      assert.equal(n.status, 'ok', 'without a slug any standing acceptance counts');
      assert.equal(n.label, ref.label);
    });
    assert.ok(any.some((r, i) => items[i]!.subject === 'dave' && r.watermarked));
  });

  test('probability vectors: swapped exactly for watermarked items, unchanged otherwise', async () => {
    const alice = await keyOf('alice');
    const dgs = digests('probs query', 4000);
    const items = dgs.map((dg) => ({ subject: 'alice', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K, probs: ownerProbs(dg) }));
    const results = await decideBatch(items);
    let marked = 0;
    results.forEach((r, i) => {
      const it = items[i]!;
      const ref = decide(alice.key, dgs[i]!, it.label, K, threshold);
      assert.equal(r.watermarked, ref.watermarked);
      assert.equal(r.label, ref.label);
      if (ref.watermarked) {
        marked++;
        assert.deepEqual(r.probs, swapProbabilities(it.probs, it.label, ref.label));
        assert.equal(r.probs[ref.label], it.probs[it.label], 'the watermark label gets the top probability');
        assert.equal(r.probs[it.label], it.probs[ref.label]);
        for (let c = 0; c < K; c++) if (c !== it.label && c !== ref.label) assert.equal(r.probs[c], it.probs[c]);
        assert.equal((r.probs as number[]).indexOf(Math.max(...(r.probs as number[]))), ref.label);
      } else {
        assert.deepEqual(r.probs, it.probs, 'unmarked: the vector is returned unchanged');
      }
    });
    assert.ok(marked > 0, 'some vectors were swapped');
    // no_key and no_acceptance items echo the vector unchanged too.
    const dg = dgs[0]!;
    const [nk, na] = await decideBatch([
      { subject: 'nokey-user', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K, probs: ownerProbs(dg) },
      { subject: 'carol', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K, probs: ownerProbs(dg) },
    ]);
    assert.equal(nk!.status, 'no_key');
    assert.deepEqual(nk!.probs, ownerProbs(dg));
    assert.equal(na!.status, 'no_acceptance');
    assert.deepEqual(na!.probs, ownerProbs(dg));
  });

  test('after key rotation decisions use the new key at once (cache invalidated)', async () => {
    const v1 = await keyOf('rotor');
    const dgs = digests('rotor query', 4000);
    const items = dgs.map((dg) => ({ subject: 'rotor', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K }));
    const before = await decideBatch(items); // now cached under v1
    before.forEach((r, i) => {
      assert.equal(r.key_version, 1);
      assert.equal(r.label, decide(v1.key, dgs[i]!, items[i]!.label, K, threshold).label);
    });
    const rot = seen(await t.post('/v1/subjects/rotor/watermark-keys/rotate', 'admin').send({ reason: 'scheduled rotation' }));
    assert.equal(rot.status, 201, rot.text);
    const v2 = await keyOf('rotor');
    assert.equal(v2.version, 2);
    assert.ok(!v2.key.equals(v1.key));
    const afterR = await decideBatch(items);
    let differ = 0;
    afterR.forEach((r, i) => {
      const ref2 = decide(v2.key, dgs[i]!, items[i]!.label, K, threshold);
      assert.equal(r.key_version, 2);
      assert.equal(r.watermarked, ref2.watermarked);
      assert.equal(r.label, ref2.label);
      if (r.label !== before[i]!.label) differ++;
    });
    assert.ok(differ > 0, 'the new key marks different inputs');
  });
});

describe('verification end to end', () => {
  const N_QUERIES = 25_000;
  const queries = digests('thief query', N_QUERIES);
  /** What the gateway served the thief, by digest hex. */
  const served = new Map<string, number>();
  let thiefKey: { key: Buffer; version: number };
  let stolenSamples: Json[];
  let stolen: Json;
  let planId: string;
  let planSeq: number;

  before(async () => {
    thiefKey = await keyOf('thief');
    await keyOf('bystander');
    // The extraction: ~25,000 queries by the thief through the gateway, in batches.
    for (let i = 0; i < N_QUERIES; i += 5000) {
      const batch = queries.slice(i, i + 5000).map((dg) => ({ subject: 'thief', input_sha256: dg.toString('hex'), label: ownerLabel(dg), num_classes: K }));
      const results = await decideBatch(batch, 'api-terms');
      results.forEach((r, j) => {
        assert.equal(r.status, 'ok');
        served.set(batch[j]!.input_sha256, r.label);
      });
    }
    // The stolen model answers exactly what the thief was served.
    stolenSamples = queries.map((dg) => ({ input_sha256: dg.toString('hex'), owner_label: ownerLabel(dg), suspect_label: served.get(dg.toString('hex'))!, num_classes: K }));
  });

  function toVerifySamples(samples: Json[]): VerifySample[] {
    return samples.map((s) => ({ inputDigest: s.input_sha256, ownerLabel: s.owner_label, suspectLabel: s.suspect_label, numClasses: s.num_classes }));
  }

  test('the stolen model is detected for the thief (p_adjusted < 1e-9), not for the bystander', async () => {
    const before = await counts();
    const res = seen(await t.post('/v1/verifications', 'investigator').send({ case_ref: 'CASE-1', suspect, subjects: ['thief', 'bystander'], samples: stolenSamples }));
    assert.equal(res.status, 201, res.text.slice(0, 500));
    stolen = res.body as Json;
    assert.equal(stolen.preregistered, false);
    assert.equal(stolen.case_ref, 'CASE-1');
    assert.equal(stolen.results.length, 2);
    const [a, b] = stolen.results as Json[];
    assert.equal(a!.subject, 'thief');
    assert.equal(a!.decision, 'detected');
    assert.ok(a!.n >= 60, `n = ${a!.n}`);
    assert.equal(a!.m, a!.n, 'a perfect copy matches every marked answer');
    assert.ok(a!.p_adjusted < 1e-9, `p_adjusted ${a!.p_adjusted}`);
    assert.equal(a!.subjects_screened, 2);
    assert.equal(a!.key.version, thiefKey.version);
    assert.equal(b!.subject, 'bystander');
    assert.equal(b!.decision, 'not_detected');
    assert.ok(b!.n >= 10, `bystander n = ${b!.n}`);
    assert.ok(b!.p_adjusted > 1e-3, `bystander p_adjusted ${b!.p_adjusted}`);
    const afterCounts = await counts();
    assert.deepEqual(afterCounts, { ledger: before.ledger + 2, verifications: before.verifications + 2, plans: before.plans });
  });

  test('an independent model (different labelling) is not detected', async () => {
    const samples = queries.map((dg) => ({ input_sha256: dg.toString('hex'), owner_label: ownerLabel(dg), suspect_label: independentLabel(dg), num_classes: K }));
    const res = seen(await t.post('/v1/verifications', 'investigator').send({ case_ref: 'CASE-2', suspect: { ...suspect, name: 'Independent-1' }, subjects: ['thief'], samples }));
    assert.equal(res.status, 201, res.text.slice(0, 500));
    const [a] = res.body.results as Json[];
    assert.equal(a!.decision, 'not_detected');
    assert.ok(a!.n >= 60);
    assert.ok(a!.m < a!.n / 3, `m = ${a!.m} of n = ${a!.n}`);
    assert.ok(a!.p_adjusted > 1e-6, `p_adjusted ${a!.p_adjusted}`);
  });

  test('the outcome is a verification.recorded ledger event with every number and commitment, never the key', async () => {
    const [a] = stolen.results as Json[];
    const events = await ledgerEvents('verification.recorded');
    const ev = events.find((e) => e.seq === a!.ledger.seq);
    assert.ok(ev, 'outcome event at the reported seq');
    assert.equal(ev.event.id, a!.ledger.event_id);
    const d = ev.event.data as Json;
    assert.equal(d.verification_id, a!.id);
    assert.equal(d.screening_id, stolen.screening_id);
    assert.equal(d.subject.pseudonym, t.built.services.pseudonyms.of('thief'));
    assert.equal((await openedEvent(t.ctx, ev.seq)).data.subject, 'thief');
    assert.equal(d.case_ref, 'CASE-1');
    assert.deepEqual(d.suspect, suspect);
    assert.equal(d.decision, 'detected');
    assert.equal(d.preregistered, false);
    assert.equal(d.plan, null);
    assert.equal(d.statistic.n, a!.n);
    assert.equal(d.statistic.m, a!.m);
    assert.equal(d.statistic.p_value, a!.p_value);
    assert.ok(d.statistic.p_value > 0 && d.statistic.p_value < 1e-20);
    assert.equal(d.statistic.alpha, 1e-9);
    assert.equal(d.statistic.subjects_screened, 2);
    assert.equal(d.statistic.samples_submitted, N_QUERIES);
    assert.equal(d.statistic.threshold, threshold.toString());
    const keys = await t.built.services.watermarkKeys.all('thief');
    const current = keys.find((k) => k.version === thiefKey.version)!;
    assert.equal(d.key.version, thiefKey.version);
    assert.equal(d.key.commitment, current.commitment);
    assert.equal(d.key.key_id, current.keyId);
    assert.equal(d.samples_digest, samplesDigest(toVerifySamples(stolenSamples)));
    assert.equal(Object.keys(d.key).sort().join(), 'commitment,key_id,version', 'the event names the key, never holds it');
    // No event anywhere holds any key's bytes, hex or base64.
    for (const e of await ledgerEvents()) {
      for (const k of seenKeys) {
        assert.equal(e.canonical.indexOf(k), -1);
        for (const s of [k.toString('hex'), k.toString('base64'), k.toString('base64url')]) assert.ok(!e.canonical.includes(s), `ledger event ${e.seq} holds key material`);
      }
    }
  });

  test('GET /v1/verifications/:id and /v1/subjects/:subject/verifications return the outcome', async () => {
    const [a, b] = stolen.results as Json[];
    const got = seen(await t.get(`/v1/verifications/${a!.id}`, 'investigator'));
    assert.equal(got.status, 200, got.text);
    assert.equal(got.body.id, a!.id);
    assert.equal(got.body.subject, 'thief');
    assert.equal(got.body.decision, 'detected');
    assert.equal(got.body.preregistered, false);
    assert.equal(got.body.key_version, thiefKey.version);
    assert.deepEqual(got.body.ledger, { seq: a!.ledger.seq, event_id: a!.ledger.event_id });
    assert.equal(got.body.outcome.statistic.m, a!.m);
    assert.equal(got.body.outcome.samples_digest, samplesDigest(toVerifySamples(stolenSamples)));
    const list = seen(await t.get('/v1/subjects/thief/verifications', 'investigator'));
    assert.equal(list.status, 200, list.text);
    assert.equal(list.body.subject, 'thief');
    const ids = (list.body.verifications as Json[]).map((v) => v.id);
    assert.ok(ids.includes(a!.id));
    assert.ok(!ids.includes(b!.id), "the bystander's outcome is listed under the bystander");
    const seqs = (list.body.verifications as Json[]).map((v) => v.ledger.seq as number);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'ledger order');
    const listB = seen(await t.get('/v1/subjects/bystander/verifications', 'investigator'));
    assert.deepEqual((listB.body.verifications as Json[]).map((v) => v.id), [b!.id]);
    const missing = seen(await t.get('/v1/verifications/00000000-0000-4000-8000-000000000000', 'investigator'));
    assert.equal(missing.status, 404);
    assert.equal(problemOf(missing).code, 'verification_not_found');
  });

  test('pre-registration: the plan is a verification.planned event; its outcome references it and comes later', async () => {
    const planned = queries.slice(0, 15_000).map((dg) => ({ input_sha256: dg.toString('hex'), owner_label: ownerLabel(dg), num_classes: K }));
    const p = seen(await t.post('/v1/verification-plans', 'investigator').send({ case_ref: 'CASE-3', subjects: ['thief'], samples: planned, note: 'committed before querying the suspect' }));
    assert.equal(p.status, 201, p.text.slice(0, 500));
    planId = p.body.id;
    planSeq = p.body.ledger.seq;
    assert.equal(p.body.sample_count, planned.length);
    assert.equal(p.body.samples_digest, planDigest(planned));
    const pev = (await ledgerEvents('verification.planned')).find((e) => e.seq === planSeq);
    assert.ok(pev, 'planned event at the reported seq');
    assert.equal(pev.event.data.plan_id, planId);
    assert.equal(pev.event.data.samples_digest, planDigest(planned));
    assert.equal(pev.event.data.sample_count, planned.length);
    assert.deepEqual(pev.event.data.subjects.map((x: Json) => x.pseudonym), [t.built.services.pseudonyms.of('thief')]);
    assert.ok(!pev.canonical.includes('suspect_label'), 'a plan has no suspect labels');
    const gp = seen(await t.get(`/v1/verification-plans/${planId}`, 'investigator'));
    assert.equal(gp.status, 200, gp.text);
    assert.equal(gp.body.ledger.seq, planSeq);

    const labels = planned.map((s) => served.get(s.input_sha256)!);
    const res = seen(await t.post('/v1/verifications', 'investigator').send({ case_ref: 'CASE-3', suspect, plan_id: planId, suspect_labels: labels }));
    assert.equal(res.status, 201, res.text.slice(0, 500));
    assert.equal(res.body.preregistered, true);
    const [a] = res.body.results as Json[];
    assert.equal(a!.decision, 'detected');
    assert.ok(a!.p_adjusted < 1e-9);
    const ev = (await ledgerEvents('verification.recorded')).find((e) => e.seq === a!.ledger.seq);
    assert.ok(ev);
    assert.equal(ev.event.data.preregistered, true);
    assert.equal(ev.event.data.plan.id, planId);
    assert.equal(ev.event.data.plan.seq, planSeq);
    assert.equal(ev.event.data.plan.event_id, pev.event.id);
    assert.ok(planSeq < ev.seq, 'the plan precedes its outcome in the ledger');
    const joined = planned.map((s, i) => ({ ...s, suspect_label: labels[i]! }));
    assert.equal(ev.event.data.samples_digest, samplesDigest(toVerifySamples(joined)));
    const got = seen(await t.get(`/v1/verifications/${a!.id}`, 'investigator'));
    assert.equal(got.body.preregistered, true);
    assert.equal(got.body.plan_id, planId);
  });

  test('pre-registration mismatches are 422 plan_mismatch and record nothing', async () => {
    const before = await counts();
    const short = seen(await t.post('/v1/verifications', 'investigator').send({ case_ref: 'CASE-3', suspect, plan_id: planId, suspect_labels: [1, 2, 3] }));
    assert.equal(short.status, 422, short.text);
    const ps = problemOf(short);
    assert.equal(ps.code, 'plan_mismatch');
    assert.match(ps.detail, /15000 samples but 3 suspect labels/);
    const withSamples = seen(await t.post('/v1/verifications', 'investigator').send({ case_ref: 'CASE-3', suspect, plan_id: planId, suspect_labels: [1], samples: stolenSamples.slice(0, 10) }));
    assert.equal(withSamples.status, 422, withSamples.text);
    assert.equal(problemOf(withSamples).code, 'plan_mismatch');
    const withSubjects = seen(await t.post('/v1/verifications', 'investigator').send({ case_ref: 'CASE-3', suspect, plan_id: planId, subjects: ['bystander'], suspect_labels: [1] }));
    assert.equal(withSubjects.status, 422, withSubjects.text);
    assert.equal(problemOf(withSubjects).code, 'plan_mismatch');
    const unknown = seen(await t.post('/v1/verifications', 'investigator').send({ case_ref: 'CASE-3', suspect, plan_id: '00000000-0000-4000-8000-000000000000', suspect_labels: [1] }));
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(problemOf(unknown).code, 'plan_not_found');
    assert.deepEqual(await counts(), before);
  });

  test('the ledger verifies; no response ever carried key material', async () => {
    const report = await t.ctx.ledger.verify();
    assert.equal(report.ok, true, JSON.stringify(report.fault));
    assert.ok(seenKeys.length >= 6);
    assert.ok(responses.length > 20);
    for (const text of responses) {
      for (const k of seenKeys) {
        for (const s of [k.toString('hex'), k.toString('base64'), k.toString('base64url')]) assert.ok(!text.includes(s), 'a response holds key material');
      }
      assert.ok(!/"(wrapped|key_material|secret)"/.test(text));
    }
  });
});
