// /console: the investigator console's page (built by Vite into dist/web/console) and its session
// endpoints (sign in with an API key, who am I, sign out). Every response of the page carries a
// strict Content-Security-Policy: no inline script, no eval, nothing from another origin.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { ConsoleSessions, Session } from '../auth/console-sessions.js';
import { AppError } from '../problems/app-error.js';
import { validate } from '../validation/validate.js';
import { CSRF_HEADER, requireCsrf, requireSession, SESSION_COOKIE } from './console-session.js';

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** dist/web/console, beside the compiled dist/src/http/console.js. */
export function consoleWebRoot(): string {
  return fileURLToPath(new URL('../../web/console/', import.meta.url));
}

const SignInBody = z.strictObject({ api_key: z.string().min(1).max(200) });

function pageHeaders(res: Response): void {
  res.set({
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
}

function sessionJson(s: Pick<Session, 'principal' | 'expiresAt' | 'csrfToken'>): Record<string, unknown> {
  return { name: s.principal.name, role: s.principal.role, csrf_token: s.csrfToken, csrf_header: CSRF_HEADER, expires_at: s.expiresAt.toISOString() };
}

export function consoleRouter(sessions: ConsoleSessions, webRoot = consoleWebRoot()): Router {
  const r = Router();
  const indexFile = path.join(webRoot, 'index.html');
  // Read once: the page is built before the service starts.
  const index = existsSync(indexFile) ? readFileSync(indexFile) : null;

  r.get(['/console', '/console/'], (_req, res) => {
    if (!index) throw new AppError('not_found', 'The console page has not been built: run `npm run build` (or `npm start`, which builds it).');
    pageHeaders(res);
    res.set('Cache-Control', 'no-store');
    res.type('html').send(index);
  });
  r.use('/console/assets', (_req, res, next) => {
    pageHeaders(res);
    next();
  }, express.static(path.join(webRoot, 'assets'), { index: false, fallthrough: true, maxAge: '1h' }));

  const cookieOptions = (req: Request) => ({ httpOnly: true, secure: req.secure, sameSite: 'strict' as const, path: '/' });

  r.post('/console/session', async (req, res) => {
    if (!req.is('application/json')) throw new AppError('unsupported_media_type', 'Send the sign-in as JSON with Content-Type: application/json.');
    if (req.body === undefined) throw new AppError('malformed_json', 'The request body is empty; send {"api_key": "am_…"}.');
    const body = validate(SignInBody, req.body, 'body');
    const s = await sessions.signIn(body.api_key);
    res.cookie(SESSION_COOKIE, s.sessionToken, { ...cookieOptions(req), expires: s.expiresAt });
    res.set('Cache-Control', 'no-store');
    res.status(201).json(sessionJson(s));
  });
  r.get('/console/session', async (req, res) => {
    const s = await requireSession(sessions, req);
    res.set('Cache-Control', 'no-store');
    res.json(sessionJson(s));
  });
  r.delete('/console/session', async (req, res) => {
    const s = await requireSession(sessions, req);
    requireCsrf(s, req);
    await sessions.signOut(s.id);
    res.clearCookie(SESSION_COOKIE, cookieOptions(req));
    res.status(204).end();
  });
  return r;
}
