// Evidence that scales, on a real PostgreSQL server, through the real service over HTTP:
//  (a) a dossier for one subject who accepted early (one EULA, the acceptance, then bulk-filled
//      correctly chained entries with their Merkle tiles), at ledger sizes BENCH_SCALE_SIZES
//      (1000,100000,1000000): PDF size and POST /v1/dossiers time (median of 3). Target: at 1M within
//      20% of the 1k figures, and under 1 s;
//  (b) inclusion proofs served per second (GET /v1/ledger/proofs/inclusion, random entries, 16
//      concurrent clients) at the largest size.
// Bulk fill: fillLedger (common.ts).
//
//   npm run build && node dist/bench/scale.js
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { sha256Hex } from '../src/crypto/hash.js';
import { prepareEvent } from '../src/ledger/format.js';
import { fillLedger, freshDatabase, percentile, report, startService } from './common.js';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '1000,100000,1000000').split(',').map(Number);
const EULA = 'Scale Terms\n\n1. You must not use outputs to train a competing model.\n';

async function post(url: string, token: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

const fill = (owner: pg.Pool, target: number) =>
  fillLedger(owner, target, (seq) => prepareEvent('acceptance.recorded', { subject: `filler-${seq}`, eula: { slug: 'other', version: '1.0' }, method: 'checkbox', n: seq }, { id: randomUUID() }));

export async function benchScale(): Promise<void> {
  const db = await freshDatabase('assentmark_scale');
  const svc = await startService(db.url);
  const owner = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    const admin = (await svc.built.services.apiKeys.create('admin', 'bench')).token;
    const signup = (await svc.built.services.apiKeys.create('signup', 'bench')).token;
    const investigator = (await svc.built.services.apiKeys.create('investigator', 'bench')).token;
    const pub = await post(`${svc.baseUrl}/v1/eulas`, admin, { slug: 'scale-terms', version: '1.0', title: 'Scale', text: EULA, effective_at: '2026-01-01T00:00:00Z', major: true });
    if (pub.status !== 201) throw new Error(`publish failed: ${JSON.stringify(pub.json)}`);
    const acc = await post(`${svc.baseUrl}/v1/acceptances`, signup, {
      subject: 'early-subject', slug: 'scale-terms', version: '1.0', shown_text_sha256: sha256Hex(Buffer.from(EULA, 'utf8')), consent_text: 'I agree', button_text: 'OK',
      page_url: 'https://example.org/signup', locale: 'en-GB', client_time: '2026-11-29T12:00:00Z', ip: '203.0.113.7', user_agent: 'bench', auth: { method: 'password', session_id: 's', mfa: false }, method: 'checkbox',
    }, { 'Idempotency-Key': randomUUID() });
    if (acc.status !== 201) throw new Error(`accept failed: ${JSON.stringify(acc.json)}`);
    const figures: Array<{ size: number; bytes: number; ms: number }> = [];
    for (const size of SIZES) {
      const t0 = performance.now();
      await fill(owner, size);
      console.log(`# scale: filled to ${size} entries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const runs: Array<{ ms: number; bytes: number }> = [];
      for (let i = 0; i < 3; i++) {
        const s0 = performance.now();
        const r = await post(`${svc.baseUrl}/v1/dossiers`, investigator, { subject: 'early-subject', case_ref: `SCALE-${size}-${i}`, requested_by: 'bench', prepared_for: { name: 'Counsel', firm: 'Firm' } });
        const ms = performance.now() - s0;
        if (r.status !== 201) throw new Error(`dossier failed at ${size}: ${JSON.stringify(r.json)}`);
        const pdf = await fetch(`${svc.baseUrl}${(r.json.links as { pdf: string }).pdf}`, { headers: { authorization: `Bearer ${investigator}` } });
        runs.push({ ms, bytes: (await pdf.arrayBuffer()).byteLength });
      }
      const ms = percentile(runs.map((x) => x.ms).sort((a, b) => a - b), 50);
      const bytes = runs.at(-1)!.bytes;
      figures.push({ size, bytes, ms });
      const base = figures[0]!;
      report(`scale.dossier.bytes.at_${size}`, bytes, 'bytes', { baseline: base.bytes, ratio: bytes / base.bytes, target: 'ratio<=1.2 at 1M' });
      report(`scale.dossier.issue_ms.at_${size}`, ms, 'ms', { baseline: base.ms, ratio: ms / base.ms, target: '<=1000 and ratio<=1.2 at 1M' });
    }
    // (b) inclusion proofs served per second at the largest size.
    const size = SIZES.at(-1)!;
    await svc.ctx.ledger.checkpoint();
    const t0 = performance.now();
    let served = 0;
    const until = t0 + 5000;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        const seq = 1 + Math.floor(Math.random() * size);
        const res = await fetch(`${svc.baseUrl}/v1/ledger/proofs/inclusion?seq=${seq}`);
        if (res.status !== 200) throw new Error(`proof failed: ${res.status}`);
        await res.arrayBuffer();
        served++;
      }
    }));
    report('scale.inclusion_proofs.throughput', served / ((performance.now() - t0) / 1000), 'proofs/s');
  } finally {
    await owner.end();
    await svc.close();
    await db.drop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchScale();
