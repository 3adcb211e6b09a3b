// Page geometry and text primitives every dossier block is drawn with.
import { shareEmbeddedFont } from './font-cache.js';
import type { FontRole, FontSources } from './fonts.js';
import { internals } from './pdfkit-internals.js';

/** Visual constants (points). */
export const STYLE = {
  margin: { top: 62, bottom: 70, left: 62, right: 62 },
  bodySize: 10,
  smallSize: 8,
  monoSize: 8.5,
  h1Size: 15,
  h2Size: 12,
  titleSize: 20,
  lineGap: 2.5,
  paragraphGap: 7,
  cellPadX: 5,
  cellPadY: 3.5,
  colors: {
    text: '#1b1f24',
    muted: '#5b6470',
    accent: '#1f3a5f',
    rule: '#c9ced6',
    headerFill: '#e8ecf2',
    zebraFill: '#f6f7f9',
  },
} as const;

/** A pdfkit document with its page geometry, the current font role and text sanitising. */
export class PageLayout {
  private readonly glyphCache = new Map<string, Map<number, boolean>>();
  private readonly fontsPrepared = new Set<FontRole>();
  private font: FontRole = 'body';

  constructor(
    readonly doc: PDFKit.PDFDocument,
    private readonly fontSources: FontSources,
  ) {}

  get currentFont(): FontRole {
    return this.font;
  }
  get fontSize(): number {
    return internals(this.doc)._fontSize;
  }

  get contentWidth(): number {
    const p = this.doc.page;
    return p.width - p.margins.left - p.margins.right;
  }
  get left(): number {
    return this.doc.page.margins.left;
  }
  /** Lowest y usable for content on the current page. */
  get maxY(): number {
    return this.doc.page.height - this.doc.page.margins.bottom;
  }
  get usableHeight(): number {
    const p = this.doc.page;
    return p.height - p.margins.top - p.margins.bottom;
  }
  /** Space left on the current page. */
  get remaining(): number {
    return this.maxY - this.doc.y;
  }

  newPage(): void {
    this.doc.addPage();
    this.doc.x = this.left;
  }

  /** Start a new page unless `height` points fit on the current one. */
  ensureSpace(height: number): void {
    if (this.doc.y + height > this.maxY && this.doc.y > this.doc.page.margins.top + 0.5) this.newPage();
  }

  moveDown(points: number): void {
    this.doc.y = Math.min(this.doc.y + points, this.maxY);
  }

  setFont(role: FontRole, size?: number): void {
    this.doc.font(role);
    if (!this.fontsPrepared.has(role)) {
      this.fontsPrepared.add(role);
      shareEmbeddedFont(this.fontSources[role], internals(this.doc)._font);
    }
    if (size !== undefined) this.doc.fontSize(size);
    this.font = role;
  }

  /**
   * Make text safe for the current font: normalise newlines, expand tabs, drop control
   * characters, replace characters the font has no glyph for (PDF/A forbids .notdef).
   */
  safeText(text: string): string {
    const font = internals(this.doc)._font?.font;
    let cache = this.glyphCache.get(this.font);
    if (!cache) {
      cache = new Map();
      this.glyphCache.set(this.font, cache);
    }
    const has = (cp: number): boolean => {
      let v = cache.get(cp);
      if (v === undefined) {
        v = font ? font.hasGlyphForCodePoint(cp) : true;
        cache.set(cp, v);
      }
      return v;
    };
    const replacement = has(0xfffd) ? '\ufffd' : '?';
    let out = '';
    const src = text.replace(/\r\n?/g, '\n').replace(/\t/g, '    ');
    for (const ch of src) {
      const cp = ch.codePointAt(0) ?? 0;
      if (cp === 0x0a) out += ch;
      else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) continue;
      else if (cp === 0xad || cp === 0x200b || cp === 0xfeff) continue; // invisible: soft hyphen, ZWSP, BOM
      else out += cp < 0x7f || has(cp) ? ch : replacement;
    }
    return out;
  }

  /** Horizontal rule across the content width at the current y. */
  rule(color: string = STYLE.colors.rule, width = 0.5): void {
    const doc = this.doc;
    doc
      .save()
      .moveTo(this.left, doc.y)
      .lineTo(this.left + this.contentWidth, doc.y)
      .lineWidth(width)
      .strokeColor(color)
      .stroke()
      .restore();
  }

  /** Monospace characters per line of `width` (a multiple of 8 from 16 on); selects the mono font. */
  monoCharsPerLine(width: number): number {
    this.setFont('mono', STYLE.monoSize);
    const w = this.doc.widthOfString('0');
    const n = Math.max(8, Math.floor(width / w));
    return n >= 16 ? n - (n % 8) : n;
  }
}

/**
 * Split a string of monospace text into lines of at most `perLine` characters,
 * breaking long tokens (hex digests) at exact character counts so they stay copyable.
 */
export function chunkMono(text: string, perLine: number): string[] {
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    let line = raw;
    if (line.length === 0) lines.push('');
    while (line.length > 0) {
      lines.push(line.slice(0, perLine));
      line = line.slice(perLine);
    }
  }
  return lines;
}
