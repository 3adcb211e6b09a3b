// The console's session cookie on the API: which routes take it, and how a request's cookie and
// CSRF header become a principal. The role checks stay the route table's (route.ts).
import type { Request } from 'express';
import type { ConsoleSessions, Session } from '../auth/console-sessions.js';
import { AppError } from '../problems/app-error.js';
import type { AnyRoute, SessionAuth } from './route.js';

export const SESSION_COOKIE = 'am_console';
export const CSRF_HEADER = 'X-CSRF-Token';

/**
 * The API routes the console calls: only these take the cookie (every other route still wants a
 * bearer key). Their role lists are unchanged, so a session can do what its key can, no more.
 */
export const CONSOLE_API: ReadonlySet<string> = new Set([
  'GET /v1/subjects',
  'GET /v1/subjects/:subject/timeline',
  'GET /v1/verification-plans/:id',
  'POST /v1/verifications',
  'GET /v1/verifications/:id',
  'POST /v1/dossiers',
  'GET /v1/dossiers/:id',
  'GET /v1/dossiers/:id/pdf',
  'GET /v1/dossiers/:id/signature',
  'GET /v1/admin/ledger/status',
  'POST /v1/admin/ledger/verifications',
  'GET /v1/admin/ledger/verifications/:id',
]);

/** The values of the request's cookies named SESSION_COOKIE (normally none or one). */
function sessionCookies(req: Request): string[] {
  const header = req.get('cookie');
  if (!header) return [];
  const found: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq >= 0 && part.slice(0, eq).trim() === SESSION_COOKIE) found.push(part.slice(eq + 1).trim());
  }
  return found;
}

/** The session cookie's value; null without one, and for two (one planted by a sibling host: refused, not guessed between). */
export function sessionCookieOf(req: Request): string | null {
  const found = sessionCookies(req);
  return found.length === 1 ? found[0]! : null;
}

/** The live session of the request's cookie; throws session_invalid when it has a cookie that is not one. */
export async function requireSession(sessions: ConsoleSessions, req: Request): Promise<Session> {
  const token = sessionCookieOf(req);
  const s = token === null ? null : await sessions.find(token);
  if (!s) {
    throw new AppError('session_invalid', token === null
      ? 'You are not signed in to the console. Sign in at /console with an investigator or admin API key.'
      : 'Your console session has ended (it expired, you signed out, or its API key was revoked). Sign in again at /console.');
  }
  return s;
}

/** Refuses a state-changing request whose X-CSRF-Token header is missing or not this session's. */
export function requireCsrf(s: Session, req: Request): void {
  const header = req.get(CSRF_HEADER);
  if (header === undefined) throw new AppError('csrf_token_missing', `This change needs the session's ${CSRF_HEADER} header, which the console sends. Reload the console and try again; other programs should send "Authorization: Bearer <API key>" instead of the cookie.`);
  if (!s.csrfMatches(header)) throw new AppError('csrf_token_invalid', `The ${CSRF_HEADER} header is not this session's. Reload the console (or sign in again) and retry; nothing was changed.`);
}

export function sessionAuth(sessions: ConsoleSessions): SessionAuth {
  return {
    accepts: (spec: AnyRoute) => CONSOLE_API.has(`${spec.method.toUpperCase()} ${spec.path}`),
    principal: async (req, changes) => {
      if (sessionCookies(req).length === 0) return null;
      const s = await requireSession(sessions, req);
      if (changes) requireCsrf(s, req);
      return s.principal;
    },
  };
}
