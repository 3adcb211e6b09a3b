// The input rules of docs/input-rules.md that are not about bytes: invisible and bidirectional
// formatting characters in printed text, unknown query parameters, acceptances of versions not
// yet in effect and backdated EULA versions. Each refusal is a registered problem and writes nothing.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptanceBody, eulaText, problemOf, publishBody, sha256OfText, useTestApp, withdrawalBody } from './helpers/app.js';

type Res = { status: number; headers: Record<string, string | undefined>; text: string };

const t = useTestApp({
  setup: async (t) => {
    await t.publishEula();
    assert.equal((await t.accept({ subject: 'has-key' })).status, 201);
  },
});

async function refused(status: number, code: string, send: () => PromiseLike<Res>) {
  const before = await t.countRows();
  const keys = await t.built.services.apiKeys.count();
  const res = await send();
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 400)}`);
  const p = problemOf(res);
  assert.equal(p.code, code, JSON.stringify(p));
  assert.deepEqual(await t.countRows(), before, 'nothing may be written');
  assert.equal(await t.built.services.apiKeys.count(), keys, 'no API key may be created');
  return p;
}

async function fieldRefused(field: string, codePoint: string, send: () => PromiseLike<Res>) {
  const p = await refused(400, 'validation_failed', send);
  const e = p.errors?.find((x) => x.field === field);
  assert.ok(e, `${field} not named: ${JSON.stringify(p)}`);
  assert.match(e.message, new RegExp(`invisible or bidirectional.*${codePoint}`));
}

describe('invisible and bidirectional formatting characters in printed text are refused', () => {
  const FORMAT = ['\u202e', '\u202a', '\u2066', '\u2069', '\u200b', '\u200e', '\u200f', '\u061c', '\u2060', '\ufeff', '\u00ad', '\u{e0041}'];
  const hex = (c: string) => `U\\+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

  test('every one of them in button_text', async () => {
    for (const c of FORMAT) {
      await fieldRefused('button_text', hex(c), () => t.accept({ subject: 'bidi', button_text: `I ${c}agree` }));
    }
  });

  test('in every kind of printed field', async () => {
    const rlo = '\u202e';
    const code = hex(rlo);
    await fieldRefused('consent_text', code, () => t.accept({ subject: 'bidi', consent_text: `I agree to ${rlo}the terms` }));
    await fieldRefused('page_url', code, () => t.accept({ subject: 'bidi', page_url: `https://example.org/${rlo}terms` }));
    await fieldRefused('auth.session_id', code, () => t.accept({ subject: 'bidi', auth: { method: 'password', session_id: `s${rlo}`, mfa: true } }));
    await fieldRefused('reason', code, () => t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: 'has-key', reason: `no ${rlo}longer` })));
    await fieldRefused('reason', code, () => t.post('/v1/subjects/has-key/watermark-keys/rotate', 'admin').send({ reason: `scheduled${rlo}` }));
    await fieldRefused('name', code, () => t.post('/v1/api-keys', 'admin').send({ role: 'gateway', name: `gw${rlo}` }));
    await fieldRefused('title', code, () => t.post('/v1/eulas', 'admin').send(publishBody({ slug: 'bidi-terms', title: `Terms${rlo}` })));
    await fieldRefused('text', code, () => t.post('/v1/eulas', 'admin').send(publishBody({ slug: 'bidi-terms', text: `Terms ${rlo}text` })));
    await fieldRefused('prepared_for.name', code, () => t.post('/v1/dossiers', 'investigator').send({ subject: 'has-key', case_ref: 'c-1', requested_by: 'legal', prepared_for: { name: `A ${rlo}B`, firm: 'F' } }));
  });

  test('zero-width joiner and non-joiner are kept (scripts and emoji need them), recorded as sent', async () => {
    const text = 'Agree 👩‍💻 می‌خواهم';
    const res = await t.accept({ subject: 'zwj', button_text: text });
    assert.equal(res.status, 201, res.text);
    assert.ok(Buffer.from(res.body.receipt.signed_bytes, 'base64').includes(Buffer.from(text, 'utf8')));
  });
});

