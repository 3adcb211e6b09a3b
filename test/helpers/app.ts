// The HTTP service under test: a fresh database, the real service context and Express app, one API
// key per role, and helpers to publish EULAs, build valid assent bodies and count written rows.
//
//   const t = useTestApp({ setup: (t) => t.publishEula() }); // created in a before hook, closed in an after hook
//   const res = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', t.idem()).send(acceptanceBody());
import { randomUUID } from 'node:crypto';
import { after, before } from 'node:test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type express from 'express';
import { sql } from 'kysely';
import { pino } from 'pino';
import request from 'supertest';
import { ROLES } from '../../src/auth/api-keys.js';
import type { Config } from '../../src/config/config.js';
import { sha256Hex } from '../../src/crypto/hash.js';
import type { Role } from '../../src/db/schema.js';
import { writeSecretFile } from '../../src/keys/files.js';
import { buildApp, type BuiltApp } from '../../src/server/build-app.js';
import type { ServiceContext } from '../../src/app/context.js';
import { generateMasterKeyText, loadKek } from '../../src/keys/master-key.js';
import type { KeyEncryptionKey } from '../../src/watermark-keys/kek.js';
import { createTestDb, isRealPostgres, type TestDb } from './context.js';
import { run, type RunResult } from './tools.js';

export { isRealPostgres };
export const ALL_ROLES: readonly Role[] = ROLES;
export const DEFAULT_SLUG = 'api-terms';
export const DEFAULT_VERSION = '1.0';
/** The compiled CLI entry point (dist/src/bin/assentmark.js). */
export const CLI_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/bin/assentmark.js');

/** The deterministic text publishEula() uses for a slug and version unless given another. */
export function eulaText(slug = DEFAULT_SLUG, version = DEFAULT_VERSION): string {
  return [
    `${slug} — Terms of Service, version ${version}`,
    '',
    '1. You may use the model API only as these terms allow.',
    '2. You must not use outputs to train a competing model.',
    '3. Outputs may carry a watermark that identifies your account.',
    '',
    'Signed text, byte for byte: “quotes”, café, 東京, emoji 🙂.',
  ].join('\n');
}

export function sha256OfText(text: string): string {
  return sha256Hex(Buffer.from(text, 'utf8'));
}

export interface PublishOptions {
  slug?: string;
  version?: string;
  title?: string;
  text?: string;
  effective_at?: string;
  major?: boolean;
  highlights?: Array<{ text: string; note: string }>;
}

/** The body of POST /v1/eulas (all fields valid). */
export function publishBody(o: PublishOptions = {}): Record<string, unknown> {
  const slug = o.slug ?? DEFAULT_SLUG;
  const version = o.version ?? DEFAULT_VERSION;
  return {
    slug,
    version,
    title: o.title ?? `API Terms ${version}`,
    text: o.text ?? eulaText(slug, version),
    // Version 1.0 takes effect on a fixed date; any other version a second ago (a later version may not
    // take effect before its publication: docs/input-rules.md).
    effective_at: o.effective_at ?? (version === DEFAULT_VERSION ? '2026-01-01T00:00:00Z' : new Date(Date.now() - 1000).toISOString()),
    major: o.major ?? true,
    ...(o.highlights ? { highlights: o.highlights } : {}),
  };
}

export type AssentBodyOverrides = Record<string, unknown>;

/**
 * A valid POST /v1/acceptances (or /v1/declines) body. shown_text_sha256 defaults to the hash of
 * eulaText(slug, version), i.e. what publishEula() published with its default text.
 */
