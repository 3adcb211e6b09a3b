// Time from outside: RFC 3161 timestamps of signed checkpoints, from the configured TSA, on a timer
// and on demand (each dossier issue). The digest stamped is SHA-256 of the whole signed note, so
// `openssl ts -verify -digest $(sha256sum checkpoint.note)` ties the token to the checkpoint.
import { createHash, randomUUID } from 'node:crypto';
import type { StoredCheckpoint } from '../ledger/checkpoint-repository.js';
import { AppError } from '../problems/app-error.js';
import { requestTimestamp, type TsaPost } from './rfc3161.js';
import type { StoredTimestamp, TimestampRepository } from './repository.js';

export interface TimestampSettings {
  /** The TSA's URL; without one the service runs, and says that no outside timestamp exists. */
  url: string | undefined;
  /** Certificates (PEM) a token must chain to; without them the token's own certificate is checked only. */
  trustedCertsPem?: string | undefined;
}

export class TimestampService {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;

  constructor(
    private readonly repo: TimestampRepository,
    private readonly latestCheckpoint: () => Promise<StoredCheckpoint | undefined>,
    private readonly post: TsaPost,
    private readonly settings: TimestampSettings,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  get configured(): boolean {
    return !!this.settings.url;
  }

  get tsaUrl(): string | null {
    return this.settings.url ?? null;
  }

  /** Stamps a signed checkpoint (idempotent per checkpoint: an existing token is returned). */
  async stamp(cp: StoredCheckpoint): Promise<StoredTimestamp | null> {
    const url = this.settings.url;
    if (!url) return null;
    const existing = (await this.repo.forSize(cp.size)).at(-1);
    if (existing) return existing;
    const digest = createHash('sha256').update(cp.body).digest();
    let t;
    try {
      t = await requestTimestamp(url, digest, this.post, this.settings.trustedCertsPem ? { trustedCertsPem: this.settings.trustedCertsPem } : {});
    } catch (e) {
      throw new AppError('timestamp_unavailable', `the time-stamping authority at ${url} gave no usable timestamp: ${e instanceof Error ? e.message : String(e)}`);
    }
    const stored: StoredTimestamp = { id: randomUUID(), size: cp.size, digest, tsaUrl: url, token: t.token, genTime: t.genTime, serial: t.serial };
    await this.repo.insert(stored);
    return stored;
  }

  /** Stamps the latest checkpoint unless it already is; failures are reported, never thrown. */
  stampLatest(): Promise<unknown> {
    this.#running ??= (async () => {
      try {
        const cp = await this.latestCheckpoint();
        if (cp) await this.stamp(cp);
      } catch (e) {
        this.onError(e);
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  /** The most recent timestamped checkpoint at or below `size`. */
  latest(size?: number): Promise<StoredTimestamp | undefined> {
    return this.repo.latest(size);
  }

  start(intervalMs: number): void {
    if (!this.settings.url || intervalMs <= 0 || this.#timer) return;
    this.#timer = setInterval(() => void this.stampLatest(), intervalMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
