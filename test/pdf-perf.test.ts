/**
 * Performance budget of the PDF machinery (warm process, as in a running server):
 * a ~10-page dossier renders and signs in well under 300 ms, a ~200-page one under 3 s.
 * Measured figures are printed as test diagnostics; budgets are checked on the best run.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateSigningIdentity, type SigningIdentity } from '../src/pdf/certificate.js';
import { warmUpPdfEngine } from '../src/pdf/document.js';
import { signPdf } from '../src/pdf/sign.js';
import { verifyPdfSignature } from '../src/pdf/verify.js';
import { renderSample } from './fixtures/pdf/sample.js';

let identity: SigningIdentity;
let warmUpMs = 0;

before(async () => {
  identity = await generateSigningIdentity({ notBefore: new Date('2024-01-01T00:00:00Z') });
  const t = performance.now();
  await warmUpPdfEngine();
  warmUpMs = performance.now() - t;
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

async function measure(
  sections: number,
  runs: number,
): Promise<{ render: number; sign: number; verify: number; total: number; best: number; pages: number; bytes: number }> {
  const r: number[] = [];
  const s: number[] = [];
  const v: number[] = [];
  let pages = 0;
  let bytes = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const { pdf } = await renderSample({ sections });
    const t1 = performance.now();
    const signed = await signPdf(pdf, identity);
    const t2 = performance.now();
    const res = verifyPdfSignature(signed);
    const t3 = performance.now();
    assert.equal(res.ok, true, res.reason);
    r.push(t1 - t0);
    s.push(t2 - t1);
    v.push(t3 - t2);
    pages = (signed.toString('latin1').match(/\/Type \/Page\n/g) ?? []).length;
    bytes = signed.length;
  }
  const totals = r.map((x, i) => x + (s[i] ?? 0));
  return { render: median(r), sign: median(s), verify: median(v), total: median(totals), best: Math.min(...totals), pages, bytes };
}

test('~10-page dossier: render + sign well under 300 ms (warm)', async (t) => {
  await measure(5, 2); // first real document also pays for shaping its vocabulary
  const m = await measure(5, 7);
  t.diagnostic(`warmUpPdfEngine() took ${warmUpMs.toFixed(0)} ms`);
  t.diagnostic(`${m.pages} pages, ${m.bytes} bytes: render ${m.render.toFixed(1)} ms, sign ${m.sign.toFixed(1)} ms, verify ${m.verify.toFixed(1)} ms (medians); best render+sign ${m.best.toFixed(1)} ms`);
  assert.ok(m.pages >= 9 && m.pages <= 12, `sample has ${m.pages} pages`);
  // Budget checked on the best run: the runner may execute another test file on the other
  // core meanwhile, which inflates medians but rarely every run.
  assert.ok(m.best < 300, `render+sign took ${m.best.toFixed(1)} ms (best of 7; median ${m.total.toFixed(1)} ms)`);
});

test('~200-page dossier: render + sign under 3 s (warm)', async (t) => {
  // Best of 3: the test runner may run another test file on the other core meanwhile.
  const m = await measure(195, 3);
  t.diagnostic(`${m.pages} pages, ${m.bytes} bytes: render ${m.render.toFixed(1)} ms, sign ${m.sign.toFixed(1)} ms, verify ${m.verify.toFixed(1)} ms (medians); best render+sign ${m.best.toFixed(1)} ms`);
  assert.ok(m.pages >= 190, `sample has ${m.pages} pages`);
  assert.ok(m.best < 3000, `render+sign took ${m.best.toFixed(1)} ms (best of 3)`);
});
