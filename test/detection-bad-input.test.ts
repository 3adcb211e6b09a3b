// Detection endpoints under bad input: every mistake is a clear 4xx problem+json naming the field
// (or, for 422s, saying what is wrong and what would be needed), and nothing is ever recorded:
// ledger_entries, verifications and verification_plans keep their row counts. Wrong roles are 403.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { Role } from '../src/db/schema.js';
import { fastParsePlanBody, fastParseVerificationBody, PlanBody, VerificationBody } from '../src/verification/schemas.js';
import { DecideBody, isValidDecideBody, MAX_DECIDE_ITEMS } from '../src/gateway/schemas.js';
import { validate } from '../src/validation/validate.js';
import { ValidationError } from '../src/problems/app-error.js';
import { decide, rateToThreshold, WatermarkDecider, WatermarkError } from '../src/watermark/decide.js';
import { problemOf, useTestApp } from './helpers/app.js';
import { binary, run } from './helpers/tools.js';

type Json = Record<string, any>;
type Problem = ReturnType<typeof problemOf>;

const t = useTestApp({ setup });
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const DG = sha('input 0');
const item = (o: Json = {}): Json => ({ subject: 'alice', input_sha256: DG, label: 3, num_classes: 10, ...o });
const sample = (i: number, o: Json = {}): Json => ({ input_sha256: sha(`input ${i}`), owner_label: i % 10, suspect_label: (i * 7) % 10, num_classes: 10, ...o });
const samples = (n: number, o: Json = {}): Json[] => Array.from({ length: n }, (_, i) => sample(i, o));
const suspect = { name: 'CopyCat-1', version: '1', observed_at: 'https://api.copycat.example' };
const verification = (o: Json = {}): Json => ({ case_ref: 'CASE-BAD', suspect, subjects: ['alice'], samples: samples(50), ...o });
const plan = (o: Json = {}): Json => ({ case_ref: 'CASE-BAD', subjects: ['alice'], samples: samples(50).map(({ suspect_label: _, ...s }) => s), ...o });

async function counts(): Promise<{ ledger: number; verifications: number; plans: number }> {
  const r = await sql<{ l: string | number; v: string | number; p: string | number }>`
    SELECT (SELECT count(*) FROM ledger_entries) AS l, (SELECT count(*) FROM verifications) AS v, (SELECT count(*) FROM verification_plans) AS p`.execute(t.ctx.handle.db);
  const row = r.rows[0]!;
  return { ledger: Number(row.l), verifications: Number(row.v), plans: Number(row.p) };
}

/** POSTs a body and returns its problem, asserting the status (and code). */
async function problem(path: string, role: Role, body: unknown, status: number, code?: string): Promise<Problem> {
  const res = await t.post(path, role).send(body as object);
  assert.equal(res.status, status, `${path} → ${res.status}: ${res.text.slice(0, 400)}`);
  const p = problemOf(res);
  if (code) assert.equal(p.code, code, res.text.slice(0, 400));
  return p;
}

/** A 400 validation problem naming exactly `field` (first), with a message matching `message`. */
async function badField(path: string, role: Role, body: unknown, field: string, message?: RegExp): Promise<Problem> {
  const p = await problem(path, role, body, 400);
  assert.ok(p.code === 'validation_failed' || p.code === 'invalid_item', `code ${p.code}`);
  assert.ok(Array.isArray(p.errors) && p.errors.length > 0, `errors listed: ${JSON.stringify(p)}`);
  assert.equal(p.errors![0]!.field, field, JSON.stringify(p.errors));
  if (message) assert.match(p.errors![0]!.message, message);
  const bracketed = field.replace(/\.(\d+)/g, '[$1]');
  assert.ok(p.detail.includes(field) || p.detail.includes(bracketed), `detail names ${field}: ${p.detail}`);
  return p;
}

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  await t.publishEula();
  for (const subject of ['alice', 'bob']) assert.equal((await t.accept({ subject })).status, 201);
}

