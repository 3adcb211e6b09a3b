// The domain services of one process, wired from its context. Used by the HTTP server and the CLI.
import { readFileSync } from 'node:fs';
import { AcceptanceSessionService } from '../acceptance-sessions/service.js';
import { ApiKeyStore } from '../auth/api-keys.js';
import { ConsoleSessions } from '../auth/console-sessions.js';
import { AssentService } from '../assent/service.js';
import type { EvidenceSources } from '../dossier/gather.js';
import { DossierService } from '../dossier/service.js';
import { RenderPool } from '../dossier/render-pool.js';
import { EulaService } from '../eula/service.js';
import { IdempotencyService } from '../idempotency/service.js';
import { DecisionService } from '../gateway/decisions.js';
import { SubjectKeyCache } from '../gateway/key-cache.js';
import { loadKek } from '../keys/master-key.js';
import { loadPseudonymKey } from '../keys/pseudonym-key.js';
import { Pseudonyms } from '../privacy/pseudonyms.js';
import { LlmWatermarkService } from '../llm-watermark/service.js';
import { loadPdfIdentity } from '../keys/pdf-identity.js';
import type { SigningIdentity } from '../pdf/certificate.js';
import { httpPost } from '../timestamp/http-post.js';
import { TimestampService } from '../timestamp/service.js';
import { VerificationService } from '../verification/service.js';
import { rateToThreshold } from '../watermark/decide.js';
import { WatermarkKeyService } from '../watermark-keys/service.js';
import { webhookPost } from '../webhooks/delivery.js';
import { WebhookService } from '../webhooks/service.js';
import { DeliveryWorker } from '../webhooks/worker.js';
import type { ServiceContext } from './context.js';

export interface Services {
  apiKeys: ApiKeyStore;
  /** Sign-ins of the investigator console (/console). */
  consoleSessions: ConsoleSessions;
  eulas: EulaService;
  assent: AssentService;
  watermarkKeys: WatermarkKeyService;
  keyCache: SubjectKeyCache;
  decisions: DecisionService;
  verifications: VerificationService;
  dossiers: DossierService;
  timestamps: TimestampService;
  webhooks: WebhookService;
  /** Delivers the webhook outbox; started by the server process (start()), stopped by close(). */
  webhookDelivery: DeliveryWorker;
  /** Dossier renders waiting for a worker (0 before the first render). */
  renderQueueDepth(): number;
  llmWatermark: LlmWatermarkService;
  acceptanceSessions: AcceptanceSessionService;
  /** Idempotency-Keys of the evidence routes other than assent (one per process: it serialises a key's parallel requests). */
  idempotency: IdempotencyService;
  /** Subject pseudonyms and the sealing of personal facts (docs/personal-data.md). */
  pseudonyms: Pseudonyms;
  /** Stops what the services started (render workers, webhook delivery). */
  close(): Promise<void>;
}

/** Where a dossier's evidence is read from (with the timestamps, its outside time). */
export function evidenceSources(ctx: ServiceContext, eulas: EulaService, pseudonyms: Pseudonyms, timestamps?: TimestampService): EvidenceSources {
  const { repos, ledger } = ctx;
  return { ledger, eulas, sealer: pseudonyms, openings: repos.openings, records: repos.assentRecords, keys: repos.watermarkKeys, verifications: repos.verifications, plans: repos.plans, samples: repos.verificationSamples, timestamps,
    llm: { verifications: repos.llmVerifications, plans: repos.llmPlans, parameterSets: repos.llmParameterSets } };
}

