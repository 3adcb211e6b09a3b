// Kysely table types. Only repositories use these.
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, never>;

export interface LedgerEntriesTable {
  seq: ColumnType<string, number | string, never>; // bigint arrives as a string from pg
  event_id: string;
  event_type: string;
  recorded_at: Timestamp;
  canonical: Buffer;
  leaf_hash: Buffer;
  prev_hash: Buffer;
  chain_hash: Buffer;
}

export interface LedgerHeadTable {
  id: number;
  seq: ColumnType<string, number | string, number | string>;
  chain_hash: Buffer;
  /** The Merkle tree's compact range at `seq` (ledger/merkle.ts MerkleFrontier.toBytes()). */
  frontier: Buffer;
}

/** C2SP tlog-tiles: level L, index N, up to 256 hashes of height 8·L, concatenated. */
export interface LedgerTilesTable {
  level: number;
  idx: ColumnType<string, number | string, never>;
  hashes: Buffer;
}

export interface LedgerCheckpointsTable {
  size: ColumnType<string, number | string, never>;
  chain_hash: Buffer;
  key_id: string;
  body: Buffer;
  signature: Buffer;
  created_at: Timestamp;
  /** 1: the first version's JSON statement; 2: a C2SP signed note (body holds the whole note). */
  format: ColumnType<number, number | undefined, never>;
  root_hash: Buffer | null;
}

export type Role = 'admin' | 'signup' | 'gateway' | 'investigator' | 'counsel';

