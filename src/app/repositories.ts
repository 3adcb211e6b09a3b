// One repository per table: the only code that queries the database (the ledger's own tables are
// read and written by the Ledger, through its repositories and appender).
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { AcceptanceSessionRepository } from '../acceptance-sessions/repository.js';
import { AcceptanceSessionUseRepository } from '../acceptance-sessions/use-repository.js';
import { AssentRecordRepository } from '../assent/record-repository.js';
import { IdempotencyRepository } from '../idempotency/repository.js';
import { OpeningRepository } from '../privacy/opening-repository.js';
import { ErasureRepository } from '../privacy/erasure-repository.js';
import { SubjectAccessRepository } from '../subject-access/repository.js';
import { HoldRepository } from '../privacy/hold-repository.js';
import { WorkingCopyRepository } from '../privacy/working-copy-repository.js';
import { LlmPlanRepository } from '../llm-watermark/plan-repository.js';
import { ParameterSetRepository } from '../llm-watermark/parameter-set-repository.js';
import { LlmUsageRepository } from '../llm-watermark/usage-repository.js';
import { LlmVerificationRepository } from '../llm-watermark/verification-repository.js';
import { GlobalKeyRepository } from '../llm-watermark/global-key-repository.js';
import { ApiKeyRepository } from '../auth/repository.js';
import { SessionRepository } from '../auth/session-repository.js';
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
  sessions: SessionRepository;
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
  acceptanceSessions: AcceptanceSessionRepository;
  acceptanceSessionUses: AcceptanceSessionUseRepository;
  llmGlobalKeys: GlobalKeyRepository;
  llmUsage: LlmUsageRepository;
  /** Openings of committed personal facts (docs/personal-data.md). */
  openings: OpeningRepository;
  /** The reads of a subject access export that no other repository offers. */
  subjectAccess: SubjectAccessRepository;
  /** Legal holds and erasures, and the working copies erasure scrubs (docs/personal-data.md). */
  holds: HoldRepository;
  erasures: ErasureRepository;
  workingCopies: WorkingCopyRepository;
}

export function buildRepositories(db: Kysely<Database>): Repositories {
  return {
    apiKeys: new ApiKeyRepository(db),
    sessions: new SessionRepository(db),
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
    acceptanceSessions: new AcceptanceSessionRepository(db),
    acceptanceSessionUses: new AcceptanceSessionUseRepository(db),
    llmGlobalKeys: new GlobalKeyRepository(db),
    llmUsage: new LlmUsageRepository(db),
    openings: new OpeningRepository(db),
    subjectAccess: new SubjectAccessRepository(db),
    holds: new HoldRepository(db),
    erasures: new ErasureRepository(db),
    workingCopies: new WorkingCopyRepository(db),
  };
}
