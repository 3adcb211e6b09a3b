// C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys, and the tlog checkpoints carried in
// them (c2sp.org/tlog-checkpoint). Pure: no I/O. Byte-compatible with Go's
// golang.org/x/mod/sumdb/note (test/note-go.test.ts checks it against that package).
//
//   const note = signNote(formatCheckpoint({ origin, size, rootHash, extensions }), origin, key);
//   const r = openNote(note, [{ name: origin, publicKey }]);   // never throws on hostile bytes
//   if (r.ok) parseCheckpoint(r.text) ...
//
// A note is a text ending in a newline, a blank line, then one or more signature lines
// `— <key name> <base64(4-byte key hash || signature)>\n` (U+2014 em dash). Parsing follows the
// spec and Go's note.Open, and is stricter where they leave room (documented at openNote): the
// signed side (signNote, formatCheckpoint, ...) throws on input that would make a note the
// parsing side rejects, and the parsing side returns a reason instead of throwing.
import { sha256 } from '../crypto/hash.js';
import { verifyEd25519 } from '../crypto/ed25519-verify.js';

/** Signature type byte of Ed25519 signatures in c2sp.org/signed-note (and Go's algEd25519). */
export const NOTE_ALG_ED25519 = 0x01;
/** Largest note (and checkpoint text) accepted, in bytes: Go's tlog.ParseTree limit. */
export const MAX_NOTE_BYTES = 1_000_000;
/** Most signature lines accepted: Go's note.Open limit (the spec asks for at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

const EM_DASH_SPACE = Buffer.from('\u2014 ', 'utf8'); // e2 80 94 20
const NEWLINE = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The key of a known signer: a key name and a raw 32-byte Ed25519 public key. */
export interface NoteVerifier {
  name: string;
  publicKey: Uint8Array;
}

/** What signNote needs of a key (a SigningKey fits). */
export interface NoteSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

/** A signature line's key: its name and key hash (8 lowercase hex digits). */
export interface NoteKeyRef {
  name: string;
  keyHash: string;
}

export interface OpenedNote {
  ok: true;
  /** The signed text, including its final newline (not the blank line). */
  text: string;
  textBytes: Buffer;
  /** The known keys whose signatures verified, in the order their first signature line appears. */
  signedBy: Array<NoteKeyRef & { publicKey: Buffer }>;
  /** Signature lines from keys not among the verifiers (ignored, as the spec requires). */
  unverified: NoteKeyRef[];
}

export type NoteFailureReason =
  | 'not-bytes' // the input is not a Uint8Array
  | 'too-large' // more than MAX_NOTE_BYTES
  | 'invalid-utf8'
  | 'control-character' // a byte below 0x20 other than newline
  | 'no-signature-block' // no blank line, nothing after the last one, or no final newline
  | 'malformed-signature' // a line of the signature block is not `— <name> <base64>`
  | 'too-many-signatures'
  | 'bad-verifier' // a verifier given to openNote has an invalid name or key
  | 'ambiguous-verifier' // two verifiers share the name and key hash of a signature line
  | 'invalid-signature' // a signature by a known key does not verify
  | 'no-known-signature'; // well formed, but no known key signed it

export interface NoteFailure {
  ok: false;
  reason: NoteFailureReason;
  detail: string;
  /** With 'no-known-signature': the keys that did sign it (none of them known). */
  unverified?: NoteKeyRef[];
}

export type NoteOpenResult = OpenedNote | NoteFailure;

// ---------------------------------------------------------------------------------------------
// Names, key hashes and verifier keys

const SPACE_OR_PLUS = /[\p{White_Space}+]/u; // Go: unicode.IsSpace is exactly White_Space
const CONTROL = /[\u0000-\u001f]/;
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Whether `name` can be a key name: non-empty, no Unicode spaces, no `+` (spec and Go), and
 * no control characters or unpaired surrogates (which no note may contain).
 */
export function isValidKeyName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && !SPACE_OR_PLUS.test(name) && !CONTROL.test(name) && !LONE_SURROGATE.test(name);
}

function requireName(name: unknown): asserts name is string {
  if (!isValidKeyName(name)) throw new TypeError(`invalid note key name ${JSON.stringify(name)}: it must be non-empty, without spaces, "+" or control characters`);
}

