// Coalesces concurrent loads into one call: every request made in one turn of the event loop
// (and those arriving while earlier batches are in flight) is answered by one `load` of the whole
// batch. Nothing is cached: each request sees what a load of its own would have seen then.
export class Batcher<Req, Res> {
  readonly #queue: Array<{ req: Req; resolve: (r: Res) => void; reject: (e: unknown) => void }> = [];
  #scheduled = false;
  #inFlight = 0;

  constructor(
    private readonly load: (batch: Req[]) => Promise<Res[]>,
    private readonly opts: { maxBatch?: number; maxInFlight?: number } = {},
  ) {}

  get(req: Req): Promise<Res> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ req, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= (this.opts.maxInFlight ?? 4) || this.#queue.length === 0) return;
    this.#scheduled = true;
    // Let the requests parsed in this turn of the event loop join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#inFlight >= (this.opts.maxInFlight ?? 4)) return;
    const batch = this.#queue.splice(0, this.opts.maxBatch ?? 256);
    if (batch.length === 0) return;
    this.#inFlight++;
    try {
      const out = await this.load(batch.map((b) => b.req));
      batch.forEach((b, i) => b.resolve(out[i]!));
    } catch (e) {
      for (const b of batch) b.reject(e);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}
