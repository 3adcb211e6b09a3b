import type { Logger } from 'pino';
import type express from 'express';
import { createApp } from '../http/app.js';
import { ledgerRoutes } from '../http/routes/ledger.js';
import type { ServiceContext } from '../service/context.js';

export interface BuiltApp {
  app: express.Express;
  close(): Promise<void>;
}

/** Wires the route modules onto createApp from a service context. */
export async function buildApp(ctx: ServiceContext, logger: Logger): Promise<BuiltApp> {
  const app = createApp({
    logger,
    bodyLimit: ctx.config.bodyLimit,
    routers: [ledgerRoutes(ctx.ledger)],
    ready: async () => {
      await ctx.handle.ping();
      return true;
    },
  });
  return { app, close: async () => {} };
}
