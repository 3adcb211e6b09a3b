// Renders a DossierModel to an unsigned PDF/A-3b: words from the Handlebars templates in
// templates/dossier, layout from src/pdf. Deterministic: the same model gives the same bytes.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { createDossierPdf, type DossierPdf, type KeyValueRow } from '../pdf/document.js';
import { packageRoot } from '../util/paths.js';
import { parseMarkup, type Block } from './markup.js';
import type { DossierModel } from './model.js';
import { exhibitLetter } from './exhibits.js';
import { buildView, formatTime, type DossierView } from './view.js';
import { drawLlmTable, withLlmSection } from './llm-section.js';

/** Level-2 headings listed in the table of contents beside the sections: the verifications. */
const TOC_SUBHEADINGS = /^Verification \d+: /;

let templates: Array<HandlebarsTemplateDelegate<DossierView>> | null = null;

function loadTemplates(): Array<HandlebarsTemplateDelegate<DossierView>> {
  if (templates) return templates;
  const dir = path.join(packageRoot(), 'templates', 'dossier');
  const hb = Handlebars.create();
  // strict: a missing field is an error, not a silent blank; noEscape: this is PDF text, not HTML.
  templates = readdirSync(dir)
    .filter((f) => f.endsWith('.hbs'))
    .sort()
    .map((f) => hb.compile<DossierView>(readFileSync(path.join(dir, f), 'utf8'), { strict: true, noEscape: true }));
  return templates;
}

export async function renderDossier(model: DossierModel): Promise<{ pdf: Buffer; pages: number }> {
  const view = withLlmSection(buildView(model), model);
  const pdf = createDossierPdf({
    issuedAt: new Date(model.issuedAt),
    title: `Evidence dossier ${model.caseRef}: subject ${model.subject}`,
    author: view.organisationPlain,
    subject: 'Assent to terms of service, watermark linkage and model verification',
    keywords: ['assentmark', 'evidence dossier', model.caseRef, model.subject],
    documentId: model.dossierId,
    pageSize: model.paperSize,
    footerText: `Evidence dossier ${model.caseRef} · ${model.dossierId}${view.draft ? ' · DRAFT, not for filing' : ''}`,
    pageIdPrefix: model.caseRef,
    ...(view.draft ? { draftMark: 'DRAFT' } : {}),
  });
  // Sections flow one after another: keep-together rules, not page breaks, decide where pages end.
  const blocks = loadTemplates().flatMap((t) => parseMarkup(t(view)));
  blocks.forEach((block, i) => {
    keepWithNext(pdf, blocks, i, model, view);
    drawBlock(pdf, block, blocks, model, view);
  });
  model.attachments.forEach((a, n) => {
    const letter = model.exhibits[n]?.letter ?? exhibitLetter(n);
    pdf.attach(Buffer.from(a.dataBase64, 'base64'), { name: a.name, mimeType: a.mimeType, description: `Exhibit ${letter}: ${a.description}`, relationship: a.relationship });
  });
  const pages = pdf.doc.bufferedPageRange().count;
  return { pdf: await pdf.finish(), pages };
}

function drawBlock(pdf: DossierPdf, b: Block, all: readonly Block[], model: DossierModel, view: DossierView): void {
  switch (b.kind) {
    case 'title':
      pdf.title(b.text, b.subtitle);
      return;
    case 'heading':
      pdf.heading(b.text, b.level);
      return;
    case 'paragraph':
      // Justifying a line that holds a long unbreakable token (hash, id, file name) stretches it badly.
      pdf.paragraph(b.text, { align: /\S{28,}/.test(b.text) ? 'left' : 'justify' });
      return;
    case 'bullet':
      pdf.paragraph(`•  ${b.text}`);
      return;
    case 'note':
      pdf.note(b.text);
      return;
    case 'formula':
      // Displayed mathematics: centred, a size up, in the text font (its glyphs cover ≥ Σ ‖ ₀ ʲ ⁿ).
      pdf.paragraph(b.text, { size: 11, align: 'center' });
      return;
    case 'kv':
      pdf.keyValues(b.rows.map((r) => ({ key: r.key, value: r.value, mono: r.mono })));
      return;
    case 'hash':
      pdf.hashLine(b.label, b.value);
      return;
    case 'code':
      drawCode(pdf, b.lines);
      return;
    case 'rule':
      pdf.rule();
      pdf.moveDown(6);
      return;
    case 'pagebreak':
      pdf.newPage();
      return;
    case 'directive':
      if (b.name === 'toc') {
        // Every section heading; under each section the subheadings the template names (e.g. appendix).
        pdf.tableOfContents(all.filter((x): x is Extract<Block, { kind: 'heading' }> => x.kind === 'heading' && (x.level === 1 || TOC_SUBHEADINGS.test(x.text))).map((x) => ({ title: x.text, level: x.level })));
        return;
      }
      drawDirective(pdf, b.name, b.arg, model, view);
      return;
  }
}

