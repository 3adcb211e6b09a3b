// EULA versions: immutable, stored verbatim with their SHA-256, each published as a ledger event.
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Highlight } from '../db/schema.js';
import { canonicalString } from '../canonical/jcs.js';
import { sha256Hex } from '../crypto/hash.js';
import type { Ledger } from '../ledger/ledger.js';
import { prepareEvent } from '../ledger/format.js';
import { isUniqueViolation } from '../db/errors.js';
import { AppError } from '../problems/app-error.js';

export interface EulaVersion {
  id: string;
  slug: string;
  version: string;
  title: string;
  text: string;
  textSha256: string;
  effectiveAt: Date;
  major: boolean;
  highlights: Highlight[];
  publishedAt: Date;
  ledgerSeq: number;
  eventId: string;
}

export interface PublishInput {
  slug: string;
  version: string;
  title: string;
  text: string;
  effective_at: string;
  major: boolean;
  highlights?: Highlight[] | undefined;
}

const COLUMNS = ['id', 'slug', 'version', 'title', 'body', 'body_sha256', 'effective_at', 'major', 'highlights', 'published_at', 'ledger_seq', 'event_id'] as const;

export class EulaService {
  // Versions are immutable, so a found version can be cached for the life of the process.
  readonly #byKey = new Map<string, EulaVersion>();

  constructor(private readonly db: Kysely<Database>, private readonly ledger: Ledger) {}

  async publish(input: PublishInput, publishedBy: string): Promise<{ eula: EulaVersion; created: boolean }> {
    const textSha256 = sha256Hex(Buffer.from(input.text, 'utf8'));
    for (const h of input.highlights ?? []) {
      if (!input.text.includes(h.text)) throw new AppError('eula_highlight_not_in_text', `highlight "${h.text.slice(0, 60)}" does not occur verbatim in the text`);
    }
    const existing = await this.find(input.slug, input.version);
    if (existing) return { eula: this.#sameOrConflict(existing, input, textSha256), created: false };

    const id = randomUUID();
    const now = new Date();
    const effectiveAt = new Date(input.effective_at);
    const highlights = input.highlights ?? [];
    const event = prepareEvent('eula.published', {
      eula_id: id,
      slug: input.slug,
      version: input.version,
      title: input.title,
      text: input.text,
      text_sha256: textSha256,
      effective_at: effectiveAt.toISOString(),
      major: input.major,
      highlights,
      published_by: publishedBy,
    }, { time: now });
    try {
      const [pos] = await this.ledger.append({
        events: [event],
        rows: ([p]) => [{
          table: 'eula_versions',
          values: { id, slug: input.slug, version: input.version, title: input.title, body: input.text, body_sha256: textSha256, effective_at: effectiveAt, major: input.major, highlights: JSON.stringify(highlights), published_at: now, ledger_seq: p!.seq, event_id: p!.eventId },
        }],
      });
      const eula: EulaVersion = { id, slug: input.slug, version: input.version, title: input.title, text: input.text, textSha256, effectiveAt, major: input.major, highlights, publishedAt: now, ledgerSeq: pos!.seq, eventId: pos!.eventId };
      this.#byKey.set(key(eula.slug, eula.version), eula);
      return { eula, created: true };
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      // Lost a race with an identical publish: answer as the idempotent case would.
      const winner = await this.find(input.slug, input.version);
      if (!winner) throw e;
      return { eula: this.#sameOrConflict(winner, input, textSha256), created: false };
    }
  }

  #sameOrConflict(existing: EulaVersion, input: PublishInput, textSha256: string): EulaVersion {
    const same = existing.textSha256 === textSha256 && existing.title === input.title && existing.major === input.major &&
      existing.effectiveAt.getTime() === new Date(input.effective_at).getTime() &&
      canonicalString(existing.highlights) === canonicalString(input.highlights ?? []);
    if (!same) {
      throw new AppError('eula_version_conflict', `${input.slug} version ${input.version} is already published with ${existing.textSha256 === textSha256 ? 'different metadata' : `different text (sha256 ${existing.textSha256})`}; versions are immutable: publish a new version string`, { existing_text_sha256: existing.textSha256 });
    }
    return existing;
  }

  async find(slug: string, version: string): Promise<EulaVersion | undefined> {
    const k = key(slug, version);
    const hit = this.#byKey.get(k);
    if (hit) return hit;
    const r = await this.db.selectFrom('eula_versions').select(COLUMNS).where('slug', '=', slug).where('version', '=', version).executeTakeFirst();
    if (!r) return undefined;
    const v = toVersion(r);
    this.#byKey.set(k, v);
    return v;
  }

  async get(slug: string, version: string): Promise<EulaVersion> {
    const v = await this.find(slug, version);
    if (!v) throw new AppError('eula_not_found', `no version "${version}" of EULA "${slug}" has been published`);
    return v;
  }

  /** Every version of a slug in order of effect (then publication). */
  async history(slug: string): Promise<EulaVersion[]> {
    const rows = await this.db.selectFrom('eula_versions').select(COLUMNS).where('slug', '=', slug).orderBy('effective_at').orderBy('ledger_seq').execute();
    return rows.map(toVersion);
  }

  /** The version in effect now, and the latest major version in effect (what subjects must have accepted). */
  async current(slug: string, at = new Date()): Promise<{ current: EulaVersion; requiredMajor: EulaVersion; history: EulaVersion[] }> {
    const history = await this.history(slug);
    if (history.length === 0) throw new AppError('eula_not_found', `no EULA "${slug}" has been published`);
    const inEffect = history.filter((v) => v.effectiveAt.getTime() <= at.getTime());
    const current = inEffect.at(-1);
    if (!current) throw new AppError('eula_not_effective', `EULA "${slug}" has versions, but none is in effect yet (the first takes effect ${history[0]!.effectiveAt.toISOString()})`);
    const requiredMajor = [...inEffect].reverse().find((v) => v.major) ?? inEffect[0]!;
    return { current, requiredMajor, history };
  }
}

function key(slug: string, version: string): string {
  return `${slug}\0${version}`;
}

function toVersion(r: { id: string; slug: string; version: string; title: string; body: string; body_sha256: string; effective_at: Date; major: boolean; highlights: Highlight[] | string; published_at: Date; ledger_seq: string; event_id: string }): EulaVersion {
  return {
    id: r.id,
    slug: r.slug,
    version: r.version,
    title: r.title,
    text: r.body,
    textSha256: r.body_sha256,
    effectiveAt: new Date(r.effective_at),
    major: r.major,
    highlights: typeof r.highlights === 'string' ? (JSON.parse(r.highlights) as Highlight[]) : r.highlights,
    publishedAt: new Date(r.published_at),
    ledgerSeq: Number(r.ledger_seq),
    eventId: r.event_id,
  };
}

export function eulaJson(v: EulaVersion, withText = true): Record<string, unknown> {
  return {
    id: v.id,
    slug: v.slug,
    version: v.version,
    title: v.title,
    ...(withText ? { text: v.text } : {}),
    text_sha256: v.textSha256,
    effective_at: v.effectiveAt.toISOString(),
    major: v.major,
    highlights: v.highlights,
    published_at: v.publishedAt.toISOString(),
    ledger: { seq: v.ledgerSeq, event_id: v.eventId },
  };
}
