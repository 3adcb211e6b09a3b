import { z } from 'zod';
import { Subject, Text, Uuid } from '../validation/fields.js';

export const IssueBody = z.strictObject({
  subject: Subject,
  case_ref: Text(200).min(1, 'must not be empty'),
  verification_ids: z.array(Uuid).max(1000).optional().describe('Default: every verification recorded for the subject'),
  requested_by: Text(200).min(1, 'must not be empty'),
  prepared_for: z.strictObject({ name: Text(200).min(1, 'must not be empty'), firm: Text(200).min(1, 'must not be empty') }),
});
