// Bad input to every writing endpoint of the assent API: each is a precise RFC 9457 4xx naming the
// offending field, and nothing is written. Nothing a client can send yields a 5xx.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Role } from '../src/db/schema.js';
import { acceptanceBody, eulaText, problemOf, publishBody, sha256OfText, useTestApp, withdrawalBody, type TestApp } from './helpers/app.js';

type Res = { status: number; headers: Record<string, string | undefined>; text: string; body: any };

const t = useTestApp({ setup });

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  await t.publishEula();
  // A subject with a key and a standing acceptance, for rotation and withdrawal cases.
  assert.equal((await t.accept({ subject: 'has-key' })).status, 201);
}

interface Endpoint {
  path: string;
  role: Role;
  idempotent: boolean;
  valid: () => Record<string, unknown>;
}

const ENDPOINTS: Endpoint[] = [
  { path: '/v1/acceptances', role: 'signup', idempotent: true, valid: () => acceptanceBody({ subject: 'bad-input' }) },
  { path: '/v1/declines', role: 'signup', idempotent: true, valid: () => acceptanceBody({ subject: 'bad-input' }) },
  { path: '/v1/withdrawals', role: 'signup', idempotent: true, valid: () => withdrawalBody({ subject: 'has-key' }) },
  { path: '/v1/eulas', role: 'admin', idempotent: false, valid: () => publishBody({ version: '9.9' }) },
  { path: '/v1/subjects/has-key/watermark-keys/rotate', role: 'admin', idempotent: false, valid: () => ({ reason: 'scheduled rotation' }) },
  { path: '/v1/api-keys', role: 'admin', idempotent: false, valid: () => ({ role: 'gateway', name: 'gateway 1' }) },
];

function post(e: Endpoint, path = e.path): ReturnType<TestApp['post']> {
  const r = t.post(path, e.role);
  return e.idempotent ? r.set('Idempotency-Key', randomUUID()) : r;
}

async function apiKeyCount(): Promise<number> {
  return t.built.services.apiKeys.count();
}

/** Runs `send`, asserts a problem+json with `status` and that nothing was written; returns the problem. */
async function expectProblem(status: number, send: () => PromiseLike<Res>): Promise<ReturnType<typeof problemOf>> {
  const before = await t.countRows();
  const keysBefore = await apiKeyCount();
  const res = await send();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  const p = problemOf(res);
  assert.deepEqual(await t.countRows(), before, 'nothing may be written');
  assert.equal(await apiKeyCount(), keysBefore, 'no API key may be created');
  return p;
}

/** A 400 validation problem that names `field` in `errors[].field` (and the first one in `detail`). */
async function expectFieldError(field: string, send: () => PromiseLike<Res>): Promise<void> {
  const p = await expectProblem(400, send);
  assert.equal(p.code, 'validation_failed', JSON.stringify(p));
  const fields = (p.errors ?? []).map((e) => e.field);
  const named = fields.includes(field) || (field === '(root)' ? false : fields.some((f) => f.startsWith(`${field}.`))) || p.detail.includes(field);
  assert.ok(named, `"${field}" not named in ${JSON.stringify(p)}`);
  for (const e of p.errors ?? []) {
    assert.equal(typeof e.field, 'string');
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0);
  }
}

function without(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const c = { ...o };
  delete c[key];
  return c;
}

