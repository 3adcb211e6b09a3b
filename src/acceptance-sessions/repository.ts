// acceptance_sessions: what a customer's backend asked the widget to show one subject, for how long.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { fromJson } from '../db/rows.js';

export interface AcceptanceSession {
  id: string;
  tokenSha256: Buffer;
  subject: string;
  eulaId: string;
  slug: string;
  version: string;
  origin: string;
  consentText: string;
  acceptText: string;
  declineText: string;
  auth: { method: string; session_id: string; mfa: boolean };
  createdBy: { keyId: string; name: string };
  createdAt: Date;
  expiresAt: Date;
}

const COLUMNS = ['id', 'token_sha256', 'subject', 'eula_id', 'slug', 'version', 'origin', 'consent_text', 'accept_text', 'decline_text', 'auth', 'created_by_key_id', 'created_by_name', 'created_at', 'expires_at'] as const;

export class AcceptanceSessionRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(s: AcceptanceSession): Promise<void> {
    await this.db.insertInto('acceptance_sessions').values({
      id: s.id, token_sha256: s.tokenSha256, subject: s.subject, eula_id: s.eulaId, slug: s.slug, version: s.version, origin: s.origin,
      consent_text: s.consentText, accept_text: s.acceptText, decline_text: s.declineText, auth: JSON.stringify(s.auth),
      created_by_key_id: s.createdBy.keyId, created_by_name: s.createdBy.name, created_at: s.createdAt, expires_at: s.expiresAt,
    }).execute();
  }

  async byTokenHash(h: Buffer): Promise<AcceptanceSession | undefined> {
    const r = await this.db.selectFrom('acceptance_sessions').select(COLUMNS).where('token_sha256', '=', h).executeTakeFirst();
    return r ? toSession(r) : undefined;
  }

  async byId(id: string): Promise<AcceptanceSession | undefined> {
    const r = await this.db.selectFrom('acceptance_sessions').select(COLUMNS).where('id', '=', id).executeTakeFirst();
    return r ? toSession(r) : undefined;
  }
}

type Row = { id: string; token_sha256: Buffer; subject: string; eula_id: string; slug: string; version: string; origin: string; consent_text: string; accept_text: string; decline_text: string; auth: AcceptanceSession['auth'] | string; created_by_key_id: string; created_by_name: string; created_at: Date; expires_at: Date };

function toSession(r: Row): AcceptanceSession {
  return {
    id: r.id, tokenSha256: Buffer.from(r.token_sha256), subject: r.subject, eulaId: r.eula_id, slug: r.slug, version: r.version, origin: r.origin,
    consentText: r.consent_text, acceptText: r.accept_text, declineText: r.decline_text, auth: fromJson(r.auth),
    createdBy: { keyId: r.created_by_key_id, name: r.created_by_name }, createdAt: new Date(r.created_at), expiresAt: new Date(r.expires_at),
  };
}
