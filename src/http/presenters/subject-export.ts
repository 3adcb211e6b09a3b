// GET /v1/subjects/:subject/export and `assentmark subject export`: a subject access export
// (GDPR Art. 15) with the proofs to check it offline (docs/personal-data.md, "Subject access").
import { z } from 'zod';
import type { ExportedField, SubjectExport } from '../../subject-access/service.js';
import { keyListJson, KeyListJson, recordListJson, RecordListJson } from './assent.js';
import { LedgerRef, refJson } from './common.js';
import { VerificationJson, verificationJson } from './detection.js';
import { LlmVerificationJson, llmVerificationJson } from './llm-watermark.js';

export const SUBJECT_EXPORT_FORMAT = 'assentmark.subject-export/v1';

export const ExportedFieldJson = z.object({
  field: z.string().describe('The field\'s path in the event\'s data'),
  group: z.enum(['subject', 'network', 'session', 'free_text']),
  commitment: z.string().nullable().describe('The commitment the event holds; null when the event holds the value in clear (written before personal data left the log)'),
  state: z.enum(['open', 'erased', 'clear', 'missing']).describe('open: the opening is held (salt and value below); erased: it was erased (when, by which erasure); clear: the event itself holds the value; missing: no valid opening is held'),
  salt: z.string().optional().describe('open: the 32-byte salt, hex'),
  value: z.unknown().optional().describe('open or clear: the value'),
  erased_at: z.string().optional(),
  erasure: z.object({ event_id: z.string(), seq: z.number().int().nullable(), basis: z.string().nullable(), request_ref: z.string().nullable() }).optional().describe('erased: the erasure.performed entry that erased it'),
  problem: z.string().optional().describe('missing: why no opening is given'),
}).describe('Check an open field: SHA-256(tag || 0x00 || salt || RFC 8785(value)) is the commitment (docs/personal-data.md §2)');

export const SubjectExportJson = z.object({
  format: z.literal(SUBJECT_EXPORT_FORMAT),
  generated_at: z.string(),
  subject: z.string(),
  pseudonym: z.string().describe('The subject\'s keyed pseudonym: how ledger events name it'),
  origin: z.string().describe('The ledger\'s origin (the key name of its checkpoint signatures)'),
  checkpoint: z.object({ size: z.number().int(), root_hash: z.string(), note: z.string().describe('The whole C2SP signed note') }).nullable()
    .describe('The latest signed checkpoint; every inclusion proof leads to its root. Check its signature with the keys of /.well-known/assentmark/keys.json'),
  events: z.array(z.object({
    seq: z.number().int(),
    event_id: z.string(),
    type: z.string(),
    time: z.string(),
    canonical: z.string().nullable().describe('The entry\'s exact canonical bytes (RFC 8785), base64; null when withheld'),
    leaf_hash: z.string().describe('SHA-256(0x00 || canonical), hex'),
    chain_hash: z.string(),
    data: z.unknown().describe('The event\'s data with this subject\'s personal facts opened (others\' stay commitments); null when withheld'),
    personal_fields: z.array(ExportedFieldJson),
    withheld: z.string().nullable().describe('Why the bytes are withheld (an early event naming other subjects in clear)'),
    inclusion: z.object({ tree_size: z.number().int(), leaf_index: z.number().int(), proof: z.array(z.string()) }).nullable()
      .describe('RFC 9162 audit path of leaf_hash at leaf_index to the checkpoint\'s root; null when the checkpoint does not cover the entry yet'),
  })).describe('Every ledger event about the subject, in ledger order'),
  records: z.object({
    acceptances: RecordListJson.shape.records.describe('Acceptances, declines and withdrawals'),
    watermark_keys: KeyListJson.shape.keys.describe('Key versions and commitments; never a key'),
    verification_plans: z.array(z.object({ id: z.string(), case_ref: z.string(), sample_count: z.number().int(), samples_digest: z.string(), subjects_named: z.number().int(), created_at: z.string(), ledger: LedgerRef })),
    verifications: z.array(VerificationJson),
    llm_verification_plans: z.array(z.object({ id: z.string(), case_ref: z.string(), parameter_set_id: z.string(), subjects_screened: z.number().int(), prompts_sha256: z.string(), created_at: z.string(), ledger: LedgerRef })),
    llm_verifications: z.array(LlmVerificationJson),
    dossiers: z.array(z.object({ id: z.string(), case_ref: z.string(), requested_by: z.string(), prepared_for: z.object({ name: z.string(), firm: z.string() }), verification_ids: z.array(z.string()), issued_at: z.string(), pages: z.number().int(), pdf_sha256: z.string(), bundle_sha256: z.string(), ledger: LedgerRef }))
      .describe('Dossier metadata (the PDFs: GET /v1/dossiers/{id}/pdf)'),
    acceptance_sessions: z.array(z.object({
      id: z.string(), slug: z.string(), version: z.string(), origin: z.string(), auth: z.object({ method: z.string(), session_id: z.string(), mfa: z.boolean() }),
      created_by: z.string(), created_at: z.string(), expires_at: z.string(),
      used: z.object({ decision: z.string(), used_at: z.string(), ledger: LedgerRef }).nullable(),
    })),
    usage_reports: z.array(z.object({ report_id: z.string(), parameter_set_id: z.string(), period: z.object({ start: z.string(), end: z.string() }), tokens_served: z.number().int(), key_version: z.number().int(), ledger: LedgerRef })),
    legal_holds: z.array(z.object({ id: z.string(), case_ref: z.string(), placed_at: z.string(), placed: LedgerRef, released: z.object({ at: z.string(), seq: z.number().int(), event_id: z.string().nullable() }).nullable() })),
    erasures: z.array(z.object({ id: z.string(), basis: z.string(), request_ref: z.string(), performed_at: z.string(), ledger: LedgerRef })),
  }).describe('The working records the service keeps about the subject'),
});

