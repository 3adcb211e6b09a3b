// A property-based fuzz of every operation in /openapi.json (fast-check, fixed seeds): hostile
// bodies (wrong types, huge numbers, deep nesting, invalid UTF-8, duplicate members, long strings,
// control and formatting characters, truncation), hostile path parameters and query strings, with
// each role's key, a bogus key and none. Every answer is below 500; every 4xx is problem+json with
// a registered code and its registered status; a refused request writes nothing.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sql } from 'kysely';
import request from 'supertest';
import type { Role } from '../src/db/schema.js';
import { PROBLEMS, type ProblemCode } from '../src/problems/registry.js';
import { acceptanceBody, ALL_ROLES, publishBody, useTestApp, withdrawalBody, type TestApp } from './helpers/app.js';

type Json = Record<string, any>;

interface Operation {
  method: 'get' | 'post' | 'delete';
  /** The OpenAPI path, e.g. /v1/acceptances/{id}. */
  path: string;
  pathParams: string[];
  queryParams: string[];
  hasBody: boolean;
}

/** Cases per operation (about 35 operations: a few thousand in all). */
const RUNS = 60;
const SEED = 20261201;
const DIGEST = 'a'.repeat(64);
const SUBJECT = 'fuzz-subject';
/** A well-formed id of nothing (a DELETE must not revoke the keys the fuzz uses). */
const NO_SUCH_ID = '00000000-0000-4000-8000-000000000000';

let operations: Operation[] = [];
let acceptanceId = '';
/** One listening server for all cases (supertest would start one per request). */
let server: Awaited<ReturnType<TestApp['listen']>>;
const t = useTestApp({ setup });
after(() => server?.close());

async function setup(t: TestApp): Promise<void> {
  server = await t.listen();
  await t.publishEula();
  const acc = await t.accept({ subject: SUBJECT });
  assert.equal(acc.status, 201, acc.text);
  acceptanceId = acc.body.id;
  const doc = (await t.get('/openapi.json')).body as Json;
  for (const [path, methods] of Object.entries(doc.paths as Json)) {
    for (const [method, o] of Object.entries(methods as Json)) {
      const params = (o.parameters ?? []) as Array<{ name: string; in: string }>;
      operations.push({
        method: method as Operation['method'],
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
        hasBody: o.requestBody !== undefined,
      });
    }
  }
}

/** A valid body per operation that writes nothing when sent as is (a subject without evidence, a fresh slug). */
function validBody(op: Operation): Json {
  switch (`${op.method} ${op.path}`) {
    case 'post /v1/eulas': return publishBody({ slug: 'fuzz-terms', version: '9.0' });
    case 'post /v1/acceptances':
    case 'post /v1/declines': return acceptanceBody({ subject: 'fuzz-new' });
    case 'post /v1/withdrawals': return withdrawalBody({ subject: 'fuzz-nobody' });
    case 'post /v1/subjects/{subject}/watermark-keys/rotate': return { reason: 'scheduled rotation' };
    case 'post /v1/api-keys': return { role: 'gateway', name: 'fuzz key' };
    case 'post /v1/watermark/decide': return { items: [{ subject: SUBJECT, input_sha256: DIGEST, label: 1, num_classes: 10 }] };
    case 'post /v1/verification-plans': return { case_ref: 'fuzz', subjects: ['fuzz-nobody'], samples: [{ input_sha256: DIGEST, owner_label: 1, num_classes: 10 }] };
    case 'post /v1/verifications': return { case_ref: 'fuzz', suspect: { name: 'm', version: '1', observed_at: 'api' }, subjects: ['fuzz-nobody'], samples: [{ input_sha256: DIGEST, owner_label: 1, suspect_label: 2, num_classes: 10 }] };
    case 'post /v1/dossiers': return { subject: 'fuzz-nobody', case_ref: 'fuzz', requested_by: 'legal', prepared_for: { name: 'A', firm: 'F' } };
    default: return {};
  }
}

// ---- generators ----

const hostileString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\u0000', '\u0007', '\r\n', '\u202e', '\u200b', '\ufeff', '\ud800', '\udfff', '🙂', '東京', '../../etc/passwd', '%ff', '<script>', 'x'.repeat(5000), 'é'.repeat(1500)),
);
const hostileNumber = fc.oneof(
  fc.constantFrom(0, -0, -1, 1.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, 1e308, -1e308, Number.MIN_VALUE, 1e-320),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 3, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [[[[]]]], { __proto__: null, a: 1 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(hostileString, { maxLength: 5 }) },
);

