// The RFC 9162 section 2.1 Merkle tree over the ledger's leaf hashes (docs/ledger-format.md), for a
// transparency log served as C2SP tlog-tiles (tile height 8). Pure: no I/O. Stored nodes come in
// through a NodeReader, so the same code builds proofs from memory, the database or tiles.
//
// Tree sizes and indexes are plain numbers (safe integers, < 2^53): JavaScript's bitwise operators
// are 32-bit, so every "shift" below is a division by two.
import { constantTimeEqual, sha256, sha256Of } from '../crypto/hash.js';

/** RFC 6962's interior-node prefix. Belongs beside LEAF_PREFIX in crypto/domains.ts. */
export { NODE_PREFIX } from '../crypto/domains.js';
import { NODE_PREFIX } from '../crypto/domains.js';
export const HASH_SIZE = 32;
/** MTH({}) = SHA-256 of the empty string (RFC 9162 2.1.1). Shared: copy before mutating. */
export const EMPTY_ROOT: Buffer = sha256();

const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE, NODE_PREFIX); // byte 0 stays NODE_PREFIX

/** SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    // Only the RFC 6962 hasher test vectors hash non-32-byte children.
    return sha256Of(Buffer.concat([Buffer.of(NODE_PREFIX), left, right]));
  }
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return sha256Of(nodeScratch); // synchronous, so the scratch buffer is never shared
}

/**
 * The hash of the perfect subtree of height `height` whose leaves are
 * [index·2^height, (index+1)·2^height); height 0 is a leaf hash.
 */
export type NodeReader = (height: number, index: number) => Buffer | Promise<Buffer>;

/** One perfect subtree of the tree. */
export interface MerkleNode {
  height: number;
  index: number;
  hash: Buffer;
}

// ---- arithmetic on safe integers -------------------------------------------------------------

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
const half = (x: number): number => Math.floor(x / 2);
const isHash = (x: unknown): x is Uint8Array => x instanceof Uint8Array && x.length === HASH_SIZE;

/** The largest power of two strictly below n (n ≥ 2): RFC 9162's k. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** log2(n) when n is a power of two, else -1. */
function log2Exact(n: number): number {
  let h = 0;
  while (n > 1 && n % 2 === 0) {
    n /= 2;
    h++;
  }
  return n === 1 ? h : -1;
}

function popcount(n: number): number {
  let c = 0;
  for (; n > 0; n = half(n)) c += n % 2;
  return c;
}

function checkRange(start: number, end: number): void {
  if (!isCount(start) || !isCount(end) || start > end) throw new RangeError(`not a leaf range: [${start}, ${end})`);
}

async function readNode(read: NodeReader, height: number, index: number): Promise<Buffer> {
  const h = await read(height, index);
  if (!isHash(h)) throw new Error(`node reader returned no 32-byte hash for node (${height}, ${index})`);
  return h;
}

// ---- tree hashes and proofs ------------------------------------------------------------------

/**
 * MTH(D[start:end]) (RFC 9162 2.1.1), reading only perfect subtrees inside [start, end), so every
 * node it needs is complete at any size ≥ end. The ranges proofs use start at a multiple of a
 * power of two ≥ end - start and cost one read per set bit of the length; an unaligned range
 * recurses down to the nodes that fit (as many reads as it takes). Independent reads run at once.
 */
export async function subtreeRoot(start: number, end: number, read: NodeReader): Promise<Buffer> {
  checkRange(start, end);
  if (start === end) return Buffer.from(EMPTY_ROOT);
  return mth(start, end, read);
}

async function mth(start: number, end: number, read: NodeReader): Promise<Buffer> {
  const n = end - start;
  const height = log2Exact(n);
  if (height >= 0 && start % n === 0) return readNode(read, height, start / n);
  const k = splitPoint(n);
  const [left, right] = await Promise.all([mth(start, start + k, read), mth(start + k, end, read)]);
  return nodeHash(left, right);
}

/** MTH of the first `size` leaves. */
export function rootHash(size: number, read: NodeReader): Promise<Buffer> {
  return subtreeRoot(0, size, read);
}

type Range = readonly [start: number, end: number];

