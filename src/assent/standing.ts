// What "a standing acceptance" means, defined once (docs/assent.md) and used by the compliance
// status, the gateway's decisions and withdrawal. Pure.
//
// A subject's standing acceptance of a EULA (slug) is its latest acceptance of any version of
// that EULA that no later withdrawal of that EULA ended. A decline records that the subject
// refused a version; it does not end an earlier acceptance (the subject stays bound by the
// version it accepted, as with any contract whose amendment is refused). Only a withdrawal does.
import type { AssentKind } from '../db/schema.js';

export interface StandingInput {
  kind: AssentKind;
  /** Ledger order: records are given in ascending order of this. */
  ledgerSeq: number;
}

/** The standing acceptance among one subject's records of one slug (in ledger order), if any. */
export function standingAcceptance<R extends StandingInput>(records: readonly R[]): R | undefined {
  let standing: R | undefined;
  for (const r of records) {
    if (r.kind === 'accepted') standing = r;
    else if (r.kind === 'withdrawn') standing = undefined;
  }
  return standing;
}

/** Standing acceptances of many subjects and slugs at once: subject -> slug -> record. */
export function standingBySubject<R extends StandingInput & { subject: string; slug: string }>(records: readonly R[]): Map<string, Map<string, R>> {
  const groups = new Map<string, Map<string, R[]>>();
  for (const r of records) {
    const bySlug = groups.get(r.subject) ?? groups.set(r.subject, new Map()).get(r.subject)!;
    (bySlug.get(r.slug) ?? bySlug.set(r.slug, []).get(r.slug)!).push(r);
  }
  const out = new Map<string, Map<string, R>>();
  for (const [subject, bySlug] of groups) {
    for (const [slug, rs] of bySlug) {
      const s = standingAcceptance([...rs].sort((a, b) => a.ledgerSeq - b.ledgerSeq));
      if (s) (out.get(subject) ?? out.set(subject, new Map()).get(subject)!).set(slug, s);
    }
  }
  return out;
}
