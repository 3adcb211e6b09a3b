// Assent: acceptances, declines and withdrawals. Each is one ledger event written atomically with
// its working row, its idempotency record and (on a first acceptance) the subject's watermark key.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { canonicalBytes } from '../canonical/jcs.js';
import { sha256Hex } from '../crypto/hash.js';
import { SCHEME } from '../crypto/domains.js';
import type { AssentKind, Database } from '../db/schema.js';
import { isUniqueViolation } from '../db/errors.js';
import type { EulaService, EulaVersion } from '../eula/service.js';
import type { Ledger } from '../ledger/ledger.js';
import { prepareEvent, type EventType, type LedgerEntry, type PreparedEvent } from '../ledger/format.js';
import type { Position, WorkingRow } from '../ledger/appender.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';
import { newWatermarkKey, WatermarkKeyRepository, type NewWatermarkKey, type WatermarkKeyInfo } from '../watermark-keys/keys.js';
import type { Principal } from '../auth/api-keys.js';
import { AppError } from '../problems/app-error.js';
import { buildReceipt, type Receipt } from './receipt.js';
import type { AssentInput, WithdrawalInput } from './schemas.js';

const EVENT_OF: Record<AssentKind, EventType> = {
  accepted: 'acceptance.recorded',
  declined: 'acceptance.declined',
  withdrawn: 'acceptance.withdrawn',
};

export interface AssentResponse {
  status: number;
  body: Record<string, unknown>;
  replayed: boolean;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

interface PriorUse {
  request_sha256: string;
  record_id: string;
}

export class AssentService {
  readonly keys: WatermarkKeyRepository;
  readonly #lookups: LookupBatcher;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly ledger: Ledger,
    private readonly eulas: EulaService,
    private readonly kek: KeyEncryptionKey,
    /** Told when a subject's assent or key changes, so caches drop it. */
    private readonly onSubjectChanged: (subject: string) => void = () => {},
  ) {
    this.keys = new WatermarkKeyRepository(db);
    this.#lookups = new LookupBatcher(db);
  }

  static checkIdempotencyKey(k: string | undefined): string {
    if (k === undefined) throw new AppError('idempotency_key_missing', 'send an Idempotency-Key header (a unique value per logical request, e.g. a UUID) so retries cannot record twice');
    if (!IDEMPOTENCY_KEY.test(k)) throw new AppError('idempotency_key_invalid', 'the Idempotency-Key header must be 1-255 printable ASCII characters without spaces');
    return k;
  }

  async accept(input: AssentInput, principal: Principal, idemKey: string): Promise<AssentResponse> {
    return this.#record('accepted', input, principal, idemKey);
  }

  async decline(input: AssentInput, principal: Principal, idemKey: string): Promise<AssentResponse> {
    return this.#record('declined', input, principal, idemKey);
  }

  async withdraw(input: WithdrawalInput, principal: Principal, idemKey: string): Promise<AssentResponse> {
    const requestHash = sha256Hex(canonicalBytes({ kind: 'withdrawn', ...input }));
    const replay = await this.#replay(principal, idemKey, requestHash);
    if (replay) return replay;
    const last = await this.db
      .selectFrom('assent_records')
      .select(['kind', 'eula_id', 'slug', 'version'])
      .where('subject', '=', input.subject)
      .where('slug', '=', input.slug)
      .orderBy('ledger_seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!last || last.kind !== 'accepted') {
      throw new AppError('nothing_to_withdraw', `subject has no standing acceptance of "${input.slug}" to withdraw${last ? ` (latest record: ${last.kind})` : ''}`);
    }
    const eula = await this.eulas.get(input.slug, last.version);
    const data = {
      subject: input.subject,
      eula: eulaRef(eula),
      reason: input.reason,
      client_time: new Date(input.client_time).toISOString(),
      client: { ip: input.ip, user_agent: input.user_agent },
      auth: input.auth,
      method: input.method,
    };
    return this.#append('withdrawn', input.subject, eula, data, null, principal, idemKey, requestHash);
  }

