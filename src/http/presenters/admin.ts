// Responses of the admin operations routes: ledger verification jobs and the ledger status.
import { z } from 'zod';
import type { VerificationJob } from '../../operations/ledger-verifications.js';

const Fault = z.object({
  seq: z.number().int().describe('The first bad entry'),
  code: z.string().describe('The verifier\'s fault code (e.g. leaf_hash_mismatch, checkpoint_mismatch)'),
  reason: z.string(),
}).nullable();

const Report = z.object({
  ok: z.boolean(),
  origin: z.string().nullable(),
  size: z.number().int().describe('Entries checked'),
  head_hash: z.string().nullable(),
  tree_root: z.string().nullable().describe('Merkle tree hash of the entries checked, hex'),
  checkpoints_verified: z.number().int(),
  latest_checkpoint_size: z.number().int().nullable(),
  fault: Fault.describe('The first bad entry and why, as `assentmark ledger verify --json` reports it; null when intact'),
}).nullable().describe('The verifier\'s report, once finished');

export const LedgerVerificationJson = z.object({
  id: z.string(),
  trigger: z.enum(['admin', 'schedule']).describe('Started by an admin, or by the service\'s timer (ASSENTMARK_FULL_VERIFY_INTERVAL_MS)'),
  state: z.enum(['running', 'finished', 'error']).describe('finished: see `result.ok`; error: the verification could not finish'),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  entries_total: z.number().int().nullable().describe('Entries in the ledger when the job started'),
  entries_checked: z.number().int().describe('Entries checked so far (reported every 10,000)'),
  result: Report,
  error: z.string().nullable(),
});

export function ledgerVerificationJson(j: VerificationJob): z.infer<typeof LedgerVerificationJson> {
  const r = j.report;
  return {
    id: j.id, trigger: j.trigger, state: j.state, started_at: j.startedAt.toISOString(), finished_at: j.finishedAt?.toISOString() ?? null,
    entries_total: j.entriesTotal, entries_checked: j.entriesChecked,
    result: r ? { ok: r.ok, origin: r.origin, size: r.size, head_hash: r.headHash, tree_root: r.treeRoot, checkpoints_verified: r.checkpointsVerified, latest_checkpoint_size: r.latestCheckpointSize, fault: r.fault ? { seq: r.fault.seq, code: r.fault.code, reason: r.fault.reason } : null } : null,
    error: j.error,
  };
}

export const LedgerStatusJson = z.object({
  origin: z.string(),
  size: z.number().int().describe('Entries in the ledger'),
  latest_checkpoint: z.object({ size: z.number().int(), created_at: z.string(), age_seconds: z.number() }).nullable(),
  last_verification: LedgerVerificationJson.nullable().describe('The last full verification this process finished (null before its first)'),
  running_verification: LedgerVerificationJson.nullable(),
});

export function ledgerStatusJson(s: { origin: string; size: number; checkpoint: { size: number; createdAt: Date } | undefined; last: VerificationJob | null; running: VerificationJob | null; now: Date }): z.infer<typeof LedgerStatusJson> {
  return {
    origin: s.origin,
    size: s.size,
    latest_checkpoint: s.checkpoint ? { size: s.checkpoint.size, created_at: s.checkpoint.createdAt.toISOString(), age_seconds: Math.max(0, (s.now.getTime() - s.checkpoint.createdAt.getTime()) / 1000) } : null,
    last_verification: s.last ? ledgerVerificationJson(s.last) : null,
    running_verification: s.running ? ledgerVerificationJson(s.running) : null,
  };
}
