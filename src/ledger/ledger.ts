// The ledger service: genesis, appends, checkpoints and verification over one database.
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/schema.js';
import type { SigningKey } from '../crypto/ed25519.js';
import { LedgerAppender, type AppendItem, type AppendObserver, type Position, type WorkingRow } from './appender.js';
import { readCheckpoint, signCheckpointNoteV2 } from './checkpoint.js';
import { consistencyProof, inclusionProof, MerkleFrontier, rootHash, type NodeReader } from './merkle.js';
import { TileRepository } from './tile-repository.js';
import { CheckpointRepository, type StoredCheckpoint } from './checkpoint-repository.js';
import { buildEvent, parseEventOf } from './events.js';
import { genesisEventId, type GenesisData, type LedgerEntry, type PreparedEvent } from './format.js';
import { LedgerRepository } from './repository.js';
import { LedgerVerifier, type VerifyReport } from './verifier.js';
import { verifyChunks, type VerifyTask } from './verifier-pool.js';
import { LedgerError } from './errors.js';
import { checkRotation, rotationData } from './key-rotation.js';
import { AppError } from '../problems/app-error.js';

export interface IncrementalVerification extends VerifyReport {
  /** When the last full verification ran, and how many entries it covered. */
  fullAt: Date;
  fullSize: number;
  /** First entry checked incrementally after it, or null when this call was itself the full run. */
  incrementalFrom: number | null;
}

export interface LedgerKey {
  keyId: string;
  publicKey: Buffer;
  /** The entry that introduced it (1: the genesis). */
  addedAt: number;
  /** The rotation entry that retired it, or null for the current key. */
  retiredAt: number | null;
}

export interface LedgerOptions {
  origin: string;
  signingKey: SigningKey;
  /** Write a checkpoint once this many entries follow the last one (0 = never by count). */
  checkpointEvery?: number;
  /** Write a checkpoint on this timer when the ledger grew (0 = no timer). */
  checkpointIntervalMs?: number;
  maxBatch?: number;
  onError?: (err: unknown, what: string) => void;
  /** Told of each append batch (metrics). */
  appendObserver?: AppendObserver;
}

/** A view of the ledger that only reads (exports, proofs, dossiers). */
export interface LedgerReader {
  head(): Promise<{ size: number; chainHash: Buffer }>;
  entries(opts?: EntryScan): AsyncGenerator<LedgerEntry>;
  checkpoints(): Promise<StoredCheckpoint[]>;
}

/** More working rows for a fresh append, written in its transaction (e.g. webhook outbox rows). */
export type AppendRowsHook = (events: readonly PreparedEvent[], positions: readonly Position[]) => WorkingRow[];

export type EntryScan = Parameters<LedgerRepository['entries']>[0];

export class Ledger implements LedgerReader {
  readonly origin: string;
  readonly #repo: LedgerRepository;
  readonly #checkpoints: CheckpointRepository;
  readonly #tiles: TileRepository;
  readonly #appender: LedgerAppender;
  #key: SigningKey;
  /** Every key of this ledger in order (genesis first), with the entry that introduced it. */
  #keyHistory: LedgerKey[] = [];
  readonly #every: number;
  readonly #onError: (err: unknown, what: string) => void;
  #lastCheckpointSize = 0;
  #checkpointing: Promise<StoredCheckpoint | undefined> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #rowHooks: AppendRowsHook[] = [];
  /** Proof serving: the largest size the ledger was seen to have, and roots by tree size. */
  #knownSize = 0;
  readonly #roots = new LRUCache<number, Buffer>({ max: 1024 });
  /** The prefix of the ledger this process has verified: where incremental verification resumes. */
  #verified: { size: number; chainHash: Buffer; tree: MerkleFrontier | null; fullAt: Date; fullSize: number } | null = null;