describe('every writing endpoint: generic bad bodies', () => {
  for (const e of ENDPOINTS) {
    describe(e.path, () => {
      test('the valid body is valid (sanity: the cases below differ from it in one thing)', async () => {
        // Dry run through validation only: a wrong role is refused before anything happens, so
        // instead check each field of the valid body once by removing it (below) and here that
        // the body parses at all by sending it with an unknown extra field.
        const p = await expectProblem(400, () => post(e).send({ ...e.valid(), zz_extra: 1 }));
        assert.equal(p.errors?.length, 1, JSON.stringify(p));
        assert.match(p.detail, /zz_extra/);
      });

      for (const field of Object.keys(e.valid())) {
        test(`missing "${field}"`, async () => {
          const body = without(e.valid(), field);
          await expectFieldError(field, () => post(e).send(body));
        });
      }

      test('unknown field (strict objects)', async () => {
        const p = await expectProblem(400, () => post(e).send({ ...e.valid(), is_admin: true }));
        assert.match(p.detail, /is_admin/);
        assert.match(p.errors![0]!.message, /unknown field.*is_admin/);
      });

      test('wrong types for every field', async () => {
        const valid = e.valid();
        for (const [field, value] of Object.entries(valid)) {
          const wrong = typeof value === 'string' ? 12345 : typeof value === 'boolean' ? 'true' : typeof value === 'object' ? 'not-an-object' : 'x';
          await expectFieldError(field, () => post(e).send({ ...valid, [field]: wrong }));
          await expectFieldError(field, () => post(e).send({ ...valid, [field]: null }));
          await expectFieldError(field, () => post(e).send({ ...valid, [field]: [value] }));
        }
      });

      test('malformed JSON is a 400 malformed_json', async () => {
        for (const raw of ['{', '{"subject":', "{'a':1}", '{"a":1,}', '{"a":1}x', '\u0000', 'undefined', '{"a":01}']) {
          const p = await expectProblem(400, () => post(e).set('Content-Type', 'application/json').send(raw));
          assert.equal(p.code, 'malformed_json', raw);
        }
      });

      test('JSON that is not an object: 400', async () => {
        for (const raw of ['[]', '[{}]', 'null', '123', '"str"', 'true', '{}']) {
          const p = await expectProblem(400, () => post(e).set('Content-Type', 'application/json').send(raw));
          assert.ok(['malformed_json', 'validation_failed'].includes(p.code), `${raw}: ${p.code}`);
        }
      });

      test('a non-JSON content type is a 415', async () => {
        const json = JSON.stringify(e.valid());
        for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']) {
          const p = await expectProblem(415, () => post(e).set('Content-Type', ct).send(json));
          assert.equal(p.code, 'unsupported_media_type', ct);
          assert.match(p.detail, /application\/json/);
        }
        // No body and no content type at all.
        const p = await expectProblem(415, () => post(e));
        assert.equal(p.code, 'unsupported_media_type');
      });

      test('an unsupported charset or content encoding is a 415', async () => {
        const json = JSON.stringify(e.valid());
        const p1 = await expectProblem(415, () => post(e).set('Content-Type', 'application/json; charset=latin1').send(json));
        assert.equal(p1.code, 'unsupported_encoding');
        const p2 = await expectProblem(415, () => post(e).set('Content-Type', 'application/json').set('Content-Encoding', 'x-unknown').send(json));
        assert.equal(p2.code, 'unsupported_encoding');
      });

      test('a body over the 2mb limit is a 413', async () => {
        const big = JSON.stringify({ ...e.valid(), padding: 'x'.repeat(2 * 1024 * 1024 + 10) });
        const p = await expectProblem(413, () => post(e).set('Content-Type', 'application/json').send(big));
        assert.equal(p.code, 'body_too_large');
        assert.match(p.detail, /2mb/);
      });

      test('huge strings in every string field (under the body limit): 400 naming the field', async () => {
        const valid = e.valid();
        for (const [field, value] of Object.entries(valid)) {
          if (typeof value !== 'string') continue;
          if (field === 'text') continue; // the EULA text may be long (up to 1.5M characters)
          await expectFieldError(field, () => post(e).send({ ...valid, [field]: 'a'.repeat(1_000_000) }));
        }
      });
    });
  }
});

