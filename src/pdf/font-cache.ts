// Process-wide font caches shared by all dossier documents.
import { create } from 'fontkit';
import type { FontkitFont, PdfKitInternals } from './pdfkit-internals.js';

/**
 * Parsed fontkit fonts by source bytes. Parsing DejaVu (tables, GSUB/GPOS) costs more than
 * rendering a short dossier, so it is done once per process. A fontkit font is only read
 * from (plus internal glyph caches); each document still makes its own subset.
 */
const parsedFonts = new WeakMap<Buffer, FontkitFont>();

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

/**
 * What to pass to doc.registerFont for these font bytes: the already parsed fontkit font
 * when there is one (pdfkit's PDFFontFactory.open accepts it in place of the bytes).
 */
export function registrableFont(src: Buffer): Buffer {
  return (parsedFonts.get(src) ?? src) as unknown as Buffer;
}

/**
 * Called once per document and font, right after the font was first selected: remembers
 * pdfkit's parsed font for later documents and swaps in the shared shaping cache.
 */
export function shareEmbeddedFont(src: Buffer, embedded: PdfKitInternals['_font']): void {
  if (!embedded) return;
  if (!parsedFonts.has(src)) parsedFonts.set(src, embedded.font);
  if (embedded.layoutCache) embedded.layoutCache = sharedLayoutCache(embedded.font);
}

/** The parsed font of these bytes (parsed here once, then shared with pdfkit like any other). */
export function parsedFont(src: Buffer): FontkitFont {
  let f = parsedFonts.get(src);
  if (!f) {
    f = create(src) as unknown as FontkitFont;
    parsedFonts.set(src, f);
  }
  return f;
}
