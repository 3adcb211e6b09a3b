import { z } from 'zod';
import { IsoTime, Sha256Hex, Slug, Subject, Text, Uuid } from '../http/schemas/common.js';

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
