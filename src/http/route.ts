// Declarative routes: one table drives Express registration, authentication, role checks,
// zod validation and the OpenAPI 3.1 document, so the three cannot drift apart.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Principal } from '../auth/api-keys.js';
import type { Role } from '../db/schema.js';
import { AppError, ValidationError } from '../problems/app-error.js';
import { validate } from '../validation/validate.js';

export type Access = 'public' | readonly Role[];

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | null;
  /**
   * The Idempotency-Key header, checked, on idempotent routes; null when the route is not, or
   * when it is `'optional'` and none was sent.
   */
  idempotencyKey: string | null;
  req: Request;
}

export interface RouteResult {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Raw bytes (e.g. a PDF) instead of JSON. */
  raw?: { contentType: string; data: Buffer; filename?: string };
  /** A body streamed as it is read (with the client's backpressure), instead of JSON. */
  stream?: { contentType: string; body: AsyncIterable<string | Buffer>; filename?: string };
}

export interface RouteSpec<P extends z.ZodType = z.ZodType, Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'delete';
  path: string; // Express style: /v1/things/:id
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  /**
   * A bearer token this route also accepts (besides API keys of the roles in `access`), checked
   * by this function in constant time: the metrics scrape token. The handler then has no principal.
   */
  alsoAccepts?: (token: string) => boolean;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * A faster validator for the body, used instead of zod's parse of `body` (which stays the
   * documented schema). It must accept exactly what `body` accepts and throw the same errors.
   */
  parseBody?: (value: unknown) => z.infer<B>;
  /**
   * The route takes an Idempotency-Key header (checked here, documented in OpenAPI): `true`
   * requires it, `'optional'` honours it when sent (docs/idempotency.md says which route is which).
   */
  idempotent?: boolean | 'optional';
  /** The body may be large (sample lists): parsed under the large-body limit. */
  largeBody?: boolean;
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
  handler: (input: RouteInput<z.infer<P>, z.infer<Q>, z.infer<B>>) => Promise<RouteResult>;
}

// Erases the generic parameters so specs of different shapes fit one list.
export type AnyRoute = RouteSpec<any, any, any>;

export function defineRoute<P extends z.ZodType = z.ZodUndefined, Q extends z.ZodType = z.ZodUndefined, B extends z.ZodType = z.ZodUndefined>(spec: RouteSpec<P, Q, B>): AnyRoute {
  return spec as AnyRoute;
}

export type Authenticate = (token: string) => Promise<Principal | null>;

/** The console's session cookie (http/console-session.ts), accepted besides bearer keys on the routes it names. */
export interface SessionAuth {
  accepts(spec: AnyRoute): boolean;
  /**
   * The principal of the request's session cookie, or null when it carries none. Throws when the
   * session is not live, or when `changes` (a state-changing method) and its CSRF header is wrong.
   */
  principal(req: Request, changes: boolean): Promise<Principal | null>;
}

export function mountRoutes(routes: readonly AnyRoute[], authenticate: Authenticate, sessions?: SessionAuth): Router {
  const router = Router();
  for (const spec of routes) {
    const session = sessions?.accepts(spec) ? sessions : undefined;
    router[spec.method](spec.path, async (req: Request, res: Response) => {
      const principal = await authorise(req, spec, authenticate, session);
      const params = spec.params ? validate(spec.params, req.params, 'path') : undefined;
      const query = spec.query ? validate(spec.query, req.query ?? {}, 'query') : noQuery(req);
      let body: unknown;
      if (spec.body) {
        if (!req.is('application/json') && !req.is('application/*+json')) {
          throw new AppError('unsupported_media_type', 'Send the request body as JSON with Content-Type: application/json.');
        }
        if (req.body === undefined) throw new AppError('malformed_json', 'The request body is empty; send a JSON object.');
        body = spec.parseBody ? spec.parseBody(req.body) : validate(spec.body, req.body, 'body');
      }
      const sent = req.get('idempotency-key');
      const idempotencyKey = spec.idempotent === true || (spec.idempotent === 'optional' && sent !== undefined) ? idempotencyKeyOf(sent) : null;
      const out = await spec.handler({ params, query, body, principal, idempotencyKey, req });
      if (out.headers) res.set(out.headers);
      res.status(out.status ?? 200);
      if (out.raw) {
        // attachment() sets the type from the file name's extension (".sig" is OpenPGP's): the route's type wins.
        if (out.raw.filename) res.attachment(out.raw.filename);
        res.type(out.raw.contentType);
        res.send(out.raw.data);
      } else if (out.stream) {
        await sendStream(res, out.stream);
      } else if (out.body === undefined) res.end();
      else res.json(out.body);
    });
  }
  return router;
}

