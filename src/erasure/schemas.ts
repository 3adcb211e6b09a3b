import { z } from 'zod';
import { Text } from '../validation/fields.js';

/** A reference to the request (a ticket id): printed in the ledger in clear, so it must not hold personal data. */
const RequestRef = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (a ticket id or case number, never a name)');

export const EraseBody = z.strictObject({
  basis: z.enum(['data_subject_request', 'court_order', 'other']).describe('Why the subject\'s personal data is erased (`retention` is the retention job\'s own basis)'),
  request_ref: RequestRef.describe('The request\'s reference, e.g. a ticket id. Recorded in clear in the ledger: it must not hold personal data'),
});

export const HoldBody = z.strictObject({
  case_ref: Text(200).min(1, 'must not be empty').describe('The case number (recorded in clear: a number, not a person\'s name)'),
  reason: Text(2000).min(1, 'must not be empty').describe('Why the subject is held (committed in the ledger, the text kept erasable)'),
});

export const ReleaseBody = z.strictObject({
  reason: Text(2000).min(1, 'must not be empty').describe('Why the hold is released (committed in the ledger, the text kept erasable)'),
});

export type EraseInput = z.infer<typeof EraseBody>;
export type HoldInput = z.infer<typeof HoldBody>;
export type ReleaseInput = z.infer<typeof ReleaseBody>;