function requirePublicKey(publicKey: unknown): asserts publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) throw new TypeError('an Ed25519 public key is 32 bytes');
}

/** The Ed25519 key hash: SHA-256(name || 0x0A || 0x01 || public key)[:4]. */
export function noteKeyHash(name: string, publicKey: Uint8Array): Buffer {
  requirePublicKey(publicKey);
  return sha256(Buffer.from(name, 'utf8'), Buffer.from([NEWLINE, NOTE_ALG_ED25519]), publicKey).subarray(0, 4);
}

/** Go's verifier key text for an Ed25519 key: `<name>+<8 hex key hash>+<base64(0x01 || key)>`. */
export function verifierKey(name: string, publicKey: Uint8Array): string {
  requireName(name);
  requirePublicKey(publicKey);
  const keyData = Buffer.concat([Buffer.from([NOTE_ALG_ED25519]), publicKey]);
  return `${name}+${noteKeyHash(name, publicKey).toString('hex')}+${keyData.toString('base64')}`;
}

export type VerifierKeyResult =
  | { ok: true; name: string; keyHash: string; publicKey: Buffer }
  | { ok: false; reason: 'malformed' | 'unknown-algorithm' | 'hash-mismatch'; detail: string };

/**
 * Parses a verifier key as Go's note.NewVerifier does (name, then the text between the first two
 * `+`, then the rest), more strictly: the hash is 8 lowercase hex digits and the key data is
 * canonical padded base64 of exactly 0x01 || 32 bytes. Never throws.
 */
export function parseVerifierKey(text: unknown): VerifierKeyResult {
  const bad = (reason: 'malformed' | 'unknown-algorithm' | 'hash-mismatch', detail: string) => ({ ok: false as const, reason, detail });
  if (typeof text !== 'string' || text.length > 4096) return bad('malformed', 'a verifier key is a short string');
  const p1 = text.indexOf('+');
  const p2 = p1 < 0 ? -1 : text.indexOf('+', p1 + 1);
  if (p2 < 0) return bad('malformed', 'a verifier key is <name>+<hash>+<key>');
  const name = text.slice(0, p1);
  const hash = text.slice(p1 + 1, p2);
  const data = decodeBase64Strict(text.slice(p2 + 1));
  if (!isValidKeyName(name)) return bad('malformed', 'invalid key name');
  if (!/^[0-9a-f]{8}$/.test(hash)) return bad('malformed', 'the key hash is not 8 lowercase hex digits');
  if (!data || data.length === 0) return bad('malformed', 'the key data is not canonical base64');
  if (data[0] !== NOTE_ALG_ED25519) return bad('unknown-algorithm', `signature type 0x${data[0]!.toString(16).padStart(2, '0')} is not Ed25519`);
  if (data.length !== 33) return bad('malformed', 'an Ed25519 key is 32 bytes');
  const publicKey = Buffer.from(data.subarray(1));
  if (noteKeyHash(name, publicKey).toString('hex') !== hash) return bad('hash-mismatch', 'the key hash does not match the name and key');
  return { ok: true, name, keyHash: hash, publicKey };
}

// ---------------------------------------------------------------------------------------------
// Signing

/** Throws unless `text` can be the text of a note: a well-formed string ending in a newline, with no control characters but newlines. */
function requireNoteText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw new TypeError('note text must be a string');
  if (!text.endsWith('\n')) throw new TypeError('note text must end in a newline');
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new TypeError('note text must not contain control characters other than newline');
  if (LONE_SURROGATE.test(text)) throw new TypeError('note text must be well-formed Unicode');
}

/** One signature line, `— <name> <base64(key hash || signature)>\n`, over `textBytes`. */
function signatureLine(textBytes: Buffer, name: string, key: NoteSigner): Buffer {
  requireName(name);
  requirePublicKey(key.publicKey);
  const sig = key.sign(textBytes);
  if (!(sig instanceof Uint8Array) || sig.length !== 64) throw new TypeError('an Ed25519 signature is 64 bytes');
  const b64 = Buffer.concat([noteKeyHash(name, key.publicKey), sig]).toString('base64');
  return Buffer.from(`\u2014 ${name} ${b64}\n`, 'utf8');
}

