// Section 6A of the dossier: a subject's LLM (text watermark) verifications. A student distilled
// from the subject's marked answers (detected, pre-registered) and one trained on clean text (not
// detected) are recorded over HTTP; the dossier issued for the subject is read back with pdfjs:
// the figures printed are the recorded events', the power tables equal an independent exact
// recomputation, the limits are stated, the cited llm_* entries are in the evidence bundle, and
// `assentmark dossier verify` passes with no database. Set LLM_DOSSIER_OUT to keep the PDF.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { extractAttachments } from '../src/pdf/verify.js';
import { GreenList } from '../src/llm-watermark/scheme.js';
import { CLI_MAIN, useTestApp } from './helpers/app.js';
import { randomPrompts, Student, teacherSample, teacherWorld } from './helpers/llm-sim.js';
import { bareEnv } from './helpers/recipe.js';
import { binary, run } from './helpers/tools.js';

type Json = Record<string, any>;
const VOCAB = 100;
const suspect = { name: 'ParrotLM', version: '0.3', observed_at: 'https://api.parrot.example/v1/chat' };
const t = useTestApp({ setup });
let work = '';
let pdf: Buffer;
let text = '';
let detected: Json;
let clean: Json;
let issued: Json;

async function setup(): Promise<void> {
  work = mkdtempSync(path.join(tmpdir(), 'assentmark-dossier-llm-'));
  await t.publishEula();
  for (const subject of ['thief', 'alice']) assert.equal((await t.accept({ subject })).status, 201);
  const set = await t.post('/v1/llm-watermark/parameter-sets', 'admin').send({ tokenizer: { name: 'synthetic', revision: '1' }, vocab_size: VOCAB });
  assert.equal(set.status, 201, set.text);
  const psid = set.body.id as string;
  const keys = await t.post('/v1/llm-watermark/keys', 'gateway').send({ parameter_set_id: psid, subjects: ['thief'] });
  const green = new GreenList(Buffer.from(keys.body.results[0].key_hex, 'hex'), set.body.params);
  const world = teacherWorld(VOCAB, 10, 31);
  const trainPrompts = randomPrompts(VOCAB, 300, 2, 32);
  const marked = teacherSample(world, trainPrompts, 500, 33, { green, delta: set.body.params.delta });
  const unmarked = teacherSample(world, trainPrompts, 500, 34);
  const prompts = randomPrompts(VOCAB, 40, 2, 35);
  // Pre-registered: the prompts are committed before the distilled student's outputs exist.
  const plan = await t.post('/v1/llm-verification-plans', 'investigator').send({ case_ref: 'CASE-LLM-D', parameter_set_id: psid, subjects: ['thief', 'alice'], prompts, subjects_screened: 12 });
  assert.equal(plan.status, 201, plan.text);
  const a = await t.post('/v1/llm-verifications', 'investigator').send({ case_ref: 'CASE-LLM-D', suspect, plan_id: plan.body.id, outputs: new Student(VOCAB).train(marked).generate(prompts, 500, 36) });
  assert.equal(a.status, 201, a.text);
  const b = await t.post('/v1/llm-verifications', 'investigator').send({ case_ref: 'CASE-LLM-D', suspect: { ...suspect, version: '0.4' }, parameter_set_id: psid, subjects: ['thief'], prompts, outputs: new Student(VOCAB).train(unmarked).generate(prompts, 500, 37) });
  assert.equal(b.status, 201, b.text);
  const outcome = async (id: string) => (await t.get(`/v1/llm-verifications/${id}`, 'investigator')).body as Json;
  detected = await outcome(a.body.results[0].id);
  clean = await outcome(b.body.results[0].id);
  assert.equal(detected.outcome.decision, 'detected');
  assert.equal(clean.outcome.decision, 'not_detected');
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject: 'thief', case_ref: 'CASE-LLM-D', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  assert.equal(res.status, 201, res.text);
  issued = res.body as Json;
  const got = await t.get(`/v1/dossiers/${issued.id}/pdf`, 'counsel').buffer(true).parse(binary as never);
  assert.equal(got.status, 200);
  pdf = got.body as Buffer;
  writeFileSync(path.join(work, 'dossier.pdf'), pdf);
  if (process.env.LLM_DOSSIER_OUT) writeFileSync(process.env.LLM_DOSSIER_OUT, pdf);
  text = await pdfText(pdf);
}

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The page texts joined, as pdfjs-dist reads them (the footer and the DRAFT mark included: harmless here). */
async function pdfText(bytes: Buffer): Promise<string> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, isEvalSupported: false, disableFontFace: true, verbosity: 0 }).promise;
  try {
    let all = '';
    for (let p = 1; p <= doc.numPages; p++) {
      const tc = await (await doc.getPage(p)).getTextContent();
      for (const it of tc.items as Array<{ str?: string; hasEOL?: boolean }>) if (typeof it.str === 'string') all += it.str + (it.hasEOL ? '\n' : ' ');
      all += '\n';
    }
    return all.replace(/[ \t]+/g, ' ');
  } finally {
    await doc.destroy();
  }
}

