// createApp(deps) builds the Express app and never listens: start() in server/ owns that.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { bodyLimit, jsonBodies } from './json-body.js';
import type { Logger } from 'pino';
import { isConnectionError } from '../db/errors.js';
import { PROBLEMS, type ProblemCode } from '../problems/registry.js';
import { AppError, sendAppError, sendProblem } from './problem.js';

export interface AppDeps {
  logger: Logger;
  bodyLimit: string;
  /** Routes that take large bodies (sample lists) and their limit. */
  largeBodies?: { paths: string[]; limit: string };
  /** Route modules, mounted in order. */
  routers: Router[];
  ready: () => Promise<boolean>;
  /**
   * Express's `trust proxy` (config/trust-proxy.ts): the proxies whose X-Forwarded-For and
   * X-Forwarded-Proto decide req.ip and req.secure. Off (false) by default: those headers are ignored.
   */
  trustProxy?: false | number | string;
  /** Told of every answered request (metrics): the route template that handled it, never the URL. */
  observeRequest?: (o: { method: string; route: string | null; status: number; seconds: number }) => void;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.set('trust proxy', deps.trustProxy ?? false);

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.observeRequest?.({ method: req.method, route: routeTemplate(req), status: res.statusCode, seconds: ms / 1000 });
      // Paths only: query strings and headers (tokens) stay out of logs.
      if (res.statusCode >= 500) deps.logger.error({ method: req.method, path: logPath(req), status: res.statusCode, ms }, 'request failed');
      else deps.logger.debug({ method: req.method, path: logPath(req), status: res.statusCode, ms }, 'request');
    });
    next();
  });

  // One reader for every JSON body (json-body.ts); large-body routes by exact path.
  const normal = bodyLimit(deps.bodyLimit);
  const large = deps.largeBodies ? bodyLimit(deps.largeBodies.limit) : normal;
  const largePaths = new Set(deps.largeBodies?.paths ?? []);
  app.use(jsonBodies((path) => (largePaths.has(path) ? large : normal)));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const ok = await deps.ready().catch(() => false);
    if (ok) res.json({ status: 'ready' });
    else sendProblem(res, 'not_ready', 'The database is not reachable or migrations have not run; retry shortly.');
  });

  for (const r of deps.routers) app.use(r);

  app.use((req, res) => {
    sendProblem(res, 'not_found', `No route for ${req.method} ${req.path}. See /openapi.json for the API.`);
  });

  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      // A streamed body (the ledger export) failed part-way: the client sees a cut connection, the
      // log says why. A client that went away is not the server's failure.
      if ((err as { code?: unknown } | null)?.code !== 'ERR_STREAM_PREMATURE_CLOSE') deps.logger.error({ err: scrub(err), path: logPath(req) }, 'response failed after it started');
      res.destroy();
      return;
    }
    if (err instanceof AppError) {
      // A registered server-side problem (a ledger fault, a failed render) is still the server's
      // failure: logged like any other, answered with its registered detail.
      if (PROBLEMS[err.code as ProblemCode].status >= 500) deps.logger.error({ err: scrub(err), code: err.code, path: logPath(req) }, 'request failed');
      sendAppError(res, err);
      return;
    }
    // Express's own errors (a path that does not decode) carry a 4xx status.
    const e = err as { status?: number; statusCode?: number };
    if (isConnectionError(err)) {
      // An outage is the service's, and passes: logged, answered with when to try again. A
      // request that failed here was not acknowledged; its retry with the same Idempotency-Key
      // finds out whether it committed.
      deps.logger.error({ err: scrub(err), path: logPath(req) }, 'database unavailable');
      res.set('Retry-After', String(DATABASE_RETRY_AFTER_S));
      sendProblem(res, 'database_unavailable', `The service is temporarily unable to reach its database; nothing is confirmed by this answer. Retry in ${DATABASE_RETRY_AFTER_S} seconds (with the same Idempotency-Key).`);
      return;
    }
    const status = e.status ?? e.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      sendProblem(res, 'bad_request', 'The request could not be read.');
      return;
    }
    deps.logger.error({ err: scrub(err), path: logPath(req) }, 'unhandled error');
    sendProblem(res, 'internal_error', 'The server failed to handle this request; it has been logged. Nothing was recorded.');
  });

  return app;
}

/** The Express path pattern that matched (`/v1/acceptances/:id`), or null when no route did. */
/**
 * The path as logged: the route template when a route matched (so a capability in the path, such
 * as the widget's acceptance-session token, never reaches a log), else the path with anything
 * shaped like a token replaced.
 */
function logPath(req: Request): string {
  return routeTemplate(req) ?? req.path.replace(/am[a-z]?_[A-Za-z0-9_-]{16,}/g, ':redacted');
}

function routeTemplate(req: Request): string | null {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? req.baseUrl + path : null;
}

/** Seconds a client is asked to wait after database_unavailable. */
const DATABASE_RETRY_AFTER_S = 2;

/** Logs an error's class, message and stack only: never attached objects that might hold secrets. */
function scrub(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { value: typeof err };
}