describe('POST /v1/watermark/decide: bad items', () => {
  let start: Awaited<ReturnType<typeof counts>>;
  before(async () => {
    start = await counts();
  });
  after(async () => {
    assert.deepEqual(await counts(), start, 'nothing recorded');
  });
  const D = '/v1/watermark/decide';

  test('digests: not hex, wrong length, uppercase, not a string', async () => {
    await badField(D, 'gateway', { items: [item(), item({ input_sha256: 'z'.repeat(64) })] }, 'items.1.input_sha256', /64 lowercase hex/);
    await badField(D, 'gateway', { items: [item({ input_sha256: DG.slice(0, 63) })] }, 'items.0.input_sha256', /64 lowercase hex/);
    await badField(D, 'gateway', { items: [item({ input_sha256: DG + '00' })] }, 'items.0.input_sha256', /64 lowercase hex/);
    await badField(D, 'gateway', { items: [item({ input_sha256: DG.toUpperCase() })] }, 'items.0.input_sha256', /lowercase/);
    await badField(D, 'gateway', { items: [item({ input_sha256: '' })] }, 'items.0.input_sha256');
    await badField(D, 'gateway', { items: [item({ input_sha256: 12 })] }, 'items.0.input_sha256');
    await badField(D, 'gateway', { items: [item({ input_sha256: undefined })] }, 'items.0.input_sha256', /is required/);
  });

  test('labels: >= num_classes names items.N.label; negative or fractional labels are refused', async () => {
    const p = await badField(D, 'gateway', { items: [item(), item(), item({ label: 10, num_classes: 10 })] }, 'items.2.label', /less than num_classes/);
    assert.equal(p.code, 'invalid_item');
    assert.match(p.detail, /out of range for num_classes 10/);
    await badField(D, 'gateway', { items: [item({ label: 7, num_classes: 3 })] }, 'items.0.label');
    await badField(D, 'gateway', { items: [item({ label: -1 })] }, 'items.0.label', />= 0/);
    await badField(D, 'gateway', { items: [item({ label: 1.5 })] }, 'items.0.label', /integer/);
    await badField(D, 'gateway', { items: [item({ label: '3' })] }, 'items.0.label');
  });

  test('num_classes: k < 2, too large, not an integer', async () => {
    await badField(D, 'gateway', { items: [item({ label: 0, num_classes: 1 })] }, 'items.0.num_classes', /at least 2/);
    await badField(D, 'gateway', { items: [item({ label: 0, num_classes: 0 })] }, 'items.0.num_classes', /at least 2/);
    await badField(D, 'gateway', { items: [item({ num_classes: 2 ** 31 })] }, 'items.0.num_classes');
    await badField(D, 'gateway', { items: [item({ num_classes: 10.5 })] }, 'items.0.num_classes', /integer/);
  });

  test('probs: length mismatch, out of [0, 1], not numbers', async () => {
    const p = await badField(D, 'gateway', { items: [item({ probs: [0.5, 0.5] })] }, 'items.0.probs', /num_classes entries/);
    assert.match(p.detail, /2 entries but num_classes is 10/);
    await badField(D, 'gateway', { items: [item({ num_classes: 3, label: 0, probs: [0.2, 1.5, 0.1] })] }, 'items.0.probs.1');
    await badField(D, 'gateway', { items: [item({ num_classes: 3, label: 0, probs: [0.2, -0.1, 0.1] })] }, 'items.0.probs.1');
    await badField(D, 'gateway', { items: [item({ num_classes: 3, label: 0, probs: [0.2, 'x', 0.1] })] }, 'items.0.probs.1');
    await badField(D, 'gateway', { items: [item({ probs: 'nope' })] }, 'items.0.probs');
  });

  test('batch shape: empty, 10,001 items, not an array, unknown fields, bad subject or slug', async () => {
    await badField(D, 'gateway', { items: [] }, 'items', /at least one item/);
    const big = { items: Array.from({ length: 10_001 }, (_, i) => item({ input_sha256: sha(`big ${i}`) })) };
    await badField(D, 'gateway', big, 'items', /at most 10000 items/);
    await badField(D, 'gateway', { items: item() }, 'items');
    await badField(D, 'gateway', {}, 'items', /is required/);
    await badField(D, 'gateway', { items: [item({ extra: 1 })] }, 'items.0', /unknown field\(s\): extra/);
    await badField(D, 'gateway', { items: [item()], other: true }, '(root)', /unknown field\(s\): other/);
    await badField(D, 'gateway', { items: [item({ subject: '' })] }, 'items.0.subject', /must not be empty/);
    await badField(D, 'gateway', { items: [item({ subject: 'a'.repeat(257) })] }, 'items.0.subject', /at most 256/);
    await badField(D, 'gateway', { items: [item({ subject: 'tab\there' })] }, 'items.0.subject', /printable ASCII/);
    await badField(D, 'gateway', { slug: 'Bad Slug', items: [item()] }, 'slug');
    await badField(D, 'gateway', { items: [item(), 5] }, 'items.1');
    await badField(D, 'gateway', [item()], '(root)');
  });

  test('not JSON, or not declared as JSON', async () => {
    const bad = await t.post(D, 'gateway').set('Content-Type', 'application/json').send('{"items": [');
    assert.equal(bad.status, 400);
    assert.equal(problemOf(bad).code, 'malformed_json');
    const text = await t.post(D, 'gateway').set('Content-Type', 'text/plain').send(JSON.stringify({ items: [item()] }));
    assert.equal(text.status, 415);
    assert.equal(problemOf(text).code, 'unsupported_media_type');
  });
});

