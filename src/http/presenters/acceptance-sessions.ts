// Responses of the acceptance-session routes (the customer's backend) and the widget's routes (the browser).
import { z } from 'zod';
import type { AcceptanceSession } from '../../acceptance-sessions/repository.js';
import type { Decision, SessionStatus, SessionView } from '../../acceptance-sessions/service.js';
import { AssentJson, assentJson } from './assent.js';
import { LedgerRef } from './common.js';

const SessionFields = {
  id: z.string().describe('The session id, for your backend (GET /v1/acceptance-sessions/{id}); not the widget\'s token'),
  subject: z.string(),
  slug: z.string(),
  version: z.string(),
  origin: z.string(),
  consent_text: z.string(),
  accept_text: z.string(),
  decline_text: z.string(),
  created_at: z.string(),
  expires_at: z.string(),
};

function sessionFields(s: AcceptanceSession) {
  return {
    id: s.id, subject: s.subject, slug: s.slug, version: s.version, origin: s.origin, consent_text: s.consentText,
    accept_text: s.acceptText, decline_text: s.declineText, created_at: s.createdAt.toISOString(), expires_at: s.expiresAt.toISOString(),
  };
}

export const CreatedSessionJson = z.object({
  ...SessionFields,
  session: z.string().describe('The widget\'s token: put it in data-session. Shown once; used once; expires at expires_at'),
  embed: z.string().describe('The two lines to put in the signup page'),
});

export function createdSessionJson(s: AcceptanceSession, token: string, widgetUrl: string): z.infer<typeof CreatedSessionJson> {
  return { ...sessionFields(s), session: token, embed: `<div id="assentmark-consent"></div>\n<script src="${widgetUrl}" data-session="${token}" data-target="assentmark-consent" async></script>` };
}

export const SessionStatusJson = z.object({
  ...SessionFields,
  state: z.enum(['open', 'used', 'expired']),
  decision: z.enum(['accepted', 'declined']).nullable(),
  record_id: z.string().nullable().describe('The acceptance or decline it recorded (GET /v1/acceptances/{id})'),
  displayed: LedgerRef.nullable().describe('The acceptance.displayed entry'),
});

export function sessionStatusJson(st: SessionStatus): z.infer<typeof SessionStatusJson> {
  return {
    ...sessionFields(st.session), state: st.state, decision: st.use?.decision ?? null, record_id: st.recordId,
    displayed: st.use ? { seq: st.use.ledgerSeq, event_id: st.use.eventId } : null,
  };
}

export const WidgetSessionJson = z.object({
  title: z.string(),
  slug: z.string(),
  version: z.string(),
  text: z.string().describe('The exact text, as published'),
  text_sha256: z.string(),
  consent_text: z.string(),
  accept_text: z.string(),
  decline_text: z.string(),
  expires_at: z.string(),
});

export function widgetSessionJson(v: SessionView): z.infer<typeof WidgetSessionJson> {
  const { session: s, eula } = v;
  return {
    title: eula.title, slug: eula.slug, version: eula.version, text: eula.text, text_sha256: eula.textSha256,
    consent_text: s.consentText, accept_text: s.acceptText, decline_text: s.declineText, expires_at: s.expiresAt.toISOString(),
  };
}

export const DecisionJson = z.object({
  decision: z.enum(['accepted', 'declined']),
  displayed: LedgerRef.describe('The acceptance.displayed entry'),
  record: AssentJson.describe('The acceptance or decline, with its signed receipt; its openings are of the facts the browser sent (not the `session` group: the site\'s session id came from its backend)'),
});

export function decisionJson(d: Decision): z.infer<typeof DecisionJson> {
  const record = assentJson(d.recorded);
  // The browser is told what it sent; the auth facts (the site's own session id) came from the
  // site's backend when it created the session, and stay with it (GET /v1/acceptances/{id}).
  const receipt = { ...record.receipt, openings: record.receipt.openings.filter((o) => o.group !== 'session') };
  return { decision: d.kind, displayed: { seq: d.displayed.seq, event_id: d.displayed.eventId }, record: { ...record, receipt } };
}
