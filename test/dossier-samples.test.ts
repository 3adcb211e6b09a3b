// The sample lists a dossier attaches as CSV (one per verification, one per plan), read back from
// the issued PDF with pdfjs-dist: each is a lettered exhibit, n and m counted from the file equal
// the printed ones and the recorded statistic, the doc's Python script (run verbatim) rebuilds the
// samples digest of the ledger event from it, and `assentmark dossier verify` fails a changed CSV
// even in a PDF that is signed again. Python 3 and Poppler are required.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { evidenceSources } from '../src/app/services.js';
import { gatherDossier } from '../src/dossier/gather.js';
import { RenderPool } from '../src/dossier/render-pool.js';
import { loadPdfIdentity } from '../src/keys/pdf-identity.js';
import { packageRoot } from '../src/util/paths.js';
import { CLI_MAIN, useTestApp } from './helpers/app.js';
import { buildEvidence, supertestHttp, type Evidence } from './helpers/evidence.js';
import { bareEnv, docBlock } from './helpers/recipe.js';
import { binary, run } from './helpers/tools.js';

type Json = Record<string, any>;

const CASE_REF = 'CASE-2026-0091';
const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const norm = (s: string): string => s.replace(/\s+/g, ' ');
const compact = (s: string): string => s.replace(/\s+/g, '');

interface Read {
  text: string;
  files: Map<string, { description: string; content: Buffer }>;
  /** Per page: its height and the lowest baseline of its body text (above the footer), in points from the bottom. */
  pages: Array<{ height: number; lowest: number }>;
}

async function readPdf(pdf: Buffer): Promise<Read> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({ data: new Uint8Array(pdf), useSystemFonts: false, isEvalSupported: false, disableFontFace: true, verbosity: 0 }).promise;
  try {
    let text = '';
    const pages: Read['pages'] = [];
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p);
      const tc = await page.getTextContent();
      let lowest = Infinity;
      for (const it of tc.items as Array<{ str?: string; hasEOL?: boolean; transform?: number[] }>) {
        if (typeof it.str !== 'string') continue;
        text += it.str + (it.hasEOL ? '\n' : '');
        const y = it.transform?.[5] ?? 100;
        if (it.str.trim() && y >= 60) lowest = Math.min(lowest, y);
      }
      pages.push({ height: page.getViewport({ scale: 1 }).height, lowest });
    }
    const raw = ((await doc.getAttachments()) ?? {}) as Record<string, { filename: string; description?: string; content: Uint8Array }>;
    return { text, pages, files: new Map(Object.values(raw).map((f) => [f.filename, { description: f.description ?? '', content: Buffer.from(f.content) }])) };
  } finally {
    await doc.destroy();
  }
}

/** n and m counted from a verification CSV here, by its documented columns (not the service's reader). */
function countCsv(csv: string): { rows: number; n: number; m: number } {
  const [header, ...rows] = csv.trimEnd().split('\n');
  const col: Record<string, number> = Object.fromEntries(header!.split(',').map((c, i) => [c, i]));
  let n = 0;
  let m = 0;
  const seen = new Set<string>();
  for (const line of rows) {
    const r = line.split(',');
    const input = r[col.input_sha256!]!;
    if (!seen.has(input) && r[col.watermarked!] === '1') {
      n++;
      if (r[col.suspect_label!] === r[col.watermark_label!]) m++;
    }
    seen.add(input);
  }
  return { rows: rows.length, n, m };
}

const t = useTestApp({ setup });
let ev: Evidence;
let pdf: Buffer;
let read: Read;
let work: string;
let script: string;
const outcomes = new Map<string, Json>();

