// Assent: acceptances, declines and withdrawals. Each is one ledger event written atomically with
// its working row, its idempotency record and (on a first acceptance) the subject's watermark key.
import { randomUUID } from 'node:crypto';
import type { Principal } from '../auth/api-keys.js';
import { SCHEME } from '../crypto/domains.js';
import type { AssentKind } from '../db/schema.js';
import { isUniqueViolation } from '../db/errors.js';
import type { WorkingRow } from '../db/rows.js';
import type { EulaService, EulaVersion } from '../eula/service.js';
import type { Position } from '../ledger/appender.js';
import { ASSENT_EVENT, buildSealedEvent, eventOfValue, parseEvent, type AnyLedgerEvent, type EventDataInput, type Sealer } from '../ledger/events.js';
import type { LedgerEntry, PreparedEvent } from '../ledger/format.js';
import type { Ledger } from '../ledger/ledger.js';
import { assentScope, isStateRefusal, KEY_SCOPE, type StateChange } from '../ledger/subject-state.js';
import { AppError } from '../problems/app-error.js';
import { Batcher } from '../util/batcher.js';
import type { NewWatermarkKey } from '../watermark-keys/keys.js';
import type { WatermarkKeyInfo } from '../watermark-keys/repository.js';
import type { WatermarkKeyService } from '../watermark-keys/service.js';
import { priorRecordId, requestDigest } from '../idempotency/digest.js';
import type { IdempotencyRepository, PriorUse } from '../idempotency/repository.js';
import { assentData, withdrawalData, type DisplayedLink, type KeyLinkInput, type Recording } from './payloads.js';
import type { OpeningRepository } from '../privacy/opening-repository.js';
import { buildReceipt, inclusionPromise, receiptInclusion, receiptOpenings, type CheckpointSchedule, type HeldOpening, type ServedReceipt } from './receipt.js';
import type { AssentRecord, AssentRecordRepository, SubjectMatch } from './record-repository.js';
import type { AssentInput, WithdrawalInput } from './schemas.js';
import { standingAcceptance } from './standing.js';

/** A recorded acceptance, decline or withdrawal, as the ledger holds it. */
export interface RecordedAssent {
  id: string;
  kind: AssentKind;
  /** The subject identifier (the event holds only its pseudonym and a commitment). */
  subject: string;
  event: AnyLedgerEvent;
  /** The signed receipt, with its inclusion proof once a signed checkpoint covers the entry. */
  receipt: ServedReceipt;
  /** True when this acceptance assigned the subject's first watermark key. */
  keyAssigned: boolean;
}

export interface AssentResult {
  recorded: RecordedAssent;
  /** True when this answers a retry of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

export interface ComplianceStatus {
  subject: string;
  slug: string;
  compliant: boolean;
  reason: string;
  currentVersion: string;
  requiredVersion: string;
  accepted: AssentRecord | null;
  lastEvent: AssentRecord | null;
  /** Whether the subject ever accepted a version of this EULA (a new acceptance is then a re-acceptance). */
  everAccepted: boolean;
}

type AssentData = EventDataInput<'acceptance.recorded'> | EventDataInput<'acceptance.withdrawn'>;

interface Lookup {
  prior: PriorUse | undefined;
  key: WatermarkKeyInfo | undefined;
}

interface LookupRequest {
  scope: string;
  key: string;
  subject: string | null;
}

export interface AssentRepositories {
  records: AssentRecordRepository;
  idempotency: IdempotencyRepository;
  /** The openings of recorded events' personal facts (receipts carry them). */
  openings: Pick<OpeningRepository, 'forEvents'>;
}

export interface AssentOptions {
  /** When checkpoints are signed (config): what a receipt without an inclusion proof promises. */
  checkpoints?: CheckpointSchedule;
}

export class AssentService {
  /**
   * The reads an assent needs before it is appended (a prior use of its Idempotency-Key; the
   * subject's current watermark key), for every request waiting at the moment, in one round of
   * queries: under load each request costs a small fraction of a round trip.
   */
  readonly #lookups: Batcher<LookupRequest, Lookup>;

