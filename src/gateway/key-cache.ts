// Unwrapped watermark keys for the gateway's hot path, bounded (LRU) and short-lived for assent
// standing. Entries hold a WatermarkDecider (a node KeyObject inside), never a printable key.
import { LRUCache } from 'lru-cache';
import type { AssentRecordRepository } from '../assent/record-repository.js';
import { standingBySubject } from '../assent/standing.js';
import { WatermarkDecider } from '../watermark/decide.js';
import type { WatermarkKeyService } from '../watermark-keys/service.js';

export interface SubjectState {
  decider: WatermarkDecider | null;
  keyVersion: number | null;
  /** Slugs of which the subject has a standing acceptance (assent/standing.ts). */
  standing: ReadonlySet<string>;
}

export interface KeyCacheOptions {
  maxEntries?: number;
  ttlMs?: number;
}

export class SubjectKeyCache {
  readonly #cache: LRUCache<string, SubjectState>;

  constructor(
    private readonly keys: WatermarkKeyService,
    private readonly records: AssentRecordRepository,
    private readonly threshold: bigint,
    opts: KeyCacheOptions = {},
  ) {
    this.#cache = new LRUCache({ max: opts.maxEntries ?? 50_000, ttl: opts.ttlMs ?? 5_000 });
  }

  get size(): number {
    return this.#cache.size;
  }

  invalidate(subject: string): void {
    this.#cache.delete(subject);
  }

  /** States for every subject given, loading the missing ones in two queries. */
  async states(subjects: Iterable<string>): Promise<Map<string, SubjectState>> {
    const out = new Map<string, SubjectState>();
    const missing: string[] = [];
    for (const s of new Set(subjects)) {
      const hit = this.#cache.get(s);
      if (hit) out.set(s, hit);
      else missing.push(s);
    }
    if (missing.length === 0) return out;
    const [keys, records] = await Promise.all([this.keys.latestWrapped(missing), this.records.standingInputs(missing)]);
    const standing = standingBySubject(records);
    for (const s of missing) {
      const k = keys.get(s);
      let decider: WatermarkDecider | null = null;
      if (k) {
        const raw = this.keys.unwrap(k);
        try {
          decider = new WatermarkDecider(raw, this.threshold);
        } finally {
          raw.fill(0);
        }
      }
      const state: SubjectState = { decider, keyVersion: k?.version ?? null, standing: new Set(standing.get(s)?.keys() ?? []) };
      this.#cache.set(s, state);
      out.set(s, state);
    }
    return out;
  }
}
