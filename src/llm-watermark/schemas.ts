// Request bodies of the text-watermark routes.
import { z } from 'zod';
import { IsoTime, Slug, Subject, Text, Uuid } from '../validation/fields.js';
import { Suspect } from '../verification/schemas.js';
import { MAX_VOCAB, MAX_WINDOW } from './scheme.js';

export const MAX_SEQUENCES = 10_000;
export const MAX_SEQUENCE_TOKENS = 100_000;

const ParameterSetId = z.string().regex(/^[0-9a-f]{64}$/, 'must be a parameter set id: 64 lowercase hex digits');
const TokenId = z.number().int('must be an integer token id').min(0, 'must be >= 0').max(MAX_VOCAB - 1, `must be < ${MAX_VOCAB}`);
const Sequences = z.array(z.array(TokenId).max(MAX_SEQUENCE_TOKENS, `must have at most ${MAX_SEQUENCE_TOKENS} tokens`)).min(1, 'must contain at least one sequence').max(MAX_SEQUENCES, `must contain at most ${MAX_SEQUENCES} sequences`);
const CaseRef = Text(200).min(1, 'must not be empty');
const Alpha = z.number().gt(0, 'must be > 0').lt(1, 'must be < 1');

export const ParameterSetBody = z.strictObject({
  window: z.number().int().min(1).max(MAX_WINDOW).optional().describe('h, the context window (default 2)'),
  gamma: z.number().gt(0).lt(1).optional().describe('green fraction (default 0.25)'),
  delta: z.number().gt(0).max(100).optional().describe('logit bias (default 2)'),
  tokenizer: z.strictObject({ name: Text(200).min(1), revision: Text(200).min(1) }),
  vocab_size: z.number().int().min(2).max(MAX_VOCAB),
});

export const KeysBody = z.strictObject({
  parameter_set_id: ParameterSetId,
  subjects: z.array(Subject).min(1, 'must contain at least one subject').max(1000, 'must contain at most 1000 subjects'),
  slug: Slug.optional().describe('Only subjects with a standing acceptance of this EULA get a key'),
});

const GlobalKeyFlag = z.boolean().optional().describe('Test the global key too (docs/llm-watermark-spec.md §6.1): one more candidate screened');

export const LlmPlanBody = z.strictObject({
  case_ref: CaseRef,
  parameter_set_id: ParameterSetId,
  subjects: z.array(Subject).max(1000).describe('Candidate subjects; may be empty when global_key is true'),
  global_key: GlobalKeyFlag,
  prompts: Sequences.describe('The prompts that will be sent to the suspect model, as token ids'),
  alpha: Alpha.optional(),
  subjects_screened: z.number().int().min(1).optional(),
  note: Text(2000).optional(),
});

export const LlmVerificationBody = z.strictObject({
  case_ref: CaseRef,
  suspect: Suspect,
  plan_id: Uuid.optional(),
  parameter_set_id: ParameterSetId.optional(),
  subjects: z.array(Subject).max(1000).optional(),
  global_key: GlobalKeyFlag,
  global_key_version: z.number().int().min(1).optional().describe('The global key version to test (default the latest); implies global_key'),
  prompts: Sequences.optional(),
  outputs: Sequences.describe('The suspect\'s output after each prompt, as token ids, in prompt order'),
  alpha: Alpha.optional(),
  subjects_screened: z.number().int().min(1).optional(),
  key_version: z.number().int().min(1).optional(),
});

export const UsageBody = z.strictObject({
  parameter_set_id: ParameterSetId,
  period: z.strictObject({ start: IsoTime, end: IsoTime }).describe('The period the counts cover, e.g. one UTC day'),
  items: z.array(z.strictObject({ subject: Subject, tokens_served: z.number().int().min(1, 'must be at least 1 (omit subjects served nothing)').max(Number.MAX_SAFE_INTEGER) }))
    .min(1, 'must contain at least one item').max(1000, 'must contain at most 1000 items'),
});

export const GlobalKeyBody = z.strictObject({
  reason: Text(500).min(1, 'must not be empty').describe('Why a (new) global key is created, recorded in the ledger'),
  // Required: without it, N parallel copies of one request would each replace the key before (N versions).
  from_version: z.number().int().min(0).describe('The version this replaces (0: none yet); refused with 409 if another is current, so parallel copies of one request make one key'),
});

export type GlobalKeyInput = z.infer<typeof GlobalKeyBody>;
export type UsageInput = z.infer<typeof UsageBody>;
export type ParameterSetInput = z.infer<typeof ParameterSetBody>;
export type KeysInput = z.infer<typeof KeysBody>;
export type LlmPlanInput = z.infer<typeof LlmPlanBody>;
export type LlmVerificationInput = z.infer<typeof LlmVerificationBody>;
