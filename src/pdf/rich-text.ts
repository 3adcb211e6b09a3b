// Text that one font cannot draw in one left-to-right run: Chinese, Arabic, emoji, mixed with Latin.
// Laid out here instead of by pdfkit's line wrapper: the text is cut into runs (one font, one bidi
// level, a word or a single ideograph each), lines are filled greedily in logical order, each line
// is put in visual order by the Unicode Bidirectional Algorithm (bidi-js levels, rule L2 over the
// runs), and each run is drawn on a common baseline. fontkit shapes every run (Arabic joining
// forms and ligatures, emoji sequences) and lays a right-to-left run out right to left.
// Text extraction (pdfjs, pdftotext) gives the letters back, right-to-left runs in logical order,
// except that a ligature of two letters (Arabic lam-alef) comes out with its two letters swapped:
// the extractors reverse the ligature's two-letter mapping with the run.
// Not handled: mirrored brackets in right-to-left runs, line breaking rules beyond spaces and
// ideographs (kinsoku, Thai), justification (such paragraphs are aligned to their start side),
// vertical text.
import bidiModule from 'bidi-js';
import type { FontRole } from './fonts.js';
import { internals } from './pdfkit-internals.js';
import { breaksAnywhere, isExtender, type ScriptFonts } from './script-fonts.js';

/** What the layout needs of the page (PageLayout provides it; declared here so neither imports the other). */
export interface RichHost {
  readonly doc: PDFKit.PDFDocument;
  readonly scripts: ScriptFonts;
  readonly maxY: number;
  newPage(): void;
  useFont(name: string, size: number): void;
  widthIn(font: string, size: number, text: string): number;
  metricsOf(font: string, size: number): { ascent: number; descent: number };
}

// The package's module.exports is the factory itself (its typings call it the default export).
const factory = bidiModule as unknown as typeof bidiModule.default;
const bidi = factory();

export interface Segment {
  text: string;
  role: FontRole;
  underline?: boolean;
}

interface Run {
  text: string;
  font: string;
  level: number;
  space: boolean;
  underline: boolean;
  width: number;
}

export interface RichLine {
  runs: Run[];
  width: number;
}

export interface RichLayout {
  lines: RichLine[];
  rtl: boolean;
  lineHeight: number;
  ascent: number;
}

/** Cuts the segments into runs: a new run at each change of font, bidi level or style, at each space and around each ideograph. */
function runsOf(l: RichHost, segments: readonly Segment[], size: number): { runs: Array<Run | 'newline'>; rtl: boolean } {
  const text = segments.map((s) => s.text).join('');
  const levels = bidi.getEmbeddingLevels(text, 'auto');
  const rtl = (levels.paragraphs[0]?.level ?? 0) % 2 === 1;
  const out: Array<Run | 'newline'> = [];
  let cur: Run | null = null;
  let at = 0;
  const close = () => {
    if (cur) out.push(cur);
    cur = null;
  };
  for (const seg of segments) {
    for (const ch of seg.text) {
      const i = at;
      at += ch.length;
      if (ch === '\n') {
        close();
        out.push('newline');
        continue;
      }
      const cp = ch.codePointAt(0)!;
      const level = levels.levels[i] ?? 0;
      const underline = !!seg.underline;
      if (cur && isExtender(ch)) {
        const c: Run = cur;
        if (l.scripts.has(c.font, cp)) c.text += ch;
        continue;
      }
      const space = ch === ' ';
      const font = l.scripts.fontFor(cp, seg.role) ?? l.scripts.fontFor(0xfffd, seg.role) ?? seg.role;
      const glyph = l.scripts.fontFor(cp, seg.role) ? ch : '\ufffd';
      const c = cur as Run | null;
      if (!c || space || c.space || breaksAnywhere(cp) || breaksAnywhere(c.text.codePointAt(c.text.length - 1) ?? 0) || c.font !== font || c.level !== level || c.underline !== underline) {
        close();
        cur = { text: glyph, font, level, space, underline, width: 0 };
      } else c.text += glyph;
    }
  }
  close();
  for (const r of out) if (r !== 'newline') r.width = l.widthIn(r.font, size, r.text);
  return { runs: out, rtl };
}

