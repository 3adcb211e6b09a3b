import { z } from 'zod';
import { IsoTime, Sha256Hex, Slug, Subject, Text, Uuid } from '../validation/fields.js';
import { validate } from '../validation/validate.js';

export const MAX_DECIDE_ITEMS = 10_000;
export const MAX_SAMPLES = 1_000_000;

const Label = z.number().int('must be an integer').min(0, 'must be >= 0');
const NumClasses = z.number().int('must be an integer').min(2, 'must be at least 2').max(2 ** 31 - 1);

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

export const Suspect = z.strictObject({
  name: Text(200).min(1),
  version: Text(100).min(1),
  observed_at: Text(2000).min(1).describe('Where and how the suspect model was observed (URL, API, marketplace listing)'),
  observed_on: IsoTime.optional(),
  artefact_sha256: Sha256Hex.optional(),
});

const CaseRef = Text(200).min(1, 'must not be empty');
const Alpha = z.number().gt(0, 'must be > 0').lt(1, 'must be < 1');

export const PlanBody = z.strictObject({
  case_ref: CaseRef,
  subjects: z.array(Subject).min(1).max(1000),
  samples: z
    .array(z.strictObject({ input_sha256: Sha256Hex, owner_label: Label, num_classes: NumClasses }))
    .min(1)
    .max(MAX_SAMPLES),
  alpha: Alpha.optional(),
  subjects_screened: z.number().int().min(1).optional(),
  note: Text(2000).optional(),
});

export const VerificationBody = z.strictObject({
  case_ref: CaseRef,
  suspect: Suspect,
  subjects: z.array(Subject).min(1).max(1000).optional(),
  samples: z
    .array(z.strictObject({ input_sha256: Sha256Hex, owner_label: Label, suspect_label: Label, num_classes: NumClasses }))
    .min(1)
    .max(MAX_SAMPLES)
    .optional(),
  plan_id: Uuid.optional(),
  suspect_labels: z.array(Label).min(1).max(MAX_SAMPLES).optional(),
  alpha: Alpha.optional(),
  subjects_screened: z.number().int().min(1).optional().describe('How many subjects were screened in all (Bonferroni); at least the number tested here'),
  key_version: z.number().int().min(1).optional(),
});
export type VerificationInput = z.infer<typeof VerificationBody>;
export type PlanInput = z.infer<typeof PlanBody>;

// ---------------------------------------------------------------------------------------------
// The decide batch's fast path. Validating 1,000 small objects with zod costs about as much as
// the HMACs themselves, so the route first runs this hand-written check of exactly the same
// rules; only a body it does not accept goes through zod, which then produces the precise
// field errors. It may be stricter than DecideBody (zod then decides), never looser: an input it
// accepts is one DecideBody accepts unchanged (test/detection-bad-input.test.ts checks this).

export type DecideInput = z.infer<typeof DecideBody>;

const SLUG_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const SUBJECT_RE = /^[\x20-\x7e]+$/;
const SHA256_RE = /^[0-9a-f]{64}$/;
const MAX_NUM_CLASSES = 2 ** 31 - 1;

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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

// Verification and plan bodies carry up to a million samples: the samples (and suspect labels)
// are checked by hand, the small rest of the body by zod (the schema minus those arrays); any
// failure re-runs the whole body through zod for its exact errors. Same contract as above.

const isLabel = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNumClasses = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 2 && v <= MAX_NUM_CLASSES;
const isDigestHex = (v: unknown): boolean => typeof v === 'string' && SHA256_RE.test(v);

function isVerificationSample(v: unknown): boolean {
  if (!isPlainRecord(v)) return false;
  return isDigestHex(v.input_sha256) && isLabel(v.owner_label) && isLabel(v.suspect_label) && isNumClasses(v.num_classes) && Object.keys(v).length === 4;
}

function isPlanSample(v: unknown): boolean {
  if (!isPlainRecord(v)) return false;
  return isDigestHex(v.input_sha256) && isLabel(v.owner_label) && isNumClasses(v.num_classes) && Object.keys(v).length === 3;
}

type ArrayCheck = (v: unknown) => boolean;

function isBoundedArray(v: unknown, check: ArrayCheck): boolean {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_SAMPLES) return false;
  for (let i = 0; i < v.length; i++) if (!check(v[i])) return false;
  return true;
}

/**
 * A parser for `schema` whose large array fields are checked by hand. `rest` is the schema
 * without those fields; `arrays` gives each field's element check (all are min 1, max MAX_SAMPLES).
 * Returns null when the fast path does not accept the body.
 */
function fastLargeBody<T>(rest: z.ZodType, arrays: Record<string, ArrayCheck>): (v: unknown) => T | null {
  const fields = Object.keys(arrays);
  return (v) => {
    if (!isPlainRecord(v)) return null;
    // Null prototypes: a "__proto__" key stays an own key (which zod then refuses as unknown).
    const small: Record<string, unknown> = Object.create(null);
    const large: Record<string, unknown> = Object.create(null);
    for (const k of Object.keys(v)) (fields.includes(k) ? large : small)[k] = v[k];
    for (const [k, value] of Object.entries(large)) if (!isBoundedArray(value, arrays[k]!)) return null;
    const r = rest.safeParse(small);
    return r.success ? ({ ...(r.data as object), ...large } as T) : null;
  };
}

const fastVerification = fastLargeBody<VerificationInput>(VerificationBody.omit({ samples: true, suspect_labels: true }), { samples: isVerificationSample, suspect_labels: isLabel });
const fastPlan = fastLargeBody<PlanInput>(PlanBody.omit({ samples: true }), { samples: isPlanSample });

/** The fast path alone (null: not accepted, zod decides); exported for the equivalence tests. */
export function fastParseVerificationBody(v: unknown): VerificationInput | null {
  return fastVerification(v);
}
export function fastParsePlanBody(v: unknown): PlanInput | null {
  return fastPlan(v);
}

export function parseVerificationBody(v: unknown): VerificationInput {
  return fastVerification(v) ?? validate(VerificationBody, v, 'body');
}

export function parsePlanBody(v: unknown): PlanInput {
  return fastPlan(v) ?? validate(PlanBody, v, 'body');
}