describe('the decide fast-path validator is equivalent to the DecideBody zod schema', () => {
  // The route checks decide bodies by hand (zod costs as much as the HMACs) and falls back to zod
  // for anything it does not accept. It must therefore never accept what zod rejects; and it
  // should accept everything zod accepts (else the fast path is merely lost).
  let seed = 0x2545f491;
  const rnd = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const pick = <T,>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
  const VALUES: unknown[] = [
    undefined, null, true, false, '', 'x', '3', 0, -0, 1, 2, 3, 9, 10, 11, -1, 1.5, 1e-9, 2 ** 31 - 1, 2 ** 31, 2 ** 53 - 1, 2 ** 53, 1e300, -1e300,
    [], [0.5], {}, { a: 1 }, DG, DG.toUpperCase(), DG.slice(1), `${DG}0`, `${DG.slice(0, 63)}g`, 'a'.repeat(256), 'a'.repeat(257), 'tab\there', 'café', ' ', '~',
    [0, 1], [0.1, 0.2, 0.7], Array.from({ length: 10 }, () => 0.1), [0.5, 2], [0.5, 'a'], [-0.1, 0.5], [0.5, null], [1, 1, 1],
  ];
  const FIELDS = ['subject', 'input_sha256', 'label', 'num_classes', 'probs'];
  /** o[k] = v as an own property, also for "__proto__" (which JSON.parse makes an own key too). */
  const setOwn = (o: Json, k: string, v: unknown): void => {
    Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
  };
  function mutateItem(it: Json): Json {
    const out = { ...it };
    switch (rnd(4)) {
      case 0:
        delete out[pick(FIELDS)];
        break;
      case 1:
        setOwn(out, pick(['extra', '__proto__', 'Subject', 'prob']), pick(VALUES));
        break;
      default:
        out[pick(FIELDS)] = pick(VALUES);
    }
    return out;
  }
  function candidate(): unknown {
    const n = 1 + rnd(4);
    const items: unknown[] = Array.from({ length: n }, (_, i) => (rnd(3) === 0 ? item({ input_sha256: sha(`c ${i}`), probs: Array.from({ length: 10 }, () => 0.1) }) : item({ input_sha256: sha(`c ${i}`) })));
    const body: Json = { items };
    switch (rnd(8)) {
      case 0:
        body.slug = pick(['api-terms', 'a', '0-x', 'a'.repeat(64), 'a'.repeat(65), 'Bad', '-x', '', 5, null]);
        break;
      case 1:
        setOwn(body, pick(['extra', 'Items', '__proto__']), pick(VALUES));
        break;
      case 2:
        return pick([null, [], 'items', 5, { items: [] }, { items: 'x' }, { items: {} }, { items: [null] }, { items: [[]] }]);
      default:
    }
    const muts = rnd(3);
    for (let m = 0; m < muts; m++) {
      const i = rnd(n);
      items[i] = rnd(10) === 0 ? pick(VALUES) : mutateItem(items[i] as Json);
    }
    return body;
  }

  test('on 20,000 random (JSON) bodies, fast accept ⇔ zod accept, with identical data', () => {
    let accepted = 0;
    for (let c = 0; c < 20_000; c++) {
      const raw = candidate();
      // What reaches the route is always parsed JSON.
      const body = raw === undefined ? undefined : (JSON.parse(JSON.stringify(raw)) as unknown);
      const z = DecideBody.safeParse(body);
      const fast = isValidDecideBody(body);
      assert.equal(fast, z.success, `fast ${fast} vs zod ${z.success} on ${JSON.stringify(body)}`);
      if (fast) {
        accepted++;
        assert.deepEqual(z.data, body, 'zod passes an accepted body through unchanged');
      }
    }
    assert.ok(accepted > 2_000 && accepted < 18_000, `accepted ${accepted}: both branches exercised`);
  });

  test('verification and plan bodies: the hand-checked sample arrays agree with zod on 20,000 random bodies each', () => {
    const SAMPLE_FIELDS = ['input_sha256', 'owner_label', 'suspect_label', 'num_classes'];
    const TOP: Record<string, unknown[]> = {
      case_ref: ['CASE-1', '', 'x'.repeat(201), 'bell\u0007', 5],
      suspect: [suspect, { ...suspect, name: '' }, { ...suspect, extra: 1 }, { ...suspect, observed_on: '2026-11-29T12:00:00Z' }, { ...suspect, observed_on: 'yesterday' }, { ...suspect, artefact_sha256: DG.toUpperCase() }, null],
      subjects: [['alice'], [], ['alice', 'bob'], [''], 'alice', Array.from({ length: 1001 }, (_, i) => `s${i}`)],
      plan_id: ['00000000-0000-4000-8000-000000000000', 'not-a-uuid', 5],
      suspect_labels: [[1, 2], [], [-1], [1.5], ['1'], [0, 2 ** 53], null],
      alpha: [0.01, 0, 1, '0.01', 1e-300],
      subjects_screened: [1, 0, 2.5, 1e6],
      key_version: [1, 0, -1, 1.5],
      note: ['ok', 'x'.repeat(2001)],
      extra: [1],
      ['__proto__']: [{ case_ref: 'x' }, 1],
    };
    function mutate(body: Json, plan: boolean): Json {
      const out: Json = JSON.parse(JSON.stringify(body));
      for (let m = rnd(4); m > 0; m--) {
        if (rnd(2) === 0) {
          const k = pick(Object.keys(TOP));
          if (rnd(5) === 0) delete out[k];
          else setOwn(out, k, pick(TOP[k]!));
        } else if (Array.isArray(out.samples) && out.samples.length > 0) {
          const i = rnd(out.samples.length);
          if (rnd(10) === 0) out.samples[i] = pick(VALUES);
          else {
            const smp: Json = { ...out.samples[i] };
            const f = pick(plan ? SAMPLE_FIELDS.filter((x) => x !== 'suspect_label') : SAMPLE_FIELDS);
            if (rnd(4) === 0) delete smp[f];
            else if (rnd(6) === 0) setOwn(smp, pick(['extra', 'suspect_label', 'label', '__proto__']), 1);
            else smp[f] = pick(VALUES);
            out.samples[i] = smp;
          }
        } else out.samples = pick([[], samples(2), null, 'x']);
      }
      return JSON.parse(JSON.stringify(out)) as Json;
    }
    for (const [name, base, schema, fast] of [
      ['verification', verification({ samples: samples(3) }), VerificationBody, fastParseVerificationBody],
      ['plan', plan({ samples: samples(3).map(({ suspect_label: _, ...x }) => x) }), PlanBody, fastParsePlanBody],
    ] as const) {
      let accepted = 0;
      for (let c = 0; c < 20_000; c++) {
        const body = mutate(base, name === 'plan');
        const z = (schema as typeof VerificationBody).safeParse(body);
        const f = (fast as (v: unknown) => unknown)(body);
        assert.equal(f !== null, z.success, `${name}: fast ${f !== null} vs zod ${z.success} on ${JSON.stringify(body).slice(0, 600)}`);
        if (f !== null) {
          accepted++;
          assert.deepEqual(f, z.data);
        }
      }
      assert.ok(accepted > 1_000 && accepted < 19_000, `${name}: accepted ${accepted}`);
    }
    // The array bounds: 1 and MAX_SAMPLES are the schema's; empty arrays go to zod.
    assert.equal(fastParseVerificationBody(verification({ samples: [] })), null);
    assert.equal(fastParseVerificationBody(verification({ suspect_labels: [] })), null);
  });

  test('size bounds: 1 and 10,000 items accepted, 0 and 10,001 refused by both', () => {
    const many = (n: number) => ({ items: Array.from({ length: n }, (_, i) => item({ input_sha256: sha(`m ${i}`) })) });
    for (const [n, ok] of [[1, true], [MAX_DECIDE_ITEMS, true], [0, false], [MAX_DECIDE_ITEMS + 1, false]] as const) {
      assert.equal(isValidDecideBody(many(n)), ok, `${n} items`);
      assert.equal(DecideBody.safeParse(many(n)).success, ok);
    }
  });

  test('over HTTP, refused bodies carry exactly the zod errors', async () => {
    const bodies: unknown[] = [
      { items: [item(), item({ input_sha256: DG.toUpperCase(), label: -1 })] },
      { items: [item({ extra: 1, num_classes: 1 })], slug: 'Bad' },
      { items: [item({ probs: [0.5, 7] }), item({ subject: '' })] },
      { items: [] },
      { nope: 1 },
    ];
    for (const body of bodies) {
      let expected: ValidationError | undefined;
      try {
        validate(DecideBody, body, 'body');
      } catch (e) {
        expected = e as ValidationError;
      }
      assert.ok(expected instanceof ValidationError);
      const p = await problem('/v1/watermark/decide', 'gateway', body, 400, 'validation_failed');
      assert.deepEqual(p.errors, expected.extensions.errors);
      assert.equal(p.detail, expected.detail);
    }
  });
});

