import { AppError } from '../problems/app-error.js';

export type LedgerErrorCode = 'genesis_missing' | 'origin_mismatch' | 'signing_key_mismatch' | 'checkpoint_inconsistent' | 'event_malformed';

/** The ledger in the database is not the one this service signs for, or no longer matches its checkpoints. */
export class LedgerError extends AppError<LedgerErrorCode> {}
