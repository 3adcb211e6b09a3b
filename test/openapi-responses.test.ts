// Every JSON response the route table documents has a schema, and what the service actually sends
// has exactly that shape: parsed by the presenter's zod schema, nothing missing, nothing extra.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import * as assentJson from '../src/http/presenters/assent.js';
import * as detectionJson from '../src/http/presenters/detection.js';
import * as dossierJson from '../src/http/presenters/dossiers.js';
import * as ledgerJson from '../src/http/presenters/ledger.js';
import * as adminJson from '../src/http/presenters/admin.js';
import { DecideJson } from '../src/http/presenters/gateway.js';
import { buildEvidence, supertestHttp, type Evidence } from './helpers/evidence.js';
import { useTestApp } from './helpers/app.js';

let ev: Evidence;
const t = useTestApp({
  async setup(app) {
    ev = await buildEvidence(supertestHttp(() => app.app, app.tokens), { verifications: 2, withdrawals: 1, acceptances: 2, declines: 1, keyRotations: 1 });
  },
});

/** The body parses under `schema` and parsing dropped nothing (zod objects strip unknown keys). */
function exactly(schema: z.ZodType, body: unknown, what: string): void {
  const r = schema.safeParse(body);
  assert.ok(r.success, `${what}: ${r.success ? '' : JSON.stringify(r.error.issues.slice(0, 3))}`);
  assert.deepEqual(r.data, body, `${what}: the body has members its schema does not document`);
}

describe('documented responses', () => {
  test('every 2xx JSON response in /openapi.json has a schema', async () => {
    const doc = (await t.get('/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>> };
    const missing: string[] = [];
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, resp] of Object.entries(op.responses)) {
          if (!status.startsWith('2') || status === '204') continue;
          const json = resp.content?.['application/json'];
          if (!resp.content || (json && !json.schema)) missing.push(`${method.toUpperCase()} ${p} ${status}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  test('assent, EULA, key and API-key responses match their schemas exactly', async () => {
    const rec = ev.records[0]!;
    exactly(assentJson.AssentJson, rec.response, 'POST /v1/acceptances');
    exactly(assentJson.AssentJson, (await t.get(`/v1/acceptances/${rec.id}`, 'investigator')).body, 'GET /v1/acceptances/:id');
    exactly(assentJson.ReceiptJson, (await t.get(`/v1/acceptances/${rec.id}/receipt`, 'investigator')).body, 'GET receipt');
    exactly(assentJson.StatusJson, (await t.get(`/v1/subjects/${ev.subject}/status?slug=${ev.slug}`, 'signup')).body, 'GET status');
    exactly(assentJson.RecordListJson, (await t.get(`/v1/subjects/${ev.subject}/records`, 'investigator')).body, 'GET records');
    exactly(assentJson.KeyListJson, (await t.get(`/v1/subjects/${ev.subject}/watermark-keys`, 'investigator')).body, 'GET keys');
    const rot = await t.post(`/v1/subjects/${ev.subject}/watermark-keys/rotate`, 'admin').send({ reason: 'schema check' });
    assert.equal(rot.status, 201, rot.text);
    exactly(assentJson.RotatedJson, rot.body, 'POST rotate');
    exactly(assentJson.CurrentEulaJson, (await t.get(`/v1/eulas/${ev.slug}/current`, 'signup')).body, 'GET current');
    exactly(assentJson.EulaHistoryJson, (await t.get(`/v1/eulas/${ev.slug}/versions`, 'signup')).body, 'GET versions');
    exactly(assentJson.EulaJson, (await t.get(`/v1/eulas/${ev.slug}/versions/${ev.eulas[0]!.version}`, 'signup')).body, 'GET version');
    const key = await t.post('/v1/api-keys', 'admin').send({ role: 'counsel', name: 'schema check' });
    exactly(assentJson.NewApiKeyJson, key.body, 'POST /v1/api-keys');
    exactly(assentJson.ApiKeyListJson, (await t.get('/v1/api-keys', 'admin')).body, 'GET /v1/api-keys');
  });

  test('gateway, verification and plan responses match their schemas exactly', async () => {
    const d = await t.post('/v1/watermark/decide', 'gateway').send({ items: [{ subject: ev.subject, input_sha256: 'b'.repeat(64), label: 1, num_classes: 10, probs: [0.1, 0.9, 0, 0, 0, 0, 0, 0, 0, 0] }, { subject: 'nobody-here', input_sha256: 'c'.repeat(64), label: 0, num_classes: 3 }] });
    exactly(DecideJson, d.body, 'POST decide');
    const v = ev.verifications[0]!;
    exactly(detectionJson.VerificationJson, (await t.get(`/v1/verifications/${v.id}`, 'investigator')).body, 'GET verification');
    exactly(detectionJson.VerificationListJson, (await t.get(`/v1/subjects/${ev.subject}/verifications`, 'investigator')).body, 'GET verifications');
    const pre = ev.verifications.find((x) => x.planId)!;
    exactly(detectionJson.PlanJson, (await t.get(`/v1/verification-plans/${pre.planId}`, 'investigator')).body, 'GET plan');
    const plan = await t.post('/v1/verification-plans', 'investigator').send({ case_ref: 'SCHEMA', subjects: [ev.subject], samples: [{ input_sha256: 'd'.repeat(64), owner_label: 1, num_classes: 10 }] });
    assert.equal(plan.status, 201, plan.text);
    exactly(detectionJson.RecordedPlanJson, plan.body, 'POST plan');
  });

  test('dossier and ledger responses match their schemas exactly', async () => {
    const issued = await t.post('/v1/dossiers', 'investigator').send({ subject: ev.subject, case_ref: 'SCHEMA', requested_by: 'Investigator', prepared_for: { name: 'Counsel', firm: 'Firm' } });
    assert.equal(issued.status, 201, issued.text);
    exactly(dossierJson.IssuedDossierJson, issued.body, 'POST dossiers');
    exactly(dossierJson.DossierJson, (await t.get(`/v1/dossiers/${issued.body.id}`, 'counsel')).body, 'GET dossier');
    exactly(dossierJson.DossierListJson, (await t.get(`/v1/subjects/${ev.subject}/dossiers`, 'counsel')).body, 'GET dossiers');
    exactly(ledgerJson.KeysJson, (await t.get('/.well-known/assentmark/keys.json')).body, 'GET keys.json');
    exactly(ledgerJson.CheckpointJson, (await t.get('/v1/ledger/checkpoints/latest')).body, 'GET checkpoint');
  });

  test('admin ledger responses match their schemas exactly', async () => {
    const started = await t.post('/v1/admin/ledger/verifications', 'admin');
    assert.equal(started.status, 202, started.text);
    exactly(adminJson.LedgerVerificationJson, started.body, 'POST verifications');
    exactly(adminJson.LedgerStatusJson, (await t.get('/v1/admin/ledger/status', 'admin')).body, 'GET status (running)');
    let job = started.body as { state: string };
    while (job.state === 'running') job = (await t.get(started.headers.location!, 'admin')).body as { state: string };
    exactly(adminJson.LedgerVerificationJson, job, 'GET verification (finished)');
    exactly(adminJson.LedgerStatusJson, (await t.get('/v1/admin/ledger/status', 'admin')).body, 'GET status (finished)');
  });
});
