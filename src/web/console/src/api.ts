// Calls to the service with the session cookie (sent by the browser, never seen by this code) and
// the session's CSRF token, kept in this module's memory only: never in localStorage or a cookie.

export interface Me {
  name: string;
  role: 'investigator' | 'admin';
  csrf_token: string;
  csrf_header: string;
  expires_at: string;
}

/** A failed call, with the problem's plain-words detail when the service sent one. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, readonly detail: string, readonly fields: Array<{ field: string; message: string }> = []) {
    super(detail);
  }
}

let csrf: { header: string; token: string } | null = null;

export function setSession(me: Me | null): void {
  csrf = me ? { header: me.csrf_header, token: me.csrf_token } : null;
}

async function problemOf(res: Response): Promise<ApiError> {
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith('application/problem+json')) {
    try {
      const p = (await res.json()) as { code?: string; detail?: string; errors?: Array<{ field: string; message: string }> };
      return new ApiError(res.status, p.code ?? 'unknown', p.detail ?? `The service answered ${res.status}.`, p.errors ?? []);
    } catch {
      // fall through to the generic message
    }
  }
  return new ApiError(res.status, 'unknown', `The service answered ${res.status} ${res.statusText}. Try again; if it persists, tell your administrator.`);
}

export async function call<T>(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers[csrf.header] = csrf.token;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network', 'The service could not be reached. Check your connection and try again.');
  }
  if (!res.ok) throw await problemOf(res);
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

export const signIn = (apiKey: string) => call<Me>('POST', '/console/session', { api_key: apiKey });
export const whoAmI = () => call<Me>('GET', '/console/session');
export const signOut = () => call<void>('DELETE', '/console/session');
