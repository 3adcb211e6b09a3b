// GET /v1/subjects/:subject/timeline: the investigator console's view of one subject.
import { z } from 'zod';
import type { AssentService } from '../../assent/service.js';
import type { DossierService } from '../../dossier/service.js';
import type { LlmWatermarkService } from '../../llm-watermark/service.js';
import type { SubjectAccessService } from '../../subject-access/service.js';
import type { VerificationService } from '../../verification/service.js';
import type { WatermarkKeyService } from '../../watermark-keys/service.js';
import { Subject } from '../../validation/fields.js';
import { TimelineJson, timelineJson } from '../presenters/timeline.js';
import { defineRoute, type AnyRoute } from '../route.js';

export interface TimelineDeps {
  assent: AssentService;
  watermarkKeys: WatermarkKeyService;
  verifications: VerificationService;
  dossiers: DossierService;
  llmWatermark: LlmWatermarkService;
  /** Opens the personal facts of the records (both roles of the route may see them). */
  access: SubjectAccessService;
}

export function timelineRoutes(d: TimelineDeps): AnyRoute[] {
  return [
    defineRoute({
      method: 'get', path: '/v1/subjects/:subject/timeline', tag: 'Subjects', access: ['investigator', 'admin'], params: z.strictObject({ subject: Subject }),
      summary: 'Everything recorded about a subject, in ledger order',
      description: 'Acceptances, declines and withdrawals, each with its personal facts (IP address and user agent, page URL, how the subject was authenticated, a withdrawal\'s reason) opened from their commitments, or the date they were erased; watermark key versions with their commitments (never a key); verification plans naming the subject; verification and text-watermark verification outcomes; dossiers issued. A subject with nothing recorded has empty lists.',
      responses: { 200: { description: 'The timeline', schema: TimelineJson } },
      handler: async ({ params }) => {
        const s = params.subject;
        const [records, keys, plans, verifications, llmVerifications, dossiers] = await Promise.all([
          d.assent.listForSubject(s), d.watermarkKeys.all(s), d.verifications.plansForSubject(s), d.verifications.listForSubject(s),
          d.llmWatermark.listForSubject(s), d.dossiers.listForSubject(s),
        ]);
        const facts = await d.access.factsOf(s, records.map((r) => r.ledgerSeq));
        return { headers: { 'Cache-Control': 'no-store' }, body: timelineJson({ subject: s, records, facts, keys, plans, verifications, llmVerifications, dossiers, signingKeyId: d.dossiers.signingKeyId }) };
      },
    }),
  ];
}
