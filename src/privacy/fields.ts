// Which fields of which events are personal facts, how an event's clear data is sealed (each such
// field replaced in place by a commitment, its opening kept aside), and how a reader finds them
// again. The one list of personal fields: the appender's guard, the verifiers, subject export and
// erasure all read it (docs/personal-data.md has it as a table). Pure.
import { commit, openingProblem, type Opening, type PersonalGroup } from './commitment.js';

/**
 * Personal fields by event type: a dotted path into the event's data (`*` = every element of an
 * array) and the group its value is committed under. Everything else in an event is in clear.
 */
export const PERSONAL_FIELDS: Readonly<Record<string, Readonly<Record<string, PersonalGroup>>>> = {
  'acceptance.recorded': { subject: 'subject', client: 'network', 'presentation.page_url': 'network', auth: 'session' },
  'acceptance.declined': { subject: 'subject', client: 'network', 'presentation.page_url': 'network', auth: 'session' },
  'acceptance.withdrawn': { subject: 'subject', client: 'network', auth: 'session', reason: 'free_text' },
  'acceptance.displayed': { subject: 'subject', page_url: 'network', client: 'network', auth: 'session' },
  'watermark_key.assigned': { subject: 'subject' },
  'watermark_key.rotated': { subject: 'subject' },
  'verification.planned': { 'subjects.*': 'subject' },
  'verification.recorded': { subject: 'subject' },
  'dossier.issued': { subject: 'subject', requested_by: 'free_text', prepared_for: 'free_text' },
  'llm_verification.planned': { 'subjects.*': 'subject' },
  'llm_verification.recorded': { subject: 'subject' },
  'llm_watermark.usage_reported': { subject: 'subject' },
  'legal_hold.placed': { subject: 'subject', reason: 'free_text' },
  'legal_hold.released': { subject: 'subject', reason: 'free_text' },
};

/** An opening as it is kept: which field of which subject's event it opens, and what it commits. */
export interface SealedOpening extends Opening {
  /** The field's path in the event's data (`subjects.2` for an array element). */
  field: string;
  /** The pseudonym of the subject the fact is about. */
  pseudonym: string;
  commitment: string;
  /** The value's RFC 8785 bytes, as committed (kept so the store and receipts need not canonicalise it again). */
  valueBytes: Buffer;
}

