import { z } from 'zod';
import { IsoTime, KeyVersion, Sha256Hex, Slug, Subject, Text, VersionString, visible } from '../validation/fields.js';

export const ClientAuth = z.strictObject({
  method: z.string().regex(/^[a-z0-9_.:-]{1,64}$/, 'must be 1-64 characters: lowercase letters, digits, "_", ".", ":" or "-" (e.g. "password", "oauth:google", "sso:saml")'),
  session_id: Text(256).min(1, 'must not be empty'),
  mfa: z.boolean(),
});

const ClientFacts = {
  client_time: IsoTime,
  ip: z.union([z.ipv4(), z.ipv6()], { message: 'must be an IPv4 or IPv6 address' }),
  user_agent: Text(1024).min(1, 'must not be empty'),
  auth: ClientAuth,
};

export const AssentBody = z.strictObject({
  subject: Subject,
  slug: Slug,
  version: VersionString,
  shown_text_sha256: Sha256Hex.describe('SHA-256 of the exact EULA text the user was shown'),
  consent_text: Text(2000).min(1, 'must not be empty').describe('The consent statement shown next to the control, e.g. "I agree to the API Terms"'),
  button_text: Text(200).min(1, 'must not be empty'),
  page_url: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).max(2048).refine(...visible),
  locale: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/, 'must be a BCP 47 language tag, e.g. en-GB'),
  ...ClientFacts,
  method: z.enum(['checkbox', 'button', 'typed_name', 'api'], { message: 'must be one of checkbox, button, typed_name, api' }),
});
export type AssentInput = z.infer<typeof AssentBody>;

export const WithdrawalBody = z.strictObject({
  subject: Subject,
  slug: Slug,
  reason: Text(2000).min(1, 'must not be empty'),
  ...ClientFacts,
  method: z.enum(['settings_page', 'support_request', 'api', 'other'], { message: 'must be one of settings_page, support_request, api, other' }),
});
export type WithdrawalInput = z.infer<typeof WithdrawalBody>;

export const RotateBody = z.strictObject({
  reason: Text(500).min(1, 'must not be empty'),
  from_version: KeyVersion.optional().describe('Rotate only if this is the current version (else 409 subject_state_changed)'),
});

/** GET /v1/subjects: the console's search by the start of a subject identifier. */
export const SUBJECT_SEARCH_MAX = 50;
export const SubjectSearchQuery = z.strictObject({
  prefix: z.string()
    .min(2, 'must be at least 2 characters (the start of a subject identifier)')
    .max(256, 'must be at most 256 characters')
    .regex(/^[\x20-\x7e]+$/, 'must be printable ASCII, as subject identifiers are')
    .describe('The start of the subject identifier, matched literally and case-sensitively (% and _ are not wildcards)'),
  limit: z.string()
    .regex(/^[1-9][0-9]?$/, `must be a whole number from 1 to ${SUBJECT_SEARCH_MAX}`)
    .transform(Number)
    .pipe(z.number().max(SUBJECT_SEARCH_MAX, `must be a whole number from 1 to ${SUBJECT_SEARCH_MAX}`))
    .optional()
    .describe(`How many subjects to list, 1 to ${SUBJECT_SEARCH_MAX} (default 10)`),
});
