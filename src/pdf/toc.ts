// A table of contents: its lines are reserved where it stands, its page numbers (and links to
// the headings) are written once every page is laid out.
import { STYLE, type PageLayout } from './layout.js';

/** A heading as drawn: the page it is on (0-based) and the y of its top. */
export interface PlacedHeading {
  title: string;
  level: 1 | 2;
  page: number;
  top: number;
}

interface Slot {
  title: string;
  level: 1 | 2;
  page: number;
  y: number;
  height: number;
}

const SIZE = 10;
const INDENT = 14;

export class TableOfContents {
  private readonly slots: Slot[] = [];

  /** Reserves one line per entry at the current position, under a "Contents" label. */
  reserve(l: PageLayout, entries: ReadonlyArray<{ title: string; level: 1 | 2 }>): void {
    const doc = l.doc;
    // The label is not a heading: the contents do not list themselves (nor does the outline).
    l.setFont('bold', 12);
    l.ensureSpace(3 * 18);
    doc.fillColor(STYLE.colors.accent).text('Contents', l.left, doc.y, { lineBreak: false });
    doc.y += 20;
    l.setFont('body', SIZE);
    const lineH = doc.currentLineHeight(true) + 4;
    // Only the room is taken here: each line is drawn whole (title, leader, number) once its
    // page is known, so a text extraction reads every line in order.
    for (const e of entries) {
      l.ensureSpace(lineH);
      this.slots.push({ title: e.title, level: e.level, page: doc.bufferedPageRange().count - 1, y: doc.y, height: lineH });
      doc.y += lineH;
    }
    doc.x = l.left;
    doc.y += 6;
    l.setFont('body', STYLE.bodySize);
  }

  /**
   * Writes each entry's page number, with a dotted leader and a link to the heading: the n-th
   * entry of a title is the n-th heading of that title and level. Throws for an entry whose
   * heading was never drawn (a contents line must never point nowhere).
   */
  fill(l: PageLayout, headings: readonly PlacedHeading[], pageDictionary: (page: number) => unknown): void {
    const doc = l.doc;
    const used = new Set<PlacedHeading>();
    for (const s of this.slots) {
      const h = headings.find((x) => !used.has(x) && x.level === s.level && x.title === s.title);
      if (!h) throw new Error(`contents entry "${s.title}" has no heading`);
      used.add(h);
      doc.switchToPage(s.page);
      const indent = s.level === 2 ? INDENT : 0;
      l.setFont(s.level === 1 ? 'bold' : 'body', SIZE);
      const title = l.safeText(s.title);
      const titleW = doc.widthOfString(title);
      doc.fillColor(STYLE.colors.text).text(title, l.left + indent, s.y, { lineBreak: false });
      l.setFont('body', SIZE);
      const num = String(h.page + 1);
      const numW = doc.widthOfString(num);
      const right = l.left + l.contentWidth;
      const dotsFrom = l.left + indent + titleW + 6;
      const dotsTo = right - numW - 6;
      const dot = doc.widthOfString('.');
      const dots = dotsTo > dotsFrom ? '.'.repeat(Math.floor((dotsTo - dotsFrom) / (dot * 1.6))) : '';
      doc.fillColor(STYLE.colors.muted).text(dots, dotsFrom, s.y, { lineBreak: false, characterSpacing: dot * 0.6 });
      doc.fillColor(STYLE.colors.text).text(num, right - numW, s.y, { lineBreak: false });
      // A link over the whole line to the heading (PDF/A: printable annotation, no border).
      doc.annotate(l.left, s.y - 1, l.contentWidth, s.height - 2, {
        Subtype: 'Link', F: 4, Border: [0, 0, 0],
        Dest: [pageDictionary(h.page), 'XYZ', null, doc.page.height - h.top + 4, null],
      } as never);
    }
    l.setFont('body', STYLE.bodySize);
  }
}
