// Hostile bytes in request bodies: invalid UTF-8, lone surrogate escapes, duplicate member names,
// deep nesting, declared and chunked lengths over the limit. Each is refused with a registered
// problem before anything is read further or recorded (docs/input-rules.md).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptanceBody, problemOf, useTestApp, type TestApp } from './helpers/app.js';
import { chunk, rawRequest } from './helpers/raw-http.js';

type Res = { status: number; headers: Record<string, string | undefined>; text: string };

let server: Awaited<ReturnType<TestApp['listen']>>;
const t = useTestApp({
  setup: async (t) => {
    await t.publishEula();
    server = await t.listen();
  },
});
after(() => server?.close());

const BAD = '@@BAD@@';

/** The JSON text of `value` with the placeholder BAD replaced by raw `bytes`. */
function withBytes(value: unknown, bytes: number[]): Buffer {
  const [a, b, ...rest] = JSON.stringify(value).split(BAD);
  assert.equal(rest.length, 0, 'one placeholder');
  return Buffer.concat([Buffer.from(a!, 'utf8'), Buffer.from(bytes), Buffer.from(b ?? '', 'utf8')]);
}

/** Sends `body` as the JSON request body, byte for byte (superagent would re-serialise a Buffer). */
function sendJson(r: ReturnType<TestApp['post']>, body: Buffer | string, contentType = 'application/json') {
  return r.set('Content-Type', contentType).serialize((b: unknown) => b as string).send(body as string);
}

function postAcceptance(body: Buffer | string) {
  return sendJson(t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()), body);
}

/** The RFC 8785 bytes a receipt signs. */
function signedBytes(res: { body: { receipt: { signed_bytes: string } } }): Buffer {
  return Buffer.from(res.body.receipt.signed_bytes, 'base64');
}

