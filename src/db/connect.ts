// One code path, two databases: Kysely over pg when DATABASE_URL is set, embedded PGlite otherwise.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, sql, type PostgresPool } from 'kysely';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { registerCopyOut, type CopyOut } from './copy-out.js';
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
  /** Milliseconds to wait for a connection (a new one, or a free one of the pool); real server only. */
  connectTimeoutMs?: number;
}

export async function connect(opts: ConnectOptions): Promise<DbHandle> {
  if (opts.databaseUrl) return connectPostgres(opts.databaseUrl, opts.serviceRole, opts.poolSize ?? 16, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
  return connectEmbedded(opts.dataDir);
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

function connectPostgres(url: string, role: string | undefined, max: number, connectTimeoutMs: number): DbHandle {
  if (role && !/^[a-z_][a-z0-9_]*$/.test(role)) throw new Error('database role name must be a plain identifier');
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    // During an outage a query fails after this long instead of waiting for a connection forever:
    // it bounds both opening a connection and waiting for a free one of the pool.
    connectionTimeoutMillis: connectTimeoutMs,
    // A peer that vanished without a reset (a dead host, a dropped route) is noticed.
    keepAlive: true,
    // Runs before the connection is handed out; a failure fails the connect, so no connection
    // ever serves queries as the owner instead of the restricted role.
    ...(role ? { onConnect: async (client: pg.ClientBase) => void (await client.query(`SET ROLE ${role}`)) } : {}),
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: discardingFailed(pool) }) });
  registerCopyOut(db, copyOut(pool));
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

/**
 * COPY TO STDOUT on a connection of the pool (pg-copy-streams). A consumer that stops early leaves
 * the connection in the middle of the COPY: it is then discarded, not returned to the pool.
 */
function copyOut(pool: pg.Pool): CopyOut {
  return async function* (text: string) {
    const client = await pool.connect();
    let done = false;
    try {
      for await (const chunk of client.query(copyTo(text)) as AsyncIterable<Buffer>) yield chunk;
      done = true;
    } finally {
      client.release(!done);
    }
  };
}

/**
 * The pool as Kysely sees it, owning its clients' errors. A lost connection emits 'error' on its
 * client, idle or checked out; unheard, that event ends the process. So every client gets a
 * listener from the moment the pool creates it; the query on the lost connection fails by itself
 * and reaches its caller. A client that errored is released with its error, so the pool discards
 * it instead of handing a dead connection to the next query.
 */
function discardingFailed(pool: pg.Pool): PostgresPool {
  const failed = new WeakMap<pg.ClientBase, Error>();
  pool.on('connect', (client) => {
    client.on('error', (err) => failed.set(client, err));
  });
  // An idle client's error, reported by the pool as well (it has already removed the client).
  pool.on('error', () => {});
  return {
    async connect() {
      const client = await pool.connect();
      // pg-pool gives the client a fresh release() at each checkout; this one wraps that.
      const release = client.release.bind(client);
      client.release = (discard?: Error | boolean) => release(failed.get(client) ?? discard);
      return client;
    },
    end: () => pool.end(),
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
    pglite = await PGlite.create(`${dataDir}/pgdata`, { serializers: { [BYTEA_OID]: byteaParameter as unknown as (v: unknown) => string }, parsers: { [BYTEA_OID]: byteaFromText } });
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
 * second on the event loop for a 1.5 MB dossier PDF. A bytea parameter is sent as its bytes
 * (PGlite binds a Uint8Array in binary format: no hex text to build, measure and parse; a 9.7 MB
 * PDF's insert takes 220-300 ms instead of 400-450); results are read from the text form ("\x"
 * and lowercase hex) natively, into a Uint8Array with its own ArrayBuffer.
 */
const BYTEA_OID = 17;
// PGlite's typings say a serialiser returns a string; its Bind writer sends a Uint8Array as a binary
// parameter (PGlite 0.4; every stored PDF, key and hash round-trips through it in the embedded tests).
function byteaParameter(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new Error('Invalid input for bytea type');
  return v;
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
 * service runs) would corrupt it. A lock file guards the directory: the owner's pid and its start
 * time. A dead owner's lock is taken over: one whose process is gone, is a zombie not yet reaped
 * (killed, its parent not yet told), or whose pid now belongs to a process started at another time.
 */
function lockDataDir(dataDir: string): () => void {
  const file = path.join(dataDir, 'assentmark.lock');
  const self = processStart(process.pid)?.startTime;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, self === undefined ? String(process.pid) : `${process.pid} ${self}`);
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const [pidText, startText] = readFileSync(file, 'utf8').trim().split(/\s+/);
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && ownerAlive(pid, startText)) {
        throw new DataDirLockedError(`the embedded database in ${dataDir} is in use by process ${pid} (a running assentmark service?); stop it first, or use the running service's admin HTTP API (docs/operations.md)`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new DataDirLockedError(`cannot lock ${dataDir}`);
}

/** Whether the lock's owner still runs: the pid is live, not a zombie, and (when recorded) started when the lock says. */
function ownerAlive(pid: number, recordedStart: string | undefined): boolean {
  const proc = processStart(pid);
  if (proc === null) return isAlive(pid); // no /proc: all that can be asked is whether the pid exists
  if (proc === undefined) return false;
  if (proc.state === 'Z' || proc.state === 'X' || proc.state === 'x') return false;
  return recordedStart === undefined || recordedStart === proc.startTime;
}

/**
 * A process's state and start time (clock ticks since boot) from /proc/<pid>/stat; undefined when
 * there is no such process, null when /proc cannot tell (not Linux).
 */
function processStart(pid: number): { state: string; startTime: string } | undefined | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ESRCH') return null;
    return existsSync('/proc/self/stat') ? undefined : null;
  }
  // "pid (comm) state ppid ... starttime ...": comm may hold spaces and parentheses, so the fields
  // are counted from the last ")"; the state is field 3, the start time field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  if (!state || !startTime || !/^\d+$/.test(startTime)) return null;
  return { state, startTime };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
