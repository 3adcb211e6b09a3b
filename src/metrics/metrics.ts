// The service's Prometheus metrics, on a registry of its own (never prom-client's global one, so
// several apps in one process keep separate counts). Labels are bounded sets: route templates,
// status classes, outcomes and problem codes; never a subject, a key or anything a client typed.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AppendObserver } from '../ledger/appender.js';
import type { RenderObserver } from '../dossier/render-pool.js';
import type { VerificationObserver } from '../verification/service.js';

/** Values read when scraped; each is optional (an embedded database has no pool). */
export interface MetricSources {
  ledgerSize?: () => Promise<number>;
  latestCheckpoint?: () => Promise<{ size: number; createdAt: Date } | undefined>;
  pool?: () => PoolStats | null;
  renderQueue?: () => number;
}

export interface PoolStats {
  inUse: number;
  idle: number;
  waiting: number;
}

export type LedgerVerificationOutcome = 'ok' | 'failed' | 'error';

export interface HttpObservation {
  method: string;
  /** The route template that handled the request, or null when none did. */
  route: string | null;
  status: number;
  seconds: number;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export class ServiceMetrics {
  readonly registry = new Registry();
  #sources: MetricSources = {};
  #processMetrics = false;

  readonly #httpRequests = new Counter({ name: 'assentmark_http_requests_total', help: 'HTTP requests answered, by route template and status class', labelNames: ['method', 'route', 'status_class'] as const, registers: [this.registry] });
  readonly #httpDuration = new Histogram({ name: 'assentmark_http_request_duration_seconds', help: 'Time to answer an HTTP request, by route template and status class', labelNames: ['method', 'route', 'status_class'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry] });
  readonly #batchSize = new Histogram({ name: 'assentmark_ledger_append_batch_entries', help: 'New ledger entries per committed append batch (group commit)', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registers: [this.registry] });
  readonly #batchDuration = new Histogram({ name: 'assentmark_ledger_append_batch_duration_seconds', help: 'Time to commit one append batch', buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly #appendErrors = new Counter({ name: 'assentmark_ledger_append_errors_total', help: 'Appends refused to their caller (nothing of them was committed)', registers: [this.registry] });
  readonly #ledgerVerifications = new Counter({ name: 'assentmark_ledger_verifications_total', help: 'Full ledger verifications finished, by outcome: ok (intact), failed (a bad entry found), error (could not finish)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly #lastVerification = new Gauge({ name: 'assentmark_ledger_last_verification_timestamp_seconds', help: 'When the last full ledger verification finished (Unix time), by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly #verifications = new Counter({ name: 'assentmark_verifications_total', help: 'Watermark verification outcomes recorded, one per subject tested', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly #verificationFailures = new Counter({ name: 'assentmark_verification_failures_total', help: 'Watermark verification requests refused (nothing recorded), by problem code', labelNames: ['code'] as const, registers: [this.registry] });
  readonly #renderDuration = new Histogram({ name: 'assentmark_dossier_render_duration_seconds', help: 'Time to render and sign a dossier PDF in a worker, by outcome', labelNames: ['outcome'] as const, buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120], registers: [this.registry] });

  constructor() {
    const sources = () => this.#sources;
    new Gauge({
      name: 'assentmark_ledger_entries', help: 'Entries in the ledger (its head size)', registers: [this.registry],
      async collect() {
        const f = sources().ledgerSize;
        if (f) this.set(await f());
      },
    });
    new Gauge({
      name: 'assentmark_ledger_checkpoint_size', help: 'Entries covered by the latest signed checkpoint (0 before the first)', registers: [this.registry],
      async collect() {
        const f = sources().latestCheckpoint;
        if (f) this.set((await f())?.size ?? 0);
      },
    });
    new Gauge({
      name: 'assentmark_ledger_checkpoint_age_seconds', help: 'Seconds since the latest signed checkpoint was written (0 before the first)', registers: [this.registry],
      async collect() {
        const cp = await sources().latestCheckpoint?.();
        this.set(cp ? Math.max(0, (Date.now() - cp.createdAt.getTime()) / 1000) : 0);
      },
    });
    new Gauge({
      name: 'assentmark_dossier_render_queue_depth', help: 'Dossier renders waiting for a worker', registers: [this.registry],
      collect() {
        this.set(sources().renderQueue?.() ?? 0);
      },
    });
    for (const [name, help, pick] of [
      ['assentmark_db_pool_in_use', 'Database connections checked out of the pool', (s: PoolStats) => s.inUse],
      ['assentmark_db_pool_idle', 'Idle database connections in the pool', (s: PoolStats) => s.idle],
      ['assentmark_db_pool_waiting', 'Queries waiting for a database connection', (s: PoolStats) => s.waiting],
    ] as const) {
      new Gauge({
        name, help: `${help} (0 for the embedded database, which has no pool)`, registers: [this.registry],
        collect() {
          const s = sources().pool?.();
          this.set(s ? pick(s) : 0);
        },
      });
    }
  }

  /** Where the scrape-time gauges read from; set once the services exist. */
  watch(sources: MetricSources): void {
    this.#sources = { ...this.#sources, ...sources };
  }

  /** prom-client's process and Node.js metrics (CPU, memory, event loop, GC), on this registry. Once. */
  collectProcessMetrics(): void {
    if (this.#processMetrics) return;
    this.#processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  /** The text exposition format and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }

  observeHttp(o: HttpObservation): void {
    const labels = { method: METHODS.has(o.method) ? o.method : 'OTHER', route: o.route ?? 'unmatched', status_class: `${Math.floor(o.status / 100)}xx` };
    this.#httpRequests.inc(labels);
    this.#httpDuration.observe(labels, o.seconds);
  }

  readonly append: AppendObserver = {
    committed: (entries, seconds) => {
      this.#batchSize.observe(entries);
      this.#batchDuration.observe(seconds);
    },
    failed: () => this.#appendErrors.inc(),
  };

  readonly render: RenderObserver = {
    rendered: (seconds, ok) => this.#renderDuration.observe({ outcome: ok ? 'ok' : 'failed' }, seconds),
  };

  readonly verification: VerificationObserver = {
    recorded: (decision) => this.#verifications.inc({ outcome: decision }),
    refused: (code) => this.#verificationFailures.inc({ code }),
  };

  ledgerVerified(outcome: LedgerVerificationOutcome, at: Date): void {
    this.#ledgerVerifications.inc({ outcome });
    this.#lastVerification.set({ outcome }, at.getTime() / 1000);
  }
}
