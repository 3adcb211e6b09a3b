// llm_parameter_sets: every registered text-watermark parameter set, by id.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { fromJson, workingRow, type WorkingRow } from '../db/rows.js';
import type { ParameterSet } from './scheme.js';

export interface RegisteredParameterSet {
  id: string;
  params: ParameterSet;
  createdAt: Date;
  ledgerSeq: number;
  eventId: string;
}

export class ParameterSetRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<RegisteredParameterSet | undefined> {
    const r = await this.db.selectFrom('llm_parameter_sets').select(['id', 'params', 'created_at', 'ledger_seq', 'event_id']).where('id', '=', id).executeTakeFirst();
    return r ? { id: r.id, params: fromJson(r.params) as unknown as ParameterSet, createdAt: new Date(r.created_at), ledgerSeq: Number(r.ledger_seq), eventId: r.event_id } : undefined;
  }

  async many(ids: readonly string[]): Promise<RegisteredParameterSet[]> {
    if (ids.length === 0) return [];
    const rows = await this.db.selectFrom('llm_parameter_sets').select(['id', 'params', 'created_at', 'ledger_seq', 'event_id']).where('id', 'in', [...ids]).orderBy('ledger_seq').execute();
    return rows.map((r) => ({ id: r.id, params: fromJson(r.params) as unknown as ParameterSet, createdAt: new Date(r.created_at), ledgerSeq: Number(r.ledger_seq), eventId: r.event_id }));
  }

  row(id: string, params: ParameterSet, createdAt: Date, pos: { seq: number; eventId: string }): WorkingRow {
    return workingRow('llm_parameter_sets', { id, params: JSON.stringify(params), created_at: createdAt, ledger_seq: pos.seq, event_id: pos.eventId });
  }
}
