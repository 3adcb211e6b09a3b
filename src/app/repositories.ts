// One repository per table: the only code that queries the database (the ledger's own tables are
// read and written by the Ledger, through its repositories and appender).
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { AssentRecordRepository } from '../assent/record-repository.js';
import { IdempotencyRepository } from '../assent/idempotency-repository.js';
import { LlmPlanRepository } from '../llm-watermark/plan-repository.js';
import { ParameterSetRepository } from '../llm-watermark/parameter-set-repository.js';
import { LlmVerificationRepository } from '../llm-watermark/verification-repository.js';
import { ApiKeyRepository } from '../auth/repository.js';
import { DossierRepository } from '../dossier/repository.js';
import { EulaRepository } from '../eula/repository.js';
import { TimestampRepository } from '../timestamp/repository.js';
import { PlanRepository } from '../verification/plan-repository.js';
import { VerificationSamplesRepository } from '../verification/samples-repository.js';
import { VerificationRepository } from '../verification/repository.js';
import { WatermarkKeyRepository } from '../watermark-keys/repository.js';
import { WebhookOutboxRepository } from '../webhooks/outbox-repository.js';
import { WebhookSubscriptionRepository } from '../webhooks/subscription-repository.js';

export interface Repositories {
  apiKeys: ApiKeyRepository;
  eulas: EulaRepository;
  assentRecords: AssentRecordRepository;
  idempotency: IdempotencyRepository;
  watermarkKeys: WatermarkKeyRepository;
  plans: PlanRepository;
  verifications: VerificationRepository;
  verificationSamples: VerificationSamplesRepository;
  dossiers: DossierRepository;
  timestamps: TimestampRepository;
  webhookSubscriptions: WebhookSubscriptionRepository;
  webhookOutbox: WebhookOutboxRepository;
  llmParameterSets: ParameterSetRepository;
  llmPlans: LlmPlanRepository;
  llmVerifications: LlmVerificationRepository;
}

export function buildRepositories(db: Kysely<Database>): Repositories {
  return {
    apiKeys: new ApiKeyRepository(db),
    eulas: new EulaRepository(db),
    assentRecords: new AssentRecordRepository(db),
    idempotency: new IdempotencyRepository(db),
    watermarkKeys: new WatermarkKeyRepository(db),
    plans: new PlanRepository(db),
    verifications: new VerificationRepository(db),
    verificationSamples: new VerificationSamplesRepository(db),
    dossiers: new DossierRepository(db),
    timestamps: new TimestampRepository(db),
    webhookSubscriptions: new WebhookSubscriptionRepository(db),
    webhookOutbox: new WebhookOutboxRepository(db),
    llmParameterSets: new ParameterSetRepository(db),
    llmPlans: new LlmPlanRepository(db),
    llmVerifications: new LlmVerificationRepository(db),
  };
}