describe('WatermarkDecider.decideHex (the gateway path: hex decoded in place)', () => {
  test('same decisions as decide() on the bytes; refuses anything but 64 lowercase hex', () => {
    const key = createHash('sha256').update('decideHex key').digest();
    for (const rate of ['0.005', '0.5', '1']) {
      const threshold = rateToThreshold(rate);
      const d = new WatermarkDecider(key, threshold);
      for (let i = 0; i < 2000; i++) {
        const hex = sha(`decideHex ${i}`);
        const k = 2 + (i % 20);
        assert.deepEqual(d.decideHex(hex, i % k, k), decide(key, Buffer.from(hex, 'hex'), i % k, k, threshold));
      }
    }
    const d = new WatermarkDecider(key, rateToThreshold('0.5'));
    // Node's hex decoder would take "š" (U+0161) as "a" and stops silently at bad pairs: the check must not rely on it.
    for (const bad of [DG.toUpperCase(), DG.slice(1), `${DG}0`, `${DG.slice(0, 62)}\u0161\u0161`, `${DG.slice(0, 63)}g`, '', 5 as unknown as string]) {
      assert.throws(() => d.decideHex(bad, 1, 10), (e: unknown) => e instanceof WatermarkError && e.code === 'invalid_digest');
    }
    assert.throws(() => d.decideHex(DG, 10, 10), (e: unknown) => e instanceof WatermarkError && e.code === 'label_out_of_range');
    assert.throws(() => d.decideHex(DG, 0, 1), (e: unknown) => e instanceof WatermarkError && e.code === 'invalid_num_classes');
  });
});

