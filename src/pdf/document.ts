/**
 * PDF/A-3b document machinery for evidence dossiers, on top of pdfkit 0.20.
 *
 * - PDF 1.7, PDF/A-3b identification in XMP, sRGB output intent (pdfkit), embedded
 *   DejaVu TrueType fonts (subsetted) registered as 'body', 'bold', 'italic', 'mono';
 *   pdfkit's non-embeddable standard fonts are never loaded.
 * - Deterministic: CreationDate/ModDate pinned to `issuedAt`, trailer /ID derived from
 *   the inputs, attachment dates pinned; the same inputs give byte-identical output.
 * - XMP metadata written by us (pdfkit does not XML-escape it) and kept equivalent to
 *   the Info dictionary, as PDF/A requires.
 * - Layout helpers: headings with bookmarks, flowing paragraphs, key/value blocks,
 *   wrapped monospace hash lines, tables whose rows never split across pages, footer
 *   with "Page X of Y", PDF/A-3 attachments with /AFRelationship.
 * - An optional signature placeholder (see sign.ts) so the result can be signed.
 */
import { createHash } from 'node:crypto';
import PDFDocument from 'pdfkit';
import { defaultFontSources, type FontRole, type FontSources } from './fonts.js';
import { addSignaturePlaceholder, type SignaturePlaceholderOptions } from './sign.js';

export type { FontRole, FontSources } from './fonts.js';

export type AttachmentRelationship = 'Data' | 'Source' | 'Alternative' | 'Supplement' | 'Unspecified';

export interface AttachmentSpec {
  /** File name shown in viewers; no path separators or control characters. */
  name: string;
  /** MIME type, e.g. "application/json" (PDF/A-3 requires one). */
  mimeType: string;
  description?: string;
  /** PDF/A-3 /AFRelationship. */
  relationship: AttachmentRelationship;
  /** Not listed in the EmbeddedFiles name tree (still referenced from the catalog /AF). */
  hidden?: boolean;
  /** Default: the document's issuedAt. */
  creationDate?: Date;
  /** Default: the document's issuedAt. PDF/A-3 requires /ModDate. */
  modifiedDate?: Date;
}

export interface DossierPdfOptions {
  /** Pinned CreationDate/ModDate (and default attachment/signature dates). */
  issuedAt: Date;
  title: string;
  author: string;
  subject?: string;
  keywords?: readonly string[];
  /** Info /Creator and xmp:CreatorTool. Default "assentmark". */
  creator?: string;
  /** Info /Producer and pdf:Producer. Default "assentmark (pdfkit)". */
  producer?: string;
  /** Document language (BCP 47). Default "en". */
  lang?: string;
  /** Stable identifier of the dossier; mixed into the trailer /ID. */
  documentId?: string;
  pageSize?: 'A4' | 'LETTER';
  /** Left part of the footer. Default: the title. */
  footerText?: string;
  /**
   * Signature placeholder options, or false for an unsignable document.
   * Default: a placeholder with signingTime = issuedAt.
   */
  signature?: Partial<SignaturePlaceholderOptions> | false;
  /** Font overrides (TTF/OTF bytes). Default: DejaVu Sans / Sans Mono from dejavu-fonts-ttf. */
  fonts?: Partial<FontSources>;
}

export interface KeyValueRow {
  key: string;
  value: string;
  /** Render the value in the monospace font (hashes, ids). */
  mono?: boolean;
}

