// The subject timeline: everything recorded about one subject, by kind and in one ledger order.
import { z } from 'zod';
import type { AssentRecord } from '../../assent/record-repository.js';
import type { DossierInfo } from '../../dossier/repository.js';
import type { LlmVerificationRecord } from '../../llm-watermark/verification-repository.js';
import type { PlanInfo } from '../../verification/plan-repository.js';
import type { VerificationRecord } from '../../verification/repository.js';
import type { WatermarkKeyInfo } from '../../watermark-keys/repository.js';
import { KeyListJson, RecordListJson, keyListJson, recordListJson } from './assent.js';
import { PlanJson, VerificationJson, planJson, verificationJson } from './detection.js';
import { DossierJson, dossierJson } from './dossiers.js';
import { LlmVerificationJson, llmVerificationJson } from './llm-watermark.js';
import { LedgerRef, refJson } from './common.js';

const KINDS = ['accepted', 'declined', 'withdrawn', 'watermark_key', 'verification_plan', 'verification', 'llm_verification', 'dossier'] as const;

export const TimelineJson = z.object({
  subject: z.string(),
  events: z.array(z.object({
    kind: z.enum(KINDS),
    id: z.string().describe('The record\'s id (for a watermark key: its key_id), found in the section of its kind'),
    at: z.string(),
    ledger: LedgerRef,
  })).describe('Every item below, in ledger order'),
  records: RecordListJson.shape.records,
  watermark_keys: KeyListJson.shape.keys.describe('Key versions with their commitments; never a key'),
  plans: z.array(PlanJson),
  verifications: z.array(VerificationJson),
  llm_verifications: z.array(LlmVerificationJson),
  dossiers: z.array(DossierJson),
});

export interface TimelineParts {
  subject: string;
  records: readonly AssentRecord[];
  keys: readonly WatermarkKeyInfo[];
  plans: readonly PlanInfo[];
  verifications: readonly VerificationRecord[];
  llmVerifications: readonly LlmVerificationRecord[];
  dossiers: readonly DossierInfo[];
  signingKeyId: string;
}

type Event = z.infer<typeof TimelineJson>['events'][number];

export function timelineJson(t: TimelineParts): z.infer<typeof TimelineJson> {
  const events: Event[] = [
    ...t.records.map((r) => ({ kind: r.kind, id: r.id, at: r.serverTime.toISOString(), ledger: refJson(r) })),
    ...t.keys.map((k) => ({ kind: 'watermark_key' as const, id: k.keyId, at: k.assignedAt.toISOString(), ledger: refJson(k) })),
    ...t.plans.map((p) => ({ kind: 'verification_plan' as const, id: p.id, at: p.createdAt.toISOString(), ledger: refJson(p) })),
    ...t.verifications.map((v) => ({ kind: 'verification' as const, id: v.id, at: v.createdAt.toISOString(), ledger: refJson(v) })),
    ...t.llmVerifications.map((v) => ({ kind: 'llm_verification' as const, id: v.id, at: v.createdAt.toISOString(), ledger: refJson(v) })),
    ...t.dossiers.map((d) => ({ kind: 'dossier' as const, id: d.id, at: d.issuedAt.toISOString(), ledger: refJson(d) })),
  ];
  events.sort((a, b) => a.ledger.seq - b.ledger.seq);
  return {
    subject: t.subject,
    events,
    records: recordListJson(t.subject, t.records).records,
    watermark_keys: keyListJson(t.subject, t.keys).keys,
    plans: t.plans.map(planJson),
    verifications: t.verifications.map(verificationJson),
    llm_verifications: t.llmVerifications.map(llmVerificationJson),
    dossiers: t.dossiers.map((d) => dossierJson(d, t.signingKeyId)),
  };
}