describe('POST /v1/verifications and /v1/verification-plans: bad input', () => {
  let start: Awaited<ReturnType<typeof counts>>;
  before(async () => {
    start = await counts();
  });
  after(async () => {
    assert.deepEqual(await counts(), start, 'nothing recorded');
  });
  const V = '/v1/verifications';
  const P = '/v1/verification-plans';

  test('k = 2 is refused with an explanation (verification and plan)', async () => {
    for (const [path, body] of [
      [V, verification({ samples: [...samples(40), sample(40, { num_classes: 2, owner_label: 0, suspect_label: 1 })] })],
      [P, plan({ samples: [{ input_sha256: DG, owner_label: 1, num_classes: 2 }] })],
    ] as const) {
      const p = await problem(path, 'investigator', body, 422, 'two_class_unsupported');
      assert.match(p.detail, /two classes/);
      assert.match(p.detail, /p0 = 1/);
      assert.match(p.detail, /at least 3 classes/);
    }
  });

  test('unknown subjects are 422 and listed (verification and plan)', async () => {
    for (const path of [V, P]) {
      const body = path === V ? verification({ subjects: ['alice', 'ghost-1', 'ghost-2'] }) : plan({ subjects: ['ghost-1', 'alice', 'ghost-2'] });
      const p = await problem(path, 'investigator', body, 422, 'unknown_subjects');
      assert.deepEqual(p.subjects, ['ghost-1', 'ghost-2']);
      assert.match(p.detail, /2 subject\(s\) have no watermark key: ghost-1, ghost-2/);
    }
    const v = await problem(V, 'investigator', verification({ subjects: ['alice'], key_version: 7 }), 422, 'unknown_subjects');
    assert.match(v.detail, /version 7/);
  });

  test('alpha out of (0, 1) and subjects_screened below the subjects tested', async () => {
    for (const alpha of [0, 1, -0.01, 1.5, '0.01', null]) {
      await badField(V, 'investigator', verification({ alpha }), 'alpha');
      await badField(P, 'investigator', plan({ alpha }), 'alpha');
    }
    const p = await problem(V, 'investigator', verification({ subjects: ['alice', 'bob'], subjects_screened: 1 }), 400, 'invalid_item');
    assert.match(p.detail, /subjects_screened \(1\) cannot be less than the 2 subjects/);
    assert.equal(p.errors![0]!.field, 'subjects_screened');
    await badField(V, 'investigator', verification({ subjects_screened: 0 }), 'subjects_screened');
    await badField(V, 'investigator', verification({ subjects_screened: 2.5 }), 'subjects_screened');
    const pp = await problem(P, 'investigator', plan({ subjects: ['alice', 'bob'], subjects_screened: 1 }), 422, 'plan_mismatch');
    assert.match(pp.detail, /subjects_screened \(1\) cannot be less than the 2 subjects/);
  });

  test('samples: bad digests, labels out of range, k < 2, missing or empty', async () => {
    await badField(V, 'investigator', verification({ samples: [...samples(3), sample(3, { input_sha256: DG.toUpperCase() })] }), 'samples.3.input_sha256', /lowercase/);
    await badField(V, 'investigator', verification({ samples: [sample(0, { input_sha256: 'abc' })] }), 'samples.0.input_sha256');
    const o = await badField(V, 'investigator', verification({ samples: [...samples(5), sample(5, { owner_label: 10 })] }), 'samples.5.owner_label', /less than num_classes/);
    assert.match(o.detail, /out of range for num_classes 10/);
    await badField(V, 'investigator', verification({ samples: [sample(0, { suspect_label: 12 })] }), 'samples.0.suspect_label', /less than num_classes/);
    await badField(V, 'investigator', verification({ samples: [sample(0, { suspect_label: -1 })] }), 'samples.0.suspect_label');
    await badField(V, 'investigator', verification({ samples: [sample(0, { num_classes: 1, owner_label: 0, suspect_label: 0 })] }), 'samples.0.num_classes', /at least 2/);
    await badField(V, 'investigator', verification({ samples: [] }), 'samples');
    await badField(V, 'investigator', verification({ samples: undefined }), 'samples', /is required/);
    await badField(V, 'investigator', verification({ subjects: undefined }), 'subjects', /is required/);
    await badField(V, 'investigator', verification({ subjects: [] }), 'subjects');
    await badField(V, 'investigator', verification({ suspect: { ...suspect, name: '' } }), 'suspect.name');
    await badField(V, 'investigator', verification({ case_ref: '' }), 'case_ref');
    await badField(P, 'investigator', plan({ samples: [{ input_sha256: DG, owner_label: 3, num_classes: 10, suspect_label: 3 }] }), 'samples.0', /unknown field\(s\): suspect_label/);
    const pl = await problem(V, 'investigator', verification({ plan_id: undefined, suspect_labels: [1, 2] }), 422, 'plan_mismatch');
    assert.match(pl.detail, /suspect_labels go with a plan_id/);
  });

  test('a plan: suspect labels out of range for the planned k are refused', async () => {
    // A valid plan (it is recorded: counted out of the "nothing recorded" check below).
    const ok = await t.post(P, 'investigator').send(plan());
    assert.equal(ok.status, 201, ok.text);
    start = { ...start, ledger: start.ledger + 1, plans: start.plans + 1 };
    const labels = Array.from({ length: 50 }, () => 1);
    labels[7] = 10;
    const p = await problem(V, 'investigator', { case_ref: 'CASE-BAD', suspect, plan_id: ok.body.id, suspect_labels: labels }, 400, 'invalid_item');
    assert.match(p.detail, /suspect_labels\[7\] = 10 is out of range for num_classes 10/);
    const a = await problem(V, 'investigator', { case_ref: 'CASE-BAD', suspect, plan_id: ok.body.id, suspect_labels: labels.map(() => 1), alpha: 0.001 }, 422, 'plan_mismatch');
    assert.match(a.detail, /the plan fixed alpha/);
    await badField(V, 'investigator', { case_ref: 'CASE-BAD', suspect, plan_id: 'not-a-uuid', suspect_labels: [1] }, 'plan_id');
  });
});

