// Acceptance sessions: the customer's backend (role signup) binds a subject to a EULA version for a
// few minutes; the embedded widget, holding only the session token, shows that version's exact text
// and records what it showed (acceptance.displayed) and the user's decision, through the assent
// service, so the decision is the same acceptance.recorded / acceptance.declined event with the
// same receipt as any other. A session is used once, and never after it expires.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '../auth/api-keys.js';
import { TAG, tagBytes } from '../crypto/domains.js';
import { constantTimeEqual, sha256 } from '../crypto/hash.js';
import { isUniqueViolation } from '../db/errors.js';
import type { EulaService, EulaVersion } from '../eula/service.js';
import { buildSealedEvent, type Sealer } from '../ledger/events.js';
import type { Ledger } from '../ledger/ledger.js';
import { AppError } from '../problems/app-error.js';
import { validate } from '../validation/validate.js';
import { eulaRef } from '../assent/payloads.js';
import type { IdempotencyRepository } from '../idempotency/repository.js';
import { AssentBody, type AssentInput } from '../assent/schemas.js';
import type { AssentService, RecordedAssent } from '../assent/service.js';
import type { AcceptanceSession, AcceptanceSessionRepository } from './repository.js';
import { SESSION_TTL_DEFAULT_S, type CreateSessionInput, type DecisionInput } from './schemas.js';
import type { AcceptanceSessionUseRepository, SessionUse } from './use-repository.js';

const TOKEN_DOMAIN = tagBytes(TAG.acceptanceSession);

function tokenHash(token: string): Buffer {
  return sha256(TOKEN_DOMAIN, Buffer.from(token, 'utf8'));
}

/** The Idempotency-Key a session's decision is recorded under (scoped to the key that created the session). */
export function sessionIdempotencyKey(sessionId: string): string {
  return `acceptance-session:${sessionId}`;
}

export interface CreatedSession {
  session: AcceptanceSession;
  /** The widget's capability: shown once, stored only as its hash. */
  token: string;
}

/** What the widget shows. */
export interface SessionView {
  session: AcceptanceSession;
  eula: EulaVersion;
}

export type SessionState = 'open' | 'used' | 'expired';

export interface SessionStatus {
  session: AcceptanceSession;
  state: SessionState;
  use: SessionUse | null;
  /** The acceptance or decline the session recorded. */
  recordId: string | null;
}

/** Facts of the widget's request the service observes itself (never taken from the browser's body). */
export interface WidgetRequest {
  /** The Origin header, when the browser sent one. */
  origin: string | undefined;
  ip: string;
  userAgent: string;
}

export interface Decision {
  kind: 'accepted' | 'declined';
  displayed: { seq: number; eventId: string };
  recorded: RecordedAssent;
}

export interface AcceptanceSessionRepositories {
  sessions: AcceptanceSessionRepository;
  uses: AcceptanceSessionUseRepository;
  idempotency: IdempotencyRepository;
}

