// The "DRAFT" mark across a page of a document that must not be taken as final: large,
// rotated and translucent (PDF/A-3 allows transparency), drawn over the finished page.
import { STYLE, type PageLayout } from './layout.js';

const SIZE = 120;

export function drawDraftMark(l: PageLayout, word: string): void {
  const doc = l.doc;
  const font = l.currentFont;
  const size = l.fontSize;
  const { x, y } = doc;
  const page = doc.page;
  l.setFont('bold', SIZE);
  const w = doc.widthOfString(word);
  const cx = page.width / 2;
  const cy = page.height / 2;
  const bottom = page.margins.bottom;
  page.margins.bottom = 0; // drawing below the content area must not add a page
  doc.save().rotate(-52, { origin: [cx, cy] }).fillColor('#8a94a6').fillOpacity(0.16);
  doc.text(word, cx - w / 2, cy - SIZE * 0.6, { lineBreak: false });
  doc.restore();
  page.margins.bottom = bottom;
  doc.fillColor(STYLE.colors.text);
  l.setFont(font, size);
  doc.x = x;
  doc.y = y;
}