describe('roles', () => {
  test('signup and investigator cannot decide; gateway cannot verify or plan; no token is 401', async () => {
    const before = await counts();
    for (const role of ['signup', 'investigator', 'counsel'] as const) {
      await problem('/v1/watermark/decide', role, { items: [item()] }, 403, 'forbidden');
    }
    for (const role of ['gateway', 'signup', 'counsel'] as const) {
      const p = await problem('/v1/verifications', role, verification(), 403, 'forbidden');
      assert.match(p.detail, /investigator/);
      await problem('/v1/verification-plans', role, plan(), 403, 'forbidden');
    }
    const g = await t.get('/v1/subjects/alice/verifications', 'gateway');
    assert.equal(g.status, 403);
    const anon = await t.post('/v1/watermark/decide', null).send({ items: [item()] });
    assert.equal(anon.status, 401);
    assert.equal(problemOf(anon).code, 'unauthenticated');
    const bogus = await t.post('/v1/verifications', { token: 'am_not_a_real_token' }).send(verification());
    assert.equal(bogus.status, 401);
    // A forbidden request is refused before its body is even validated.
    await problem('/v1/watermark/decide', 'signup', { items: [] }, 403, 'forbidden');
    assert.deepEqual(await counts(), before);
  });
});

describe('too few marked samples: a recorded decision, not an error (docs/watermark-spec.md 8.4)', () => {
  const V = '/v1/verifications';
  const decided = async (body: unknown): Promise<Json[]> => {
    const res = await t.post(V, 'investigator').send(body as object);
    assert.equal(res.status, 201, res.text.slice(0, 400));
    return (res.body as Json).results as Json[];
  };

  test('each subject\'s outcome is recorded as insufficient with the count needed, in the ledger and on GET', async () => {
    const before = await counts();
    // 50 samples at rate 0.005: almost surely none marked; k = 10, N = 2, alpha = 1e-9 needs 10.
    const results = await decided(verification({ subjects: ['alice', 'bob'] }));
    assert.deepEqual(results.map((r) => [r.subject, r.decision, r.min_marked_samples_needed]), [['alice', 'insufficient', 10], ['bob', 'insufficient', 10]]);
    for (const r of results) assert.ok((r.n as number) < 10, `n = ${r.n}`);
    const after = await counts();
    assert.equal(after.verifications, before.verifications + 2);
    assert.equal(after.ledger, before.ledger + 2, 'one verification.recorded event per subject');
    const got = await t.get(`${V}/${results[0]!.id}`, 'investigator');
    assert.equal(got.status, 200);
    assert.equal((got.body as Json).decision, 'insufficient');
    const row = (await sql<{ canonical: Uint8Array }>`SELECT canonical FROM ledger_entries WHERE seq = ${String((results[0]!.ledger as Json).seq)}`.execute(t.ctx.handle.db)).rows[0]!;
    const ev = JSON.parse(Buffer.from(row.canonical).toString('utf8')) as Json;
    assert.equal(ev.type, 'verification.recorded');
    assert.equal((ev.data as Json).decision, 'insufficient');
    assert.equal(((ev.data as Json).statistic as Json).min_marked_samples_needed, 10);
  });

  test('the count needed grows with the subjects screened and the number of classes', async () => {
    assert.equal((await decided(verification({ subjects_screened: 1_000_000 })))[0]!.min_marked_samples_needed, 16);
    assert.equal((await decided(verification({ samples: samples(50, { num_classes: 3, owner_label: 1, suspect_label: 2 }) })))[0]!.min_marked_samples_needed, 30);
  });

  test('a dossier states an insufficient outcome in plain words', async () => {
    const [r] = await decided(verification({ subjects: ['alice'] }));
    const res = await t.post('/v1/dossiers', 'investigator').send({ subject: 'alice', case_ref: 'CASE-INSUFFICIENT', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' }, verification_ids: [r!.id] });
    assert.equal(res.status, 201, res.text.slice(0, 400));
    const pdf = (await t.get(`/v1/dossiers/${(res.body as Json).id}/pdf`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
    const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-insufficient-'));
    try {
      writeFileSync(path.join(dir, 'dossier.pdf'), pdf);
      const text = run('pdftotext', ['-layout', 'dossier.pdf', '-'], { cwd: dir }).stdout.replace(/\s+/g, ' ');
      assert.ok(text.includes('INSUFFICIENT: too few marked samples to decide'), 'the decision row');
      assert.match(text, /could not decide \(\d+ marked samples?, at least 10 needed\)/, 'the summary');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
