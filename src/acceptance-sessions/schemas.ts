import { z } from 'zod';
import { AssentBody, ClientAuth } from '../assent/schemas.js';
import { IsoTime, Sha256Hex, Slug, Subject, Text, VersionString } from '../validation/fields.js';

/** An acceptance-session token: "ams_" and 32 random bytes in base64url. */
export const SessionToken = z.string().regex(/^ams_[A-Za-z0-9_-]{43}$/, 'must be an acceptance-session token as POST /v1/acceptance-sessions returns it ("ams_" and 43 characters)');

function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === s;
  } catch {
    return false;
  }
}

export const Origin = z.string().max(512).refine(isOrigin, 'must be the origin of the signup page: scheme, host and port only, without a path or a trailing slash, e.g. https://example.com');

export const SESSION_TTL_DEFAULT_S = 900;

export const CreateSessionBody = z.strictObject({
  subject: Subject,
  slug: Slug,
  version: VersionString.optional().describe('Default: the version in effect now'),
  origin: Origin.describe('The origin of the page that embeds the widget; the widget works only there'),
  consent_text: Text(2000).min(1, 'must not be empty').optional().describe('The statement beside the checkbox. Default: "I have read and agree to the <title>."'),
  accept_text: Text(200).min(1, 'must not be empty').optional().describe('Default: "Accept"'),
  decline_text: Text(200).min(1, 'must not be empty').optional().describe('Default: "Decline"'),
  auth: ClientAuth.describe('How your site authenticated the user, recorded with the decision'),
  ttl_seconds: z.number().int('must be an integer').min(60, 'must be at least 60').max(3600, 'must be at most 3600').optional().describe(`How long the session may be used (default ${SESSION_TTL_DEFAULT_S})`),
});
export type CreateSessionInput = z.infer<typeof CreateSessionBody>;

const Count = (max: number) => z.number().int('must be an integer').min(0, 'must be >= 0').max(max, `must be at most ${max}`);

export const ManifestBody = z.strictObject({
  widget: Text(100).min(1, 'must not be empty'),
  text_sha256: Sha256Hex.describe('SHA-256 (UTF-8) of the EULA text as rendered, computed in the browser'),
  markup_sha256: Sha256Hex.describe('SHA-256 of the widget\'s rendered markup (its shadow root\'s HTML)'),
  viewport: z.strictObject({ width: Count(100_000), height: Count(100_000), device_pixel_ratio: z.number().positive('must be > 0').max(16, 'must be at most 16') }),
  scrolled_to_end: z.boolean(),
  time_on_screen_ms: Count(86_400_000),
  consent_text: Text(2000),
  accept_text: Text(200),
  decline_text: Text(200),
});

export const DecisionBody = z.strictObject({
  decision: z.enum(['accept', 'decline'], { message: 'must be accept or decline' }),
  manifest: ManifestBody,
  page_url: AssentBody.shape.page_url,
  locale: AssentBody.shape.locale,
  client_time: IsoTime,
});
export type DecisionInput = z.infer<typeof DecisionBody>;