/** The ranges whose MTHs make PATH(m, D[start:end]) (RFC 9162 2.1.3.1), leaf level first. */
function pathRanges(m: number, start: number, end: number, out: Range[]): Range[] {
  if (end - start <= 1) return out;
  const k = splitPoint(end - start);
  if (m < start + k) {
    pathRanges(m, start, start + k, out);
    out.push([start + k, end]);
  } else {
    pathRanges(m, start + k, end, out);
    out.push([start, start + k]);
  }
  return out;
}

/** The ranges of SUBPROOF(m, D[start:end], b) (RFC 9162 2.1.4.1), with m absolute, start < m ≤ end. */
function subproofRanges(m: number, start: number, end: number, b: boolean, out: Range[]): Range[] {
  if (m === end) {
    if (!b) out.push([start, end]);
    return out;
  }
  const k = splitPoint(end - start);
  if (m - start <= k) {
    subproofRanges(m, start, start + k, b, out);
    out.push([start + k, end]);
  } else {
    subproofRanges(m, start + k, end, false, out);
    out.push([start, start + k]);
  }
  return out;
}

/** The audit path of leaf `index` in the tree of `size` leaves (RFC 9162 2.1.3.1). */
export function inclusionProof(index: number, size: number, read: NodeReader): Promise<Buffer[]> {
  if (!isCount(index) || !isCount(size) || index >= size) throw new RangeError(`no leaf ${index} in a tree of ${size}`);
  return Promise.all(pathRanges(index, 0, size, []).map(([a, b]) => mth(a, b, read)));
}

/**
 * The consistency proof from size1 to size2 (RFC 9162 2.1.4.1). The RFC defines it for
 * 0 < size1 < size2; for size1 = 0 or size1 = size2 it is empty (see checkConsistency).
 */
export function consistencyProof(size1: number, size2: number, read: NodeReader): Promise<Buffer[]> {
  if (!isCount(size1) || !isCount(size2) || size1 > size2) throw new RangeError(`no consistency proof from ${size1} to ${size2}`);
  if (size1 === 0 || size1 === size2) return Promise.resolve([]);
  return Promise.all(subproofRanges(size1, 0, size2, true, []).map(([a, b]) => mth(a, b, read)));
}

// ---- verifiers (hostile input: they return a reason, never throw) ----------------------------

export type ProofCheck = { ok: true } | { ok: false; reason: string };
export type RootFromProof = { ok: true; root: Buffer } | { ok: false; reason: string };

/** Longer than any proof for a tree of < 2^53 leaves; checked first so hostile arrays cost nothing. */
const MAX_PROOF = 64;

function badProof(proof: unknown): string | null {
  if (!Array.isArray(proof)) return 'the proof is not an array';
  if (proof.length > MAX_PROOF) return 'the proof is too long';
  for (const p of proof as unknown[]) if (!isHash(p)) return 'a proof element is not a 32-byte hash';
  return null;
}

/** The root that an inclusion proof implies (RFC 9162 2.1.3.2 steps 1-4 and the check that sn is 0). */
export function rootFromInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[]): RootFromProof {
  const fail = (reason: string): RootFromProof => ({ ok: false, reason });
  if (!isCount(index) || !isCount(size)) return fail('the index and size are not non-negative safe integers');
  if (index >= size) return fail('the index is not below the tree size');
  if (!isHash(leafHash)) return fail('the leaf hash is not 32 bytes');
  const bad = badProof(proof);
  if (bad) return fail(bad);
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (sn === 0) return fail('the proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // Past the right edge the node has no sibling at these levels: climb until it does.
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) return fail('the proof is too short');
  return { ok: true, root: r };
}

/** RFC 9162 2.1.3.2: leaf `leafHash` is at `index` in the tree of `size` leaves whose root is `root`. */
export function checkInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): ProofCheck {
  if (!isHash(root)) return { ok: false, reason: 'the root is not 32 bytes' };
  const r = rootFromInclusion(index, size, leafHash, proof);
  if (!r.ok) return r;
  return constantTimeEqual(r.root, root) ? { ok: true } : { ok: false, reason: 'the proof leads to a different root' };
}

export function verifyInclusion(index: number, size: number, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  return checkInclusion(index, size, leafHash, proof, root).ok;
}

/**
 * RFC 9162 2.1.4.2 for 0 < size1 < size2. Outside the RFC's domain, as transparency-dev/merkle
 * does: size1 = size2 needs an empty proof and equal roots; size1 = 0 needs an empty proof and
 * root1 = EMPTY_ROOT (the empty tree is a prefix of every tree, so root2 is only checked for form).
 */
