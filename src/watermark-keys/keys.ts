// Per-subject watermark keys: 32 random bytes each (never derived: one leak must not expose all),
// stored only wrapped, published only as a commitment.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { TAG } from '../crypto/domains.js';
import type { Database } from '../db/schema.js';
import { keyCommitment } from '../watermark/decide.js';
import type { KeyEncryptionKey } from './kek.js';

export interface NewWatermarkKey {
  keyId: string;
  version: number;
  commitment: string;
  wrapped: Buffer;
  kekId: string;
}

export interface WatermarkKeyInfo {
  subject: string;
  version: number;
  keyId: string;
  commitment: string;
  assignedAt: Date;
  reason: string;
  ledgerSeq: number;
  eventId: string;
}

export function wrapAad(subject: string, version: number, keyId: string): Buffer {
  return Buffer.from(`${TAG.wmKeyWrap}\0${subject}\0${version}\0${keyId}`, 'utf8');
}

/** Makes a fresh key; the plaintext lives only inside this call. */
export function newWatermarkKey(kek: KeyEncryptionKey, subject: string, version: number): NewWatermarkKey {
  const key = randomBytes(32);
  const keyId = randomUUID();
  try {
    return { keyId, version, commitment: keyCommitment(keyId, key), wrapped: kek.wrap(key, wrapAad(subject, version, keyId)), kekId: kek.id };
  } finally {
    key.fill(0);
  }
}

export class WatermarkKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async current(subject: string): Promise<WatermarkKeyInfo | undefined> {
    const r = await this.db
      .selectFrom('watermark_keys')
      .select(['subject', 'version', 'key_id', 'commitment', 'assigned_at', 'reason', 'ledger_seq', 'event_id'])
      .where('subject', '=', subject)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r ? toInfo(r) : undefined;
  }

  async all(subject: string): Promise<WatermarkKeyInfo[]> {
    const rows = await this.db
      .selectFrom('watermark_keys')
      .select(['subject', 'version', 'key_id', 'commitment', 'assigned_at', 'reason', 'ledger_seq', 'event_id'])
      .where('subject', '=', subject)
      .orderBy('version')
      .execute();
    return rows.map(toInfo);
  }

  /** The secret column is read only here, for the gateway decision and verification paths. */
  async unwrapped(kek: KeyEncryptionKey, subjects: string[], version?: number): Promise<Map<string, { key: Buffer; info: { version: number; keyId: string; commitment: string } }>> {
    const out = new Map<string, { key: Buffer; info: { version: number; keyId: string; commitment: string } }>();
    if (subjects.length === 0) return out;
    let q = this.db.selectFrom('watermark_keys').select(['subject', 'version', 'key_id', 'commitment', 'wrapped']).where('subject', 'in', subjects);
    if (version !== undefined) q = q.where('version', '=', version);
    const rows = await q.orderBy('subject').orderBy('version').execute();
    for (const r of rows) {
      // Later versions overwrite earlier: the map holds the current (or requested) version.
      out.set(r.subject, { key: kek.unwrap(r.wrapped, wrapAad(r.subject, r.version, r.key_id)), info: { version: r.version, keyId: r.key_id, commitment: r.commitment } });
    }
    return out;
  }
}

function toInfo(r: { subject: string; version: number; key_id: string; commitment: string; assigned_at: Date; reason: string; ledger_seq: string; event_id: string }): WatermarkKeyInfo {
  return { subject: r.subject, version: r.version, keyId: r.key_id, commitment: r.commitment, assignedAt: new Date(r.assigned_at), reason: r.reason, ledgerSeq: Number(r.ledger_seq), eventId: r.event_id };
}