  constructor(db: Kysely<Database>, opts: LedgerOptions) {
    this.#key = opts.signingKey;
    this.origin = opts.origin;
    this.#every = opts.checkpointEvery ?? 1000;
    this.#onError = opts.onError ?? (() => {});
    this.#repo = new LedgerRepository(db);
    this.#checkpoints = new CheckpointRepository(db);
    this.#tiles = new TileRepository(db);
    this.#appender = new LedgerAppender(db, {
      maxBatch: opts.maxBatch ?? 256,
      observer: opts.appendObserver,
      onCommit: (size) => {
        if (this.#every > 0 && size - this.#lastCheckpointSize >= this.#every) this.#checkpointSoon();
      },
    });
    if (opts.checkpointIntervalMs && opts.checkpointIntervalMs > 0) {
      this.#timer = setInterval(() => this.#checkpointSoon(), opts.checkpointIntervalMs);
      this.#timer.unref();
    }
  }

  get signingKey(): SigningKey {
    return this.#key;
  }

  /**
   * Writes the genesis event if the ledger is empty (its id derives from the origin, so two
   * processes starting at once write one), then checks that this ledger is ours.
   */
  async init(): Promise<void> {
    const data: GenesisData = {
      origin: this.origin,
      signing_key: { alg: 'Ed25519', key_id: this.#key.keyId, public_key: this.#key.publicKey.toString('base64') },
    };
    const head = await this.#repo.head();
    if (head.size === 0) {
      await this.#appender.append({ events: [buildEvent('ledger.genesis', data, { id: genesisEventId(this.origin) })] });
    }
    const genesis = await this.#repo.entry(1);
    if (!genesis || genesis.eventType !== 'ledger.genesis') throw new LedgerError('genesis_missing', 'entry 1 of the ledger is not a genesis event');
    const g = parseEventOf('ledger.genesis', genesis.canonical);
    if (g.data.origin !== this.origin) {
      throw new LedgerError('origin_mismatch', `this database's ledger has origin "${g.data.origin}", but the service is configured with "${this.origin}"`);
    }
    // The key history: the genesis key, then each signing_key.added (signed by the old key and the new).
    const history: LedgerKey[] = [{ keyId: g.data.signing_key.key_id, publicKey: Buffer.from(g.data.signing_key.public_key, 'base64'), addedAt: 1, retiredAt: null }];
    for (const e of await this.#repo.entriesOfType('signing_key.added')) {
      const prev = history.at(-1)!;
      const r = checkRotation(parseEventOf('signing_key.added', e.canonical).data, this.origin, prev);
      if (!r.ok) throw new LedgerError('checkpoint_inconsistent', `the key rotation at entry ${e.seq} is invalid: ${r.reason}`);
      prev.retiredAt = e.seq;
      history.push({ keyId: r.keyId, publicKey: r.publicKey, addedAt: e.seq, retiredAt: null });
    }
    const current = history.at(-1)!;
    if (current.keyId !== this.#key.keyId) {
      const retired = history.find((k) => k.keyId === this.#key.keyId);
      throw new LedgerError('signing_key_mismatch', retired
        ? `the configured signing key ${this.#key.keyId} was retired at entry ${retired.retiredAt}; configure the current key ${current.keyId}`
        : history.length === 1
          ? `this ledger was started with signing key ${current.keyId}; the configured key is ${this.#key.keyId}`
          : `this ledger's current signing key is ${current.keyId}; the configured key ${this.#key.keyId} is not one of its keys`);
    }
    this.#keyHistory = history;
    const last = await this.#checkpoints.latest();
    this.#lastCheckpointSize = last?.size ?? 0;
  }

  append(item: AppendItem): Promise<Position[]> {
    if (this.#rowHooks.length === 0) return this.#appender.append(item);
    const hooks = this.#rowHooks;
    const own = item.rows;
    return this.#appender.append({ ...item, rows: (p) => [...(own ? own(p) : []), ...hooks.flatMap((h) => h(item.events, p))] });
  }

  /**
   * Adds a hook whose rows go into every fresh append's transaction (not a retried one: its rows
   * were written the first time). The hook runs while the batch is planned: it must not wait.
   */
  addRowsHook(hook: AppendRowsHook): void {
    this.#rowHooks = [...this.#rowHooks, hook];
  }

  /** Every key of this ledger, genesis first; the last is the current one. */
  keyHistory(): readonly LedgerKey[] {
    return this.#keyHistory;
  }

  #genesisKey(): Buffer {
    return this.#keyHistory[0]?.publicKey ?? this.#key.publicKey;
  }

  /** The keys a verifier resuming after entry `size` knows, and which was current there. */
  #keysAt(size: number): { keys: Map<string, Buffer>; currentKeyId: string } {
    const known = this.#keyHistory.filter((k) => k.addedAt <= size);
    return { keys: new Map(known.map((k) => [k.keyId, k.publicKey])), currentKeyId: known.at(-1)?.keyId ?? this.#key.keyId };
  }

  /**
   * Rotates the signing key: appends `signing_key.added` (signed by the current key and by
   * `next`), then signs a checkpoint with `next` covering it. From then on only `next` signs;
   * the retired key's checkpoints, receipts and dossiers stay verifiable.
   */
  async rotateSigningKey(next: SigningKey, reason: string): Promise<{ seq: number; checkpoint: StoredCheckpoint | undefined }> {
    if (this.#keyHistory.some((k) => k.keyId === next.keyId)) throw new AppError('signing_key_reused', `key ${next.keyId} was already used by this ledger; rotate to a new key`);
    await this.checkpoint(); // everything signed by the old key is covered by the old key
    const [p] = await this.#appender.append({ events: [buildEvent('signing_key.added', rotationData(this.origin, this.#key, next, reason))] });
    const prev = this.#keyHistory.at(-1)!;
    prev.retiredAt = p!.seq;
    this.#keyHistory.push({ keyId: next.keyId, publicKey: next.publicKey, addedAt: p!.seq, retiredAt: null });
    this.#key = next;
    return { seq: p!.seq, checkpoint: await this.checkpoint() };
  }

  // ---- reads ----

  head(): Promise<{ size: number; chainHash: Buffer }> {
    return this.#repo.head();
  }

  entry(seq: number): Promise<LedgerEntry | undefined> {
    return this.#repo.entry(seq);
  }

  entriesBySeq(seqs: number[]): Promise<LedgerEntry[]> {
    return this.#repo.entriesBySeq(seqs);
  }

  /** Streams entries in order (constant memory). */
  entries(opts?: EntryScan): AsyncGenerator<LedgerEntry> {
    return this.#repo.entries(opts);
  }

  /** Leaf hashes of entries from..to inclusive, in order. */
  leafHashes(from: number, to: number): Promise<Buffer[]> {
    return this.#repo.leafHashes(from, to);
  }

  checkpoints(): Promise<StoredCheckpoint[]> {
    return this.#checkpoints.all();
  }

  latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#checkpoints.latest();
  }

  /** The latest checkpoint that is a C2SP signed note with a Merkle root. */
  latestNoteCheckpoint(): Promise<StoredCheckpoint | undefined> {
    return this.#checkpoints.latestOfFormat(2);
  }

  checkpointAt(size: number): Promise<StoredCheckpoint | undefined> {
    return this.#checkpoints.atSize(size);
  }

  /** Resolves when every queued append has settled. */
  drained(): Promise<void> {
    return this.#appender.drained();
  }

  /**
   * Signs a checkpoint at the current head after proving the entries since the last checkpoint
   * chain from it (a new checkpoint must be consistent with the last). Returns the latest
   * checkpoint; concurrent calls share one run.
   */
  checkpoint(): Promise<StoredCheckpoint | undefined> {
    if (!this.#checkpointing) {
      this.#checkpointing = this.#writeCheckpoint().finally(() => {
        this.#checkpointing = null;
      });
    }
    return this.#checkpointing;
  }

  async #writeCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const head = await this.#repo.head();
    const last = await this.#checkpoints.latest();
    if (head.size === 0) return undefined;
    if (last && last.size >= head.size) {
      this.#lastCheckpointSize = last.size;
      return last;
    }
    const refuse = (why: string) => new LedgerError('checkpoint_inconsistent', `refusing to sign a checkpoint: ${why}`);
    let headTree: MerkleFrontier;
    try {
      headTree = MerkleFrontier.fromBytes(head.frontier, head.size);
    } catch {
      throw refuse(`the stored Merkle frontier does not fit a tree of ${head.size} entries`);
    }
    // Resume after the last signed checkpoint when it states a Merkle root (format 2): the tree at
    // its size, read from the tiles, must have exactly that root. Otherwise verify from entry 1.
    let resume: { size: number; chainHash: Buffer; tree: MerkleFrontier } | null = null;
    if (last && last.rootHash) {
      const at = await this.#repo.entry(last.size);
      const body = readCheckpoint(last.body);
      if (!at || !body || !at.chainHash.equals(last.chainHash) || !body.chainHash.equals(last.chainHash)) {
        throw new LedgerError('checkpoint_inconsistent', `the ledger no longer matches the last signed checkpoint at size ${last.size}`);
      }
      const tree = await MerkleFrontier.load(last.size, this.nodeReader());
      if (!tree.root().equals(last.rootHash)) throw new LedgerError('checkpoint_inconsistent', `the stored Merkle tree no longer has the root signed at size ${last.size}`);
      resume = { size: last.size, chainHash: last.chainHash, tree };
    }
    const v = new LedgerVerifier(
      resume
        ? { resumeFrom: { size: resume.size, chainHash: resume.chainHash, origin: this.origin, ...this.#keysAt(resume.size), frontier: resume.tree } }
        : { trustedPublicKey: this.#genesisKey(), origin: this.origin },
    );
    if (!resume) v.addCheckpoints(await this.#checkpoints.all());
    for await (const e of this.#repo.entries({ after: resume?.size ?? 0, upTo: head.size, recordedAt: false })) {
      if (!v.push(e)) break;
    }
    const report = v.finish();
    if (!report.ok || report.size !== head.size) {
      const f = report.fault;
      throw refuse(f ? `entry ${f.seq}: ${f.reason}` : 'the ledger is shorter than its head');
    }
    const root = headTree.root();
    if (report.treeRoot !== root.toString('hex')) throw refuse('the stored Merkle tree differs from the tree of the entries');
    const cp = signCheckpointNoteV2(this.#key, this.origin, head.size, root, head.chainHash, new Date());
    await this.#checkpoints.insert({ size: head.size, chainHash: head.chainHash, keyId: this.#key.keyId, body: cp.body, signature: cp.signature, rootHash: root });
    this.#lastCheckpointSize = head.size;
    return this.#checkpoints.latest();
  }

  /**
   * The RFC 9162 inclusion proof of entry `seq` (leaf index seq - 1) in the tree of the first `size`
   * entries, with that tree's root. Refused when the entry or the size is beyond the head.
   */
  async inclusionProof(seq: number, size: number): Promise<{ leafIndex: number; treeSize: number; leafHash: Buffer; proof: Buffer[]; root: Buffer }> {
    const known = await this.#sizeAtLeast(size);
    if (!Number.isSafeInteger(size) || size < 1 || size > known) throw new AppError('proof_unavailable', `the ledger has ${known} entries; a proof needs a tree size from 1 to ${known}`);
    if (!Number.isSafeInteger(seq) || seq < 1 || seq > size) throw new AppError('proof_unavailable', `entry ${seq} is not in the tree of size ${size} (entries 1 to ${size})`);
    // The leaf, its path and the root all come from the tiles: one query for the tiles not cached.
    // The first pass runs on placeholder hashes only to learn the tiles; its root is not kept.
    const build = (read: NodeReader, real: boolean) =>
      Promise.all([read(0, seq - 1), inclusionProof(seq - 1, size, read), real ? this.#root(size, read) : this.#roots.has(size) ? null : rootHash(size, read)]);
    await this.#tiles.prefetch((read) => build(read, false));
    const [leaf, proof, root] = await build(this.nodeReader(), true);
    return { leafIndex: seq - 1, treeSize: size, leafHash: Buffer.from(leaf), proof, root: root! };
  }

  /** The root at `size` (immutable once the tree has reached it), from a small cache. */
  async #root(size: number, read: NodeReader): Promise<Buffer> {
    const hit = this.#roots.get(size);
    if (hit) return hit;
    const r = await rootHash(size, read);
    this.#roots.set(size, r);
    return r;
  }

  /**
   * The ledger's size if it is at least `size`, without a query when it was already seen that
   * large (the ledger only grows); else the size read now.
   */
  async #sizeAtLeast(size: number): Promise<number> {
    if (size <= this.#knownSize) return this.#knownSize;
    const head = await this.#repo.head();
    if (head.size > this.#knownSize) this.#knownSize = head.size;
    return head.size;
  }

  /** The RFC 9162 consistency proof between the trees of the first `from` and `to` entries, with both roots. */
  async consistencyProof(from: number, to: number): Promise<{ from: number; to: number; proof: Buffer[]; fromRoot: Buffer; toRoot: Buffer }> {
    const head = await this.#repo.head();
    if (!Number.isSafeInteger(to) || to < 1 || to > head.size) throw new AppError('proof_unavailable', `the ledger has ${head.size} entries; a proof needs tree sizes from 1 to ${head.size}`);
    if (!Number.isSafeInteger(from) || from < 1 || from > to) throw new AppError('proof_unavailable', `a consistency proof goes from a smaller tree to a larger one: 1 <= from <= to (${to})`);
    const read = this.nodeReader();
    const [proof, fromRoot, toRoot] = await Promise.all([consistencyProof(from, to, read), rootHash(from, read), rootHash(to, read)]);
    return { from, to, proof, fromRoot, toRoot };
  }

  /** The stored hashes of one tile (C2SP tlog-tiles), or undefined when it has none yet. */
  /** A stored tile with at least `minWidth` hashes when the table has them (a shorter cached copy is read again). */
  tile(level: number, index: number, minWidth = 1): Promise<Buffer | undefined> {
    return this.#tiles.get(level, index, minWidth);
  }

  /** Perfect-subtree hashes of the stored tree (complete nodes only), from the tiles. */
  nodeReader(): NodeReader {
    return this.#tiles.reader((level, idx) => new LedgerError('checkpoint_inconsistent', `the Merkle tile ${level}/${idx} is missing hashes the tree needs`));
  }


  #checkpointSoon(): void {
    if (this.#checkpointing) return;
    this.checkpoint().catch((err) => this.#onError(err, 'checkpoint'));
  }

  /**
   * Streams the whole ledger through the verifier, its per-entry checks on worker threads
   * (verifier-pool.ts); an intact result becomes the verified prefix.
   */
  async verify(opts: { trustedPublicKey?: Uint8Array; onProgress?: (done: number, total: number) => void; pageSize?: number } = {}): Promise<VerifyReport> {
    const head = await this.#repo.head();
    const v = new LedgerVerifier({ trustedPublicKey: opts.trustedPublicKey ?? this.#genesisKey(), origin: this.origin });
    v.addCheckpoints(await this.#checkpoints.all());
    const at = new Date();
    const repo = this.#repo;
    const onProgress = opts.onProgress;
    async function* pages(): AsyncGenerator<VerifyTask> {
      let n = 0;
      for await (const p of repo.entryPages(opts.pageSize ? { pageSize: opts.pageSize } : {})) {
        if (v.fault) return;
        yield { kind: p.format, bytes: p.bytes, count: p.count, owned: p.owned === true };
        n += p.count;
        onProgress?.(Math.min(n, v.expectedSeq - 1), head.size);
      }
    }
    if (!v.fault) await verifyChunks(v, pages());
    const report = v.finish();
    if (report.ok && report.headHash && !opts.trustedPublicKey) {
      this.#verified = { size: report.size, chainHash: Buffer.from(report.headHash, 'hex'), tree: v.tree, fullAt: at, fullSize: report.size };
    }
    return report;
  }

  /**
   * The verifier's result for a document issued now, without re-reading the whole ledger each time:
   * the last full verification (run now if this process has none), plus every entry and checkpoint
   * since, checked from that verified point. A background full verification runs on a timer.
   */
  async verifyIncrementally(): Promise<IncrementalVerification> {
    const prev = this.#verified;
    if (!prev) {
      const r = await this.verify({ pageSize: 1000 });
      return { ...r, fullAt: this.#verified?.fullAt ?? new Date(), fullSize: r.size, incrementalFrom: null };
    }
    const fail = (seq: number, reason: string): IncrementalVerification => ({
      ok: false, origin: this.origin, size: prev.size, headHash: null, treeRoot: null, checkpointsVerified: 0, latestCheckpointSize: null,
      fault: { seq, code: 'chain_hash_mismatch', reason }, fullAt: prev.fullAt, fullSize: prev.fullSize, incrementalFrom: prev.size + 1,
    });
    // The verified prefix must still end where it did: any rewrite below it changes this hash.
    const end = await this.#repo.entry(prev.size);
    if (!end || !end.chainHash.equals(prev.chainHash)) return fail(prev.size, `entry ${prev.size} no longer carries the chain hash verified at ${prev.fullAt.toISOString()}: the ledger was altered`);
    const v = new LedgerVerifier({ resumeFrom: { size: prev.size, chainHash: prev.chainHash, origin: this.origin, ...this.#keysAt(prev.size), ...(prev.tree ? { frontier: prev.tree } : {}) } });
    // Only the checkpoints past the verified prefix: reading them all would grow with the ledger's age.
    v.addCheckpoints(await this.#checkpoints.after(prev.size));
    for await (const e of this.#repo.entries({ after: prev.size, recordedAt: false, pageSize: 1000 })) if (!v.push(e)) break;
    const r = v.finish();
    if (r.ok && r.headHash) this.#verified = { ...prev, size: r.size, chainHash: Buffer.from(r.headHash, 'hex'), tree: v.tree };
    return { ...r, fullAt: prev.fullAt, fullSize: prev.fullSize, incrementalFrom: prev.size + 1 };
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#appender.drained();
    if (this.#checkpointing) await this.#checkpointing.catch(() => undefined);
  }
}
