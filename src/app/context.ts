// Composition root: opens the database, migrates, loads keys, builds the ledger and the repositories.
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { connect, type DbHandle } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { loadSigningKey } from '../keys/signing-key.js';
import { Ledger } from '../ledger/ledger.js';
import { buildRepositories, type Repositories } from './repositories.js';

export interface ServiceContext {
  config: Config;
  handle: DbHandle;
  ledger: Ledger;
  repos: Repositories;
  close(): Promise<void>;
}

export interface OpenOptions {
  logger?: Logger;
  /** Run migrations before opening (the server does; most CLI commands too). */
  migrate?: boolean;
  /** Write the genesis event and start checkpoint timers. */
  timers?: boolean;
}

export async function openContext(config: Config, opts: OpenOptions = {}): Promise<ServiceContext> {
  const signingKey = loadSigningKey(config);
  let handle: DbHandle;
  if (config.databaseUrl) {
    if (opts.migrate !== false) {
      // Migrations run as the database owner; the service then runs as the restricted role.
      const owner = await connect({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 1 });
      try {
        await migrateToLatest(owner.db);
      } finally {
        await owner.close();
      }
    }
    handle = await connect({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, serviceRole: config.dbRole, connectTimeoutMs: config.dbConnectTimeoutMs });
  } else {
    // Embedded PostgreSQL is one in-process database: a single handle serves both.
    handle = await connect({ databaseUrl: undefined, dataDir: config.dataDir });
    if (opts.migrate !== false) await migrateToLatest(handle.db);
  }
  const ledger = new Ledger(handle.db, {
    origin: config.origin,
    signingKey,
    checkpointEvery: config.checkpointEvery,
    checkpointIntervalMs: opts.timers === false ? 0 : config.checkpointIntervalMs,
    onError: (err, what) => opts.logger?.error({ err: err instanceof Error ? err.message : String(err) }, `${what} failed`),
  });
  try {
    await ledger.init();
    if (opts.timers !== false) ledger.startBackgroundVerification(config.fullVerifyIntervalMs);
  } catch (e) {
    await ledger.close();
    await handle.close();
    throw e;
  }
  return {
    config,
    handle,
    ledger,
    repos: buildRepositories(handle.db),
    async close() {
      await ledger.close();
      await handle.close();
    },
  };
}
