// COPY ... TO STDOUT on the real server: the bytes as PostgreSQL sends them, for reads of a whole
// table where decoding rows costs more than the query does (the ledger verifier reads every entry).
// connect.ts registers one per Kysely instance it opens over pg; the embedded database has none.

/** Streams the output of one COPY statement (`sql` is the whole statement, no parameters). */
export type CopyOut = (sql: string) => AsyncGenerator<Buffer>;

const byDb = new WeakMap<object, CopyOut>();

export function registerCopyOut(db: object, copy: CopyOut): void {
  byDb.set(db, copy);
}

/** The COPY reader of a database handle's Kysely instance, if it runs over the real server. */
export function copyOutFor(db: object): CopyOut | undefined {
  return byDb.get(db);
}
