import type { Logger } from 'pino';
import type express from 'express';
import { createApp } from '../http/app.js';
import { mountRoutes, openApiDocument, type AnyRoute } from '../http/route.js';
import { docsRouter } from '../http/docs.js';
import { ledgerRoutes } from '../http/routes/ledger.js';
import { assentRoutes } from '../http/routes/assent.js';
import type { ServiceContext } from '../app/context.js';
import { ApiKeyStore } from '../auth/api-keys.js';
import { EulaService } from '../eula/service.js';
import { AssentService } from '../assent/service.js';
import { loadKek } from '../watermark-keys/kek.js';
import { rateToThreshold } from '../watermark/decide.js';
import { SubjectKeyCache } from '../gateway/key-cache.js';
import { DecisionService } from '../gateway/decisions.js';
import { VerificationService } from '../verification/service.js';
import { detectionRoutes } from '../http/routes/detection.js';
import { dossierRoutes } from '../http/routes/dossiers.js';
import { DossierService } from '../dossier/service.js';
import { RenderPool } from '../dossier/render-pool.js';
import { loadPdfIdentity } from '../keys/pdf-identity.js';
import type { SigningIdentity } from '../pdf/certificate.js';

export interface Services {
  apiKeys: ApiKeyStore;
  eulas: EulaService;
  assent: AssentService;
  keyCache: SubjectKeyCache;
  decisions: DecisionService;
  verifications: VerificationService;
  dossiers: DossierService;
  close(): Promise<void>;
}

export interface BuiltApp {
  app: express.Express;
  routes: AnyRoute[];
  services: Services;
  close(): Promise<void>;
}

export function buildServices(ctx: ServiceContext): Services {
  const db = ctx.handle.db;
  const kek = loadKek(ctx.config);
  const apiKeys = new ApiKeyStore(db);
  const eulas = new EulaService(db, ctx.ledger);
  const threshold = rateToThreshold(ctx.config.watermarkRate);
  const keyCache = new SubjectKeyCache(db, kek, threshold);
  const assent = new AssentService(db, ctx.ledger, eulas, kek, (subject) => keyCache.invalidate(subject));
  const decisions = new DecisionService(keyCache);
  const verifications = new VerificationService(db, ctx.ledger, kek, threshold);
  // The PDF identity and the render workers start on first use: most processes never issue a dossier.
  let identity: Promise<SigningIdentity> | null = null;
  let pool: RenderPool | null = null;
  const getIdentity = () => (identity ??= loadPdfIdentity(ctx.config).catch((e: unknown) => {
    identity = null;
    throw e;
  }));
  const getPool = async () => (pool ??= new RenderPool(await getIdentity()));
  const dossiers = new DossierService(db, ctx.ledger, eulas, getIdentity, getPool, {
    organisation: ctx.config.organisation,
    certifierName: ctx.config.certifierName,
    certifierTitle: ctx.config.certifierTitle,
  });
  return {
    apiKeys, eulas, assent, keyCache, decisions, verifications, dossiers,
    close: async () => {
      if (pool) await pool.close();
    },
  };
}

export function allRoutes(ctx: ServiceContext, s: Services): AnyRoute[] {
  return [...ledgerRoutes(ctx.ledger), ...assentRoutes(s.assent, s.eulas, s.apiKeys), ...detectionRoutes(s.decisions, s.verifications), ...dossierRoutes(s.dossiers)];
}

/** Wires the route table onto createApp from a service context. */
export async function buildApp(ctx: ServiceContext, logger: Logger): Promise<BuiltApp> {
  const services = buildServices(ctx);
  const routes = allRoutes(ctx, services);
  const app = createApp({
    logger,
    bodyLimit: ctx.config.bodyLimit,
    largeBodies: { paths: ['/v1/verifications', '/v1/verification-plans'], limit: ctx.config.largeBodyLimit },
    routers: [
      docsRouter(() => openApiDocument(routes, {
        title: 'assentmark',
        version: '0.1.0',
        description: 'Evidence of assent to model Terms of Service, per-user watermark linkage, detection outcomes and signed dossiers, in a hash-chained ledger.',
      })),
      mountRoutes(routes, (t) => services.apiKeys.authenticate(t)),
    ],
    ready: async () => {
      await ctx.handle.ping();
      return true;
    },
  });
  return { app, routes, services, close: () => services.close() };
}