async function setup(): Promise<void> {
  work = mkdtempSync(path.join(tmpdir(), 'assentmark-dossier-samples-'));
  // A stolen model (detected), a pre-registered test (detected) and an independent model (not detected).
  ev = await buildEvidence(supertestHttp(() => t.app, t.tokens), { acceptances: 1, verifications: 3, decideQueries: 6000, caseRef: CASE_REF });
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject: ev.subject, case_ref: CASE_REF, requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  assert.equal(res.status, 201, res.text);
  pdf = (await t.get(`/v1/dossiers/${(res.body as Json).id}/pdf`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
  read = await readPdf(pdf);
  for (const v of ev.verifications) {
    const r = await t.get(`/v1/verifications/${v.id}`, 'investigator');
    assert.equal(r.status, 200, r.text);
    outcomes.set(v.id, r.body as Json);
  }
  script = path.join(work, 'samples.py');
  const b = docBlock('dossier-samples');
  assert.equal(b.lang, 'python');
  writeFileSync(script, b.code);
}

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The printed value of a key/value row of the verification whose id is printed first. */
function printed(verificationId: string, key: string): string {
  const text = norm(read.text);
  const at = text.indexOf(`Verification ${verificationId}`);
  assert.ok(at >= 0, `the PDF does not print verification ${verificationId}`);
  const m = new RegExp(`${key} (\\S+)`).exec(text.slice(at));
  assert.ok(m, `no "${key}" after verification ${verificationId}`);
  return m[1]!;
}

describe('a dossier of 1 acceptance and 3 verifications', () => {
  test('has no mostly blank page: every page but the last is filled below its middle', () => {
    assert.ok(read.pages.length >= 8, `${read.pages.length} pages`);
    read.pages.slice(0, -1).forEach((p, i) => assert.ok(p.lowest < p.height / 2, `page ${i + 1} of ${read.pages.length} ends ${Math.round(p.height - p.lowest)} pt from its top (of ${p.height})`));
  });
});

describe('sample lists attached as CSV', () => {
  test('one CSV per verification and one per plan, each a lettered exhibit the verification names with its SHA-256', () => {
    assert.equal(ev.verifications.length, 3);
    const plans = ev.verifications.filter((v) => v.planId);
    assert.equal(plans.length, 1, 'one pre-registered verification');
    const names = [...ev.verifications.map((v) => `samples-verification-${v.id}.csv`), ...plans.map((v) => `samples-plan-${v.planId}.csv`)];
    const flat = compact(read.text);
    for (const name of names) {
      const f = read.files.get(name);
      assert.ok(f, `no attachment ${name}; attached: ${[...read.files.keys()].join(', ')}`);
      const letter = /^Exhibit ([A-Z]+): /.exec(f.description)?.[1];
      assert.ok(letter, f.description);
      // The exhibit index and the verification section both name the file by this letter.
      assert.ok(flat.includes(compact(`Exhibit ${letter} (${name})`)), `the text never says "Exhibit ${letter} (${name})"`);
      assert.ok(flat.includes(compact(`${letter}${name}`)), `the exhibit index lacks ${letter} ${name}`);
      assert.ok(flat.includes(sha256(f.content)), `the PDF does not state the SHA-256 of ${name}`);
    }
  });

  test('n and m counted from each attached CSV equal the printed ones and the recorded statistic', () => {
    for (const v of ev.verifications) {
      const f = read.files.get(`samples-verification-${v.id}.csv`)!;
      const c = countCsv(f.content.toString('ascii'));
      const st = outcomes.get(v.id)!.outcome?.statistic ?? outcomes.get(v.id)!.statistic;
      assert.ok(st, JSON.stringify(outcomes.get(v.id)).slice(0, 400));
      assert.equal(c.rows, st.samples_submitted);
      assert.equal(c.n, st.n, `${v.kind}: n`);
      assert.equal(c.m, st.m, `${v.kind}: m`);
      assert.ok(c.n > 0);
      assert.equal(printed(v.id, 'Watermarked inputs n'), String(c.n));
      assert.equal(printed(v.id, 'Matches m'), String(c.m));
    }
  });

  test("the doc's Python script, run verbatim on each CSV, gives its SHA-256, the event's samples digest, n and m", () => {
    for (const v of ev.verifications) {
      const o = outcomes.get(v.id)!;
      const data = o.outcome ?? o;
      const name = `samples-verification-${v.id}.csv`;
      const file = path.join(work, name);
      writeFileSync(file, read.files.get(name)!.content);
      const r = run('python3', [script, file]);
      assert.equal(r.status, 0, r.out);
      assert.equal(r.stdout, `file SHA-256 ${sha256(read.files.get(name)!.content)}\nsamples digest ${data.samples_digest}\nn ${data.statistic.n} m ${data.statistic.m}\n`);
      if (v.planId) {
        const plan = `samples-plan-${v.planId}.csv`;
        const pf = path.join(work, plan);
        writeFileSync(pf, read.files.get(plan)!.content);
        const p = run('python3', [script, pf]);
        assert.equal(p.status, 0, p.out);
        assert.equal(p.stdout.split('\n')[1], `samples digest ${data.plan.samples_digest}`);
        assert.ok(norm(read.text).includes(data.plan.samples_digest.slice(0, 32)));
      }
    }
    // A changed sample changes the digest.
    const name = `samples-verification-${ev.verifications[0]!.id}.csv`;
    const bad = read.files.get(name)!.content.toString('ascii').replace(/\n(\d+),([0-9a-f])/, (_, i: string, c: string) => `\n${i},${c === 'a' ? 'b' : 'a'}`);
    writeFileSync(path.join(work, 'bad.csv'), bad);
    const r = run('python3', [script, path.join(work, 'bad.csv')]);
    assert.equal(r.status, 0, r.out);
    assert.notEqual(r.stdout.split('\n')[1], `samples digest ${(outcomes.get(ev.verifications[0]!.id)!.outcome ?? outcomes.get(ev.verifications[0]!.id)!).samples_digest}`);
  });

  test("the PDF's how-to page prints the doc's script line for line", () => {
    const tpl = readFileSync(path.join(packageRoot(), 'templates', 'dossier', '09-how-to-verify.hbs'), 'utf8');
    assert.ok(tpl.includes('```\n' + docBlock('dossier-samples').code + '```'), 'the template and the doc give the same script');
    for (const line of docBlock('dossier-samples').code.trim().split('\n')) assert.ok(read.text.includes(line.trim()), `the PDF lacks: ${line}`);
  });

  test('`assentmark dossier verify` checks each CSV against the digests, and fails a changed CSV byte', async () => {
    const dir = path.join(work, 'cli');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'dossier.pdf'), pdf);
    const verify = (d: string) => run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf'], { cwd: d, env: bareEnv(mkdtempSync(path.join(d, 'data-'))) });
    const ok = verify(dir);
    assert.equal(ok.status, 0, ok.out);
    for (const v of ev.verifications) assert.match(ok.stdout, new RegExp(`^ok\\s+exhibit samples-verification-${v.id}\\.csv: \\d+ samples; samples digest [0-9a-f]{64} as recorded; n = \\d+, m = \\d+ as recorded`, 'm'));
    assert.match(ok.stdout, /^ok\s+exhibit samples-plan-/m);

    // A forger who changes one byte of a CSV and signs the PDF again: only the CSV check fails.
    const identity = await loadPdfIdentity(t.config);
    const pool = new RenderPool(identity, 1);
    try {
      const { model } = await gatherDossier(evidenceSources(t.ctx, t.built.services.eulas, t.built.services.pseudonyms), identity, {
        dossierId: '00000000-0000-4000-8000-00000000c5c5', subject: ev.subject, caseRef: CASE_REF, requestedBy: 'A Forger',
        preparedFor: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' }, issuedAt: new Date(Math.floor(Date.now() / 1000) * 1000),
        organisation: '', certifierName: '', certifierTitle: '',
      });
      const name = `samples-verification-${ev.verifications[0]!.id}.csv`;
      model.attachments = model.attachments.map((a) => {
        if (a.name !== name) return a;
        const b = Buffer.from(a.dataBase64, 'base64');
        // The suspect label of the first unmarked row: one digit changed.
        const text = b.toString('ascii');
        const row = text.lastIndexOf('\n', text.search(/,0,0,,\n/)) + 1;
        const fields = text.slice(row, text.indexOf('\n', row)).split(',');
        const at = row + fields.slice(0, 3).join(',').length + 1;
        b[at] = b[at] === 0x30 ? 0x31 : 0x30;
        return { ...a, dataBase64: b.toString('base64') };
      });
      const forged = path.join(work, 'forged');
      mkdirSync(forged);
      writeFileSync(path.join(forged, 'dossier.pdf'), (await pool.render(model)).pdf);
      const bad = verify(forged);
      assert.equal(bad.status, 1, bad.out);
      assert.match(bad.stdout, new RegExp(`^FAIL\\s+exhibit ${name}: its samples digest [0-9a-f]{64} is not the recorded`, 'm'));
      assert.match(bad.stdout, /^ok\s+pdf-signature:/m);
    } finally {
      await pool.close();
    }
  });
});