describe('assent bodies: field formats', () => {
  const acc = ENDPOINTS[0]!;
  const cases: Array<[string, unknown]> = [
    ['shown_text_sha256', 'A'.repeat(64)],
    ['shown_text_sha256', 'a'.repeat(63)],
    ['shown_text_sha256', 'g'.repeat(64)],
    ['shown_text_sha256', sha256OfText(eulaText()).toUpperCase()],
    ['shown_text_sha256', ` ${sha256OfText(eulaText())}`],
    ['ip', '999.1.1.1'],
    ['ip', '203.0.113'],
    ['ip', 'localhost'],
    ['ip', '203.0.113.7:8080'],
    ['ip', '::g'],
    ['ip', ''],
    ['page_url', 'javascript:alert(1)'],
    ['page_url', 'ftp://example.org/'],
    ['page_url', 'not a url'],
    ['page_url', '//example.org/path'],
    ['page_url', `https://example.org/${'a'.repeat(2100)}`],
    ['client_time', '2026-11-29 12:00:00'],
    ['client_time', '2026-11-29T12:00:00'],
    ['client_time', '2026-13-01T00:00:00Z'],
    ['client_time', '2026-11-31T00:00:00Z'],
    ['client_time', '2026-02-30T00:00:00Z'],
    ['client_time', '2026-11-29T25:00:00Z'],
    ['client_time', 'yesterday'],
    ['client_time', '1764417600'],
    ['locale', 'english'],
    ['locale', 'en_GB'],
    ['locale', ''],
    ['subject', ''],
    ['subject', 'x'.repeat(257)],
    ['subject', 'émile'],
    ['subject', 'user\n1'],
    ['subject', 'user\u00001'],
    ['subject', '🙂'],
    ['slug', 'API-Terms'],
    ['slug', '-terms'],
    ['slug', 'a'.repeat(65)],
    ['version', '1.0 beta'],
    ['version', ''],
    ['method', 'telepathy'],
    ['consent_text', ''],
    ['consent_text', 'I agree\u0007'],
    ['consent_text', 'x'.repeat(2001)],
    ['button_text', 'x'.repeat(201)],
    ['user_agent', ''],
    ['auth', { method: 'password', session_id: 's' }],
    ['auth', { method: 'Password', session_id: 's', mfa: false }],
    ['auth', { method: 'password', session_id: '', mfa: false }],
    ['auth', { method: 'password', session_id: 's', mfa: 'yes' }],
    ['auth', { method: 'password', session_id: 's', mfa: false, extra: 1 }],
  ];
  for (const [field, value] of cases) {
    test(`${field} = ${JSON.stringify(value).slice(0, 60)}`, async () => {
      await expectFieldError(field, () => post(acc).send(acceptanceBody({ subject: 'bad-input', [field]: value })));
    });
  }

  test('unknown slug or version: 422 unknown_eula_version naming the version', async () => {
    for (const o of [{ slug: 'no-such-terms' }, { version: '7.7' }, { slug: 'no-such-terms', version: '7.7' }]) {
      for (const e of [ENDPOINTS[0]!, ENDPOINTS[1]!]) {
        const p = await expectProblem(422, () => post(e).send(acceptanceBody({ subject: 'bad-input', ...o })));
        assert.equal(p.code, 'unknown_eula_version');
        assert.match(p.detail, new RegExp(o.version ?? '1\\.0'));
        assert.deepEqual(p.errors?.map((x) => x.field), ['version']);
      }
    }
  });

  test('text hash mismatch: 422 text_hash_mismatch with the expected hash', async () => {
    const wrong = sha256OfText('some other text');
    for (const e of [ENDPOINTS[0]!, ENDPOINTS[1]!]) {
      const p = await expectProblem(422, () => post(e).send(acceptanceBody({ subject: 'bad-input', shown_text_sha256: wrong })));
      assert.equal(p.code, 'text_hash_mismatch');
      assert.equal(p.expected_text_sha256, sha256OfText(eulaText()));
      assert.match(p.detail, /shown_text_sha256/);
      assert.ok(p.detail.includes(wrong));
    }
  });

  test('withdrawal without a standing acceptance: 409 nothing_to_withdraw', async () => {
    const w = ENDPOINTS[2]!;
    const p = await expectProblem(409, () => post(w).send(withdrawalBody({ subject: 'never-accepted' })));
    assert.equal(p.code, 'nothing_to_withdraw');
    assert.match(p.detail, /api-terms/);
    // A declined subject has nothing to withdraw either; the detail says what the latest record is.
    assert.equal((await t.post('/v1/declines', 'signup').set('Idempotency-Key', randomUUID()).send(acceptanceBody({ subject: 'only-declined' }))).status, 201);
    const p2 = await expectProblem(409, () => post(w).send(withdrawalBody({ subject: 'only-declined' })));
    assert.equal(p2.code, 'nothing_to_withdraw');
    assert.match(p2.detail, /declined/);
    // Another slug is another agreement.
    const p3 = await expectProblem(409, () => post(w).send(withdrawalBody({ subject: 'has-key', slug: 'no-such-terms' })));
    assert.equal(p3.code, 'nothing_to_withdraw');
  });

  test('withdrawal field formats', async () => {
    const w = ENDPOINTS[2]!;
    for (const [field, value] of [['method', 'checkbox'], ['reason', ''], ['reason', 'x'.repeat(2001)], ['ip', '1.2.3.4.5'], ['client_time', '2026-11-29']] as const) {
      await expectFieldError(field, () => post(w).send(withdrawalBody({ subject: 'has-key', [field]: value })));
    }
  });
});

