// GET /v1/subjects?prefix=…: the subjects whose identifier starts with a prefix.
import { z } from 'zod';
import type { SubjectMatch } from '../../assent/record-repository.js';

export const SubjectSearchJson = z.object({
  prefix: z.string(),
  subjects: z.array(z.object({
    subject: z.string(),
    records: z.number().int().describe('Its acceptances, declines and withdrawals'),
    last_recorded_at: z.string().describe('When the latest of them was recorded'),
  })).describe('In byte order of the identifier'),
  more: z.boolean().describe('Other subjects match too: give a longer prefix (or a larger limit)'),
});

export function subjectSearchJson(prefix: string, found: { subjects: readonly SubjectMatch[]; more: boolean }): z.infer<typeof SubjectSearchJson> {
  return {
    prefix,
    subjects: found.subjects.map((s) => ({ subject: s.subject, records: s.records, last_recorded_at: s.lastRecordedAt.toISOString() })),
    more: found.more,
  };
}