/** Expects a problem with `status` and `code`, and that no row and no ledger entry was written. */
async function refused(status: number, code: string, send: () => PromiseLike<Res>) {
  const before = await t.countRows();
  const res = await send();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 400)}`);
  const p = problemOf(res);
  assert.equal(p.code, code, JSON.stringify(p));
  assert.deepEqual(await t.countRows(), before, 'nothing may be written');
  return p;
}

describe('invalid UTF-8 is refused, never replaced', () => {
  test('the reported case: button_text "OK" + ff fe c0 af', async () => {
    const body = withBytes(acceptanceBody({ subject: 'utf8-1', button_text: `OK${BAD}` }), [0xff, 0xfe, 0xc0, 0xaf]);
    const p = await refused(400, 'invalid_utf8', () => postAcceptance(body));
    assert.match(p.detail, /button_text/);
    assert.equal(p.errors?.[0]?.field, 'button_text');
    assert.equal(p.offset, body.indexOf(0xff));
  });

  test('overlong forms, encoded surrogates, truncated and stray continuation bytes', async () => {
    const cases: number[][] = [[0xc0, 0x80], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xe2, 0x82], [0xf0, 0x9f, 0x98]];
    for (const bytes of cases) {
      const body = withBytes(acceptanceBody({ subject: 'utf8-2', auth: { method: 'password', session_id: `s${BAD}`, mfa: true } }), bytes);
      const p = await refused(400, 'invalid_utf8', () => postAcceptance(body));
      assert.equal(p.errors?.[0]?.field, 'auth.session_id', `${Buffer.from(bytes).toString('hex')}: ${p.detail}`);
    }
  });

  test('in a member name, and outside any string: the byte offset is named', async () => {
    const inName = Buffer.concat([Buffer.from('{"subject":"a","x'), Buffer.from([0xff]), Buffer.from('":1}')]);
    const p1 = await refused(400, 'invalid_utf8', () => postAcceptance(inName));
    assert.match(p1.detail, /member name/);
    assert.equal(p1.offset, 17);
    const outside = Buffer.concat([Buffer.from('{"subject":"a",'), Buffer.from([0xa0]), Buffer.from('"x":1}')]);
    const p2 = await refused(400, 'invalid_utf8', () => postAcceptance(outside));
    assert.match(p2.detail, /byte 15 \(0xa0\)/);
  });

  test('on the large-body routes too', async () => {
    const body = withBytes({ case_ref: `case ${BAD}`, subjects: ['nobody'], samples: [{ input_sha256: 'a'.repeat(64), owner_label: 1, num_classes: 10 }] }, [0xfe]);
    const p = await refused(400, 'invalid_utf8', () => sendJson(t.post('/v1/verification-plans', 'investigator'), body));
    assert.equal(p.errors?.[0]?.field, 'case_ref');
  });

  test('valid multi-byte UTF-8 is recorded byte for byte', async () => {
    const text = 'Zustimmen ✓ 東京 🙂';
    const res = await postAcceptance(Buffer.from(JSON.stringify(acceptanceBody({ subject: 'utf8-ok', button_text: text })), 'utf8'));
    assert.equal(res.status, 201, res.text);
    assert.ok(signedBytes(res).includes(Buffer.from(`"button_text":"${text}"`, 'utf8')), 'the signed receipt holds the text as sent');
  });

  test('a leading byte order mark is not JSON: refused, not stripped', async () => {
    const body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(acceptanceBody({ subject: 'bom' })))]);
    await refused(400, 'malformed_json', () => postAcceptance(body));
  });

  test('a charset other than UTF-8 is a 415', async () => {
    const json = JSON.stringify(acceptanceBody({ subject: 'utf16' }));
    await refused(415, 'unsupported_encoding', () => sendJson(t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()), Buffer.from(json, 'utf16le'), 'application/json; charset=utf-16le'));
  });
});

describe('lone surrogate escapes have no canonical form: refused', () => {
  for (const esc of ['\\ud800', '\\udfff', '\\ud83d\\u0041', '\\ude00\\ud83d']) {
    test(`"${esc}" in button_text`, async () => {
      const raw = JSON.stringify(acceptanceBody({ subject: 'sur', button_text: `OK${BAD}` })).replace(BAD, esc);
      const p = await refused(400, 'not_canonical', () => postAcceptance(raw));
      assert.equal(p.errors?.[0]?.field, 'button_text', p.detail);
    });
  }

  test('in a nested member name', async () => {
    const raw = JSON.stringify(acceptanceBody({ subject: 'sur', auth: { method: 'password', session_id: 's', mfa: true, [BAD]: 1 } })).replace(BAD, '\\udbff');
    const p = await refused(400, 'not_canonical', () => postAcceptance(raw));
    assert.match(p.detail, /auth/);
  });

  test('an escaped surrogate pair is a valid character and is recorded', async () => {
    const raw = JSON.stringify(acceptanceBody({ subject: 'sur-ok', button_text: `OK ${BAD}` })).replace(BAD, '\\ud83d\\ude00');
    const res = await postAcceptance(raw);
    assert.equal(res.status, 201, res.text);
    assert.ok(signedBytes(res).includes(Buffer.from('"button_text":"OK 😀"', 'utf8')));
  });
});

describe('duplicate member names are refused at any depth', () => {
  const base = JSON.stringify(acceptanceBody({ subject: 'dup' }));
  const cases: Array<[string, string, RegExp]> = [
    ['top level', base.replace('"subject":"dup"', '"subject":"dup","subject":"other"'), /"subject"/],
    ['escaped spelling of the same name', base.replace('"subject":"dup"', '"subject":"dup","\\u0073ubject":"other"'), /"subject"/],
    ['nested', base.replace('"mfa":true', '"mfa":true,"mfa":false'), /auth\.mfa|"mfa".*auth/],
  ];
  for (const [name, raw, re] of cases) {
    test(name, async () => {
      const p = await refused(400, 'duplicate_member', () => postAcceptance(raw));
      assert.match(p.detail, re);
    });
  }

  test('inside an array element of a large-body route', async () => {
    const s = '{"input_sha256":"' + 'a'.repeat(64) + '","owner_label":1,"num_classes":10}';
    const raw = `{"case_ref":"c","subjects":["x"],"samples":[${s},${s},${s},${s.replace('"owner_label":1', '"owner_label":1,"owner_label":2')}]}`;
    const p = await refused(400, 'duplicate_member', () => sendJson(t.post('/v1/verification-plans', 'investigator'), raw));
    assert.equal(p.errors?.[0]?.field, 'samples.3.owner_label', p.detail);
  });

  test('equal names in different objects are not duplicates', async () => {
    const res = await postAcceptance(JSON.stringify(acceptanceBody({ subject: 'dup-ok', auth: { method: 'password', session_id: 'subject', mfa: true } })));
    assert.equal(res.status, 201, res.text);
  });
});

test('nesting deeper than the limit is refused', async () => {
  const deep = '['.repeat(100_000) + ']'.repeat(100_000);
  await refused(400, 'json_too_deep', () => postAcceptance(`{"subject":${deep}}`));
  await refused(400, 'json_too_deep', () => sendJson(t.post('/v1/verifications', 'investigator'), `{"samples":${deep}}`));
});

describe('bodies over the limit are refused without reading them', () => {
  // The client declares 300 MB and sends 2 bytes: the answer must come from the header alone.
  for (const [path, role, declared] of [['/v1/acceptances', 'signup', 300_000_000], ['/v1/eulas', 'admin', 300_000_000], ['/v1/verifications', 'investigator', 300_000_000], ['/v1/ledger/proofs/inclusion?seq=1', null, 300_000_000]] as const) {
    test(`declared Content-Length ${declared} on ${path}`, async () => {
      const before = await t.countRows();
      const res = await rawRequest(server.url, {
        method: path.includes('?') ? 'GET' : 'POST',
        path,
        headers: { 'Content-Type': 'application/json', 'Content-Length': String(declared), 'Idempotency-Key': t.idem(), ...(role ? { Authorization: `Bearer ${t.tokens[role]}` } : {}) },
        body: '{"',
      });
      assert.equal(res.status, 413, res.body);
      assert.match(res.headers['content-type'] ?? '', /^application\/problem\+json/);
      const p = JSON.parse(res.body);
      assert.equal(p.code, 'body_too_large');
      assert.match(p.detail, path === '/v1/verifications' ? /128mb/ : /2mb/);
      assert.deepEqual(await t.countRows(), before);
    });
  }

  test('a chunked body that passes the limit is cut off and answered 413', async () => {
    const head = { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Idempotency-Key': t.idem(), Authorization: `Bearer ${t.tokens.signup}` };
    const filler = chunk(`{"subject":"${'x'.repeat(1024 * 1024)}`);
    // Three chunks of 1 MiB, and the terminating chunk never comes.
    const res = await rawRequest(server.url, { method: 'POST', path: '/v1/acceptances', headers: head, body: Buffer.concat([filler, chunk('y'.repeat(1024 * 1024)), chunk('z'.repeat(1024 * 1024))]) });
    assert.equal(res.status, 413, res.body);
    assert.equal(JSON.parse(res.body).code, 'body_too_large');
  });

  test('the large-body routes have the larger limit', async () => {
    const padding = 'x'.repeat(3 * 1024 * 1024);
    const big = JSON.stringify({ case_ref: 'c', subjects: ['x'], samples: [{ input_sha256: 'a'.repeat(64), owner_label: 1, num_classes: 10 }], padding });
    const p = await refused(400, 'validation_failed', () => sendJson(t.post('/v1/verification-plans', 'investigator'), big));
    assert.match(p.detail, /padding/);
    await refused(413, 'body_too_large', () => postAcceptance(big));
  });
});
