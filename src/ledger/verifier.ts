// The ledger verifier. Pure and incremental: feed checkpoints, then entries in order, then finish().
// It holds constant memory (the running chain plus the checkpoints) and stops at the first fault.
import { parseCanonical } from '../canonical/jcs.js';
import { constantTimeEqual } from '../crypto/hash.js';
import { keyIdOf } from '../crypto/ed25519.js';
import { checkpointSignedBy, readCheckpoint, type CheckpointStatement, type SignedCheckpoint } from './checkpoint.js';
import { MerkleFrontier } from './merkle.js';
import { openNote } from './note.js';
import { checkRotation } from './key-rotation.js';
import { ZERO_HASH, chainHash, leafHash, EVENT_TYPES, type LedgerEntry } from './format.js';

export type VerifyFaultCode =
  | 'sequence_gap'
  | 'leaf_hash_mismatch'
  | 'prev_hash_mismatch'
  | 'chain_hash_mismatch'
  | 'event_not_canonical'
  | 'event_malformed'
  | 'event_row_mismatch'
  | 'genesis_missing'
  | 'genesis_invalid'
  | 'genesis_key_mismatch'
  | 'checkpoint_malformed'
  | 'checkpoint_signature_invalid'
  | 'checkpoint_unknown_key'
  | 'checkpoint_origin_mismatch'
  | 'checkpoint_inconsistent'
  | 'checkpoint_mismatch'
  | 'checkpoint_root_mismatch'
  | 'checkpoint_retired_key'
  | 'key_rotation_invalid'
  | 'checkpoint_beyond_end'
  | 'empty_ledger';

export interface VerifyFault {
  seq: number; // first bad sequence number
  code: VerifyFaultCode;
  reason: string;
}

export interface VerifyReport {
  ok: boolean;
  origin: string | null;
  size: number; // entries checked
  headHash: string | null;
  /** The Merkle tree hash (RFC 9162) of the entries checked, hex; null when resumed without a tree. */
  treeRoot: string | null;
  checkpointsVerified: number;
  latestCheckpointSize: number | null;
  fault: VerifyFault | null;
}

export interface VerifierOptions {
  /** Public key the caller trusts; the genesis key must equal it. Without it the genesis key is trusted. */
  trustedPublicKey?: Uint8Array;
  /** Expected origin name, if known. */
  origin?: string;
  /**
   * Verify a segment only: start after an already-trusted prefix (size, chain hash at size) whose
   * origin and signing key are given. Used when writing a checkpoint after an earlier one.
   */
  resumeFrom?: { size: number; chainHash: Buffer; origin: string; keys: ReadonlyMap<string, Buffer>; currentKeyId?: string; frontier?: MerkleFrontier };
}

interface PendingCheckpoint {
  body: CheckpointStatement;
  raw: SignedCheckpoint;
}

export class LedgerVerifier {
  #expectedSeq = 1;
  /** The chain hash so far: 32 bytes at #prevOff of #prevSrc (a worker's result, kept as it is). */
  #prevSrc: Uint8Array = ZERO_HASH;
  #prevOff = 0;
  #origin: string | null = null;
  #keys = new Map<string, Buffer>(); // key id -> public key, learnt from genesis and key rotations
  /** The key that signs checkpoints from here on: the genesis key, then each rotation's new key. */
  #currentKeyId: string | null = null;
  /** Set while the key the caller trusts has not appeared (as the genesis key or by a rotation). */
  #untrusted: string | null = null;
  #checkpoints: PendingCheckpoint[] = [];
  #nextCp = 0;
  #verifiedCps = 0;
  #fault: VerifyFault | null = null;
  /** The Merkle tree of the entries so far; null when resumed without one (roots then go unchecked). */
  #tree: MerkleFrontier | null = new MerkleFrontier();
  readonly #opts: VerifierOptions;

  constructor(opts: VerifierOptions = {}) {
    this.#opts = opts;
    if (opts.resumeFrom) {
      this.#expectedSeq = opts.resumeFrom.size + 1;
      this.#prevSrc = opts.resumeFrom.chainHash;
      this.#origin = opts.resumeFrom.origin;
      for (const [id, k] of opts.resumeFrom.keys) this.#keys.set(id, k);
      this.#currentKeyId = opts.resumeFrom.currentKeyId ?? [...opts.resumeFrom.keys.keys()].at(-1) ?? null;
      this.#tree = opts.resumeFrom.frontier ? MerkleFrontier.fromBytes(opts.resumeFrom.frontier.toBytes(), opts.resumeFrom.size) : null;
    }
  }