export function acceptanceBody(overrides: AssentBodyOverrides = {}): Record<string, unknown> {
  const slug = typeof overrides.slug === 'string' ? overrides.slug : DEFAULT_SLUG;
  const version = typeof overrides.version === 'string' ? overrides.version : DEFAULT_VERSION;
  return {
    subject: 'user-1',
    slug,
    version,
    shown_text_sha256: sha256OfText(eulaText(slug, version)),
    consent_text: 'I have read and agree to the API Terms',
    button_text: 'Create account',
    page_url: 'https://example.org/signup?step=terms',
    locale: 'en-GB',
    client_time: '2026-11-29T12:00:00.000Z',
    ip: '203.0.113.7',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    auth: { method: 'password', session_id: 'sess-1234', mfa: true },
    method: 'checkbox',
    ...overrides,
  };
}

/** A valid POST /v1/withdrawals body. */
export function withdrawalBody(overrides: AssentBodyOverrides = {}): Record<string, unknown> {
  return {
    subject: 'user-1',
    slug: DEFAULT_SLUG,
    reason: 'closing my account',
    client_time: '2026-11-29T13:00:00.000Z',
    ip: '2001:db8::7',
    user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    auth: { method: 'password', session_id: 'sess-5678', mfa: false },
    method: 'settings_page',
    ...overrides,
  };
}

export interface RowCounts {
  ledger_entries: number;
  assent_records: number;
  watermark_keys: number;
  idempotency_keys: number;
  eula_versions: number;
  /** Openings of personal facts (docs/personal-data.md): written with every event that names a person. */
  personal_openings: number;
}

export interface TestAppOptions {
  /** Config overrides for the service context (e.g. a smaller body limit). */
  config?: Partial<Config>;
  /** Create one API key per role (default true). */
  keys?: boolean;
}

export class TestApp {
  /** Bearer token per role, created through the key store. */
  readonly tokens = {} as Record<Role, string>;
  /** API key id per role. */
  readonly keyIds = {} as Record<Role, string>;

  private closed = false;

  private constructor(
    readonly db: TestDb,
    public ctx: ServiceContext,
    public built: BuiltApp,
    readonly masterKeyFile: string,
    private readonly configOverrides: Partial<Config>,
  ) {}

  static async create(opts: TestAppOptions = {}): Promise<TestApp> {
    const db = await createTestDb();
    try {
      // A real server needs an explicit master key file; embedded mode would create one, but the
      // same explicit file in both modes keeps the CLI and the tests on one key.
      let masterKeyFile = db.config.masterKeyFile;
      if (!masterKeyFile) {
        masterKeyFile = path.join(db.dir, 'keys', 'test-app-master-key.hex');
        writeSecretFile(masterKeyFile, generateMasterKeyText());
      }
      const overrides = { ...opts.config, masterKeyFile };
      const ctx = await db.open(overrides);
      const built = await buildApp(ctx, pino({ level: 'silent' }));
      const t = new TestApp(db, ctx, built, masterKeyFile, overrides);
      if (opts.keys !== false) {
        for (const role of ALL_ROLES) {
          const { token, info } = await built.services.apiKeys.create(role, `test ${role}`);
          t.tokens[role] = token;
          t.keyIds[role] = info.id;
        }
      }
      return t;
    } catch (e) {
      await db.destroy();
      throw e;
    }
  }

  get app(): express.Express {
    return this.built.app;
  }

  get config(): Config {
    return this.ctx.config;
  }

  /** The key-encryption key the service wraps watermark keys with. */
  kek(): KeyEncryptionKey {
    return loadKek(this.ctx.config);
  }

  /** A fresh Idempotency-Key. */
  idem(): string {
    return randomUUID();
  }

  /** A supertest request, authenticated as `role` (or with a literal token, or none for null). */
  req(method: 'get' | 'post' | 'delete', url: string, as: Role | { token: string } | null = null): request.Test {
    const r = request(this.app)[method](url);
    if (as === null) return r;
    const token = typeof as === 'string' ? this.tokens[as] : as.token;
    return r.set('Authorization', `Bearer ${token}`);
  }

  get(url: string, as: Role | { token: string } | null = null): request.Test {
    return this.req('get', url, as);
  }

