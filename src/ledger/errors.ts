export type LedgerErrorCode = 'genesis_missing' | 'origin_mismatch' | 'signing_key_mismatch' | 'checkpoint_inconsistent';

export class LedgerError extends Error {
  constructor(readonly code: LedgerErrorCode, message: string) {
    super(message);
    this.name = 'LedgerError';
  }
}
