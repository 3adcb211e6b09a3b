import { z } from 'zod';
import { IsoTime, KeyVersion, Label, NumClasses, Sha256Hex, Subject, Text, Uuid } from '../validation/fields.js';
import { isDigestHex, isLabel, isNumClasses, isPlainRecord } from '../validation/fast-checks.js';
import { validate } from '../validation/validate.js';

export const MAX_SAMPLES = 1_000_000;


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
  key_version: KeyVersion.optional(),
});
export type VerificationInput = z.infer<typeof VerificationBody>;
export type PlanInput = z.infer<typeof PlanBody>;

// Verification and plan bodies carry up to a million samples: the samples (and suspect labels)
// are checked by hand, the small rest of the body by zod (the schema minus those arrays); any
// failure re-runs the whole body through zod for its exact errors. Same contract as above.


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
 * A parser for `schema` whose large array fields are checked by hand: `arrays` gives each field's
 * element check (all are min 1, max MAX_SAMPLES); zod checks the rest of the body (strict, as
 * `schema` is). Returns null when the fast path does not accept the body.
 */
function fastLargeBody<T>(schema: z.ZodObject, arrays: Record<string, ArrayCheck>): (v: unknown) => T | null {
  const fields = Object.keys(arrays);
  const rest = z.strictObject(Object.fromEntries(Object.entries(schema.shape).filter(([k]) => !fields.includes(k))));
  const required = fields.filter((k) => !schema.shape[k]!.safeParse(undefined).success);
  return (v) => {
    if (!isPlainRecord(v)) return null;
    // A missing required array is zod's to report ("is required"), like any other missing field.
    for (const k of required) if (!Object.hasOwn(v, k)) return null;
    // Null prototypes: a "__proto__" key stays an own key (which zod then refuses as unknown).
    const small: Record<string, unknown> = Object.create(null);
    const large: Record<string, unknown> = Object.create(null);
    for (const k of Object.keys(v)) (fields.includes(k) ? large : small)[k] = v[k];
    for (const [k, value] of Object.entries(large)) if (!isBoundedArray(value, arrays[k]!)) return null;
    const r = rest.safeParse(small);
    return r.success ? ({ ...(r.data as object), ...large } as T) : null;
  };
}

const fastVerification = fastLargeBody<VerificationInput>(VerificationBody, { samples: isVerificationSample, suspect_labels: isLabel });
const fastPlan = fastLargeBody<PlanInput>(PlanBody, { samples: isPlanSample });

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