function drawDirective(pdf: DossierPdf, name: string, arg: string, model: DossierModel, view: DossierView): void {
  const n = Number(arg);
  switch (name) {
    case 'table':
      if (arg === 'exhibits') {
        pdf.table([{ header: 'Exhibit', weight: 0.9 }, { header: 'Attached file', weight: 2.2 }, { header: 'Content', weight: 5 }], model.exhibits.map((e) => [e.letter, e.name, e.description]));
        // Each digest on one line of its own, so a text extraction (pdftotext -layout) gives it whole.
        pdf.keyValues(model.exhibits.map((e) => ({ key: `SHA-256 of Exhibit ${e.letter}`, value: e.sha256, mono: true })), { keyWidth: 110 });
      } else if (arg === 'keys') {
        pdf.table([{ header: 'Version', weight: 0.9, align: 'right' }, { header: 'Assigned (UTC)', weight: 1.6 }, { header: 'Event', weight: 2.1 }, { header: 'Ledger entry', weight: 0.9, align: 'right' }, { header: 'Key id', weight: 2.4, mono: true }],
          model.keys.map((k) => [String(k.version), formatTime(k.assignedAt), `${k.eventType} (${k.reason})`, String(k.ledgerSeq), k.keyId]));
      } else if (arg === 'cited') {
        pdf.table([{ header: 'Entry', weight: 0.62, align: 'right' }, { header: 'Event', weight: 1.9 }, { header: 'Recorded (UTC)', weight: 1.25 }, { header: 'Path', weight: 0.55, align: 'right' }, { header: 'Leaf hash / chain hash', weight: 3.2, mono: true }],
          model.cited.map((c) => [String(c.seq), c.eventType, formatTime(c.recordedAt), String(c.proofHashes), `${c.leafHash}\n${c.chainHash}`]));
      } else if (arg.startsWith('history-')) {
        const h = view.histories[Number(arg.slice(8))]!;
        pdf.table([{ header: 'Version', weight: 0.8 }, { header: 'Change', weight: 0.7 }, { header: 'Effective (UTC)', weight: 1.4 }, { header: 'Entry', weight: 0.6, align: 'right' }, { header: 'Text SHA-256', weight: 3.2, mono: true }],
          h.versions.map((v) => [v.version, v.major ? 'major' : 'minor', formatTime(v.effectiveAt), String(v.ledgerSeq), v.textSha256]));
      } else if (!drawLlmTable(pdf, arg, model)) throw new Error(`unknown table ${arg}`);
      return;
    case 'highlights': {
      const e = model.eulas[n]!;
      pdf.table([{ header: 'Clause marked by the publisher', weight: 3 }, { header: 'Publisher\'s note', weight: 1.4 }], e.highlights.map((h) => [h.text, h.note]));
      return;
    }
    case 'eula-text':
      drawEulaText(pdf, model.eulas[n]!.text ?? '', model.eulas[n]!.highlights.map((h) => h.text));
      return;
    case 'kv':
      pdf.keyValues(view.kv[arg] ?? missing(arg), { keyWidth: 150 });
      return;
    default:
      throw new Error(`unknown directive @${name}`);
  }
}

function missing(name: string): KeyValueRow[] {
  throw new Error(`no key/value block ${name}`);
}

/** The share of a page that may stay blank when a section moves to the next page. */
const MOSTLY_BLANK = 0.4;
/** What a section needs below its heading to start at the bottom of a page: a few rows. */
const MIN_SECTION_START = 120;

