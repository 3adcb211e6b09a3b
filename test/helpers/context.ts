// Test databases: each test file clones the migrated template the runner prepared, then opens
// the real service context on it (as the restricted role on a real server).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config/config.js';
import { SigningKey } from '../../src/crypto/ed25519.js';
import { writeSecretFile } from '../../src/keys/files.js';
import { openContext, type ServiceContext } from '../../src/app/context.js';
import { generateMasterKeyText } from '../../src/keys/master-key.js';
import { generateSigningIdentity, saveSigningIdentity } from '../../src/pdf/certificate.js';

export const isRealPostgres = !!process.env.DATABASE_URL;

export interface TestDb {
  config: Config;
  dir: string;
  /** Runs SQL with full owner/superuser rights: the attacker's connection. */
  superuser(query: string, params?: unknown[]): Promise<Array<Record<string, unknown>>>;
  open(overrides?: Partial<Config>): Promise<ServiceContext>;
  destroy(): Promise<void>;
}

/** A fresh database (cloned from the template) plus fresh keys, with its config. */
export async function createTestDb(overrides: Partial<Config> = {}): Promise<TestDb> {
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-test-'));
  const signingKeyFile = path.join(dir, 'keys', 'signing-key.pem');
  writeSecretFile(signingKeyFile, SigningKey.generate().toPem());
  const masterKeyFile = path.join(dir, 'keys', 'master-key.hex');
  writeSecretFile(masterKeyFile, generateMasterKeyText());
  const pdfCertFile = path.join(dir, 'keys', 'pdf-cert.pem');
  const pdfKeyFile = path.join(dir, 'keys', 'pdf-key.pem');
  await saveSigningIdentity(await generateSigningIdentity({ organization: 'assentmark test' }), pdfCertFile, pdfKeyFile);
  const base = loadConfig({ LOG_LEVEL: 'silent', ASSENTMARK_DATA_DIR: path.join(dir, 'data') });
  let config: Config = { ...base, signingKeyFile, masterKeyFile, pdfCertFile, pdfKeyFile, checkpointIntervalMs: 0, ...overrides };
  let admin: pg.Client | null = null;
  let dbName: string | null = null;
  const contexts: ServiceContext[] = [];

  if (isRealPostgres) {
    const tpl = process.env.ASSENTMARK_TEST_TEMPLATE_DB;
    if (!tpl) throw new Error('run tests through `npm test` (the runner prepares the template database)');
    dbName = `assentmark_t_${randomBytes(6).toString('hex')}`;
    admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName} TEMPLATE ${tpl}`);
    const u = new URL(process.env.DATABASE_URL!);
    u.pathname = `/${dbName}`;
    config = { ...config, databaseUrl: u.toString(), dbRole: 'assentmark_service' };
  } else {
    const tpl = process.env.ASSENTMARK_TEST_TEMPLATE_DIR;
    if (!tpl) throw new Error('run tests through `npm test` (the runner prepares the template data directory)');
    cpSync(tpl, config.dataDir, { recursive: true });
  }

  let attacker: pg.Client | null = null;
  const testDb: TestDb = {
    config,
    dir,
    async superuser(query, params = []) {
      if (isRealPostgres) {
        if (!attacker) {
          attacker = new pg.Client({ connectionString: config.databaseUrl });
          await attacker.connect();
        }
        return (await attacker.query(query, params)).rows;
      }
      // Embedded: the one in-process database; its user is the owner.
      const ctx = contexts[0];
      if (!ctx) throw new Error('open a context first');
      const r = await sql.raw<Record<string, unknown>>(params.length ? bind(query, params) : query).execute(ctx.handle.db);
      return r.rows;
    },
    async open(o = {}) {
      const ctx = await openContext({ ...config, ...o }, { timers: false });
      contexts.push(ctx);
      return ctx;
    },
    async destroy() {
      for (const c of contexts.splice(0)) await c.close().catch(() => {});
      if (attacker) await (attacker as pg.Client).end().catch(() => {});
      if (admin && dbName) {
        await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => {});
        await admin.end();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return testDb;
}

/** Inlines literal parameters for the embedded attacker path (test-only, trusted input). */
function bind(query: string, params: unknown[]): string {
  return query.replace(/\$(\d+)/g, (_, i: string) => {
    const v = params[Number(i) - 1];
    if (v === null || v === undefined) return 'NULL';
    if (Buffer.isBuffer(v)) return `'\\x${v.toString('hex')}'::bytea`;
    if (typeof v === 'number') return String(v);
    return `'${String(v).replace(/'/g, "''")}'`;
  });
}