  async #record(kind: 'accepted' | 'declined', input: AssentInput, principal: Principal, idemKey: string, attempt = 0): Promise<AssentResponse> {
    const requestHash = sha256Hex(canonicalBytes({ kind, ...input }));
    // Both reads the request needs, in one query shared with concurrent requests (LookupBatcher):
    // a prior use of the Idempotency-Key and (for an acceptance) the subject's current watermark key.
    const { prior, key: currentKey } = await this.#lookup(principal, idemKey, kind === 'accepted' ? input.subject : null);
    const replay = await this.#replayOf(prior, requestHash);
    if (replay) return replay;

    const eula = await this.eulas.find(input.slug, input.version);
    if (!eula) {
      throw new AppError('unknown_eula_version', `no version "${input.version}" of EULA "${input.slug}" has been published`, { errors: [{ field: 'version', message: 'is not a published version of this slug' }] });
    }
    if (input.shown_text_sha256 !== eula.textSha256) {
      throw new AppError('text_hash_mismatch', `shown_text_sha256 ${input.shown_text_sha256} is not the SHA-256 of ${input.slug} ${input.version} (${eula.textSha256}): the page showed different text than the published version. Nothing was recorded.`, { expected_text_sha256: eula.textSha256 });
    }
    const data: Record<string, unknown> = {
      subject: input.subject,
      eula: eulaRef(eula),
      shown_text_sha256: input.shown_text_sha256,
      presentation: { consent_text: input.consent_text, button_text: input.button_text, page_url: input.page_url, locale: input.locale },
      client_time: new Date(input.client_time).toISOString(),
      client: { ip: input.ip, user_agent: input.user_agent },
      auth: input.auth,
      method: input.method,
    };
    let newKey: NewWatermarkKey | null = null;
    let existing: WatermarkKeyInfo | undefined;
    if (kind === 'accepted') {
      existing = currentKey;
      if (!existing) newKey = newWatermarkKey(this.kek, input.subject, 1);
    }
    try {
      return await this.#append(kind, input.subject, eula, data, newKey ?? existing ?? null, principal, idemKey, requestHash);
    } catch (e) {
      // Two first acceptances of one subject raced for key version 1: the loser retries and finds the key.
      if (attempt === 0 && isUniqueViolation(e, 'watermark_keys')) return this.#record(kind, input, principal, idemKey, 1);
      throw e;
    }
  }

  async #append(kind: AssentKind, subject: string, eula: EulaVersion, data: Record<string, unknown>, key: NewWatermarkKey | WatermarkKeyInfo | null, principal: Principal, idemKey: string, requestHash: string): Promise<AssentResponse> {
    const recordId = randomUUID();
    const now = new Date();
    const events: PreparedEvent[] = [];
    const assentEventId = randomUUID();
    // A key with `wrapped` is new and is assigned by this append; otherwise it is the subject's current key.
    const newKey = key && 'wrapped' in key ? key : null;
    const keyFacts = key ? { version: key.version, key_id: key.keyId, commitment: key.commitment, event_id: 'eventId' in key ? key.eventId : randomUUID() } : null;
    events.push(prepareEvent(EVENT_OF[kind], {
      record_id: recordId,
      ...data,
      ...(keyFacts ? { watermark_key: keyFacts } : {}),
      recorded_by: { api_key_id: principal.keyId, name: principal.name },
      idempotency_key: idemKey,
      server_time: now.toISOString(),
    }, { id: assentEventId, time: now }));
    if (newKey && keyFacts) {
      events.push(prepareEvent('watermark_key.assigned', {
        subject,
        key_version: newKey.version,
        key_id: newKey.keyId,
        commitment: newKey.commitment,
        commitment_scheme: SCHEME.keyCommitment,
        acceptance_event_id: assentEventId,
        kek_id: newKey.kekId,
      }, { id: keyFacts.event_id, time: now }));
    }
    const rows = (pos: Position[]): WorkingRow[] => {
      const out: WorkingRow[] = [{
        table: 'assent_records',
        values: { id: recordId, kind, subject, eula_id: eula.id, slug: eula.slug, version: eula.version, server_time: now, record: JSON.stringify(data), key_version: keyFacts?.version ?? null, key_commitment: keyFacts?.commitment ?? null, ledger_seq: pos[0]!.seq, event_id: pos[0]!.eventId },
      }];
      if (newKey) {
        out.push({
          table: 'watermark_keys',
          values: { subject, version: newKey.version, key_id: newKey.keyId, kek_id: newKey.kekId, wrapped: newKey.wrapped, commitment: newKey.commitment, assigned_at: now, reason: 'first acceptance', ledger_seq: pos[1]!.seq, event_id: pos[1]!.eventId },
        });
      }
      out.push({ table: 'idempotency_keys', values: { scope: principal.keyId, key: idemKey, request_sha256: requestHash, record_id: recordId } });
      return out;
    };
    let positions: Position[];
    try {
      positions = await this.ledger.append({ events, rows });
    } catch (e) {
      if (isUniqueViolation(e, 'idempotency_keys')) {
        // A concurrent request with the same key won; answer as its retry.
        const replay = await this.#replay(principal, idemKey, requestHash);
        if (replay) return replay;
      }
      throw e;
    }
    this.onSubjectChanged(subject);
    const p = positions[0]!;
    const entry = { seq: p.seq, eventId: p.eventId, canonical: events[0]!.canonical, leafHash: p.leafHash, chainHash: p.chainHash };
    return { status: 201, body: this.#responseBody(entry, kind, recordId, newKey !== null), replayed: false };
  }

  /** The Idempotency-Key's prior use (if any) and, when `subject` is given, its current watermark key. */
  #lookup(principal: Principal, idemKey: string, subject: string | null): Promise<Lookup> {
    return this.#lookups.load({ scope: principal.keyId, key: idemKey, subject });
  }

  async #replay(principal: Principal, idemKey: string, requestHash: string): Promise<AssentResponse | null> {
    const prior = await this.db.selectFrom('idempotency_keys').select(['request_sha256', 'record_id']).where('scope', '=', principal.keyId).where('key', '=', idemKey).executeTakeFirst();
    return this.#replayOf(prior, requestHash);
  }

  /** The original answer to a prior use of the Idempotency-Key, or null when there was none. */
  async #replayOf(prior: PriorUse | undefined, requestHash: string): Promise<AssentResponse | null> {
    if (!prior) return null;
    if (prior.request_sha256 !== requestHash) {
      throw new AppError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request body; use a new key for a new request');
    }
    const { entry, kind, keyAssigned } = await this.#loadRecord(prior.record_id);
    return { status: 201, body: this.#responseBody(entry, kind, prior.record_id, keyAssigned), replayed: true };
  }

  async #loadRecord(id: string): Promise<{ entry: LedgerEntry; kind: AssentKind; subject: string; keyAssigned: boolean }> {
    const rec = await this.db.selectFrom('assent_records').select(['kind', 'subject', 'ledger_seq', 'key_version']).where('id', '=', id).executeTakeFirst();
    if (!rec) throw new AppError('record_not_found', `no acceptance, decline or withdrawal with id ${id}`);
    const entry = await this.ledger.repo.entry(Number(rec.ledger_seq));
    if (!entry) throw new Error(`ledger entry ${rec.ledger_seq} for record ${id} is missing`);
    const next = rec.kind === 'accepted' ? await this.ledger.repo.entry(Number(rec.ledger_seq) + 1) : undefined;
    const keyAssigned = !!next && next.eventType === 'watermark_key.assigned' && next.canonical.includes(Buffer.from(entry.eventId));
    return { entry, kind: rec.kind, subject: rec.subject, keyAssigned };
  }

  #responseBody(entry: Pick<LedgerEntry, 'seq' | 'eventId' | 'canonical' | 'leafHash' | 'chainHash'>, kind: AssentKind, recordId: string, keyAssigned: boolean): Record<string, unknown> {
    const receipt = buildReceipt(entry, this.ledger.origin, this.ledger.signingKey);
    const ev = receipt.payload.event as { data: Record<string, unknown>; time: string };
    const d = ev.data as { subject: string; eula: { slug: string; version: string }; watermark_key?: { version: number; commitment: string } };
    return {
      id: recordId,
      kind,
      subject: d.subject,
      slug: d.eula.slug,
      version: d.eula.version,
      server_time: ev.time,
      ledger: receipt.payload.ledger,
      ...(d.watermark_key ? { watermark_key: { version: d.watermark_key.version, commitment: d.watermark_key.commitment, newly_assigned: keyAssigned } } : {}),
      receipt,
    };
  }

  /** The signed receipt of any assent record, rebuilt from the ledger (identical bytes every time). */
  async receipt(id: string): Promise<Receipt> {
    const { entry } = await this.#loadRecord(id);
    return buildReceipt(entry, this.ledger.origin, this.ledger.signingKey);
  }

  async record(id: string): Promise<Record<string, unknown>> {
    const { entry, kind, keyAssigned } = await this.#loadRecord(id);
    return this.#responseBody(entry, kind, id, keyAssigned);
  }

  async listForSubject(subject: string): Promise<Array<Record<string, unknown>>> {
    const rows = await this.db.selectFrom('assent_records').select(['id', 'kind', 'slug', 'version', 'server_time', 'ledger_seq', 'event_id', 'key_version']).where('subject', '=', subject).orderBy('ledger_seq').execute();
    return rows.map((r) => ({ id: r.id, kind: r.kind, slug: r.slug, version: r.version, server_time: new Date(r.server_time).toISOString(), ledger: { seq: Number(r.ledger_seq), event_id: r.event_id }, key_version: r.key_version }));
  }

  /** Compliance gate: has the subject accepted the latest major version in effect, and not withdrawn since? */
  async status(subject: string, slug: string): Promise<Record<string, unknown>> {
    const { current, requiredMajor, history } = await this.eulas.current(slug);
    const order = new Map(history.map((v, i) => [v.version, i]));
    const rows = await this.db.selectFrom('assent_records').select(['id', 'kind', 'version', 'server_time', 'ledger_seq']).where('subject', '=', subject).where('slug', '=', slug).orderBy('ledger_seq').execute();
    let standing: (typeof rows)[number] | undefined;
    for (const r of rows) {
      if (r.kind === 'accepted') standing = r;
      else if (r.kind === 'withdrawn') standing = undefined;
    }
    const requiredIdx = order.get(requiredMajor.version)!;
    const compliant = !!standing && (order.get(standing.version) ?? -1) >= requiredIdx;
    const last = rows.at(-1);
    let reason: string;
    if (compliant) reason = standing!.version === current.version ? 'accepted the current version' : `accepted ${standing!.version}; later versions are minor changes`;
    else if (last?.kind === 'withdrawn') reason = 'withdrew assent';
    else if (standing) reason = `accepted ${standing.version}, but major version ${requiredMajor.version} requires accepting again`;
    else if (rows.some((r) => r.kind === 'declined')) reason = 'declined and has not accepted';
    else reason = 'has never accepted';
    return {
      subject,
      slug,
      compliant,
      reason,
      current_version: current.version,
      required_version: requiredMajor.version,
      accepted: standing ? { version: standing.version, at: new Date(standing.server_time).toISOString(), record_id: standing.id, ledger_seq: Number(standing.ledger_seq) } : null,
      last_event: last ? { kind: last.kind, version: last.version, at: new Date(last.server_time).toISOString(), record_id: last.id } : null,
    };
  }

  /** A new key version for the subject; old versions stay for verifying past traffic. */
  async rotateKey(subject: string, reason: string, principal: Principal): Promise<Record<string, unknown>> {
    for (let attempt = 0; ; attempt++) {
      const prev = await this.keys.current(subject);
      if (!prev) throw new AppError('subject_has_no_key', `subject has no watermark key yet; one is assigned at its first acceptance`);
      const k = newWatermarkKey(this.kek, subject, prev.version + 1);
      const now = new Date();
      const ev = prepareEvent('watermark_key.rotated', {
        subject,
        key_version: k.version,
        key_id: k.keyId,
        commitment: k.commitment,
        previous: { key_version: prev.version, key_id: prev.keyId, commitment: prev.commitment },
        reason,
        rotated_by: { api_key_id: principal.keyId, name: principal.name },
        kek_id: k.kekId,
      }, { time: now });
      try {
        const [p] = await this.ledger.append({
          events: [ev],
          rows: ([pos]) => [{ table: 'watermark_keys', values: { subject, version: k.version, key_id: k.keyId, kek_id: k.kekId, wrapped: k.wrapped, commitment: k.commitment, assigned_at: now, reason, ledger_seq: pos!.seq, event_id: pos!.eventId } }],
        });
        this.onSubjectChanged(subject);
        return { subject, version: k.version, key_id: k.keyId, commitment: k.commitment, previous_version: prev.version, ledger: { seq: p!.seq, event_id: p!.eventId, leaf_hash: p!.leafHash.toString('hex'), chain_hash: p!.chainHash.toString('hex') } };
      } catch (e) {
        if (attempt === 0 && isUniqueViolation(e, 'watermark_keys')) continue;
        throw e;
      }
    }
  }
}