const CODE_SIZE = 8;
const CODE_PAD = 6;

function pageContentHeight(pdf: DossierPdf): number {
  const p = pdf.doc.page;
  return p.height - p.margins.top - p.margins.bottom;
}

function codeHeight(pdf: DossierPdf, lines: string[]): number {
  pdf.setFont('mono', CODE_SIZE);
  const h = pdf.doc.heightOfString(pdf.safeText(lines.join('\n')), { width: pdf.contentWidth - 2 * CODE_PAD, lineGap: 1.5 });
  pdf.setFont('body', 10);
  return h + 2 * CODE_PAD + 8;
}

/** Commands and formulas: monospace on a light panel, one line per line, kept on one page when it fits. */
function drawCode(pdf: DossierPdf, lines: string[]): void {
  const doc = pdf.doc;
  const h = codeHeight(pdf, lines);
  const fits = h <= pageContentHeight(pdf);
  if (fits) pdf.ensureSpace(h);
  const left = doc.page.margins.left;
  const y = doc.y;
  if (fits) doc.save().rect(left, y, pdf.contentWidth, h - 8).fillColor('#f1f3f6').fill().restore();
  pdf.setFont('mono', CODE_SIZE);
  doc.fillColor('#1b1f24').text(pdf.safeText(lines.join('\n')), left + CODE_PAD, y + CODE_PAD, { width: pdf.contentWidth - 2 * CODE_PAD, lineGap: 1.5 });
  if (fits) doc.y = y + h;
  else doc.y += CODE_PAD + 8;
  doc.x = left;
  pdf.setFont('body', 10);
}

/** Height of a block if it can be measured before drawing (else null). Slightly generous. */
function blockHeight(pdf: DossierPdf, b: Block, view: DossierView): number | null {
  const doc = pdf.doc;
  const w = pdf.contentWidth;
  let h: number | null = null;
  switch (b.kind) {
    case 'paragraph':
    case 'bullet':
    case 'formula':
    case 'note': {
      const small = b.kind === 'note';
      pdf.setFont('body', small ? 8 : b.kind === 'formula' ? 11 : 10);
      h = doc.heightOfString(pdf.safeText(b.kind === 'bullet' ? `•  ${b.text}` : b.text), { width: w, lineGap: 2.5 }) + 7;
      break;
    }
    case 'hash':
      pdf.setFont('body', 8);
      // label, then the value in lines of at least 64 monospace characters
      h = 2 * (doc.currentLineHeight(true) + 1) + Math.ceil(b.value.length / 64) * 12 + 6;
      break;
    case 'kv':
      h = pdf.measureKeyValues(b.rows);
      break;
    case 'code':
      h = codeHeight(pdf, b.lines);
      break;
    case 'directive':
      if (b.name === 'kv' && view.kv[b.arg]) h = pdf.measureKeyValues(view.kv[b.arg]!, { keyWidth: 150 });
      break;
    default:
      h = null;
  }
  pdf.setFont('body', 10);
  return h;
}

/**
 * Keep-with-next: a level-2 heading stays on one page with the measurable blocks of its
 * section (a whole acceptance record or verification, when it fits on a page), and a
 * paragraph introducing a command stays with the command.
 */
/** A heading and the measurable blocks after it, up to a page: what "keep together" keeps. */
function sectionHeight(pdf: DossierPdf, blocks: Block[], i: number, view: DossierView, limit: number): number {
  let total = HEADING_HEIGHT[(blocks[i] as Extract<Block, { kind: 'heading' }>).level];
  for (let j = i + 1; j < blocks.length; j++) {
    const n = blocks[j]!;
    if (n.kind === 'heading' || n.kind === 'pagebreak') break;
    const h = blockHeight(pdf, n, view);
    if (h === null) break;
    if (total + h > limit) break;
    total += h;
  }
  return total;
}

const HEADING_HEIGHT = { 1: 44, 2: 34 } as const;

