// The append path: in-process group commit. Callers enqueue items; one transaction per batch locks
// the chain head, assigns contiguous sequence numbers, inserts all entries in one statement and the
// items' working rows beside them, then commits. Nothing is acknowledged before its commit.
import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import { buf } from '../db/bytes.js';
import type { Database } from '../db/schema.js';
import type { WorkingRow } from '../db/rows.js';
import type { PreparedEvent } from './format.js';
import { EntryColumns, INSERT_ENTRIES_SQL } from './entry-columns.js';

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
}

export interface AppenderOptions {
  maxBatch?: number;
  /** Called after each committed batch with the new head size. */
  onCommit?: (size: number) => void;
}

interface Pending {
  item: AppendItem;
  resolve: (p: Position[]) => void;
  reject: (e: unknown) => void;
}

export class LedgerAppender {
  readonly #db: Kysely<Database>;
  readonly #maxBatch: number;
  readonly #onCommit: ((size: number) => void) | undefined;
  #queue: Pending[] = [];
  #running = false;
  #idle: Array<() => void> = [];

  constructor(db: Kysely<Database>, opts: AppenderOptions = {}) {
    this.#db = db;
    this.#maxBatch = opts.maxBatch ?? 256;
    this.#onCommit = opts.onCommit;
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
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const results = await this.#commit(batch.map((p) => p.item));
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
            continue;
          }
          // One bad item must not fail its neighbours: retry each alone, in order.
          for (const p of batch) {
            try {
              p.resolve((await this.#commit([p.item]))[0]!);
            } catch (e) {
              p.reject(e);
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
    const { results, size } = await this.#db.transaction().execute((trx) => commitBatch(trx, items));
    this.#onCommit?.(size);
    return results;
  }
}

async function commitBatch(trx: Transaction<Database>, items: AppendItem[]): Promise<{ results: Position[][]; size: number }> {
  // Lock and read the head in one statement: in READ COMMITTED, SELECT ... FOR UPDATE returns the
  // row version it locked, i.e. the newest committed one after waiting for any other appender.
  // (A CTE or subquery beside the lock would read the statement's older snapshot; none is used.)
  const head = (await sql<{ seq: string; chain_hash: Uint8Array }>`SELECT seq, chain_hash FROM ledger_head WHERE id = 1 FOR UPDATE`.execute(trx)).rows[0];
  if (!head) throw new Error('ledger_head has no row');

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

  let seq = Number(head.seq);
  let prev: Buffer = buf(head.chain_hash);
  const cols = new EntryColumns();
  const rows: WorkingRow[] = [];
  const seenInBatch = new Set<string>();
  const results: Position[][] = [];

  for (const item of items) {
    const first = item.events[0]!;
    const original = known.get(first.id);
    if (original || seenInBatch.has(first.id)) {
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
    results.push(positions);
  }

  if (cols.length > 0) {
    const entries = CompiledQuery.raw(INSERT_ENTRIES_SQL, cols.parameters());
    const inserts = [entries, ...rowInserts(trx, rows)];
    const headUpdate = trx.updateTable('ledger_head').set({ seq, chain_hash: prev }).where('id', '=', 1).compile();
    const combined = combineStatements(inserts, headUpdate);
    if (combined) {
      // One round trip for every write of the batch (the batch transaction holds the head lock,
      // so its length is what limits throughput). Data-modifying CTEs all run to completion in the
      // one statement; constraint and foreign-key checks apply as they would statement by statement.
      await trx.executeQuery(combined);
    } else {
      for (const q of inserts) await trx.executeQuery(q);
      await trx.executeQuery(headUpdate);
    }
  }
  return { results, size: seq };
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

function pendingPosition(results: Position[][], id: string): Position {
  for (const ps of results) for (const p of ps) if (p.eventId === id) return { ...p, fresh: false };
  throw new Error(`event ${id} was only partly appended before`);
}

/** Inserts of the rows grouped by table in first-seen order (so parents precede children), one statement per table. */
function rowInserts(trx: Transaction<Database>, rows: WorkingRow[]): CompiledQuery[] {
  const byTable = new Map<WorkingRow['table'], Array<WorkingRow['values']>>();
  for (const r of rows) {
    const list = byTable.get(r.table);
    if (list) list.push(r.values);
    else byTable.set(r.table, [r.values]);
  }
  // Each WorkingRow pairs a table with its own Insertable type; grouping by table keeps that pairing,
  // which TypeScript cannot follow through the Map, hence the one cast.
  return [...byTable].map(([table, values]) => trx.insertInto(table).values(values as never).compile());
}
