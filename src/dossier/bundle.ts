// The evidence bundle: every cited ledger entry's canonical bytes with its RFC 9162 inclusion proof
// to a signed checkpoint note, the note itself, outside time for it (RFC 3161 tokens and a
// consistency proof from the latest earlier timestamped checkpoint), and the receipts, as one
// RFC 8785 document signed with Ed25519. Its size grows with log2 of the ledger, not the ledger.
// Pure: building and verifying need no database.
//
// Format v1 (a chain proof: every leaf hash from the first cited entry to the checkpoint) is no
// longer issued; verifyBundle still checks v1 bundles, so dossiers issued before stay verifiable.
import { canonicalBytes, parseCanonical } from '../canonical/jcs.js';
import { constantTimeEqual, sha256 } from '../crypto/hash.js';
import { keyIdOf, verifyEd25519 } from '../crypto/ed25519-verify.js';
import type { SigningKey } from '../crypto/ed25519.js';
import { chainHash, leafHash, type LedgerEntry } from '../ledger/format.js';
import { checkpointSignedBy, readCheckpoint, type CheckpointStatement, type SignedCheckpoint } from '../ledger/checkpoint.js';
import { checkConsistency, checkInclusion, rootFromInclusion } from '../ledger/merkle.js';
import { noteKeyHash, openCheckpointNote } from '../ledger/note.js';
import { TimestampError, verifyTimestampToken } from '../timestamp/rfc3161.js';
import { verifyReceipt, type Receipt } from '../assent/receipt.js';
import type { BundleErasedFact, BundleOpening } from './openings.js';

export const BUNDLE_TYPE = 'assentmark.evidence-bundle/v2';
export const BUNDLE_TYPE_V1 = 'assentmark.evidence-bundle/v1';

/** What a bundle says when its checkpoint has no outside timestamp. */
export const NO_TIMESTAMP_STATEMENT =
  'No outside timestamp exists for this checkpoint: the issuing service has no RFC 3161 time-stamping authority configured, so the time in the checkpoint is the service\'s own statement.';

/** An RFC 3161 TimeStampToken over SHA-256 of a whole checkpoint note. */
export interface BundleTimestamp {
  status: 'rfc3161';
  tsa_url: string;
  /** genTime of the token, RFC 3339 with milliseconds. */
  gen_time: string;
  /** The token's serial number, lowercase hex. */
  serial: string;
  /** base64 of the DER TimeStampToken (CMS ContentInfo). */
  token: string;
}

export interface BundleNoTimestamp {
  status: 'none';
  statement: string;
}

export interface BundleInclusion {
  /** The checkpoint's size: the tree this proof is for. */
  tree_size: number;
  /** seq - 1. */
  leaf_index: number;
  /** RFC 9162 2.1.3.1 PATH, leaf level first, each hash hex. */
  audit_path: string[];
}

export interface BundleEntry {
  seq: number;
  event_id: string;
  event_type: string;
  canonical: string; // base64 of the exact stored bytes
  leaf_hash: string;
  /** The row's chain fields (docs/ledger-format.md), for comparison with a ledger export. */
  prev_hash: string;
  chain_hash: string;
  inclusion: BundleInclusion;
}

export interface BundleConsistency {
  from_size: number;
  to_size: number;
  /** RFC 9162 2.1.4.1 PROOF, each hash hex. */
  proof: string[];
}

export interface EvidenceBundle {
  type: typeof BUNDLE_TYPE;
  origin: string;
  dossier_id: string;
  case_ref: string;
  subject: string;
  issued_at: string;
  signing_key: { alg: 'Ed25519'; key_id: string; public_key: string };
  /** The dossier's checkpoint: the whole signed note (base64) and its outside timestamp, if any. */
  checkpoint: { note: string; timestamp: BundleTimestamp | BundleNoTimestamp };
  /** The latest checkpoint before it with an outside timestamp, and the proof that it is a prefix. */
  earlier_checkpoint: { note: string; timestamp: BundleTimestamp; consistency: BundleConsistency } | null;
  entries: BundleEntry[];
  receipts: Receipt[];
  /**
   * The keyed pseudonym of the subject (docs/personal-data.md), and the openings of the cited
   * entries' committed personal facts about it, or, once erased, the erasure that erased each.
   * Absent from bundles issued before personal data left the log.
   */
  subject_pseudonym?: string;
  openings?: BundleOpening[];
  erased?: BundleErasedFact[];
}

