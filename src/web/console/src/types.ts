// The parts of the service's JSON answers the console reads (see /openapi.json for all of them).

export interface LedgerRef { seq: number; event_id: string }

export interface Timeline {
  subject: string;
  events: Array<{ kind: EventKind; id: string; at: string; ledger: LedgerRef }>;
  records: Array<{ id: string; kind: 'accepted' | 'declined' | 'withdrawn'; slug: string; version: string; server_time: string; ledger: LedgerRef; key_version: number | null; facts: Fact[] }>;
  watermark_keys: Array<{ version: number; key_id: string; commitment: string; assigned_at: string; reason: string; ledger: LedgerRef }>;
  plans: Array<{ id: string; case_ref: string; subjects: string[]; sample_count: number; samples_digest: string; created_at: string; ledger: LedgerRef }>;
  verifications: Verification[];
  llm_verifications: Array<{ id: string; case_ref: string; decision: Decision; key_version: number; created_at: string; ledger: LedgerRef }>;
  dossiers: Dossier[];
}

/** A personal fact of a record: opened from its commitment, in clear (early events), erased, or missing. */
export interface Fact {
  field: string;
  group: 'network' | 'session' | 'free_text';
  state: 'open' | 'clear' | 'erased' | 'missing';
  value?: unknown;
  erased_at?: string;
  erasure_event_id?: string;
}

export type EventKind = 'accepted' | 'declined' | 'withdrawn' | 'watermark_key' | 'verification_plan' | 'verification' | 'llm_verification' | 'dossier';
export type Decision = 'detected' | 'not_detected' | 'insufficient';

export interface Statistic { n: number; m: number; p_adjusted: number; alpha: number; min_marked_samples_needed: number }

export interface Verification {
  id: string;
  case_ref: string;
  decision: Decision;
  preregistered: boolean;
  key_version: number;
  created_at: string;
  outcome: { statistic?: Statistic; suspect?: { name: string; version: string } };
  ledger: LedgerRef;
}

export interface Dossier {
  id: string;
  case_ref: string;
  issued_at: string;
  pages: number;
  pdf_sha256: string;
  verification_ids: string[];
  prepared_for: { name: string; firm: string };
  links: { pdf: string; signature: string };
  ledger: LedgerRef;
}

export interface ScreeningResult extends Statistic { id: string; subject: string; decision: Decision }
export interface Screening { screening_id: string; case_ref: string; preregistered: boolean; results: ScreeningResult[] }

export interface IssuedDossier { id: string; pages: number; pdf_sha256: string; links: { pdf: string; signature: string } }

export interface LedgerStatus {
  origin: string;
  size: number;
  latest_checkpoint: { size: number; created_at: string; age_seconds: number } | null;
  last_verification: LedgerJob | null;
  running_verification: LedgerJob | null;
}

export interface LedgerJob {
  state: 'running' | 'finished' | 'error';
  trigger: 'admin' | 'schedule';
  started_at: string;
  finished_at: string | null;
  entries_checked: number;
  result: { ok: boolean; size: number; fault: { seq: number; code: string; reason: string } | null } | null;
  error: string | null;
}

export interface Checkpoint { origin: string; size: number; time: string }
