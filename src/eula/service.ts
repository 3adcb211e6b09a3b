// EULA versions: immutable, stored verbatim with their SHA-256, each published as a ledger event.
import { randomUUID } from 'node:crypto';
import type { Highlight } from '../db/schema.js';
import { canonicalString } from '../canonical/jcs.js';
import { sha256Hex } from '../crypto/hash.js';
import type { Ledger } from '../ledger/ledger.js';
import { buildEvent } from '../ledger/events.js';
import { isUniqueViolation } from '../db/errors.js';
import type { EulaRepository, EulaVersion } from './repository.js';

export type { EulaVersion } from './repository.js';
import { AppError } from '../problems/app-error.js';

export interface PublishInput {
  slug: string;
  version: string;
  title: string;
  text: string;
  effective_at: string;
  major: boolean;
  highlights?: Highlight[] | undefined;
}

/**
 * How far before its publication a version's effective_at may lie (clocks of the publisher and the
 * service differ). Further back, it would rewrite which version was in effect when subjects acted.
 */
export const BACKDATE_TOLERANCE_MS = 5 * 60_000;

export class EulaService {
  // Versions are immutable, so a found version can be cached for the life of the process.
  readonly #byKey = new Map<string, EulaVersion>();

  constructor(private readonly repo: EulaRepository, private readonly ledger: Ledger) {}

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
    await this.#refuseBackdating(input.slug, effectiveAt, now);
    const highlights = input.highlights ?? [];
    const event = buildEvent('eula.published', {
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
      const draft = { id, slug: input.slug, version: input.version, title: input.title, text: input.text, textSha256, effectiveAt, major: input.major, highlights, publishedAt: now };
      const [pos] = await this.ledger.append({ events: [event], rows: ([p]) => [this.repo.row(draft, p!)] });
      const eula: EulaVersion = { ...draft, ledgerSeq: pos!.seq, eventId: pos!.eventId };
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

  /**
   * A later version may not take effect before it is published: the service has already answered
   * (and subjects have acted on) which version was in effect then. The first version of a slug may:
   * it records terms in force before the ledger, and no record can have relied on the slug yet.
   */
  async #refuseBackdating(slug: string, effectiveAt: Date, now: Date): Promise<void> {
    if (effectiveAt.getTime() >= now.getTime() - BACKDATE_TOLERANCE_MS) return;
    const history = await this.repo.history(slug);
    if (history.length === 0) return;
    throw new AppError('eula_backdated', `effective_at ${effectiveAt.toISOString()} is before the publication of this version (now, ${now.toISOString()}); "${slug}" already has published versions, and a new one cannot take effect in the past. Use the time it takes effect, now or later.`, { errors: [{ field: 'effective_at', message: 'must not be before the time of publication' }] });
  }

  /** An acceptance binds from now: of a version not yet in effect it is refused (docs/input-rules.md). */
  refuseNotInEffect(eula: EulaVersion, at: Date): void {
    if (eula.effectiveAt.getTime() <= at.getTime()) return;
    throw new AppError('eula_version_not_in_effect', `${eula.slug} version ${eula.version} takes effect ${eula.effectiveAt.toISOString()}: it cannot be accepted before then (the subject would stand bound by terms not yet in force). Record the acceptance once it is in effect; a decline may be recorded now.`, { effective_at: eula.effectiveAt.toISOString() });
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
    const v = await this.repo.find(slug, version);
    if (!v) return undefined;
    this.#byKey.set(k, v);
    return v;
  }

  async get(slug: string, version: string): Promise<EulaVersion> {
    const v = await this.find(slug, version);
    if (!v) throw new AppError('eula_not_found', `no version "${version}" of EULA "${slug}" has been published`);
    return v;
  }

  /** Every version of a slug in order of effect (then publication). */
  history(slug: string): Promise<EulaVersion[]> {
    return this.repo.history(slug);
  }

  /** Every version of a slug; refused when none was ever published. */
  async historyOrFail(slug: string): Promise<EulaVersion[]> {
    const h = await this.history(slug);
    if (h.length === 0) throw new AppError('eula_not_found', `no EULA "${slug}" has been published`);
    return h;
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
