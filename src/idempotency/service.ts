// One retry-safety mechanism for every route that records evidence under an Idempotency-Key:
// the key, the request's digest and the exact JSON body of the answer are one working row written
// by the ledger appender in the transaction of the request's events (so no event exists without its
// key, nor a key without its events); a replay is answered with that body; the key with another
// body is refused. Assent uses the same table and digest, with answers rebuilt from its records.
import { TAG, tagBytes } from '../crypto/domains.js';
import { isConnectionError } from '../db/errors.js';
import type { WorkingRow } from '../db/rows.js';
import { AppError } from '../problems/app-error.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';
import { requestDigest, sameDigest } from './digest.js';
import type { IdempotencyRepository, PriorUse } from './repository.js';

export interface IdempotentRequest {
  /** Whose key it is: the API key id (two callers' keys never meet). */
  scope: string;
  key: string;
  /** What the route records; part of the digest, so one key used on two routes is a reuse. */
  kind: string;
  body: object;
}

/** Given the result the write is about to commit, the key's working row (with the answer's body). */
export type KeyRow<T> = (result: T) => WorkingRow;

export type IdempotentOutcome<T> = { replayed: false; result: T; response: string } | { replayed: true; response: string };

export interface Answer<T> {
  /** The record the result names (the idempotency record's record_id). */
  id: (result: T) => string;
  /** The JSON body the route answers with. */
  body: (result: T) => unknown;
  /** The body holds a secret (a token): it is kept sealed by the master key, never in the clear. */
  sealed?: boolean;
}

export class IdempotencyService {
  /** Requests under way in this process, per key: a second one waits and is then answered as a replay. */
  readonly #inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly repo: IdempotencyRepository, private readonly kek: KeyEncryptionKey) {}

  /**
   * Runs `write` once per key. `write` must add the key row it is given to the ledger append of
   * its events (null: the request has no key, nothing is remembered). Parallel requests with one
   * key in this process run one after the other; across processes the key's primary key lets
   * exactly one commit, and the others find its row and replay it.
   */
  async run<T>(req: IdempotentRequest | null, answer: Answer<T>, write: (keyRow: KeyRow<T> | null) => Promise<T>): Promise<IdempotentOutcome<T>> {
    if (!req) {
      const result = await write(null);
      return { replayed: false, result, response: JSON.stringify(answer.body(result)) };
    }
    const flight = `${req.scope}\u0000${req.key}`;
    for (let p = this.#inFlight.get(flight); p; p = this.#inFlight.get(flight)) await p.catch(() => undefined);
    const mine = this.#run(req, answer, write);
    this.#inFlight.set(flight, mine);
    try {
      return await mine;
    } finally {
      if (this.#inFlight.get(flight) === mine) this.#inFlight.delete(flight);
    }
  }

  async #run<T>(req: IdempotentRequest, answer: Answer<T>, write: (keyRow: KeyRow<T> | null) => Promise<T>): Promise<IdempotentOutcome<T>> {
    // The body under its own member: a body member named "kind" cannot stand in for the route's.
    // As JSON carries it: a parser's absent optional members (undefined) are not part of the request.
    const digest = requestDigest(req.kind, { request: JSON.parse(JSON.stringify(req.body)) as unknown });
    const prior = await this.repo.find(req.scope, req.key);
    if (prior) return this.#replay(req, prior, digest);
    let response: string | undefined;
    const keyRow: KeyRow<T> = (result) => {
      // Called again if the appender retries the batch: the last call is the one committed.
      response = JSON.stringify(answer.body(result));
      const stored = answer.sealed ? { response: null, responseSealed: this.kek.wrap(Buffer.from(response, 'utf8'), sealAad(req)) } : { response };
      return this.repo.row({ scope: req.scope, key: req.key }, { requestSha256: digest, recordId: answer.id(result), ...stored });
    };
    try {
      const result = await write(keyRow);
      if (response === undefined) throw new Error(`the ${req.kind} write did not record its Idempotency-Key`);
      return { replayed: false, result, response };
    } catch (e) {
      if (isConnectionError(e)) throw e;
      // Another process committed this key first (its row refused ours, or a constraint its
      // events hold refused ours): answer as its retry.
      // (If the database cannot say, the request's own failure is the answer.)
      const won = await this.repo.find(req.scope, req.key).catch(() => undefined);
      if (won) return this.#replay(req, won, digest);
      throw e;
    }
  }

  #replay(req: IdempotentRequest, prior: PriorUse, digest: string): IdempotentOutcome<never> {
    // An assent record has no stored answer: its key was used for another route, so another body.
    if (!sameDigest(prior.requestSha256, digest) || (prior.response == null && prior.responseSealed == null)) {
      throw new AppError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request body (or on another route); use a new key for a new request');
    }
    const response = prior.response ?? this.kek.unwrap(prior.responseSealed!, sealAad(req)).toString('utf8');
    return { replayed: true, response };
  }
}

/** Binds a sealed answer to its key: copied to another row, it does not open. */
function sealAad(req: IdempotentRequest): Buffer {
  return Buffer.concat([tagBytes(TAG.idempotentAnswerWrap), Buffer.from(`${req.scope}\u0000${req.key}`, 'utf8')]);
}
