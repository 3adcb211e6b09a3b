import { z } from 'zod';
import { IsoTime, Slug, Text, VersionString } from '../validation/fields.js';

export const PublishBody = z.strictObject({
  slug: Slug,
  version: VersionString,
  title: Text(300).min(1, 'must not be empty'),
  text: Text(1_500_000).min(1, 'must not be empty'),
  effective_at: IsoTime,
  major: z.boolean(),
  highlights: z.array(z.strictObject({ text: Text(5000).min(1, 'must not be empty'), note: Text(500) })).max(200).optional(),
});
