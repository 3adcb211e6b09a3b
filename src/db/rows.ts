// Working rows: a typed row for one table, written by the ledger appender in the same transaction
// as the events it belongs to. Repositories build them; only the appender inserts them.
import type { Insertable } from 'kysely';
import type { Database } from './schema.js';

export type TableName = keyof Database & string;

export type WorkingRow = { [T in TableName]: { table: T; values: Insertable<Database[T]> } }[TableName];

export function workingRow<T extends TableName>(table: T, values: Insertable<Database[T]>): WorkingRow {
  return { table, values } as WorkingRow;
}

/** JSON columns are written as text (both drivers accept it) and come back parsed by pg, as text by some paths. */
export function fromJson<T>(v: T | string): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : v;
}
