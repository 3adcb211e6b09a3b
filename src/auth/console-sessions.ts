// Console sessions: an investigator's or admin's API key, presented once at sign-in, exchanged for
// a random session token (the HttpOnly cookie) and the session's CSRF token (kept by the page in
// memory, sent as a header on every state-changing request). The session is stored server-side as
// the domain-separated SHA-256 of its token; the CSRF token is another domain-separated SHA-256 of
// the session token, so it is per session, recomputed by the server from the cookie, and unknown
// to anyone who cannot read the cookie (a cross-site page, or a reader of the sessions table).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Role } from '../db/schema.js';
import { constantTimeEqual, sha256 } from '../crypto/hash.js';
import { TAG, tagBytes } from '../crypto/domains.js';
import { AppError } from '../problems/app-error.js';
import type { ApiKeyStore, Principal } from './api-keys.js';
import type { SessionRepository } from './session-repository.js';

/** The roles that may sign in to the console. */
export const CONSOLE_ROLES: readonly Role[] = ['investigator', 'admin'];
/** How long a session lives after sign-in (absolute: no sliding renewal). */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

const SESSION_RE = /^ams_[A-Za-z0-9_-]{43}$/;
const CSRF_RE = /^[A-Za-z0-9_-]{43}$/;
const SESSION_DOMAIN = tagBytes(TAG.consoleSession);
const CSRF_DOMAIN = tagBytes(TAG.consoleCsrf);

const sessionHash = (token: string) => sha256(SESSION_DOMAIN, Buffer.from(token, 'utf8'));
const csrfOf = (sessionToken: string) => sha256(CSRF_DOMAIN, Buffer.from(sessionToken, 'utf8')).toString('base64url');

export interface SignedIn {
  /** The cookie's value: returned only at sign-in. */
  sessionToken: string;
  csrfToken: string;
  principal: Principal;
  expiresAt: Date;
}

export interface Session {
  id: string;
  principal: Principal;
  expiresAt: Date;
  /** The token the page sends in X-CSRF-Token. */
  csrfToken: string;
  /** Constant-time check of a request's CSRF header against this session's token. */
  csrfMatches(header: string): boolean;
}

export class ConsoleSessions {
  constructor(
    private readonly repo: SessionRepository,
    private readonly apiKeys: ApiKeyStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Exchanges an investigator or admin API key for a new session. */
  async signIn(apiKey: string): Promise<SignedIn> {
    const principal = await this.apiKeys.authenticate(apiKey);
    if (!principal) throw new AppError('invalid_token', 'That API key is unknown or has been revoked. Check that you pasted the whole key (it starts with "am_"), or ask an administrator for a new one.');
    if (!CONSOLE_ROLES.includes(principal.role)) {
      throw new AppError('forbidden', `The console is for investigator and admin keys; this key has role "${principal.role}". Ask an administrator for an investigator key.`);
    }
    const now = this.now();
    // Expired sessions go at each sign-in: the table stays the size of the live ones.
    await this.repo.deleteExpired(now);
    const sessionToken = `ams_${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(now.getTime() + SESSION_TTL_MS);
    await this.repo.insert({ id: randomUUID(), tokenHash: sessionHash(sessionToken), apiKeyId: principal.keyId, expiresAt });
    return { sessionToken, csrfToken: csrfOf(sessionToken), principal, expiresAt };
  }

  /** The live session of a cookie value, or null (malformed tokens never reach the database). */
  async find(sessionToken: string): Promise<Session | null> {
    if (!SESSION_RE.test(sessionToken)) return null;
    const h = sessionHash(sessionToken);
    const s = await this.repo.live(h, this.now());
    // Found by the index on the hash; compared again in constant time before it is trusted.
    if (!s || !constantTimeEqual(s.tokenHash, h)) return null;
    const expected = Buffer.from(csrfOf(sessionToken), 'utf8');
    return {
      id: s.id,
      principal: { keyId: s.keyId, name: s.keyName, role: s.role },
      expiresAt: s.expiresAt,
      csrfToken: expected.toString('utf8'),
      csrfMatches: (header) => CSRF_RE.test(header) && constantTimeEqual(Buffer.from(header, 'utf8'), expected),
    };
  }

  /** Signs a session out (deletes it). Returns false when it no longer existed. */
  signOut(id: string): Promise<boolean> {
    return this.repo.delete(id);
  }
}
