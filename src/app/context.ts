// Composition root: opens the database, migrates, loads keys, builds the ledger and the repositories.
import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import { connect, type DbHandle } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';
import { loadSigningKey } from '../keys/signing-key.js';
import { Ledger } from '../ledger/ledger.js';
import { SubscriptionIndex } from '../webhooks/subscriptions.js';
import { ServiceMetrics } from '../metrics/metrics.js';
import { LedgerVerifications, type VerificationJob } from '../operations/ledger-verifications.js';
import { buildRepositories, type Repositories } from './repositories.js';

export interface ServiceContext {
  config: Config;
  handle: DbHandle;
  ledger: Ledger;
  repos: Repositories;
  /** Webhook subscriptions by event type: the ledger's append hook writes their outbox rows. */
  webhookIndex: SubscriptionIndex;
  /** This process's metrics registry (GET /metrics). */
  metrics: ServiceMetrics;
  /** Full ledger verifications in the background, one at a time (admin API and timer). */
  ledgerVerifications: LedgerVerifications;
  close(): Promise<void>;
}

export interface OpenOptions {
  logger?: Logger;
  /** Run migrations before opening (the server does; most CLI commands too). */
  migrate?: boolean;
  /** Write the genesis event and start the checkpoint and full-verification timers. */
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
  const metrics = new ServiceMetrics();
  const onError = (err: unknown, what: string) => opts.logger?.error({ err: err instanceof Error ? err.message : String(err) }, `${what} failed`);
  const ledger = new Ledger(handle.db, {
    origin: config.origin,
    signingKey,
    checkpointEvery: config.checkpointEvery,
    checkpointIntervalMs: opts.timers === false ? 0 : config.checkpointIntervalMs,
    onError,
    appendObserver: metrics.append,
  });
  const repos = buildRepositories(handle.db);
  const webhookIndex = new SubscriptionIndex(repos.webhookSubscriptions, (err) => onError(err, 'webhook subscription reload'));
  const ledgerVerifications = new LedgerVerifications(ledger, { onError, onFinished: (job) => metrics.ledgerVerified(outcomeOf(job), job.finishedAt ?? new Date()) });
  metrics.watch({ ledgerSize: async () => (await ledger.head()).size, latestCheckpoint: () => ledger.latestCheckpoint(), ...(handle.poolStats ? { pool: handle.poolStats } : {}) });
  try {
    await ledger.init();
    // Every process that appends writes the outbox rows of subscribed events, in the event's transaction.
    await webhookIndex.reload();
    ledger.addRowsHook((events, positions) => webhookIndex.outboxRows(events, positions));
    // The openings of an event's committed personal facts go into its transaction (docs/personal-data.md).
    ledger.addRowsHook((events, positions) => {
      const now = new Date();
      return events.flatMap((e, i) => (e.openings?.length ? repos.openings.rows(e.openings, positions[i]!, now) : []));
    });
    if (opts.timers !== false) {
      ledgerVerifications.startTimer(config.fullVerifyIntervalMs);
      webhookIndex.startReloading(config.webhooks.reloadMs);
    }
  } catch (e) {
    await ledger.close();
    await handle.close();
    throw e;
  }
  return {
    config,
    handle,
    ledger,
    repos,
    webhookIndex,
    metrics,
    ledgerVerifications,
    async close() {
      webhookIndex.stop();
      await ledgerVerifications.close();
      await ledger.close();
      await handle.close();
    },
  };
}

function outcomeOf(job: VerificationJob): 'ok' | 'failed' | 'error' {
  if (job.state !== 'finished' || !job.report) return 'error';
  return job.report.ok ? 'ok' : 'failed';
}
