// The subject timeline: everything recorded about one subject, by kind and in one ledger order.
import { z } from 'zod';
import type { AssentRecord } from '../../assent/record-repository.js';
import type { DossierInfo } from '../../dossier/repository.js';
import type { LlmVerificationRecord } from '../../llm-watermark/verification-repository.js';
import type { ExportedField } from '../../subject-access/service.js';
import type { PlanInfo } from '../../verification/plan-repository.js';
import type { VerificationRecord } from '../../verification/repository.js';
import type { WatermarkKeyInfo } from '../../watermark-keys/repository.js';
import { KeyListJson, RecordListJson, keyListJson, recordListJson } from './assent.js';
import { PlanJson, VerificationJson, planJson, verificationJson } from './detection.js';
import { DossierJson, dossierJson } from './dossiers.js';
import { LlmVerificationJson, llmVerificationJson } from './llm-watermark.js';
import { LedgerRef, refJson } from './common.js';

/** A personal fact of a record as the console shows it: its value, or when it was erased. */
const FactJson = z.object({
  field: z.string().describe('client (IP address and user agent), presentation.page_url, auth (method, session id, MFA) or reason'),
  group: z.enum(['network', 'session', 'free_text']),
  state: z.enum(['open', 'erased', 'clear', 'missing']).describe('open: opened from its commitment; clear: written in clear (before personal data left the log); erased: erased (erased_at); missing: no valid opening is held'),
  value: z.unknown().optional(),
  erased_at: z.string().optional(),
  erasure_event_id: z.string().optional(),
});

const TimelineRecordJson = RecordListJson.shape.records.element.extend({ facts: z.array(FactJson).describe('The record\'s personal facts other than the subject') });

const KINDS = ['accepted', 'declined', 'withdrawn', 'watermark_key', 'verification_plan', 'verification', 'llm_verification', 'dossier'] as const;

export const TimelineJson = z.object({
  subject: z.string(),
  events: z.array(z.object({
    kind: z.enum(KINDS),
    id: z.string().describe('The record\'s id (for a watermark key: its key_id), found in the section of its kind'),
    at: z.string(),
    ledger: LedgerRef,
  })).describe('Every item below, in ledger order'),
  records: z.array(TimelineRecordJson),
  watermark_keys: KeyListJson.shape.keys.describe('Key versions with their commitments; never a key'),
  plans: z.array(PlanJson),
  verifications: z.array(VerificationJson),
  llm_verifications: z.array(LlmVerificationJson),
  dossiers: z.array(DossierJson),
});

export interface TimelineParts {
  subject: string;
  records: readonly AssentRecord[];
  /** The personal facts of the records' events, by event id. */
  facts: ReadonlyMap<string, readonly ExportedField[]>;
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
    records: recordListJson(t.subject, t.records).records.map((r) => ({ ...r, facts: (t.facts.get(r.ledger.event_id) ?? []).flatMap(factJson) })),
    watermark_keys: keyListJson(t.subject, t.keys).keys,
    plans: t.plans.map(planJson),
    verifications: t.verifications.map(verificationJson),
    llm_verifications: t.llmVerifications.map(llmVerificationJson),
    dossiers: t.dossiers.map((d) => dossierJson(d, t.signingKeyId)),
  };
}

function factJson(f: ExportedField): z.infer<typeof FactJson>[] {
  if (f.group === 'subject') return [];
  const base = { field: f.field, group: f.group, state: f.state };
  if (f.state === 'open' || f.state === 'clear') return [{ ...base, value: f.value }];
  if (f.state === 'erased') return [{ ...base, erased_at: f.erasedAt.toISOString(), erasure_event_id: f.erasureEventId }];
  return [base];
}