  post(url: string, as: Role | { token: string } | null = null): request.Test {
    return this.req('post', url, as);
  }

  /** Publishes a EULA version as admin; throws unless the answer is 200 or 201. */
  async publishEula(o: PublishOptions = {}): Promise<{ body: Record<string, any>; text: string; sha256: string; status: number }> {
    const b = publishBody(o);
    const res = await this.post('/v1/eulas', 'admin').send(b);
    if (res.status !== 201 && res.status !== 200) throw new Error(`publishing ${String(b.slug)} ${String(b.version)} failed: ${res.status} ${res.text}`);
    return { body: res.body as Record<string, any>, text: b.text as string, sha256: sha256OfText(b.text as string), status: res.status };
  }

  /** POST /v1/acceptances as signup with a fresh (or given) Idempotency-Key. */
  accept(overrides: AssentBodyOverrides = {}, idemKey: string = this.idem()): request.Test {
    return this.post('/v1/acceptances', 'signup').set('Idempotency-Key', idemKey).send(acceptanceBody(overrides));
  }

  /** Row counts of the evidence tables, for "nothing was written" assertions. */
  async countRows(): Promise<RowCounts> {
    const r = await sql<Record<keyof RowCounts, string | number>>`
      SELECT (SELECT count(*) FROM ledger_entries) AS ledger_entries,
             (SELECT count(*) FROM assent_records) AS assent_records,
             (SELECT count(*) FROM watermark_keys) AS watermark_keys,
             (SELECT count(*) FROM idempotency_keys) AS idempotency_keys,
             (SELECT count(*) FROM eula_versions) AS eula_versions,
             (SELECT count(*) FROM personal_openings) AS personal_openings`.execute(this.ctx.handle.db);
    const row = r.rows[0]!;
    return {
      ledger_entries: Number(row.ledger_entries),
      assent_records: Number(row.assent_records),
      watermark_keys: Number(row.watermark_keys),
      idempotency_keys: Number(row.idempotency_keys),
      eula_versions: Number(row.eula_versions),
      personal_openings: Number(row.personal_openings),
    };
  }