/** One personal field of an event as written: committed (new events) or in clear (events written before). */
export interface PersonalField {
  field: string;
  group: PersonalGroup;
  /** The commitment, or null when the event holds the value in clear. */
  commitment: string | null;
  /** The subject's pseudonym, for a committed subject field. */
  pseudonym: string | null;
  /** The value in clear, for events written before personal data left the log. */
  clear: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const PARTS = new Map<string, readonly string[]>();
/** A pattern's parts, split once (sealing runs on every acceptance). */
function patternParts(pattern: string): readonly string[] {
  let parts = PARTS.get(pattern);
  if (!parts) PARTS.set(pattern, (parts = pattern.split('.')));
  return parts;
}

/** Every concrete path of a pattern in `data` that holds a value (absent or null fields are skipped). */
function expand(data: Obj, pattern: string): { path: string; parent: Obj | unknown[]; key: string | number }[] {
  const parts = patternParts(pattern);
  let level: { path: string; node: unknown }[] = [{ path: '', node: data }];
  const out: { path: string; parent: Obj | unknown[]; key: string | number }[] = [];
  parts.forEach((part, i) => {
    const next: { path: string; node: unknown }[] = [];
    for (const { path, node } of level) {
      const children: [string | number, unknown][] = part === '*'
        ? (Array.isArray(node) ? node.map((v, j) => [j, v] as [number, unknown]) : [])
        : isObj(node) && Object.prototype.hasOwnProperty.call(node, part) ? [[part, node[part]]] : [];
      for (const [key, child] of children) {
        const p = path ? `${path}.${key}` : String(key);
        if (i === parts.length - 1) {
          if (child !== null && child !== undefined) out.push({ path: p, parent: node as Obj | unknown[], key });
        } else next.push({ path: p, node: child });
      }
    }
    level = next;
  });
  return out;
}

/** The personal fields of an event's data, in the order of PERSONAL_FIELDS. */
export function personalFields(type: string, data: unknown): PersonalField[] {
  const spec = PERSONAL_FIELDS[type];
  if (!spec || !isObj(data)) return [];
  const out: PersonalField[] = [];
  for (const [pattern, group] of Object.entries(spec)) {
    for (const { path, parent, key } of expand(data, pattern)) {
      const v = (parent as Record<string | number, unknown>)[key];
      const committed = isObj(v) && typeof v.commitment === 'string' ? v : null;
      out.push({
        field: path, group,
        commitment: committed ? (committed.commitment as string) : null,
        pseudonym: committed && typeof committed.pseudonym === 'string' ? committed.pseudonym : null,
        clear: committed ? undefined : v,
      });
    }
  }
  return out;
}

/**
 * Seals an event's clear data: every personal field is replaced by a commitment (a subject field
 * by its pseudonym and commitment), each under a fresh salt. `subject` is whom the event is about
 * (null: only its subject fields name anyone); `pseudonymOf` computes a subject's pseudonym.
 */
export function sealData<D extends object>(type: string, clear: D, subject: string | null, pseudonymOf: (subject: string) => string): { data: D; openings: SealedOpening[] } {
  const openings: SealedOpening[] = [];
  const own = subject === null ? null : pseudonymOf(subject);
  // The event's own subject is usually its subject field too: one HMAC for both.
  const pseudonymFor = (s: string): string => (s === subject && own !== null ? own : pseudonymOf(s));
  // Copy-on-write: the containers on the way to a personal field are copied, nothing of `clear` is changed.
  const data = { ...(clear as Obj) };
  const copied = new Set<unknown>([data]);
  const writable = (container: Obj | unknown[]): Obj | unknown[] => {
    if (copied.has(container)) return container;
    const c = Array.isArray(container) ? [...container] : { ...container };
    copied.add(c);
    return c;
  };
  for (const [pattern, group] of Object.entries(PERSONAL_FIELDS[type] ?? {})) {
    for (const { path } of expand(clear as Obj, pattern)) {
      const keys = path.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k));
      let node: Obj | unknown[] = data;
      for (const k of keys.slice(0, -1)) {
        const child = writable((node as Record<string | number, unknown>)[k] as Obj | unknown[]);
        (node as Record<string | number, unknown>)[k] = child;
        node = child;
      }
      const last = keys.at(-1)!;
      const value = (node as Record<string | number, unknown>)[last];
      let pseudonym: string;
      if (group === 'subject') {
        if (typeof value !== 'string') throw new Error(`the subject field ${path} of a ${type} event must be a subject identifier`);
        pseudonym = pseudonymFor(value);
      } else {
        if (own === null) throw new Error(`a ${type} event with personal field ${path} must name its subject`);
        pseudonym = own;
      }
      const { commitment, opening, valueBytes } = commit(group, value);
      (node as Record<string | number, unknown>)[last] = group === 'subject' ? { pseudonym, commitment } : { commitment };
      openings.push({ ...opening, field: path, pseudonym, commitment, valueBytes });
    }
  }
  return { data: data as D, openings };
}

/** The first personal field an event's data holds in clear, or null: new events must hold none. */
export function clearPersonalField(type: string, data: unknown): string | null {
  return personalFields(type, data).find((f) => f.commitment === null)?.field ?? null;
}

/** An opening found for one field of one event (null once erased). */
export interface FieldOpening {
  field: string;
  opening: { salt: string; value: unknown } | null;
}

/**
 * An event's data with its committed personal fields opened: each field whose opening is given
 * (and opens its commitment) holds its value again; erased or missing ones stay commitments. A
 * given opening that does not open its commitment throws: a store or a bundle was altered.
 */
export function openData<D>(type: string, data: D, openings: readonly FieldOpening[]): D {
  const byField = new Map(openings.map((o) => [o.field, o.opening]));
  const out = structuredClone(data) as D & Obj;
  for (const [pattern, group] of Object.entries(PERSONAL_FIELDS[type] ?? {})) {
    for (const { path, parent, key } of expand(out, pattern)) {
      const v = (parent as Record<string | number, unknown>)[key];
      const o = byField.get(path);
      if (!o || !isObj(v) || typeof v.commitment !== 'string') continue;
      const problem = openingProblem(v.commitment, { group, ...o }, group);
      if (problem) throw new Error(`the opening of ${path} of a ${type} event does not open its commitment: ${problem}`);
      (parent as Record<string | number, unknown>)[key] = o.value;
    }
  }
  return out;
}

/**
 * The name working copies give a subject once its personal data is erased: the erasure's id, not
 * the identifier. The `erasures` row links it to the pseudonym, so the subject's evidence is still
 * found by whoever can compute the pseudonym (the dossier after an erasure).
 */
export function erasedSubjectName(erasureId: string): string {
  return `erased:${erasureId}`;
}