/**
 * Signs `text` (which must end in a newline) as `name` and returns the whole note: the text, a
 * blank line and one signature line. Throws on text or a name that no verifier would accept.
 */
export function signNote(text: string, name: string, key: NoteSigner): Buffer {
  requireNoteText(text);
  const textBytes = Buffer.from(text, 'utf8');
  const note = Buffer.concat([textBytes, Buffer.from([NEWLINE]), signatureLine(textBytes, name, key)]);
  if (note.length > MAX_NOTE_BYTES) throw new RangeError(`a note is at most ${MAX_NOTE_BYTES} bytes`);
  return note;
}

// ---------------------------------------------------------------------------------------------
// Opening

/** Standard padded base64 that re-encodes to exactly the same text (no stray bits, no whitespace). */
function decodeBase64Strict(s: string): Buffer | null {
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return null;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? b : null;
}

interface ParsedLine {
  line: string;
  name: string;
  keyHash: string;
  signature: Buffer;
}

/**
 * Opens a signed note from hostile bytes: checks its syntax and the signatures of the known
 * `verifiers`, and returns the text and which of them signed, or why it fails. Never throws.
 *
 * As the spec and Go's note.Open: valid UTF-8 without control characters but newline, the text
 * is everything up to the last blank line, each following line is `— <name> <base64>` whose
 * base64 decodes to a 4-byte key hash and at least one byte; signatures of unknown keys (name and
 * key hash not both known) are ignored; at least one known key must have signed. Stricter than
 * Go: base64 must be canonical, a known key with several signature lines must have all of them
 * verify (Go checks only the first; the spec says clients SHOULD reject on any failure), and
 * the note is at most MAX_NOTE_BYTES.
 */
