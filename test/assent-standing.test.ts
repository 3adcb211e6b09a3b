// One definition of "standing acceptance" (docs/assent.md): the status endpoint, the gateway's
// decisions and withdrawal must agree on it, whatever sequence of records a subject has.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptanceBody, eulaText, sha256OfText, useTestApp, withdrawalBody } from './helpers/app.js';

const DIGEST = 'a'.repeat(64);

const t = useTestApp({ setup });

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  await t.publishEula({ version: '1.0', major: true, effective_at: '2026-01-01T00:00:00Z' });
  // A later version takes effect when it is published, not before (eula_backdated).
  await t.publishEula({ version: '1.1', major: false, effective_at: new Date().toISOString() });
}

const body = (subject: string, version: string) => acceptanceBody({ subject, version, shown_text_sha256: sha256OfText(eulaText('api-terms', version)) });

async function status(subject: string): Promise<{ compliant: boolean; reason: string; accepted: { version: string } | null }> {
  const r = await t.get(`/v1/subjects/${subject}/status?slug=api-terms`, 'signup');
  assert.equal(r.status, 200, r.text);
  return r.body;
}

async function gateway(subject: string): Promise<string> {
  const r = await t.post('/v1/watermark/decide', 'gateway').send({ slug: 'api-terms', items: [{ subject, input_sha256: DIGEST, label: 1, num_classes: 10 }] });
  assert.equal(r.status, 200, r.text);
  return r.body.results[0].status;
}

describe('standing acceptance: status, gateway and withdrawal agree', () => {
  test('accept 1.0, then decline the minor 1.1: still bound by 1.0 everywhere', async () => {
    const s = 'standing-decline-minor';
    assert.equal((await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()).send(body(s, '1.0'))).status, 201);
    assert.equal((await t.post('/v1/declines', 'signup').set('Idempotency-Key', t.idem()).send(body(s, '1.1'))).status, 201);
    const st = await status(s);
    assert.equal(st.compliant, true, st.reason);
    assert.equal(st.accepted?.version, '1.0');
    assert.equal(await gateway(s), 'ok');
    const w = await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: s }));
    assert.equal(w.status, 201, w.text);
    assert.equal(w.body.version, '1.0', 'the withdrawal names the acceptance it withdraws');
    assert.equal((await status(s)).compliant, false);
    assert.equal(await gateway(s), 'no_acceptance');
  });

  test('accept, withdraw, accept again: standing again everywhere', async () => {
    const s = 'standing-reaccept';
    await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()).send(body(s, '1.0'));
    await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: s }));
    assert.equal(await gateway(s), 'no_acceptance');
    assert.equal((await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()).send(body(s, '1.1'))).status, 201);
    assert.equal((await status(s)).compliant, true);
    assert.equal(await gateway(s), 'ok');
  });

  test('decline only: no standing acceptance anywhere, and nothing to withdraw', async () => {
    const s = 'standing-decline-only';
    await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()).send(body('standing-other-key', '1.0')); // gives the gateway a subject with a key
    await t.post('/v1/declines', 'signup').set('Idempotency-Key', t.idem()).send(body(s, '1.0'));
    assert.equal((await status(s)).compliant, false);
    assert.equal(await gateway(s), 'no_key');
    const w = await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: s }));
    assert.equal(w.status, 409, w.text);
  });

  test('accept 1.0, decline 1.1, then withdraw twice: the second withdrawal finds nothing standing', async () => {
    const s = 'standing-withdraw-twice';
    await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()).send(body(s, '1.0'));
    await t.post('/v1/declines', 'signup').set('Idempotency-Key', t.idem()).send(body(s, '1.1'));
    assert.equal((await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: s }))).status, 201);
    assert.equal((await t.post('/v1/withdrawals', 'signup').set('Idempotency-Key', t.idem()).send(withdrawalBody({ subject: s }))).status, 409);
  });
});
