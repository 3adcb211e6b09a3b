// The parts of pdfkit's private state the dossier relies on (pdfkit 0.20). Pinned pdfkit version:
// these shapes are checked by the PDF tests, not by pdfkit's typings.

/** The fontkit font object pdfkit parsed from a font file (read-only for us). */
export interface FontkitFont {
  hasGlyphForCodePoint(cp: number): boolean;
}

export interface PdfKitInternals {
  /** Trailer /ID (both halves). */
  _id: Uint8Array;
  /** The current font: its fontkit font and pdfkit's per-word shaping cache. */
  _font: { font: FontkitFont; layoutCache?: Record<string, unknown> } | null;
  _fontSize: number;
  /** Writes the Info dictionary into the XMP metadata. */
  _addInfo: () => void;
  appendXML(xml: string, newline?: boolean): void;
  /** The document catalog. */
  _root: { data: Record<string, unknown> };
}

/** An entry of the document outline (bookmarks); `doc.outline` is the root. */
export interface OutlineItem {
  addItem(title: string, options?: { expanded?: boolean }): OutlineItem;
  outlineData: Record<string, unknown>;
}

export function internals(doc: PDFKit.PDFDocument): PdfKitInternals {
  return doc as unknown as PdfKitInternals;
}

export function outlineRoot(doc: PDFKit.PDFDocument): OutlineItem {
  return doc.outline as unknown as OutlineItem;
}
