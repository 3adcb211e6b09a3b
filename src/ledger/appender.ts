// The append path: in-process group commit. Callers enqueue items; each batch is assigned contiguous
// sequence numbers after the head, chained, added to the Merkle tree, and written with the items'
// working rows and the tree's tiles in one statement. Nothing is acknowledged before its commit.
// While this process's view of the head holds, a batch is that one guarded statement; otherwise a
// transaction locks the head first.
import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { buf } from '../db/bytes.js';
import { isConnectionError, isUniqueViolation } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import { isWorkingUpdate, type WorkingInsert, type WorkingRow } from '../db/rows.js';
import type { PreparedEvent } from './format.js';
import { EntryColumns, INSERT_ENTRIES_SQL } from './entry-columns.js';
import { MerkleFrontier } from './merkle.js';
import { EXTEND_TILES_SQL } from './tile-repository.js';
import { stateKey, UPSERT_STATES_SQL, upsertStatesParameters, type StateChange } from './subject-state.js';

export interface Position {
  seq: number;
  eventId: string;
  leafHash: Buffer;
  chainHash: Buffer;
  /** False when the event id was already in the ledger: this is the original position. */
  fresh: boolean;
}

export type { WorkingRow } from '../db/rows.js';

export interface AppendItem {
  events: PreparedEvent[];
  /** Rows to insert with the events, given their positions. Not called for a retried (known) item. */
  rows?: (positions: Position[]) => WorkingRow[];
  /** Subject states the events change, guarded against concurrent changes (subject-state.ts). */
  states?: StateChange[];
}

export interface AppenderOptions {
  maxBatch?: number;
  /** Called after each committed batch with the new head size. */
  onCommit?: (size: number) => void;
  observer?: AppendObserver;
}

/** What the appender reports for monitoring (metrics); it must not throw. */
export interface AppendObserver {
  /** A batch committed `entries` new entries in `seconds`. */
  committed(entries: number, seconds: number): void;
  /** An append was refused to its caller. */
  failed(): void;
}

interface Pending {
  item: AppendItem;
  resolve: (p: Position[]) => void;
  reject: (e: unknown) => void;
}

const LOCKED_AFTER_CONFLICT_MS = 1000;

/**
 * Fails a batch as one. When the database is away every item would fail the same way, each after
 * its own connection timeout, so none is retried alone. None is acknowledged: a commit whose answer
 * was lost is found by the caller's retry (a known event id answers with its original position).
 */
function rejectAll(batch: Pending[], err: unknown): void {
  for (const p of batch) p.reject(err);
}

/** The guarded statement met another appender: the head moved, or a sequence number or event id is taken. */
function headConflict(e: unknown): boolean {
  const err = e as { code?: string } | null;
  return err?.code === '40001' || isUniqueViolation(e, 'ledger_entries');
}

export class LedgerAppender {
  readonly #db: Kysely<Database>;
  readonly #maxBatch: number;
  readonly #onCommit: ((size: number) => void) | undefined;
  readonly #observer: AppendObserver | undefined;
  #queue: Pending[] = [];
  #running = false;
  /** The head as this process last committed it: the fast path's guard. Null until known. */
  #head: Head | null = null;
  /** Until then (performance.now()), batches take the locked path: another process appends too. */
  #lockedUntil = 0;
  #idle: Array<() => void> = [];

  constructor(db: Kysely<Database>, opts: AppenderOptions = {}) {
    this.#db = db;
    this.#maxBatch = opts.maxBatch ?? 256;
    this.#onCommit = opts.onCommit;
    this.#observer = opts.observer;
  }