/** The text of one verification's subsection (its heading up to the next level-2 heading's start). */
function subsection(version: string): string {
  const start = text.search(new RegExp(`Verification \\d+: ParrotLM ${version.replace('.', '\\.')} \\(text watermark\\)\\s*Verification `));
  assert.ok(start >= 0, `no subsection for ParrotLM ${version}`);
  const end = text.indexOf('Verification ', start + 60 + text.slice(start + 60).search(/Verification \d+: |What the test shows/));
  return text.slice(start, end > start ? end : undefined);
}

const num = (s: string): number => Number(s.replace(/,/g, ''));
const SUP: Record<string, string> = { '⁻': '-', '⁰': '0', '¹': '1', '²': '2', '³': '3', '⁴': '4', '⁵': '5', '⁶': '6', '⁷': '7', '⁸': '8', '⁹': '9' };

/** A printed probability ("0.0312", "5.33 × 10⁻¹⁴¹") back to log10. */
function printedLog10(s: string): number {
  const m = /^([\d.]+) × 10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)$/.exec(s.trim());
  if (m) return Math.log10(Number(m[1])) + Number([...m[2]!].map((c) => SUP[c]).join(''));
  return Math.log10(Number(s));
}

function field(section: string, key: string, value?: string): string {
  const m = new RegExp(`(?:^|\\n) ?${key} +${value ?? '([^\\n]+?)\\s*(?:\\n|$)'}`).exec(section);
  assert.ok(m, `no "${key}" in:\n${section}`);
  return m[1]!.trim();
}

// ---- an independent exact binomial tail (log-factorials by summation), for the power tables ----
const lf: number[] = [0];
function logFact(n: number): number {
  for (let k = lf.length; k <= n; k++) lf[k] = lf[k - 1]! + Math.log(k);
  return lf[n]!;
}
function logTail(n: number, g: number, p: number): number {
  if (g <= 0) return 0;
  if (g > n) return -Infinity;
  const term = (j: number) => logFact(n) - logFact(j) - logFact(n - j) + j * Math.log(p) + (n - j) * Math.log1p(-p);
  const top = term(g);
  let sum = 0;
  for (let j = g; j <= n; j++) {
    const r = Math.exp(term(j) - top);
    sum += r;
    if (r < 1e-18 && j > n * p) break;
  }
  return top + Math.log(sum);
}
const reaches = (n: number, rate: number, p0: number, target: number) => logTail(n, Math.ceil(rate * n), p0) < Math.log(target);

