// The gateway's decide request: the documented zod schema and its fast path.
import { z } from 'zod';
import { Label, NumClasses, Sha256Hex, Slug, Subject } from '../validation/fields.js';
import { isPlainRecord, MAX_NUM_CLASSES, SHA256_RE, SLUG_RE, SUBJECT_RE } from '../validation/fast-checks.js';
import { validate } from '../validation/validate.js';

export const MAX_DECIDE_ITEMS = 10_000;

export const DecideBody = z.strictObject({
  slug: Slug.optional().describe('Only watermark subjects with a standing acceptance of this EULA'),
  items: z
    .array(
      z.strictObject({
        subject: Subject,
        input_sha256: Sha256Hex,
        label: Label,
        num_classes: NumClasses,
        probs: z.array(z.number().min(0).max(1)).optional(),
      }),
    )
    .min(1, 'must contain at least one item')
    .max(MAX_DECIDE_ITEMS, `must contain at most ${MAX_DECIDE_ITEMS} items`),
});

// ---------------------------------------------------------------------------------------------
// The decide batch's fast path. Validating 1,000 small objects with zod costs about as much as
// the HMACs themselves, so the route first runs this hand-written check of exactly the same
// rules; only a body it does not accept goes through zod, which then produces the precise
// field errors. It may be stricter than DecideBody (zod then decides), never looser: an input it
// accepts is one DecideBody accepts unchanged (test/detection-bad-input.test.ts checks this).

export type DecideInput = z.infer<typeof DecideBody>;

function isDecideItem(v: unknown): boolean {
  if (!isPlainRecord(v)) return false;
  let known = 4;
  const { subject, input_sha256, label, num_classes, probs } = v;
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 256 || !SUBJECT_RE.test(subject)) return false;
  if (typeof input_sha256 !== 'string' || !SHA256_RE.test(input_sha256)) return false;
  if (typeof label !== 'number' || !Number.isSafeInteger(label) || label < 0) return false;
  if (typeof num_classes !== 'number' || !Number.isSafeInteger(num_classes) || num_classes < 2 || num_classes > MAX_NUM_CLASSES) return false;
  if (probs !== undefined) {
    if (!Array.isArray(probs)) return false;
    for (const p of probs) if (typeof p !== 'number' || !(p >= 0 && p <= 1)) return false;
    known++;
  } else if ('probs' in v) return false;
  // Exactly the known keys: no unknown ones (strict), none missing (checked above).
  return Object.keys(v).length === known;
}

/** True iff DecideBody would accept `v` as is (conservatively: false sends it through zod). */
export function isValidDecideBody(v: unknown): v is DecideInput {
  if (!isPlainRecord(v)) return false;
  let known = 1;
  if (v.slug !== undefined) {
    if (typeof v.slug !== 'string' || !SLUG_RE.test(v.slug)) return false;
    known++;
  } else if ('slug' in v) return false;
  const items = v.items;
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_DECIDE_ITEMS) return false;
  if (Object.keys(v).length !== known) return false;
  for (let i = 0; i < items.length; i++) if (!isDecideItem(items[i])) return false;
  return true;
}

/** The decide body, validated: the fast check, else zod (which throws the detailed ValidationError). */
export function parseDecideBody(v: unknown): DecideInput {
  return isValidDecideBody(v) ? v : validate(DecideBody, v, 'body');
}
