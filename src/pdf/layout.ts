// Page geometry and text primitives every dossier block is drawn with.
import { parsedFont, shareEmbeddedFont } from './font-cache.js';
import type { FontRole, FontSources } from './fonts.js';
import { internals } from './pdfkit-internals.js';
import { currentMetrics, drawRich, layoutRich, type RichLayout, type Segment } from './rich-text.js';
import { ScriptFonts } from './script-fonts.js';

/** How a block of text is set: the box and the text options pdfkit's wrapper takes too. */
export interface TextBoxOptions {
  width: number;
  size: number;
  role: FontRole;
  lineGap?: number;
  paragraphGap?: number;
  align?: 'left' | 'justify' | 'center' | 'right';
  color?: string;
  /** Flowing text starts a new page when a line does not fit. */
  flow?: boolean;
}

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
  private readonly fontsPrepared = new Set<string>();
  private font: FontRole = 'body';
  /** The font for each character, with the script fonts a text needs. */
  readonly scripts: ScriptFonts;

  constructor(
    readonly doc: PDFKit.PDFDocument,
    private readonly fontSources: FontSources,
  ) {
    this.scripts = new ScriptFonts(doc, (role) => parsedFont(this.fontSources[role]));
  }

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

  /** Selects a role's font or a script font by its registered name (rich text runs). */
  useFont(name: string, size: number): void {
    if ((['body', 'bold', 'italic', 'mono'] as string[]).includes(name)) {
      this.setFont(name as FontRole, size);
      return;
    }
    this.doc.font(name);
    if (!this.fontsPrepared.has(name)) {
      this.fontsPrepared.add(name);
      const src = this.scripts.source(name);
      if (src) shareEmbeddedFont(src, internals(this.doc)._font);
    }
    this.doc.fontSize(size);
  }

  widthIn(font: string, size: number, text: string): number {
    this.useFont(font, size);
    return this.doc.widthOfString(text);
  }

  metricsOf(font: string, size: number): { ascent: number; descent: number } {
    this.useFont(font, size);
    return currentMetrics(this.doc, size);
  }

  /** Whether a text needs the rich path (script fonts, right-to-left runs) in a block of `role`. */
  needsRich(text: string, role: FontRole): boolean {
    return !this.scripts.plain(text, role);
  }

  private richLayout(text: string | readonly Segment[], o: TextBoxOptions): RichLayout {
    const segments = typeof text === 'string' ? [{ text, role: o.role }] : text;
    return layoutRich(this, segments, o.width, o.size, o.lineGap ?? 0);
  }

  /**
   * Draws a block of text at (x, y) as pdfkit's doc.text would; text one font cannot draw
   * left to right goes through the rich layout (script fonts, bidi). Leaves the role's font set.
   */
  textBox(text: string | readonly Segment[], x: number, y: number, o: TextBoxOptions): void {
    const plainText = typeof text === 'string' && !this.needsRich(text, o.role);
    if (plainText) {
      this.setFont(o.role, o.size);
      if (o.color) this.doc.fillColor(o.color);
      const opts: PDFKit.Mixins.TextOptions = { width: o.width };
      if (o.lineGap !== undefined) opts.lineGap = o.lineGap;
      if (o.paragraphGap !== undefined) opts.paragraphGap = o.paragraphGap;
      if (o.align !== undefined) opts.align = o.align;
      this.doc.text(text, x, y, opts);
      return;
    }
    const layout = this.richLayout(text, o);
    drawRich(this, layout, { x, y, width: o.width, size: o.size, color: o.color ?? STYLE.colors.text, align: o.align, flow: o.flow });
    this.doc.y += o.paragraphGap ?? 0;
    this.setFont(o.role, o.size);
  }

  /** Height textBox(text, …, o) takes (no page breaks). */
  textHeight(text: string, o: TextBoxOptions): number {
    if (!this.needsRich(text, o.role)) {
      this.setFont(o.role, o.size);
      return this.doc.heightOfString(text, o.lineGap === undefined ? { width: o.width } : { width: o.width, lineGap: o.lineGap });
    }
    const layout = this.richLayout(text, o);
    this.setFont(o.role, o.size);
    return layout.lines.length * layout.lineHeight;
  }

  /**
   * Make text safe for the current font: normalise newlines, expand tabs, drop control
   * characters, replace characters the font has no glyph for (PDF/A forbids .notdef).
   */
  safeText(text: string): string {
    const role = this.font;
    return this.sanitise(text, (cp) => this.scripts.has(role, cp));
  }

  /**
   * As safeText, for text drawn with textBox: a character is kept when any embedded font (the
   * role's or a script font) has it; only one no font has becomes U+FFFD.
   */
  cleanText(text: string): string {
    const role = this.font;
    return this.sanitise(text, (cp) => this.scripts.has(role, cp) || this.scripts.fontFor(cp, role) !== null);
  }

  private sanitise(text: string, has: (cp: number) => boolean): string {
    const role = this.font;
    const replacement = this.scripts.has(role, 0xfffd) ? '\ufffd' : '?';
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