export function openNote(bytes: Uint8Array, verifiers: readonly NoteVerifier[]): NoteOpenResult {
  const fail = (reason: NoteFailureReason, detail: string): NoteFailure => ({ ok: false, reason, detail });
  try {
    if (!(bytes instanceof Uint8Array)) return fail('not-bytes', 'a note is bytes');
    if (bytes.length > MAX_NOTE_BYTES) return fail('too-large', `a note is at most ${MAX_NOTE_BYTES} bytes`);
    const msg = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < msg.length; i++) {
      const b = msg[i]!;
      if (b < 0x20 && b !== NEWLINE) return fail('control-character', `control character 0x${b.toString(16).padStart(2, '0')} at byte ${i}`);
    }
    try {
      utf8.decode(msg);
    } catch {
      return fail('invalid-utf8', 'a note is UTF-8');
    }

    const split = msg.lastIndexOf('\n\n');
    if (split < 0) return fail('no-signature-block', 'no blank line before the signatures');
    const textBytes = Buffer.from(msg.subarray(0, split + 1));
    const block = msg.subarray(split + 2);
    if (block.length === 0 || block[block.length - 1] !== NEWLINE) return fail('no-signature-block', 'the signature block must be non-empty lines each ending in a newline');

    // Signature lines (the block ends in a newline, so the last piece is empty).
    const rawLines: Buffer[] = [];
    for (let start = 0; start < block.length; ) {
      const end = block.indexOf(NEWLINE, start);
      rawLines.push(block.subarray(start, end));
      start = end + 1;
      if (rawLines.length > MAX_NOTE_SIGNATURES) return fail('too-many-signatures', `at most ${MAX_NOTE_SIGNATURES} signatures`);
    }
    const lines: ParsedLine[] = [];
    for (const [i, raw] of rawLines.entries()) {
      if (!raw.subarray(0, EM_DASH_SPACE.length).equals(EM_DASH_SPACE)) return fail('malformed-signature', `signature line ${i + 1} does not start with an em dash and a space`);
      const line = utf8.decode(raw.subarray(EM_DASH_SPACE.length));
      const sp = line.indexOf(' ');
      const name = sp < 0 ? line : line.slice(0, sp);
      const b64 = sp < 0 ? '' : line.slice(sp + 1);
      if (!isValidKeyName(name)) return fail('malformed-signature', `signature line ${i + 1} has an invalid key name`);
      const sig = decodeBase64Strict(b64);
      if (!sig || sig.length < 5) return fail('malformed-signature', `signature line ${i + 1} is not canonical base64 of a key hash and a signature`);
      lines.push({ line, name, keyHash: sig.subarray(0, 4).toString('hex'), signature: sig.subarray(4) });
    }

    // Known keys by name and key hash.
    const known = new Map<string, Array<NoteKeyRef & { publicKey: Buffer }>>();
    if (!Array.isArray(verifiers)) return fail('bad-verifier', 'verifiers must be an array');
    for (const v of verifiers) {
      if (typeof v !== 'object' || v === null || !isValidKeyName(v.name) || !(v.publicKey instanceof Uint8Array) || v.publicKey.length !== 32) {
        return fail('bad-verifier', 'a verifier is a valid key name and a 32-byte Ed25519 public key');
      }
      const ref = { name: v.name, keyHash: noteKeyHash(v.name, v.publicKey).toString('hex'), publicKey: Buffer.from(v.publicKey) };
      const id = `${ref.name}\n${ref.keyHash}`;
      // As Go's VerifierList: two verifiers with one name and key hash (even the same key twice)
      // are ambiguous, reported if a signature line names them.
      known.set(id, [...(known.get(id) ?? []), ref]);
    }

    const signedBy: OpenedNote['signedBy'] = [];
    const unverified: NoteKeyRef[] = [];
    const seenLines = new Set<string>();
    for (const l of lines) {
      if (seenLines.has(l.line)) continue; // an identical line has the same verdict
      seenLines.add(l.line);
      const keys = known.get(`${l.name}\n${l.keyHash}`);
      if (!keys) {
        unverified.push({ name: l.name, keyHash: l.keyHash });
        continue;
      }
      if (keys.length > 1) return fail('ambiguous-verifier', `several verifiers are ${l.name}+${l.keyHash}`);
      const key = keys[0]!;
      if (!verifyEd25519(l.signature, textBytes, key.publicKey)) return fail('invalid-signature', `the signature of ${l.name}+${l.keyHash} does not verify`);
      if (!signedBy.some((k) => k.name === key.name && k.keyHash === key.keyHash)) signedBy.push({ name: key.name, keyHash: key.keyHash, publicKey: key.publicKey });
    }
    if (signedBy.length === 0) return { ...fail('no-known-signature', 'no known key signed this note'), unverified };
    return { ok: true, text: utf8.decode(textBytes), textBytes, signedBy, unverified };
  } catch (e) {
    // Unreachable for byte input; a hostile object (a getter that throws) must not escape.
    return fail('not-bytes', `unreadable input: ${(e as Error)?.message ?? String(e)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints (c2sp.org/tlog-checkpoint)

export interface Checkpoint {
  /** The log's identity; non-empty (the spec recommends a schema-less URL without spaces or "+"). */
  origin: string;
  /** The number of leaves. */
  size: number;
  /** The RFC 6962 Merkle tree hash at `size`, 32 bytes. */
  rootHash: Buffer;
  /** Extension lines, each non-empty, in order. */
  extensions: string[];
}

export interface CheckpointInput {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions?: readonly string[];
}

export type CheckpointFailureReason =
  | 'not-text' // not a string or bytes, not UTF-8, or control characters other than newline
  | 'too-large'
  | 'no-final-newline'
  | 'too-few-lines' // fewer than the origin, size and root hash lines
  | 'bad-origin' // empty
  | 'bad-size' // not decimal without leading zeros, or beyond 2^53 - 1
  | 'bad-root-hash' // not canonical padded standard base64 of 32 bytes
  | 'empty-extension';

export type CheckpointResult = { ok: true; checkpoint: Checkpoint } | { ok: false; reason: CheckpointFailureReason; detail: string };

function requireLine(what: string, s: unknown): asserts s is string {
  if (typeof s !== 'string' || s.length === 0) throw new TypeError(`checkpoint ${what} must be a non-empty string`);
  if (CONTROL.test(s)) throw new TypeError(`checkpoint ${what} must be one line without control characters`);
  if (LONE_SURROGATE.test(s)) throw new TypeError(`checkpoint ${what} must be well-formed Unicode`);
}

/** The note text of a checkpoint: origin, decimal size, base64 root hash, extension lines, each ending in a newline. */
export function formatCheckpoint(cp: CheckpointInput): string {
  requireLine('origin', cp.origin);
  if (!Number.isSafeInteger(cp.size) || cp.size < 0) throw new TypeError('checkpoint size must be a non-negative safe integer');
  if (!(cp.rootHash instanceof Uint8Array) || cp.rootHash.length !== 32) throw new TypeError('checkpoint root hash must be 32 bytes');
  const extensions = cp.extensions ?? [];
  for (const e of extensions) requireLine('extension line', e);
  const text = [cp.origin, String(cp.size), Buffer.from(cp.rootHash).toString('base64'), ...extensions].join('\n') + '\n';
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES) throw new RangeError(`a checkpoint is at most ${MAX_NOTE_BYTES} bytes`);
  return text;
}

const SIZE = /^(0|[1-9][0-9]*)$/;
const ROOT_B64 = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Parses checkpoint text (a note's text, as openNote returns it) strictly, and never throws:
 * at least three lines each ending in a newline; a non-empty origin (the spec requires no more:
 * compare it with the origin you expect); the size in decimal without leading zeros (`0` for an
 * empty tree) up to 2^53 - 1; the root hash as canonical padded standard base64 of exactly 32
 * bytes; any further lines non-empty. The text obeys the note rules (UTF-8, no control characters
 * but newline).
 */
export function parseCheckpoint(text: string | Uint8Array): CheckpointResult {
  const fail = (reason: CheckpointFailureReason, detail: string) => ({ ok: false as const, reason, detail });
  let s: string;
  if (typeof text === 'string') {
    if (text.length > MAX_NOTE_BYTES) return fail('too-large', `a checkpoint is at most ${MAX_NOTE_BYTES} bytes`);
    if (LONE_SURROGATE.test(text)) return fail('not-text', 'not well-formed Unicode');
    s = text;
  } else if (text instanceof Uint8Array) {
    if (text.length > MAX_NOTE_BYTES) return fail('too-large', `a checkpoint is at most ${MAX_NOTE_BYTES} bytes`);
    try {
      s = utf8.decode(text);
    } catch {
      return fail('not-text', 'not UTF-8');
    }
  } else {
    return fail('not-text', 'a checkpoint is text');
  }
  if (/[\u0000-\u0009\u000b-\u001f]/.test(s)) return fail('not-text', 'control characters other than newline');
  if (!s.endsWith('\n')) return fail('no-final-newline', 'every checkpoint line ends in a newline');
  const lines = s.slice(0, -1).split('\n');
  if (lines.length < 3) return fail('too-few-lines', 'a checkpoint has an origin, a size and a root hash line');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) return fail('bad-origin', 'the origin is empty');
  if (!SIZE.test(sizeText)) return fail('bad-size', 'the size is not a decimal number without leading zeros');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) return fail('bad-size', 'the size is beyond 2^53 - 1');
  const rootHash = ROOT_B64.test(rootText) ? decodeBase64Strict(rootText) : null;
  if (!rootHash || rootHash.length !== 32) return fail('bad-root-hash', 'the root hash is not canonical base64 of 32 bytes');
  const empty = extensions.findIndex((e) => e.length === 0);
  if (empty >= 0) return fail('empty-extension', `extension line ${empty + 1} is empty`);
  return { ok: true, checkpoint: { origin, size, rootHash, extensions } };
}

/** Signs a checkpoint as a note, by default under its origin as the key name (as the spec recommends). */
export function signCheckpointNote(cp: CheckpointInput, key: NoteSigner, name: string = cp.origin): Buffer {
  return signNote(formatCheckpoint(cp), name, key);
}

export type CheckpointNoteResult =
  | { ok: true; checkpoint: Checkpoint; note: OpenedNote }
  | NoteFailure
  | { ok: false; reason: CheckpointFailureReason | 'origin-mismatch'; detail: string };

/**
 * Opens a signed checkpoint from hostile bytes: openNote, then parseCheckpoint of its text, then
 * (when given) the origin must equal `expect.origin`. Never throws.
 */
export function openCheckpointNote(bytes: Uint8Array, verifiers: readonly NoteVerifier[], expect: { origin?: string } = {}): CheckpointNoteResult {
  const note = openNote(bytes, verifiers);
  if (!note.ok) return note;
  const cp = parseCheckpoint(note.text);
  if (!cp.ok) return cp;
  if (expect.origin !== undefined && cp.checkpoint.origin !== expect.origin) {
    return { ok: false, reason: 'origin-mismatch', detail: `the checkpoint is for ${JSON.stringify(cp.checkpoint.origin)}` };
  }
  return { ok: true, checkpoint: cp.checkpoint, note };
}

// ---------------------------------------------------------------------------------------------
// assentmark's extension lines: `chain-hash <64 lowercase hex>` and `time <RFC 3339 UTC, ms>`

export const CHAIN_HASH_EXTENSION = 'chain-hash';
export const TIME_EXTENSION = 'time';

const CHAIN_HASH_VALUE = /^[0-9a-f]{64}$/;
const TIME_VALUE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Whether extension `line` has `keyword` as its first space-separated word. */
function hasKeyword(line: string, keyword: string): boolean {
  return line === keyword || line.startsWith(`${keyword} `);
}

function addExtension(extensions: readonly string[], keyword: string, line: string): string[] {
  if (extensions.some((e) => hasKeyword(e, keyword))) throw new TypeError(`the checkpoint already has a ${keyword} extension line`);
  return [...extensions, line];
}

/** `extensions` plus `chain-hash <hex>` (the ledger's chain hash at the checkpoint's size); throws if one is there. */
export function withChainHash(extensions: readonly string[], chainHash: Uint8Array): string[] {
  if (!(chainHash instanceof Uint8Array) || chainHash.length !== 32) throw new TypeError('a chain hash is 32 bytes');
  return addExtension(extensions, CHAIN_HASH_EXTENSION, `${CHAIN_HASH_EXTENSION} ${Buffer.from(chainHash).toString('hex')}`);
}

/** `extensions` plus `time <YYYY-MM-DDTHH:MM:SS.sssZ>`; throws if one is there or the date is invalid or outside years 0000-9999. */
export function withTime(extensions: readonly string[], time: Date): string[] {
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) throw new TypeError('time must be a valid Date');
  const iso = time.toISOString();
  if (!TIME_VALUE.test(iso)) throw new RangeError('time must be within the years 0000-9999');
  return addExtension(extensions, TIME_EXTENSION, `${TIME_EXTENSION} ${iso}`);
}

export type ExtensionResult<T> = { ok: true; value: T | null } | { ok: false; reason: 'duplicate' | 'malformed'; detail: string };

function readExtension<T>(extensions: readonly string[], keyword: string, parse: (value: string) => T | null): ExtensionResult<T> {
  const found = extensions.filter((e) => hasKeyword(e, keyword));
  if (found.length === 0) return { ok: true, value: null };
  if (found.length > 1) return { ok: false, reason: 'duplicate', detail: `${found.length} ${keyword} extension lines` };
  const line = found[0]!;
  const value = line.length > keyword.length + 1 ? parse(line.slice(keyword.length + 1)) : null;
  if (value === null) return { ok: false, reason: 'malformed', detail: `malformed ${keyword} extension line` };
  return { ok: true, value };
}

/** The `chain-hash` extension's 32 bytes, null when absent; fails on a duplicate or a malformed value. */
export function readChainHash(extensions: readonly string[]): ExtensionResult<Buffer> {
  return readExtension(extensions, CHAIN_HASH_EXTENSION, (v) => (CHAIN_HASH_VALUE.test(v) ? Buffer.from(v, 'hex') : null));
}

/** The `time` extension, null when absent; fails on a duplicate or anything but a real instant as `Date#toISOString` writes it. */
export function readTime(extensions: readonly string[]): ExtensionResult<Date> {
  return readExtension(extensions, TIME_EXTENSION, (v) => {
    if (!TIME_VALUE.test(v)) return null;
    const d = new Date(v);
    return !Number.isNaN(d.getTime()) && d.toISOString() === v ? d : null;
  });
}
