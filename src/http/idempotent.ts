// The answer of a route that records evidence under an Idempotency-Key (idempotency/service.ts):
// the first answer's exact bytes, also on a replay, which says so in `Idempotent-Replayed: true`.
import type { Principal } from '../auth/api-keys.js';
import type { Answer, IdempotencyService, KeyRow } from '../idempotency/service.js';
import type { RouteResult } from './route.js';

export interface IdempotentCall<T> extends Answer<T> {
  kind: string;
  principal: Principal;
  idempotencyKey: string | null;
  request: object;
  write: (keyRow: KeyRow<T> | null) => Promise<T>;
  status?: number;
  /** Headers of the answer, from its body (e.g. Location). */
  headers?: (body: any) => Record<string, string>;
}

export async function idempotentAnswer<T>(idem: IdempotencyService, c: IdempotentCall<T>): Promise<RouteResult> {
  const req = c.idempotencyKey === null ? null : { scope: c.principal.keyId, key: c.idempotencyKey, kind: c.kind, body: c.request };
  const out = await idem.run(req, { id: c.id, body: c.body, ...(c.sealed ? { sealed: true } : {}) }, c.write);
  const headers = { ...(c.headers ? c.headers(JSON.parse(out.response)) : {}), ...(out.replayed ? { 'Idempotent-Replayed': 'true' } : {}) };
  return { status: c.status ?? 201, headers, raw: { contentType: 'application/json; charset=utf-8', data: Buffer.from(out.response, 'utf8') } };
}
