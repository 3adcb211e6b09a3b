import type { Server } from 'node:http';
import path from 'node:path';
import { writeSecretFile } from '../keys/files.js';
import { loadConfig, type Config } from '../config/config.js';
import { createLogger } from '../log/logger.js';
import { openContext } from '../app/context.js';
import { buildApp } from './build-app.js';

export interface Running {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

export async function start(config: Config = loadConfig(), opts: { handleSignals?: boolean } = {}): Promise<Running> {
  const logger = createLogger(config.logLevel);
  const ctx = await openContext(config, { logger });
  const built = await buildApp(ctx, logger);
  if (ctx.handle.mode === 'embedded' && (await built.services.apiKeys.count()) === 0) {
    // First start of an embedded instance: one admin token, written once to a private file.
    const file = path.join(config.dataDir, 'admin-token');
    const { token } = await built.services.apiKeys.create('admin', 'bootstrap admin');
    writeSecretFile(file, token + '\n');
    logger.warn({ file }, 'created the first admin API key; its token is in this file (mode 0600): move it somewhere safe');
  }
  const server = built.app.listen(config.port, config.host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  logger.info({ port, db: ctx.handle.mode, origin: config.origin, key_id: ctx.ledger.signingKey.keyId, tsa: config.tsaUrl ?? null }, 'assentmark listening');
  // Time from outside: the latest checkpoint is stamped now and then on the timer (when a TSA is configured).
  built.services.timestamps.start(config.tsaIntervalMs);
  if (built.services.timestamps.configured) void built.services.timestamps.stampLatest();
  // Webhooks: deliver the outbox (every service process shares it; built.close() stops this first).
  built.services.webhookDelivery.start();

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 10_000).unref();
      });
      await built.close();
      await ctx.close();
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
