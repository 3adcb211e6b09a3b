// GET /v1/subjects?prefix=…: the console's search box, for a subject whose exact identifier the
// investigator does not have at hand.
import { SubjectSearchQuery } from '../../assent/schemas.js';
import type { AssentService } from '../../assent/service.js';
import { SubjectSearchJson, subjectSearchJson } from '../presenters/subject-search.js';
import { defineRoute, type AnyRoute } from '../route.js';

const DEFAULT_LIMIT = 10;

export function subjectSearchRoutes(assent: AssentService): AnyRoute[] {
  return [
    defineRoute({
      method: 'get', path: '/v1/subjects', tag: 'Subjects', access: ['investigator', 'admin'], query: SubjectSearchQuery,
      summary: 'Subjects whose identifier starts with a prefix',
      description: 'From the assent records (every subject with an acceptance, decline or withdrawal). The prefix is matched literally and case-sensitively, at least 2 characters; `limit` 1 to 50 (default 10); `more` says whether others match too.',
      responses: { 200: { description: 'The matching subjects, in byte order', schema: SubjectSearchJson } },
      handler: async ({ query }) => ({
        headers: { 'Cache-Control': 'no-store' },
        body: subjectSearchJson(query.prefix, await assent.searchSubjects(query.prefix, query.limit ?? DEFAULT_LIMIT)),
      }),
    }),
  ];
}
