// Flowing text blocks: the title, bookmarked headings, paragraphs and wrapped hash lines.
import type { FontRole } from './fonts.js';
import { chunkMono, STYLE, type PageLayout } from './layout.js';
import { outlineRoot, type OutlineItem } from './pdfkit-internals.js';

export interface ParagraphOptions {
  font?: FontRole;
  size?: number;
  color?: string;
  align?: 'left' | 'justify' | 'center' | 'right';
}

/** Document title block (not bookmarked). */
export function drawTitle(l: PageLayout, text: string, subtitle?: string): void {
  const doc = l.doc;
  l.setFont('bold', STYLE.titleSize);
  l.textBox(l.cleanText(text), l.left, doc.y, { width: l.contentWidth, lineGap: 2, size: STYLE.titleSize, role: 'bold', color: STYLE.colors.accent });
  if (subtitle) {
    l.setFont('body', 11);
    doc.moveDown(0.2);
    l.textBox(l.cleanText(subtitle), l.left, doc.y, { width: l.contentWidth, lineGap: 2, size: 11, role: 'body', color: STYLE.colors.muted });
  }
  doc.moveDown(0.4);
  l.rule(STYLE.colors.accent, 1.2);
  doc.moveDown(0.8);
  l.setFont('body', STYLE.bodySize);
  doc.fillColor(STYLE.colors.text);
}

/**
 * Section heading with a bookmark (outline entry), nested under `currentH1` for level 2.
 * Kept together with at least ~3 lines of what follows. Returns the new outline entry, the title
 * as drawn and the y of its top.
 */
export function drawHeading(l: PageLayout, text: string, level: 1 | 2, currentH1: OutlineItem | undefined): { item: OutlineItem; title: string; top: number } {
  const doc = l.doc;
  const size = level === 1 ? STYLE.h1Size : STYLE.h2Size;
  l.setFont('bold', size);
  const clean = l.cleanText(text).replace(/\n+/g, ' ');
  const h = l.textHeight(clean, { width: l.contentWidth, size, role: 'bold' });
  const atTop = doc.y <= doc.page.margins.top + 0.5;
  if (!atTop) doc.y += level === 1 ? 10 : 6;
  l.ensureSpace(h + 8 + 3 * (STYLE.bodySize * 1.2 + STYLE.lineGap));

  const top = doc.y;
  const parent = level === 2 && currentH1 ? currentH1 : outlineRoot(doc);
  const item = parent.addItem(clean);
  // pdfkit 0.20 writes /XYZ with left = page width; point at the heading instead.
  item.outlineData['Dest'] = [doc.page.dictionary, 'XYZ', null, doc.page.height - top + 4, null];

  l.textBox(clean, l.left, top, { width: l.contentWidth, size, role: 'bold', color: STYLE.colors.accent });
  if (level === 1) {
    doc.y += 2;
    l.rule(STYLE.colors.rule, 0.6);
  }
  doc.y += level === 1 ? 6 : 3;
  l.setFont('body', STYLE.bodySize);
  doc.fillColor(STYLE.colors.text);
  return { item, title: clean, top };
}

/** Body paragraph; flows across pages as needed (never truncated). */
export function drawParagraph(l: PageLayout, text: string, opts: ParagraphOptions = {}): void {
  const doc = l.doc;
  l.setFont(opts.font ?? 'body', opts.size ?? STYLE.bodySize);
  doc.fillColor(opts.color ?? STYLE.colors.text);
  // Avoid a lone first line at the bottom of a page.
  l.ensureSpace(2 * (doc.currentLineHeight(true) + STYLE.lineGap));
  l.textBox(l.safeText(text), l.left, doc.y, {
    width: l.contentWidth,
    align: opts.align ?? 'left',
    lineGap: STYLE.lineGap,
    paragraphGap: STYLE.paragraphGap,
    size: opts.size ?? STYLE.bodySize,
    role: opts.font ?? 'body',
    color: opts.color ?? STYLE.colors.text,
    flow: true,
  });
  l.setFont('body', STYLE.bodySize);
  doc.fillColor(STYLE.colors.text);
}

/**
 * A labelled monospace value (hash, id, signature). Long values wrap at exact character
 * counts (multiples of 8) without inserted spaces.
 */
export function drawHashLine(l: PageLayout, label: string, hex: string): void {
  const doc = l.doc;
  l.setFont('body', STYLE.smallSize);
  const labelH = doc.currentLineHeight(true) + 1;
  const perLine = l.monoCharsPerLine(l.contentWidth - 12);
  const lines = chunkMono(l.safeText(hex), perLine);
  const lineH = doc.currentLineHeight(true) + 1;
  const total = labelH + lines.length * lineH + 6;
  if (total <= l.usableHeight) l.ensureSpace(total);

  l.setFont('body', STYLE.smallSize);
  doc.fillColor(STYLE.colors.muted).text(l.safeText(label), l.left, doc.y, { width: l.contentWidth, lineGap: 1 });
  l.setFont('mono', STYLE.monoSize);
  doc.fillColor(STYLE.colors.text);
  for (const line of lines) {
    l.ensureSpace(lineH);
    const y = doc.y;
    // lineBreak: false draws exactly one line but does not advance y.
    doc.text(line, l.left + 12, y, { lineBreak: false });
    doc.y = y + lineH;
  }
  doc.y += 6;
  doc.x = l.left;
  l.setFont('body', STYLE.bodySize);
}
