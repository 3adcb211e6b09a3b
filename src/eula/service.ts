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