export class AcceptanceSessionService {
  constructor(
    private readonly repos: AcceptanceSessionRepositories,
    private readonly ledger: Ledger,
    private readonly eulas: EulaService,
    private readonly assent: AssentService,
    /** Seals the personal facts of acceptance.displayed (docs/personal-data.md). */
    private readonly sealer: Sealer,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(input: CreateSessionInput, principal: Principal): Promise<CreatedSession> {
    const eula = await this.#version(input.slug, input.version);
    const createdAt = this.now();
    // The user will accept at the end of the session: a version not in force then cannot be accepted.
    this.eulas.refuseNotInEffect(eula, createdAt);
    const token = `ams_${randomBytes(32).toString('base64url')}`;
    const session: AcceptanceSession = {
      id: randomUUID(),
      tokenSha256: tokenHash(token),
      subject: input.subject,
      eulaId: eula.id,
      slug: eula.slug,
      version: eula.version,
      origin: input.origin,
      consentText: input.consent_text ?? `I have read and agree to the ${eula.title}.`,
      acceptText: input.accept_text ?? 'Accept',
      declineText: input.decline_text ?? 'Decline',
      auth: input.auth,
      createdBy: { keyId: principal.keyId, name: principal.name },
      createdAt,
      expiresAt: new Date(createdAt.getTime() + (input.ttl_seconds ?? SESSION_TTL_DEFAULT_S) * 1000),
    };
    await this.repos.sessions.insert(session);
    return { session, token };
  }

  /** A session as the backend that created it sees it: open, used (with its record) or expired. */
  async status(id: string, principal: Principal): Promise<SessionStatus> {
    const session = await this.repos.sessions.byId(id);
    // Another customer's key learns nothing about the session, not even that it exists.
    if (!session || (principal.role !== 'admin' && session.createdBy.keyId !== principal.keyId)) {
      throw new AppError('acceptance_session_not_found', `no acceptance session with id ${id} was created with this API key`);
    }
    const use = (await this.repos.uses.find(session.id)) ?? null;
    const prior = use ? await this.repos.idempotency.find(session.createdBy.keyId, sessionIdempotencyKey(session.id)) : undefined;
    const state: SessionState = use ? 'used' : session.expiresAt.getTime() <= this.now().getTime() ? 'expired' : 'open';
    return { session, state, use, recordId: prior?.recordId ?? null };
  }

  /** The text and wording the widget shows, for an open session used from its origin. */
  async open(token: string, req: Pick<WidgetRequest, 'origin'>): Promise<SessionView> {
    const session = await this.#usable(token, req.origin);
    return { session, eula: await this.eulas.get(session.slug, session.version) };
  }

  /**
   * Records what the widget showed and the user's decision. Everything the browser sent is checked
   * before anything is written; the session's use is claimed in the displayed event's transaction,
   * so of parallel uses exactly one is recorded.
   */
  async decide(token: string, body: DecisionInput, req: WidgetRequest): Promise<Decision> {
    const session = await this.#usable(token, req.origin);
    const eula = await this.eulas.get(session.slug, session.version);
    const m = body.manifest;
    if (m.text_sha256 !== eula.textSha256) {
      throw new AppError('text_hash_mismatch', `the widget rendered text with SHA-256 ${m.text_sha256}, but ${eula.slug} ${eula.version} has SHA-256 ${eula.textSha256}: the user saw other text than the published version. Nothing was recorded; reload the widget.`, { expected_text_sha256: eula.textSha256 });
    }
    const wording: Array<[string, string, string]> = [['consent_text', m.consent_text, session.consentText], ['accept_text', m.accept_text, session.acceptText], ['decline_text', m.decline_text, session.declineText]];
    const differs = wording.filter(([, shown, set]) => shown !== set).map(([field]) => field);
    if (differs.length) {
      throw new AppError('presentation_mismatch', `the widget reports other wording than the session set (${differs.join(', ')}): the record would not say what the user saw. Nothing was recorded; reload the widget.`, { errors: differs.map((field) => ({ field: `manifest.${field}`, message: 'differs from the session' })) });
    }
    if (new URL(body.page_url).origin !== session.origin) {
      throw new AppError('acceptance_session_wrong_origin', `page_url is not on ${session.origin}, the origin this session was created for. Nothing was recorded.`);
    }
    const kind = body.decision === 'accept' ? 'accepted' : 'declined';
    const input: AssentInput = validate(AssentBody, {
      subject: session.subject, slug: session.slug, version: session.version, shown_text_sha256: m.text_sha256,
      consent_text: session.consentText, button_text: kind === 'accepted' ? session.acceptText : session.declineText,
      page_url: body.page_url, locale: body.locale, client_time: body.client_time, ip: req.ip, user_agent: req.userAgent,
      auth: session.auth, method: kind === 'accepted' ? 'checkbox' : 'button',
    }, 'body');
    const serverTime = this.now();
    if (kind === 'accepted') this.eulas.refuseNotInEffect(eula, serverTime);

    const event = buildSealedEvent(this.sealer, 'acceptance.displayed', {
      session_id: session.id, subject: session.subject, eula: eulaRef(eula), manifest: m,
      page_url: body.page_url, locale: body.locale, client_time: new Date(body.client_time).toISOString(),
      client: { ip: req.ip, user_agent: req.userAgent }, auth: session.auth,
      session: { created_at: session.createdAt.toISOString(), expires_at: session.expiresAt.toISOString(), origin: session.origin },
      recorded_by: { api_key_id: session.createdBy.keyId, name: session.createdBy.name }, server_time: serverTime.toISOString(),
    }, session.subject, { time: serverTime });
    let seq: number;
    try {
      const positions = await this.ledger.append({ events: [event], rows: (pos) => [this.repos.uses.row({ sessionId: session.id, decision: kind, usedAt: serverTime }, pos[0]!)] });
      seq = positions[0]!.seq;
    } catch (e) {
      if (isUniqueViolation(e, 'acceptance_session_uses')) throw used();
      throw e;
    }
    const principal: Principal = { keyId: session.createdBy.keyId, name: session.createdBy.name, role: 'signup' };
    const displayed = { session_id: session.id, event_id: event.id, seq };
    const idem = sessionIdempotencyKey(session.id);
    const result = kind === 'accepted' ? await this.assent.accept(input, principal, idem, displayed) : await this.assent.decline(input, principal, idem, displayed);
    // The session's key was used before (only by a backend that reused it by hand): this use recorded nothing.
    if (result.replayed) throw used();
    return { kind, displayed: { seq, eventId: event.id }, recorded: result.recorded };
  }

  async #version(slug: string, version: string | undefined): Promise<EulaVersion> {
    if (version === undefined) return (await this.eulas.current(slug)).current;
    const eula = await this.eulas.find(slug, version);
    if (!eula) throw new AppError('unknown_eula_version', `no version "${version}" of EULA "${slug}" has been published`, { errors: [{ field: 'version', message: 'is not a published version of this slug' }] });
    return eula;
  }

  async #usable(token: string, origin: string | undefined): Promise<AcceptanceSession> {
    const h = tokenHash(token);
    const session = await this.repos.sessions.byTokenHash(h);
    // Found by its hash through the index; compared again in constant time before it is trusted.
    if (!session || !constantTimeEqual(session.tokenSha256, h)) {
      throw new AppError('acceptance_session_not_found', 'This consent form is not valid: the page was given an unknown session. Reload the page; if this persists, the site must create a new acceptance session.');
    }
    if (origin !== undefined && origin !== session.origin) {
      throw new AppError('acceptance_session_wrong_origin', `This consent form was made for ${session.origin} and cannot be used on ${origin}. Nothing was recorded.`);
    }
    if (await this.repos.uses.find(session.id)) throw used();
    if (session.expiresAt.getTime() <= this.now().getTime()) {
      throw new AppError('acceptance_session_expired', `This consent form expired at ${session.expiresAt.toISOString()}. Nothing was recorded. Reload the page to get a new one.`, { expires_at: session.expiresAt.toISOString() });
    }
    return session;
  }
}

function used(): AppError {
  return new AppError('acceptance_session_used', 'This consent form has already been used: your answer was recorded once and cannot be given again with the same form. Nothing more was recorded. Reload the page if you need to answer again.');
}
