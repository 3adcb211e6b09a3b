// Configuration is read once from the environment and validated; paths to secrets, never secrets.
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '../problems/app-error.js';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';

export type { TrustProxy } from './trust-proxy.js';

const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const EnvSchema = z.object({
  DATABASE_URL: z.string().trim().min(1).optional(),
  ASSENTMARK_DATA_DIR: z.string().min(1).default('./data'),
  PORT: intFrom(8080).pipe(z.number().max(65535)),
  HOST: z.string().default('0.0.0.0'),
  // Which reverse proxies may tell the client's address and scheme (trust-proxy.ts); unset: none.
  ASSENTMARK_TRUST_PROXY: z.string().optional().transform((v, ctx) => {
    const r = parseTrustProxy(v);
    if ('error' in r) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    return r.value;
  }),
  // The log's identity, also its checkpoints' note key name: C2SP signed notes forbid spaces and "+".
  ASSENTMARK_ORIGIN: z.string().min(1).max(200).regex(/^[\x21-\x2a\x2c-\x7e]+$/, 'printable ASCII without spaces or "+" (e.g. example.com/ledger)').default('assentmark.local/ledger'),
  ASSENTMARK_SIGNING_KEY_FILE: z.string().min(1).optional(),
  ASSENTMARK_MASTER_KEY_FILE: z.string().min(1).optional(),
  ASSENTMARK_PDF_CERT_FILE: z.string().min(1).optional(),
  ASSENTMARK_PDF_KEY_FILE: z.string().min(1).optional(),
  ASSENTMARK_DB_ROLE: z.string().default('assentmark_service'),
  ASSENTMARK_DB_CONNECT_TIMEOUT_MS: intFrom(5_000, 1),
  ASSENTMARK_CHECKPOINT_EVERY: intFrom(10_000),
  ASSENTMARK_CHECKPOINT_INTERVAL_MS: intFrom(1_000),
  ASSENTMARK_FULL_VERIFY_INTERVAL_MS: intFrom(3_600_000),
  ASSENTMARK_WATERMARK_RATE: z.coerce.number().gt(0).max(1).default(0.005),
  ASSENTMARK_BODY_LIMIT: z.string().default('2mb'),
  ASSENTMARK_LARGE_BODY_LIMIT: z.string().default('128mb'),
  ASSENTMARK_ORGANISATION: z.string().max(200).default(''),
  ASSENTMARK_CERTIFIER_NAME: z.string().default(''),
  ASSENTMARK_CERTIFIER_TITLE: z.string().default(''),
  ASSENTMARK_JURISDICTION: z.string().max(200).default(''),
  // Where the service's keys.json is published: the dossier tells counsel to fetch the key from there.
  ASSENTMARK_KEYS_URL: z.union([z.literal(''), z.url({ protocol: /^https?$/, message: 'must be the http(s) URL where /.well-known/assentmark/keys.json is published' })]).default(''),
  ASSENTMARK_ORGANISATION_LOCALE: z.string().regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 language tag such as en-US or de-DE').default('en-US'),
  ASSENTMARK_PAPER_SIZE: z.enum(['letter', 'a4', 'LETTER', 'A4']).optional(),
  ASSENTMARK_TSA_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL of an RFC 3161 time-stamping authority' }).optional(),
  ASSENTMARK_TSA_CA_FILE: z.string().min(1).optional(),
  ASSENTMARK_TSA_INTERVAL_MS: intFrom(3_600_000),
  // Webhooks: delivery worker timing, retry schedule, and whether private addresses may receive them.
  ASSENTMARK_WEBHOOK_ALLOW_PRIVATE: z.enum(['true', 'false', '1', '0']).default('false'),
  ASSENTMARK_WEBHOOK_POLL_MS: intFrom(1_000, 10),
  ASSENTMARK_WEBHOOK_BATCH: intFrom(20, 1).pipe(z.number().max(500)),
  ASSENTMARK_WEBHOOK_TIMEOUT_MS: intFrom(10_000, 100),
  ASSENTMARK_WEBHOOK_BASE_DELAY_MS: intFrom(5_000, 1),
  ASSENTMARK_WEBHOOK_MAX_DELAY_MS: intFrom(21_600_000, 1),
  ASSENTMARK_WEBHOOK_MAX_ATTEMPTS: intFrom(15, 1),
  ASSENTMARK_WEBHOOK_MAX_AGE_MS: intFrom(259_200_000, 1),
  ASSENTMARK_WEBHOOK_RELOAD_MS: intFrom(5_000),
  ASSENTMARK_METRICS_TOKEN_FILE: z.string().min(1).optional(),
  // Personal data (docs/personal-data.md): the pseudonym key (default: derived from the master key) and
  // the retention limit of openings in days (off when unset).
  ASSENTMARK_PSEUDONYM_KEY_FILE: z.string().min(1).optional(),
  ASSENTMARK_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type PaperSize = 'LETTER' | 'A4';

/** Regions whose courts and offices use US Letter; everywhere else uses A4. */
const LETTER_REGIONS = new Set(['US', 'CA', 'MX', 'PH', 'CL', 'CO', 'VE', 'GT', 'CR', 'PA', 'DO', 'PR', 'SV', 'NI', 'BZ']);

/** The paper of a locale: US Letter for en-US (and the other Letter regions), A4 otherwise. */
export function paperSizeFor(locale: string): PaperSize {
  const region = locale.split('-').slice(1).find((p) => /^[A-Za-z]{2}$/.test(p));
  return region && LETTER_REGIONS.has(region.toUpperCase()) ? 'LETTER' : 'A4';
}

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  port: number;
  host: string;
  /** Express's `trust proxy`: false, or the proxies whose X-Forwarded-For/-Proto are believed. */
  trustProxy: TrustProxy;
  origin: string;
  signingKeyFile: string | undefined;
  masterKeyFile: string | undefined;
  pdfCertFile: string | undefined;
  pdfKeyFile: string | undefined;
  dbRole: string | undefined;
  /** How long a query waits for a database connection before it fails as database_unavailable. */
  dbConnectTimeoutMs: number;
  checkpointEvery: number;
  checkpointIntervalMs: number;
  fullVerifyIntervalMs: number;
  watermarkRate: number;
  bodyLimit: string;
  largeBodyLimit: string;
  organisation: string;
  certifierName: string;
  certifierTitle: string;
  /** The laws the certification is declared under (e.g. "the State of California"). */
  jurisdiction: string;
  /** URL of the published keys.json (the independent source of the signing key). */
  keysUrl: string;
  /** The organisation's locale (BCP 47); it picks the default paper size. */
  organisationLocale: string;
  paperSize: PaperSize;
  /** RFC 3161 time-stamping authority; undefined: no outside timestamps. */
  tsaUrl: string | undefined;
  /** PEM certificates a timestamp token must chain to. */
  tsaCaFile: string | undefined;
  tsaIntervalMs: number;
  webhooks: WebhookConfig;
  /** A file with the bearer token that may scrape /metrics (besides admin keys). */
  metricsTokenFile: string | undefined;
  /** ASSENTMARK_PSEUDONYM_KEY_FILE; unset: the pseudonym key is derived from the master key. */
  pseudonymKeyFile: string | undefined;
  /** ASSENTMARK_RETENTION_DAYS: openings older than this are erased unless held; unset: kept. */
  retentionDays: number | undefined;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
}

export interface WebhookConfig {
  /** Deliver to loopback, private and link-local addresses too (a receiver inside your own network). */
  allowPrivate: boolean;
  pollMs: number;
  batch: number;
  timeoutMs: number;
  /** Retry n waits baseDelayMs·2^(n-1) (plus up to half again of jitter), at most maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
  maxAgeMs: number;
  /** How often a process reloads the subscriptions (to see changes made by another process). */
  reloadMs: number;
}

export class ConfigError extends AppError<'config_invalid'> {
  constructor(detail: string) {
    super('config_invalid', detail);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.ASSENTMARK_DATA_DIR),
    port: e.PORT,
    host: e.HOST,
    trustProxy: e.ASSENTMARK_TRUST_PROXY,
    origin: e.ASSENTMARK_ORIGIN,
    signingKeyFile: e.ASSENTMARK_SIGNING_KEY_FILE,
    masterKeyFile: e.ASSENTMARK_MASTER_KEY_FILE,
    pdfCertFile: e.ASSENTMARK_PDF_CERT_FILE,
    pdfKeyFile: e.ASSENTMARK_PDF_KEY_FILE,
    dbRole: e.DATABASE_URL && e.ASSENTMARK_DB_ROLE ? e.ASSENTMARK_DB_ROLE : undefined,
    dbConnectTimeoutMs: e.ASSENTMARK_DB_CONNECT_TIMEOUT_MS,
    checkpointEvery: e.ASSENTMARK_CHECKPOINT_EVERY,
    checkpointIntervalMs: e.ASSENTMARK_CHECKPOINT_INTERVAL_MS,
    fullVerifyIntervalMs: e.ASSENTMARK_FULL_VERIFY_INTERVAL_MS,
    watermarkRate: e.ASSENTMARK_WATERMARK_RATE,
    bodyLimit: e.ASSENTMARK_BODY_LIMIT,
    largeBodyLimit: e.ASSENTMARK_LARGE_BODY_LIMIT,
    organisation: e.ASSENTMARK_ORGANISATION,
    certifierName: e.ASSENTMARK_CERTIFIER_NAME,
    certifierTitle: e.ASSENTMARK_CERTIFIER_TITLE,
    jurisdiction: e.ASSENTMARK_JURISDICTION,
    keysUrl: e.ASSENTMARK_KEYS_URL,
    organisationLocale: e.ASSENTMARK_ORGANISATION_LOCALE,
    paperSize: e.ASSENTMARK_PAPER_SIZE ? (e.ASSENTMARK_PAPER_SIZE.toUpperCase() as PaperSize) : paperSizeFor(e.ASSENTMARK_ORGANISATION_LOCALE),
    tsaUrl: e.ASSENTMARK_TSA_URL,
    tsaCaFile: e.ASSENTMARK_TSA_CA_FILE,
    tsaIntervalMs: e.ASSENTMARK_TSA_INTERVAL_MS,
    webhooks: {
      allowPrivate: e.ASSENTMARK_WEBHOOK_ALLOW_PRIVATE === 'true' || e.ASSENTMARK_WEBHOOK_ALLOW_PRIVATE === '1',
      pollMs: e.ASSENTMARK_WEBHOOK_POLL_MS,
      batch: e.ASSENTMARK_WEBHOOK_BATCH,
      timeoutMs: e.ASSENTMARK_WEBHOOK_TIMEOUT_MS,
      baseDelayMs: e.ASSENTMARK_WEBHOOK_BASE_DELAY_MS,
      maxDelayMs: e.ASSENTMARK_WEBHOOK_MAX_DELAY_MS,
      maxAttempts: e.ASSENTMARK_WEBHOOK_MAX_ATTEMPTS,
      maxAgeMs: e.ASSENTMARK_WEBHOOK_MAX_AGE_MS,
      reloadMs: e.ASSENTMARK_WEBHOOK_RELOAD_MS,
    },
    metricsTokenFile: e.ASSENTMARK_METRICS_TOKEN_FILE,
    pseudonymKeyFile: e.ASSENTMARK_PSEUDONYM_KEY_FILE,
    retentionDays: e.ASSENTMARK_RETENTION_DAYS,
    logLevel: e.LOG_LEVEL,
  };
}
