// Dossier rendering is CPU-bound: it runs in worker threads so request handling keeps its latency.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { SignerMaterial } from '../pdf/sign.js';
import type { DossierModel } from './model.js';

export interface RenderedDossier {
  pdf: Buffer;
  unsignedSha256: string;
  pages: number;
}

interface Task {
  id: number;
  model: DossierModel;
  resolve: (r: RenderedDossier) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
}

export class RenderPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Task[] = [];
  readonly #signer: SignerMaterial;
  #nextId = 1;
  #closed = false;

  constructor(signer: SignerMaterial, size = Math.max(1, Math.min(4, availableParallelism() - 1))) {
    this.#signer = signer;
    for (let i = 0; i < size; i++) this.#slots.push(this.#spawn());
  }

  render(model: DossierModel): Promise<RenderedDossier> {
    if (this.#closed) return Promise.reject(new Error('the render pool is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, model, resolve, reject });
      this.#pump();
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#queue.splice(0)) t.reject(new Error('the render pool is closed'));
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #spawn(): Slot {
    const worker = new Worker(new URL('./render-worker.js', import.meta.url), { workerData: { signer: this.#signer } });
    const slot: Slot = { worker, task: null };
    worker.unref();
    worker.on('message', (msg: { id: number; ok: boolean; pdf?: Uint8Array; unsignedSha256?: string; pages?: number; error?: string }) => {
      const t = slot.task;
      slot.task = null;
      if (t && t.id === msg.id) {
        if (msg.ok) t.resolve({ pdf: Buffer.from(msg.pdf!.buffer, msg.pdf!.byteOffset, msg.pdf!.byteLength), unsignedSha256: msg.unsignedSha256!, pages: msg.pages! });
        else t.reject(new Error(msg.error ?? 'rendering failed'));
      }
      this.#pump();
    });
    const replace = (err: Error) => {
      const t = slot.task;
      slot.task = null;
      t?.reject(err);
      if (this.#closed) return;
      const i = this.#slots.indexOf(slot);
      if (i >= 0) this.#slots[i] = this.#spawn();
      this.#pump();
    };
    worker.on('error', replace);
    worker.on('exit', (code) => {
      if (!this.#closed && code !== 0) replace(new Error(`render worker exited with code ${code}`));
    });
    return slot;
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.task || this.#queue.length === 0) continue;
      const t = this.#queue.shift()!;
      slot.task = t;
      slot.worker.ref();
      slot.worker.postMessage({ id: t.id, model: t.model });
    }
    for (const slot of this.#slots) if (!slot.task) slot.worker.unref();
  }
}
