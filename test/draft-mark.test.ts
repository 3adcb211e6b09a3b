// The DRAFT mark is drawn as glyph outlines, not text: a page's text as pdftotext (plain and
// -layout) and pdfjs extract it is the same with and without the mark, while the rendered page
// (pdftoppm) shows it. Poppler is required.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createDossierPdf } from '../src/pdf/document.js';
import { run } from './helpers/tools.js';

let work: string;
const files: Record<'marked' | 'plain', string> = { marked: '', plain: '' };

async function render(mark: boolean): Promise<Buffer> {
  const pdf = createDossierPdf({ issuedAt: new Date('2026-11-30T12:00:00Z'), title: 'Draft mark', author: 'assentmark tests', signature: false, pageIdPrefix: 'CASE-0099', ...(mark ? { draftMark: 'DRAFT' } : {}) });
  pdf.heading('1. A section');
  for (let i = 0; i < 60; i++) pdf.paragraph(`Paragraph ${i}: the reading order of these words must not change when the page is marked as a draft.`);
  pdf.hashLine('A digest', 'ab'.repeat(32));
  return pdf.finish();
}

/** Grey levels of page `n` rendered at 20 dpi (pdftoppm, binary PGM). */
function pixels(file: string, n: number): { width: number; height: number; data: Buffer } {
  const out = path.join(work, `${path.basename(file)}-${n}`);
  const r = run('pdftoppm', ['-r', '20', '-gray', '-f', String(n), '-l', String(n), '-singlefile', file, out]);
  assert.equal(r.status, 0, r.out);
  const pgm = readFileSync(`${out}.pgm`);
  const m = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(pgm.subarray(0, 40).toString('latin1'));
  assert.ok(m, 'a binary PGM');
  return { width: Number(m[1]), height: Number(m[2]), data: pgm.subarray(m[0].length) };
}

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'assentmark-draft-mark-'));
  for (const k of ['marked', 'plain'] as const) {
    files[k] = path.join(work, `${k}.pdf`);
    writeFileSync(files[k], await render(k === 'marked'));
  }
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the DRAFT mark', () => {
  test('leaves the text pdftotext extracts unchanged (plain and -layout), on every page', () => {
    for (const args of [[], ['-layout']]) {
      const [a, b] = [files.marked, files.plain].map((f) => run('pdftotext', [...args, f, '-']));
      assert.equal(a!.status, 0, a!.out);
      assert.ok(a!.stdout.includes('Paragraph 59:'), 'the text is there');
      assert.equal(a!.stdout, b!.stdout, `pdftotext ${args.join(' ')}: the mark changed the text`);
      assert.ok(!/D\s*R\s*A\s*F\s*T/.test(a!.stdout), 'no letter of the mark in the text');
    }
  });

  test('leaves the text pdfjs extracts unchanged', async () => {
    const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
    const texts: string[] = [];
    for (const f of [files.marked, files.plain]) {
      const doc = await pdfjs.getDocument({ data: new Uint8Array(readFileSync(f)), verbosity: 0 }).promise;
      let s = '';
      for (let p = 1; p <= doc.numPages; p++) for (const it of (await (await doc.getPage(p)).getTextContent()).items as Array<{ str?: string }>) s += `${it.str ?? ''}|`;
      texts.push(s);
      await doc.destroy();
    }
    assert.equal(texts[0], texts[1]);
  });

  test('is visible on every page: the rendered page is darker around its centre than the unmarked one', () => {
    const pages = Number(/Pages:\s+(\d+)/.exec(run('pdfinfo', [files.marked]).stdout)?.[1]);
    assert.ok(pages >= 2, `${pages} pages`);
    for (let n = 1; n <= pages; n++) {
      const [a, b] = [pixels(files.marked, n), pixels(files.plain, n)];
      assert.equal(a.data.length, b.data.length);
      let darker = 0;
      for (let i = 0; i < a.data.length; i++) if (a.data[i]! < b.data[i]! - 10) darker++;
      // The mark covers a band across the page: a few percent of its pixels at least.
      assert.ok(darker > a.data.length * 0.02, `page ${n}: only ${darker} of ${a.data.length} pixels darker`);
    }
  });
});
