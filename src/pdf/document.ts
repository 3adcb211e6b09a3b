/**
 * PDF/A-3b document machinery for evidence dossiers, on top of pdfkit 0.20.
 *
 * - PDF 1.7, PDF/A-3b identification in XMP, sRGB output intent (pdfkit), embedded
 *   DejaVu TrueType fonts (subsetted) registered as 'body', 'bold', 'italic', 'mono';
 *   pdfkit's non-embeddable standard fonts are never loaded.
 * - Deterministic: CreationDate/ModDate pinned to `issuedAt`, trailer /ID derived from
 *   the inputs (document-id.ts), attachment dates pinned; the same inputs give
 *   byte-identical output.
 * - XMP metadata written by us (xmp.ts) and kept equivalent to the Info dictionary.
 * - Layout: page geometry and text primitives (layout.ts), headings with bookmarks,
 *   paragraphs and hash lines (blocks.ts), key/value blocks (key-values.ts), tables whose
 *   rows never split across pages (tables.ts), "Page X of Y" footers (footer.ts),
 *   PDF/A-3 attachments with /AFRelationship (attachments.ts).
 * - An optional signature placeholder (see sign.ts) so the result can be signed.
 *
 * DossierPdf is the facade over these modules that the dossier renderer uses.
 */
import PDFDocument from 'pdfkit';
import { Attachments, type AttachmentSpec } from './attachments.js';
import { drawHashLine, drawHeading, drawParagraph, drawTitle, type ParagraphOptions } from './blocks.js';
import { setDocumentId } from './document-id.js';
import { registrableFont } from './font-cache.js';
import { defaultFontSources, type FontRole, type FontSources } from './fonts.js';
import { drawDraftMark } from './draft-mark.js';
import { drawFooters, pageIdentifier } from './footer.js';
import { drawKeyValues, measureKeyValues, type KeyValueOptions, type KeyValueRow } from './key-values.js';
import { PageLayout, STYLE } from './layout.js';
import { assertDate, documentInfo } from './metadata.js';
import type { OutlineItem } from './pdfkit-internals.js';
import { addSignaturePlaceholder, type SignaturePlaceholderOptions } from './sign.js';
import { drawTable, type TableColumn, type TableOptions } from './tables.js';
import { TableOfContents, type PlacedHeading } from './toc.js';
import { useEscapedXmpInfo } from './xmp.js';

export type { KeyValueRow } from './key-values.js';

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
  /** Bates-style page identifier: every page's footer carries `<prefix>-<page number, 4 digits>`. */
  pageIdPrefix?: string;
  /** Marks every page with this word (e.g. "DRAFT") under the content. */
  draftMark?: string;
  /**
   * Signature placeholder options, or false for an unsignable document.
   * Default: a placeholder with signingTime = issuedAt.
   */
  signature?: Partial<SignaturePlaceholderOptions> | false;
  /** Font overrides (TTF/OTF bytes). Default: DejaVu Sans / Sans Mono from dejavu-fonts-ttf. */
  fonts?: Partial<FontSources>;
}

/**
 * A dossier PDF under construction. Create with `createDossierPdf`, add content with the
 * helpers, then `finish()` for the unsigned bytes (pass them to `signPdf`).
 */
export class DossierPdf {
  /** The underlying pdfkit document, for drawing not covered by the helpers. */
  readonly doc: PDFKit.PDFDocument;
  readonly options: Readonly<DossierPdfOptions>;
  private readonly layout: PageLayout;
  private readonly attachments: Attachments;
  private readonly chunks: Buffer[] = [];
  private readonly done: Promise<Buffer>;
  private finished = false;
  private currentH1: OutlineItem | undefined;
  private readonly placed: PlacedHeading[] = [];
  private readonly tocs: TableOfContents[] = [];

  constructor(options: DossierPdfOptions) {
    assertDate(options.issuedAt, 'issuedAt');
    this.options = options;
    const issuedAt = new Date(Math.floor(options.issuedAt.getTime() / 1000) * 1000);
    const info = documentInfo(options, issuedAt);

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
    setDocumentId(this.doc, options.documentId, info, issuedAt);
    useEscapedXmpInfo(this.doc, info, issuedAt);

    const fonts: FontSources = { ...defaultFontSources(), ...options.fonts };
    for (const role of ['body', 'bold', 'italic', 'mono'] as const) this.doc.registerFont(role, registrableFont(fonts[role]));
    this.layout = new PageLayout(this.doc, fonts);
    this.attachments = new Attachments(this.doc, options.issuedAt);
    this.layout.setFont('body', STYLE.bodySize);
    this.doc.fillColor(STYLE.colors.text);
  }

  /** The current page, 0-based (content is always added to the last page). */
  get pageIndex(): number {
    return this.doc.bufferedPageRange().count - 1;
  }

  // ---------------------------------------------------------------- geometry

  get contentWidth(): number {
    return this.layout.contentWidth;
  }
  /** Space left on the current page. */
  get remaining(): number {
    return this.layout.remaining;
  }

  newPage(): this {
    this.layout.newPage();
    return this;
  }

  /** Start a new page unless `height` points fit on the current one. */
  ensureSpace(height: number): this {
    this.layout.ensureSpace(height);
    return this;
  }

  moveDown(points: number): this {
    this.layout.moveDown(points);
    return this;
  }

  // ---------------------------------------------------------------- text

  setFont(role: FontRole, size?: number): this {
    this.layout.setFont(role, size);
    return this;
  }

