// The HTTP application of a service context: its services, the route table and createApp.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type express from 'express';
import type { ServiceContext } from '../app/context.js';
import { buildServices, type Services } from '../app/services.js';
import { createApp } from '../http/app.js';
import { docsRouter } from '../http/docs.js';
import { loadMetricsToken } from '../keys/metrics-token.js';
import { adminRoutes } from '../http/routes/admin.js';
import { largeBodyPaths, mountRoutes, openApiDocument, type AnyRoute } from '../http/route.js';
import { assentRoutes } from '../http/routes/assent.js';
import { detectionRoutes } from '../http/routes/detection.js';
import { dossierRoutes } from '../http/routes/dossiers.js';
import { ledgerRoutes } from '../http/routes/ledger.js';
import { webhookRoutes } from '../http/routes/webhooks.js';
import { llmWatermarkRoutes } from '../http/routes/llm-watermark.js';
import { timelineRoutes } from '../http/routes/timeline.js';
import { subjectSearchRoutes } from '../http/routes/subject-search.js';
import { subjectExportRoutes } from '../http/routes/subject-export.js';
import { consoleRouter } from '../http/console.js';
import { sessionAuth } from '../http/console-session.js';
import { acceptanceSessionRoutes } from '../http/routes/acceptance-sessions.js';
import { privacyRoutes } from '../http/routes/privacy.js';
import { widgetRouter } from '../http/widget.js';
import { keysJson } from '../http/presenters/ledger.js';
import { verifyPageRouter } from '../http/verify-page.js';

export type { Services } from '../app/services.js';

export interface BuiltApp {
  app: express.Express;
  routes: AnyRoute[];
  services: Services;
  close(): Promise<void>;
}

export function allRoutes(ctx: ServiceContext, s: Services): AnyRoute[] {
  return [
    ...ledgerRoutes(ctx.ledger, s.timestamps),
    ...assentRoutes({ assent: s.assent, eulas: s.eulas, watermarkKeys: s.watermarkKeys, apiKeys: s.apiKeys, idempotency: s.idempotency }),
    ...detectionRoutes(s.decisions, s.verifications, s.idempotency),
    ...dossierRoutes(s.dossiers, s.idempotency),
    ...webhookRoutes(s.webhooks),
    ...adminRoutes({ ledger: ctx.ledger, verifications: ctx.ledgerVerifications, metrics: ctx.metrics, metricsToken: loadMetricsToken(ctx.config.metricsTokenFile) }),
    ...llmWatermarkRoutes(s.llmWatermark, s.idempotency),
    ...timelineRoutes({ assent: s.assent, watermarkKeys: s.watermarkKeys, verifications: s.verifications, dossiers: s.dossiers, llmWatermark: s.llmWatermark, access: s.subjectAccess }),
    ...acceptanceSessionRoutes(s.acceptanceSessions),
    ...subjectSearchRoutes(s.assent),
    ...subjectExportRoutes(s.subjectAccess),
    ...privacyRoutes(s.erasure, s.holds, s.idempotency),
  ];
}

/** Wires the route table onto createApp from a service context. */
export async function buildApp(ctx: ServiceContext, logger: Logger): Promise<BuiltApp> {
  const services = buildServices(ctx, { onError: (err, what = 'timestamp') => logger.error({ err: err instanceof Error ? err.message : String(err) }, `${what} failed`) });
  const routes = allRoutes(ctx, services);
  const sessions = sessionAuth(services.consoleSessions);
  ctx.metrics.watch({ renderQueue: () => services.renderQueueDepth() });
  ctx.metrics.collectProcessMetrics();
  const app = createApp({
    logger,
    observeRequest: (o) => ctx.metrics.observeHttp(o),
    bodyLimit: ctx.config.bodyLimit,
    trustProxy: ctx.config.trustProxy,
    largeBodies: { paths: largeBodyPaths(routes), limit: ctx.config.largeBodyLimit },
    routers: [
      docsRouter(() => openApiDocument(routes, {
        title: 'assentmark',
        version: '0.1.0',
        description: 'Evidence of assent to model Terms of Service, per-user watermark linkage, detection outcomes and signed dossiers, in a hash-chained ledger.',
      }, sessions)),
      consoleRouter(services.consoleSessions),
      widgetRouter(),
      verifyPageRouter({ keys: () => keysJson(ctx.ledger.origin, ctx.ledger.keyHistory()), tsaCaPem: ctx.config.tsaCaFile ? readFileSync(ctx.config.tsaCaFile, 'utf8') : undefined }),
      mountRoutes(routes, (t) => services.apiKeys.authenticate(t), sessions),
    ],
    ready: async () => {
      await ctx.handle.ping();
      return true;
    },
  });
  return { app, routes, services, close: () => services.close() };
}
