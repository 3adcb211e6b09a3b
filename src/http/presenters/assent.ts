// Responses of the EULA, assent, watermark-key and API-key routes.
import { z } from 'zod';
import { RECEIPT_TYPE, RECEIPT_TYPE_V1 } from '../../assent/receipt.js';
import type { AssentRecord } from '../../assent/record-repository.js';
import type { ComplianceStatus, RecordedAssent } from '../../assent/service.js';
import type { ApiKeyInfo } from '../../auth/api-keys.js';
import type { EulaVersion } from '../../eula/repository.js';
import type { WatermarkKeyInfo } from '../../watermark-keys/repository.js';
import type { RotatedKey } from '../../watermark-keys/service.js';
import { LedgerPosition, LedgerRef, positionJson, refJson } from './common.js';

export const EulaJson = z.object({
  id: z.string(),
  slug: z.string(),
  version: z.string(),
  title: z.string(),
  text: z.string().optional().describe('The exact text (omitted in version lists)'),
  text_sha256: z.string(),
  effective_at: z.string(),
  major: z.boolean(),
  highlights: z.array(z.object({ text: z.string(), note: z.string() })),
  published_at: z.string(),
  ledger: LedgerRef,
});

export function eulaJson(v: EulaVersion, withText = true): z.infer<typeof EulaJson> {
  return {
    id: v.id,
    slug: v.slug,
    version: v.version,
    title: v.title,
    ...(withText ? { text: v.text } : {}),
    text_sha256: v.textSha256,
    effective_at: v.effectiveAt.toISOString(),
    major: v.major,
    highlights: v.highlights,
    published_at: v.publishedAt.toISOString(),
    ledger: refJson(v),
  };
}

export const CurrentEulaJson = EulaJson.extend({ required_major_version: z.string() });
export const EulaHistoryJson = z.object({ slug: z.string(), versions: z.array(EulaJson) });

/** A receipt's ledger position: LedgerPosition plus the entry's Merkle leaf index. */
export const ReceiptLedgerJson = LedgerPosition.extend({ leaf_index: z.number().int().describe('The entry\'s index in the RFC 9162 Merkle tree: seq - 1') })
  .describe('The ledger entry that records this, with its hashes and Merkle leaf index');

export const ReceiptInclusionJson = z.object({
  tree_size: z.number().int().describe('The size of the checkpoint the proof leads to'),
  leaf_index: z.number().int(),
  proof: z.array(z.string()).describe('The RFC 9162 audit path of the receipt\'s leaf_hash at leaf_index, leaf level first, hex'),
  checkpoint: z.string().describe('The signed checkpoint (the whole C2SP signed note) whose Merkle root the proof leads to'),
}).describe('Unsigned, self-verifying: the checkpoint is signed and the proof is checked against its root');

export const ReceiptOpeningJson = z.union([
  z.object({
    field: z.string().describe('The committed field\'s path in the event\'s data (`client`, `presentation.page_url`)'),
    group: z.enum(['subject', 'network', 'session', 'free_text']),
    commitment: z.string().describe('The commitment the signed event holds at `field`'),
    salt: z.string().describe('32 bytes, lowercase hex'),
    value: z.unknown().describe('The value committed'),
    value_bytes: z.string().describe('base64 of the RFC 8785 bytes of `value`: SHA-256(tag || 0x00 || salt || these bytes) is the commitment'),
  }),
  z.object({
    field: z.string(),
    group: z.enum(['subject', 'network', 'session', 'free_text']),
    commitment: z.string(),
    erased: z.object({ at: z.string(), erasure_event_id: z.string().describe('The `erasure.performed` event that erased it') }),
  }).describe('An opening that was erased: the commitment stays in the log, the value is gone'),
]);

export const ReceiptJson = z.object({
  payload: z.object({ type: z.literal(RECEIPT_TYPE).describe(`Receipts signed before leaf indexes were \`${RECEIPT_TYPE_V1}\` (and still verify)`), origin: z.string(), event: z.record(z.string(), z.unknown()), ledger: ReceiptLedgerJson }),
  signed_bytes: z.string().describe('The exact signed bytes (RFC 8785), base64'),
  signature: z.string().describe('Ed25519 signature, base64'),
  key_id: z.string(),
  alg: z.literal('Ed25519'),
  inclusion: ReceiptInclusionJson.nullable().describe('The entry\'s inclusion proof in the latest signed checkpoint; null until a checkpoint covers the entry'),
  promise: z.string().optional().describe('With inclusion null: when a signed checkpoint will cover the entry (the max merge delay)'),
  openings: z.array(ReceiptOpeningJson).describe('Unsigned, self-verifying: the opening (salt and value) of each committed personal fact of the event, or when and by which erasure it was erased (docs/receipts.md)'),
}).describe('A signed receipt; verify with `assentmark receipt verify` or OpenSSL and Python (docs/receipts.md)');