export interface TableColumn {
  header: string;
  /** Relative width weight (default 1). */
  weight?: number;
  align?: 'left' | 'right' | 'center';
  mono?: boolean;
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

/** The parts of pdfkit's private state we rely on (pdfkit 0.20). */
interface PdfKitInternals {
  _id: Uint8Array;
  _font: { font: FontkitFont; layoutCache?: Record<string, unknown> } | null;
  _addInfo: () => void;
  appendXML(xml: string, newline?: boolean): void;
  _root: { data: Record<string, unknown> };
}

interface OutlineItem {
  addItem(title: string, options?: { expanded?: boolean }): OutlineItem;
  outlineData: Record<string, unknown>;
}

/**
 * Parsed fontkit fonts by source bytes. Parsing DejaVu (tables, GSUB/GPOS) costs more than
 * rendering a short dossier, so it is done once per process. A fontkit font is only read
 * from (plus internal glyph caches); each document still makes its own subset.
 */
const parsedFonts = new WeakMap<Buffer, FontkitFont>();

interface FontkitFont {
  hasGlyphForCodePoint(cp: number): boolean;
}

/**
 * pdfkit shapes text word by word (fontkit GSUB/GPOS) and caches the result per word in
 * each embedded font of a document. The result depends only on the font and the word, and
 * pdfkit never mutates it, so the cache can be shared by all documents. It is dropped and
 * rebuilt after LAYOUT_CACHE_MAX_DOCS documents to bound memory in long-running processes.
 */
const LAYOUT_CACHE_MAX_DOCS = 200;
const LAYOUT_CACHE_MAX_ENTRIES = 20_000;
const layoutCaches = new WeakMap<FontkitFont, { cache: Record<string, unknown>; uses: number }>();
function tooManyEntries(cache: Record<string, unknown>): boolean {
  let n = 0;
  for (const _ in cache) if (++n > LAYOUT_CACHE_MAX_ENTRIES) return true;
  return false;
}
function sharedLayoutCache(font: FontkitFont): Record<string, unknown> {
  let entry = layoutCaches.get(font);
  if (!entry || entry.uses >= LAYOUT_CACHE_MAX_DOCS || (entry.uses % 4 === 0 && tooManyEntries(entry.cache))) {
    entry = { cache: Object.create(null) as Record<string, unknown>, uses: 0 };
    layoutCaches.set(font, entry);
  }
  entry.uses++;
  return entry.cache;
}

/** XML 1.0 text escaping, dropping characters XML cannot carry. */
export function xmlEscape(s: string): string {
  return (
    s
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '')
      .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c)
  );
}

/** Metadata strings: single line, no control characters. */
function metaText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

function xmpDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function assertDate(d: unknown, what: string): asserts d is Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) throw new Error(`${what} must be a valid Date`);
}

/**
 * A dossier PDF under construction. Create with `createDossierPdf`, add content with the
 * helpers, then `finish()` for the unsigned bytes (pass them to `signPdf`).
 */
export class DossierPdf {
  /** The underlying pdfkit document, for drawing not covered by the helpers. */
  readonly doc: PDFKit.PDFDocument;
  readonly options: Readonly<DossierPdfOptions>;
  private readonly chunks: Buffer[] = [];
  private readonly done: Promise<Buffer>;
  private finished = false;
  private currentH1: OutlineItem | undefined;
  private readonly glyphCache = new Map<string, Map<number, boolean>>();
  private currentFont: FontRole = 'body';
  private readonly attachmentNames = new Set<string>();
  private readonly fontSources: FontSources;
  private readonly fontsPrepared = new Set<FontRole>();

