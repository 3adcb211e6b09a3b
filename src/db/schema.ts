// Kysely table types. Only repositories use these.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, never>;

export interface LedgerEntriesTable {
  seq: ColumnType<string, number | string, never>; // bigint arrives as a string from pg
  event_id: string;
  event_type: string;
  recorded_at: Timestamp;
  canonical: Buffer;
  leaf_hash: Buffer;
  prev_hash: Buffer;
  chain_hash: Buffer;
}

export interface LedgerHeadTable {
  id: number;
  seq: ColumnType<string, number | string, number | string>;
  chain_hash: Buffer;
}

export interface LedgerCheckpointsTable {
  size: ColumnType<string, number | string, never>;
  chain_hash: Buffer;
  key_id: string;
  body: Buffer;
  signature: Buffer;
  created_at: Timestamp;
}

export interface Database {
  ledger_entries: LedgerEntriesTable;
  ledger_head: LedgerHeadTable;
  ledger_checkpoints: LedgerCheckpointsTable;
}

export type { Generated };