/** Rule L2: from the highest level down to the lowest odd one, reverse every sequence of runs at that level or higher. */
function visualOrder(runs: Run[]): Run[] {
  const out = [...runs];
  if (out.length === 0) return out;
  const max = Math.max(...out.map((r) => r.level));
  const minOdd = Math.min(...out.map((r) => r.level).filter((v) => v % 2 === 1), Infinity);
  for (let k = max; k >= minOdd && k > 0; k--) {
    for (let i = 0; i < out.length; ) {
      if (out[i]!.level < k) {
        i++;
        continue;
      }
      let j = i;
      while (j < out.length && out[j]!.level >= k) j++;
      out.splice(i, j - i, ...out.slice(i, j).reverse());
      i = j;
    }
  }
  return out;
}

/** Lines of at most `width` points. */
export function layoutRich(l: RichHost, segments: readonly Segment[], width: number, size: number, lineGap: number): RichLayout {
  const { runs, rtl } = runsOf(l, segments, size);
  const fonts = new Set<string>(segments.map((s) => s.role));
  for (const r of runs) if (r !== 'newline') fonts.add(r.font);
  let ascent = 0;
  let descent = 0;
  for (const f of fonts) {
    const m = l.metricsOf(f, size);
    ascent = Math.max(ascent, m.ascent);
    descent = Math.max(descent, m.descent);
  }
  const lines: RichLine[] = [];
  let line: Run[] = [];
  let w = 0;
  const push = () => {
    while (line.length && line.at(-1)!.space) w -= line.pop()!.width;
    lines.push({ runs: visualOrder(line), width: w });
    line = [];
    w = 0;
  };
  for (const r of runs) {
    if (r === 'newline') {
      push();
      continue;
    }
    if (r.space && line.length === 0) continue;
    if (!r.space && line.length > 0 && w + r.width > width) push();
    if (r.width > width && !r.space) {
      // A run wider than the line (a long token): cut between characters.
      let part = '';
      for (const ch of r.text) {
        const next = l.widthIn(r.font, size, part + ch);
        if (part && w + next > width) {
          line.push({ ...r, text: part, width: l.widthIn(r.font, size, part) });
          w += line.at(-1)!.width;
          push();
          part = '';
        }
        part += ch;
      }
      if (part) {
        line.push({ ...r, text: part, width: l.widthIn(r.font, size, part) });
        w += line.at(-1)!.width;
      }
      continue;
    }
    line.push(r);
    w += r.width;
  }
  if (line.length || lines.length === 0) push();
  return { lines, rtl, lineHeight: ascent + descent + lineGap, ascent };
}

export interface RichDrawOptions {
  x: number;
  y: number;
  width: number;
  size: number;
  color: string;
  align?: 'left' | 'right' | 'center' | 'justify';
  /** Start a new page when a line does not fit (flowing text); table cells do not. */
  flow?: boolean;
}

/** Draws a layout line by line; returns the y below it. */
export function drawRich(l: RichHost, layout: RichLayout, o: RichDrawOptions): number {
  const doc = l.doc;
  let y = o.y;
  for (const line of layout.lines) {
    if (o.flow && y + layout.lineHeight > l.maxY && y > doc.page.margins.top + 0.5) {
      l.newPage();
      y = doc.y;
    }
    const align = o.align === 'center' ? 'center' : o.align === 'right' || (layout.rtl && o.align !== 'left') ? 'right' : 'left';
    let x = align === 'right' ? o.x + o.width - line.width : align === 'center' ? o.x + (o.width - line.width) / 2 : o.x;
    for (const r of line.runs) {
      l.useFont(r.font, o.size);
      const base = y + layout.ascent;
      doc.fillColor(o.color).text(r.text, x, base, { lineBreak: false, baseline: 'alphabetic' });
      // pdfkit places an underline from the line's top, which the baseline option moves: drawn here.
      if (r.underline) doc.save().moveTo(x, base + o.size * 0.12).lineTo(x + r.width, base + o.size * 0.12).lineWidth(o.size / 18).strokeColor(o.color).stroke().restore();
      x += r.width;
    }
    y += layout.lineHeight;
  }
  doc.x = o.x;
  doc.y = y;
  return y;
}

/** pdfkit's ascender/descender of the current font, in points at `size`. */
export function currentMetrics(doc: PDFKit.PDFDocument, size: number): { ascent: number; descent: number } {
  const f = internals(doc)._font as unknown as { ascender: number; descender: number } | null;
  return f ? { ascent: (f.ascender / 1000) * size, descent: (-f.descender / 1000) * size } : { ascent: size * 0.8, descent: size * 0.2 };
}
