// Tables whose rows never split across pages, with the header repeated after page breaks.
import type { FontRole } from './fonts.js';
import { STYLE, type PageLayout } from './layout.js';

export interface TableColumn {
  header: string;
  /** Relative width weight (default 1). */
  weight?: number;
  align?: 'left' | 'right' | 'center';
  mono?: boolean;
}

export interface TableOptions {
  fontSize?: number;
}

/**
 * Table with a header row (repeated after page breaks). Rows never split across pages:
 * a row that does not fit moves to the next page. A row taller than a whole page is
 * rendered as a stacked "header: value" block that flows, so no text is ever lost.
 */
export function drawTable(l: PageLayout, columns: readonly TableColumn[], rows: readonly (readonly string[])[], opts: TableOptions = {}): void {
  if (columns.length === 0) throw new Error('table needs at least one column');
  const doc = l.doc;
  const size = opts.fontSize ?? 8.5;
  const totalWeight = columns.reduce((s, c) => s + (c.weight ?? 1), 0);
  const widths = columns.map((c) => (l.contentWidth * (c.weight ?? 1)) / totalWeight);
  const padX = STYLE.cellPadX;
  const padY = STYLE.cellPadY;
  const lineGap = 1.2;

  const fontFor = (c: TableColumn, header: boolean): FontRole => (header ? 'bold' : c.mono ? 'mono' : 'body');
  const measure = (cells: readonly string[], header: boolean): { texts: string[]; height: number } => {
    let maxH = 0;
    const texts = columns.map((c, i) => {
      l.setFont(fontFor(c, header), header ? size : c.mono ? size - 0.5 : size);
      const t = l.cleanText(cells[i] ?? '');
      const w = (widths[i] ?? 0) - 2 * padX;
      const h = t.length === 0 ? doc.currentLineHeight(true) : l.textHeight(t, { width: w, lineGap, size: header ? size : c.mono ? size - 0.5 : size, role: fontFor(c, header) });
      maxH = Math.max(maxH, h);
      return t;
    });
    return { texts, height: maxH + 2 * padY };
  };
  const drawRow = (texts: readonly string[], height: number, header: boolean, zebra: boolean): void => {
    const y = doc.y;
    if (header || zebra) {
      doc
        .save()
        .rect(l.left, y, l.contentWidth, height)
        .fillColor(header ? STYLE.colors.headerFill : STYLE.colors.zebraFill)
        .fill()
        .restore();
    }
    let x = l.left;
    columns.forEach((c, i) => {
      const w = widths[i] ?? 0;
      l.textBox(texts[i] ?? '', x + padX, y + padY, {
        width: w - 2 * padX,
        lineGap,
        align: header ? 'left' : (c.align ?? 'left'),
        size: header ? size : c.mono ? size - 0.5 : size,
        role: fontFor(c, header),
        color: header ? STYLE.colors.accent : STYLE.colors.text,
      });
      x += w;
    });
    doc
      .save()
      .moveTo(l.left, y + height)
      .lineTo(l.left + l.contentWidth, y + height)
      .lineWidth(header ? 0.8 : 0.4)
      .strokeColor(header ? STYLE.colors.accent : STYLE.colors.rule)
      .stroke()
      .restore();
    doc.x = l.left;
    doc.y = y + height;
  };

  const header = measure(
    columns.map((c) => c.header),
    true,
  );
  const firstRow = rows[0] ? measure(rows[0], false).height : 0;
  l.ensureSpace(header.height + Math.min(firstRow, l.usableHeight - header.height));
  drawRow(header.texts, header.height, true, false);

  rows.forEach((row, r) => {
    const m = measure(row, false);
    if (doc.y + m.height > l.maxY) {
      if (m.height + header.height <= l.usableHeight) {
        l.newPage();
        drawRow(header.texts, header.height, true, false);
      }
    }
    if (doc.y + m.height <= l.maxY) {
      drawRow(m.texts, m.height, false, r % 2 === 1);
      return;
    }
    // Oversized row: stacked layout that flows across pages.
    columns.forEach((c, i) => {
      l.setFont('bold', size);
      l.ensureSpace(2 * doc.currentLineHeight(true));
      doc.fillColor(STYLE.colors.accent).text(l.safeText(c.header), l.left + padX, doc.y, { width: l.contentWidth - 2 * padX });
      l.setFont(c.mono ? 'mono' : 'body', size);
      doc.fillColor(STYLE.colors.text).text(m.texts[i] ?? '', l.left + 2 * padX, doc.y, { width: l.contentWidth - 3 * padX, lineGap });
    });
    doc.y += padY;
    l.rule();
    doc.y += padY;
  });
  doc.x = l.left;
  doc.y += 8;
  l.setFont('body', STYLE.bodySize);
  doc.fillColor(STYLE.colors.text);
}
