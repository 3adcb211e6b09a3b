/**
 * The RFC 3161 client against a real TSA (OpenSSL's `ts -reply` behind a local HTTP server), and
 * what we keep checked by a standard tool: `openssl ts -verify` must accept the stored response
 * and the stored token. Then everything a TSA or the network can get wrong — other digest, a
 * flipped byte, a replay, a refusal, a wrong content type, garbage — must fail with a
 * TimestampError that says why, and never with anything else.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTimeStampRequest,
  parseTimeStampResponse,
  requestTimestamp,
  TimestampError,
  verifyTimestampToken,
  type RequestedTimestamp,
  type TimestampErrorCode,
  type TsaPost,
} from '../src/timestamp/rfc3161.js';
import { generateSigningIdentity } from '../src/pdf/certificate.js';
import { httpPost, startTestTsa, TEST_TSA_POLICY, type TestTsa } from './helpers/tsa.js';
import { flip, run } from './helpers/tools.js';

const digest = createHash('sha256').update('assentmark timestamp test').digest();
const otherDigest = createHash('sha256').update('something else').digest();

let tsa: TestTsa;
let work: string;
let stamped: RequestedTimestamp;
let before0: number;
let after0: number;

/** Asserts `f` throws a TimestampError (nothing else: a TypeError would be a crash) with this code. */
async function rejects(f: () => unknown, code: TimestampErrorCode, message?: RegExp): Promise<TimestampError> {
  try {
    await f();
  } catch (e) {
    assert.ok(e instanceof TimestampError, `expected a TimestampError, got ${String((e as Error)?.stack ?? e)}`);
    assert.equal(e.code, code, `code of: ${e.message}`);
    assert.ok(e.message.length > 10, 'the reason is a sentence');
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected a TimestampError (${code}), but it was accepted`);
}

/** Hex of the "Message data:" dump and the named single-line fields of `openssl ts ... -text`. */
function opensslText(out: string): { messageHex: string; field(name: string): string | undefined } {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Message data:'));
  let messageHex = '';
  for (const l of lines.slice(start + 1)) {
    const m = /^\s+[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){1,16})/.exec(l);
    if (!m?.[1]) break;
    messageHex += m[1].replace(/[ -]/g, '');
  }
  return { messageHex, field: (name) => lines.find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2).trim() };
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'assentmark-ts-'));
  tsa = await startTestTsa();
  before0 = Date.now();
  stamped = await requestTimestamp(tsa.url, digest, httpPost, { trustedCertsPem: tsa.caCertPem });
  after0 = Date.now();
  writeFileSync(join(work, 'reply.tsr'), stamped.response);
  writeFileSync(join(work, 'token.der'), stamped.token);
  writeFileSync(join(work, 'request.tsq'), stamped.request);
});

after(async () => {
  await tsa?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a granted timestamp', () => {
  test('genTime is now, nonce and imprint are ours, and OpenSSL reads the same TSTInfo', () => {
    // OpenSSL stamps whole seconds with accuracy 1 s: allow that much either side of the request.
    assert.ok(stamped.genTime.getTime() >= before0 - 2000 && stamped.genTime.getTime() <= after0 + 2000, `genTime ${stamped.genTime.toISOString()}`);
    assert.equal(stamped.policy, TEST_TSA_POLICY);
    assert.equal(stamped.tsaName, 'CN=assentmark test TSA, O=assentmark tests');
    assert.match(stamped.serial, /^[0-9a-f]+$/);
    assert.ok(stamped.tsaCertificatePem.includes('BEGIN CERTIFICATE'));
    assert.equal(tsa.replies, 1);

    // Independently of our parser: what OpenSSL sees in the response we keep.
    const r = run('openssl', ['ts', '-reply', '-in', join(work, 'reply.tsr'), '-text']);
    assert.equal(r.status, 0, r.out);
    const t = opensslText(r.stdout);
    assert.equal(t.field('Status'), 'Granted.');
    assert.equal(t.messageHex, digest.toString('hex'));
    assert.equal(t.field('Nonce')?.toLowerCase(), `0x${stamped.nonce.toString(16)}`);
    assert.equal(t.field('Serial number')?.toLowerCase(), `0x${stamped.serial}`);
    assert.equal(t.field('Policy OID'), TEST_TSA_POLICY);
  });

  test('our TimeStampReq is what OpenSSL expects: SHA-256 imprint, nonce, certReq', () => {
    const r = run('openssl', ['ts', '-query', '-in', join(work, 'request.tsq'), '-text']);
    assert.equal(r.status, 0, r.out);
    const t = opensslText(r.stdout);
    assert.equal(t.field('Version'), '1');
    assert.equal(t.field('Hash Algorithm'), 'sha256');
    assert.equal(t.messageHex, digest.toString('hex'));
    assert.equal(t.field('Nonce')?.toLowerCase(), `0x${stamped.nonce.toString(16)}`);
    assert.equal(t.field('Certificate required'), 'yes');
    assert.deepEqual(buildTimeStampRequest(digest, stamped.nonce), stamped.request, 'deterministic for a given nonce');
  });

  test('openssl ts -verify accepts the stored response and the stored token', () => {
    const common = ['-digest', digest.toString('hex'), '-CAfile', tsa.caCertPath, '-untrusted', tsa.tsaCertPath];
    const resp = run('openssl', ['ts', '-verify', '-in', join(work, 'reply.tsr'), ...common]);
    assert.equal(resp.status, 0, resp.out);
    assert.match(resp.out, /Verification: OK/);
    const tok = run('openssl', ['ts', '-verify', '-token_in', '-in', join(work, 'token.der'), ...common]);
    assert.equal(tok.status, 0, tok.out);
    assert.match(tok.out, /Verification: OK/);
    // Control: the same command with another digest fails, so the OK above means something.
    const wrong = run('openssl', ['ts', '-verify', '-token_in', '-in', join(work, 'token.der'), '-digest', otherDigest.toString('hex'), '-CAfile', tsa.caCertPath, '-untrusted', tsa.tsaCertPath]);
    assert.notEqual(wrong.status, 0, wrong.out);
  });

  test('verifyTimestampToken re-checks the stored token, with and without a trust anchor', () => {
    const plain = verifyTimestampToken(stamped.token, digest);
    assert.equal(plain.genTime.getTime(), stamped.genTime.getTime());
    assert.equal(plain.serial, stamped.serial);
    assert.equal(plain.nonce, stamped.nonce);
    assert.deepEqual(plain.token, stamped.token);
    verifyTimestampToken(stamped.token, digest, tsa.caCertPem);
    verifyTimestampToken(stamped.token, digest, [tsa.tsaCertPem]); // the TSA certificate pinned directly
  });

  test('each request gets its own nonce and serial', async () => {
    const second = await requestTimestamp(tsa.url, otherDigest, httpPost);
    assert.notEqual(second.nonce, stamped.nonce);
    assert.notEqual(second.serial, stamped.serial);
    verifyTimestampToken(second.token, otherDigest, tsa.caCertPem);
  });
});

describe('what must be refused', () => {
  test('a different digest', async () => {
    await rejects(() => verifyTimestampToken(stamped.token, otherDigest), 'imprint', /not the digest we asked/);
    await rejects(() => parseTimeStampResponse(stamped.response, { digest: otherDigest, nonce: stamped.nonce }), 'imprint');
  });

  test('every single-bit flip anywhere in the stored token', () => {
    // The token is what we keep as evidence: no byte of it, signed or not, may change unnoticed.
    const codes = new Map<string, number>();
    for (let i = 0; i < stamped.token.length; i++) {
      try {
        verifyTimestampToken(flip(Buffer.from(stamped.token), i), digest);
      } catch (e) {
        assert.ok(e instanceof TimestampError, `byte ${i}: ${String((e as Error)?.stack ?? e)}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
        continue;
      }
      assert.fail(`a flipped bit in byte ${i} of the token was accepted`);
    }
    // Sanity: the flips hit the structure, the signature and the certificate, not just one check.
    assert.ok((codes.get('malformed') ?? 0) > 0 && (codes.get('signature') ?? 0) > 0, JSON.stringify([...codes]));
  });

  test('a flipped byte in the signed TSTInfo or in the signature value, with the reason', async () => {
    const token = stamped.token;
    // The genTime digits sit inside the eContent: the messageDigest no longer matches.
    const genTimeAt = token.indexOf(Buffer.from(stamped.genTime.toISOString().replace(/[-T:]/g, '').slice(0, 14))); // GeneralizedTime YYYYMMDDhhmmss
    assert.ok(genTimeAt > 0);
    await rejects(() => verifyTimestampToken(flip(Buffer.from(token), genTimeAt + 3), digest), 'signature', /messageDigest does not match/);
    // The last byte is inside the ECDSA signature's s value.
    await rejects(() => verifyTimestampToken(flip(Buffer.from(token), token.length - 1), digest), 'signature', /signature does not verify/);
  });

  test('a response replayed for a request with another nonce', async () => {
    await rejects(() => parseTimeStampResponse(stamped.response, { digest, nonce: stamped.nonce + 1n }), 'nonce', /replayed/);
    // Over the wire: whatever we send, the "TSA" answers with the response it gave earlier.
    const replay: TsaPost = async () => ({ status: 200, contentType: 'application/timestamp-reply', body: stamped.response });
    await rejects(() => requestTimestamp(tsa.url, digest, replay), 'nonce');
  });

  test('a TSA that refuses: PKIStatus rejection from OpenSSL, and HTTP 503', async () => {
    const e = await rejects(() => requestTimestamp(tsa.rejectUrl, digest, httpPost), 'status', /rejection/);
    assert.match(e.message, /badAlg/);
    assert.match(e.message, /Message digest algorithm is not supported/);
    await rejects(() => requestTimestamp(tsa.unavailableUrl, digest, httpPost), 'http', /HTTP 503/);
  });

  test('an answer that is not application/timestamp-reply, even with good bytes in it', async () => {
    await rejects(() => requestTimestamp(tsa.htmlUrl, digest, httpPost), 'content-type', /text\/html/);
    const relabel = (contentType: string | null): TsaPost => async (url, body, headers) => ({ ...(await httpPost(url, body, headers)), contentType });
    await rejects(() => requestTimestamp(tsa.url, digest, relabel('application/octet-stream')), 'content-type');
    await rejects(() => requestTimestamp(tsa.url, digest, relabel(null)), 'content-type', /without a content type/);
    // Parameters and case do not matter to a media type.
    const ok = await requestTimestamp(tsa.url, digest, relabel('Application/Timestamp-Reply; charset=binary'));
    verifyTimestampToken(ok.token, digest);
  });

  test('garbage bytes, from the TSA and handed to the parser directly', async () => {
    await rejects(() => requestTimestamp(tsa.garbageUrl, digest, httpPost), 'malformed');
    const expect = { digest, nonce: stamped.nonce };
    const seq = (...parts: Buffer[]) => Buffer.concat([Buffer.from([0x30, Buffer.concat(parts).length]), ...parts]);
    const hostile: [string, Buffer][] = [
      ['empty', Buffer.alloc(0)],
      ['one byte', Buffer.from([0x30])],
      ['trailing byte', Buffer.concat([stamped.response, Buffer.from([0])])],
      ['indefinite length (BER)', Buffer.from([0x30, 0x80, 0x30, 0x03, 0x02, 0x01, 0x00, 0x00, 0x00])],
      ['length past the end', Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x00])],
      ['deep nesting', Buffer.from([...Array.from({ length: 60 }, (_, i) => [0x30, 2 * (60 - i - 1)]).flat()])],
      ['granted, no token', seq(seq(Buffer.from([0x02, 0x01, 0x00])))],
      ['status is not an INTEGER', seq(seq(Buffer.from([0x04, 0x01, 0x00])))],
      ['the token without the response envelope', stamped.token],
      ['the request instead of a response', stamped.request],
      ['oversized', Buffer.alloc(1024 * 1024, 0x30)],
      ...Array.from({ length: 50 }, (_, i): [string, Buffer] => [`random ${i}`, randomBytes(1 + i * 37)]),
      ...Array.from({ length: 50 }, (_, i): [string, Buffer] => [`random DER-looking ${i}`, Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), randomBytes(256)])]),
    ];
    for (const [name, bytes] of hostile) {
      try {
        parseTimeStampResponse(bytes, expect);
      } catch (e) {
        assert.ok(e instanceof TimestampError, `${name}: ${String((e as Error)?.stack ?? e)}`);
        assert.ok(e.code === 'malformed' || e.code === 'status', `${name}: ${e.code} ${e.message}`);
        continue;
      }
      assert.fail(`${name} was accepted`);
    }
  });

  test('every truncation of the response, and random bit flips in it', () => {
    const expect = { digest, nonce: stamped.nonce };
    for (let n = 0; n < stamped.response.length; n++) {
      assert.throws(() => parseTimeStampResponse(stamped.response.subarray(0, n), expect), (e) => e instanceof TimestampError && e.code === 'malformed', `prefix ${n}`);
    }
    // The status envelope around the token is not signed (RFC 3161): a flip there may be accepted,
    // but then the token must be the very one the TSA signed. Every envelope byte, and every 16th
    // of the token's (the test above flips all of those; each check costs a full pkijs parse).
    const tokenAt = stamped.response.indexOf(stamped.token);
    assert.ok(tokenAt > 0);
    const positions = [...Array.from({ length: tokenAt }, (_, i) => i), ...Array.from({ length: Math.ceil(stamped.token.length / 16) }, (_, k) => tokenAt + 16 * k)];
    for (const i of positions) {
      const mask = 1 << (i % 8);
      let got;
      try {
        got = parseTimeStampResponse(flip(Buffer.from(stamped.response), i, mask), expect);
      } catch (e) {
        assert.ok(e instanceof TimestampError, `byte ${i}: ${String((e as Error)?.stack ?? e)}`);
        continue;
      }
      assert.ok(got.token.equals(stamped.token), `byte ${i} changed the token and was accepted`);
    }
  });

  test('a TSA certificate that does not chain to the trusted one', async () => {
    const stranger = await generateSigningIdentity({ commonName: 'not our TSA root' });
    await rejects(() => verifyTimestampToken(stamped.token, digest, stranger.certPem), 'untrusted', /does not chain/);
    await rejects(() => requestTimestamp(tsa.url, digest, httpPost, { trustedCertsPem: stranger.certPem }), 'untrusted');
    await rejects(() => verifyTimestampToken(stamped.token, digest, 'not a PEM'), 'bad-input');
  });

  test('transport failures and bad arguments are TimestampErrors too', async () => {
    const broken: TsaPost = async () => {
      throw new Error('ECONNREFUSED');
    };
    await rejects(() => requestTimestamp(tsa.url, digest, broken), 'http', /ECONNREFUSED/);
    await rejects(() => requestTimestamp('ftp://example.test/', digest, httpPost), 'bad-input');
    await rejects(() => requestTimestamp(tsa.url, digest.subarray(0, 20), httpPost), 'bad-input', /32-byte/);
    await rejects(() => buildTimeStampRequest(digest, 0n), 'bad-input', /nonce/);
    await rejects(() => verifyTimestampToken(stamped.token, Buffer.alloc(31)), 'bad-input');
  });
});
