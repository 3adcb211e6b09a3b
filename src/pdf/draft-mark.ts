// The "DRAFT" mark across a page of a document that must not be taken as final: large, rotated
// and translucent (PDF/A-3 allows transparency), drawn over the finished page. Drawn as the
// outlines of the bold font's glyphs, not as text: text extraction (pdftotext, pdfjs, copy and
// paste) sees no mark, so the page text reads and compares as if unmarked.
import { STYLE, type PageLayout } from './layout.js';
import { internals } from './pdfkit-internals.js';

const SIZE = 120;
/** The mark's colour (drawn at 16% opacity). */
export const DRAFT_COLOR = '#8a94a6';

interface GlyphPath {
  translate(x: number, y: number): GlyphPath;
  toSVG(): string;
}
interface OutlineFont {
  unitsPerEm: number;
  layout(text: string): { glyphs: Array<{ path: GlyphPath }>; positions: Array<{ xAdvance: number; xOffset: number; yOffset: number }> };
}

export function drawDraftMark(l: PageLayout, word: string): void {
  const doc = l.doc;
  const font = l.currentFont;
  const size = l.fontSize;
  const { x, y } = doc;
  const page = doc.page;
  l.setFont('bold', SIZE);
  const outlines = internals(doc)._font!.font as unknown as OutlineFont;
  const run = outlines.layout(word);
  // One path, in font units from the baseline origin (y up).
  let pen = 0;
  let d = '';
  run.glyphs.forEach((g, i) => {
    const p = run.positions[i]!;
    d += g.path.translate(pen + p.xOffset, p.yOffset).toSVG();
    pen += p.xAdvance;
  });
  const scale = SIZE / outlines.unitsPerEm;
  const w = pen * scale;
  const cx = page.width / 2;
  const cy = page.height / 2;
  doc.save().rotate(-52, { origin: [cx, cy] });
  // Baseline a third of the size below the centre, so the capitals sit centred; flip font y-up.
  doc.transform(scale, 0, 0, -scale, cx - w / 2, cy + SIZE * 0.36);
  doc.path(d).fillColor(DRAFT_COLOR).fillOpacity(0.16).fill();
  doc.restore();
  doc.fillColor(STYLE.colors.text);
  l.setFont(font, size);
  doc.x = x;
  doc.y = y;
}
