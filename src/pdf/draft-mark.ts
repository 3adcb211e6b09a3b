// The "DRAFT" mark across every page of a document that must not be taken as final. Drawn when
// each page is added, so it lies under the page's content.
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
  doc.save().rotate(-52, { origin: [cx, cy] }).fillColor('#e3e7ed');
  doc.text(word, cx - w / 2, cy - SIZE * 0.6, { lineBreak: false });
  doc.restore();
  doc.fillColor(STYLE.colors.text);
  l.setFont(font, size);
  doc.x = x;
  doc.y = y;
}
