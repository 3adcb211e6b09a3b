// The widget's two calls to the service, authorised by the session token alone (no cookies, no API key).

export interface SessionText {
  title: string;
  slug: string;
  version: string;
  text: string;
  text_sha256: string;
  consent_text: string;
  accept_text: string;
  decline_text: string;
  expires_at: string;
}

export interface Manifest {
  widget: string;
  text_sha256: string;
  markup_sha256: string;
  viewport: { width: number; height: number; device_pixel_ratio: number };
  scrolled_to_end: boolean;
  time_on_screen_ms: number;
  consent_text: string;
  accept_text: string;
  decline_text: string;
}

export interface DecisionAnswer {
  decision: 'accepted' | 'declined';
  displayed: { seq: number; event_id: string };
  record: { id: string; server_time?: string; [k: string]: unknown };
}

/** A refusal, with the service's own explanation (problem+json `detail`) when it sent one. */
export class WidgetError extends Error {
  constructor(message: string, readonly code: string | null) {
    super(message);
  }
}

async function call<T>(url: string, init: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new WidgetError('The terms service could not be reached. Check your connection and try again.', null);
  }
  const body = (await res.json().catch(() => null)) as Record<string, unknown> | null;
  if (!res.ok) {
    const detail = typeof body?.detail === 'string' ? body.detail : `The terms service answered ${res.status}.`;
    throw new WidgetError(detail, typeof body?.code === 'string' ? body.code : null);
  }
  return body as T;
}

export function fetchSession(base: string, token: string): Promise<SessionText> {
  return call(`${base}/v1/widget/sessions/${encodeURIComponent(token)}`, { method: 'GET' });
}

export function sendDecision(base: string, token: string, body: { decision: 'accept' | 'decline'; manifest: Manifest; page_url: string; locale: string; client_time: string }): Promise<DecisionAnswer> {
  return call(`${base}/v1/widget/sessions/${encodeURIComponent(token)}/decision`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}
