// idempotency_keys: which request each (API key, Idempotency-Key) pair was first used for, and
// (on routes other than assent) the exact body it was answered with.
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { workingRow, type WorkingRow } from '../db/rows.js';

export interface PriorUse {
  requestSha256: string;
  recordId: string;
  /** The JSON body of the first answer; null for assent records (rebuilt from the record). */
  response?: string | null;
  /** Or, for an answer holding a secret, its body sealed by the master key. */
  responseSealed?: Buffer | null;
}

export interface IdempotencyRef {
  scope: string;
  key: string;
}

export class IdempotencyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(scope: string, key: string): Promise<PriorUse | undefined> {
    const r = await this.db.selectFrom('idempotency_keys').select(['request_sha256', 'record_id', 'response', 'response_sealed']).where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
    return r ? { requestSha256: r.request_sha256, recordId: r.record_id, response: r.response, responseSealed: r.response_sealed ? Buffer.from(r.response_sealed) : null } : undefined;
  }

  /** Prior uses of many pairs in one query, in the order asked (undefined where none). */
  async findMany(refs: readonly IdempotencyRef[]): Promise<Array<PriorUse | undefined>> {
    if (refs.length === 0) return [];
    const r = await sql<{ n: number; request_sha256: string; record_id: string }>`
      SELECT q.n, i.request_sha256, i.record_id
      FROM unnest(${refs.map((_, n) => n)}::int[], ${refs.map((x) => x.scope)}::text[], ${refs.map((x) => x.key)}::text[]) AS q(n, scope, key)
      JOIN idempotency_keys i ON i.scope = q.scope AND i.key = q.key`.execute(this.db);
    const out: Array<PriorUse | undefined> = refs.map(() => undefined);
    for (const row of r.rows) out[Number(row.n)] = { requestSha256: row.request_sha256, recordId: row.record_id };
    return out;
  }

  /** The working row the ledger appender writes with the events the request appended. */
  row(ref: IdempotencyRef, use: PriorUse): WorkingRow {
    return workingRow('idempotency_keys', { scope: ref.scope, key: ref.key, request_sha256: use.requestSha256, record_id: use.recordId, response: use.response ?? null, response_sealed: use.responseSealed ?? null });
  }
}