  /** Appends one item's events atomically with its rows; resolves with their positions after commit. */
  append(item: AppendItem): Promise<Position[]> {
    if (item.events.length === 0) return Promise.reject(new Error('nothing to append'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (!this.#running) void this.#drain();
    });
  }

  /** Resolves when every queued append has settled (for graceful shutdown). */
  drained(): Promise<void> {
    if (!this.#running && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        // Wait one turn of the event loop first: whatever is appended in it (the callers the last
        // commit just answered, requests read meanwhile) joins this batch. Without it, a batch holds
        // only what queued while the last one was in flight, half the appenders under a steady load,
        // and each batch pays a whole WAL flush.
        await new Promise((r) => setImmediate(r));
        const batch = takeBatch(this.#queue, this.#maxBatch);
        try {
          const results = await this.#commit(batch.map((p) => p.item));
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch (err) {
          if (batch.length === 1 || isConnectionError(err)) {
            for (const _ of batch) this.#observer?.failed();
            rejectAll(batch, err);
            continue;
          }
          // One bad item must not fail its neighbours: retry each alone, in order.
          for (const [i, p] of batch.entries()) {
            try {
              p.resolve((await this.#commit([p.item]))[0]!);
            } catch (e) {
              this.#observer?.failed();
              p.reject(e);
              if (isConnectionError(e)) {
                rejectAll(batch.slice(i + 1), e);
                break;
              }
            }
          }
        }
      }
    } finally {
      this.#running = false;
      for (const r of this.#idle.splice(0)) r();
    }
  }

  async #commit(items: AppendItem[]): Promise<Position[][]> {
    const started = performance.now();
    let done: Committed | null = null;
    if (this.#head && performance.now() >= this.#lockedUntil) {
      try {
        done = await fastCommit(this.#db, items, this.#head);
      } catch (e) {
        // A lost connection leaves the statement's outcome unknown: the head is read again, under
        // the lock, by the next batch.
        if (isConnectionError(e)) this.#head = null;
        // A refused row (a constraint on a working row): the statement changed nothing and the
        // head is still right, so the caller's item-by-item retry can stay on this path.
        if (!headConflict(e)) throw e;
        // The head moved (another process appended) or an event was already appended: the locked
        // path finds out which. While other processes append too, guessing the head only wastes a
        // round trip, so the locked path serves the next second's batches.
        this.#head = null;
        this.#lockedUntil = performance.now() + LOCKED_AFTER_CONFLICT_MS;
      }
    }
    for (let attempt = 0; !done; attempt++) {
      try {
        done = await this.#db.transaction().execute((trx) => lockedCommit(trx, items));
      } catch (e) {
        this.#head = null;
        // An event another process appended after the lookup: once more, and the lookup finds it.
        if (attempt === 0 && isUniqueViolation(e, 'ledger_entries_event_id')) continue;
        throw e;
      }
    }
    this.#head = done.head;
    this.#onCommit?.(done.head.seq);
    this.#observer?.committed(done.results.reduce((n, ps) => n + ps.filter((p) => p.fresh).length, 0), (performance.now() - started) / 1000);
    return done.results;
  }
}

/** The chain and tree at the head, as last committed. */
export interface Head {
  seq: number;
  chain: Buffer;
  frontier: MerkleFrontier;
}

interface Committed {
  results: Position[][];
  head: Head;
}

/** What one batch writes, planned from the head it follows. */
interface Plan {
  results: Position[][];
  cols: EntryColumns;
  rows: WorkingRow[];
  states: Array<StateChange & { seq: number }>;
  head: Head;
}

function planBatch(items: AppendItem[], head: Head, known: ReadonlyMap<string, Position>): Plan {
  let seq = head.seq;
  let prev = head.chain;
  const cols = new EntryColumns(MerkleFrontier.fromBytes(head.frontier.toBytes(), head.frontier.size));
  const rows: WorkingRow[] = [];
  const states: Plan['states'] = [];
  const seenInBatch = new Set<string>();
  const results: Position[][] = [];
  for (const item of items) {
    const first = item.events[0]!;
    if (known.has(first.id) || seenInBatch.has(first.id)) {
      // A retried append: answer with the original positions, write nothing.
      results.push(item.events.map((e) => known.get(e.id) ?? pendingPosition(results, e.id)));
      continue;
    }
    const positions: Position[] = [];
    for (const e of item.events) {
      seq += 1;
      const chain = cols.add(seq, prev, e);
      positions.push({ seq, eventId: e.id, leafHash: e.leafHash, chainHash: chain, fresh: true });
      seenInBatch.add(e.id);
      prev = chain;
    }
    if (item.rows) rows.push(...item.rows(positions));
    for (const c of item.states ?? []) states.push({ ...c, seq: positions[c.event ?? 0]!.seq });
    results.push(positions);
  }
  return { results, cols, rows, states, head: { seq, chain: prev, frontier: cols.frontier } };
}

/** Every write of a planned batch but the head's: entries, working rows, tiles. */
function planWrites(db: Kysely<Database>, plan: Plan): CompiledQuery[] {
  if (plan.cols.length === 0) return [];
  return [
    CompiledQuery.raw(INSERT_ENTRIES_SQL, plan.cols.parameters()),
    ...rowInserts(db, plan.rows),
    ...(plan.states.length ? [CompiledQuery.raw(UPSERT_STATES_SQL, upsertStatesParameters(plan.states))] : []),
    CompiledQuery.raw(EXTEND_TILES_SQL, plan.cols.tileParameters()),
  ];
}

/**
 * One statement, no transaction and no lock held across round trips: the head update is guarded
 * by the head this process last committed, so after another process's append it matches no row and
 * assentmark_head_moved() fails the statement as a whole. Duplicate event ids are not looked up:
 * they fail on the unique index, and the locked path then handles them.
 */
async function fastCommit(db: Kysely<Database>, items: AppendItem[], head: Head): Promise<Committed> {
  const plan = planBatch(items, head, new Map());
  const writes = planWrites(db, plan);
  if (writes.length === 0) return { results: plan.results, head };
  const guard = CompiledQuery.raw(
    'UPDATE ledger_head SET seq = $1, chain_hash = $2, frontier = $3 WHERE id = 1 AND seq = $4 AND chain_hash = $5 RETURNING seq',
    [plan.head.seq, plan.head.chain, plan.head.frontier.toBytes(), head.seq, head.chain],
  );
  const check = CompiledQuery.raw(`SELECT assentmark_head_moved((SELECT count(*) FROM w${writes.length}))`, []);
  const combined = combineStatements([...writes, guard], check);
  if (!combined) throw new Error('the batch is too large for one statement');
  await db.executeQuery(combined);
  return { results: plan.results, head: plan.head };
}

async function lockedCommit(trx: Transaction<Database>, items: AppendItem[]): Promise<Committed> {
  // Events already in the ledger (a retried append) are looked up before the head is locked, so
  // the lock is held for one round trip less. One appended by another process in between fails
  // the batch on the unique index, and its retry item by item finds it here.
  const ids = items.flatMap((it) => it.events.map((e) => e.id));
  const known = new Map<string, Position>();
  const existing = await trx
    .selectFrom('ledger_entries')
    .select(['seq', 'event_id', 'leaf_hash', 'chain_hash'])
    .where('event_id', '=', sql<string>`ANY(${ids}::uuid[])`)
    .execute();
  for (const r of existing) {
    known.set(r.event_id, { seq: Number(r.seq), eventId: r.event_id, leafHash: buf(r.leaf_hash), chainHash: buf(r.chain_hash), fresh: false });
  }
  // Lock and read the head in one statement: in READ COMMITTED, SELECT ... FOR UPDATE returns the
  // row version it locked, i.e. the newest committed one after waiting for any other appender.
  // (A CTE or subquery beside the lock would read the statement's older snapshot; none is used.)
  const row = (await sql<{ seq: string; chain_hash: Uint8Array; frontier: Uint8Array }>`SELECT seq, chain_hash, frontier FROM ledger_head WHERE id = 1 FOR UPDATE`.execute(trx)).rows[0];
  if (!row) throw new Error('ledger_head has no row');
  const head: Head = { seq: Number(row.seq), chain: buf(row.chain_hash), frontier: MerkleFrontier.fromBytes(buf(row.frontier), Number(row.seq)) };
  const plan = planBatch(items, head, known);
  const writes = planWrites(trx, plan);
  if (writes.length === 0) return { results: plan.results, head };
  const headUpdate = trx.updateTable('ledger_head').set({ seq: plan.head.seq, chain_hash: plan.head.chain, frontier: plan.head.frontier.toBytes() }).where('id', '=', 1).compile();
  const combined = combineStatements(writes, headUpdate);
  if (combined) {
    // One round trip for every write of the batch; data-modifying CTEs all run to completion in
    // the one statement, and constraint checks apply as they would statement by statement.
    await trx.executeQuery(combined);
  } else {
    for (const q of writes) await trx.executeQuery(q);
    await trx.executeQuery(headUpdate);
  }
  return { results: plan.results, head: plan.head };
}

/** Stay well below PostgreSQL's 65,535 bind parameters per statement. */
const MAX_COMBINED_PARAMETERS = 30_000;

/**
 * `WITH w1 AS (insert 1), w2 AS (insert 2), ... <main>` with the parameters renumbered, or null
 * when that cannot be done safely (then the caller runs the statements one by one).
 */
function combineStatements(ctes: CompiledQuery[], main: CompiledQuery): CompiledQuery | null {
  const parameters: unknown[] = [];
  const renumber = (q: CompiledQuery): string | null => {
    // Kysely numbers each parameter once, in order ($1..$n); anything else is not ours to rewrite.
    const seen: number[] = [];
    const text = q.sql.replace(/\$(\d+)/g, (_, d: string) => {
      seen.push(Number(d));
      return `$${Number(d) + parameters.length}`;
    });
    if (seen.length !== q.parameters.length || seen.some((n, i) => n !== i + 1) || /\$\$|\bWITH\b/i.test(q.sql)) return null;
    parameters.push(...q.parameters);
    return text;
  };
  const parts: string[] = [];
  for (const [i, q] of ctes.entries()) {
    const text = renumber(q);
    if (text === null) return null;
    parts.push(`w${i} AS (${text})`);
  }
  const tail = renumber(main);
  if (tail === null || parameters.length > MAX_COMBINED_PARAMETERS) return null;
  return CompiledQuery.raw(`WITH ${parts.join(',\n')}\n${tail}`, parameters);
}

/**
 * The next batch: the first `max` queued items, except that an item changing a subject state an
 * earlier item of the batch changes waits for the next batch (in order), so the guard sees each
 * change on its own.
 */
function takeBatch(queue: Pending[], max: number): Pending[] {
  const batch: Pending[] = [];
  const waiting: Pending[] = [];
  const changed = new Set<string>();
  let i = 0;
  for (; i < queue.length && batch.length < max; i++) {
    const p = queue[i]!;
    const keys = (p.item.states ?? []).map(stateKey);
    if (keys.some((k) => changed.has(k))) {
      waiting.push(p);
      continue;
    }
    for (const k of keys) changed.add(k);
    batch.push(p);
  }
  queue.splice(0, i, ...waiting);
  return batch;
}

function pendingPosition(results: Position[][], id: string): Position {
  for (const ps of results) for (const p of ps) if (p.eventId === id) return { ...p, fresh: false };
  throw new Error(`event ${id} was only partly appended before`);
}

/**
 * Inserts of the rows grouped by table in first-seen order (so parents precede children), one
 * statement per table; then the updates, in order. In the one combined statement every part sees
 * the rows as they were before it, so an update never sees this batch's inserts.
 */
function rowInserts(db: Kysely<Database>, rows: WorkingRow[]): CompiledQuery[] {
  const byTable = new Map<WorkingInsert['table'], Array<WorkingInsert['values']>>();
  const updates: CompiledQuery[] = [];
  for (const r of rows) {
    if (isWorkingUpdate(r)) {
      updates.push(r.update);
      continue;
    }
    const list = byTable.get(r.table);
    if (list) list.push(r.values);
    else byTable.set(r.table, [r.values]);
  }
  // Each WorkingRow pairs a table with its own Insertable type; grouping by table keeps that pairing,
  // which TypeScript cannot follow through the Map, hence the one cast.
  return [...[...byTable].map(([table, values]) => db.insertInto(table).values(values as never).compile()), ...updates];
}