export function checkConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): ProofCheck {
  const fail = (reason: string): ProofCheck => ({ ok: false, reason });
  if (!isCount(size1) || !isCount(size2)) return fail('the sizes are not non-negative safe integers');
  if (size1 > size2) return fail('size1 is larger than size2');
  if (!isHash(root1) || !isHash(root2)) return fail('a root is not 32 bytes');
  const bad = badProof(proof);
  if (bad) return fail(bad);
  if (size1 === size2) {
    if (proof.length !== 0) return fail('the proof between equal sizes is not empty');
    return constantTimeEqual(root1, root2) ? { ok: true } : fail('the roots of equal sizes differ');
  }
  if (size1 === 0) {
    if (proof.length !== 0) return fail('the proof from the empty tree is not empty');
    return constantTimeEqual(root1, EMPTY_ROOT) ? { ok: true } : fail('root1 is not the empty tree root');
  }
  // 1. An empty path fails. 2. If first is a power of two, its root starts the path.
  if (proof.length === 0) return fail('the proof is empty');
  const path = log2Exact(size1) >= 0 ? [root1, ...proof] : proof;
  // 3, 4. Skip the levels where size1 - 1 is a right child: that part of the tree is shared.
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = half(fn);
    sn = half(sn);
  }
  // 5. Both roots grow from the first node.
  let fr: Buffer = Buffer.from(path[0]!);
  let sr = fr;
  // 6.
  for (const c of path.slice(1)) {
    if (sn === 0) return fail('the proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c); // only in the newer tree
    }
    fn = half(fn);
    sn = half(sn);
  }
  // 7. Compare both roots (no early exit), and the whole path must have been used.
  const ok1 = constantTimeEqual(fr, root1);
  const ok2 = constantTimeEqual(sr, root2);
  if (sn !== 0) return fail('the proof is too short');
  if (!ok1) return fail('the proof leads to a different root1');
  if (!ok2) return fail('the proof leads to a different root2');
  return { ok: true };
}

export function verifyConsistency(size1: number, size2: number, root1: Uint8Array, root2: Uint8Array, proof: readonly Uint8Array[]): boolean {
  return checkConsistency(size1, size2, root1, root2, proof).ok;
}

// ---- the frontier (compact range [0, size)) --------------------------------------------------

/** The perfect subtrees of the binary decomposition of `size`, largest first, without hashes. */
function decomposition(size: number): Array<{ height: number; index: number }> {
  const out: Array<{ height: number; index: number }> = [];
  let start = 0;
  for (let h = 63; h >= 0; h--) {
    const w = 2 ** h;
    if (size - start >= w) {
      out.push({ height: h, index: start / w });
      start += w;
    }
  }
  return out;
}

/**
 * The roots of the perfect subtrees of the binary decomposition of `size`, largest first: all
 * that appending needs, so each batch extends the tree without reading nodes back.
 */
export class MerkleFrontier {
  #size = 0;
  #hashes: Buffer[] = [];

  get size(): number {
    return this.#size;
  }

