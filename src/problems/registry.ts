// The problem registry: every code an error can carry, with the HTTP status and title it leaves
// the service with. Domain code throws AppError(code, detail); only http/ reads status and title.
// docs/problems.md lists the same codes (a test compares them).

export interface ProblemSpec {
  status: number;
  title: string;
}

export const PROBLEMS = {
  // The request itself
  validation_failed: { status: 400, title: 'Request validation failed' },
  malformed_json: { status: 400, title: 'Malformed JSON' },
  request_aborted: { status: 400, title: 'Request aborted' },
  bad_request: { status: 400, title: 'Bad Request' },
  not_canonical: { status: 400, title: 'Value has no canonical JSON form' },
  invalid_utf8: { status: 400, title: 'Body is not valid UTF-8' },
  duplicate_member: { status: 400, title: 'Duplicate JSON member name' },
  json_too_deep: { status: 400, title: 'JSON nested too deeply' },
  unauthenticated: { status: 401, title: 'Unauthorized' },
  invalid_token: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not Found' },
  body_too_large: { status: 413, title: 'Request body too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported Media Type' },
  unsupported_encoding: { status: 415, title: 'Unsupported encoding' },

  // Idempotency
  idempotency_key_missing: { status: 400, title: 'Idempotency-Key header required' },
  idempotency_key_invalid: { status: 400, title: 'Invalid Idempotency-Key header' },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key reused with a different request' },

  // EULAs
  eula_highlight_not_in_text: { status: 400, title: 'Highlighted clause not in text' },
  eula_not_found: { status: 404, title: 'EULA version not found' },
  eula_not_effective: { status: 404, title: 'No version in effect' },
  eula_version_conflict: { status: 409, title: 'EULA version already published with different content' },
  eula_backdated: { status: 422, title: 'EULA version backdated' },
  eula_version_not_in_effect: { status: 422, title: 'EULA version not yet in effect' },

  // Assent
  record_not_found: { status: 404, title: 'Record not found' },
  subject_not_found: { status: 404, title: 'Nothing is recorded about this subject' },
  subject_export_too_large: { status: 422, title: 'Subject export too large' },
  nothing_to_withdraw: { status: 409, title: 'Nothing to withdraw' },
  subject_has_no_key: { status: 409, title: 'Subject has no watermark key' },
  subject_state_changed: { status: 409, title: 'Subject changed meanwhile' },
  unknown_eula_version: { status: 422, title: 'Unknown EULA version' },
  text_hash_mismatch: { status: 422, title: 'Shown text does not match the published EULA' },

  // Acceptance sessions (the embedded consent widget, docs/widget.md)
  acceptance_session_not_found: { status: 404, title: 'Acceptance session not found' },
  acceptance_session_wrong_origin: { status: 403, title: 'Acceptance session used from another site' },
  acceptance_session_used: { status: 409, title: 'Acceptance session already used' },
  acceptance_session_expired: { status: 410, title: 'Acceptance session expired' },
  presentation_mismatch: { status: 422, title: 'Widget showed other wording than the session' },

  // Personal data: erasure, legal holds (docs/personal-data.md)
  nothing_to_erase: { status: 404, title: 'Nothing to erase' },
  subject_on_legal_hold: { status: 409, title: 'Subject on legal hold' },
  legal_hold_not_found: { status: 404, title: 'Legal hold not found' },
  legal_hold_released: { status: 409, title: 'Legal hold already released' },
  legal_hold_exists: { status: 409, title: 'Legal hold already open for this case' },
  dossier_pdf_erased: { status: 410, title: 'Dossier PDF erased' },

  // API keys
  api_key_not_found: { status: 404, title: 'API key not found' },

  // Console sessions (docs/console.md)
  session_invalid: { status: 401, title: 'Console session unknown or expired' },
  csrf_token_missing: { status: 403, title: 'CSRF token required' },
  csrf_token_invalid: { status: 403, title: 'CSRF token does not match' },

  // Webhooks
  webhook_not_found: { status: 404, title: 'Webhook subscription not found' },
  webhook_url_invalid: { status: 422, title: 'Webhook URL not accepted' },

  // Watermark decisions and verifications
  invalid_item: { status: 400, title: 'Invalid item' },
  plan_not_found: { status: 404, title: 'Verification plan not found' },
  verification_not_found: { status: 404, title: 'Verification not found' },
  unknown_subjects: { status: 422, title: 'Unknown subjects' },
  two_class_unsupported: { status: 422, title: 'Two-class models are not supported' },
  plan_mismatch: { status: 422, title: 'Submission does not match the plan' },

  // Text watermark (docs/llm-watermark-spec.md)
  invalid_parameter_set: { status: 400, title: 'Invalid text-watermark parameter set' },
  token_out_of_range: { status: 400, title: 'Token id outside the vocabulary' },
  llm_parameter_set_not_found: { status: 404, title: 'Text-watermark parameter set not found' },
  no_global_key: { status: 409, title: 'No global text-watermark key' },
  global_key_changed: { status: 409, title: 'Global key changed meanwhile' },
  usage_already_reported: { status: 409, title: 'Usage for this period already reported' },

  // Arguments of the pure watermark algorithm (docs/watermark-spec.md)
  invalid_key: { status: 400, title: 'Invalid watermark key' },
  invalid_key_id: { status: 400, title: 'Invalid watermark key id' },
  invalid_digest: { status: 400, title: 'Invalid input digest' },
  invalid_num_classes: { status: 400, title: 'Invalid number of classes' },
  label_out_of_range: { status: 400, title: 'Label out of range' },
  invalid_rate: { status: 400, title: 'Invalid watermark rate' },
  invalid_threshold: { status: 400, title: 'Invalid watermark threshold' },
  invalid_probabilities: { status: 400, title: 'Invalid probabilities' },
  invalid_sample: { status: 400, title: 'Invalid sample' },
  no_samples: { status: 400, title: 'No samples' },
  invalid_alpha: { status: 400, title: 'Invalid significance level' },
  invalid_subjects_screened: { status: 400, title: 'Invalid number of subjects screened' },

  // Dossiers
  dossier_not_found: { status: 404, title: 'Dossier not found' },
  nothing_to_issue: { status: 422, title: 'No evidence for this subject' },
  verification_not_of_subject: { status: 422, title: 'Verification not of this subject' },
  render_failed: { status: 500, title: 'Dossier rendering failed' },
  display_record_inconsistent: { status: 500, title: 'Display record does not match the acceptance' },
  personal_data_inconsistent: { status: 500, title: 'Personal data store does not match the ledger' },
  timestamp_unavailable: { status: 502, title: 'No timestamp from the time-stamping authority' },

  // The ledger
  no_checkpoint: { status: 404, title: 'No checkpoint yet' },
  proof_unavailable: { status: 422, title: 'No such proof' },
  no_timestamp: { status: 404, title: 'No outside timestamp' },
  tile_not_found: { status: 404, title: 'No such tile' },
  export_format_invalid: { status: 400, title: 'Not a valid ledger export' },
  genesis_missing: { status: 500, title: 'Ledger has no genesis' },
  origin_mismatch: { status: 500, title: 'Ledger origin differs from the configuration' },
  signing_key_mismatch: { status: 500, title: 'Ledger signing key differs from the configured key' },
  checkpoint_inconsistent: { status: 500, title: 'Ledger does not match its signed checkpoints' },
  event_malformed: { status: 500, title: 'A stored ledger event is malformed' },
  ledger_verification_not_found: { status: 404, title: 'Ledger verification not found' },
  ledger_verification_running: { status: 409, title: 'A ledger verification is already running' },

  // Operation
  signing_key_reused: { status: 409, title: 'Signing key already used' },
  config_invalid: { status: 500, title: 'Invalid configuration' },
  key_file_invalid: { status: 500, title: 'Key file unusable' },
  data_dir_locked: { status: 503, title: 'Embedded database in use' },
  not_ready: { status: 503, title: 'Service not ready' },
  page_not_built: { status: 503, title: 'Page not built' },
  database_unavailable: { status: 503, title: 'Database unavailable' },
  internal_error: { status: 500, title: 'Internal Server Error' },
} as const satisfies Record<string, ProblemSpec>;

export type ProblemCode = keyof typeof PROBLEMS;