  constructor(
    private readonly repos: AssentRepositories,
    private readonly ledger: Ledger,
    private readonly eulas: EulaService,
    private readonly keys: WatermarkKeyService,
    /** Seals the personal facts of assent events (docs/personal-data.md). */
    private readonly sealer: Sealer,
    /** Told when a subject's assent changes, so caches drop it. */
    private readonly onSubjectChanged: (subject: string) => void = () => {},
    private readonly options: AssentOptions = {},
  ) {
    this.#lookups = new Batcher(async (batch) => {
      const subjects = [...new Set(batch.flatMap((b) => (b.subject === null ? [] : [b.subject])))];
      const [priors, current] = await Promise.all([repos.idempotency.findMany(batch), this.keys.repo.currentMany(subjects)]);
      return batch.map((b, i) => ({ prior: priors[i], key: b.subject === null ? undefined : current.get(b.subject) }));
    }, { maxBatch: 500, maxInFlight: 2 });
  }

  /** `displayed`: the acceptance.displayed event of the widget that showed the text (acceptance sessions). */
  accept(input: AssentInput, principal: Principal, idemKey: string, displayed?: DisplayedLink): Promise<AssentResult> {
    return this.#record('accepted', input, principal, idemKey, displayed);
  }

  decline(input: AssentInput, principal: Principal, idemKey: string, displayed?: DisplayedLink): Promise<AssentResult> {
    return this.#record('declined', input, principal, idemKey, displayed);
  }

  async withdraw(input: WithdrawalInput, principal: Principal, idemKey: string): Promise<AssentResult> {
    const digest = requestDigest('withdrawn', input);
    const replay = await this.#replay(principal, idemKey, digest);
    if (replay) return replay;
    const records = await this.repos.records.forSubject(input.subject, input.slug);
    const standing = standingAcceptance(records);
    const last = records.at(-1);
    if (!standing || !last) {
      throw new AppError('nothing_to_withdraw', `subject has no standing acceptance of "${input.slug}" to withdraw${last ? ` (latest record: ${last.kind})` : ''}`);
    }
    const eula = await this.eulas.get(input.slug, standing.version);
    const recording = this.#recording(principal, idemKey);
    const event = buildSealedEvent(this.sealer, ASSENT_EVENT.withdrawn, withdrawalData(input, eula, recording), input.subject, { time: recording.serverTime });
    // It ends the acceptance it read as standing: refused if any other record of this EULA came after.
    const state: StateChange = { subject: input.subject, scope: assentScope(input.slug), expected: last.ledgerSeq };
    try {
      return await this.#append('withdrawn', input.subject, eula, { event, data: event.data, link: null }, recording, null, digest, state);
    } catch (e) {
      if (!isStateRefusal(e)) throw e;
      throw new AppError('subject_state_changed', `another acceptance, decline or withdrawal of "${input.slug}" by this subject was recorded while this withdrawal was being made, so it may no longer end the acceptance of ${standing.version} it was made for. Nothing was recorded; read the subject's status and withdraw again if its assent still stands.`);
    }
  }

  async #record(kind: 'accepted' | 'declined', input: AssentInput, principal: Principal, idemKey: string, displayed: DisplayedLink | undefined, attempt = 0): Promise<AssentResult> {
    const digest = requestDigest(kind, input);
    const { prior, key: currentKey } = await this.#lookups.get({ scope: principal.keyId, key: idemKey, subject: kind === 'accepted' ? input.subject : null });
    const replay = await this.#replayOf(priorRecordId(prior, digest));
    if (replay) return replay;

    const eula = await this.eulas.find(input.slug, input.version);
    if (!eula) {
      throw new AppError('unknown_eula_version', `no version "${input.version}" of EULA "${input.slug}" has been published`, { errors: [{ field: 'version', message: 'is not a published version of this slug' }] });
    }
    if (input.shown_text_sha256 !== eula.textSha256) {
      throw new AppError('text_hash_mismatch', `shown_text_sha256 ${input.shown_text_sha256} is not the SHA-256 of ${input.slug} ${input.version} (${eula.textSha256}): the page showed different text than the published version. Nothing was recorded.`, { expected_text_sha256: eula.textSha256 });
    }
    if (kind === 'accepted') this.eulas.refuseNotInEffect(eula, new Date());
    // An acceptance links the subject's current key, or assigns its first one.
    const newKey = kind === 'accepted' && !currentKey ? this.keys.create(input.subject, 1) : null;
    const keyEventId = randomUUID();
    const link: KeyLinkInput | null = newKey
      ? { version: newKey.version, key_id: newKey.keyId, commitment: newKey.commitment, event_id: keyEventId }
      : currentKey && kind === 'accepted' ? { version: currentKey.version, key_id: currentKey.keyId, commitment: currentKey.commitment, event_id: currentKey.eventId } : null;
    const recording = this.#recording(principal, idemKey);
    const event = buildSealedEvent(this.sealer, ASSENT_EVENT[kind], assentData(input, eula, link, recording, displayed), input.subject, { time: recording.serverTime });
    try {
      return await this.#append(kind, input.subject, eula, { event, data: event.data, link }, recording, newKey && { key: newKey, eventId: keyEventId }, digest);
    } catch (e) {
      // Two first acceptances of one subject raced for key version 1: the loser retries and finds the key.
      if (attempt === 0 && (isStateRefusal(e) || isUniqueViolation(e, 'watermark_keys'))) return this.#record(kind, input, principal, idemKey, displayed, 1);
      throw e;
    }
  }

  #recording(principal: Principal, idemKey: string): Recording {
    return { recordId: randomUUID(), principal, idempotencyKey: idemKey, serverTime: new Date() };
  }

  /**
   * `state`: the change of the subject's assent to this EULA; by default one that depends on no
   * earlier state (an acceptance or decline is recorded whatever came before).
   */
  async #append(kind: AssentKind, subject: string, eula: EulaVersion, what: { event: PreparedEvent; data: AssentData; link: KeyLinkInput | null }, r: Recording, assigned: { key: NewWatermarkKey; eventId: string } | null, digest: string, state: StateChange = { subject, scope: assentScope(eula.slug), expected: null }): Promise<AssentResult> {
    const { event, data, link } = what;
    const events: PreparedEvent[] = [event];
    if (assigned) {
      events.push(buildSealedEvent(this.sealer, 'watermark_key.assigned', {
        subject,
        key_version: assigned.key.version,
        key_id: assigned.key.keyId,
        commitment: assigned.key.commitment,
        commitment_scheme: SCHEME.keyCommitment,
        acceptance_event_id: event.id,
        kek_id: assigned.key.kekId,
      }, subject, { id: assigned.eventId, time: r.serverTime }));
    }
    const rows = (pos: Position[]): WorkingRow[] => {
      const out = [this.repos.records.row({
        id: r.recordId, kind, subject, eulaId: eula.id, slug: eula.slug, version: eula.version, serverTime: r.serverTime,
        record: data, keyVersion: link?.version ?? null, keyCommitment: link?.commitment ?? null,
      }, pos[0]!)];
      if (assigned) {
        const k = assigned.key;
        out.push(this.keys.repo.row({ subject, version: k.version, keyId: k.keyId, kekId: k.kekId, wrapped: k.wrapped, commitment: k.commitment, assignedAt: r.serverTime, reason: 'first acceptance' }, pos[1]!));
      }
      out.push(this.repos.idempotency.row({ scope: r.principal.keyId, key: r.idempotencyKey }, { requestSha256: digest, recordId: r.recordId }));
      return out;
    };
    // A first key is assigned only while the subject has none.
    const states = assigned ? [state, { subject, scope: KEY_SCOPE, expected: 0, event: 1 }] : [state];
    let positions: Position[];
    try {
      positions = await this.ledger.append({ events, rows, states });
    } catch (e) {
      if (isUniqueViolation(e, 'idempotency_keys') || isStateRefusal(e)) {
        // A concurrent request with the same key won; answer as its retry.
        const replay = await this.#replay(r.principal, r.idempotencyKey, digest);
        if (replay) return replay;
      }
      throw e;
    }
    this.onSubjectChanged(subject);
    const p = positions[0]!;
    const entry = { seq: p.seq, eventId: p.eventId, canonical: event.canonical, leafHash: p.leafHash, chainHash: p.chainHash };
    // The client sent these facts: the receipt opens them from the sealed event, with no read.
    const held: HeldOpening[] = (event.openings ?? []).map((o) => ({ field: o.field, group: o.group, commitment: o.commitment, opening: { salt: o.salt, value: o.value }, erased: null, valueBytes: o.valueBytes }));
    return { recorded: this.#recorded(r.recordId, kind, subject, entry, assigned !== null, held), replayed: false };
  }

  async #replay(principal: Principal, idemKey: string, digest: string): Promise<AssentResult | null> {
    return this.#replayOf(priorRecordId(await this.repos.idempotency.find(principal.keyId, idemKey), digest));
  }

  async #replayOf(recordId: string | null): Promise<AssentResult | null> {
    return recordId === null ? null : { recorded: await this.record(recordId), replayed: true };
  }

  /**
   * The signed receipt of an entry with the openings of its personal facts; `inclusion` as given
   * (the 201 response: null, sent as soon as the entry commits).
   */
  #recorded(id: string, kind: AssentKind, subject: string, entry: Pick<LedgerEntry, 'seq' | 'eventId' | 'canonical' | 'leafHash' | 'chainHash'>, keyAssigned: boolean, held: readonly HeldOpening[], inclusion: ServedReceipt['inclusion'] = null): RecordedAssent {
    const signed = buildReceipt(entry, this.ledger.origin, this.ledger.signingKey);
    const openings = receiptOpenings(held);
    const receipt: ServedReceipt = inclusion ? { ...signed, openings, inclusion } : { ...signed, openings, inclusion: null, promise: inclusionPromise(this.options.checkpoints) };
    // The receipt parsed the entry's bytes (and proved them canonical): the event is read from that value.
    return { id, kind, subject, event: eventOfValue(signed.payload.event), receipt, keyAssigned };
  }

  /** The entry's inclusion proof in the latest signed note checkpoint, or null when that checkpoint does not cover it yet. */
  async #inclusion(entry: Pick<LedgerEntry, 'seq' | 'leafHash'>): Promise<ServedReceipt['inclusion']> {
    const cp = await this.ledger.latestNoteCheckpoint();
    if (!cp || cp.size < entry.seq) return null;
    const p = await this.ledger.inclusionProof(entry.seq, cp.size);
    // The tree read back must be the one the checkpoint signed: never serve a proof that cannot verify.
    if (!cp.rootHash || !p.root.equals(cp.rootHash) || !p.leafHash.equals(entry.leafHash)) {
      throw new Error(`the Merkle tree at size ${cp.size} does not have the root its checkpoint signed, or entry ${entry.seq} has another leaf`);
    }
    return receiptInclusion(p, cp.body);
  }

  /**
   * A record as the ledger holds it, with its signed receipt (identical signed bytes every time) and,
   * once a signed checkpoint covers the entry, the inclusion proof in the latest one.
   */
  async record(id: string, reader?: Principal): Promise<RecordedAssent> {
    const rec = await this.repos.records.byIdWithRecorder(id);
    // A signup key reads only what it recorded; another key's record is as unknown as a missing one
    // (the same problem, the same words), so its existence does not leak.
    if (!rec || (reader?.role === 'signup' && rec.recordedByKeyId !== reader.keyId)) {
      throw new AppError('record_not_found', `no acceptance, decline or withdrawal with id ${id}`);
    }
    const entry = await this.ledger.entry(rec.ledgerSeq);
    if (!entry) throw new Error(`ledger entry ${rec.ledgerSeq} for record ${id} is missing`);
    // A first acceptance is followed by the key assignment that names it.
    const [next, inclusion, held] = await Promise.all([
      rec.kind === 'accepted' ? this.ledger.entry(rec.ledgerSeq + 1) : undefined, this.#inclusion(entry), this.repos.openings.forEvents([entry.eventId]),
    ]);
    const nextEvent = next?.eventType === 'watermark_key.assigned' ? parseEvent(next.canonical) : undefined;
    const keyAssigned = nextEvent?.type === 'watermark_key.assigned' && nextEvent.data.acceptance_event_id === entry.eventId;
    return this.#recorded(id, rec.kind, rec.subject, entry, keyAssigned, held, inclusion);
  }

  async receipt(id: string, reader?: Principal): Promise<ServedReceipt> {
    return (await this.record(id, reader)).receipt;
  }

  listForSubject(subject: string): Promise<AssentRecord[]> {
    return this.repos.records.forSubject(subject);
  }

  /**
   * Subjects whose identifier starts with `prefix`, in byte order: at most `limit`, and `more` when
   * others match too (one row more is read to know).
   */
  async searchSubjects(prefix: string, limit: number): Promise<{ subjects: SubjectMatch[]; more: boolean }> {
    const found = await this.repos.records.subjectsWithPrefix(prefix, limit + 1);
    return { subjects: found.slice(0, limit), more: found.length > limit };
  }

  /** Compliance gate: does the subject's standing acceptance cover the latest major version in effect? */
  async status(subject: string, slug: string): Promise<ComplianceStatus> {
    const { current, requiredMajor, history } = await this.eulas.current(slug);
    const order = new Map(history.map((v, i) => [v.version, i]));
    const records = await this.repos.records.forSubject(subject, slug);
    const standing = standingAcceptance(records) ?? null;
    const compliant = !!standing && (order.get(standing.version) ?? -1) >= order.get(requiredMajor.version)!;
    const last = records.at(-1) ?? null;
    let reason: string;
    if (compliant) reason = standing!.version === current.version ? 'accepted the current version' : `accepted ${standing!.version}; later versions are minor changes`;
    else if (last?.kind === 'withdrawn') reason = 'withdrew assent';
    else if (standing) reason = `accepted ${standing.version}, but major version ${requiredMajor.version} requires accepting again`;
    else if (records.some((r) => r.kind === 'declined')) reason = 'declined and has not accepted';
    else reason = 'has never accepted';
    return { subject, slug, compliant, reason, currentVersion: current.version, requiredVersion: requiredMajor.version, accepted: standing, lastEvent: last, everAccepted: records.some((r) => r.kind === 'accepted') };
  }
}