export type ExportedFieldJsonT = z.infer<typeof ExportedFieldJson>;

export function exportedFieldJson(f: ExportedField): ExportedFieldJsonT {
  const base = { field: f.field, group: f.group, commitment: f.commitment, state: f.state };
  switch (f.state) {
    case 'open': return { ...base, salt: f.salt, value: f.value };
    case 'clear': return { ...base, value: f.value };
    case 'erased': return {
      ...base, erased_at: f.erasedAt.toISOString(),
      erasure: { event_id: f.erasureEventId, seq: f.erasure?.seq ?? null, basis: f.erasure?.basis ?? null, request_ref: f.erasure?.requestRef ?? null },
    };
    case 'missing': return { ...base, problem: f.problem };
  }
}

export function subjectExportJson(x: SubjectExport): z.infer<typeof SubjectExportJson> {
  const r = x.records;
  const cp = x.checkpoint;
  return {
    format: SUBJECT_EXPORT_FORMAT,
    generated_at: x.generatedAt.toISOString(),
    subject: x.subject,
    pseudonym: x.pseudonym,
    origin: x.origin,
    checkpoint: cp && cp.rootHash ? { size: cp.size, root_hash: cp.rootHash.toString('hex'), note: Buffer.from(cp.body).toString('utf8') } : null,
    events: x.events.map((e) => ({
      seq: e.seq, event_id: e.eventId, type: e.type, time: e.time,
      canonical: e.canonical ? e.canonical.toString('base64') : null,
      leaf_hash: e.leafHash.toString('hex'), chain_hash: e.chainHash.toString('hex'),
      data: e.data, personal_fields: e.fields.map(exportedFieldJson), withheld: e.withheld,
      inclusion: e.inclusion ? { tree_size: e.inclusion.treeSize, leaf_index: e.inclusion.leafIndex, proof: e.inclusion.proof.map((p) => p.toString('hex')) } : null,
    })),
    records: {
      acceptances: recordListJson(x.subject, r.assent).records,
      watermark_keys: keyListJson(x.subject, r.keys).keys,
      // A plan names every subject screened: only how many, not who the others are.
      verification_plans: r.plans.map((p) => ({ id: p.id, case_ref: p.caseRef, sample_count: p.sampleCount, samples_digest: p.samplesDigest, subjects_named: p.subjects.length, created_at: p.createdAt.toISOString(), ledger: refJson(p) })),
      verifications: r.verifications.map(verificationJson),
      llm_verification_plans: r.llmPlans.map((p) => ({ id: p.id, case_ref: p.caseRef, parameter_set_id: p.parameterSetId, subjects_screened: p.subjectsScreened, prompts_sha256: p.promptsSha256, created_at: p.createdAt.toISOString(), ledger: { seq: p.seq, event_id: p.eventId } })),
      llm_verifications: r.llmVerifications.map(llmVerificationJson),
      dossiers: r.dossiers.map((d) => ({ id: d.id, case_ref: d.caseRef, requested_by: d.requestedBy, prepared_for: d.preparedFor, verification_ids: d.verificationIds, issued_at: d.issuedAt.toISOString(), pages: d.pages, pdf_sha256: d.pdfSha256, bundle_sha256: d.bundleSha256, ledger: refJson(d) })),
      acceptance_sessions: r.sessions.map((s) => ({
        id: s.id, slug: s.slug, version: s.version, origin: s.origin, auth: s.auth, created_by: s.createdByName, created_at: s.createdAt.toISOString(), expires_at: s.expiresAt.toISOString(),
        used: s.use ? { decision: s.use.decision, used_at: s.use.usedAt.toISOString(), ledger: { seq: s.use.seq, event_id: s.use.eventId } } : null,
      })),
      usage_reports: r.usage.map((u) => ({ report_id: u.reportId, parameter_set_id: u.parameterSetId, period: { start: u.start.toISOString(), end: u.end.toISOString() }, tokens_served: u.tokensServed, key_version: u.keyVersion, ledger: { seq: u.seq, event_id: u.eventId } })),
      legal_holds: r.holds.map((h) => ({ id: h.id, case_ref: h.caseRef, placed_at: h.placedAt.toISOString(), placed: { seq: h.placedSeq, event_id: h.placedEventId }, released: h.released ? { at: h.released.at.toISOString(), seq: h.released.seq, event_id: h.released.eventId } : null })),
      erasures: r.erasures.map((e) => ({ id: e.id, basis: e.basis, request_ref: e.requestRef, performed_at: e.performedAt.toISOString(), ledger: { seq: e.seq, event_id: e.eventId } })),
    },
  };
}
