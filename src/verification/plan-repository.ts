// verification_plans: pre-registered samples, committed before any suspect label exists.
import { sql, type Kysely } from 'kysely';
import type { Database, PlanSample } from '../db/schema.js';
import { fromJson, workingRow, type WorkingRow } from '../db/rows.js';

export interface PlanInfo {
  id: string;
  caseRef: string;
  subjects: string[];
  sampleCount: number;
  samplesDigest: string;
  createdAt: Date;
  ledgerSeq: number;
  eventId: string;
}

export interface NewPlan {
  id: string;
  caseRef: string;
  subjects: string[];
  samples: readonly PlanSample[];
  samplesDigest: string;
  createdAt: Date;
}

const INFO = ['id', 'case_ref', 'subjects', 'sample_count', 'samples_digest', 'created_at', 'ledger_seq', 'event_id'] as const;

export class PlanRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<PlanInfo | undefined> {
    const r = await this.db.selectFrom('verification_plans').select(INFO).where('id', '=', id).executeTakeFirst();
    return r ? toInfo(r) : undefined;
  }

  async withSamples(id: string): Promise<(PlanInfo & { samples: PlanSample[] }) | undefined> {
    const r = await this.db.selectFrom('verification_plans').select([...INFO, 'samples']).where('id', '=', id).executeTakeFirst();
    return r ? { ...toInfo(r), samples: fromJson(r.samples) } : undefined;
  }

  async many(ids: readonly string[]): Promise<PlanInfo[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('verification_plans').select(INFO).where('id', 'in', [...ids]).orderBy('ledger_seq').execute();
    return rows.map(toInfo);
  }

  /** The plans that name a subject, in ledger order. */
  async forSubject(subject: string): Promise<PlanInfo[]> {
    const rows = await this.db.selectFrom('verification_plans').select(INFO).where(sql<boolean>`subjects @> ${JSON.stringify([subject])}::jsonb`).orderBy('ledger_seq').execute();
    return rows.map(toInfo);
  }

  row(p: NewPlan, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('verification_plans', {
      id: p.id, case_ref: p.caseRef, subjects: JSON.stringify(p.subjects), samples: JSON.stringify(p.samples), sample_count: p.samples.length,
      samples_digest: p.samplesDigest, created_at: p.createdAt, ledger_seq: pos.seq, event_id: pos.eventId,
    });
  }
}

function toInfo(r: { id: string; case_ref: string; subjects: string[] | string; sample_count: number; samples_digest: string; created_at: Date; ledger_seq: string; event_id: string }): PlanInfo {
  return { id: r.id, caseRef: r.case_ref, subjects: fromJson(r.subjects), sampleCount: r.sample_count, samplesDigest: r.samples_digest, createdAt: new Date(r.created_at), ledgerSeq: Number(r.ledger_seq), eventId: r.event_id };
}
