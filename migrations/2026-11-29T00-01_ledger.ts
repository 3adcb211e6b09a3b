// The evidence ledger, its head row and signed checkpoints, append-only by trigger.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE ledger_entries (
      seq         bigint      PRIMARY KEY CHECK (seq >= 1),
      event_id    uuid        NOT NULL UNIQUE,
      event_type  text        NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now(),
      canonical   bytea       NOT NULL,
      leaf_hash   bytea       NOT NULL CHECK (octet_length(leaf_hash) = 32),
      prev_hash   bytea       NOT NULL UNIQUE CHECK (octet_length(prev_hash) = 32),
      chain_hash  bytea       NOT NULL UNIQUE CHECK (octet_length(chain_hash) = 32)
    )`.execute(db);
  await sql`CREATE INDEX ledger_entries_type_idx ON ledger_entries (event_type, seq)`.execute(db);

  // One row: the chain head. Appenders lock it FOR UPDATE, which serialises every process.
  await sql`
    CREATE TABLE ledger_head (
      id         smallint PRIMARY KEY CHECK (id = 1),
      seq        bigint   NOT NULL,
      chain_hash bytea    NOT NULL
    )`.execute(db);
  await sql`INSERT INTO ledger_head (id, seq, chain_hash) VALUES (1, 0, ${Buffer.alloc(32)})`.execute(db);

  await sql`
    CREATE TABLE ledger_checkpoints (
      size       bigint      PRIMARY KEY CHECK (size >= 1),
      chain_hash bytea       NOT NULL,
      key_id     text        NOT NULL,
      body       bytea       NOT NULL,
      signature  bytea       NOT NULL CHECK (octet_length(signature) = 64),
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE FUNCTION assentmark_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'assentmark: % on % is refused: the table is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END $$`.execute(db);
  for (const table of ['ledger_entries', 'ledger_checkpoints']) {
    await appendOnly(db, table);
  }

  // The role the service runs as: it may read and append evidence, never change it.
  await sql`
    DO $$ BEGIN
      CREATE ROLE assentmark_service NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END $$`.execute(db);
  await sql`GRANT USAGE ON SCHEMA public TO assentmark_service`.execute(db);
  await sql`GRANT SELECT, INSERT ON ledger_entries, ledger_checkpoints TO assentmark_service`.execute(db);
  await sql`GRANT SELECT, UPDATE ON ledger_head TO assentmark_service`.execute(db);
}

/** Row triggers refuse UPDATE/DELETE, a statement trigger refuses TRUNCATE; ALWAYS fires even in replica mode. */
export async function appendOnly(db: Kysely<any>, table: string): Promise<void> {
  const t = sql.table(table);
  const row = sql.raw(`${table}_no_update_delete`);
  const stmt = sql.raw(`${table}_no_truncate`);
  await sql`CREATE TRIGGER ${row} BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION assentmark_refuse_change()`.execute(db);
  await sql`CREATE TRIGGER ${stmt} BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION assentmark_refuse_change()`.execute(db);
  await sql`ALTER TABLE ${t} ENABLE ALWAYS TRIGGER ${row}`.execute(db);
  await sql`ALTER TABLE ${t} ENABLE ALWAYS TRIGGER ${stmt}`.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('the evidence ledger is never migrated down');
}
