// Which embedded font draws each character: emoji (default emoji presentation) in Noto Emoji, else
// the block's own DejaVu font when it has the glyph, else a Noto font for the script, by glyph
// coverage (fontkit hasGlyphForCodePoint). Arabic is DejaVu's when it can: its joining forms are
// glyphs of their own, so the text extracted from the PDF is the text; Noto Sans Arabic builds
// letters from a shared dotless skeleton and dots, which extract as the wrong letters, so it only
// draws Arabic characters DejaVu lacks. A script font is registered with the document, and so embedded,
// only once a text needs it: a dossier in Latin script embeds DejaVu alone.
import { parsedFont, registrableFont } from './font-cache.js';
import { scriptFontSource, type FontRole, type ScriptFont } from './fonts.js';
import type { FontkitFont } from './pdfkit-internals.js';

/** Arabic script blocks (Arabic, Supplement, Extended-B/A, Presentation Forms-A/B). */
export function isArabic(cp: number): boolean {
  return (cp >= 0x0600 && cp <= 0x06ff) || (cp >= 0x0750 && cp <= 0x077f) || (cp >= 0x0870 && cp <= 0x08ff) || (cp >= 0xfb50 && cp <= 0xfdff) || (cp >= 0xfe70 && cp <= 0xfeff);
}

const EMOJI_PRESENTATION = /\p{Emoji_Presentation}/u;
const EXTENDER = /[\u200d\ufe0e\ufe0f\u20e3\u{1f3fb}-\u{1f3ff}\u{e0020}-\u{e007f}]|\p{M}/u;

/** Characters that belong to the glyph before them: joiners, variation selectors, skin tones, combining marks. */
export function isExtender(ch: string): boolean {
  return EXTENDER.test(ch);
}

/** Ideographs, kana, hangul and full-width forms: a line may break between any two of them. */
export function breaksAnywhere(cp: number): boolean {
  return (cp >= 0x2e80 && cp <= 0x9fff) || (cp >= 0xac00 && cp <= 0xd7af) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xff00 && cp <= 0xffef) || (cp >= 0x20000 && cp <= 0x3ffff);
}

const ORDER: readonly ScriptFont[] = ['cjk', 'emoji', 'arabic'];

export class ScriptFonts {
  private readonly parsed = new Map<string, FontkitFont>();
  private readonly registered = new Set<string>();
  private readonly coverage = new Map<string, Map<number, boolean>>();

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly primary: (role: FontRole) => FontkitFont | undefined,
  ) {}

  /** The pdfkit font name that draws `cp` in a block of `role`, or null when no font has it. */
  fontFor(cp: number, role: FontRole, emojiStyle = false): string | null {
    const bold = role === 'bold';
    if ((emojiStyle || EMOJI_PRESENTATION.test(String.fromCodePoint(cp))) && this.has(this.scriptName('emoji', bold), cp)) return this.use('emoji', bold);
    if (this.has(role, cp)) return role;
    for (const s of ORDER) if (this.has(this.scriptName(s, bold), cp)) return this.use(s, bold);
    return null;
  }

  /** Whether the text can be drawn by `role`'s own font alone, in one left-to-right run. */
  plain(text: string, role: FontRole): boolean {
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      if (cp < 0x7f) continue;
      if (isArabic(cp) || EMOJI_PRESENTATION.test(ch) || cp === 0xfe0f || !this.has(role, cp)) return false;
      // Hebrew, Syriac, Thaana, N'Ko and the other right-to-left blocks are laid out by bidi too.
      if ((cp >= 0x0590 && cp <= 0x08ff) || (cp >= 0xfb1d && cp <= 0xfb4f)) return false;
    }
    return true;
  }

  /** The font of a registered name (a role or a script font) for measuring glyph coverage. */
  font(name: string): FontkitFont | undefined {
    return (['body', 'bold', 'italic', 'mono'] as string[]).includes(name) ? this.primary(name as FontRole) : this.parsed.get(name);
  }

  /** Registers the script font with the document (first use) and returns its name. */
  private use(script: ScriptFont, bold: boolean): string {
    const name = this.scriptName(script, bold);
    if (!this.registered.has(name)) {
      this.registered.add(name);
      this.doc.registerFont(name, registrableFont(scriptFontSource(script, bold)));
    }
    return name;
  }

  private scriptName(script: ScriptFont, bold: boolean): string {
    return `${script}${bold ? '-bold' : ''}`;
  }

  has(name: string, cp: number): boolean {
    let c = this.coverage.get(name);
    if (!c) this.coverage.set(name, (c = new Map()));
    let v = c.get(cp);
    if (v === undefined) {
      let f = this.font(name);
      if (!f && !(['body', 'bold', 'italic', 'mono'] as string[]).includes(name)) {
        const [script, weight] = name.split('-') as [ScriptFont, string | undefined];
        f = parsedFont(scriptFontSource(script, weight === 'bold'));
        this.parsed.set(name, f);
      }
      v = f ? f.hasGlyphForCodePoint(cp) : false;
      c.set(cp, v);
    }
    return v;
  }

  /** The source bytes of a registered script font (for sharing pdfkit's parsed font). */
  source(name: string): Buffer | undefined {
    if (!this.registered.has(name)) return undefined;
    const [script, weight] = name.split('-') as [ScriptFont, string | undefined];
    return scriptFontSource(script, weight === 'bold');
  }
}
