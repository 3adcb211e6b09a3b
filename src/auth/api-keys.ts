// API keys: random bearer tokens, shown once, stored as a domain-separated SHA-256 only, revocable.
import { randomBytes, randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Role } from '../db/schema.js';
import { constantTimeEqual, sha256 } from '../crypto/hash.js';
import { TAG, tagBytes } from '../crypto/domains.js';
import type { WorkingRow } from '../db/rows.js';
import type { ApiKeyInfo, ApiKeyRepository } from './repository.js';

export type { ApiKeyInfo } from './repository.js';

export const ROLES: readonly Role[] = ['admin', 'signup', 'gateway', 'investigator', 'counsel'];
const TOKEN_RE = /^am_[A-Za-z0-9_-]{43}$/;
const TOKEN_DOMAIN = tagBytes(TAG.apiToken);

export interface Principal {
  keyId: string;
  name: string;
  role: Role;
}

function tokenHash(token: string): Buffer {
  return sha256(TOKEN_DOMAIN, Buffer.from(token, 'utf8'));
}

/** Caches a miss too (as `false`): unknown tokens must not each cost a query. */
type CachedPrincipal = Principal | false;

export class ApiKeyStore {
  // token hash (hex) -> principal, for a few seconds: revocation elsewhere takes effect within the TTL.
  // Bounded LRU: under a flood of distinct tokens the oldest entries go, not all of them at once.
  readonly #cache: LRUCache<string, CachedPrincipal>;

  constructor(private readonly repo: ApiKeyRepository, opts: { cacheTtlMs?: number; maxEntries?: number } = {}) {
    this.#cache = new LRUCache({ max: opts.maxEntries ?? 10_000, ttl: opts.cacheTtlMs ?? 5000, ttlAutopurge: false });
  }

  /**
   * Creates a key and returns its token: the only time the token exists outside the caller (but
   * for `keyRow`: the Idempotency-Key's record, written in the same transaction, which keeps the
   * answer sealed by the master key for a retry).
   */
  async create(role: Role, name: string, keyRow: ((created: { token: string; info: ApiKeyInfo }) => WorkingRow) | null = null): Promise<{ token: string; info: ApiKeyInfo }> {
    if (!ROLES.includes(role)) throw new Error(`unknown role ${role}`);
    const token = `am_${randomBytes(32).toString('base64url')}`;
    const id = randomUUID();
    const tokenHint = `${token.slice(0, 7)}…`;
    // Whole milliseconds, as the database gives them back: the answer a retry replays is the same.
    const createdAt = new Date();
    const rows = keyRow ? [keyRow({ token, info: { id, name, role, tokenHint, createdAt, revokedAt: null } })] : [];
    const info = await this.repo.insert({ id, name, role, tokenHash: tokenHash(token), tokenHint, createdAt }, rows);
    return { token, info };
  }

  list(): Promise<ApiKeyInfo[]> {
    return this.repo.list();
  }

  count(): Promise<number> {
    return this.repo.count();
  }

  /** Returns false when no such active key exists. */
  async revoke(id: string): Promise<boolean> {
    const done = await this.repo.revoke(id, new Date());
    this.#cache.clear();
    return done;
  }

  /** Resolves a bearer token to its principal, or null. Malformed tokens never reach the database. */
  async authenticate(token: string): Promise<Principal | null> {
    if (!TOKEN_RE.test(token)) return null;
    const h = tokenHash(token);
    const k = h.toString('hex');
    const hit = this.#cache.get(k);
    if (hit !== undefined) return hit || null;
    const row = await this.repo.byTokenHash(h);
    // The index lookup found it by hash; compare again in constant time before trusting it.
    const p: CachedPrincipal = row && !row.revoked && constantTimeEqual(row.tokenHash, h) ? { keyId: row.id, name: row.name, role: row.role } : false;
    this.#cache.set(k, p);
    return p || null;
  }
}
