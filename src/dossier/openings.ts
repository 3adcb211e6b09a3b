// The personal facts of a dossier's cited entries (docs/personal-data.md): the bundle carries the
// opening of each committed field about the dossier's subject, or, once erased, which erasure
// removed it. The check is pure and browser-safe (the /verify page runs it): each opening must open
// its entry's commitment, and each committed field of the subject must be opened or named erased by
// a cited erasure.performed entry that lists it.
import { parseCanonical } from '../canonical/jcs.js';
import { openingProblem, type PersonalGroup } from '../privacy/commitment.js';
import { personalFields } from '../privacy/fields.js';

/** The opening of one committed field of a cited entry. */
export interface BundleOpening {
  seq: number;
  event_id: string;
  /** The field's path in the event's data ("client", "subjects.2"). */
  field: string;
  group: PersonalGroup;
  commitment: string;
  /** 32 bytes, lowercase hex. */
  salt: string;
  value: unknown;
}

/** A committed field whose opening was erased, and the erasure that erased it (a cited entry). */
export interface BundleErasedFact {
  seq: number;
  event_id: string;
  field: string;
  group: PersonalGroup;
  commitment: string;
  erasure: { seq: number; event_id: string; erased_at: string; basis: string; request_ref: string };
}

export interface PersonalFactsCheck {
  /** Committed fields in the cited entries. */
  committed: number;
  opened: number;
  erased: number;
  /** Subject fields of other subjects (a plan's screened subjects): not opened in this subject's dossier. */
  withheld: number;
  /** Personal fields held in clear (entries written before personal data left the log). */
  clear: number;
  /** The erasures named, by ledger entry, with how many of the cited facts each erased. */
  erasures: Array<{ seq: number; basis: string; requestRef: string; erasedAt: string; facts: number }>;
  failures: string[];
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const HEX64 = /^[0-9a-f]{64}$/;

interface CitedEvent {
  id: string;
  type: string;
  data: Record<string, any>;
}

/**
 * Checks the bundle's `openings` and `erased` against its cited entries. Every member is hostile:
 * anything malformed is a failure, never a throw. `subjectPseudonym`: the bundle's pseudonym of its
 * subject (subject fields of other pseudonyms may stay unopened).
 */
export function checkPersonalFacts(entries: unknown[], openings: unknown, erased: unknown, subjectPseudonym: unknown): PersonalFactsCheck {
  const r: PersonalFactsCheck = { committed: 0, opened: 0, erased: 0, withheld: 0, clear: 0, erasures: [], failures: [] };
  const fail = (s: string) => r.failures.push(s);
  const events = new Map<number, CitedEvent>();
  for (const e of entries) {
    if (!isObject(e) || !Number.isSafeInteger(e.seq)) continue;
    try {
      const ev = parseCanonical(Buffer.from(String(e.canonical), 'base64'));
      if (isObject(ev) && isObject(ev.data)) events.set(e.seq as number, { id: String(ev.id), type: String(ev.type), data: ev.data });
    } catch {
      // reported by the bundle check
    }
  }
  // Every committed field of every cited entry, by "seq field".
  const committed = new Map<string, { seq: number; id: string; type: string; field: string; group: PersonalGroup; commitment: string; pseudonym: string | null }>();
  for (const [seq, ev] of events) {
    for (const f of personalFields(ev.type, ev.data)) {
      if (f.commitment === null) r.clear++;
      else committed.set(`${seq} ${f.field}`, { seq, id: ev.id, type: ev.type, field: f.field, group: f.group, commitment: f.commitment, pseudonym: f.pseudonym });
    }
  }
  r.committed = committed.size;
  if (subjectPseudonym !== undefined && (typeof subjectPseudonym !== 'string' || !HEX64.test(subjectPseudonym))) fail('the bundle\'s subject_pseudonym is not 32 bytes of lowercase hex');

  const done = new Set<string>();
  const list = (v: unknown, what: string): unknown[] => {
    // Absent from bundles issued before personal data left the log; anything else must be a list.
    if (v === undefined) return [];
    if (Array.isArray(v)) return v;
    fail(`the bundle's ${what} are not a list`);
    return [];
  };
  /** The committed field an opening or erased record names, or null (with the failure pushed). */
  const target = (o: unknown, what: string) => {
    if (!isObject(o) || !Number.isSafeInteger(o.seq) || typeof o.field !== 'string') {
      fail(`${what}: malformed (it needs a seq and a field)`);
      return null;
    }
    const label = `${what} of entry ${o.seq} field ${o.field}`;
    const c = committed.get(`${o.seq} ${o.field}`);
    if (!c) {
      fail(`${label}: entry ${o.seq} ${events.has(o.seq) ? 'has no committed personal field ' + o.field : 'is not cited in the bundle'}`);
      return null;
    }
    if (done.has(`${o.seq} ${o.field}`)) {
      fail(`${label}: the field is opened or erased twice`);
      return null;
    }
    done.add(`${o.seq} ${o.field}`);
    const wrong = [
      o.event_id !== c.id ? `it names event ${String(o.event_id)}, entry ${c.seq} is event ${c.id}` : '',
      o.commitment !== c.commitment ? `it states commitment ${String(o.commitment)}, the entry holds ${c.commitment}` : '',
      o.group !== c.group ? `it is of group ${String(o.group)}, the field of group ${c.group}` : '',
    ].filter(Boolean);
    if (wrong.length) {
      fail(`${label}: ${wrong.join('; ')}`);
      return null;
    }
    return { o, c, label };
  };

  for (const x of list(openings, 'openings')) {
    const t = target(x, 'the opening');
    if (!t) continue;
    const problem = 'value' in t.o ? openingProblem(t.c.commitment, { group: t.o.group, salt: t.o.salt, value: t.o.value }, t.c.group) : 'the opening has no value';
    if (problem) fail(`${t.label}: ${problem}`);
    else r.opened++;
  }

  const byErasure = new Map<number, PersonalFactsCheck['erasures'][number]>();
  for (const x of list(erased, 'erased facts')) {
    const t = target(x, 'the erased fact');
    if (!t) continue;
    const er = t.o.erasure;
    if (!isObject(er) || !Number.isSafeInteger(er.seq)) {
      fail(`${t.label}: it names no erasure entry`);
      continue;
    }
    const ev = events.get(er.seq);
    const listed = ev?.type === 'erasure.performed' && Array.isArray(ev.data.erased)
      && ev.data.erased.some((e: unknown) => isObject(e) && e.event_id === t.c.id && e.seq === t.c.seq && e.field === t.c.field && e.commitment === t.c.commitment);
    const wrong = !ev
      ? [`its erasure, entry ${er.seq}, is not cited in the bundle`]
      : [
          ev.type !== 'erasure.performed' ? `entry ${er.seq} is a ${ev.type} event, not erasure.performed` : '',
          ev.type === 'erasure.performed' && ev.id !== er.event_id ? `entry ${er.seq} is event ${ev.id}, the record names ${String(er.event_id)}` : '',
          ev.type === 'erasure.performed' && !listed ? `the erasure.performed event of entry ${er.seq} does not list (event ${t.c.id}, field ${t.c.field}, commitment ${t.c.commitment})` : '',
          ev.type === 'erasure.performed' && (ev.data.basis !== er.basis || ev.data.request_ref !== er.request_ref) ? `the record states basis ${String(er.basis)} and request ${String(er.request_ref)}, entry ${er.seq} records ${String(ev.data.basis)} and ${String(ev.data.request_ref)}` : '',
        ].filter(Boolean);
    if (wrong.length) {
      fail(`${t.label}: ${wrong.join('; ')}`);
      continue;
    }
    r.erased++;
    const e = byErasure.get(er.seq) ?? { seq: er.seq, basis: String(er.basis), requestRef: String(er.request_ref), erasedAt: String(er.erased_at), facts: 0 };
    e.facts++;
    byErasure.set(er.seq, e);
  }
  r.erasures = [...byErasure.values()].sort((a, b) => a.seq - b.seq);

  for (const [k, c] of committed) {
    if (done.has(k)) continue;
    // Another subject's identifier (a plan screens many): not this dossier's to open.
    if (c.group === 'subject' && typeof subjectPseudonym === 'string' && c.pseudonym !== null && c.pseudonym !== subjectPseudonym) {
      r.withheld++;
      continue;
    }
    fail(`entry ${c.seq} (${c.type}): its committed personal field ${c.field} is neither opened nor named erased by a cited erasure.performed entry`);
  }
  return r;
}

/** One sentence on what the check found, for the report. */
export function personalFactsDetail(r: PersonalFactsCheck): string {
  if (r.failures.length) return r.failures.join('; ');
  const parts = [`${r.opened} of ${r.committed} committed personal facts of the cited entries are opened, each opening hashing to its commitment`];
  if (r.erased) parts.push(`${r.erased} erased, each listed by a cited erasure.performed entry (${r.erasures.map((e) => `entry ${e.seq}: ${e.facts} erased on ${e.erasedAt} under ${e.basis} request ${e.requestRef}`).join('; ')}); their commitments remain`);
  if (r.withheld) parts.push(`${r.withheld} identifiers of other subjects not opened`);
  if (r.clear) parts.push(`${r.clear} personal facts held in clear by entries written before personal data left the log`);
  return parts.join('; ');
}

/** A subject as events name it: its pseudonym (committed) or its identifier (events written before). */
export function subjectKey(subject: unknown): string {
  if (typeof subject === 'string') return `"${subject}"`;
  const p = (subject as { pseudonym?: unknown } | null)?.pseudonym;
  return typeof p === 'string' ? `pseudonym ${p}` : '(no subject)';
}
