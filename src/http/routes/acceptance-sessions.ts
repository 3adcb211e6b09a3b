import { isIP } from 'node:net';
import { z } from 'zod';
import type { Request } from 'express';
import { CreateSessionBody, DecisionBody, SessionToken } from '../../acceptance-sessions/schemas.js';
import type { AcceptanceSessionService, WidgetRequest } from '../../acceptance-sessions/service.js';
import { Uuid } from '../../validation/fields.js';
import {
  CreatedSessionJson, createdSessionJson, DecisionJson, decisionJson, SessionStatusJson, sessionStatusJson, WidgetSessionJson, widgetSessionJson,
} from '../presenters/acceptance-sessions.js';
import { defineRoute, type AnyRoute } from '../route.js';

/** Paths the browser calls from the customer's page: the only ones with CORS (http/widget.ts). */
export const WIDGET_API_PREFIX = '/v1/widget/';

const TokenParams = z.strictObject({ token: SessionToken });

/**
 * What the service observes of a widget request itself: its origin, address and user agent. The
 * address is the peer's, or with ASSENTMARK_TRUST_PROXY the client's as the trusted proxies forwarded
 * it; an entry there that is not an address (a proxy passing a client's header through) is not
 * recorded: the peer's address is.
 */
function widgetRequest(req: Request): WidgetRequest {
  const peer = req.socket.remoteAddress ?? '';
  // (A zone index, fe80::1%eth0, is an address to node:net but not to the assent record's schema.)
  const ip = (req.ip !== undefined && isIP(req.ip) && !req.ip.includes('%') ? req.ip : peer).replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  return { origin: req.get('origin'), ip, userAgent: req.get('user-agent') || '(none sent)' };
}

export function acceptanceSessionRoutes(sessions: AcceptanceSessionService): AnyRoute[] {
  const refusals = {
    403: { description: 'Used from another origin than the session\'s (`acceptance_session_wrong_origin`)' },
    404: { description: 'Unknown session token (`acceptance_session_not_found`)' },
    409: { description: 'The session was already used (`acceptance_session_used`)' },
    410: { description: 'The session expired (`acceptance_session_expired`)' },
  };
  return [
    defineRoute({
      method: 'post', path: '/v1/acceptance-sessions', tag: 'Acceptance sessions', access: ['signup'], body: CreateSessionBody,
      summary: 'Create a short-lived session for the embedded consent widget',
      description: 'Your backend binds a subject to a EULA version (default: the one in effect) for `ttl_seconds`. Put the returned `session` token in the widget\'s `data-session` (docs/widget.md); the browser never holds an API key. The widget shows the exact text, records an `acceptance.displayed` event and then the acceptance or decline, once.',
      responses: { 201: { description: 'Created', schema: CreatedSessionJson }, 404: { description: 'No such EULA, or none in effect' }, 422: { description: 'Unknown version, or a version not yet in effect' } },
      handler: async ({ body, principal, req }) => {
        const { session, token } = await sessions.create(body, principal!);
        return { status: 201, body: createdSessionJson(session, token, `${req.protocol}://${req.get('host') ?? 'localhost'}/widget.js`), headers: { Location: `/v1/acceptance-sessions/${session.id}` } };
      },
    }),
    defineRoute({
      method: 'get', path: '/v1/acceptance-sessions/:id', tag: 'Acceptance sessions', access: ['signup', 'admin'], params: z.strictObject({ id: Uuid }),
      summary: 'A session\'s state: open, used (with the decision it recorded) or expired',
      responses: { 200: { description: 'The session', schema: SessionStatusJson }, 404: { description: 'No such session created with this key' } },
      handler: async ({ params, principal }) => ({ body: sessionStatusJson(await sessions.status(params.id, principal!)) }),
    }),
    defineRoute({
      method: 'get', path: `${WIDGET_API_PREFIX}sessions/:token`, tag: 'Consent widget', access: 'public', params: TokenParams,
      summary: 'What the widget shows: the exact EULA text and the session\'s wording',
      description: 'Called by widget.js from the customer\'s page (CORS), authorised by the session token alone.',
      responses: { 200: { description: 'The text and wording', schema: WidgetSessionJson }, ...refusals },
      handler: async ({ params, req }) => ({ body: widgetSessionJson(await sessions.open(params.token, widgetRequest(req))), headers: { 'Cache-Control': 'no-store' } }),
    }),
    defineRoute({
      method: 'post', path: `${WIDGET_API_PREFIX}sessions/:token/decision`, tag: 'Consent widget', access: 'public', params: TokenParams, body: DecisionBody,
      summary: 'Record what the widget showed and the user\'s acceptance or decline',
      description: 'Appends an `acceptance.displayed` event with the presentation manifest, then the acceptance or decline through the assent service (the same event and receipt as POST /v1/acceptances, recorded by the key that created the session). The client\'s address and user agent are the request\'s own. Once per session.',
      responses: { 201: { description: 'Recorded', schema: DecisionJson }, ...refusals, 422: { description: 'The text hash or the wording does not match the session (`text_hash_mismatch`, `presentation_mismatch`)' } },
      handler: async ({ params, body, req }) => ({ status: 201, body: decisionJson(await sessions.decide(params.token, body, widgetRequest(req))), headers: { 'Cache-Control': 'no-store' } }),
    }),
  ];
}