export interface ApiKeysTable {
  id: string;
  name: string;
  role: Role;
  token_hash: Buffer;
  token_hint: string;
  created_at: Timestamp;
  revoked_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface ConsoleSessionsTable {
  id: string;
  token_hash: Buffer;
  api_key_id: string;
  created_at: Timestamp;
  expires_at: ColumnType<Date, Date, never>;
}

type SeqRef = ColumnType<string, number | string, never>;
type Json<T> = ColumnType<T, string, never>;

export type Highlight = {
  text: string;
  note: string;
};

export interface EulaVersionsTable {
  id: string;
  slug: string;
  version: string;
  title: string;
  body: string;
  body_sha256: string;
  effective_at: ColumnType<Date, Date | string, never>;
  major: boolean;
  highlights: Json<Highlight[]>;
  published_at: ColumnType<Date, Date | string, never>;
  ledger_seq: SeqRef;
  event_id: string;
}

export interface WatermarkKeysTable {
  subject: string;
  version: number;
  key_id: string;
  kek_id: string;
  wrapped: Buffer;
  commitment: string;
  assigned_at: ColumnType<Date, Date | string, never>;
  reason: string;
  ledger_seq: SeqRef;
  event_id: string;
}

export type AssentKind = 'accepted' | 'declined' | 'withdrawn';

export interface AssentRecordsTable {
  id: string;
  kind: AssentKind;
  subject: string;
  eula_id: string;
  slug: string;
  version: string;
  server_time: ColumnType<Date, Date | string, never>;
  record: Json<Record<string, unknown>>;
  key_version: number | null;
  key_commitment: string | null;
  ledger_seq: SeqRef;
  event_id: string;
}

export interface IdempotencyKeysTable {
  scope: string;
  key: string;
  request_sha256: string;
  record_id: string;
  created_at: Timestamp;
  /** The JSON body of the first answer (routes other than assent; null for assent records). */
  response: ColumnType<string | null, string | null | undefined, never>;
  /** The body of a first answer that holds a secret, sealed by the master key (AES-256-GCM). */
  response_sealed: ColumnType<Buffer | null, Buffer | null | undefined, never>;
}

export interface VerificationPlansTable {
  id: string;
  case_ref: string;
  subjects: Json<string[]>;
  samples: Json<PlanSample[]>;
  sample_count: number;
  samples_digest: string;
  created_at: ColumnType<Date, Date | string, never>;
  ledger_seq: SeqRef;
  event_id: string;
}

export interface PlanSample {
  input_sha256: string;
  owner_label: number;
  num_classes: number;
}

export interface VerificationsTable {
  id: string;
  screening_id: string;
  case_ref: string;
  subject: string;
  plan_id: string | null;
  decision: 'detected' | 'not_detected' | 'insufficient';
  outcome: Json<Record<string, unknown>>;
  key_version: number;
  created_at: ColumnType<Date, Date | string, never>;
  ledger_seq: SeqRef;
  event_id: string;
}

/** The samples of one screening, as the lines of its samples digest (docs/watermark-spec.md). */
export interface VerificationSamplesTable {
  screening_id: string;
  sample_count: number;
  samples_digest: string;
  lines: string;
  created_at: ColumnType<Date, Date | string, never>;
  ledger_seq: SeqRef;
  event_id: string;
}

/** Of one outcome: `<index>:<watermark label>\n` for each distinct submitted sample its key marks. */
export interface VerificationMarksTable {
  verification_id: string;
  screening_id: string;
  marks: string;
}

export interface DossiersTable {
  id: string;
  subject: string;
  case_ref: string;
  requested_by: string;
  prepared_for: Json<{ name: string; firm: string }>;
  verification_ids: Json<string[]>;
  issued_at: ColumnType<Date, Date | string, never>;
  pdf: Buffer;
  pdf_sha256: string;
  signature: Buffer;
  bundle_sha256: string;
  pages: number;
  ledger_seq: SeqRef;
  event_id: string;
}

export interface CheckpointTimestampsTable {
  id: string;
  size: ColumnType<string, number | string, never>;
  digest: Buffer;
  tsa_url: string;
  token: Buffer;
  gen_time: ColumnType<Date, Date | string, never>;
  serial: string;
  created_at: Timestamp;
}

/** An opening of a personal fact of one event (privacy/): erased in place, the commitment kept. */
export interface PersonalOpeningsTable {
  event_id: string;
  field: string;
  grp: 'subject' | 'network' | 'session' | 'free_text';
  subject_pseudonym: string;
  ledger_seq: ColumnType<string, number | string, never>;
  commitment: string;
  salt: Buffer | null;
  value: Buffer | null;
  recorded_at: ColumnType<Date, Date | string, never>;
  erased_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  erasure_event_id: string | null;
}

/** A legal hold on a subject (legal_hold.placed; released by legal_hold.released). */
export interface LegalHoldsTable {
  id: string;
  subject_pseudonym: string;
  case_ref: string;
  /** Null: placed from the command line (no API key). */
  placed_by_key_id: string | null;
  placed_at: ColumnType<Date, Date | string, never>;
  placed_seq: ColumnType<string, number | string, never>;
  placed_event_id: string;
  released_by_key_id: string | null;
  released_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  released_seq: ColumnType<string | null, number | string | null | undefined, number | string | null>;
  released_event_id: string | null;
}

/** An erasure of a subject's personal data (erasure.performed). */
export interface ErasuresTable {
  id: string;
  subject_pseudonym: string;
  basis: 'data_subject_request' | 'retention' | 'court_order' | 'other';
  request_ref: string;
  performed_by_key_id: string | null;
  performed_at: ColumnType<Date, Date | string, never>;
  ledger_seq: ColumnType<string, number | string, never>;
  event_id: string;
}

/** The ledger entry that last changed a subject's state in one scope (ledger/subject-state.ts). */
export interface SubjectStatesTable {
  subject: string;
  scope: string;
  seq: ColumnType<string, number | string, number | string>;
  replaced: ColumnType<string, number | string | undefined, number | string>;
  expected: ColumnType<string | null, number | string | null | undefined, number | string | null>;
}

export type WebhookEventTypes = string[];

export interface WebhookSubscriptionsTable {
  id: string;
  url: string;
  event_types: Json<WebhookEventTypes>;
  description: string;
  secret_wrapped: Buffer;
  kek_id: string;
  created_at: Timestamp;
  deleted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The API key and Idempotency-Key it was created with, and the request's digest (null before these existed). */
  idempotency_scope: ColumnType<string | null, string | null | undefined, never>;
  idempotency_key: ColumnType<string | null, string | null | undefined, never>;
  request_sha256: ColumnType<string | null, string | null | undefined, never>;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed' | 'cancelled';

export interface WebhookOutboxTable {
  id: string;
  subscription_id: string;
  ledger_seq: SeqRef;
  event_id: string;
  event_type: string;
  status: ColumnType<WebhookDeliveryStatus, WebhookDeliveryStatus | undefined, WebhookDeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_attempt_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  last_status: number | null;
  last_error: string | null;
  delivered_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_at: Timestamp;
}

/** A registered text-watermark parameter set (docs/llm-watermark-spec.md §2). */
export interface LlmParameterSetsTable {
  id: string;
  params: Json<Record<string, unknown>>;
  created_at: ColumnType<Date, Date | string, never>;
  ledger_seq: SeqRef;
  event_id: string;
}

export interface LlmVerificationPlansTable {
  id: string;
  case_ref: string;
  parameter_set_id: string;
  subjects: Json<string[]>;
  prompts: Json<number[][]>;
  prompts_sha256: string;
  alpha: number;
  subjects_screened: number;
  global_key: ColumnType<boolean, boolean | undefined, never>;
  created_at: ColumnType<Date, Date | string, never>;
  ledger_seq: SeqRef;
  event_id: string;
}

export interface LlmGlobalKeysTable {
  version: number;
  key_id: string;
  kek_id: string;
  wrapped: Buffer;
  commitment: string;
  reason: string;
  created_at: ColumnType<Date, Date | string, never>;
  ledger_seq: SeqRef;
  event_id: string;
}

export interface LlmVerificationsTable {
  id: string;
  screening_id: string;
  case_ref: string;
  /** Null for an outcome against the global key. */
  subject: string | null;
  layer: ColumnType<'subject' | 'global', 'subject' | 'global' | undefined, never>;
  parameter_set_id: string;
  plan_id: string | null;
  decision: 'detected' | 'not_detected' | 'insufficient';
  outcome: Json<Record<string, unknown>>;
  key_version: number;
  created_at: ColumnType<Date, Date | string, never>;
  ledger_seq: SeqRef;
  event_id: string;
}

export interface AcceptanceSessionsTable {
  id: string;
  token_sha256: Buffer;
  subject: string;
  eula_id: string;
  slug: string;
  version: string;
  origin: string;
  consent_text: string;
  accept_text: string;
  decline_text: string;
  auth: Json<{ method: string; session_id: string; mfa: boolean }>;
  created_by_key_id: string;
  created_by_name: string;
  created_at: ColumnType<Date, Date | string, never>;
  expires_at: ColumnType<Date, Date | string, never>;
}

export interface AcceptanceSessionUsesTable {
  session_id: string;
  decision: 'accepted' | 'declined';
  ledger_seq: SeqRef;
  event_id: string;
  used_at: ColumnType<Date, Date | string, never>;
}

/** One usage roll-up per subject, parameter set and period (its event is `llm_watermark.usage_reported`). */
export interface LlmUsageReportsTable {
  report_id: string;
  subject: string;
  parameter_set_id: string;
  period_start: ColumnType<Date, Date | string, never>;
  period_end: ColumnType<Date, Date | string, never>;
  tokens_served: ColumnType<string, number | string, never>;
  key_version: number;
  ledger_seq: SeqRef;
  event_id: string;
}

export interface Database {
  acceptance_sessions: AcceptanceSessionsTable;
  acceptance_session_uses: AcceptanceSessionUsesTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  webhook_outbox: WebhookOutboxTable;
  llm_parameter_sets: LlmParameterSetsTable;
  llm_verification_plans: LlmVerificationPlansTable;
  llm_verifications: LlmVerificationsTable;
  llm_global_keys: LlmGlobalKeysTable;
  llm_usage_reports: LlmUsageReportsTable;
  dossiers: DossiersTable;
  verification_plans: VerificationPlansTable;
  verifications: VerificationsTable;
  verification_samples: VerificationSamplesTable;
  verification_marks: VerificationMarksTable;
  ledger_entries: LedgerEntriesTable;
  ledger_head: LedgerHeadTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  ledger_tiles: LedgerTilesTable;
  checkpoint_timestamps: CheckpointTimestampsTable;
  api_keys: ApiKeysTable;
  console_sessions: ConsoleSessionsTable;
  eula_versions: EulaVersionsTable;
  watermark_keys: WatermarkKeysTable;
  assent_records: AssentRecordsTable;
  idempotency_keys: IdempotencyKeysTable;
  subject_states: SubjectStatesTable;
  personal_openings: PersonalOpeningsTable;
  legal_holds: LegalHoldsTable;
  erasures: ErasuresTable;
}

export type { Generated };