describe('EULA publishing: field formats and content rules', () => {
  const pub = ENDPOINTS[3]!;
  const cases: Array<[string, unknown]> = [
    ['slug', 'Api Terms'],
    ['slug', ''],
    ['version', 'v 2'],
    ['version', '.1'],
    ['title', ''],
    ['title', 'x'.repeat(301)],
    ['title', 'bell\u0007'],
    ['text', ''],
    ['effective_at', '2026-01-01'],
    ['effective_at', 'now'],
    ['effective_at', '2026-02-30T00:00:00Z'],
    ['major', 'true'],
    ['major', 1],
    ['highlights', 'clause 2'],
    ['highlights', [{ text: 'You may use' }]],
    ['highlights', [{ text: '', note: 'x' }]],
    ['highlights', [{ text: 'You may use', note: 'x', extra: true }]],
    ['highlights', Array.from({ length: 201 }, () => ({ text: 'You may use', note: 'x' }))],
  ];
  for (const [field, value] of cases) {
    test(`${field} = ${JSON.stringify(value).slice(0, 60)}`, async () => {
      await expectFieldError(field, () => post(pub).send({ ...pub.valid(), [field]: value }));
    });
  }

  test('a text over 1,500,000 characters is a 400 naming text', async () => {
    await expectFieldError('text', () => post(pub).send({ ...pub.valid(), text: 'x'.repeat(1_500_001) }));
  });

  test('a highlight that is not in the text: 400 eula_highlight_not_in_text', async () => {
    const p = await expectProblem(400, () => post(pub).send({ ...pub.valid(), highlights: [{ text: 'You may resell outputs', note: 'not in the text' }] }));
    assert.equal(p.code, 'eula_highlight_not_in_text');
    assert.match(p.detail, /highlight/);
    assert.match(p.detail, /You may resell outputs/);
  });

  test('republishing a version with different content: 409, nothing written', async () => {
    const p = await expectProblem(409, () => post(pub).send(publishBody({ text: 'a different text' })));
    assert.equal(p.code, 'eula_version_conflict');
    const p2 = await expectProblem(409, () => post(pub).send(publishBody({ title: 'Another title' })));
    assert.equal(p2.code, 'eula_version_conflict');
    assert.match(p2.detail, /different metadata/);
  });
});

describe('rotation and API keys: field rules', () => {
  test('rotate: bad subjects in the path are 400 naming subject; unknown subject is 409', async () => {
    const rot = ENDPOINTS[4]!;
    for (const subject of ['%00', 'a%00b', encodeURIComponent('x'.repeat(300)), encodeURIComponent('é'), '%0A']) {
      await expectFieldError('subject', () => post(rot, `/v1/subjects/${subject}/watermark-keys/rotate`).send({ reason: 'x' }));
    }
    const p = await expectProblem(409, () => post(rot, '/v1/subjects/no-key-yet/watermark-keys/rotate').send({ reason: 'x' }));
    assert.equal(p.code, 'subject_has_no_key');
    await expectFieldError('reason', () => post(rot).send({ reason: '' }));
    await expectFieldError('reason', () => post(rot).send({ reason: 'x'.repeat(501) }));
  });

  test('api-keys: bad role or name is a 400 naming the field', async () => {
    const k = ENDPOINTS[5]!;
    await expectFieldError('role', () => post(k).send({ role: 'root', name: 'x' }));
    await expectFieldError('role', () => post(k).send({ role: 'ADMIN', name: 'x' }));
    await expectFieldError('name', () => post(k).send({ role: 'gateway', name: '' }));
    await expectFieldError('name', () => post(k).send({ role: 'gateway', name: 'x'.repeat(101) }));
    await expectFieldError('name', () => post(k).send({ role: 'gateway', name: 'tab\u0000' }));
  });
});