  /** Appends a leaf; returns the perfect subtrees that became complete, the leaf (height 0) first. */
  append(leafHash: Uint8Array): MerkleNode[] {
    if (!isHash(leafHash)) throw new RangeError('a leaf hash is 32 bytes');
    if (this.#size >= Number.MAX_SAFE_INTEGER) throw new RangeError('the tree is full');
    let node: MerkleNode = { height: 0, index: this.#size, hash: Buffer.from(leafHash) };
    const out = [node];
    // A node with an odd index is a right child: it completes its parent with the stored left sibling.
    while (node.index % 2 === 1) {
      node = { height: node.height + 1, index: (node.index - 1) / 2, hash: nodeHash(this.#hashes.pop()!, node.hash) };
      out.push(node);
    }
    this.#hashes.push(Buffer.from(node.hash));
    this.#size++;
    return out;
  }

  /**
   * Appends a leaf without reporting the completed nodes: the verifier's hot loop. The leaf's
   * bytes must not change afterwards (they are kept, not copied, until merged).
   */
  push(leafHash: Uint8Array): void {
    if (leafHash.length !== HASH_SIZE) throw new RangeError('a leaf hash is 32 bytes');
    let h: Uint8Array = leafHash;
    // Each trailing 1 bit of the size is a left sibling waiting for this subtree.
    for (let n = this.#size; n % 2 === 1; n = (n - 1) / 2) h = nodeHash(this.#hashes.pop()!, h);
    this.#hashes.push(h === leafHash ? Buffer.from(leafHash) : (h as Buffer));
    this.#size++;
  }

  /**
   * Appends 2^height leaves at once, given the root of their perfect subtree (the verifier's worker
   * threads hash blocks of leaves); the size must be a multiple of 2^height.
   */
  pushSubtree(height: number, root: Uint8Array): void {
    const w = 2 ** height;
    if (root.length !== HASH_SIZE) throw new RangeError('a subtree root is 32 bytes');
    if (!Number.isInteger(height) || height < 0 || this.#size % w !== 0) throw new RangeError(`a subtree of height ${height} cannot follow ${this.#size} leaves`);
    if (this.#size + w > Number.MAX_SAFE_INTEGER) throw new RangeError('the tree is full');
    let h: Uint8Array = root;
    for (let n = this.#size / w; n % 2 === 1; n = (n - 1) / 2) h = nodeHash(this.#hashes.pop()!, h);
    this.#hashes.push(h === root ? Buffer.from(root) : (h as Buffer));
    this.#size += w;
  }

  /** MTH of the current tree: the frontier folded from the right (RFC 9162's split at k). */
  root(): Buffer {
    let i = this.#hashes.length - 1;
    if (i < 0) return Buffer.from(EMPTY_ROOT);
    let r = this.#hashes[i]!;
    while (--i >= 0) r = nodeHash(this.#hashes[i]!, r);
    return Buffer.from(r);
  }

  /** The frontier's perfect subtrees, largest first. */
  nodes(): MerkleNode[] {
    return decomposition(this.#size).map((n, i) => ({ ...n, hash: Buffer.from(this.#hashes[i]!) }));
  }

  /** The frontier hashes concatenated, largest subtree first (32 × popcount(size) bytes). */
  toBytes(): Buffer {
    return Buffer.concat(this.#hashes);
  }

  static fromBytes(buf: Uint8Array, size: number): MerkleFrontier {
    if (!isCount(size)) throw new RangeError('a tree size is a non-negative safe integer');
    if (!(buf instanceof Uint8Array) || buf.length !== HASH_SIZE * popcount(size)) {
      throw new RangeError(`a frontier of size ${size} is ${HASH_SIZE * popcount(size)} bytes`);
    }
    const f = new MerkleFrontier();
    f.#size = size;
    for (let o = 0; o < buf.length; o += HASH_SIZE) f.#hashes.push(Buffer.from(buf.subarray(o, o + HASH_SIZE)));
    return f;
  }

  /** The frontier of the first `size` leaves of a stored tree. */
  static async load(size: number, read: NodeReader): Promise<MerkleFrontier> {
    if (!isCount(size)) throw new RangeError('a tree size is a non-negative safe integer');
    const hashes = await Promise.all(decomposition(size).map((n) => readNode(read, n.height, n.index)));
    return MerkleFrontier.fromBytes(Buffer.concat(hashes), size);
  }
}

// ---- C2SP tlog-tiles -------------------------------------------------------------------------

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

/** A tile: `width` hashes (256 for a full tile) of height 8·level nodes, from node 256·index. */
export interface TileCoords {
  level: number;
  index: number;
  width: number;
}

/** N as zero-padded 3-digit elements, all but the last prefixed with 'x': 1234067 → x001/x234/067. */
function encodeTileIndex(n: number): string {
  let s = String(n % 1000).padStart(3, '0');
  for (n = Math.floor(n / 1000); n > 0; n = Math.floor(n / 1000)) s = `x${String(n % 1000).padStart(3, '0')}/${s}`;
  return s;
}

function tileSuffix(index: number, width: number): string {
  if (!isCount(index)) throw new RangeError('a tile index is a non-negative safe integer');
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new RangeError('a tile width is 1 to 256');
  return encodeTileIndex(index) + (width === TILE_WIDTH ? '' : `.p/${width}`);
}

/** `tile/<L>/<N>[.p/<W>]`. */
export function tilePath(level: number, index: number, width: number = TILE_WIDTH): string {
  if (!Number.isInteger(level) || level < 0 || level > 63) throw new RangeError('a tile level is 0 to 63');
  return `tile/${level}/${tileSuffix(index, width)}`;
}

/** `tile/entries/<N>[.p/<W>]`: an entry bundle. */
export function entriesPath(index: number, width: number = TILE_WIDTH): string {
  return `tile/entries/${tileSuffix(index, width)}`;
}

// Up to six 3-digit groups (2^53 has 16 digits); canonical form is enforced by re-encoding.
const TILE_PATH = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/){0,5}[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

function parsePath(path: unknown): { level: string; index: number; width: number } | null {
  if (typeof path !== 'string' || path.length > 64) return null;
  const m = TILE_PATH.exec(path);
  if (!m) return null;
  const index = Number(m[2]!.replaceAll('x', '').replaceAll('/', ''));
  const width = m[3] === undefined ? TILE_WIDTH : Number(m[3]);
  // W is 1 to 255; no x000 leading group; N below 2^53.
  if (width >= TILE_WIDTH && m[3] !== undefined) return null;
  if (!isCount(index) || encodeTileIndex(index) !== m[2]) return null;
  return { level: m[1]!, index, width };
}

/** Parses `tile/<L>/<N>[.p/<W>]` strictly (C2SP: no extra leading zeroes, L ≤ 63, 1 ≤ W ≤ 255); null if malformed. */
export function parseTilePath(path: string): TileCoords | null {
  const p = parsePath(path);
  if (!p || p.level === 'entries' || Number(p.level) > 63) return null;
  return { level: Number(p.level), index: p.index, width: p.width };
}

/** Parses `tile/entries/<N>[.p/<W>]` strictly; null if malformed. */
export function parseEntriesPath(path: string): { index: number; width: number } | null {
  const p = parsePath(path);
  return p && p.level === 'entries' ? { index: p.index, width: p.width } : null;
}

/** Where a perfect subtree's hash comes from: tile (level, tile), node (height, index) within it. */
export interface NodeLocation {
  level: number;
  tile: number;
  height: number;
  index: number;
  /** The fewest tile entries that hold the node. */
  width: number;
}

/**
 * The tile a node of height H and index I is computed from: level floor(H/8), as
 * golang.org/x/mod/sumdb/tlog's tileForIndex does. A node of height exactly 8k is an entry of a
 * level-k tile (height 0 within it), present in the partial tile as soon as the node is complete;
 * it also equals the hash of the whole level-(k-1) tile below (tileNodeHash(tile, 8, 0)).
 */
export function locateNode(height: number, index: number): NodeLocation {
  if (!Number.isInteger(height) || height < 0 || height > 63 || !isCount(index)) throw new RangeError(`no node (${height}, ${index})`);
  const h = height % TILE_HEIGHT;
  const perTile = 2 ** (TILE_HEIGHT - h); // nodes of height h in one tile
  const i = index % perTile;
  return { level: (height - h) / TILE_HEIGHT, tile: Math.floor(index / perTile), height: h, index: i, width: (i + 1) * 2 ** h };
}

/** The hash of the node of height h (0-8) and index i within a tile, from its bytes (W × 32). */
export function tileNodeHash(tile: Uint8Array, height: number, index: number): Buffer {
  if (tile.length % HASH_SIZE !== 0 || tile.length > TILE_WIDTH * HASH_SIZE) throw new RangeError('a tile is 1 to 256 hashes');
  if (!Number.isInteger(height) || height < 0 || height > TILE_HEIGHT) throw new RangeError('a height within a tile is 0 to 8');
  const w = 2 ** height;
  if (!Number.isInteger(index) || index < 0 || (index + 1) * w * HASH_SIZE > tile.length) {
    throw new RangeError(`the tile of ${tile.length / HASH_SIZE} hashes has no node (${height}, ${index})`);
  }
  const entry = (i: number): Buffer => Buffer.from(tile.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  const node = (h: number, i: number): Buffer => (h === 0 ? entry(i) : nodeHash(node(h - 1, 2 * i), node(h - 1, 2 * i + 1)));
  return node(height, index);
}

/** A NodeReader over stored tiles; readTile returns the tile's current bytes (full or partial). */
export function tileNodeReader(readTile: (level: number, index: number) => Uint8Array | Promise<Uint8Array>): NodeReader {
  return async (height, index) => {
    const at = locateNode(height, index);
    return tileNodeHash(await readTile(at.level, at.tile), at.height, at.index);
  };
}