  constructor(options: DossierPdfOptions) {
    assertDate(options.issuedAt, 'issuedAt');
    this.options = options;
    const issuedAt = new Date(Math.floor(options.issuedAt.getTime() / 1000) * 1000);
    const info: PDFKit.DocumentInfo & Record<string, unknown> = {
      Title: metaText(options.title),
      Author: metaText(options.author),
      Creator: metaText(options.creator ?? 'assentmark'),
      Producer: metaText(options.producer ?? 'assentmark (pdfkit)'),
      CreationDate: issuedAt,
      ModDate: issuedAt,
    };
    if (options.subject) info.Subject = metaText(options.subject);
    if (options.keywords && options.keywords.length > 0) info.Keywords = metaText(options.keywords.join(', '));

    const docOptions = {
      size: options.pageSize ?? 'A4',
      margins: { ...STYLE.margin },
      pdfVersion: '1.7',
      subset: 'PDF/A-3b',
      tagged: false,
      lang: options.lang ?? 'en',
      displayTitle: true,
      bufferPages: true,
      autoFirstPage: true,
      // null (not undefined): pdfkit must not load its default Helvetica (not embeddable).
      font: null,
      info,
    } as unknown as PDFKit.PDFDocumentOptions;
    this.doc = new PDFDocument(docOptions);
    this.done = new Promise<Buffer>((resolve, reject) => {
      this.doc.on('data', (c: Buffer) => this.chunks.push(c));
      this.doc.on('end', () => resolve(Buffer.concat(this.chunks)));
      this.doc.on('error', reject);
    });

    const internals = this.internals;
    // Deterministic trailer /ID: pdfkit's default is an MD5 of the info dictionary; make it
    // depend on the documentId too (two dossiers issued in the same second differ).
    internals._id = new Uint8Array(
      createHash('sha256')
        .update(JSON.stringify([options.documentId ?? '', info.Title, info.Author, info.Subject ?? '', issuedAt.toISOString()]))
        .digest()
        .subarray(0, 16),
    );
    // pdfkit writes Info values into XMP without XML escaping; write the XMP ourselves.
    internals._addInfo = () => this.writeXmpInfo(info, issuedAt);

    const fonts: FontSources = { ...defaultFontSources(), ...options.fonts };
    this.fontSources = fonts;
    for (const role of ['body', 'bold', 'italic', 'mono'] as const) {
      // pdfkit accepts a parsed fontkit font in place of the bytes (PDFFontFactory.open).
      this.doc.registerFont(role, (parsedFonts.get(fonts[role]) ?? fonts[role]) as unknown as Buffer);
    }
    this.setFont('body', STYLE.bodySize);
    this.doc.fillColor(STYLE.colors.text);
  }

  private get internals(): PdfKitInternals {
    return this.doc as unknown as PdfKitInternals;
  }

  private writeXmpInfo(info: PDFKit.DocumentInfo & Record<string, unknown>, issuedAt: Date): void {
    const s = (v: unknown): string => xmlEscape(typeof v === 'string' ? v : '');
    let xml = `
<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
  <xmp:CreateDate>${xmpDate(issuedAt)}</xmp:CreateDate>
  <xmp:ModifyDate>${xmpDate(issuedAt)}</xmp:ModifyDate>
  <xmp:MetadataDate>${xmpDate(issuedAt)}</xmp:MetadataDate>
  <xmp:CreatorTool>${s(info.Creator)}</xmp:CreatorTool>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:format>application/pdf</dc:format>
  <dc:title><rdf:Alt><rdf:li xml:lang="x-default">${s(info.Title)}</rdf:li></rdf:Alt></dc:title>
  <dc:creator><rdf:Seq><rdf:li>${s(info.Author)}</rdf:li></rdf:Seq></dc:creator>`;
    if (info.Subject) xml += `\n  <dc:description><rdf:Alt><rdf:li xml:lang="x-default">${s(info.Subject)}</rdf:li></rdf:Alt></dc:description>`;
    xml += `
</rdf:Description>
<rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
  <pdf:Producer>${s(info.Producer)}</pdf:Producer>`;
    if (info.Keywords) xml += `\n  <pdf:Keywords>${s(info.Keywords)}</pdf:Keywords>`;
    xml += '\n</rdf:Description>';
    this.internals.appendXML(xml);
  }

  // ---------------------------------------------------------------- geometry

  get contentWidth(): number {
    const p = this.doc.page;
    return p.width - p.margins.left - p.margins.right;
  }
  private get left(): number {
    return this.doc.page.margins.left;
  }
  /** Lowest y usable for content on the current page. */
  private get maxY(): number {
    return this.doc.page.height - this.doc.page.margins.bottom;
  }
  private get usableHeight(): number {
    const p = this.doc.page;
    return p.height - p.margins.top - p.margins.bottom;
  }
  /** Space left on the current page. */
  get remaining(): number {
    return this.maxY - this.doc.y;
  }

  newPage(): this {
    this.doc.addPage();
    this.doc.x = this.left;
    return this;
  }

  /** Start a new page unless `height` points fit on the current one. */
  ensureSpace(height: number): this {
    if (this.doc.y + height > this.maxY && this.doc.y > this.doc.page.margins.top + 0.5) this.newPage();
    return this;
  }