describe('unknown query parameters are refused', () => {
  test('on a route without query parameters', async () => {
    const acc = await t.accept({ subject: 'query-1' });
    assert.equal(acc.status, 201);
    const p = await refused(400, 'validation_failed', () => t.get(`/v1/acceptances/${acc.body.id}?include=secrets`, 'admin'));
    assert.equal(p.errors?.[0]?.field, 'include');
    await refused(400, 'validation_failed', () => t.get('/checkpoint?x=1'));
    assert.equal((await t.get(`/v1/acceptances/${acc.body.id}`, 'admin')).status, 200);
  });

  test('a misspelt parameter beside a known one', async () => {
    const p = await refused(400, 'validation_failed', () => t.get('/v1/ledger/proofs/inclusion?seq=1&sise=1'));
    assert.match(p.detail, /sise/);
    const q = await refused(400, 'validation_failed', () => t.get('/v1/subjects/has-key/status?slug=api-terms&slug=other', 'signup'));
    assert.equal(q.errors?.[0]?.field, 'slug');
  });
});

describe('a EULA version not yet in effect', () => {
  const slug = 'future-terms';
  const body = (subject: string) => acceptanceBody({ subject, slug, version: '1.0', shown_text_sha256: sha256OfText(eulaText(slug, '1.0')) });

  test('cannot be accepted; can be declined', async () => {
    await t.publishEula({ slug, version: '1.0', effective_at: '2099-01-01T00:00:00Z' });
    const p = await refused(422, 'eula_version_not_in_effect', () => t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()).send(body('early')));
    assert.match(p.detail, /2099-01-01T00:00:00\.000Z/);
    assert.equal(p.effective_at, '2099-01-01T00:00:00.000Z');
    const d = await t.post('/v1/declines', 'signup').set('Idempotency-Key', t.idem()).send(body('early'));
    assert.equal(d.status, 201, d.text);
  });

  test('parallel acceptances of it are all refused', async () => {
    const before = await t.countRows();
    const all = await Promise.all(Array.from({ length: 8 }, () => t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()).send(body('early-parallel'))));
    for (const r of all) assert.equal(problemOf(r).code, 'eula_version_not_in_effect');
    assert.deepEqual(await t.countRows(), before);
  });
});

describe('backdated EULA versions', () => {
  const slug = 'dated-terms';
  const at = (ms: number) => new Date(Date.now() + ms).toISOString();

  test('the first version of a slug may be backdated (terms in force before the ledger)', async () => {
    const first = await t.publishEula({ slug, version: '1.0', effective_at: '2025-06-01T00:00:00Z' });
    assert.equal(first.status, 201);
    // Publishing it again, identically, is still the idempotent 200.
    assert.equal((await t.publishEula({ slug, version: '1.0', effective_at: '2025-06-01T00:00:00Z' })).status, 200);
  });

  test('a later version may not take effect months before its publication', async () => {
    const p = await refused(422, 'eula_backdated', () => t.post('/v1/eulas', 'admin').send(publishBody({ slug, version: '1.1', effective_at: at(-90 * 86_400_000) })));
    assert.equal(p.errors?.[0]?.field, 'effective_at');
    await refused(422, 'eula_backdated', () => t.post('/v1/eulas', 'admin').send(publishBody({ slug, version: '1.1', effective_at: at(-10 * 60_000) })));
  });

  test('parallel backdated publications are all refused', async () => {
    const before = await t.countRows();
    const all = await Promise.all(Array.from({ length: 6 }, (_, i) => t.post('/v1/eulas', 'admin').send(publishBody({ slug, version: `1.${i + 2}`, effective_at: '2026-01-01T00:00:00Z' }))));
    for (const r of all) assert.equal(problemOf(r).code, 'eula_backdated');
    assert.deepEqual(await t.countRows(), before);
  });

  test('within the clock-skew tolerance, or in the future, it is published', async () => {
    assert.equal((await t.publishEula({ slug, version: '1.1', effective_at: at(-60_000) })).status, 201);
    assert.equal((await t.publishEula({ slug, version: '2.0', effective_at: at(30 * 86_400_000) })).status, 201);
    const hist = await t.get(`/v1/eulas/${slug}/versions`, 'admin');
    assert.deepEqual(hist.body.versions.map((v: { version: string }) => v.version), ['1.0', '1.1', '2.0']);
  });
});
