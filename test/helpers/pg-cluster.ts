// A private PostgreSQL cluster for one test: initdb into a temporary directory as the postgres OS
// user, served on a free port of 127.0.0.1 with its socket in that directory, so the test can
// restart or stop it without touching the shared server other tests use.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const run = promisify(execFile);

/** The directory of initdb, pg_ctl and postgres, or null when none is installed. */
export function postgresBinDir(): string | null {
  try {
    const dir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  } catch {
    // no pg_config: look where Debian installs the server
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (existsSync(path.join(dir, 'initdb')) && existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

/** Why a private cluster cannot be run here, or null when it can. */
export function privateClusterUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (initdb runs as the postgres OS user through runuser)';
  if (spawnSync('id', ['-u', 'postgres']).status !== 0) return 'needs a postgres OS user';
  if (!existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser') && spawnSync('runuser', ['--help']).error) return 'needs runuser';
  if (!postgresBinDir()) return 'needs the PostgreSQL server binaries (initdb, pg_ctl)';
  return null;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

export interface PgCluster {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/DB (trust authentication, local to this machine). */
  url(db?: string): string;
  /** pg_ctl restart -m immediate: every backend is killed, crash recovery on the way up. */
  restartImmediate(): Promise<void>;
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** The server's log so far (for failure messages). */
  log(): string;
  destroy(): void;
}

export async function startPrivateCluster(): Promise<PgCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL binaries');
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-pg-'));
  const pgdata = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
  // Asynchronous: the test's clients keep sending while the server restarts.
  const asPostgres = async (tool: string, args: string[]): Promise<void> => {
    try {
      await run('runuser', ['-u', 'postgres', '--', path.join(bin, tool), ...args], { encoding: 'utf8', timeout: 60_000 });
    } catch (e) {
      const r = e as { code?: unknown; stdout?: string; stderr?: string };
      throw new Error(`${tool} ${args.join(' ')} failed (${String(r.code)}): ${r.stdout ?? ''}${r.stderr ?? ''}${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`);
    }
  };
  // --no-sync: the cluster's own creation need not reach the disk; the server itself runs with fsync on.
  await asPostgres('initdb', ['-D', pgdata, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=60`;
  const start = () => asPostgres('pg_ctl', ['-D', pgdata, '-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
  await start();
  return {
    port,
    url: (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`,
    restartImmediate: () => asPostgres('pg_ctl', ['-D', pgdata, '-l', logFile, '-o', options, '-m', 'immediate', '-w', '-t', '60', 'restart']),
    stop: (mode = 'fast') => asPostgres('pg_ctl', ['-D', pgdata, '-m', mode, '-w', '-t', '60', 'stop']),
    start,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    destroy: () => {
      spawnSync('runuser', ['-u', 'postgres', '--', path.join(bin, 'pg_ctl'), '-D', pgdata, '-m', 'immediate', '-w', 'stop'], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
