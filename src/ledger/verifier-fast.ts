// The per-entry checks of the verifier (checkEntry in verifier.ts) for the common case, over bytes
// where they lie (a page of rows, a line), without building an entry, a string or a parsed event.
// It only ever answers "intact and ordinary" (ENTRY_OK, no special event) or "not sure": every
// other answer, and so every fault's code, comes from checkEntry, which the caller runs then.
import { hash } from 'node:crypto';
import { EnvelopeSpans, scanCanonical } from '../canonical/jcs-scan.js';
import { CHAIN_PREFIX, LEAF_PREFIX } from '../crypto/domains.js';
import { EVENT_TYPES } from './format.js';

const spans = new EnvelopeSpans();
let leafScratch = Buffer.alloc(4096);
const leafViews: Buffer[] = [];
const chainScratch = Buffer.alloc(73);
// The envelope types as bytes by length, for a lookup without decoding.
const TYPES_BY_LENGTH = new Map<number, Buffer[]>();
for (const t of EVENT_TYPES) {
  if (t === 'ledger.genesis' || t === 'signing_key.added') continue; // special: checkEntry reads them
  const bytes = Buffer.from(t, 'utf8');
  TYPES_BY_LENGTH.set(bytes.length, [...(TYPES_BY_LENGTH.get(bytes.length) ?? []), bytes]);
}

/**
 * Constant-time equality of a digest given as a latin1 ('binary') string (one char per byte) and 32 stored
 * bytes. Digests are taken as latin1 strings: node:crypto's hash() returns a 32-char string in
 * about a third of the time it takes to return a Buffer.
 */
function equalDigest(d: string, c: Uint8Array, co: number): boolean {
  let x = 0;
  for (let i = 0; i < 32; i++) x |= d.charCodeAt(i) ^ c[co + i]!;
  return x === 0;
}

function sameBytes(a: Uint8Array, ao: number, c: Uint8Array, co: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== c[co + i]) return false;
  return true;
}

/**
 * An entry given as ranges: the event bytes can[canAt, canAt + canLen), the stored 32-byte hashes
 * at leafAt, prevAt and chainAt, the row's event id text (36 bytes) and type text. True when
 * checkEntry would return ENTRY_OK without a special event: the leaf hash of the bytes, the chain
 * hash, the bytes canonical (scanCanonical), the envelope (v 1, string id, type of the registry
 * other than genesis and rotation, string time, object data) and the row's id and type equal to
 * the event's. False means only "run checkEntry".
 */
export function entryIntact(
  seq: number,
  can: Uint8Array, canAt: number, canLen: number,
  leaf: Uint8Array, leafAt: number,
  prev: Uint8Array, prevAt: number,
  chain: Uint8Array, chainAt: number,
  id: Uint8Array, idAt: number, idLen: number,
  type: Uint8Array, typeAt: number, typeLen: number,
): boolean {
  if (seq === 1 || !Number.isSafeInteger(seq) || seq < 0) return false;
  // leaf = SHA-256(0x00 || bytes), over a scratch copy (hash() is synchronous: never shared). The
  // views of the scratch are kept per length: this loop allocates nothing but the digests.
  if (leafScratch.length < canLen + 1) {
    leafScratch = Buffer.alloc(Math.max(2 * leafScratch.length, canLen + 1));
    leafViews.length = 0;
  }
  leafScratch[0] = LEAF_PREFIX;
  leafScratch.set(can.subarray(canAt, canAt + canLen), 1);
  const input = (leafViews[canLen + 1] ??= leafScratch.subarray(0, canLen + 1));
  if (!equalDigest(hash('sha256', input, 'binary'), leaf, leafAt)) return false;
  // chain = SHA-256(0x02 || uint64_be(seq) || prev || leaf), the leaf as stored (equal to the computed one)
  chainScratch[0] = CHAIN_PREFIX;
  chainScratch.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 1);
  chainScratch.writeUInt32BE(seq >>> 0, 5);
  for (let i = 0; i < 32; i++) {
    chainScratch[9 + i] = prev[prevAt + i]!;
    chainScratch[41 + i] = leaf[leafAt + i]!;
  }
  if (!equalDigest(hash('sha256', chainScratch, 'binary'), chain, chainAt)) return false;
  if (!scanCanonical(can, canAt, canAt + canLen, spans)) return false;
  const s = spans;
  if (s.vEnd - s.v !== 1 || can[s.v] !== 0x31) return false;
  if (s.time < 0 || can[s.time] !== 0x22 || s.data < 0 || can[s.data] !== 0x7b) return false;
  if (!s.idPlain || s.idEnd - s.id !== idLen || !sameBytes(can, s.id, id, idAt, idLen)) return false;
  if (!s.typePlain || s.typeEnd - s.type !== typeLen || !sameBytes(can, s.type, type, typeAt, typeLen)) return false;
  const candidates = TYPES_BY_LENGTH.get(typeLen);
  if (!candidates) return false;
  for (const t of candidates) if (sameBytes(t, 0, type, typeAt, typeLen)) return true;
  return false;
}
