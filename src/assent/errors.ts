import { DomainError } from '../http/problem.js';

export type AssentErrorCode =
  | 'idempotency_key_missing'
  | 'idempotency_key_invalid'
  | 'idempotency_key_reused'
  | 'unknown_eula_version'
  | 'text_hash_mismatch'
  | 'nothing_to_withdraw'
  | 'record_not_found'
  | 'subject_has_no_key';

const STATUS: Record<AssentErrorCode, [number, string]> = {
  idempotency_key_missing: [400, 'Idempotency-Key header required'],
  idempotency_key_invalid: [400, 'Invalid Idempotency-Key header'],
  idempotency_key_reused: [422, 'Idempotency-Key reused with a different request'],
  unknown_eula_version: [422, 'Unknown EULA version'],
  text_hash_mismatch: [422, 'Shown text does not match the published EULA'],
  nothing_to_withdraw: [409, 'Nothing to withdraw'],
  record_not_found: [404, 'Record not found'],
  subject_has_no_key: [409, 'Subject has no watermark key'],
};

export class AssentError extends DomainError {
  constructor(code: AssentErrorCode, detail: string, ext: Record<string, unknown> = {}) {
    super(code, STATUS[code][0], STATUS[code][1], detail, ext);
  }
}
