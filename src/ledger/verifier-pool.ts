// The ledger verifier on worker threads. The per-entry checks (checkEntry) of each chunk of
// thousands of entries run in a piscina pool; this thread applies the results in entry order to
// one LedgerVerifier (sequence, chain link, genesis and rotations, tree, checkpoints), so the fault
// it reports is exactly the one a single thread would. The tree takes a block's subtree root from
// the worker once all its entries are accepted. At most a few chunks are in flight: memory stays
// constant however long the ledger.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { EntryCode, LedgerVerifier } from './verifier.js';
import { BAD_PREV, BLOCK_HEIGHT, BLOCK_WIDTH, ITEM_BLANK, type VerifyChunkResult, type VerifyTask } from './verify-worker.js';

export type { VerifyTask } from './verify-worker.js';

const THREADS = Math.max(1, availableParallelism());
let shared: Piscina<VerifyTask, VerifyChunkResult> | null = null;

/** One pool per process, started on first use; idle threads exit and never keep the process alive. */
function pool(): Piscina<VerifyTask, VerifyChunkResult> {
  shared ??= new Piscina({
    filename: fileURLToPath(new URL('./verify-worker.js', import.meta.url)),
    minThreads: 0,
    maxThreads: THREADS,
    idleTimeout: 10_000,
  });
  return shared;
}

/** Stops the pool's threads (a later verification starts new ones). */
export async function closeVerifierPool(): Promise<void> {
  const p = shared;
  shared = null;
  await p?.destroy();
}

/** The bytes as the whole of an ArrayBuffer of their own, so transferring it detaches nothing else. */
function ownBytes(b: Uint8Array): Uint8Array<ArrayBuffer> {
  if (b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b as Uint8Array<ArrayBuffer>;
  return new Uint8Array(b);
}

export interface ChunkOutcome {
  /** The first export line that is not a valid line, reached before any fault. */
  formatError: string | null;
}

/**
 * Streams `tasks` through the pool and `v`. Stops at the first fault or format error (chunks
 * still in flight are dropped, once they have finished). `onItem(i)` is called for each entry accepted, with its index in
 * the task (export files report line numbers with it).
 */
export async function verifyChunks(v: LedgerVerifier, tasks: AsyncIterable<VerifyTask>, onAccepted?: (task: VerifyTask, index: number) => void): Promise<ChunkOutcome> {
  const p = pool();
  const depth = 2 * THREADS + 1;
  const inFlight: Array<{ task: VerifyTask; result: Promise<VerifyChunkResult> }> = [];
  const submit = (task: VerifyTask) => {
    // A page the repository built for this task is sent as it is; any other view is copied first,
    // so transferring never detaches memory something else still reads.
    const bytes = task.kind !== 'lines' && task.owned ? (task.bytes as Uint8Array<ArrayBuffer>) : ownBytes(task.bytes);
    const t = { ...task, bytes } as VerifyTask;
    const result = p.run(t, { transferList: [bytes.buffer] });
    result.catch(() => {}); // dropped chunks must not become unhandled rejections
    // After the transfer only the shape of the task is needed here (line numbers).
    inFlight.push({ task: t.kind === 'lines' ? { ...t, bytes: new Uint8Array(0) } : t, result });
  };
  const apply = async (): Promise<ChunkOutcome | null> => {
    const { task, result } = inFlight.shift()!;
    const r = await result;
    const h = r.hashes;
    let s = 0;
    let b = 0; // next block of r.blockStarts
    let blockStart = -1; // the block being accepted, its root added once its last entry is
    let blockRoot = 0;
    for (let i = 0; i < r.count; i++) {
      const code = r.codes[i]!;
      if (code === ITEM_BLANK) continue;
      while (b < r.blockStarts.length && r.blockStarts[b]! < i) b++;
      if (blockStart < 0 && b < r.blockStarts.length && r.blockStarts[b] === i && v.treeBlockFits(BLOCK_WIDTH)) {
        blockStart = i;
        blockRoot = b;
      }
      let special = undefined;
      if (s < r.specials.length && r.specials[s]![0] === i) special = r.specials[s++]![1];
      if (!v.acceptAt(r.seqs[i]!, code as EntryCode, h, 96 * i, (r.bad[i]! & BAD_PREV) !== 0, special, blockStart >= 0)) {
        // The tree holds exactly the accepted entries: those of an unfinished block one by one.
        if (blockStart >= 0) for (let j = blockStart; j < i; j++) v.treeLeaf(h.subarray(96 * j, 96 * j + 32));
        return { formatError: null };
      }
      if (blockStart >= 0 && i === blockStart + BLOCK_WIDTH - 1) {
        v.treeBlock(BLOCK_HEIGHT, r.blockRoots.subarray(32 * blockRoot, 32 * blockRoot + 32));
        blockStart = -1;
      }
      onAccepted?.(task, i);
    }
    return r.error ? { formatError: r.error.message } : null;
  };
  try {
    for await (const task of tasks) {
      submit(task);
      if (inFlight.length >= depth) {
        const out = await apply();
        if (out) return out;
      }
    }
    while (inFlight.length > 0) {
      const out = await apply();
      if (out) return out;
    }
    return { formatError: null };
  } finally {
    // After an early stop (a fault) the dropped chunks still run: wait for them, so that no
    // answer reaches a pool that was closed meanwhile (piscina reports those as uncaught errors).
    await Promise.allSettled(inFlight.map((f) => f.result));
    inFlight.length = 0;
  }
}
