// Watermark keys as a service: assignment rows, rotation, and unwrapping for detection. The only
// place (with the gateway's key cache) that holds a raw key, and only for the length of a call.
import type { Principal } from '../auth/api-keys.js';
import { isUniqueViolation } from '../db/errors.js';
import type { Position } from '../ledger/appender.js';
import { buildSealedEvent, type Sealer } from '../ledger/events.js';
import type { Ledger } from '../ledger/ledger.js';
import { isStateRefusal, KEY_SCOPE } from '../ledger/subject-state.js';
import { AppError } from '../problems/app-error.js';
import type { KeyEncryptionKey } from './kek.js';
import { newWatermarkKey, unwrapKey, type NewWatermarkKey } from './keys.js';
import type { WatermarkKeyInfo, WatermarkKeyRepository, WrappedKey } from './repository.js';

export interface RotatedKey {
  key: WatermarkKeyInfo;
  previousVersion: number;
  position: Position;
}

export interface UnwrappedKey {
  /** Zeroed by the caller when done. */
  key: Buffer;
  info: { version: number; keyId: string; commitment: string };
}

export class WatermarkKeyService {
  constructor(
    readonly repo: WatermarkKeyRepository,
    private readonly ledger: Ledger,
    private readonly kek: KeyEncryptionKey,
    /** Seals the subject of key events (docs/personal-data.md). */
    readonly sealer: Sealer,
    /** Told when a subject's key changes, so caches drop it. */
    private readonly onSubjectChanged: (subject: string) => void = () => {},
  ) {}

  /** A fresh key for a subject; the raw key never leaves this call, only its wrapped form. */
  create(subject: string, version: number): NewWatermarkKey {
    return newWatermarkKey(this.kek, subject, version);
  }

  current(subject: string): Promise<WatermarkKeyInfo | undefined> {
    return this.repo.current(subject);
  }

  all(subject: string): Promise<WatermarkKeyInfo[]> {
    return this.repo.all(subject);
  }

  /**
   * A new key version for the subject; old versions stay for verifying past traffic. It replaces
   * the key current when the request is handled (or, with `fromVersion`, only that version): a
   * rotation that another rotation of the same key beat is refused (409), not stacked on top, so
   * N overlapping rotations make one new key (docs/assent.md).
   */
  async rotate(subject: string, reason: string, principal: Principal, fromVersion?: number): Promise<RotatedKey> {
    const prev = await this.repo.current(subject);
    if (!prev) throw new AppError('subject_has_no_key', 'subject has no watermark key yet; one is assigned at its first acceptance');
    if (fromVersion !== undefined && fromVersion !== prev.version) throw await this.#rotatedMeanwhile(subject, fromVersion);
    const k = this.create(subject, prev.version + 1);
    const now = new Date();
    const ev = buildSealedEvent(this.sealer, 'watermark_key.rotated', {
      subject,
      key_version: k.version,
      key_id: k.keyId,
      commitment: k.commitment,
      previous: { key_version: prev.version, key_id: prev.keyId, commitment: prev.commitment },
      reason,
      rotated_by: { api_key_id: principal.keyId, name: principal.name },
      kek_id: k.kekId,
    }, subject, { time: now });
    let p: Position;
    try {
      [p] = (await this.ledger.append({
        events: [ev],
        rows: ([pos]) => [this.repo.row({ subject, version: k.version, keyId: k.keyId, kekId: k.kekId, wrapped: k.wrapped, commitment: k.commitment, assignedAt: now, reason }, pos!)],
        states: [{ subject, scope: KEY_SCOPE, expected: prev.ledgerSeq }],
      })) as [Position];
    } catch (e) {
      // Another rotation of this key committed first (the guard, or the version's primary key).
      if (isStateRefusal(e) || isUniqueViolation(e, 'watermark_keys')) throw await this.#rotatedMeanwhile(subject, prev.version);
      throw e;
    }
    this.onSubjectChanged(subject);
    return { key: { subject, version: k.version, keyId: k.keyId, commitment: k.commitment, assignedAt: now, reason, ledgerSeq: p.seq, eventId: p.eventId }, previousVersion: prev.version, position: p };
  }

  /** The 409 of a rotation that was not from the current version (`from`). */
  async #rotatedMeanwhile(subject: string, from: number): Promise<AppError> {
    const v = (await this.repo.current(subject))?.version ?? 0;
    const why = from < v ? ': another rotation replaced it first' : '';
    return new AppError('subject_state_changed', `the subject's current watermark key is version ${v}, not version ${from}${why}. Nothing was recorded; rotate again with from_version ${v} if a new key is still wanted.`);
  }

  /** Each subject's latest key (or its key of `version`), unwrapped. The caller zeroes every key. */
  async unwrapped(subjects: readonly string[], version?: number): Promise<Map<string, UnwrappedKey>> {
    const out = new Map<string, UnwrappedKey>();
    for (const [s, k] of await this.repo.wrappedKeys(subjects, version)) {
      out.set(s, { key: unwrapKey(this.kek, k), info: { version: k.version, keyId: k.keyId, commitment: k.commitment } });
    }
    return out;
  }

  /**
   * Each subject's latest key (or its key of `version`) passed through a one-way `derive` (the text
   * watermark's HKDF): the raw key is zeroed here, only the derived bytes leave.
   */
  async derived(subjects: readonly string[], derive: (key: Buffer) => Buffer, version?: number): Promise<Map<string, UnwrappedKey>> {
    const out = new Map<string, UnwrappedKey>();
    for (const [s, k] of await this.repo.wrappedKeys(subjects, version)) {
      const raw = unwrapKey(this.kek, k);
      try {
        out.set(s, { key: derive(raw), info: { version: k.version, keyId: k.keyId, commitment: k.commitment } });
      } finally {
        raw.fill(0);
      }
    }
    return out;
  }

  /** Each subject's latest key, still wrapped (the gateway's cache unwraps into a decider). */
  latestWrapped(subjects: readonly string[]): Promise<Map<string, WrappedKey>> {
    return this.repo.wrappedKeys(subjects);
  }

  unwrap(k: WrappedKey): Buffer {
    return unwrapKey(this.kek, k);
  }
}