export const AssentJson = z.object({
  id: z.string(),
  kind: z.enum(['accepted', 'declined', 'withdrawn']),
  subject: z.string(),
  slug: z.string(),
  version: z.string(),
  server_time: z.string(),
  ledger: ReceiptLedgerJson,
  watermark_key: z.object({ version: z.number().int(), commitment: z.string(), newly_assigned: z.boolean() }).optional(),
  receipt: ReceiptJson,
});

export function assentJson(r: RecordedAssent): z.infer<typeof AssentJson> {
  const d = r.event.data as { eula: { slug: string; version: string }; watermark_key?: { version: number; commitment: string } };
  return {
    id: r.id,
    kind: r.kind,
    subject: r.subject,
    slug: d.eula.slug,
    version: d.eula.version,
    server_time: r.event.time,
    ledger: r.receipt.payload.ledger,
    ...(d.watermark_key ? { watermark_key: { version: d.watermark_key.version, commitment: d.watermark_key.commitment, newly_assigned: r.keyAssigned } } : {}),
    receipt: r.receipt as z.infer<typeof ReceiptJson>,
  };
}

export const StatusJson = z.object({
  subject: z.string(),
  slug: z.string(),
  compliant: z.boolean(),
  reason: z.string(),
  current_version: z.string(),
  required_version: z.string(),
  accepted: z.object({ version: z.string(), at: z.string(), record_id: z.string(), ledger_seq: z.number().int() }).nullable().describe('The standing acceptance, if any'),
  last_event: z.object({ kind: z.string(), version: z.string(), at: z.string(), record_id: z.string() }).nullable(),
  acceptance_needed: z.boolean().describe('True when the subject must accept (again) before using the service: create an acceptance session for `accept_version`'),
  reacceptance: z.boolean().describe('True when the subject accepted an earlier version (or withdrew) and must accept again: say so to the user'),
  accept_version: z.string().nullable().describe('The version to present when acceptance is needed (the one in effect now), else null'),
});

export function statusJson(s: ComplianceStatus): z.infer<typeof StatusJson> {
  return {
    subject: s.subject,
    slug: s.slug,
    compliant: s.compliant,
    reason: s.reason,
    current_version: s.currentVersion,
    required_version: s.requiredVersion,
    accepted: s.accepted ? { version: s.accepted.version, at: s.accepted.serverTime.toISOString(), record_id: s.accepted.id, ledger_seq: s.accepted.ledgerSeq } : null,
    last_event: s.lastEvent ? { kind: s.lastEvent.kind, version: s.lastEvent.version, at: s.lastEvent.serverTime.toISOString(), record_id: s.lastEvent.id } : null,
    acceptance_needed: !s.compliant,
    reacceptance: !s.compliant && s.everAccepted,
    accept_version: s.compliant ? null : s.currentVersion,
  };
}

export const RecordListJson = z.object({
  subject: z.string(),
  records: z.array(z.object({ id: z.string(), kind: z.string(), slug: z.string(), version: z.string(), server_time: z.string(), ledger: LedgerRef, key_version: z.number().int().nullable() })),
});

export function recordListJson(subject: string, records: readonly AssentRecord[]): z.infer<typeof RecordListJson> {
  return { subject, records: records.map((r) => ({ id: r.id, kind: r.kind, slug: r.slug, version: r.version, server_time: r.serverTime.toISOString(), ledger: refJson(r), key_version: r.keyVersion })) };
}

export const KeyListJson = z.object({
  subject: z.string(),
  keys: z.array(z.object({ version: z.number().int(), key_id: z.string(), commitment: z.string(), assigned_at: z.string(), reason: z.string(), ledger: LedgerRef })),
});

export function keyListJson(subject: string, keys: readonly WatermarkKeyInfo[]): z.infer<typeof KeyListJson> {
  return { subject, keys: keys.map((k) => ({ version: k.version, key_id: k.keyId, commitment: k.commitment, assigned_at: k.assignedAt.toISOString(), reason: k.reason, ledger: refJson(k) })) };
}

export const RotatedJson = z.object({ subject: z.string(), version: z.number().int(), key_id: z.string(), commitment: z.string(), previous_version: z.number().int(), ledger: LedgerPosition });

export function rotatedJson(r: RotatedKey): z.infer<typeof RotatedJson> {
  return { subject: r.key.subject, version: r.key.version, key_id: r.key.keyId, commitment: r.key.commitment, previous_version: r.previousVersion, ledger: positionJson(r.position) };
}

export const ApiKeyJson = z.object({ id: z.string(), name: z.string(), role: z.string(), token_hint: z.string(), created_at: z.string(), revoked_at: z.string().nullable() });
export const NewApiKeyJson = ApiKeyJson.extend({ token: z.string().describe('The bearer token: shown only in this response') });
export const ApiKeyListJson = z.object({ keys: z.array(ApiKeyJson) });

export function apiKeyJson(k: ApiKeyInfo): z.infer<typeof ApiKeyJson> {
  return { id: k.id, name: k.name, role: k.role, token_hint: k.tokenHint, created_at: k.createdAt.toISOString(), revoked_at: k.revokedAt?.toISOString() ?? null };
}
