// Plain words for what the ledger records: the console is read by investigators, not developers.
import type { Decision, Fact, Statistic, Timeline } from './types';
import { shortHash, when } from './dom';

export function pValue(p: number): string {
  if (p === 0) return 'less than 1e-300';
  return p < 0.001 ? p.toExponential(2) : p.toPrecision(3);
}

export function decisionWords(d: Decision, s?: Statistic): string {
  if (d === 'detected') {
    return `Watermark detected: the suspect model gave this subject's watermark answer ${s ? `${s.m} times out of ${s.n} marked samples` : 'far more often than chance'}${s ? ` (chance of that by luck, adjusted: ${pValue(s.p_adjusted)}; decision threshold ${pValue(s.alpha)})` : ''}.`;
  }
  if (d === 'not_detected') {
    return `Not detected: the matches ${s ? `(${s.m} of ${s.n} marked samples) ` : ''}are consistent with chance${s ? ` (adjusted p = ${pValue(s.p_adjusted)})` : ''}.`;
  }
  return `Not enough evidence to decide: ${s ? `${s.n} marked samples were found; at least ${s.min_marked_samples_needed} are needed` : 'too few marked samples'}.`;
}

export const decisionLabel: Record<Decision, string> = { detected: 'Detected', not_detected: 'Not detected', insufficient: 'Not enough samples' };

export interface EventWords {
  title: string;
  details: string[];
}

/** The words for one timeline event, from its record in the timeline's sections. */
export function eventWords(t: Timeline, e: Timeline['events'][number]): EventWords {
  switch (e.kind) {
    case 'accepted':
    case 'declined':
    case 'withdrawn': {
      const r = t.records.find((x) => x.id === e.id);
      if (!r) break;
      const verb = e.kind === 'accepted' ? 'Accepted' : e.kind === 'declined' ? 'Declined' : 'Withdrew acceptance of';
      return { title: `${verb} the terms “${r.slug}” version ${r.version}`, details: [...(r.key_version !== null ? [`Linked to watermark key version ${r.key_version}`] : []), ...r.facts.flatMap(factWords)] };
    }
    case 'watermark_key': {
      const k = t.watermark_keys.find((x) => x.key_id === e.id);
      if (!k) break;
      return { title: `Watermark key version ${k.version} ${k.version === 1 ? 'assigned' : 'rotated in'}`, details: [`Reason: ${k.reason}`, `Commitment (the key itself is never shown): ${k.commitment}`] };
    }
    case 'verification_plan': {
      const p = t.plans.find((x) => x.id === e.id);
      if (!p) break;
      return { title: `Verification pre-registered for case “${p.case_ref}”`, details: [`${p.sample_count} samples committed before any suspect answer was known`, `Plan ${p.id}`] };
    }
    case 'verification': {
      const v = t.verifications.find((x) => x.id === e.id);
      if (!v) break;
      const suspect = v.outcome.suspect ? `Suspect model: ${v.outcome.suspect.name} ${v.outcome.suspect.version}` : null;
      return {
        title: `Verification for case “${v.case_ref}”: ${decisionLabel[v.decision]}`,
        details: [decisionWords(v.decision, v.outcome.statistic), ...(suspect ? [suspect] : []), v.preregistered ? 'Pre-registered (samples committed in advance)' : 'Not pre-registered', `Watermark key version ${v.key_version}`],
      };
    }
    case 'llm_verification': {
      const v = t.llm_verifications.find((x) => x.id === e.id);
      if (!v) break;
      return { title: `Text watermark verification for case “${v.case_ref}”: ${decisionLabel[v.decision]}`, details: [`Watermark key version ${v.key_version}`] };
    }
    case 'dossier': {
      const d = t.dossiers.find((x) => x.id === e.id);
      if (!d) break;
      return { title: `Evidence dossier issued for case “${d.case_ref}”`, details: [`Prepared for ${d.prepared_for.name}, ${d.prepared_for.firm}; ${d.pages} pages`, `PDF SHA-256: ${shortHash(d.pdf_sha256, 16)}`] };
    }
  }
  return { title: e.kind, details: [] };
}

const FACT_LABEL: Record<string, string> = { client: 'IP address and user agent', 'presentation.page_url': 'Page address', page_url: 'Page address', auth: 'Sign-in', reason: 'Reason given' };

const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** A record's personal fact in words: what was recorded, or when it was erased. */
export function factWords(f: Fact): string[] {
  const label = FACT_LABEL[f.field] ?? f.field;
  if (f.state === 'erased') return [`${label}: erased on ${f.erased_at ? when(f.erased_at) : 'an unknown date'} (the ledger keeps only its commitment)`];
  if (f.state === 'missing') return [`${label}: not available (no opening of its commitment is held)`];
  const v = f.value as Record<string, unknown> | string;
  if (f.field === 'client' && typeof v === 'object' && v) return [`IP address: ${str(v.ip)}`, `User agent: ${str(v.user_agent)}`];
  if (f.field === 'auth' && typeof v === 'object' && v) return [`Sign-in: ${str(v.method)}, session ${str(v.session_id)}, ${v.mfa === true ? 'with' : 'without'} multi-factor authentication`];
  return [`${label}: ${str(v)}`];
}