describe('section 6A, read back with pdfjs', () => {
  test('both verifications are printed with the recorded figures: n, g, expected, p, N, corrected p, odds, decision', () => {
    for (const [rec, version] of [[detected, '0.3'], [clean, '0.4']] as const) {
      const s = rec.outcome.statistic;
      const sec = subsection(version);
      assert.equal(field(sec, 'Verification', '([0-9a-f-]{36})'), rec.id);
      assert.equal(field(sec, 'Subject tested'), 'thief');
      assert.equal(num(field(sec, 'Distinct scored tuples n')), s.n);
      assert.equal(num(field(sec, 'Green tuples g', '([\\d,]+)')), s.green);
      assert.equal(num(field(sec, 'Expected with no watermark', 'about ([\\d,]+)')), Math.round(s.p0 * s.n));
      assert.ok(Math.abs(printedLog10(field(sec, 'p-value')) - s.log10_p_value) < 0.005, `p-value ${field(sec, 'p-value')} vs recorded 10^${s.log10_p_value}`);
      assert.equal(num(field(sec, 'Subjects screened N')), s.subjects_screened);
      assert.ok(Math.abs(printedLog10(field(sec, 'Corrected p-value N·p')) - s.log10_p_adjusted) < 0.005);
      assert.equal(num(field(sec, 'Tuples left out', '([\\d,]+) whose context')), s.prompt_windows_dropped);
      assert.match(sec, new RegExp(`Parameter set id\\s+${rec.outcome.parameter_set_id}`));
      assert.match(sec, new RegExp(`Outputs digest\\s+${rec.outcome.outputs_sha256}`));
      assert.match(sec, new RegExp(`Prompts digest\\s+${rec.outcome.prompts_sha256}`));
    }
    const d = subsection('0.3');
    const odds = /about 1 in 10([⁰¹²³⁴⁵⁶⁷⁸⁹]+)/.exec(field(d, 'In plain odds'));
    assert.ok(odds, field(d, 'In plain odds'));
    assert.equal(Number([...odds[1]!].map((c) => SUP[c]).join('')), Math.floor(-detected.outcome.statistic.log10_p_adjusted));
    assert.match(field(d, 'Decision'), /^DETECTED: /);
    assert.match(d.replace(/\s+/g, ' '), /Pre-registered\s+yes: the 40 prompts were committed in ledger entry \d+/);
    assert.match(d.replace(/\s+/g, ' '), /green share gamma = 0\.25, bias delta = 2, tokenizer synthetic revision 1, 100 token ids/);
    const c = subsection('0.4');
    assert.match(field(c, 'Decision'), /^NOT DETECTED: /);
    assert.match(c, /Pre-registered\s+no: /);
  });

  test('each power table equals an independent exact recomputation, for p < 10⁻⁶ and for the test\'s own corrected alpha', () => {
    for (const [rec, version] of [[detected, '0.3'], [clean, '0.4']] as const) {
      const s = rec.outcome.statistic;
      const rows = [...subsection(version).matchAll(/(\d\d\.\d)%\s+([\d,]+)\s+([\d,]+)/g)].map((m) => [Number(m[1]) / 100, num(m[2]!), num(m[3]!)] as const);
      assert.deepEqual(rows.map((r) => r[0]), [0.26, 0.28, 0.3, 0.32, 0.34, 0.36, 0.38, 0.4]);
      for (const [rate, forP, forAlpha] of rows) {
        // The fewest tuples at which the test first reaches the target, from below.
        assert.ok(reaches(forP, rate, s.p0, 1e-6) && !reaches(forP - 1, rate, s.p0, 1e-6), `rate ${rate}: ${forP} tuples for p < 1e-6`);
        assert.ok(reaches(forAlpha, rate, s.p0, s.alpha / s.subjects_screened) && !reaches(forAlpha - 1, rate, s.p0, s.alpha / s.subjects_screened), `rate ${rate}: ${forAlpha} tuples for alpha/N`);
      }
      // The table the event recorded agrees with the one printed.
      assert.deepEqual(s.power.map((r: Json) => r.tuples_needed), rows.map((r) => r[1]));
    }
  });

  test('the summary, the limits and the method are stated in plain words', () => {
    const flat = text.replace(/\s+/g, ' ');
    assert.match(flat, /2 language-model verifications, 1 detecting the subject's text watermark \(section 6A\)/);
    assert.doesNotMatch(flat, /No verification of a suspect model is included/, 'the summary does not deny the verifications it lists');
    assert.match(flat, /Verifications included 2 /);
    assert.match(flat, /6A\. Verification of a suspect language model/);
    assert.match(flat, /A negative result proves nothing/);
    assert.match(flat, /Pan et al\., 2025/);
    assert.match(flat, /The p-value assumes that/);
    assert.match(flat, /No verification of a suspect classifier is included in this dossier; the language-model verifications are in section 6A\./);
  });
});

describe('evidence', () => {
  test('the outcomes, the plan and the parameter set are cited entries of the bundle, and dossier.issued names both verifications', async () => {
    const files = await extractAttachments(pdf);
    const bundle = JSON.parse(files.get('evidence-bundle.json')!.toString('utf8')) as Json;
    const types = new Map((bundle.entries as Json[]).map((e) => [e.seq, e.event_type]));
    assert.equal(types.get(detected.ledger.seq), 'llm_verification.recorded');
    assert.equal(types.get(clean.ledger.seq), 'llm_verification.recorded');
    const counted = [...types.values()];
    assert.equal(counted.filter((x) => x === 'llm_verification.recorded').length, 2);
    assert.equal(counted.filter((x) => x === 'llm_verification.planned').length, 1);
    assert.equal(counted.filter((x) => x === 'llm_watermark.parameter_set_registered').length, 1);
    for (const e of bundle.entries as Json[]) assert.ok(Array.isArray(e.inclusion.audit_path) && e.inclusion.leaf_index === e.seq - 1, `entry ${e.seq} has an inclusion proof`);
    assert.deepEqual([...issued.verification_ids].sort(), [detected.id, clean.id].sort());
  });

  test('assentmark dossier verify passes with no database', () => {
    writeFileSync(path.join(work, 'trusted.pem'), t.ctx.ledger.signingKey.publicKeyPem());
    const data = mkdtempSync(path.join(work, 'empty-data-'));
    const r = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--public-key', 'trusted.pem'], { cwd: work, env: bareEnv(data) });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /^FAIL/m);
  });
});