/** Every path in a JSON value (for mutating nested members and array elements). */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(v)) return [prefix, ...v.flatMap((x, i) => paths(x, [...prefix, i]))];
  if (v && typeof v === 'object') return [prefix, ...Object.entries(v).flatMap(([k, x]) => paths(x, [...prefix, k]))];
  return [prefix];
}

function setAt(root: Json, path: Array<string | number>, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root);
  let o: any = copy;
  for (const k of path.slice(0, -1)) o = o[k];
  const last = path[path.length - 1]!;
  if (remove && !Array.isArray(o)) delete o[last];
  else o[last] = value;
  return copy;
}

type ByteMutation =
  | { kind: 'none' }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate' }
  | { kind: 'deep'; depth: number }
  | { kind: 'lone-escape'; at: number }
  | { kind: 'random'; value: unknown };

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicate' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deep' as const), depth: fc.integer({ min: 60, max: 5000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('lone-escape' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('random' as const), value: fc.jsonValue({ maxDepth: 4 }) }) },
);

function applyBytes(text: string, m: ByteMutation): Buffer {
  const b = Buffer.from(text, 'utf8');
  switch (m.kind) {
    case 'none': return b;
    case 'insert': {
      const at = m.at % (b.length + 1);
      return Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
    }
    case 'truncate': return b.subarray(0, m.at % (b.length + 1));
    case 'duplicate': {
      const k = /^\{"((?:[^"\\]|\\.)*)"/.exec(text)?.[1];
      return Buffer.from(k === undefined ? text : text.replace('{', `{"${k}":0,`), 'utf8');
    }
    case 'deep': return Buffer.from(`{"a":${'['.repeat(m.depth)}${']'.repeat(m.depth)}}`);
    case 'lone-escape': {
      // Into the first string at or after the offset: "\ud800" right after its opening quote.
      const q = text.indexOf('"', m.at % (text.length + 1));
      return Buffer.from(q < 0 ? text : `${text.slice(0, q + 1)}\\ud800${text.slice(q + 1)}`, 'utf8');
    }
    case 'random': return Buffer.from(JSON.stringify(m.value) ?? 'null', 'utf8');
  }
}

const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/json; charset=latin1', 'application/json; charset=utf-8', 'application/merge-patch+json', 'multipart/form-data; boundary=x', '') },
);

// Path and query values stay short enough that a request line stays under Node's 16 KiB header
// limit (beyond it Node itself answers 431, before the application sees the request).
const shortString = hostileString.filter((s) => s.length <= 300).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, 'x')));

const pathParam = (name: string, op: Operation): fc.Arbitrary<string> => {
  const valid = { subject: SUBJECT, slug: 'api-terms', version: '1.0', path: '0/000' }[name] ?? (op.method === 'delete' ? NO_SUCH_ID : acceptanceId);
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(encodeURIComponent(valid)) },
    { weight: 1, arbitrary: fc.uuid().map(encodeURIComponent) },
    { weight: 3, arbitrary: shortString.filter((s) => s.length > 0) },
    { weight: 2, arbitrary: fc.constantFrom('%ff', '%00', '%2e%2e', '..', '%E2%80%AE', 'a'.repeat(3000), '%c0%af', '1%2F2', '0/x001/234.p/5', '9'.repeat(30)) },
  );
};