interface Lookup {
  prior: PriorUse | undefined;
  key: WatermarkKeyInfo | undefined;
}

interface LookupRequest {
  scope: string;
  key: string;
  subject: string | null;
  resolve: (l: Lookup) => void;
  reject: (e: unknown) => void;
}

/**
 * The reads an assent needs before it is appended (prior use of its Idempotency-Key; the subject's
 * current watermark key), for every request waiting at the moment, in one query. Requests that
 * arrive while queries are in flight join the next one, so under load each request costs a small
 * fraction of a round trip, and alone it costs one (after one turn of the event loop). Each
 * request reads what a query of its own would have read at that moment: nothing is cached.
 */
class LookupBatcher {
  static readonly MAX_IN_FLIGHT = 2;
  static readonly MAX_BATCH = 500;
  #queue: LookupRequest[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(private readonly db: Kysely<Database>) {}

  load(r: Omit<LookupRequest, 'resolve' | 'reject'>): Promise<Lookup> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ...r, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= LookupBatcher.MAX_IN_FLIGHT || this.#queue.length === 0) return;
    this.#scheduled = true;
    // Let the requests parsed in this turn of the event loop join the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#inFlight >= LookupBatcher.MAX_IN_FLIGHT) return;
    const batch = this.#queue.splice(0, LookupBatcher.MAX_BATCH);
    if (batch.length === 0) return;
    this.#inFlight++;
    try {
      const rows = await this.#query(batch);
      batch.forEach((b, i) => b.resolve(rows[i]!));
    } catch (e) {
      for (const b of batch) b.reject(e);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }

  async #query(batch: LookupRequest[]): Promise<Lookup[]> {
    const r = await sql<{ n: number; request_sha256: string | null; record_id: string | null; subject: string | null; version: number | null; key_id: string | null; commitment: string | null; assigned_at: Date | string | null; reason: string | null; ledger_seq: string | number | null; event_id: string | null }>`
      SELECT q.n, i.request_sha256, i.record_id, w.subject, w.version, w.key_id, w.commitment, w.assigned_at, w.reason, w.ledger_seq, w.event_id
      FROM unnest(${batch.map((_, n) => n)}::int[], ${batch.map((b) => b.scope)}::text[], ${batch.map((b) => b.key)}::text[], ${batch.map((b) => b.subject)}::text[]) AS q(n, scope, key, subject)
      LEFT JOIN idempotency_keys i ON i.scope = q.scope AND i.key = q.key
      LEFT JOIN LATERAL (
        SELECT subject, version, key_id, commitment, assigned_at, reason, ledger_seq, event_id
        FROM watermark_keys WHERE q.subject IS NOT NULL AND subject = q.subject
        ORDER BY version DESC LIMIT 1
      ) w ON true`.execute(this.db);
    const out: Lookup[] = batch.map(() => ({ prior: undefined, key: undefined }));
    for (const row of r.rows) {
      const o = out[Number(row.n)];
      if (!o) continue;
      if (row.request_sha256 !== null && row.record_id !== null) o.prior = { request_sha256: row.request_sha256, record_id: row.record_id };
      if (row.subject !== null && row.version !== null) {
        o.key = { subject: row.subject, version: row.version, keyId: row.key_id!, commitment: row.commitment!, assignedAt: new Date(row.assigned_at!), reason: row.reason!, ledgerSeq: Number(row.ledger_seq), eventId: row.event_id! };
      }
    }
    return out;
  }
}

function eulaRef(e: EulaVersion): Record<string, unknown> {
  return { id: e.id, slug: e.slug, version: e.version, text_sha256: e.textSha256, effective_at: e.effectiveAt.toISOString(), event_id: e.eventId };
}
