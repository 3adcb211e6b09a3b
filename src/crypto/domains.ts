// Every domain-separation tag in one place: a hash or MAC input starts with exactly one of these,
// so no value computed for one purpose can be replayed as another. Changing one changes the format
// (docs/ledger-format.md, docs/watermark-spec.md, docs/receipts.md): add a new version instead.

/** Leading bytes of ledger hashes: RFC 6962's leaf (0x00) and node (0x01) prefixes, and 0x02 for the chain. */
export const LEAF_PREFIX = 0x00;
export const NODE_PREFIX = 0x01;
export const CHAIN_PREFIX = 0x02;

/** Text tags. Where a tag is followed by 0x00 (or "\n") is part of each format and noted beside it. */
export const TAG = {
  /** Ed25519 key id: SHA-256(tag || 0x00 || public key)[:16] */
  keyId: 'assentmark/key-id/v1',
  /** API token hash: SHA-256(tag || 0x00 || token) */
  apiToken: 'assentmark/api-token/v1',
  /** Console session cookie hash: SHA-256(tag || 0x00 || session token) */
  consoleSession: 'assentmark/console-session/v1',
  /** Console CSRF token hash: SHA-256(tag || 0x00 || CSRF token) */
  consoleCsrf: 'assentmark/console-csrf/v1',
  /** Acceptance-session token hash (the embedded widget's capability): SHA-256(tag || 0x00 || token) */
  acceptanceSession: 'assentmark/acceptance-session/v1',
  /** Key-encryption key id: SHA-256(tag || 0x00 || kek)[:8] */
  kekId: 'assentmark/kek-id/v1',
  /** Signing-key rotation, signed by the old key and by the new one: Ed25519(tag || 0x00 || canonical statement) */
  keyRotation: 'assentmark/key-rotation/v1',
  /** Genesis event id: SHA-256(tag || 0x00 || origin), formatted as a UUIDv8 */
  genesis: 'assentmark/genesis/v1',
  /** Watermark decision: HMAC-SHA256(key, tag || 0x00 || input digest) */
  wmDecide: 'assentmark/wm-decide/v1',
  /** Watermark key commitment: SHA-256(tag || 0x00 || key_id || 0x00 || key) */
  wmCommit: 'assentmark/wm-commit/v1',
  /** AES-GCM additional data of a wrapped key: tag || 0x00 || subject || 0x00 || version || 0x00 || key_id */
  wmKeyWrap: 'assentmark/wm-key-wrap/v1',
  /** AES-GCM additional data of a wrapped webhook signing secret: tag || 0x00 || subscription id */
  webhookSecretWrap: 'assentmark/webhook-secret-wrap/v1',
  /** AES-GCM additional data of a sealed idempotent answer (one holding a secret): tag || 0x00 || scope || 0x00 || Idempotency-Key */
  idempotentAnswerWrap: 'assentmark/idempotent-answer-wrap/v1',
  /** Plan samples digest: SHA-256(tag || "\n" || lines) */
  wmPlan: 'assentmark/wm-plan/v1',
  /** Submitted samples digest: SHA-256(tag || "\n" || lines) */
  wmSamples: 'assentmark/wm-samples/v1',
  /** Text-watermark parameter set id: SHA-256(tag || 0x00 || canonical parameter set) */
  llmParams: 'assentmark/llm-wm-params/v1',
  /** Text-watermark PRF key: HKDF-SHA256(watermark key, salt "", info = tag || 0x00 || parameter set id)[:8] */
  llmKey: 'assentmark/llm-wm-key/v1',
  /** Text-watermark prompts digest (pre-registration): SHA-256(tag || "\n" || lines) */
  llmPrompts: 'assentmark/llm-wm-prompts/v1',
  /** Text-watermark suspect outputs digest: SHA-256(tag || "\n" || lines) */
  llmOutputs: 'assentmark/llm-wm-outputs/v1',
  /** Global text-watermark PRF key: HKDF-SHA256(global key, salt "", info = tag || 0x00 || parameter set id)[:8] */
  llmGlobalKey: 'assentmark/llm-wm-global-key/v1',
  /** AES-GCM additional data of the wrapped global key: tag || 0x00 || version || 0x00 || key_id */
  llmGlobalWrap: 'assentmark/llm-wm-global-wrap/v1',
  /** Commitment to a subject identifier: SHA-256(tag || 0x00 || 32-byte salt || canonical(value)) (docs/personal-data.md) */
  pdSubject: 'assentmark/pd-subject/v1',
  /** Commitment to network facts (IP address, user agent, page URL): as pdSubject */
  pdNetwork: 'assentmark/pd-network/v1',
  /** Commitment to session and authentication facts (method, session id, MFA): as pdSubject */
  pdSession: 'assentmark/pd-session/v1',
  /** Commitment to free text a client supplies that may name people: as pdSubject */
  pdFreeText: 'assentmark/pd-free-text/v1',
  /** Subject pseudonym, the ledger's lookup key: HMAC-SHA256(pseudonym key, tag || 0x00 || subject) */
  subjectPseudonym: 'assentmark/subject-pseudonym/v1',
  /** Pseudonym key derived from the master key when none is configured: HKDF-SHA256(master key, salt "", info = tag, 32 bytes) */
  pseudonymKey: 'assentmark/subject-pseudonym-key/v1',
} as const;

/** `tag || 0x00` as bytes, the prefix most tags are used with. */
export function tagBytes(tag: (typeof TAG)[keyof typeof TAG]): Buffer {
  return Buffer.from(`${tag}\0`, 'utf8');
}

/** How recorded digests and commitments were computed, as written into ledger events. */
export const SCHEME = {
  keyCommitment: `SHA-256("${TAG.wmCommit}" || 0x00 || key_id || 0x00 || key)`,
  planSamplesDigest: `SHA-256("${TAG.wmPlan}\\n" || for each sample "<input_sha256>:<owner_label>:<num_classes>\\n")`,
  samplesDigest: `SHA-256("${TAG.wmSamples}\\n" || for each submitted sample "<input_sha256>:<owner_label>:<suspect_label>:<num_classes>\\n")`,
  llmPromptsDigest: `SHA-256("${TAG.llmPrompts}\\n" || for each prompt its token ids in decimal, comma-separated, then "\\n")`,
  llmOutputsDigest: `SHA-256("${TAG.llmOutputs}\\n" || for each output its token ids in decimal, comma-separated, then "\\n")`,
  llmTextKey: `HKDF-SHA256(watermark key, salt = "", info = "${TAG.llmKey}" || 0x00 || parameter_set_id, 8 bytes); PRF key integer = little-endian`,
  personalCommitment: 'SHA-256(tag || 0x00 || salt || canonical(value)), tag "assentmark/pd-<group>/v1", salt 32 random bytes, canonical = RFC 8785',
  subjectPseudonym: `HMAC-SHA256(pseudonym key, "${TAG.subjectPseudonym}" || 0x00 || subject)`,
  llmGlobalTextKey: `HKDF-SHA256(global key, salt = "", info = "${TAG.llmGlobalKey}" || 0x00 || parameter_set_id, 8 bytes); PRF key integer = little-endian`,
} as const;
