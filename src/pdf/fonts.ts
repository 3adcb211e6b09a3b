/**
 * Font files for the evidence dossier.
 *
 * The dossier is PDF/A-3b, so every font must be embedded: pdfkit's built-in
 * standard fonts (AFM metrics only) are never used. We ship DejaVu TTFs via the
 * `dejavu-fonts-ttf` npm package, so nothing depends on system fonts.
 *
 * Resolution order for the font directory:
 *   1. `ASSENTMARK_FONT_DIR` environment variable (explicit override);
 *   2. node module resolution of `dejavu-fonts-ttf/package.json` from this file;
 *   3. walking up from this file (then from the working directory) to the first
 *      directory holding a package.json and looking in node_modules/dejavu-fonts-ttf/ttf.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Logical font names registered in every dossier document. */
export type FontRole = 'body' | 'bold' | 'italic' | 'mono';

export const FONT_FILE_NAMES: Readonly<Record<FontRole, string>> = {
  body: 'DejaVuSans.ttf',
  bold: 'DejaVuSans-Bold.ttf',
  italic: 'DejaVuSans-Oblique.ttf',
  mono: 'DejaVuSansMono.ttf',
};

/** Directory containing the package root (the first ancestor with a package.json). */
export function findPackageRoot(start: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

let cachedFontDir: string | undefined;

/** Absolute path of the directory holding the DejaVu .ttf files. Throws with a clear message if not found. */
export function resolveFontDir(): string {
  if (cachedFontDir !== undefined) return cachedFontDir;
  const candidates: string[] = [];
  const env = process.env['ASSENTMARK_FONT_DIR'];
  if (env) candidates.push(env);
  try {
    const require = createRequire(import.meta.url);
    candidates.push(join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf'));
  } catch {
    // not resolvable from here; try the package root below
  }
  // The package root of this file, then of the working directory (builds outside the tree).
  for (const root of [findPackageRoot(), findPackageRoot(process.cwd())]) {
    if (root) candidates.push(join(root, 'node_modules', 'dejavu-fonts-ttf', 'ttf'));
  }
  for (const dir of candidates) {
    if (existsSync(join(dir, FONT_FILE_NAMES.body))) {
      cachedFontDir = dir;
      return dir;
    }
  }
  throw new Error(
    `DejaVu TTF fonts not found (looked in: ${candidates.join(', ') || 'nowhere'}); ` +
      'install the "dejavu-fonts-ttf" npm package or set ASSENTMARK_FONT_DIR',
  );
}

const fontBytes = new Map<string, Buffer>();

/** Font file contents, read once per process. */
export function loadFontFile(path: string): Buffer {
  let buf = fontBytes.get(path);
  if (!buf) {
    buf = readFileSync(path);
    fontBytes.set(path, buf);
  }
  return buf;
}

export type FontSources = Record<FontRole, Buffer>;

/** The default font set (DejaVu Sans / Sans Mono) as Buffers. */
export function defaultFontSources(): FontSources {
  const dir = resolveFontDir();
  return {
    body: loadFontFile(join(dir, FONT_FILE_NAMES.body)),
    bold: loadFontFile(join(dir, FONT_FILE_NAMES.bold)),
    italic: loadFontFile(join(dir, FONT_FILE_NAMES.italic)),
    mono: loadFontFile(join(dir, FONT_FILE_NAMES.mono)),
  };
}

/** Fonts for scripts DejaVu does not cover (or not as well), embedded only when a text needs them. */
export type ScriptFont = 'cjk' | 'arabic' | 'emoji';

/** Noto fonts from npm (@expo-google-fonts: static TrueType, OFL), regular and bold. Emoji: monochrome outlines. */
const SCRIPT_FONT_FILES: Readonly<Record<ScriptFont, { regular: string; bold: string }>> = {
  cjk: { regular: '@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf', bold: '@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf' },
  arabic: { regular: '@expo-google-fonts/noto-sans-arabic/400Regular/NotoSansArabic_400Regular.ttf', bold: '@expo-google-fonts/noto-sans-arabic/700Bold/NotoSansArabic_700Bold.ttf' },
  emoji: { regular: '@expo-google-fonts/noto-emoji/400Regular/NotoEmoji_400Regular.ttf', bold: '@expo-google-fonts/noto-emoji/700Bold/NotoEmoji_700Bold.ttf' },
};

/** The bytes of a script font (read once per process, on first use). */
export function scriptFontSource(script: ScriptFont, bold: boolean): Buffer {
  const require = createRequire(import.meta.url);
  return loadFontFile(require.resolve(SCRIPT_FONT_FILES[script][bold ? 'bold' : 'regular']));
}
