// The running footer: a rule, the footer text on the left and, on the right, the page's
// identifier (Bates-style, when there is one) and "Page X of Y".
import { STYLE, type PageLayout } from './layout.js';
import { metaText } from './metadata.js';

/** A page's Bates-style identifier: the prefix and the page number in four digits (CASE-1-0003). */
export function pageIdentifier(prefix: string, page: number): string {
  return `${metaText(prefix)}-${String(page).padStart(4, '0')}`;
}

/** Draws the footer on every buffered page; call once, when the page count is final. */
export function drawFooters(l: PageLayout, footerText: string, pageId?: (page: number) => string): void {
  const doc = l.doc;
  const range = doc.bufferedPageRange();
  l.setFont('body', 7.5);
  const footer = l.safeText(metaText(footerText));
  for (let i = range.start; i < range.start + range.count; i++) {
    doc.switchToPage(i);
    const page = doc.page;
    const savedBottom = page.margins.bottom;
    page.margins.bottom = 0; // writing inside the bottom margin must not add pages
    const y = page.height - savedBottom + 22;
    const left = page.margins.left;
    const width = page.width - page.margins.left - page.margins.right;
    doc
      .save()
      .moveTo(left, y - 6)
      .lineTo(left + width, y - 6)
      .lineWidth(0.5)
      .strokeColor(STYLE.colors.rule)
      .stroke()
      .restore();
    l.setFont('body', 7.5);
    doc.fillColor(STYLE.colors.muted);
    const pageLabel = `${pageId ? `${l.safeText(pageId(i + 1))}   ` : ''}Page ${i + 1} of ${range.count}`;
    const labelWidth = doc.widthOfString(pageLabel);
    doc.text(pageLabel, left + width - labelWidth, y, { lineBreak: false });
    // Truncate the left text so it never collides with the page label.
    let text = footer;
    const maxLeft = width - labelWidth - 16;
    while (text.length > 1 && doc.widthOfString(text) > maxLeft) text = text.slice(0, -2) + '…';
    doc.text(text, left, y, { lineBreak: false });
    page.margins.bottom = savedBottom;
  }
}