/** What a bundle needs of a stored RFC 3161 timestamp. */
export interface TimestampInput {
  tsaUrl: string;
  genTime: Date;
  serial: string;
  token: Buffer;
}

export interface BundleInput {
  origin: string;
  dossierId: string;
  caseRef: string;
  subject: string;
  issuedAt: Date;
  key: SigningKey;
  /** Each cited entry with its inclusion proof in the tree of the checkpoint's size. */
  entries: Array<{ entry: LedgerEntry; proof: { leafIndex: number; treeSize: number; proof: Buffer[] } }>;
  /** The whole signed checkpoint note. */
  checkpointNote: Buffer;
  checkpointTimestamp: TimestampInput | null;
  earlier: { note: Buffer; timestamp: TimestampInput; fromSize: number; toSize: number; proof: Buffer[] } | null;
  receipts: Receipt[];
  subjectPseudonym: string;
  openings: BundleOpening[];
  erased: BundleErasedFact[];
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function timestampJson(t: TimestampInput): BundleTimestamp {
  return { status: 'rfc3161', tsa_url: t.tsaUrl, gen_time: t.genTime.toISOString(), serial: t.serial, token: t.token.toString('base64') };
}

export function buildBundle(i: BundleInput): { bundle: EvidenceBundle; bytes: Buffer; signature: Buffer } {
  const bundle: EvidenceBundle = {
    type: BUNDLE_TYPE,
    origin: i.origin,
    dossier_id: i.dossierId,
    case_ref: i.caseRef,
    subject: i.subject,
    issued_at: i.issuedAt.toISOString(),
    signing_key: { alg: 'Ed25519', key_id: i.key.keyId, public_key: i.key.publicKey.toString('base64') },
    checkpoint: {
      note: i.checkpointNote.toString('base64'),
      timestamp: i.checkpointTimestamp ? timestampJson(i.checkpointTimestamp) : { status: 'none', statement: NO_TIMESTAMP_STATEMENT },
    },
    earlier_checkpoint: i.earlier
      ? { note: i.earlier.note.toString('base64'), timestamp: timestampJson(i.earlier.timestamp), consistency: { from_size: i.earlier.fromSize, to_size: i.earlier.toSize, proof: i.earlier.proof.map(hex) } }
      : null,
    entries: [...i.entries].sort((a, b) => a.entry.seq - b.entry.seq).map(({ entry: e, proof: p }) => ({
      seq: e.seq,
      event_id: e.eventId,
      event_type: e.eventType,
      canonical: e.canonical.toString('base64'),
      leaf_hash: hex(e.leafHash),
      prev_hash: hex(e.prevHash),
      chain_hash: hex(e.chainHash),
      inclusion: { tree_size: p.treeSize, leaf_index: p.leafIndex, audit_path: p.proof.map(hex) },
    })),
    receipts: i.receipts,
    subject_pseudonym: i.subjectPseudonym,
    openings: [...i.openings].sort((a, b) => a.seq - b.seq || (a.field < b.field ? -1 : 1)),
    erased: [...i.erased].sort((a, b) => a.seq - b.seq || (a.field < b.field ? -1 : 1)),
  };
  const bytes = canonicalBytes(bundle);
  return { bundle, bytes, signature: i.key.sign(bytes) };
}

// ---- verification ------------------------------------------------------------------------------

/** The verdict on one RFC 3161 token in a bundle. */
export interface TimestampCheck {
  /** Which checkpoint it stamps. */
  of: 'checkpoint' | 'earlier checkpoint';
  size: number | null;
  ok: boolean;
  /** A sentence: what was verified, or the failure (also listed in BundleCheck.failures). */
  detail: string;
  genTime: string | null;
  tsaUrl: string | null;
  tsaName: string | null;
  /** Whether the TSA certificate was checked to chain to a CA the verifier was given. */
  chainVerified: boolean;
}

export interface BundleCheck {
  ok: boolean;
  failures: string[];
  keyId: string | null;
  /** True when the caller supplied the key; false when only the bundle's own key was used. */
  keyTrusted: boolean;
  /** 2 (Merkle proofs) or 1 (chain proof, dossiers issued before v2); null when unreadable. */
  format: 1 | 2 | null;
  entries: number;
  checkpointSize: number | null;
  /** The checkpoint's Merkle root (hex), format 2. */
  rootHash: string | null;
  checkpointTime: string | null;
  /** Hashes in all the entries' inclusion proofs (format 2). */
  proofHashes: number;
  /** The consistency proof from the earlier timestamped checkpoint, when the bundle has one. */
  consistency: { fromSize: number; toSize: number; hashes: number; ok: boolean } | null;
  timestamps: TimestampCheck[];
  /** The bundle's own statement that no outside timestamp exists, when it makes one. */
  noTimestampStatement: string | null;
  receipts: number;
  bundle: EvidenceBundle | null;
}

export interface VerifyBundleOptions {
  /** CA certificates (PEM) a TSA certificate must chain to; without them each token's own certificate is checked only. */
  tsaTrustedCertsPem?: string | readonly string[];
}

/** A plain JSON object (hostile input may put anything anywhere). */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const HASH_HEX = /^[0-9a-f]{64}$/;

/** Standard padded base64 that re-encodes to the same text; null otherwise. */
function base64Strict(v: unknown): Buffer | null {
  if (typeof v !== 'string' || v.length === 0 || v.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(v)) return null;
  const b = Buffer.from(v, 'base64');
  return b.toString('base64') === v ? b : null;
}

function hashList(v: unknown): Buffer[] | null {
  if (!Array.isArray(v) || v.length > 64) return null;
  const out: Buffer[] = [];
  for (const h of v) {
    if (typeof h !== 'string' || !HASH_HEX.test(h)) return null;
    out.push(Buffer.from(h, 'hex'));
  }
  return out;
}

/** Verifies bundle bytes and their signature. Every field is treated as hostile; all failures are listed. */
export function verifyBundle(bytes: Uint8Array, signature: Uint8Array, trustedKey?: Uint8Array, opts: VerifyBundleOptions = {}): BundleCheck {
  const failures: string[] = [];
  const empty: BundleCheck = {
    ok: false, failures, keyId: null, keyTrusted: !!trustedKey, format: null, entries: 0, checkpointSize: null, rootHash: null, checkpointTime: null,
    proofHashes: 0, consistency: null, timestamps: [], noTimestampStatement: null, receipts: 0, bundle: null,
  };
  let parsed: unknown;
  try {
    parsed = parseCanonical(bytes);
  } catch {
    failures.push('the bundle is not RFC 8785 canonical JSON');
    return empty;
  }
  if (isObject(parsed) && parsed.type === BUNDLE_TYPE_V1) return verifyBundleV1(parsed, bytes, signature, trustedKey, empty);
  if (!isObject(parsed) || parsed.type !== BUNDLE_TYPE || !Array.isArray(parsed.entries) || !isObject(parsed.checkpoint) || !Array.isArray(parsed.receipts) || !isObject(parsed.signing_key) || typeof parsed.origin !== 'string') {
    failures.push(`the bundle is not an assentmark evidence bundle (${BUNDLE_TYPE})`);
    return empty;
  }
  const b = parsed as unknown as EvidenceBundle;
  const r: BundleCheck = { ...empty, format: 2, bundle: b, keyId: String(b.signing_key.key_id), entries: b.entries.length, receipts: b.receipts.length };
  const finish = (): BundleCheck => ({ ...r, ok: failures.length === 0 });

  if (b.entries.length === 0) failures.push('the bundle cites no ledger entry');
  for (const f of ['dossier_id', 'case_ref', 'subject', 'issued_at'] as const) if (typeof b[f] !== 'string') failures.push(`the bundle's ${f} is not a string`);
  if (b.signing_key.alg !== 'Ed25519') failures.push(`the bundle's signing key is not Ed25519 (alg ${JSON.stringify(b.signing_key.alg)})`);

  // The signing key and the bundle signature.
  const key = signingKeyOf(b.signing_key, trustedKey, failures);
  if (!verifyEd25519(signature, bytes, key)) failures.push('the bundle signature does not verify');

  // The checkpoint note: well formed, signed by the key under the origin as key name.
  // Without it the entries are still checked for themselves, and the receipts.
  const cp = openNoteOf(b.checkpoint.note, 'checkpoint', b.origin, key, failures);
  if (cp) {
    r.checkpointSize = cp.size;
    r.rootHash = hex(cp.rootHash);
    r.checkpointTime = cp.time;
  }

  // Entries: bytes, leaf hash, canonical JSON, id and type, chain fields, inclusion in the tree.
  const bySeq = new Map<number, BundleEntry>();
  for (const e of b.entries as unknown[]) {
    if (!isObject(e) || !Number.isSafeInteger(e.seq) || (e.seq as number) < 1 || bySeq.has(e.seq as number)) {
      failures.push(`entry ${isObject(e) ? String(e.seq) : '?'}: bad or duplicate sequence number`);
      continue;
    }
    const entry = e as unknown as BundleEntry;
    const seq = entry.seq;
    bySeq.set(seq, entry);
    const eventBytes = base64Strict(entry.canonical);
    if (!eventBytes) {
      failures.push(`entry ${seq}: its bytes are not base64`);
      continue;
    }
    const leaf = leafHash(eventBytes);
    if (hex(leaf) !== entry.leaf_hash) failures.push(`entry ${seq}: leaf hash does not match its bytes`);
    try {
      const ev = parseCanonical(eventBytes) as { id?: unknown; type?: unknown };
      if (ev.id !== entry.event_id || ev.type !== entry.event_type) failures.push(`entry ${seq}: event id or type differs from the signed bytes`);
    } catch {
      failures.push(`entry ${seq}: event bytes are not canonical JSON`);
    }
    if (typeof entry.prev_hash !== 'string' || !HASH_HEX.test(entry.prev_hash) || typeof entry.chain_hash !== 'string' || !HASH_HEX.test(entry.chain_hash)) {
      failures.push(`entry ${seq}: its prev_hash and chain_hash are not 32-byte hex hashes`);
    } else {
      if (hex(chainHash(seq, Buffer.from(entry.prev_hash, 'hex'), leaf)) !== entry.chain_hash) failures.push(`entry ${seq}: its chain hash is not SHA-256(0x02 || ${seq} || prev_hash || leaf hash)`);
      if (cp && seq === cp.size && entry.chain_hash !== hex(cp.chainHash)) failures.push(`entry ${seq}: its chain hash differs from the chain hash the checkpoint signs at size ${cp.size}`);
    }
    const inc = entry.inclusion as unknown;
    const path = isObject(inc) ? hashList(inc.audit_path) : null;
    if (!isObject(inc) || !path || !Number.isSafeInteger(inc.tree_size) || !Number.isSafeInteger(inc.leaf_index)) {
      failures.push(`entry ${seq}: its inclusion proof is malformed`);
      continue;
    }
    r.proofHashes += path.length;
    if (!cp) continue;
    if (seq > cp.size) {
      failures.push(`entry ${seq}: beyond the checkpoint, which covers entries 1 to ${cp.size}`);
      continue;
    }
    if (inc.tree_size !== cp.size) {
      failures.push(`entry ${seq}: its inclusion proof is for a tree of size ${String(inc.tree_size)}, the checkpoint's is ${cp.size}`);
      continue;
    }
    if (inc.leaf_index !== seq - 1) {
      failures.push(`entry ${seq}: its inclusion proof is for leaf index ${String(inc.leaf_index)}, not ${seq - 1}`);
      continue;
    }
    const c = checkInclusion(seq - 1, cp.size, leaf, path, cp.rootHash);
    if (!c.ok) {
      const got = rootFromInclusion(seq - 1, cp.size, leaf, path);
      failures.push(got.ok
        ? `entry ${seq}: not in the tree of the signed checkpoint: its inclusion proof leads to root ${hex(got.root)}, the checkpoint's root is ${hex(cp.rootHash)}`
        : `entry ${seq}: its inclusion proof is malformed: ${c.reason}`);
    }
  }

  if (cp) checkTime(b, cp, key, opts, r, failures);
  checkReceipts(b.receipts, key, bySeq, failures);
  return finish();
}

/** Outside time: the checkpoint's token (or the statement that there is none), the earlier timestamped checkpoint. */
function checkTime(b: EvidenceBundle, cp: CheckpointStatement & { rootHash: Buffer }, key: Uint8Array, opts: VerifyBundleOptions, r: BundleCheck, failures: string[]): void {
  const root = cp.rootHash;
  const digest = (note: string): Buffer => sha256(Buffer.from(note, 'base64'));
  const ts = b.checkpoint.timestamp as unknown;
  if (isObject(ts) && ts.status === 'none') {
    if (typeof ts.statement !== 'string' || ts.statement.length === 0) failures.push('the checkpoint\'s timestamp says "none" without a statement');
    else r.noTimestampStatement = ts.statement;
  } else {
    r.timestamps.push(checkTimestamp(ts, 'checkpoint', cp.size, digest(b.checkpoint.note), opts, failures));
  }

  // The earlier timestamped checkpoint: signed note, consistent with the dossier's, its token.
  const earlier = b.earlier_checkpoint as unknown;
  if (earlier !== null && earlier !== undefined) {
    if (!isObject(earlier) || !isObject(earlier.consistency)) failures.push('the earlier checkpoint is malformed');
    else {
      const e = openNoteOf(earlier.note, 'earlier checkpoint', b.origin, key, failures);
      const cons = earlier.consistency;
      const proof = hashList(cons.proof);
      if (e) {
        r.timestamps.push(checkTimestamp(earlier.timestamp, 'earlier checkpoint', e.size, digest(String(earlier.note)), opts, failures));
        if (!proof) failures.push(`the consistency proof from size ${e.size} is malformed`);
        else {
          r.consistency = { fromSize: e.size, toSize: cp.size, hashes: proof.length, ok: false };
          if (e.size >= cp.size) failures.push(`the earlier checkpoint (size ${e.size}) is not smaller than the checkpoint (size ${cp.size})`);
          else if (cons.from_size !== e.size || cons.to_size !== cp.size) failures.push(`the consistency proof is stated from size ${String(cons.from_size)} to ${String(cons.to_size)}, the checkpoints are at sizes ${e.size} and ${cp.size}`);
          else {
            const c = checkConsistency(e.size, cp.size, e.rootHash!, root, proof);
            if (c.ok) r.consistency.ok = true;
            else failures.push(`the consistency proof from size ${e.size} to size ${cp.size} does not hold (${c.reason}): the earlier timestamped tree is not shown to be a prefix of the checkpoint's`);
          }
        }
      }
    }
  }
}

function signingKeyOf(sk: EvidenceBundle['signing_key'], trustedKey: Uint8Array | undefined, failures: string[]): Uint8Array {
  const embedded = base64Strict(sk.public_key) ?? Buffer.alloc(0);
  if (embedded.length !== 32 || keyIdOf(embedded) !== sk.key_id) failures.push('the bundle\'s signing key is malformed or its key id does not match');
  if (trustedKey && !constantTimeEqual(embedded, trustedKey)) failures.push(`the bundle names signing key ${String(sk.key_id)}, not the trusted key ${keyIdOf(trustedKey)}`);
  return trustedKey ?? embedded;
}

/** Opens one checkpoint note of a bundle; pushes a precise failure and returns null when it does not hold. */
function openNoteOf(noteB64: unknown, what: string, origin: string, key: Uint8Array, failures: string[]): (CheckpointStatement & { rootHash: Buffer }) | null {
  const note = base64Strict(noteB64);
  const st = note ? readCheckpoint(note) : null;
  if (!note || !st) {
    failures.push(`the ${what} note is malformed`);
    return null;
  }
  if (st.format !== 2 || !st.rootHash) {
    failures.push(`the ${what} is not a signed note with a Merkle root`);
    return null;
  }
  if (st.origin !== origin) {
    failures.push(`the ${what} names origin "${st.origin}", the bundle "${origin}"`);
    return null;
  }
  const keyName = `${origin}+${key.length === 32 ? noteKeyHash(origin, key).toString('hex') : '?'}`;
  const opened = key.length === 32 ? openCheckpointNote(note, [{ name: origin, publicKey: key }], { origin }) : null;
  if (!opened || !opened.ok) {
    const why = !opened
      ? 'there is no valid key to check it with'
      : opened.reason === 'no-known-signature'
        ? `it is signed by ${(opened.unverified ?? []).map((u) => `${u.name}+${u.keyHash}`).join(', ') || 'no key'}, not by ${keyName}`
        : opened.reason === 'invalid-signature'
          ? `the signature by ${keyName} does not verify: the note was altered`
          : opened.detail;
    failures.push(`the ${what} note at size ${st.size} is not signed by the service key: ${why}`);
    return null;
  }
  return st as CheckpointStatement & { rootHash: Buffer };
}

function checkTimestamp(t: unknown, of: TimestampCheck['of'], size: number, digest: Buffer, opts: VerifyBundleOptions, failures: string[]): TimestampCheck {
  const base: TimestampCheck = { of, size, ok: false, detail: '', genTime: null, tsaUrl: null, tsaName: null, chainVerified: false };
  const fail = (why: string): TimestampCheck => {
    const detail = `the timestamp of the ${of} at size ${size}: ${why}`;
    failures.push(detail);
    return { ...base, detail };
  };
  if (!isObject(t) || t.status !== 'rfc3161' || typeof t.gen_time !== 'string' || typeof t.tsa_url !== 'string' || typeof t.serial !== 'string') return fail('malformed');
  base.tsaUrl = t.tsa_url;
  base.genTime = t.gen_time;
  const token = base64Strict(t.token);
  if (!token) return fail('the token is not base64');
  let v;
  try {
    v = verifyTimestampToken(token, digest, opts.tsaTrustedCertsPem);
  } catch (e) {
    const why = e instanceof TimestampError && e.code === 'imprint' ? `the token's message imprint is not SHA-256 of the ${of} note (${e.message})` : (e as Error).message;
    return fail(why);
  }
  base.tsaName = v.tsaName ?? null;
  if (v.genTime.toISOString() !== t.gen_time) return fail(`the bundle states genTime ${t.gen_time}, the token ${v.genTime.toISOString()}`);
  if (v.serial !== t.serial) return fail(`the bundle states serial ${t.serial}, the token ${v.serial}`);
  const chainVerified = opts.tsaTrustedCertsPem !== undefined;
  return {
    ...base, ok: true, chainVerified,
    detail: `RFC 3161 timestamp of the ${of} at size ${size}: genTime ${t.gen_time} by ${v.tsaName ?? 'the TSA'} (${t.tsa_url}); its imprint is SHA-256 of the note; ${chainVerified ? 'the TSA certificate chains to the trusted CA' : 'the TSA certificate was NOT checked against a trusted CA (pass --tsa-ca)'}`,
  };
}

/** Receipts: valid under the key, and their events are the cited entries. */
function checkReceipts(receipts: Receipt[], key: Uint8Array, bySeq: Map<number, { leaf_hash: string }>, failures: string[]): void {
  receipts.forEach((r, i) => {
    const c = verifyReceipt(r, key);
    if (!c.ok) {
      failures.push(`receipt ${i + 1}: ${c.reason}`);
      return;
    }
    const e = bySeq.get(c.payload.ledger.seq);
    if (!e || e.leaf_hash !== c.payload.ledger.leaf_hash) failures.push(`receipt ${i + 1}: its ledger entry ${c.payload.ledger.seq} is not among the cited entries`);
  });
}

// ---- format v1 (chain proof), verification only ------------------------------------------------

interface BundleEntryV1 {
  seq: number;
  event_id: string;
  event_type: string;
  canonical: string;
  leaf_hash: string;
  prev_hash: string;
  chain_hash: string;
}

interface EvidenceBundleV1 {
  type: typeof BUNDLE_TYPE_V1;
  origin: string;
  dossier_id: string;
  case_ref: string;
  subject: string;
  issued_at: string;
  signing_key: { alg: 'Ed25519'; key_id: string; public_key: string };
  entries: BundleEntryV1[];
  chain: { from_seq: number; prev_hash: string; leaf_hashes: string };
  checkpoint: { body: string; signature: string };
  receipts: Receipt[];
}

function verifyBundleV1(parsed: Record<string, unknown>, bytes: Uint8Array, signature: Uint8Array, trustedKey: Uint8Array | undefined, empty: BundleCheck): BundleCheck {
  const failures = empty.failures;
  const b = parsed as unknown as EvidenceBundleV1;
  if (!Array.isArray(b.entries) || !isObject(b.chain) || !isObject(b.checkpoint) || !Array.isArray(b.receipts) || !isObject(b.signing_key)) {
    failures.push('the bundle is not an assentmark evidence bundle');
    return empty;
  }
  // The v1 shape is reported as the caller's bundle; its fields differ from v2.
  const r: BundleCheck = { ...empty, format: 1, bundle: b as unknown as EvidenceBundle, keyId: b.signing_key.key_id, entries: b.entries.length, receipts: b.receipts.length };
  const finish = (): BundleCheck => ({ ...r, ok: failures.length === 0 });
  const key = signingKeyOf(b.signing_key, trustedKey, failures);
  if (!verifyEd25519(signature, bytes, key)) failures.push('the bundle signature does not verify');

  const cp: SignedCheckpoint = { body: Buffer.from(String(b.checkpoint.body), 'base64'), signature: Buffer.from(String(b.checkpoint.signature), 'base64') };
  const cpBody = readCheckpoint(cp.body);
  if (!cpBody) {
    failures.push('the checkpoint is malformed');
    return finish();
  }
  r.checkpointSize = cpBody.size;
  r.checkpointTime = cpBody.time;
  r.rootHash = cpBody.rootHash ? hex(cpBody.rootHash) : null;
  if (cpBody.origin !== b.origin) failures.push(`the checkpoint names origin "${cpBody.origin}", the bundle "${b.origin}"`);
  if (!checkpointSignedBy(cp, key, b.origin)) failures.push(`the checkpoint at size ${cpBody.size} has an invalid signature`);

  const bySeq = new Map<number, BundleEntryV1>();
  for (const e of b.entries) {
    if (!Number.isSafeInteger(e.seq) || e.seq < 1 || bySeq.has(e.seq)) {
      failures.push(`entry ${String(e.seq)}: bad or duplicate sequence number`);
      continue;
    }
    bySeq.set(e.seq, e);
    const bytesE = Buffer.from(String(e.canonical), 'base64');
    if (leafHash(bytesE).toString('hex') !== e.leaf_hash) failures.push(`entry ${e.seq}: leaf hash does not match its bytes`);
    try {
      const ev = parseCanonical(bytesE) as { id?: unknown; type?: unknown };
      if (ev.id !== e.event_id || ev.type !== e.event_type) failures.push(`entry ${e.seq}: event id or type differs from the signed bytes`);
    } catch {
      failures.push(`entry ${e.seq}: event bytes are not canonical JSON`);
    }
  }

  const leaves = Buffer.from(String(b.chain.leaf_hashes), 'base64');
  const from = b.chain.from_seq;
  let prev: Buffer = Buffer.from(String(b.chain.prev_hash), 'hex');
  if (!Number.isSafeInteger(from) || from < 1 || prev.length !== 32 || leaves.length % 32 !== 0) {
    failures.push('the chain proof is malformed');
    return finish();
  }
  const count = leaves.length / 32;
  if (from + count - 1 !== cpBody.size) failures.push(`the chain proof covers entries ${from}..${from + count - 1}, the checkpoint ${cpBody.size}`);
  if (from === 1 && !prev.equals(Buffer.alloc(32))) failures.push('a chain from entry 1 must start from the zero hash');
  for (let i = 0; i < count; i++) {
    const seq = from + i;
    const leaf = leaves.subarray(i * 32, i * 32 + 32);
    const chain = chainHash(seq, prev, leaf);
    const e = bySeq.get(seq);
    if (e && (e.leaf_hash !== leaf.toString('hex') || e.prev_hash !== prev.toString('hex') || e.chain_hash !== chain.toString('hex'))) {
      failures.push(`entry ${seq}: not on the chain that leads to the signed checkpoint`);
    }
    prev = chain;
  }
  for (const seq of bySeq.keys()) if (seq < from || seq > from + count - 1) failures.push(`entry ${seq}: outside the chain proof`);
  if (!prev.equals(cpBody.chainHash)) failures.push(`the chain does not reach the signed checkpoint's hash at size ${cpBody.size}`);
  checkReceipts(b.receipts, key, bySeq, failures);
  return finish();
}
