import { z } from 'zod';

export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest: 64 lowercase hex digits');
export const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'must be 1-64 characters: lowercase letters, digits and hyphens, starting with a letter or digit');
export const VersionString = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/, 'must be 1-64 characters: letters, digits, ".", "_", "+" or "-"');
export const Subject = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters').regex(/^[\x20-\x7e]+$/, 'must be printable ASCII');
export const Uuid = z.uuid({ message: 'must be a UUID' });
export const IsoTime = z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time with a time zone, e.g. 2026-11-29T12:00:00Z' });
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// Format characters (Unicode category Cf) make printed text differ from the recorded text:
// bidirectional embeddings, overrides, isolates and marks reorder it, zero-width spaces, the BOM,
// invisible operators and tag characters hide characters in it. Zero-width joiner and non-joiner
// (U+200D, U+200C) are kept: words in Persian and Indic scripts and emoji sequences need them, and
// they only join or separate neighbouring glyphs. docs/input-rules.md.
const INVISIBLE = /(?![\u200c\u200d])\p{Cf}/u;

/** The message for the first format character in `s` (see INVISIBLE). */
function invisibleMessage(s: unknown): string {
  const m = typeof s === 'string' ? INVISIBLE.exec(s) : null;
  const at = m ? `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at character ${m.index}` : 'one';
  return `must not contain invisible or bidirectional formatting characters (${at}): a printed dossier would show other text than the record holds`;
}

/** A refinement for strings printed into dossiers: no format characters but ZWJ and ZWNJ. */
export const visible = [(s: string) => !INVISIBLE.test(s), { error: (iss: { input: unknown }) => invisibleMessage(iss.input) }] as const;

/**
 * Text that survives storage and canonical hashing unchanged and prints as recorded: no control
 * characters but tab and newlines, no lone surrogates, no invisible or bidirectional formatting.
 */
export const Text = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), 'must not contain control characters')
    .refine((s) => !LONE_SURROGATE.test(s), 'must be valid Unicode (no unpaired surrogates)')
    .refine(...visible);
export const Label = z.number().int('must be an integer').min(0, 'must be >= 0');
/** A watermark key version: stored as a PostgreSQL integer (int4). */
export const KeyVersion = z.number().int('must be an integer').min(1, 'must be at least 1').max(2 ** 31 - 1, 'must be at most 2147483647');
export const NumClasses = z.number().int('must be an integer').min(2, 'must be at least 2').max(2 ** 31 - 1);