  get fault(): VerifyFault | null {
    return this.#fault;
  }

  /** Every key the ledger has used (key id -> public key) and the current one, as learnt so far. */
  get keys(): { all: ReadonlyMap<string, Buffer>; currentKeyId: string | null } {
    return { all: new Map(this.#keys), currentKeyId: this.#currentKeyId };
  }

  /** A copy of the Merkle tree of the entries checked so far (null when resumed without one). */
  get tree(): MerkleFrontier | null {
    return this.#tree ? MerkleFrontier.fromBytes(this.#tree.toBytes(), this.#tree.size) : null;
  }

  /** Checkpoints must be given before entries. They are checked against the chain as it streams by. */
  addCheckpoints(cps: Iterable<SignedCheckpoint>): void {
    let lastSize = 0;
    for (const raw of cps) {
      const body = readCheckpoint(raw.body);
      if (!body) {
        this.#fail(lastSize + 1, 'checkpoint_malformed', 'a checkpoint is not a well-formed checkpoint statement (canonical JSON or a C2SP signed note)');
        return;
      }
      if (body.size < lastSize) {
        this.#fail(body.size, 'checkpoint_inconsistent', `checkpoints are not in size order (${body.size} after ${lastSize})`);
        return;
      }
      lastSize = body.size;
      this.#checkpoints.push({ body, raw });
    }
  }

  /** Returns false once a fault has been found; further entries are ignored. */
  push(e: LedgerEntry): boolean {
    if (this.#fault) return false;
    const c = checkEntry(e);
    return this.accept(e.seq, c.code, e.prevHash, e.leafHash, e.chainHash, c.special);
  }

  /**
   * The sequential part of an entry's verification, after its per-entry checks (checkEntry, which
   * may run on another thread): the sequence number, the link to the chain so far, the genesis and
   * key rotations, the tree and the checkpoints at this size. The faults come in the order push
   * reports them: sequence, leaf hash, link, chain hash, event. `leaf` and `chain` are kept (not
   * copied) only when they are the stored 32-byte hashes that checkEntry compared.
   */
  accept(seq: number, code: EntryCode, prevHash: Uint8Array, leaf: Uint8Array, chain: Uint8Array, special?: SpecialEvent, leafLater = false): boolean {
    if (this.#fault) return false;
    const expected = this.#expectedSeq;
    if (seq !== expected) return this.#fail(expected, 'sequence_gap', `expected entry ${expected}, found ${seq}`);
    if (code === ENTRY_LEAF) {
      return this.#fail(seq, 'leaf_hash_mismatch', 'the stored leaf hash is not SHA-256(0x00 || event bytes): the event bytes or the hash were altered');
    }
    if (prevHash.length !== 32 || !equalAt(prevHash, 0, this.#prevSrc, this.#prevOff)) {
      return this.#fail(seq, 'prev_hash_mismatch', `entry ${seq} does not link to the chain hash of entry ${seq - 1}: an entry was removed, reordered or rewritten`);
    }
    if (code !== ENTRY_OK) return this.#fail(seq, ENTRY_FAULTS[code]!.code, ENTRY_FAULTS[code]!.reason);
    if (seq === 1) {
      if (!this.#checkGenesis(special!.type, special!.data as Record<string, unknown>)) return false;
    } else if (special?.type === 'ledger.genesis') {
      return this.#fail(seq, 'genesis_invalid', 'a second genesis event appears after entry 1');
    } else if (special?.type === 'signing_key.added' && !this.#checkRotation(seq, special.data)) {
      return false;
    }
    if (!leafLater) this.#tree?.push(leaf);
    this.#prevSrc = chain;
    this.#prevOff = 0;
    this.#expectedSeq = seq + 1;
    return this.#checkCheckpointsAt(seq);
  }

  /**
   * accept for a worker's result, the stored leaf, prev and chain hashes at o, o + 32 and o + 64
   * of h: the common case (the next number, intact, no special event, linked) without a view of
   * each hash; any other goes through accept, which reports the fault.
   */
  acceptAt(seq: number, code: EntryCode, h: Uint8Array, o: number, prevBad: boolean, special?: SpecialEvent, leafLater = false): boolean {
    if (this.#fault) return false;
    if (seq !== this.#expectedSeq || code !== ENTRY_OK || special || prevBad || seq === 1 || !equalAt(h, o + 32, this.#prevSrc, this.#prevOff)) {
      return this.accept(seq, code, prevBad ? NO_BYTES : h.subarray(o + 32, o + 64), h.subarray(o, o + 32), h.subarray(o + 64, o + 96), special, leafLater);
    }
    if (!leafLater) this.#tree?.push(h.subarray(o, o + 32));
    this.#prevSrc = h;
    this.#prevOff = o + 64;
    this.#expectedSeq = seq + 1;
    return this.#checkCheckpointsAt(seq);
  }

  /** The chain hash so far as a Buffer (a view, not a copy). */
  get #prev(): Buffer {
    const p = this.#prevSrc;
    return Buffer.from(p.buffer, p.byteOffset + this.#prevOff, 32);
  }

  /**
   * Whether the next `width` entries' leaves may reach the tree as one subtree root after they are
   * accepted (accept with leafLater, then treeBlock): the tree is aligned to `width` and no
   * checkpoint needs its root at a size inside the block or at its end.
   */
  treeBlockFits(width: number): boolean {
    const t = this.#tree;
    if (!t || this.#fault || t.size !== this.#expectedSeq - 1 || t.size % width !== 0) return false;
    const next = this.#checkpoints[this.#nextCp];
    return !next || next.body.size > t.size + width;
  }

  /** Adds accepted entries' leaves to the tree: a block of 2^height as its subtree root, or one leaf. */
  treeBlock(height: number, root: Uint8Array): void {
    this.#tree?.pushSubtree(height, root);
  }

  treeLeaf(leaf: Uint8Array): void {
    this.#tree?.push(leaf);
  }

  /** The next sequence number expected. */
  get expectedSeq(): number {
    return this.#expectedSeq;
  }

  finish(): VerifyReport {
    const size = this.#expectedSeq - 1;
    if (!this.#fault && size === 0 && !this.#opts.resumeFrom) this.#fail(1, 'empty_ledger', 'the ledger has no entries (no genesis)');
    if (!this.#fault && this.#untrusted) this.#fail(1, 'genesis_key_mismatch', this.#untrusted);
    if (!this.#fault && this.#nextCp < this.#checkpoints.length) {
      const cp = this.#checkpoints[this.#nextCp]!;
      this.#fail(size + 1, 'checkpoint_beyond_end', `a signed checkpoint covers ${cp.body.size} entries but the ledger ends at ${size}: entries were removed from the end`);
    }
    const latest = this.#checkpoints.at(-1);
    return {
      ok: this.#fault === null,
      origin: this.#origin,
      size,
      headHash: size > 0 ? this.#prev.toString('hex') : null,
      treeRoot: this.#tree ? this.#tree.root().toString('hex') : null,
      checkpointsVerified: this.#verifiedCps,
      latestCheckpointSize: latest ? latest.body.size : null,
      fault: this.#fault,
    };
  }

  #checkRotation(seq: number, data: unknown): boolean {
    const current = this.#currentKeyId ? this.#keys.get(this.#currentKeyId) : undefined;
    if (!this.#origin || !current) return this.#fail(seq, 'key_rotation_invalid', 'a key rotation before the ledger has a key');
    const r = checkRotation(data, this.#origin, { keyId: this.#currentKeyId!, publicKey: current });
    if (!r.ok) return this.#fail(seq, 'key_rotation_invalid', `entry ${seq}: ${r.reason}`);
    if (this.#keys.has(r.keyId)) return this.#fail(seq, 'key_rotation_invalid', `entry ${seq}: key ${r.keyId} was already used by this ledger`);
    this.#keys.set(r.keyId, r.publicKey);
    this.#currentKeyId = r.keyId;
    if (this.#untrusted && this.#opts.trustedPublicKey && constantTimeEqual(r.publicKey, this.#opts.trustedPublicKey)) this.#untrusted = null;
    return true;
  }

  #checkGenesis(type: string, data: Record<string, unknown>): boolean {
    if (type !== 'ledger.genesis') return this.#fail(1, 'genesis_missing', 'entry 1 is not a ledger.genesis event');
    const sk = data.signing_key as Record<string, unknown> | undefined;
    if (typeof data.origin !== 'string' || !sk || sk.alg !== 'Ed25519' || typeof sk.public_key !== 'string' || typeof sk.key_id !== 'string') {
      return this.#fail(1, 'genesis_invalid', 'the genesis event lacks origin or signing key');
    }
    const pub = Buffer.from(sk.public_key, 'base64');
    if (pub.length !== 32 || pub.toString('base64') !== sk.public_key || keyIdOf(pub) !== sk.key_id) {
      return this.#fail(1, 'genesis_invalid', 'the genesis signing key is malformed or its key id does not match');
    }
    if (this.#opts.origin !== undefined && data.origin !== this.#opts.origin) {
      return this.#fail(1, 'genesis_invalid', `the genesis origin is "${data.origin}", expected "${this.#opts.origin}"`);
    }
    // The trusted key is the genesis key, or a key a later rotation introduces (each rotation is
    // signed by both keys, so a trusted later key vouches for the chain back to genesis).
    if (this.#opts.trustedPublicKey && !constantTimeEqual(pub, this.#opts.trustedPublicKey)) {
      this.#untrusted = `the genesis signing key ${sk.key_id} is not the key you trust (${keyIdOf(this.#opts.trustedPublicKey)}), and no key rotation of this ledger introduces that key`;
    }
    this.#origin = data.origin;
    this.#keys.set(sk.key_id, pub);
    this.#currentKeyId = sk.key_id;
    return true;
  }

  #checkCheckpointsAt(seq: number): boolean {
    while (this.#nextCp < this.#checkpoints.length && this.#checkpoints[this.#nextCp]!.body.size === seq) {
      const { body, raw } = this.#checkpoints[this.#nextCp]!;
      if (body.origin !== this.#origin) {
        return this.#fail(seq, 'checkpoint_origin_mismatch', `the checkpoint at size ${seq} names origin "${body.origin}"`);
      }
      if (!this.#checkSignature(seq, body, raw)) return false;
      if (!constantTimeEqual(body.chainHash, this.#prev)) {
        return this.#fail(seq, 'checkpoint_mismatch', `the chain hash at ${seq} differs from the signed checkpoint at that size: entries up to ${seq} were rewritten`);
      }
      if (body.rootHash && this.#tree && !constantTimeEqual(body.rootHash, this.#tree.root())) {
        return this.#fail(seq, 'checkpoint_root_mismatch', `the Merkle tree of entries 1..${seq} differs from the root signed at that size: entries up to ${seq} were rewritten`);
      }
      this.#verifiedCps++;
      this.#nextCp++;
    }
    return true;
  }

  /**
   * A checkpoint must be signed by the key current at its size: format 1 names it by id; format 2
   * is a note under the origin. A signature by a key a rotation retired before that size is refused.
   */
  #checkSignature(seq: number, body: CheckpointStatement, raw: SignedCheckpoint): boolean {
    const current = this.#currentKeyId;
    const retired = `the checkpoint at size ${seq} is signed by a key that was retired before entry ${seq}; the current key is ${current}`;
    if (body.format === 1) {
      const pub = this.#keys.get(body.keyId!);
      if (!pub) return this.#fail(seq, 'checkpoint_unknown_key', `the checkpoint at size ${seq} is signed by unknown key ${body.keyId}`);
      if (!checkpointSignedBy(raw, pub, this.#origin!)) return this.#fail(seq, 'checkpoint_signature_invalid', `the checkpoint at size ${seq} has an invalid signature`);
      if (body.keyId !== current) return this.#fail(seq, 'checkpoint_retired_key', retired);
      return true;
    }
    const currentPub = current ? this.#keys.get(current) : undefined;
    if (currentPub && checkpointSignedBy(raw, currentPub, this.#origin!)) return true;
    for (const pub of this.#keys.values()) if (checkpointSignedBy(raw, pub, this.#origin!)) return this.#fail(seq, 'checkpoint_retired_key', retired);
    const opened = openNote(raw.body, [...this.#keys.values()].map((publicKey) => ({ name: this.#origin!, publicKey })));
    if (!opened.ok && opened.reason === 'no-known-signature') return this.#fail(seq, 'checkpoint_unknown_key', `the checkpoint at size ${seq} is signed by no key of this ledger`);
    return this.#fail(seq, 'checkpoint_signature_invalid', `the checkpoint at size ${seq} has an invalid signature`);
  }

  #fail(seq: number, code: VerifyFaultCode, reason: string): false {
    if (!this.#fault) this.#fault = { seq, code, reason };
    return false;
  }
}

/** The result of an entry's own checks; the sequential checks come after it (LedgerVerifier.accept). */
export const ENTRY_OK = 0;
export const ENTRY_LEAF = 1;
export const ENTRY_CHAIN = 2;
export const ENTRY_NOT_CANONICAL = 3;
export const ENTRY_MALFORMED = 4;
export const ENTRY_ROW_MISMATCH = 5;
export type EntryCode = 0 | 1 | 2 | 3 | 4 | 5;

const ENTRY_FAULTS: Record<number, { code: VerifyFaultCode; reason: string }> = {
  [ENTRY_CHAIN]: { code: 'chain_hash_mismatch', reason: 'the stored chain hash does not commit to this entry and its predecessor' },
  [ENTRY_NOT_CANONICAL]: { code: 'event_not_canonical', reason: 'the event bytes are not RFC 8785 canonical JSON' },
  [ENTRY_MALFORMED]: { code: 'event_malformed', reason: 'the event lacks a valid envelope (v, id, type, time, data)' },
  [ENTRY_ROW_MISMATCH]: { code: 'event_row_mismatch', reason: 'the row\'s event id or type differs from the signed event bytes' },
};

/** An event the sequential part must read: entry 1, any genesis, any key rotation. */
export interface SpecialEvent {
  type: string;
  data: unknown;
}

const ENVELOPE_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * The checks of one entry that need nothing but the entry (pure, so they can run on any thread),
 * the first that fails: the leaf hash of the event bytes, the chain hash over the stored previous
 * hash (the link itself is checked in order by accept), the bytes canonical (RFC 8785), the
 * envelope, and the row's id and type equal to the event's. Entry 1, genesis and rotation events
 * come back with their type and data for accept.
 */
export function checkEntry(e: LedgerEntry): { code: EntryCode; special?: SpecialEvent } {
  if (e.leafHash.length !== 32 || !constantTimeEqual(leafHash(e.canonical), e.leafHash)) return { code: ENTRY_LEAF };
  // A sequence number that is not one is reported by accept (sequence_gap) before this code is read.
  if (e.prevHash.length !== 32 || !Number.isSafeInteger(e.seq) || e.seq < 0 || !constantTimeEqual(chainHash(e.seq, e.prevHash, e.leafHash), e.chainHash)) return { code: ENTRY_CHAIN };
  let ev: unknown;
  try {
    ev = parseCanonical(e.canonical);
  } catch {
    return { code: ENTRY_NOT_CANONICAL };
  }
  if (typeof ev !== 'object' || ev === null || Array.isArray(ev)) return { code: ENTRY_MALFORMED };
  const o = ev as Record<string, unknown>;
  if (o.v !== 1 || typeof o.id !== 'string' || typeof o.type !== 'string' || typeof o.time !== 'string' ||
    typeof o.data !== 'object' || o.data === null || !ENVELOPE_TYPES.has(o.type)) {
    return { code: ENTRY_MALFORMED };
  }
  if (o.id !== e.eventId || o.type !== e.eventType) return { code: ENTRY_ROW_MISMATCH };
  if (e.seq === 1 || o.type === 'ledger.genesis' || o.type === 'signing_key.added') return { code: ENTRY_OK, special: { type: o.type, data: o.data } };
  return { code: ENTRY_OK };
}

/** Constant-time equality of 32 bytes at ao of a and at bo of b (no early exit, no allocation). */
function equalAt(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  if (ao + 32 > a.length || bo + 32 > b.length) return false;
  let d = 0;
  for (let i = 0; i < 32; i++) d |= a[ao + i]! ^ b[bo + i]!;
  return d === 0;
}

const NO_BYTES = new Uint8Array(0);

/** Convenience for in-memory lists (tests, small exports). */
export function verifyLedger(entries: Iterable<LedgerEntry>, checkpoints: Iterable<SignedCheckpoint>, opts: VerifierOptions = {}): VerifyReport {
  const v = new LedgerVerifier(opts);
  v.addCheckpoints(checkpoints);
  for (const e of entries) if (!v.push(e)) break;
  return v.finish();
}
