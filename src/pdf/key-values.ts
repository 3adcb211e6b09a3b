// Two-column key/value blocks, and their height for keep-with-next decisions.
import { chunkMono, STYLE, type PageLayout } from './layout.js';

export interface KeyValueRow {
  key: string;
  value: string;
  /** Render the value in the monospace font (hashes, ids). */
  mono?: boolean;
}

export interface KeyValueOptions {
  keyWidth?: number;
}

const GAP = 10;

/** Lays out one row: its texts and height (the same numbers drawKeyValues draws with). */
function layoutRow(l: PageLayout, row: KeyValueRow, keyWidth: number, valueWidth: number): { key: string; valueText: string; h: number } {
  const doc = l.doc;
  l.setFont('bold', 9);
  const key = l.cleanText(row.key);
  const kh = l.textHeight(key, { width: keyWidth, lineGap: 1.5, size: 9, role: 'bold' });
  let valueText: string;
  let vh: number;
  if (row.mono) {
    const perLine = l.monoCharsPerLine(valueWidth);
    valueText = chunkMono(l.safeText(row.value), perLine).join('\n');
    vh = doc.heightOfString(valueText, { width: valueWidth + 1, lineGap: 1.5 });
  } else {
    l.setFont('body', 9.5);
    valueText = l.cleanText(row.value);
    vh = l.textHeight(valueText, { width: valueWidth, lineGap: 1.5, size: 9.5, role: 'body' });
  }
  return { key, valueText, h: Math.max(kh, vh) + 4 };
}

/**
 * Height drawKeyValues(rows, opts) will take when it starts at the top of a page (no page
 * breaks). Leaves the current font as it was.
 */
export function measureKeyValues(l: PageLayout, rows: readonly KeyValueRow[], opts: KeyValueOptions = {}): number {
  const keyWidth = opts.keyWidth ?? Math.round(l.contentWidth * 0.3);
  const valueWidth = l.contentWidth - keyWidth - GAP;
  const font = l.currentFont;
  const size = l.fontSize;
  let h = 4;
  for (const row of rows) h += layoutRow(l, row, keyWidth, valueWidth).h;
  l.setFont(font, size);
  return h;
}

/** Two-column key/value block; a row is never split across pages unless it is taller than a page. */
export function drawKeyValues(l: PageLayout, rows: readonly KeyValueRow[], opts: KeyValueOptions = {}): void {
  const keyWidth = opts.keyWidth ?? Math.round(l.contentWidth * 0.3);
  const valueWidth = l.contentWidth - keyWidth - GAP;
  const doc = l.doc;
  for (const row of rows) {
    const { key, valueText, h } = layoutRow(l, row, keyWidth, valueWidth);
    if (h <= l.usableHeight) {
      l.ensureSpace(h);
      const y = doc.y;
      l.textBox(key, l.left, y, { width: keyWidth, lineGap: 1.5, size: 9, role: 'bold', color: STYLE.colors.muted });
      if (row.mono) {
        l.setFont('mono', STYLE.monoSize);
        doc.fillColor(STYLE.colors.text).text(valueText, l.left + keyWidth + GAP, y, { width: valueWidth + 1, lineGap: 1.5 });
      } else {
        l.textBox(valueText, l.left + keyWidth + GAP, y, { width: valueWidth, lineGap: 1.5, size: 9.5, role: 'body', color: STYLE.colors.text });
      }
      doc.y = y + h;
    } else {
      // Taller than a page: key on its own line, then the value flows.
      l.setFont('bold', 9);
      doc.fillColor(STYLE.colors.muted).text(key, l.left, doc.y, { width: l.contentWidth });
      l.setFont(row.mono ? 'mono' : 'body', row.mono ? STYLE.monoSize : 9.5);
      doc.fillColor(STYLE.colors.text).text(valueText, l.left + GAP, doc.y, { width: l.contentWidth - GAP, lineGap: 1.5 });
      doc.y += 4;
    }
  }
  doc.x = l.left;
  doc.y += 4;
  l.setFont('body', STYLE.bodySize);
  doc.fillColor(STYLE.colors.text);
}