  /**
   * Make text safe for the current font: normalise newlines, expand tabs, drop control
   * characters, replace characters the font has no glyph for (PDF/A forbids .notdef).
   */
  safeText(text: string): string {
    return this.layout.safeText(text);
  }

  /** As safeText, for text drawn through the rich layout: only characters no embedded font has are replaced. */
  cleanText(text: string): string {
    return this.layout.cleanText(text);
  }

  /** Document title block (not bookmarked). */
  title(text: string, subtitle?: string): this {
    drawTitle(this.layout, text, subtitle);
    return this;
  }

  /**
   * Section heading with a bookmark (outline entry). Level 2 headings nest under the
   * last level 1 heading. Kept together with at least ~3 lines of what follows.
   */
  heading(text: string, level: 1 | 2 = 1): this {
    const { item, title, top } = drawHeading(this.layout, text, level, this.currentH1);
    if (level === 1) this.currentH1 = item;
    this.placed.push({ title, level, page: this.pageIndex, top });
    return this;
  }

  /**
   * A table of contents of these headings (as `heading()` will be given them): the lines are
   * drawn here, their page numbers and links when the document is finished.
   */
  tableOfContents(entries: ReadonlyArray<{ title: string; level: 1 | 2 }>): this {
    const toc = new TableOfContents();
    toc.reserve(this.layout, entries.map((e) => ({ title: e.title.replace(/\n+/g, ' '), level: e.level })));
    this.tocs.push(toc);
    return this;
  }

  /** The pages headings were drawn on, in order. */
  get headings(): readonly PlacedHeading[] {
    return this.placed;
  }

  /** Body paragraph; flows across pages as needed (never truncated). */
  paragraph(text: string, opts: ParagraphOptions = {}): this {
    drawParagraph(this.layout, text, opts);
    return this;
  }

  /** Whether body text needs no script font and no right-to-left layout (pdfkit's own wrapping draws it). */
  plainText(text: string): boolean {
    return !this.layout.needsRich(text, 'body') && !this.layout.needsRich(text, 'bold');
  }

  /** A flowing paragraph of styled segments through the rich layout (script fonts, bidi). */
  richParagraph(segments: ReadonlyArray<{ text: string; role: FontRole; underline?: boolean }>, o: { size: number; lineGap: number; paragraphGap: number }): this {
    this.layout.textBox(segments, this.layout.left, this.doc.y, { width: this.contentWidth, size: o.size, role: 'body', lineGap: o.lineGap, paragraphGap: o.paragraphGap, flow: true });
    this.layout.setFont('body', STYLE.bodySize);
    return this;
  }

  /** Small grey note text. */
  note(text: string): this {
    return this.paragraph(text, { size: STYLE.smallSize, color: STYLE.colors.muted });
  }

  /** Horizontal rule across the content width at the current y. */
  rule(color: string = STYLE.colors.rule, width = 0.5): this {
    this.layout.rule(color, width);
    return this;
  }

  /**
   * A labelled monospace value (hash, id, signature). Long values wrap at exact character
   * counts (multiples of 8) without inserted spaces.
   */
  hashLine(label: string, hex: string): this {
    drawHashLine(this.layout, label, hex);
    return this;
  }

  /**
   * Height keyValues(rows, opts) will take when it starts at the top of a page (no page
   * breaks), so callers can keep a block together with its heading.
   */
  measureKeyValues(rows: readonly KeyValueRow[], opts: KeyValueOptions = {}): number {
    return measureKeyValues(this.layout, rows, opts);
  }

  /** Two-column key/value block; a row is never split across pages unless it is taller than a page. */
  keyValues(rows: readonly KeyValueRow[], opts: KeyValueOptions = {}): this {
    drawKeyValues(this.layout, rows, opts);
    return this;
  }

  /**
   * Table with a header row (repeated after page breaks). Rows never split across pages;
   * a row taller than a whole page is stacked so no text is lost.
   */
  table(columns: readonly TableColumn[], rows: readonly (readonly string[])[], opts: TableOptions = {}): this {
    drawTable(this.layout, columns, rows, opts);
    return this;
  }

  // ---------------------------------------------------------------- attachments

  /** Embed a file as a PDF/A-3 associated file (see Attachments.add). */
  attach(data: Uint8Array, spec: AttachmentSpec): this {
    this.attachments.add(data, spec);
    return this;
  }

  // ---------------------------------------------------------------- finishing

  /**
   * Draw footers, add the signature placeholder (unless disabled), end the document and
   * return the complete unsigned PDF bytes. Can be called once.
   */
  finish(): Promise<Buffer> {
    if (this.finished) throw new Error('finish() already called');
    this.finished = true;
    const kids = (this.doc as unknown as { _root: { data: { Pages: { data: { Kids: unknown[] } } } } })._root.data.Pages.data.Kids;
    for (const toc of this.tocs) toc.fill(this.layout, this.placed, (page) => kids[page]);
    // After the content (a text drawn while pdfkit wraps a paragraph onto a new page would
    // break the paragraph), translucent so the content shows through.
    const mark = this.options.draftMark;
    if (mark) {
      const range = this.doc.bufferedPageRange();
      for (let i = range.start; i < range.start + range.count; i++) {
        this.doc.switchToPage(i);
        drawDraftMark(this.layout, mark);
      }
    }
    const prefix = this.options.pageIdPrefix;
    drawFooters(this.layout, this.options.footerText ?? this.options.title, prefix ? (n) => pageIdentifier(prefix, n) : undefined);
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

/** Create a PDF/A-3b dossier document. */
export function createDossierPdf(options: DossierPdfOptions): DossierPdf {
  return new DossierPdf(options);
}