function keepWithNext(pdf: DossierPdf, blocks: Block[], i: number, _model: DossierModel, view: DossierView): void {
  const b = blocks[i]!;
  const limit = pageContentHeight(pdf);
  if (b.kind === 'heading') {
    // A section heading directly followed by a subsection keeps with the subsection's start.
    const next = blocks[i + 1];
    const total = b.level === 1 && next?.kind === 'heading' && next.level === 2
      ? HEADING_HEIGHT[1] + Math.min(sectionHeight(pdf, blocks, i + 1, view, limit), MIN_SECTION_START)
      : sectionHeight(pdf, blocks, i, view, limit);
    // A section that does not fit in what is left of the page starts on a new page only when
    // that leaves less than about half a page blank; otherwise it starts here and flows on
    // (rows are never split), so no page is left mostly blank.
    pdf.ensureSpace(total > pdf.remaining && pdf.remaining >= limit * MOSTLY_BLANK ? Math.min(total, MIN_SECTION_START) : total);
    return;
  }
  if (b.kind === 'kv') {
    // A short key/value block (the signature lines of the certification, a checkpoint's facts)
    // stays on one page.
    const h = blockHeight(pdf, b, view);
    if (h !== null && h <= limit * MOSTLY_BLANK) pdf.ensureSpace(h);
    return;
  }
  if ((b.kind === 'paragraph' || b.kind === 'note') && (blocks[i + 1]?.kind === 'code' || blocks[i + 1]?.kind === 'formula')) {
    const a = blockHeight(pdf, b, view);
    const c = blockHeight(pdf, blocks[i + 1]!, view);
    if (a !== null && c !== null && a + c <= limit) pdf.ensureSpace(a + c);
  }
}

/** The verbatim text, paragraph by paragraph (so long texts flow), with marked clauses in bold. */
function drawEulaText(pdf: DossierPdf, text: string, highlights: string[]): void {
  pdf.moveDown(4);
  pdf.rule();
  pdf.moveDown(8);
  const doc = pdf.doc;
  const left = doc.page.margins.left;
  for (const para of text.replace(/\r\n?/g, '\n').split(/\n{2,}/)) {
    if (para.trim() === '') continue;
    const segments = splitHighlights(para, highlights);
    // A one-line paragraph (a clause heading such as "3. Acceptable Use") keeps with the next lines.
    pdf.setFont('body', 9.5);
    const oneLine = !para.includes('\n') && doc.widthOfString(pdf.safeText(para)) < pdf.contentWidth;
    pdf.ensureSpace((oneLine ? 4 : 2) * 14);
    if (!pdf.plainText(para)) {
      // Scripts DejaVu lacks, right-to-left text: the rich layout, highlights in bold and underlined.
      pdf.richParagraph(segments.map((s) => ({ text: pdf.cleanText(s.text), role: s.bold ? 'bold' as const : 'body' as const, underline: s.bold })), { size: 9.5, lineGap: 2, paragraphGap: 6 });
      continue;
    }
    segments.forEach((s, i) => {
      pdf.setFont(s.bold ? 'bold' : 'body', 9.5);
      const opts = { width: pdf.contentWidth, lineGap: 2, paragraphGap: 6, continued: i < segments.length - 1, underline: s.bold };
      const t = pdf.safeText(s.text);
      if (i === 0) doc.text(t, left, doc.y, opts);
      else doc.text(t, opts);
    });
  }
  pdf.setFont('body', 10);
  pdf.moveDown(4);
  pdf.rule();
  pdf.moveDown(8);
}

function splitHighlights(para: string, highlights: string[]): Array<{ text: string; bold: boolean }> {
  const marks: Array<[number, number]> = [];
  for (const h of highlights) {
    if (!h) continue;
    for (let i = para.indexOf(h); i >= 0; i = para.indexOf(h, i + h.length)) marks.push([i, i + h.length]);
  }
  marks.sort((a, b) => a[0] - b[0]);
  const out: Array<{ text: string; bold: boolean }> = [];
  let at = 0;
  for (const [s, e] of marks) {
    if (s < at) continue; // overlapping marks: the first wins
    if (s > at) out.push({ text: para.slice(at, s), bold: false });
    out.push({ text: para.slice(s, e), bold: true });
    at = e;
  }
  if (at < para.length) out.push({ text: para.slice(at), bold: false });
  return out.length ? out : [{ text: para, bold: false }];
}
