// The LLM (text watermark) verifications of a subject, for its dossier: the recorded outcomes, the
// plans that pre-registered their prompts and the parameter sets they used, all cited ledger
// entries (so the evidence bundle proves them like every other cited entry).
import type { LedgerEntry } from '../ledger/format.js';
import { parseEventOf } from '../ledger/events.js';
import type { ParameterSet } from '../llm-watermark/scheme.js';
import type { LlmOutcome, LlmVerificationRecord } from '../llm-watermark/verification-repository.js';

/** What the dossier reads LLM evidence from (the three LLM repositories fit). */
export interface LlmEvidenceSources {
  verifications: { forSubject(subject: string): Promise<LlmVerificationRecord[]> };
  plans: { many(ids: readonly string[]): Promise<Array<{ id: string; ledgerSeq: number; eventId: string; createdAt: Date; promptCount: number; promptsSha256: string }>> };
  parameterSets: { many(ids: readonly string[]): Promise<Array<{ id: string; params: ParameterSet; ledgerSeq: number; eventId: string }>> };
}

export interface DossierLlmVerification {
  id: string;
  caseRef: string;
  createdAt: string;
  ledgerSeq: number;
  eventId: string;
  decision: LlmOutcome['decision'];
  /** The `llm_verification.recorded` event data, read back from the cited entry's bytes. */
  outcome: LlmOutcome;
  parameterSet: { id: string; params: ParameterSet; ledgerSeq: number; eventId: string };
  /** The pre-registration, when there was one. */
  plan: { id: string; ledgerSeq: number; eventId: string; createdAt: string; promptCount: number; promptsSha256: string } | null;
}

export interface GatheredLlm {
  records: LlmVerificationRecord[];
  plans: Awaited<ReturnType<LlmEvidenceSources['plans']['many']>>;
  sets: Awaited<ReturnType<LlmEvidenceSources['parameterSets']['many']>>;
  /** Ledger entries to cite: outcomes, plans, parameter-set registrations. */
  seqs: number[];
}

/** The subject's LLM outcomes (those of `wanted`, when given) with their plans and parameter sets. */
export async function gatherLlm(src: LlmEvidenceSources | undefined, subject: string | readonly string[], wanted?: ReadonlySet<string>): Promise<GatheredLlm> {
  if (!src) return { records: [], plans: [], sets: [], seqs: [] };
  // Several names: the subject's identifier and the names erasures gave its working copies.
  const names = typeof subject === 'string' ? [subject] : subject;
  const all = (await Promise.all(names.map((n) => src.verifications.forSubject(n)))).flat().sort((a, b) => a.ledgerSeq - b.ledgerSeq);
  const records = wanted ? all.filter((r) => wanted.has(r.id)) : all;
  const [plans, sets] = await Promise.all([
    src.plans.many([...new Set(records.map((r) => r.planId).filter((x): x is string => !!x))]),
    src.parameterSets.many([...new Set(records.map((r) => r.parameterSetId))]),
  ]);
  return { records, plans, sets, seqs: [...records.map((r) => r.ledgerSeq), ...plans.map((p) => p.ledgerSeq), ...sets.map((s) => s.ledgerSeq)] };
}

/** The model entries, each outcome read from its cited entry (the bytes the bundle proves), not the working copy. */
export function llmModel(g: GatheredLlm, bySeq: ReadonlyMap<number, LedgerEntry>): DossierLlmVerification[] {
  const sets = new Map(g.sets.map((s) => [s.id, s]));
  const plans = new Map(g.plans.map((p) => [p.id, p]));
  return g.records.map((r) => {
    const outcome = parseEventOf('llm_verification.recorded', bySeq.get(r.ledgerSeq)!.canonical).data;
    const set = sets.get(r.parameterSetId)!;
    const plan = r.planId ? plans.get(r.planId)! : null;
    return {
      id: r.id, caseRef: r.caseRef, createdAt: r.createdAt.toISOString(), ledgerSeq: r.ledgerSeq, eventId: r.eventId, decision: outcome.decision, outcome,
      parameterSet: { id: set.id, params: set.params, ledgerSeq: set.ledgerSeq, eventId: set.eventId },
      plan: plan ? { id: plan.id, ledgerSeq: plan.ledgerSeq, eventId: plan.eventId, createdAt: plan.createdAt.toISOString(), promptCount: plan.promptCount, promptsSha256: plan.promptsSha256 } : null,
    };
  });
}
