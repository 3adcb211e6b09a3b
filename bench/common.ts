// Shared benchmark plumbing: one output format, percentiles, a fresh PostgreSQL database per run.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig, type Config } from '../src/config/config.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import { writeSecretFile } from '../src/keys/files.js';
import { generateMasterKeyText } from '../src/keys/master-key.js';
import { generateSigningIdentity, saveSigningIdentity } from '../src/pdf/certificate.js';
import { openContext, type ServiceContext } from '../src/app/context.js';
import { buildApp, type BuiltApp } from '../src/server/build-app.js';
import { EntryColumns, INSERT_ENTRIES_SQL } from '../src/ledger/entry-columns.js';
import type { PreparedEvent } from '../src/ledger/format.js';
import { MerkleFrontier } from '../src/ledger/merkle.js';
import { EXTEND_TILES_SQL } from '../src/ledger/tile-repository.js';

/** Prints one figure: `BENCH <name> <value> <unit> [baseline=<v>] [ratio=<r>]`. */
export function report(name: string, value: number, unit: string, extra: { baseline?: number; ratio?: number; target?: string } = {}): void {
  const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));
  let line = `BENCH ${name} ${fmt(value)} ${unit}`;
  if (extra.baseline !== undefined) line += ` baseline=${fmt(extra.baseline)}`;
  if (extra.ratio !== undefined) line += ` ratio=${extra.ratio.toFixed(2)}`;
  if (extra.target) line += ` target=${extra.target}`;
  console.log(line);
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function serverUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
}

/** A fresh database on the real server, dropped by `drop()`. */
export async function freshDatabase(prefix = 'assentmark_bench'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(serverUrl());
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/**
 * CPU time of the PostgreSQL backends serving one database, when the server runs on this host
 * (read from /proc): on a machine shared with other work this is, like the client's CPU time, a
 * figure that stays comparable while wall-clock rates do not. `measure()` starts a measurement;
 * the function it returns gives the seconds used since (backends that exit meanwhile are lost:
 * pools keep theirs open for longer than a run). Null when the server is elsewhere.
 */
export interface DatabaseCpu {
  measure(): Promise<() => Promise<number>>;
  end(): Promise<void>;
}

export async function databaseCpu(database: string): Promise<DatabaseCpu | null> {
  const host = new URL(serverUrl()).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]', ''].includes(host) || process.platform !== 'linux') return null;
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  const pids = async () => (await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database])).rows.map((r) => r.pid);
  const cpuOf = (pid: number): number => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100 on Linux)
    } catch {
      return 0;
    }
  };
  const snapshot = async () => new Map((await pids()).map((pid) => [pid, cpuOf(pid)]));
  // The probe's own connection is to the server's default database, so it is not counted.
  return {
    async measure() {
      const before = await snapshot();
      return async () => {
        let used = 0;
        for (const [pid, t] of await snapshot()) used += t - (before.get(pid) ?? 0);
        return used;
      };
    },
    end: () => client.end(),
  };
}

export interface BenchService {
  config: Config;
  ctx: ServiceContext;
  built: BuiltApp;
  server: Server;
  baseUrl: string;
  close(): Promise<void>;
}

/** The real service (migrations, restricted role, keys) on a fresh database, listening on an ephemeral port. */
export async function startService(dbUrl: string, overrides: Partial<Config> = {}): Promise<BenchService> {
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-bench-'));
  const signingKeyFile = path.join(dir, 'signing-key.pem');
  writeSecretFile(signingKeyFile, SigningKey.generate().toPem());
  const masterKeyFile = path.join(dir, 'master-key.hex');
  writeSecretFile(masterKeyFile, generateMasterKeyText());
  const pdfCertFile = path.join(dir, 'pdf-cert.pem');
  const pdfKeyFile = path.join(dir, 'pdf-key.pem');
  await saveSigningIdentity(await generateSigningIdentity({ organization: 'assentmark bench' }), pdfCertFile, pdfKeyFile);
  const config: Config = {
    ...loadConfig({ LOG_LEVEL: 'silent', ASSENTMARK_DATA_DIR: path.join(dir, 'data') }),
    databaseUrl: dbUrl, dbRole: 'assentmark_service', signingKeyFile, masterKeyFile, pdfCertFile, pdfKeyFile, checkpointIntervalMs: 0,
    ...overrides,
  };
  const ctx = await openContext(config, { timers: false });
  const built = await buildApp(ctx, pino({ level: 'silent' }));
  const server = built.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    config, ctx, built, server, baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await built.close();
      await ctx.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Appends correctly chained entries (and their Merkle tiles) as the database owner until the ledger
 * has `target` entries, with the appender's own column and tile builders (EntryColumns), so the
 * filled ledger is exactly what appends would have written. `event(seq)` makes entry seq's event.
 */
export async function fillLedger(owner: pg.Pool, target: number, event: (seq: number) => PreparedEvent, chunk = 10_000): Promise<void> {
  const head = (await owner.query<{ seq: string; chain_hash: Buffer; frontier: Buffer }>('SELECT seq, chain_hash, frontier FROM ledger_head WHERE id = 1')).rows[0]!;
  let seq = Number(head.seq);
  let prev = head.chain_hash;
  let frontier = MerkleFrontier.fromBytes(head.frontier, seq);
  while (seq < target) {
    const cols = new EntryColumns(frontier);
    const n = Math.min(chunk, target - seq);
    for (let k = 0; k < n; k++) {
      seq++;
      prev = cols.add(seq, prev, event(seq));
    }
    await owner.query('BEGIN');
    await owner.query(INSERT_ENTRIES_SQL, cols.parameters());
    await owner.query(EXTEND_TILES_SQL, cols.tileParameters());
    await owner.query('UPDATE ledger_head SET seq = $1, chain_hash = $2, frontier = $3 WHERE id = 1', [seq, prev, cols.frontier.toBytes()]);
    await owner.query('COMMIT');
    frontier = cols.frontier;
  }
  await owner.query('VACUUM ANALYZE ledger_entries');
}
