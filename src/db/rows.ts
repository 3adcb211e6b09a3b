// Working rows: a typed row for one table, written by the ledger appender in the same transaction
// as the events it belongs to. Repositories build them; only the appender inserts them. A working
// update is the same for existing rows (an erasure's scrubbing): a statement a repository compiled,
// run by the appender in the append's statement, so the change commits with its event or not at all.
import type { CompiledQuery, Insertable } from 'kysely';
import type { Database } from './schema.js';

export type TableName = keyof Database & string;

export type WorkingInsert = { [T in TableName]: { table: T; values: Insertable<Database[T]>; update?: never } }[TableName];

export interface WorkingUpdate {
  table: TableName;
  /** One UPDATE statement (no WITH, parameters $1..$n in order: the appender combines it with the others). */
  update: CompiledQuery;
}

export type WorkingRow = WorkingInsert | WorkingUpdate;

export function workingRow<T extends TableName>(table: T, values: Insertable<Database[T]>): WorkingRow {
  return { table, values } as WorkingRow;
}

export function workingUpdate(table: TableName, update: CompiledQuery): WorkingRow {
  if (!/^\s*update\b/i.test(update.sql)) throw new Error(`a working update of ${table} must be an UPDATE statement`);
  return { table, update };
}

export function isWorkingUpdate(r: WorkingRow): r is WorkingUpdate {
  return r.update !== undefined;
}

/** JSON columns are written as text (both drivers accept it) and come back parsed by pg, as text by some paths. */
export function fromJson<T>(v: T | string): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : v;
}
