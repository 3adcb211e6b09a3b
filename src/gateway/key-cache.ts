// Unwrapped watermark keys for the gateway's hot path, bounded (LRU) and short-lived for assent
// standing. Entries hold a WatermarkDecider (a node KeyObject inside), never a printable key.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { WatermarkDecider } from '../watermark/decide.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';
import { wrapAad } from '../watermark-keys/keys.js';

export interface SubjectState {
  decider: WatermarkDecider | null;
  keyVersion: number | null;
  /** Slugs whose latest assent record for this subject is an acceptance. */
  standing: ReadonlySet<string>;
  until: number;
}

export interface KeyCacheOptions {
  maxEntries?: number;
  ttlMs?: number;
}

export class SubjectKeyCache {
  readonly #map = new Map<string, SubjectState>();
  readonly #max: number;
  readonly #ttl: number;

  constructor(private readonly db: Kysely<Database>, private readonly kek: KeyEncryptionKey, private readonly threshold: bigint, opts: KeyCacheOptions = {}) {
    this.#max = opts.maxEntries ?? 50_000;
    this.#ttl = opts.ttlMs ?? 5_000;
  }

  get size(): number {
    return this.#map.size;
  }

  invalidate(subject: string): void {
    this.#map.delete(subject);
  }

  /** States for every subject given, loading the missing ones in two queries. */
  async states(subjects: Iterable<string>): Promise<Map<string, SubjectState>> {
    const now = Date.now();
    const out = new Map<string, SubjectState>();
    const missing: string[] = [];
    for (const s of new Set(subjects)) {
      const hit = this.#map.get(s);
      if (hit && hit.until > now) {
        // Refresh recency: Map iteration order is insertion order, so re-insert.
        this.#map.delete(s);
        this.#map.set(s, hit);
        out.set(s, hit);
      } else missing.push(s);
    }
    if (missing.length === 0) return out;
    const [keys, records] = await Promise.all([
      this.db
        .selectFrom('watermark_keys')
        .select(['subject', 'version', 'key_id', 'wrapped'])
        .distinctOn('subject')
        .where('subject', '=', sql<string>`ANY(${missing}::text[])`)
        .orderBy('subject')
        .orderBy('version', 'desc')
        .execute(),
      this.db
        .selectFrom('assent_records')
        .select(['subject', 'slug', 'kind'])
        .distinctOn(['subject', 'slug'])
        .where('subject', '=', sql<string>`ANY(${missing}::text[])`)
        .orderBy('subject')
        .orderBy('slug')
        .orderBy('ledger_seq', 'desc')
        .execute(),
    ]);
    const standing = new Map<string, Set<string>>();
    for (const r of records) if (r.kind === 'accepted') (standing.get(r.subject) ?? standing.set(r.subject, new Set()).get(r.subject)!).add(r.slug);
    const byKey = new Map(keys.map((k) => [k.subject, k]));
    const until = now + this.#ttl;
    for (const s of missing) {
      const k = byKey.get(s);
      let decider: WatermarkDecider | null = null;
      if (k) {
        const raw = this.kek.unwrap(k.wrapped, wrapAad(s, k.version, k.key_id));
        try {
          decider = new WatermarkDecider(raw, this.threshold);
        } finally {
          raw.fill(0);
        }
      }
      const state: SubjectState = { decider, keyVersion: k?.version ?? null, standing: standing.get(s) ?? new Set(), until };
      this.#map.set(s, state);
      out.set(s, state);
    }
    while (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
    return out;
  }
}