describe('fuzz: nothing a client sends yields a 5xx', () => {
  const weird: unknown[] = [
    '\ud800', // a lone surrogate
    'a\udfffb',
    '\u0000',
    'nul\u0000inside',
    '\u202eevil\u202c', // bidi override
    'zero\u200bwidth',
    '\ufeffbom',
    '🙂'.repeat(3000),
    'e\u0301', // combining accent
    '\uffff',
    '%00',
    '../../etc/passwd',
    "'; DROP TABLE assent_records; --",
    '{"$gt": ""}',
    -1,
    1e308,
    -0,
    0.1,
    Number.MAX_SAFE_INTEGER + 2,
    true,
    [],
    {},
    [null],
    { __proto__: { admin: true } },
  ];
  const bodies: Array<[string, Endpoint, () => Record<string, unknown>]> = ENDPOINTS.map((e) => [e.path, e, e.valid]);

  for (const [path, e, valid] of bodies) {
    test(`${path}: odd values in every field`, async () => {
      for (const field of Object.keys(valid())) {
        for (const v of weird) {
          const before = await t.countRows();
          const res = await post(e).send({ ...valid(), [field]: v });
          assert.ok(res.status < 500, `${field}=${JSON.stringify(v)?.slice(0, 40)}: ${res.status} ${res.text.slice(0, 300)}`);
          if (res.status >= 400) {
            problemOf(res);
            assert.deepEqual(await t.countRows(), before, `${field}=${JSON.stringify(v)?.slice(0, 40)} wrote something`);
          }
        }
      }
    });
  }

  test('odd nested values in auth and highlights', async () => {
    const acc = ENDPOINTS[0]!;
    const pub = ENDPOINTS[3]!;
    for (const v of weird) {
      for (const sub of ['method', 'session_id', 'mfa']) {
        const body = acceptanceBody({ subject: 'fuzz-nested' });
        (body.auth as Record<string, unknown>)[sub] = v;
        const res = await post(acc).send(body);
        assert.ok(res.status < 500, `auth.${sub}=${JSON.stringify(v)?.slice(0, 40)}: ${res.status} ${res.text.slice(0, 300)}`);
      }
      for (const sub of ['text', 'note']) {
        const h: Record<string, unknown> = { text: 'You may use', note: 'n' };
        h[sub] = v;
        const res = await post(pub).send({ ...pub.valid(), version: `fz-${randomUUID().slice(0, 8)}`, highlights: [h] });
        assert.ok(res.status < 500, `highlights.${sub}=${JSON.stringify(v)?.slice(0, 40)}: ${res.status} ${res.text.slice(0, 300)}`);
      }
    }
  });

  test('deeply nested and huge JSON documents', async () => {
    const acc = ENDPOINTS[0]!;
    const deep = '['.repeat(5000) + ']'.repeat(5000);
    const res1 = await post(acc).set('Content-Type', 'application/json').send(`{"subject":${deep}}`);
    assert.ok(res1.status >= 400 && res1.status < 500, `${res1.status}`);
    problemOf(res1);
    const manyKeys = JSON.stringify(Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i])));
    const res2 = await post(acc).set('Content-Type', 'application/json').send(manyKeys);
    assert.equal(res2.status, 400);
    problemOf(res2);
  });

  test('odd path parameters on every route with parameters: 4xx problems, never 5xx', async () => {
    // (Two long parameters stay under Node's 16 KiB request-line limit.)
    const values = ['%00', 'a%00b', '%zz', '%', 'x'.repeat(5000), encodeURIComponent('é'.repeat(800)), '%F0%9F%99%82', '%C0%AF', '..%2F..%2Fetc', '%20', '%ED%A0%80', '%FF'];
    for (const r of t.built.routes) {
      if (!r.path.includes(':')) continue;
      const roles = r.access === 'public' ? ['admin' as Role] : r.access;
      const role = roles[0]!;
      for (const v of values) {
        const path = r.path.replace(/:([A-Za-z_]+)/g, v);
        let req = t.req(r.method, path, role);
        if (r.idempotent) req = req.set('Idempotency-Key', randomUUID());
        if (r.method === 'post') req = req.send({ reason: 'x' });
        const before = await t.countRows();
        const res = await req;
        // Some odd values are valid subjects (" ", "../../etc"): then any non-5xx answer is fine.
        assert.ok(res.status < 500, `${r.method.toUpperCase()} ${path.slice(0, 80)}: ${res.status} ${res.text.slice(0, 300)}`);
        if (res.status >= 400) {
          problemOf(res);
          assert.deepEqual(await t.countRows(), before);
        }
      }
    }
  });

  test('odd query strings on the status route', async () => {
    for (const q of ['', '?slug=', '?slug=API', '?slug=api-terms&slug=other', '?slug[]=api-terms', '?slug=api-terms&extra=1', '?slug=%00', `?slug=${'a'.repeat(10_000)}`, '?%zz=1']) {
      const res = await t.get(`/v1/subjects/user-1/status${q}`, 'signup');
      assert.ok(res.status >= 400 && res.status < 500, `${q.slice(0, 40)}: ${res.status} ${res.text.slice(0, 200)}`);
      problemOf(res);
    }
    const unknown = await t.get('/v1/subjects/user-1/status?slug=no-such-terms', 'signup');
    assert.equal(unknown.status, 404);
    assert.equal(problemOf(unknown).code, 'eula_not_found');
  });

  test('the ledger verifies after all of this', async () => {
    const r = await t.ctx.ledger.verify();
    assert.equal(r.ok, true, JSON.stringify(r.fault));
  });
});