/** A route without query parameters refuses any: a misspelt parameter must not be silently ignored. */
function noQuery(req: Request): undefined {
  const names = Object.keys(req.query ?? {});
  if (names.length) throw new ValidationError(names.map((field) => ({ field, message: 'is not a parameter of this route' })), 'query');
  return undefined;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function idempotencyKeyOf(k: string | undefined): string {
  if (k === undefined) throw new AppError('idempotency_key_missing', 'send an Idempotency-Key header (a unique value per logical request, e.g. a UUID) so retries cannot record twice');
  if (!IDEMPOTENCY_KEY.test(k)) throw new AppError('idempotency_key_invalid', 'the Idempotency-Key header must be 1-255 printable ASCII characters without spaces');
  return k;
}

/** Paths of the routes that take large bodies, for the body parser. */
export function largeBodyPaths(routes: readonly AnyRoute[]): string[] {
  const large = routes.filter((r) => r.largeBody);
  // The body parser matches exact paths, so a large-body route has no path parameters.
  for (const r of large) if (r.path.includes(':')) throw new Error(`large-body route ${r.path} must not have path parameters`);
  return large.map((r) => r.path);
}

/**
 * The first chunk is read before anything is sent, so a failure to start is still a problem
 * response; a failure after that ends the connection (the error handler destroys it).
 */
async function sendStream(res: Response, s: NonNullable<RouteResult['stream']>): Promise<void> {
  const it = s.body[Symbol.asyncIterator]();
  const first = await it.next();
  // attachment() sets a type from the file name's extension: the given type goes after it.
  if (s.filename) res.attachment(s.filename);
  res.type(s.contentType);
  async function* rest(): AsyncGenerator<string | Buffer> {
    try {
      if (!first.done) yield first.value;
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
    } finally {
      await it.return?.();
    }
  }
  await pipeline(Readable.from(rest(), { objectMode: false, highWaterMark: 64 * 1024 }), res);
}

async function authorise(req: Request, spec: AnyRoute, authenticate: Authenticate, session?: SessionAuth): Promise<Principal | null> {
  const { access, alsoAccepts } = spec;
  if (access === 'public') return null;
  const h = req.get('authorization');
  // A bearer key, when sent, decides; the session cookie only stands in for a missing one.
  if (h === undefined && session) {
    const p = await session.principal(req, spec.method !== 'get');
    if (p) return permitted(p, access);
  }
  const m = h ? /^Bearer +([^\s]+)\s*$/i.exec(h) : null;
  if (!m) {
    throw new AppError('unauthenticated', 'Send an API key as "Authorization: Bearer <token>" (create one with `assentmark apikey create`).');
  }
  if (alsoAccepts?.(m[1]!)) return null;
  const principal = await authenticate(m[1]!);
  if (!principal) throw new AppError('invalid_token', 'The API key is unknown or revoked.');
  return permitted(principal, access);
}

function permitted(principal: Principal, access: readonly Role[]): Principal {
  if (!access.includes(principal.role)) {
    throw new AppError('forbidden', `This operation needs one of the roles: ${access.join(', ')}; your key has role "${principal.role}".`);
  }
  return principal;
}

// ---- OpenAPI 3.1 ----

export function openApiDocument(routes: readonly AnyRoute[], info: { title: string; version: string; description: string }, sessions?: Pick<SessionAuth, 'accepts'>): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const oaPath = r.path.replace(/[:*]([A-Za-z_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const js = toJsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
      }
    }
    if (r.idempotent) {
      const required = r.idempotent === true;
      parameters.push({
        name: 'Idempotency-Key', in: 'header', required,
        description: `${required ? 'Required. ' : 'Optional, honoured when sent: without it every request records anew. '}Unique per logical request (1-255 printable ASCII characters); a retry with the same key and body (also many at once) returns the original response with \`Idempotent-Replayed: true\`, the same key with another body is refused (422 \`idempotency_key_reused\`). See docs/idempotency.md.`,
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, resp] of Object.entries(r.responses)) {
      const ct = resp.contentType ?? (Number(status) >= 400 ? 'application/problem+json' : 'application/json');
      responses[status] = {
        description: resp.description,
        ...(resp.schema || ct !== 'application/json' ? { content: { [ct]: { schema: resp.schema ? toJsonSchema(resp.schema, 'output') : Number(status) >= 400 ? { $ref: '#/components/schemas/Problem' } : { type: 'string', format: 'binary' } } } } : {}),
      };
    }
    if (r.access !== 'public') {
      responses['401'] ??= { description: 'Missing, unknown or revoked API key', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
      responses['403'] ??= { description: 'The key\'s role may not do this', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
    if (r.idempotent) {
      responses['422'] ??= { description: 'The Idempotency-Key was used with another request body (`idempotency_key_reused`)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
    if (r.body || r.params || r.query) {
      responses['400'] ??= { description: 'Invalid input (each bad field is named in `errors`)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
    }
    (paths[oaPath] ??= {})[r.method] = {
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      operationId: operationId(r),
      security: r.access === 'public' ? [] : sessions?.accepts(r) ? [{ bearer: [] }, { consoleSession: [] }] : [{ bearer: [] }],
      'x-roles': r.access === 'public' ? ['public'] : r.access,
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: toJsonSchema(r.body) } } } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'API key created with `assentmark apikey create`' },
        ...(sessions ? { consoleSession: { type: 'apiKey', in: 'cookie', name: 'am_console', description: 'The investigator console\'s session cookie (POST /console/session with an investigator or admin key; docs/console.md). State-changing requests also need the session\'s X-CSRF-Token header.' } } : {}),
      },
      schemas: {
        Problem: {
          type: 'object',
          description: 'RFC 9457 problem details',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            code: { type: 'string' },
            errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
          },
        },
      },
    },
  };
}

function operationId(r: AnyRoute): string {
  const words = r.path.split('/').filter((s) => s && !s.startsWith(':') && !s.startsWith('*') && s !== 'v1' && !s.startsWith('.'));
  const camel = (w: string) => w.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : '')).replace(/^./, (c) => c.toUpperCase());
  // Name the path parameters ("BySlugAndVersion"): operation ids must be unique, and
  // /eulas/:slug/versions and /eulas/:slug/versions/:version differ only in them.
  const params = [...r.path.matchAll(/[:*]([A-Za-z_]+)/g)].map((m) => camel(m[1]!));
  return r.method + words.map(camel).join('') + (params.length ? `By${params.join('And')}` : '');
}

function toJsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete js.$schema;
  return js;
}
