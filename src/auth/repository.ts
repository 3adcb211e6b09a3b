// api_keys: bearer tokens, stored only as their domain-separated SHA-256.
import type { Kysely } from 'kysely';
import type { Database, Role } from '../db/schema.js';
import { isWorkingUpdate, type WorkingRow } from '../db/rows.js';

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  tokenHint: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface StoredToken {
  id: string;
  name: string;
  role: Role;
  tokenHash: Buffer;
  revoked: boolean;
}

const INFO = ['id', 'name', 'role', 'token_hint', 'created_at', 'revoked_at'] as const;

export class ApiKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * `with`: rows written in the same transaction (the Idempotency-Key's record): if one is
   * refused, the key is not created either.
   */
  async insert(k: { id: string; name: string; role: Role; tokenHash: Buffer; tokenHint: string; createdAt?: Date }, withRows: readonly WorkingRow[] = []): Promise<ApiKeyInfo> {
    const values = { id: k.id, name: k.name, role: k.role, token_hash: k.tokenHash, token_hint: k.tokenHint, ...(k.createdAt ? { created_at: k.createdAt } : {}) };
    if (withRows.length === 0) return toInfo(await this.db.insertInto('api_keys').values(values).returning(INFO).executeTakeFirstOrThrow());
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.insertInto('api_keys').values(values).returning(INFO).executeTakeFirstOrThrow();
      // Each WorkingRow pairs a table with its own Insertable type, which TypeScript cannot follow here.
      for (const r of withRows) {
        if (isWorkingUpdate(r)) await trx.executeQuery(r.update);
        else await trx.insertInto(r.table).values(r.values as never).execute();
      }
      return toInfo(row);
    });
  }

  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.db.selectFrom('api_keys').select(INFO).orderBy('created_at').execute();
    return rows.map(toInfo);
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Returns false when no such active key exists. */
  async revoke(id: string, at: Date): Promise<boolean> {
    const r = await this.db.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async byTokenHash(hash: Buffer): Promise<StoredToken | undefined> {
    const r = await this.db.selectFrom('api_keys').select(['id', 'name', 'role', 'token_hash', 'revoked_at']).where('token_hash', '=', hash).executeTakeFirst();
    return r ? { id: r.id, name: r.name, role: r.role, tokenHash: Buffer.from(r.token_hash), revoked: r.revoked_at !== null } : undefined;
  }
}

function toInfo(r: { id: string; name: string; role: Role; token_hint: string; created_at: Date; revoked_at: Date | null }): ApiKeyInfo {
  return { id: r.id, name: r.name, role: r.role, tokenHint: r.token_hint, createdAt: new Date(r.created_at), revokedAt: r.revoked_at ? new Date(r.revoked_at) : null };
}