  /** Environment for running the CLI (`node CLI_MAIN ...`) against this database. */
  cliEnv(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ASSENTMARK_DATA_DIR: this.ctx.config.dataDir,
      ASSENTMARK_SIGNING_KEY_FILE: this.ctx.config.signingKeyFile,
      ASSENTMARK_MASTER_KEY_FILE: this.masterKeyFile,
      ASSENTMARK_ORIGIN: this.ctx.config.origin,
      LOG_LEVEL: 'silent',
    };
    if (this.ctx.config.pdfCertFile) env.ASSENTMARK_PDF_CERT_FILE = this.ctx.config.pdfCertFile;
    if (this.ctx.config.pdfKeyFile) env.ASSENTMARK_PDF_KEY_FILE = this.ctx.config.pdfKeyFile;
    if (this.ctx.config.databaseUrl) env.DATABASE_URL = this.ctx.config.databaseUrl;
    else delete env.DATABASE_URL;
    return env;
  }

  /**
   * Runs the CLI against this database. Embedded PostgreSQL belongs to one process at a time, so
   * the service context is closed around the command and reopened (with a fresh app) afterwards.
   */
  async cli(args: readonly string[]): Promise<RunResult> {
    const embedded = !this.ctx.config.databaseUrl;
    if (embedded) await this.ctx.close();
    try {
      return run(process.execPath, [CLI_MAIN, ...args], { env: this.cliEnv() });
    } finally {
      if (embedded) await this.reopen(false);
    }
  }

  /**
   * Reopens the service context and rebuilds the app (fresh caches). The old app's services (its
   * dossier render workers) are closed first; `closeFirst` false when the context already is.
   */
  async reopen(closeFirst = true): Promise<void> {
    await this.built.close();
    if (closeFirst) await this.ctx.close();
    this.ctx = await this.db.open(this.configOverrides);
    this.built = await buildApp(this.ctx, pino({ level: 'silent' }));
  }

  /** Serves the app on an ephemeral port of 127.0.0.1. */
  async listen(): Promise<{ server: Server; url: string; close(): Promise<void> }> {
    const server = this.app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('no port');
    return {
      server,
      url: `http://127.0.0.1:${addr.port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    };
  }

  /** Closes the app's services (the dossier render workers), then destroys the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.built.close();
    } finally {
      await this.db.destroy();
    }
  }
}

export function createTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  return TestApp.create(opts);
}

export interface UseTestAppOptions extends TestAppOptions {
  /**
   * Runs in useTestApp's own before hook once the app exists: publishing EULAs, building evidence.
   * Prefer it to a separate `before` that uses the app: at the top level of a file, Node 20 starts
   * all `before` hooks at once, without waiting for the earlier ones (in a describe they run in
   * order).
   */
  setup?: (t: TestApp) => Promise<void> | void;
}

/**
 * A test app for the current suite (or file, at top level): created in a `before` hook, closed
 * (render workers, then the database) in an `after` hook, both registered here. Returns a handle
 * that stands for the app once it exists; use it in hooks and tests, not while tests are being
 * defined (for that, see openTestApp). Options that depend on an earlier hook (a server's URL)
 * can be given as a function, called when the app is created.
 *
 *   const t = useTestApp({ setup: (t) => t.publishEula() });
 *   test('…', async () => { await t.accept(); });
 */
export function useTestApp(opts: UseTestAppOptions | (() => UseTestAppOptions) = {}): TestApp {
  let current: TestApp | null = null;
  before(async () => {
    const { setup, ...appOpts } = typeof opts === 'function' ? opts() : opts;
    current = await createTestApp(appOpts);
    if (setup) await setup(current);
  });
  after(async () => {
    const t = current;
    current = null;
    await t?.close();
  });
  const live = (): TestApp => {
    if (!current) throw new Error('useTestApp(): the test app exists only between its before and after hooks (used while tests were being defined, or after the suite ended?)');
    return current;
  };
  // Every property read, write and `in` test goes to the live app (methods run with the handle as
  // `this`, which forwards to the same app). `then` and symbols (inspection, coercion) do not
  // throw before the app exists: the handle is not a thenable and can be printed.
  return new Proxy({} as TestApp, {
    get: (_, prop) => (current === null && (prop === 'then' || typeof prop === 'symbol') ? undefined : Reflect.get(live(), prop)),
    set: (_, prop, value) => Reflect.set(live(), prop, value),
    has: (_, prop) => Reflect.has(live(), prop),
  });
}

/**
 * A test app created now, for files that define their tests from it (e.g. one test per route of
 * its route table), closed in an `after` hook of the current suite or file:
 * `const t = await openTestApp();` at the top level.
 */
export async function openTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const t = await createTestApp(opts);
  after(() => t.close());
  return t;
}

/** Asserts nothing about the status; checks a response is RFC 9457 problem+json and returns its body. */
export function problemOf(res: { status: number; headers: Record<string, string | undefined>; text: string }): { type: string; title: string; status: number; detail: string; code: string; errors?: Array<{ field: string; message: string }>; [k: string]: unknown } {
  const ct = res.headers['content-type'] ?? '';
  if (!ct.startsWith('application/problem+json')) throw new Error(`expected application/problem+json, got "${ct}" (${res.status}): ${res.text.slice(0, 300)}`);
  const body = JSON.parse(res.text) as ReturnType<typeof problemOf>;
  if (body.status !== res.status) throw new Error(`problem status ${body.status} differs from HTTP status ${res.status}`);
  for (const f of ['type', 'title', 'detail', 'code'] as const) {
    if (typeof body[f] !== 'string' || body[f] === '') throw new Error(`problem lacks "${f}": ${res.text.slice(0, 300)}`);
  }
  return body;
}
