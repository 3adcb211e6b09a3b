// API keys: random bearer tokens, shown once, stored as SHA-256 only, revocable.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Role } from '../db/schema.js';
import { constantTimeEqual, sha256 } from '../crypto/hash.js';
import { TAG, tagBytes } from '../crypto/domains.js';

export const ROLES: readonly Role[] = ['admin', 'signup', 'gateway', 'investigator', 'counsel'];
const TOKEN_RE = /^am_[A-Za-z0-9_-]{43}$/;
const TOKEN_DOMAIN = tagBytes(TAG.apiToken);

export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  tokenHint: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}

function tokenHash(token: string): Buffer {
  return sha256(TOKEN_DOMAIN, Buffer.from(token, 'utf8'));
}

export class ApiKeyStore {
  // token hash (hex) -> principal, for a few seconds: revocation elsewhere takes effect within the TTL.
  readonly #cache = new Map<string, { p: Principal | null; until: number }>();
  readonly #ttlMs: number;

  constructor(private readonly db: Kysely<Database>, opts: { cacheTtlMs?: number } = {}) {
    this.#ttlMs = opts.cacheTtlMs ?? 5000;
  }

  /** Creates a key and returns its token: the only time the token exists outside the caller. */
  async create(role: Role, name: string): Promise<{ token: string; info: ApiKeyInfo }> {
    if (!ROLES.includes(role)) throw new Error(`unknown role ${role}`);
    const token = `am_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    const hint = `${token.slice(0, 7)}…`;
    const row = await this.db
      .insertInto('api_keys')
      .values({ id, name, role, token_hash: tokenHash(token), token_hint: hint })
      .returning(['id', 'name', 'role', 'token_hint', 'created_at', 'revoked_at'])
      .executeTakeFirstOrThrow();
    return { token, info: toInfo(row) };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.db.selectFrom('api_keys').select(['id', 'name', 'role', 'token_hint', 'created_at', 'revoked_at']).orderBy('created_at').execute();
    return rows.map(toInfo);
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Returns false when no such active key exists. */
  async revoke(id: string): Promise<boolean> {
    const r = await this.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    this.#cache.clear();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Resolves a bearer token to its principal, or null. Malformed tokens never reach the database. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!TOKEN_RE.test(token)) return null;
    const h = tokenHash(token);
    const k = h.toString('hex');
    const now = Date.now();
    const hit = this.#cache.get(k);
    if (hit && hit.until > now) return hit.p;
    const row = await this.db.selectFrom('api_keys').select(['id', 'name', 'role', 'token_hash', 'revoked_at']).where('token_hash', '=', h).executeTakeFirst();
    // The index lookup found it by hash; compare again in constant time before trusting it.
    const p = row && row.revoked_at === null && constantTimeEqual(Buffer.from(row.token_hash), h) ? { keyId: row.id, name: row.name, role: row.role } : null;
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(k, { p, until: now + this.#ttlMs });
    return p;
  }
}

function toInfo(r: { id: string; name: string; role: Role; token_hint: string; created_at: Date; revoked_at: Date | null }): ApiKeyInfo {
  return { id: r.id, name: r.name, role: r.role, tokenHint: r.token_hint, createdAt: new Date(r.created_at), revokedAt: r.revoked_at ? new Date(r.revoked_at) : null };
}
