// Dossier rendering is CPU-bound: it runs in worker threads (a piscina pool) so request handling
// keeps its latency.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { SignerMaterial } from '../pdf/sign.js';
import type { DossierModel } from './model.js';
import type { SamplesCsv, SamplesCsvTask } from './samples-csv.js';
import type { RenderWorkerData, RenderWorkerResult } from './render-worker.js';

export interface RenderedDossier {
  pdf: Buffer;
  unsignedSha256: string;
  pages: number;
}

/**
 * Workers beyond the first stop after this long without work. Idle workers never keep the
 * process alive (piscina unrefs them), the timeout only returns their memory.
 */
const IDLE_TIMEOUT_MS = 60_000;

/** What the pool reports for monitoring (metrics); it must not throw. */
export interface RenderObserver {
  rendered(seconds: number, ok: boolean): void;
}

const closedError = (cause?: unknown): Error => new Error('the render pool is closed', cause === undefined ? undefined : { cause });

export class RenderPool {
  readonly #pool: Piscina<DossierModel, RenderWorkerResult>;
  #closing: Promise<void> | null = null;
  readonly #observer: RenderObserver | undefined;

  constructor(signer: SignerMaterial, size = Math.max(1, Math.min(4, availableParallelism() - 1)), observer?: RenderObserver) {
    this.#observer = observer;
    const workerData: RenderWorkerData = { signer };
    this.#pool = new Piscina({
      filename: fileURLToPath(new URL('./render-worker.js', import.meta.url)),
      workerData,
      // One worker stays warm (fonts parsed, code compiled); the others start on demand.
      minThreads: 1,
      maxThreads: size,
      idleTimeout: IDLE_TIMEOUT_MS,
    });
  }

  /** Renders and signs `model` in a worker. Rejects with an Error saying what failed. */
  async render(model: DossierModel): Promise<RenderedDossier> {
    if (this.#closing) throw closedError();
    let r: RenderWorkerResult;
    const started = performance.now();
    try {
      r = await this.#pool.run(model);
      this.#observer?.rendered((performance.now() - started) / 1000, true);
    } catch (e) {
      this.#observer?.rendered((performance.now() - started) / 1000, false);
      if (this.#closing) throw closedError(e);
      throw new Error(`rendering dossier ${model.dossierId} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return { pdf: Buffer.from(r.pdf.buffer, r.pdf.byteOffset, r.pdf.byteLength), unsignedSha256: r.unsignedSha256, pages: r.pages };
  }

  /** Writes and reads back one sample-list CSV in a worker (samples-csv.ts buildSamplesCsv). */
  async samplesCsv(task: SamplesCsvTask): Promise<SamplesCsv> {
    if (this.#closing) throw closedError();
    const r = (await this.#pool.run(task as never, { name: 'samplesCsv' })) as unknown as SamplesCsv;
    return { ...r, bytes: Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength) };
  }

  /** Renders waiting for a worker. */
  get queued(): number {
    return this.#pool.queueSize;
  }

  /** Stops the workers; queued and running renders reject. */
  close(): Promise<void> {
    return (this.#closing ??= this.#pool.destroy());
  }
}
