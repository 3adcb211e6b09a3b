// One code path, two databases: Kysely over pg when DATABASE_URL is set, embedded PGlite otherwise.
import { mkdirSync, openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { AppError } from '../problems/app-error.js';
import type { Database } from './schema.js';

// bigint (int8) stays a string: sequence numbers are exact, never rounded doubles.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

export type DbMode = 'postgres' | 'embedded';

export interface DbHandle {
  db: Kysely<Database>;
  mode: DbMode;
  /** Runs a trivial query; used by /readyz. */
  ping(): Promise<void>;
  /** Connections of the pool (real server only; the embedded database has none). */
  poolStats?: () => { inUse: number; idle: number; waiting: number };
  close(): Promise<void>;
}

export interface ConnectOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Role to SET on every pooled connection (real server only). */
  serviceRole?: string | undefined;
  poolSize?: number;
}

export async function connect(opts: ConnectOptions): Promise<DbHandle> {
  if (opts.databaseUrl) return connectPostgres(opts.databaseUrl, opts.serviceRole, opts.poolSize ?? 16);
  return connectEmbedded(opts.dataDir);
}

function connectPostgres(url: string, role: string | undefined, max: number): DbHandle {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000 });
  // A client error on an idle connection must not crash the process.
  pool.on('error', () => {});
  if (role) {
    if (!/^[a-z_][a-z0-9_]*$/.test(role)) throw new Error('database role name must be a plain identifier');
    // pg runs queries of one client in order, so this precedes anything else on the connection.
    pool.on('connect', (client) => {
      client.query(`SET ROLE ${role}`).catch(() => {});
    });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    mode: 'postgres',
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    poolStats: () => ({ inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    close: () => db.destroy(),
  };
}

async function connectEmbedded(dataDir: string): Promise<DbHandle> {
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('kysely-pglite-dialect'),
  ]);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const unlock = lockDataDir(dataDir);
  let pglite: InstanceType<typeof PGlite>;
  try {
    pglite = await PGlite.create(`${dataDir}/pgdata`, { serializers: { [BYTEA_OID]: byteaToText }, parsers: { [BYTEA_OID]: byteaFromText } });
  } catch (e) {
    unlock();
    throw e;
  }
  // PGlite executes a query synchronously inside a promise: a chain of awaited queries (a dossier's
  // evidence, a ledger scan) would never give the event loop a turn. Yield once before each query
  // so timers and other requests interleave; the dialect only calls query() and close().
  const p = pglite;
  const yielding = {
    query: async (q: string, params?: unknown[]) => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      return p.query(q, params);
    },
    close: () => p.close(),
  } as unknown as typeof pglite;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(yielding) });
  let closed = false;
  return {
    db,
    mode: 'embedded',
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await db.destroy();
      if (!pglite.closed) await pglite.close();
      unlock();
    },
  };
}

/**
 * PGlite's own bytea (de)serialisers go through a JavaScript array of per-byte strings: about a
 * second on the event loop for a 1.5 MB dossier PDF. These do the same text conversion ("\x" and
 * lowercase hex) natively, and still return a Uint8Array with its own ArrayBuffer.
 */
const BYTEA_OID = 17;
function byteaToText(v: unknown): string {
  if (!(v instanceof Uint8Array)) throw new Error('Invalid input for bytea type');
  return '\\x' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
}
function byteaFromText(s: string): Uint8Array {
  const b = Buffer.from(s.slice(2), 'hex');
  const out = new Uint8Array(b.byteLength);
  out.set(b);
  return out;
}

export class DataDirLockedError extends AppError<'data_dir_locked'> {
  constructor(detail: string) {
    super('data_dir_locked', detail);
  }
}

/**
 * Embedded PostgreSQL belongs to one process at a time: a second opener (say the CLI while the
 * service runs) would corrupt it. A pid file guards the directory; a dead owner's lock is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'assentmark.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DataDirLockedError(`the embedded database in ${dataDir} is in use by process ${pid} (a running assentmark service?); stop it first, or use the running service's admin HTTP API (docs/operations.md)`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new DataDirLockedError(`cannot lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