export function buildServices(ctx: ServiceContext, opts: { onError?: (err: unknown, what?: string) => void } = {}): Services {
  const { repos, ledger, config } = ctx;
  const kek = loadKek(config);
  const pseudonyms = new Pseudonyms(loadPseudonymKey(config.pseudonymKeyFile, kek));
  const apiKeys = new ApiKeyStore(repos.apiKeys);
  const consoleSessions = new ConsoleSessions(repos.sessions, apiKeys);
  const eulas = new EulaService(repos.eulas, ledger);
  const threshold = rateToThreshold(config.watermarkRate);
  // Assent and rotation change what the gateway may do for a subject: its cache entry goes.
  let keyCache: SubjectKeyCache | null = null;
  let llmWatermark: LlmWatermarkService | null = null;
  const changed = (subject: string) => {
    keyCache?.invalidate(subject);
    llmWatermark?.invalidate(subject);
  };
  const watermarkKeys = new WatermarkKeyService(repos.watermarkKeys, ledger, kek, pseudonyms, changed);
  keyCache = new SubjectKeyCache(watermarkKeys, repos.assentRecords, threshold);
  const assent = new AssentService({ records: repos.assentRecords, idempotency: repos.idempotency, openings: repos.openings }, ledger, eulas, watermarkKeys, pseudonyms, changed, {
    checkpoints: { intervalMs: config.checkpointIntervalMs, every: config.checkpointEvery },
  });
  const acceptanceSessions = new AcceptanceSessionService({ sessions: repos.acceptanceSessions, uses: repos.acceptanceSessionUses, idempotency: repos.idempotency }, ledger, eulas, assent, pseudonyms);
  const decisions = new DecisionService(keyCache);
  llmWatermark = new LlmWatermarkService({ parameterSets: repos.llmParameterSets, plans: repos.llmPlans, verifications: repos.llmVerifications, records: repos.assentRecords, globalKeys: repos.llmGlobalKeys, usage: repos.llmUsage }, ledger, watermarkKeys, kek);
  const verifications = new VerificationService({ plans: repos.plans, verifications: repos.verifications, samples: repos.verificationSamples }, ledger, watermarkKeys, threshold, ctx.metrics.verification);
  // The PDF identity and the render workers start on first use: most processes never issue a dossier.
  let identity: Promise<SigningIdentity> | null = null;
  let pool: RenderPool | null = null;
  const getIdentity = () => (identity ??= loadPdfIdentity(config).catch((e: unknown) => {
    identity = null;
    throw e;
  }));
  const getPool = async () => (pool ??= new RenderPool(await getIdentity(), undefined, ctx.metrics.render));
  const timestamps = new TimestampService(repos.timestamps, () => ledger.latestNoteCheckpoint(), httpPost(), {
    url: config.tsaUrl,
    trustedCertsPem: config.tsaCaFile ? readFileSync(config.tsaCaFile, 'utf8') : undefined,
  }, opts.onError);
  const dossiers = new DossierService(
    repos.dossiers,
    evidenceSources(ctx, eulas, pseudonyms, timestamps),
    getIdentity,
    getPool,
    {
      organisation: config.organisation, certifierName: config.certifierName, certifierTitle: config.certifierTitle,
      jurisdiction: config.jurisdiction, keysUrl: config.keysUrl, paperSize: config.paperSize,
    },
  );
  const w = config.webhooks;
  const post = webhookPost({ timeoutMs: w.timeoutMs, allowPrivate: w.allowPrivate });
  const webhooks = new WebhookService({ subscriptions: repos.webhookSubscriptions, outbox: repos.webhookOutbox, index: ctx.webhookIndex, kek, post }, { allowPrivate: w.allowPrivate });
  const webhookDelivery = new DeliveryWorker(
    { outbox: repos.webhookOutbox, subscriptions: repos.webhookSubscriptions, entriesBySeq: (seqs) => ledger.entriesBySeq(seqs), openingsFor: (ids) => repos.openings.forEvents(ids), kek, post, onError: (err) => opts.onError?.(err, 'webhook delivery') },
    w,
  );
  return {
    apiKeys, consoleSessions, eulas, assent, watermarkKeys, keyCache, decisions, verifications, dossiers, timestamps, webhooks, webhookDelivery, llmWatermark, acceptanceSessions,
    idempotency: new IdempotencyService(repos.idempotency, kek),
    pseudonyms,
    renderQueueDepth: () => pool?.queued ?? 0,
    close: async () => {
      await webhookDelivery.stop();
      await timestamps.close();
      if (pool) await pool.close();
    },
  };
}