const queryString = (op: Operation): fc.Arbitrary<string> =>
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...op.queryParams, 'x', 'seq', 'size', 'from', 'to', 'slug', '__proto__', 'constructor'), fc.string({ maxLength: 8 }).map(encodeURIComponent)),
        fc.oneof(fc.constantFrom('1', '0', '-1', '1e3', '9007199254740993', '99999999999999999999', '%ff', '', 'api-terms', '0x10'), shortString),
      ),
      { maxLength: 4 },
    )
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}` : ''));

interface Case {
  as: string | null;
  params: string[];
  query: string;
  mutation: { path: Array<string | number>; value: unknown; remove: boolean } | null;
  bytes: ByteMutation;
  contentType: string;
  sendBody: boolean;
  idempotencyKey: string | null;
}

function caseOf(op: Operation): fc.Arbitrary<Case> {
  const base = validBody(op);
  const bodyPaths = paths(base);
  return fc.record({
    as: fc.constantFrom<string | null>(null, 'bogus-token', ...ALL_ROLES),
    params: fc.tuple(...op.pathParams.map((n) => pathParam(n, op))) as fc.Arbitrary<string[]>,
    query: queryString(op),
    mutation: fc.option(
      fc.record({
        path: fc.oneof(fc.constantFrom(...bodyPaths), fc.constantFrom(...bodyPaths).chain((p) => fc.constantFrom('zz_extra', '__proto__', 'constructor').map((k) => [...p.slice(0, -1), k]))),
        value: hostileValue,
        remove: fc.boolean(),
      }),
      { freq: 4 },
    ),
    bytes: byteMutation,
    contentType,
    sendBody: op.hasBody ? fc.constant(true) : fc.boolean(),
    idempotencyKey: fc.option(fc.oneof(fc.uuid(), fc.constantFrom('', 'a b', 'x'.repeat(300), '"'))),
  });
}

// ---- the property ----

interface Counts {
  [table: string]: number;
}

/** Rows of every table a request can write (checkpoints are written by a timer, so not counted). */
async function counts(t: TestApp): Promise<Counts> {
  const r = await sql<Record<string, string | number>>`
    SELECT (SELECT count(*) FROM ledger_entries) AS ledger_entries, (SELECT count(*) FROM ledger_tiles) AS ledger_tiles,
           (SELECT count(*) FROM assent_records) AS assent_records, (SELECT count(*) FROM watermark_keys) AS watermark_keys,
           (SELECT count(*) FROM idempotency_keys) AS idempotency_keys, (SELECT count(*) FROM eula_versions) AS eula_versions,
           (SELECT count(*) FROM api_keys) AS api_keys, (SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL) AS revoked_keys,
           (SELECT count(*) FROM verification_plans) AS verification_plans, (SELECT count(*) FROM verifications) AS verifications,
           (SELECT count(*) FROM dossiers) AS dossiers, (SELECT count(*) FROM llm_usage_reports) AS llm_usage_reports`.execute(t.ctx.handle.db);
  return Object.fromEntries(Object.entries(r.rows[0]!).map(([k, v]) => [k, Number(v)]));
}


async function send(t: TestApp, op: Operation, c: Case) {
  let i = 0;
  const url = op.path.replace(/\{[A-Za-z_]+\}/g, () => c.params[i++]!) + c.query;
  let r = request(server.url)[op.method](url);
  if (c.as !== null) r = r.set('Authorization', `Bearer ${ALL_ROLES.includes(c.as as never) ? t.tokens[c.as as Role] : c.as}`);
  if (c.idempotencyKey !== null) r = r.set('Idempotency-Key', c.idempotencyKey);
  if (!c.sendBody) return { res: await r, body: '' };
  const value = c.mutation ? setAt(validBody(op), c.mutation.path, c.mutation.value, c.mutation.remove) : validBody(op);
  const bytes = applyBytes(JSON.stringify(value) ?? 'null', c.bytes);
  if (c.contentType) r = r.set('Content-Type', c.contentType);
  return { res: await r.serialize((b: unknown) => b as string).send(bytes as unknown as string), body: bytes.toString('latin1').slice(0, 300) };
}

describe('fuzz: every operation of /openapi.json', () => {
  test('no 5xx, registered problems only, nothing written by a refused request', async () => {
    assert.ok(operations.length >= 30, `only ${operations.length} operations found`);
    let cases = 0;
    // The counts after the last accepted request: a refused one must leave them as they are.
    let last = await counts(t);
    for (const [n, op] of operations.entries()) {
      const started = Date.now();
      await fc.assert(
        fc.asyncProperty(caseOf(op), async (c) => {
          cases++;
          const { res, body } = await send(t, op, c);
          const what = `${op.method.toUpperCase()} ${op.path} ${JSON.stringify(c).slice(0, 500)} body ${body} -> ${res.status} ${res.text.slice(0, 200)}`;
          if (res.status >= 500) assert.fail(`5xx for ${what}`);
          if (res.status >= 400) {
            assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/, what);
            const p = JSON.parse(res.text) as { code: ProblemCode; status: number };
            assert.ok(p.code in PROBLEMS, `unregistered code ${p.code}: ${what}`);
            assert.equal(PROBLEMS[p.code].status, res.status, what);
            assert.equal(p.status, res.status, what);
            // A GET writes nothing: its counts are compared once, after all its cases (below).
            if (op.method !== 'get') assert.deepEqual(await counts(t), last, `a refused request wrote: ${what}`);
          } else if (op.method !== 'get') last = await counts(t);
        }),
        { seed: SEED + n, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
      );
      if (op.method === 'get') assert.deepEqual(await counts(t), last, `${op.path}: a GET wrote`);
      if (process.env.FUZZ_TIMES) console.log(`# ${op.method} ${op.path} ${Date.now() - started} ms`);
    }
    assert.ok(cases >= RUNS * 30);
  });
});
