// eula_versions: the working copy of every published EULA version (the event is the record).
import type { Kysely } from 'kysely';
import type { Database, Highlight } from '../db/schema.js';
import { fromJson, workingRow, type WorkingRow } from '../db/rows.js';

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

const COLUMNS = ['id', 'slug', 'version', 'title', 'body', 'body_sha256', 'effective_at', 'major', 'highlights', 'published_at', 'ledger_seq', 'event_id'] as const;

export class EulaRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(slug: string, version: string): Promise<EulaVersion | undefined> {
    const r = await this.db.selectFrom('eula_versions').select(COLUMNS).where('slug', '=', slug).where('version', '=', version).executeTakeFirst();
    return r ? toVersion(r) : undefined;
  }

  /** Every version of a slug in order of effect (then publication). */
  async history(slug: string): Promise<EulaVersion[]> {
    const rows = await this.db.selectFrom('eula_versions').select(COLUMNS).where('slug', '=', slug).orderBy('effective_at').orderBy('ledger_seq').execute();
    return rows.map(toVersion);
  }

  row(v: Omit<EulaVersion, 'ledgerSeq' | 'eventId'>, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('eula_versions', {
      id: v.id, slug: v.slug, version: v.version, title: v.title, body: v.text, body_sha256: v.textSha256, effective_at: v.effectiveAt,
      major: v.major, highlights: JSON.stringify(v.highlights), published_at: v.publishedAt, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
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
    highlights: fromJson(r.highlights),
    publishedAt: new Date(r.published_at),
    ledgerSeq: Number(r.ledger_seq),
    eventId: r.event_id,
  };
}
