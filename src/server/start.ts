import type { Server } from 'node:http';
import path from 'node:path';
import { writeSecretFile } from '../keys/files.js';
import { loadConfig, type Config } from '../config/config.js';
import { createLogger } from '../log/logger.js';
import { openContext, type ServiceContext } from '../app/context.js';
import { buildApp, type BuiltApp } from './build-app.js';
import { listenEarly } from './listen.js';

export interface Running {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

export async function start(config: Config = loadConfig(), opts: { handleSignals?: boolean } = {}): Promise<Running> {
  const logger = createLogger(config.logLevel);
  // The port first: a start that cannot listen must not leave a data directory or an admin key behind.
  const { server, port, serve } = await listenEarly(config.port, config.host, logger, config.bodyLimit);
  let ctx: ServiceContext | null = null;
  let built: BuiltApp | null = null;
  try {
    ctx = await openContext(config, { logger });
    built = await buildApp(ctx, logger);
    if (ctx.handle.mode === 'embedded' && (await built.services.apiKeys.count()) === 0) {
      // First start of an embedded instance: one admin token, written once to a private file.
      const file = path.join(config.dataDir, 'admin-token');
      const { token } = await built.services.apiKeys.create('admin', 'bootstrap admin');
      writeSecretFile(file, token + '\n');
      logger.warn({ file }, 'created the first admin API key; its token is in this file (mode 0600): move it somewhere safe');
    }
  } catch (e) {
    // Nothing half-open stays behind: the socket, the render workers, the database (and its lock).
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await built?.close().catch(() => {});
    await ctx?.close().catch(() => {});
    throw e;
  }
  serve(built.app);
  logger.info({ port, db: ctx.handle.mode, origin: config.origin, key_id: ctx.ledger.signingKey.keyId, tsa: config.tsaUrl ?? null }, 'assentmark listening');
  // Time from outside: the latest checkpoint is stamped now and then on the timer (when a TSA is configured).
  built.services.timestamps.start(config.tsaIntervalMs);
  if (built.services.timestamps.configured) void built.services.timestamps.stampLatest();
  // Webhooks: deliver the outbox (every service process shares it; built.close() stops this first).
  built.services.webhookDelivery.start();
  // Retention (ASSENTMARK_RETENTION_DAYS; off when unset): erases the openings that are due, hourly.
  built.services.retention.start(undefined, (run) => {
    if (run.erasures.length || run.subjects.length) logger.info({ days: run.days, erased: run.erasures.length, held: run.subjects.filter((s) => s.heldBy.length).length }, 'retention pass');
  });
  const app = built;
  const context = ctx;

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      await app.close();
      await context.close();
      logger.info('stopped');
    })();
    return stopping;
  };
  if (opts.handleSignals !== false) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
  }
  return { server, port, stop };
}
