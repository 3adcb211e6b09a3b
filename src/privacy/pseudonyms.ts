// Keyed subject pseudonyms: the ledger's lookup key for a subject. Without the key a guessable user
// id cannot be tested against an exported log (docs/personal-data.md).
import { createHmac } from 'node:crypto';
import { TAG, tagBytes } from '../crypto/domains.js';
import { sealData, type SealedOpening } from './fields.js';

export class Pseudonyms {
  readonly #key: Buffer;
  readonly #prefix = tagBytes(TAG.subjectPseudonym);

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new Error('the pseudonym key must be 32 bytes');
    this.#key = Buffer.from(key);
  }

  /** HMAC-SHA256(key, tag || 0x00 || subject), lowercase hex. */
  of = (subject: string): string => createHmac('sha256', this.#key).update(this.#prefix).update(subject, 'utf8').digest('hex');

  /** An event's clear data sealed (docs/personal-data.md), with the openings to keep beside it. */
  seal<D extends object>(type: string, clear: D, subject: string | null): { data: D; openings: SealedOpening[] } {
    return sealData(type, clear, subject, this.of);
  }

  toJSON(): string {
    return 'Pseudonyms';
  }
}