  moveDown(points: number): this {
    this.doc.y = Math.min(this.doc.y + points, this.maxY);
    return this;
  }

  // ---------------------------------------------------------------- text

  setFont(role: FontRole, size?: number): this {
    this.doc.font(role);
    if (!this.fontsPrepared.has(role)) {
      this.fontsPrepared.add(role);
      const src = this.fontSources[role];
      const embedded = this.internals._font;
      if (embedded) {
        // Remember pdfkit's parsed (fontkit) font so later documents skip re-parsing it,
        // and share its per-word shaping cache across documents.
        if (!parsedFonts.has(src)) parsedFonts.set(src, embedded.font);
        if (embedded.layoutCache) embedded.layoutCache = sharedLayoutCache(embedded.font);
      }
    }
    if (size !== undefined) this.doc.fontSize(size);
    this.currentFont = role;
    return this;
  }

  /**
   * Make text safe for the current font: normalise newlines, expand tabs, drop control
   * characters, replace characters the font has no glyph for (PDF/A forbids .notdef).
   */
  safeText(text: string): string {
    const font = this.internals._font?.font;
    let cache = this.glyphCache.get(this.currentFont);
    if (!cache) {
      cache = new Map();
      this.glyphCache.set(this.currentFont, cache);
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

  /** Document title block (not bookmarked). */
  title(text: string, subtitle?: string): this {
    const doc = this.doc;
    this.setFont('bold', STYLE.titleSize);
    doc.fillColor(STYLE.colors.accent).text(this.safeText(text), this.left, doc.y, { width: this.contentWidth, lineGap: 2 });
    if (subtitle) {
      this.setFont('body', 11);
      doc.moveDown(0.2);
      doc.fillColor(STYLE.colors.muted).text(this.safeText(subtitle), this.left, doc.y, { width: this.contentWidth, lineGap: 2 });
    }
    doc.moveDown(0.4);
    this.rule(STYLE.colors.accent, 1.2);
    doc.moveDown(0.8);
    this.setFont('body', STYLE.bodySize);
    doc.fillColor(STYLE.colors.text);
    return this;
  }

  /**
   * Section heading with a bookmark (outline entry). Level 2 headings nest under the
   * last level 1 heading. Kept together with at least ~3 lines of what follows.
   */
  heading(text: string, level: 1 | 2 = 1): this {
    const doc = this.doc;
    const size = level === 1 ? STYLE.h1Size : STYLE.h2Size;
    this.setFont('bold', size);
    const clean = this.safeText(text).replace(/\n+/g, ' ');
    const h = doc.heightOfString(clean, { width: this.contentWidth });
    const atTop = doc.y <= doc.page.margins.top + 0.5;
    if (!atTop) doc.y += level === 1 ? 10 : 6;
    this.ensureSpace(h + 8 + 3 * (STYLE.bodySize * 1.2 + STYLE.lineGap));

    const top = doc.y;
    const parent: OutlineItem = level === 2 && this.currentH1 ? this.currentH1 : (doc.outline as unknown as OutlineItem);
    const item = parent.addItem(clean);
    // pdfkit 0.20 writes /XYZ with left = page width; point at the heading instead.
    item.outlineData['Dest'] = [doc.page.dictionary, 'XYZ', null, doc.page.height - top + 4, null];
    if (level === 1) this.currentH1 = item;

    doc.fillColor(STYLE.colors.accent).text(clean, this.left, top, { width: this.contentWidth });
    if (level === 1) {
      doc.y += 2;
      this.rule(STYLE.colors.rule, 0.6);
    }
    doc.y += level === 1 ? 6 : 3;
    this.setFont('body', STYLE.bodySize);
    doc.fillColor(STYLE.colors.text);
    return this;
  }

  /** Body paragraph; flows across pages as needed (never truncated). */
  paragraph(text: string, opts: { font?: FontRole; size?: number; color?: string; align?: 'left' | 'justify' | 'center' | 'right' } = {}): this {
    const doc = this.doc;
    this.setFont(opts.font ?? 'body', opts.size ?? STYLE.bodySize);
    doc.fillColor(opts.color ?? STYLE.colors.text);
    // Avoid a lone first line at the bottom of a page.
    this.ensureSpace(2 * (doc.currentLineHeight(true) + STYLE.lineGap));
    doc.text(this.safeText(text), this.left, doc.y, {
      width: this.contentWidth,
      align: opts.align ?? 'left',
      lineGap: STYLE.lineGap,
      paragraphGap: STYLE.paragraphGap,
    });
    this.setFont('body', STYLE.bodySize);
    doc.fillColor(STYLE.colors.text);
    return this;
  }

  /** Small grey note text. */
  note(text: string): this {
    return this.paragraph(text, { size: STYLE.smallSize, color: STYLE.colors.muted });
  }

  /** Horizontal rule across the content width at the current y. */
  rule(color: string = STYLE.colors.rule, width = 0.5): this {
    const doc = this.doc;
    doc
      .save()
      .moveTo(this.left, doc.y)
      .lineTo(this.left + this.contentWidth, doc.y)
      .lineWidth(width)
      .strokeColor(color)
      .stroke()
      .restore();
    return this;
  }

  /**
   * Split a string of monospace text into lines of at most `perLine` characters,
   * breaking long tokens (hex digests) at exact character counts so they stay copyable.
   */
  private chunkMono(text: string, perLine: number): string[] {
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

  private monoCharsPerLine(width: number): number {
    this.setFont('mono', STYLE.monoSize);
    const w = this.doc.widthOfString('0');
    const n = Math.max(8, Math.floor(width / w));
    return n >= 16 ? n - (n % 8) : n;
  }

  /**
   * A labelled monospace value (hash, id, signature). Long values wrap at exact character
   * counts (multiples of 8) without inserted spaces.
   */
  hashLine(label: string, hex: string): this {
    const doc = this.doc;
    this.setFont('body', STYLE.smallSize);
    const labelH = doc.currentLineHeight(true) + 1;
    const perLine = this.monoCharsPerLine(this.contentWidth - 12);
    const lines = this.chunkMono(this.safeText(hex), perLine);
    const lineH = doc.currentLineHeight(true) + 1;
    const total = labelH + lines.length * lineH + 6;
    if (total <= this.usableHeight) this.ensureSpace(total);

    this.setFont('body', STYLE.smallSize);
    doc.fillColor(STYLE.colors.muted).text(this.safeText(label), this.left, doc.y, { width: this.contentWidth, lineGap: 1 });
    this.setFont('mono', STYLE.monoSize);
    doc.fillColor(STYLE.colors.text);
    for (const line of lines) {
      this.ensureSpace(lineH);
      const y = doc.y;
      // lineBreak: false draws exactly one line but does not advance y.
      doc.text(line, this.left + 12, y, { lineBreak: false });
      doc.y = y + lineH;
    }
    doc.y += 6;
    doc.x = this.left;
    this.setFont('body', STYLE.bodySize);
    return this;
  }

  /** Lays out one key/value row: its texts and height (the same numbers keyValues draws with). */
  private layoutKeyValueRow(row: KeyValueRow, keyWidth: number, valueWidth: number): { key: string; valueText: string; h: number } {
    const doc = this.doc;
    this.setFont('bold', 9);
    const key = this.safeText(row.key);
    const kh = doc.heightOfString(key, { width: keyWidth, lineGap: 1.5 });
    let valueText: string;
    let vh: number;
    if (row.mono) {
      const perLine = this.monoCharsPerLine(valueWidth);
      valueText = this.chunkMono(this.safeText(row.value), perLine).join('\n');
      vh = doc.heightOfString(valueText, { width: valueWidth + 1, lineGap: 1.5 });
    } else {
      this.setFont('body', 9.5);
      valueText = this.safeText(row.value);
      vh = doc.heightOfString(valueText, { width: valueWidth, lineGap: 1.5 });
    }
    return { key, valueText, h: Math.max(kh, vh) + 4 };
  }

  /**
   * Height keyValues(rows, opts) will take when it starts at the top of a page (no page
   * breaks), so callers can keep a block together with its heading.
   */
  measureKeyValues(rows: readonly KeyValueRow[], opts: { keyWidth?: number } = {}): number {
    const keyWidth = opts.keyWidth ?? Math.round(this.contentWidth * 0.3);
    const valueWidth = this.contentWidth - keyWidth - 10;
    const font = this.currentFont;
    const size = (this.doc as unknown as { _fontSize: number })._fontSize;
    let h = 4;
    for (const row of rows) h += this.layoutKeyValueRow(row, keyWidth, valueWidth).h;
    this.setFont(font, size);
    return h;
  }

  /** Two-column key/value block; a row is never split across pages unless it is taller than a page. */
  keyValues(rows: readonly KeyValueRow[], opts: { keyWidth?: number } = {}): this {
    const keyWidth = opts.keyWidth ?? Math.round(this.contentWidth * 0.3);
    const gap = 10;
    const valueWidth = this.contentWidth - keyWidth - gap;
    const doc = this.doc;
    for (const row of rows) {
      const { key, valueText, h } = this.layoutKeyValueRow(row, keyWidth, valueWidth);
      if (h <= this.usableHeight) {
        this.ensureSpace(h);
        const y = doc.y;
        this.setFont('bold', 9);
        doc.fillColor(STYLE.colors.muted).text(key, this.left, y, { width: keyWidth, lineGap: 1.5 });
        if (row.mono) {
          this.setFont('mono', STYLE.monoSize);
          doc.fillColor(STYLE.colors.text).text(valueText, this.left + keyWidth + gap, y, { width: valueWidth + 1, lineGap: 1.5 });
        } else {
          this.setFont('body', 9.5);
          doc.fillColor(STYLE.colors.text).text(valueText, this.left + keyWidth + gap, y, { width: valueWidth, lineGap: 1.5 });
        }
        doc.y = y + h;
      } else {
        // Taller than a page: key on its own line, then the value flows.
        this.setFont('bold', 9);
        doc.fillColor(STYLE.colors.muted).text(key, this.left, doc.y, { width: this.contentWidth });
        this.setFont(row.mono ? 'mono' : 'body', row.mono ? STYLE.monoSize : 9.5);
        doc.fillColor(STYLE.colors.text).text(valueText, this.left + gap, doc.y, { width: this.contentWidth - gap, lineGap: 1.5 });
        doc.y += 4;
      }
    }
    doc.x = this.left;
    doc.y += 4;
    this.setFont('body', STYLE.bodySize);
    doc.fillColor(STYLE.colors.text);
    return this;
  }

  /**
   * Table with a header row (repeated after page breaks). Rows never split across pages:
   * a row that does not fit moves to the next page. A row taller than a whole page is
   * rendered as a stacked "header: value" block that flows, so no text is ever lost.
   */
  table(columns: readonly TableColumn[], rows: readonly (readonly string[])[], opts: { fontSize?: number } = {}): this {
    if (columns.length === 0) throw new Error('table needs at least one column');
    const doc = this.doc;
    const size = opts.fontSize ?? 8.5;
    const totalWeight = columns.reduce((s, c) => s + (c.weight ?? 1), 0);
    const widths = columns.map((c) => (this.contentWidth * (c.weight ?? 1)) / totalWeight);
    const padX = STYLE.cellPadX;
    const padY = STYLE.cellPadY;
    const lineGap = 1.2;

    const fontFor = (c: TableColumn, header: boolean): FontRole => (header ? 'bold' : c.mono ? 'mono' : 'body');
    const measure = (cells: readonly string[], header: boolean): { texts: string[]; height: number } => {
      let maxH = 0;
      const texts = columns.map((c, i) => {
        this.setFont(fontFor(c, header), header ? size : c.mono ? size - 0.5 : size);
        const t = this.safeText(cells[i] ?? '');
        const w = (widths[i] ?? 0) - 2 * padX;
        const h = t.length === 0 ? doc.currentLineHeight(true) : doc.heightOfString(t, { width: w, lineGap });
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
          .rect(this.left, y, this.contentWidth, height)
          .fillColor(header ? STYLE.colors.headerFill : STYLE.colors.zebraFill)
          .fill()
          .restore();
      }
      let x = this.left;
      columns.forEach((c, i) => {
        const w = widths[i] ?? 0;
        this.setFont(fontFor(c, header), header ? size : c.mono ? size - 0.5 : size);
        doc.fillColor(header ? STYLE.colors.accent : STYLE.colors.text).text(texts[i] ?? '', x + padX, y + padY, {
          width: w - 2 * padX,
          lineGap,
          align: header ? 'left' : (c.align ?? 'left'),
        });
        x += w;
      });
      doc
        .save()
        .moveTo(this.left, y + height)
        .lineTo(this.left + this.contentWidth, y + height)
        .lineWidth(header ? 0.8 : 0.4)
        .strokeColor(header ? STYLE.colors.accent : STYLE.colors.rule)
        .stroke()
        .restore();
      doc.x = this.left;
      doc.y = y + height;
    };

    const header = measure(
      columns.map((c) => c.header),
      true,
    );
    const firstRow = rows[0] ? measure(rows[0], false).height : 0;
    this.ensureSpace(header.height + Math.min(firstRow, this.usableHeight - header.height));
    drawRow(header.texts, header.height, true, false);

    rows.forEach((row, r) => {
      const m = measure(row, false);
      if (doc.y + m.height > this.maxY) {
        if (m.height + header.height <= this.usableHeight) {
          this.newPage();
          drawRow(header.texts, header.height, true, false);
        }
      }
      if (doc.y + m.height <= this.maxY) {
        drawRow(m.texts, m.height, false, r % 2 === 1);
        return;
      }
      // Oversized row: stacked layout that flows across pages.
      columns.forEach((c, i) => {
        this.setFont('bold', size);
        this.ensureSpace(2 * doc.currentLineHeight(true));
        doc.fillColor(STYLE.colors.accent).text(this.safeText(c.header), this.left + padX, doc.y, { width: this.contentWidth - 2 * padX });
        this.setFont(c.mono ? 'mono' : 'body', size);
        doc.fillColor(STYLE.colors.text).text(m.texts[i] ?? '', this.left + 2 * padX, doc.y, { width: this.contentWidth - 3 * padX, lineGap });
      });
      doc.y += padY;
      this.rule();
      doc.y += padY;
    });
    doc.x = this.left;
    doc.y += 8;
    this.setFont('body', STYLE.bodySize);
    doc.fillColor(STYLE.colors.text);
    return this;
  }

  // ---------------------------------------------------------------- attachments

  /**
   * Embed a file as a PDF/A-3 associated file: an /EmbeddedFile stream (MIME /Subtype,
   * /Params with Size, MD5 CheckSum, CreationDate and ModDate), a /Filespec with /F, /UF,
   * /Desc and /AFRelationship, referenced from the catalog /AF array and (unless hidden)
   * from the EmbeddedFiles name tree.
   *
   * (Not pdfkit's doc.file(): it writes CheckSum as a 32-character hex text instead of
   * the 16-byte MD5 string ISO 32000 asks for, and treats string sources as file paths.)
   */
  attach(data: Uint8Array, spec: AttachmentSpec): this {
    if (!(data instanceof Uint8Array)) throw new Error('attachment data must be a Buffer/Uint8Array');
    // eslint-disable-next-line no-control-regex
    if (!spec.name || spec.name.length > 200 || /[\u0000-\u001f\u007f/\\]/.test(spec.name)) throw new Error(`invalid attachment name: ${JSON.stringify(spec.name)}`);
    if (this.attachmentNames.has(spec.name)) throw new Error(`duplicate attachment name: ${spec.name}`);
    if (!/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i.test(spec.mimeType)) throw new Error(`invalid MIME type: ${spec.mimeType}`);
    if (!['Data', 'Source', 'Alternative', 'Supplement', 'Unspecified'].includes(spec.relationship)) throw new Error(`invalid relationship: ${spec.relationship}`);
    const creationDate = spec.creationDate ?? this.options.issuedAt;
    const modDate = spec.modifiedDate ?? this.options.issuedAt;
    assertDate(creationDate, 'attachment creationDate');
    assertDate(modDate, 'attachment modifiedDate');
    this.attachmentNames.add(spec.name);

    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const doc = this.doc;
    // PDF name: '#' and '/' (and anything outside the regular characters) as #XX.
    const subtype = spec.mimeType.replace(/[^A-Za-z0-9!$&^_.+-]/g, (c) => `#${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
    const stream = doc.ref({
      Type: 'EmbeddedFile',
      Subtype: subtype,
      Params: {
        Size: bytes.byteLength,
        CheckSum: new Uint8Array(createHash('md5').update(bytes).digest()),
        CreationDate: creationDate,
        ModDate: modDate,
      },
    });
    stream.end(bytes);
    const asciiName = spec.name.replace(/[^\x20-\x7e]/g, '_');
    const filespec: Record<string, unknown> = {
      Type: 'Filespec',
      F: new String(asciiName),
      UF: new String(spec.name),
      EF: { F: stream, UF: stream },
      AFRelationship: spec.relationship,
    };
    if (spec.description) filespec['Desc'] = new String(metaText(spec.description));
    const ref = doc.ref(filespec);
    ref.end(undefined);
    if (spec.hidden !== true) doc.addNamedEmbeddedFile(spec.name, ref);
    const root = this.internals._root.data;
    const af = root['AF'];
    if (Array.isArray(af)) af.push(ref);
    else root['AF'] = [ref];
    return this;
  }

  // ---------------------------------------------------------------- finishing

  private drawFooters(): void {
    const doc = this.doc;
    const range = doc.bufferedPageRange();
    this.setFont('body', 7.5);
    const footer = this.safeText(metaText(this.options.footerText ?? this.options.title));
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
      this.setFont('body', 7.5);
      doc.fillColor(STYLE.colors.muted);
      const pageLabel = `Page ${i + 1} of ${range.count}`;
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

  /**
   * Draw footers, add the signature placeholder (unless disabled), end the document and
   * return the complete unsigned PDF bytes. Can be called once.
   */
  finish(): Promise<Buffer> {
    if (this.finished) throw new Error('finish() already called');
    this.finished = true;
    this.drawFooters();
    const sig = this.options.signature;
    if (sig !== false) {
      addSignaturePlaceholder(this.doc, {
        name: this.options.author,
        ...sig,
        signingTime: sig?.signingTime ?? this.options.issuedAt,
      });
    }
    this.doc.end();
    return this.done;
  }
}

/**
 * Render a dossier in one call: create the document, let `build` add the content, and
 * return the unsigned bytes (with a signature placeholder unless `signature: false`).
 */
export async function renderDossierPdf(options: DossierPdfOptions, build: (pdf: DossierPdf) => void | Promise<void>): Promise<Buffer> {
  const pdf = new DossierPdf(options);
  await build(pdf);
  return pdf.finish();
}

/**
 * Pay the one-off costs (font parsing, JIT warm-up of pdfkit/fontkit) before the first
 * real dossier, e.g. at server start. Optional; output is identical either way.
 */
export async function warmUpPdfEngine(): Promise<void> {
  const d = new DossierPdf({ issuedAt: new Date(0), title: 'warm-up', author: 'assentmark', signature: false });
  d.title('Warm-up document', 'Subtitle');
  d.keyValues([{ key: 'Key', value: 'Value' }, { key: 'Hash', value: '0123456789abcdef'.repeat(4), mono: true }]);
  d.heading('1. Heading');
  d.paragraph('The quick brown fox jumps over the lazy dog. 0123456789 (a) [b] {c} "d" e-f g/h i.j k,l m:n o;p q!r s?t');
  d.paragraph('Italic text', { font: 'italic' });
  d.hashLine('Hash', 'fedcba9876543210'.repeat(8));
  d.table([{ header: 'A' }, { header: 'B', mono: true }], [['1', 'x'], ['2', 'y']]);
  await d.finish();
}

/** Create a PDF/A-3b dossier document. */
export function createDossierPdf(options: DossierPdfOptions): DossierPdf {
  return new DossierPdf(options);
}
