// console_sessions: console sign-ins, stored only as the hash of their session token.
import type { Kysely } from 'kysely';
import type { Database, Role } from '../db/schema.js';

export interface NewSession {
  id: string;
  tokenHash: Buffer;
  apiKeyId: string;
  expiresAt: Date;
}

/** A live session (not expired, its API key not revoked) with the principal of its key. */
export interface StoredSession {
  id: string;
  tokenHash: Buffer;
  expiresAt: Date;
  keyId: string;
  keyName: string;
  role: Role;
}

export class SessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(s: NewSession): Promise<void> {
    await this.db
      .insertInto('console_sessions')
      .values({ id: s.id, token_hash: s.tokenHash, api_key_id: s.apiKeyId, expires_at: s.expiresAt })
      .execute();
  }

  /** The session with this token hash, if it has not expired at `now` and its key is not revoked. */
  async live(tokenHash: Buffer, now: Date): Promise<StoredSession | undefined> {
    const r = await this.db
      .selectFrom('console_sessions as s')
      .innerJoin('api_keys as k', 'k.id', 's.api_key_id')
      .select(['s.id', 's.token_hash', 's.expires_at', 'k.id as key_id', 'k.name as key_name', 'k.role'])
      .where('s.token_hash', '=', tokenHash)
      .where('s.expires_at', '>', now)
      .where('k.revoked_at', 'is', null)
      .executeTakeFirst();
    return r ? { id: r.id, tokenHash: Buffer.from(r.token_hash), expiresAt: new Date(r.expires_at), keyId: r.key_id, keyName: r.key_name, role: r.role } : undefined;
  }

  /** Returns false when there was no such session. */
  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('console_sessions').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Deletes the sessions expired at `now`; returns how many. */
  async deleteExpired(now: Date): Promise<number> {
    const r = await this.db.deleteFrom('console_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('console_sessions').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
