// The retention policy as a background job of a running service (ASSENTMARK_RETENTION_DAYS): one
// pass soon after start, then one an hour. A pass erases what is due (ErasureService.retention);
// a failed pass is reported and the next one tries again.
import type { ErasureService, RetentionRun } from './service.js';

export const RETENTION_INTERVAL_MS = 3_600_000;

export class RetentionJob {
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;
  #stopping = false;

  constructor(
    private readonly erasure: ErasureService,
    private readonly days: number | undefined,
    private report: { onError?: (err: unknown, what?: string) => void; onRun?: (run: RetentionRun) => void } = {},
  ) {}

  /** Starts the passes (nothing when retention is off). */
  start(intervalMs = RETENTION_INTERVAL_MS, onRun?: (run: RetentionRun) => void): void {
    if (this.days === undefined || this.#timer) return;
    if (onRun) this.report.onRun = onRun;
    const days = this.days;
    const tick = () => {
      if (this.#running || this.#stopping) return;
      this.#running = this.erasure.retention(days)
        .then((run) => this.report.onRun?.(run), (err: unknown) => this.report.onError?.(err, 'retention'))
        .finally(() => { this.#running = null; });
    };
    setTimeout(tick, Math.min(10_000, intervalMs)).unref();
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a pass under way. */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }
}
