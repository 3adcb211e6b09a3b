// Full ledger verifications of a running service, one at a time: started by an admin over HTTP or
// by the service's own timer, run in the background, their progress and outcome kept in memory
// (the last few jobs of this process) for the admin API, the ledger status and the metrics.
import { randomUUID } from 'node:crypto';
import type { VerifyReport } from '../ledger/verifier.js';
import { AppError } from '../problems/app-error.js';

/** The part of the ledger a verification job needs. */
export interface VerifiableLedger {
  head(): Promise<{ size: number }>;
  verify(opts: { onProgress?: (done: number, total: number) => void; pageSize?: number }): Promise<VerifyReport>;
}

export type JobTrigger = 'admin' | 'schedule';
export type JobState = 'running' | 'finished' | 'error';

export interface VerificationJob {
  id: string;
  trigger: JobTrigger;
  state: JobState;
  startedAt: Date;
  finishedAt: Date | null;
  /** Entries in the ledger when the job started (what it will check, at least). */
  entriesTotal: number | null;
  /** Entries checked so far (the verifier reports every 10,000). */
  entriesChecked: number;
  /** The verifier's report once finished: ok, or the first bad entry. */
  report: VerifyReport | null;
  /** Why the job could not finish (state error); the cause is in the service log. */
  error: string | null;
}

export interface LedgerVerificationsOptions {
  /** Told when a job ends (metrics). */
  onFinished?: (job: VerificationJob) => void;
  /** A job that failed to run, or found the ledger altered: logged by the caller. */
  onError?: (err: unknown, what: string) => void;
  /** Jobs kept for GET (oldest dropped first). */
  keep?: number;
}

class Stopped extends Error {}

export class LedgerVerifications {
  readonly #ledger: VerifiableLedger;
  readonly #opts: LedgerVerificationsOptions;
  readonly #jobs = new Map<string, VerificationJob>();
  #running: { job: VerificationJob; done: Promise<void> } | null = null;
  #lastFinished: VerificationJob | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopping = false;

  constructor(ledger: VerifiableLedger, opts: LedgerVerificationsOptions = {}) {
    this.#ledger = ledger;
    this.#opts = opts;
  }

  /**
   * Starts a full verification in the background. Refused with ledger_verification_running while
   * one runs (the running job's id is in the problem).
   */
  start(trigger: JobTrigger): VerificationJob {
    if (this.#running) {
      const id = this.#running.job.id;
      throw new AppError('ledger_verification_running', `verification ${id} is still running; follow it at /v1/admin/ledger/verifications/${id} and start another once it has finished`, { job_id: id, location: `/v1/admin/ledger/verifications/${id}` });
    }
    if (this.#stopping) throw new Error('the service is stopping');
    const job: VerificationJob = { id: randomUUID(), trigger, state: 'running', startedAt: new Date(), finishedAt: null, entriesTotal: null, entriesChecked: 0, report: null, error: null };
    this.#remember(job);
    this.#running = { job, done: this.#run(job) };
    return snapshot(job);
  }

  get(id: string): VerificationJob {
    const job = this.#jobs.get(id);
    if (!job) throw new AppError('ledger_verification_not_found', `no ledger verification ${id} in this process (it keeps the last ${this.#keep()} jobs, and forgets them on restart); start one with POST /v1/admin/ledger/verifications`);
    return snapshot(job);
  }

  /** The running job, if any. */
  running(): VerificationJob | null {
    return this.#running ? snapshot(this.#running.job) : null;
  }

  /** The last job that finished (ok or not), or null when none has in this process. */
  lastFinished(): VerificationJob | null {
    return this.#lastFinished ? snapshot(this.#lastFinished) : null;
  }

  /** Full verification on a timer (the first a second after start); a run already going is left alone. */
  startTimer(intervalMs: number): void {
    if (intervalMs <= 0 || this.#timer) return;
    const tick = () => {
      if (this.#running || this.#stopping) return;
      this.start('schedule');
    };
    setTimeout(tick, 1000).unref();
    this.#timer = setInterval(tick, intervalMs);
    this.#timer.unref();
  }

  /** Stops the timer and a running job (at its next progress report), and waits for it. */
  async close(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running?.done;
  }

  async #run(job: VerificationJob): Promise<void> {
    try {
      job.entriesTotal = (await this.#ledger.head()).size;
      const report = await this.#ledger.verify({
        pageSize: 1000,
        onProgress: (done) => {
          if (this.#stopping) throw new Stopped('the service stopped during the verification');
          job.entriesChecked = done;
        },
      });
      job.report = report;
      job.entriesChecked = report.size;
      job.state = 'finished';
      if (!report.ok) this.#opts.onError?.(new Error(`ledger verification ${job.id} failed at entry ${report.fault?.seq}: ${report.fault?.reason}`), 'ledger verification');
    } catch (e) {
      job.state = 'error';
      job.error = e instanceof Stopped ? e.message : 'the verification could not finish (a database error); the cause is in the service log';
      if (!(e instanceof Stopped)) this.#opts.onError?.(e, 'ledger verification');
    } finally {
      job.finishedAt = new Date();
      this.#running = null;
      this.#lastFinished = job;
      this.#opts.onFinished?.(snapshot(job));
    }
  }

  #keep(): number {
    return this.#opts.keep ?? 20;
  }

  #remember(job: VerificationJob): void {
    this.#jobs.set(job.id, job);
    for (const id of this.#jobs.keys()) {
      if (this.#jobs.size <= this.#keep()) break;
      if (this.#jobs.get(id)!.state !== 'running') this.#jobs.delete(id);
    }
  }
}

function snapshot(job: VerificationJob): VerificationJob {
  return { ...job };
}
