// The RFC 9162 Merkle tree (src/ledger/merkle.ts): Certificate Transparency's reference vectors
// (test/vectors/merkle-rfc9162.json, from transparency-dev/merkle), an exhaustive comparison with
// the RFC's recursive definitions on small trees, property tests (fast-check, fixed seed) of the
// proofs, the verifiers and the frontier on trees up to 2048 leaves, and the C2SP tlog-tiles paths
// and tile reads (the spec's 70,000-leaf example).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { leafHash } from '../src/ledger/format.js';
import {
  EMPTY_ROOT,
  MerkleFrontier,
  TILE_WIDTH,
  checkConsistency,
  checkInclusion,
  consistencyProof,
  entriesPath,
  inclusionProof,
  locateNode,
  nodeHash,
  parseEntriesPath,
  parseTilePath,
  rootFromInclusion,
  rootHash,
  subtreeRoot,
  tileNodeHash,
  tileNodeReader,
  tilePath,
  verifyConsistency,
  verifyInclusion,
  type MerkleNode,
  type NodeReader,
} from '../src/ledger/merkle.js';
import { packageRoot } from '../src/util/paths.js';

const SEED = 0x9162_6962;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const hexes = (a: readonly string[]): Buffer[] => a.map(hex);

interface Vectors {
  source: string;
  hasher: { empty_root: string; empty_leaf_hash: string; leaf: { data_utf8: string; hash: string }; node: { left_utf8: string; right_utf8: string; hash: string } };
  leaves_hex: string[];
  node_hashes: string[][];
  roots: string[];
  compact_trees: string[][];
  inclusion: Array<{ leaf_index: number; tree_size: number; path: string[] }>;
  consistency: Array<{ size1: number; size2: number; path: string[] }>;
}
const v = JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'vectors', 'merkle-rfc9162.json'), 'utf8')) as Vectors;

/** Every complete perfect subtree of a tree held in memory: levels[h][i]. */
class MemoryTree {
  readonly levels: Buffer[][] = [[]];

  constructor(leaves: Iterable<Buffer> = []) {
    for (const l of leaves) this.append(l);
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  get leaves(): Buffer[] {
    return this.levels[0]!;
  }

  append(leaf: Buffer): void {
    this.levels[0]!.push(leaf);
    for (let h = 0; this.levels[h]!.length % 2 === 0; h++) {
      const lvl = this.levels[h]!;
      (this.levels[h + 1] ??= []).push(nodeHash(lvl[lvl.length - 2]!, lvl[lvl.length - 1]!));
    }
  }

  /** A reader for the tree of the first `size` leaves: it fails on any node not complete at that size. */
  reader(size: number = this.size, reads?: Array<[number, number]>): NodeReader {
    return (h, i) => {
      if (!Number.isSafeInteger(h) || !Number.isSafeInteger(i) || h < 0 || i < 0 || (i + 1) * 2 ** h > size) {
        throw new Error(`node (${h}, ${i}) is not complete at size ${size}`);
      }
      reads?.push([h, i]);
      return this.levels[h]![i]!;
    };
  }
}

// ---- RFC 9162 2.1 by its recursive definitions, straight from the leaf hashes -----------------

const splitK = (n: number): number => 2 ** Math.ceil(Math.log2(n) - 1);
function refMTH(d: readonly Buffer[]): Buffer {
  if (d.length === 0) return EMPTY_ROOT;
  if (d.length === 1) return d[0]!;
  const k = splitK(d.length);
  return nodeHash(refMTH(d.slice(0, k)), refMTH(d.slice(k)));
}
function refPATH(m: number, d: readonly Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = splitK(d.length);
  return m < k ? [...refPATH(m, d.slice(0, k)), refMTH(d.slice(k))] : [...refPATH(m - k, d.slice(k)), refMTH(d.slice(0, k))];
}
function refSUBPROOF(m: number, d: readonly Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [refMTH(d)];
  const k = splitK(d.length);
  return m <= k ? [...refSUBPROOF(m, d.slice(0, k), b), refMTH(d.slice(k))] : [...refSUBPROOF(m - k, d.slice(k), false), refMTH(d.slice(0, k))];
}

// ---- helpers ----------------------------------------------------------------------------------

const flipBit = (b: Uint8Array, byte: number, bit: number): Buffer => {
  const c = Buffer.from(b);
  const at = byte % c.length;
  c[at] = c[at]! ^ (1 << bit % 8);
  return c;
};
const flipInProof = (proof: readonly Buffer[], el: number, byte: number, bit: number): Buffer[] =>
  proof.map((p, i) => (i === el % proof.length ? flipBit(p, byte, bit) : p));
const SOME_HASH = hex('abacaba000000000000000000000000000000000000000000060061e00123456');

/** The complete perfect subtrees a tree gains when it grows to `size`: (h, size/2^h - 1) while 2^h divides size. */
function expectedCompleted(tree: MemoryTree, size: number): MerkleNode[] {
  const out: MerkleNode[] = [];
  for (let h = 0; size % 2 ** h === 0; h++) out.push({ height: h, index: size / 2 ** h - 1, hash: tree.levels[h]![size / 2 ** h - 1]! });
  return out;
}

// A fixed 2048-leaf tree for the properties, with its root at every size.
const BIG = new MemoryTree(Array.from({ length: 2048 }, (_, i) => leafHash(Buffer.from(`leaf ${i}`, 'utf8'))));
const bigRoots: Buffer[] = [];
const bigRoot = async (size: number): Promise<Buffer> => (bigRoots[size] ??= await rootHash(size, BIG.reader(size)));

// ---- known answers ----------------------------------------------------------------------------

describe('RFC 6962 / CT reference vectors (transparency-dev/merkle)', () => {
  const tree = new MemoryTree(v.leaves_hex.map((l) => leafHash(hex(l))));

  test('the vectors name their source', () => {
    assert.match(v.source, /transparency-dev\/merkle/);
    assert.match(v.source, /proof\/verify_test\.go/);
  });

  test('hasher: empty root, empty leaf, a leaf and a node', () => {
    assert.equal(EMPTY_ROOT.toString('hex'), v.hasher.empty_root);
    assert.equal(leafHash(Buffer.alloc(0)).toString('hex'), v.hasher.empty_leaf_hash);
    assert.equal(leafHash(Buffer.from(v.hasher.leaf.data_utf8, 'utf8')).toString('hex'), v.hasher.leaf.hash);
    assert.equal(nodeHash(Buffer.from(v.hasher.node.left_utf8), Buffer.from(v.hasher.node.right_utf8)).toString('hex'), v.hasher.node.hash);
    // The 32-byte fast path agrees with the general one.
    const [a, b] = [randomBytes(32), randomBytes(32)];
    assert.deepEqual(nodeHash(a, b), nodeHash(Buffer.concat([a, Buffer.alloc(0)]), b));
    assert.notDeepEqual(nodeHash(a, b), nodeHash(b, a));
  });

  test('every perfect subtree of the 8-leaf tree', async () => {
    assert.deepEqual(tree.levels.map((l) => l.map((h) => h.toString('hex'))), v.node_hashes);
    for (let h = 0; h < v.node_hashes.length; h++) {
      for (let i = 0; i < v.node_hashes[h]!.length; i++) {
        assert.equal((await subtreeRoot(i * 2 ** h, (i + 1) * 2 ** h, tree.reader())).toString('hex'), v.node_hashes[h]![i]);
      }
    }
  });

  test('roots for sizes 0..8, from the reader and from the frontier', async () => {
    const f = new MerkleFrontier();
    for (let n = 0; n <= 8; n++) {
      assert.equal((await rootHash(n, tree.reader(n))).toString('hex'), v.roots[n], `rootHash(${n})`);
      assert.equal(f.root().toString('hex'), v.roots[n], `frontier root at ${n}`);
      assert.equal(f.toBytes().toString('hex'), v.compact_trees[n]!.join(''), `frontier bytes at ${n}`);
      assert.deepEqual(f.nodes().map((x) => x.hash.toString('hex')), v.compact_trees[n]);
      if (n < 8) f.append(tree.leaves[n]!);
    }
  });

  test('inclusion proofs: generated exactly, verified, and every corruption rejected', async () => {
    for (const c of v.inclusion) {
      const [index, size, proof, root, leaf] = [c.leaf_index, c.tree_size, hexes(c.path), hex(v.roots[c.tree_size]!), tree.leaves[c.leaf_index]!];
      const what = `(${index}, ${size})`;
      assert.deepEqual(await inclusionProof(index, size, tree.reader(size)), proof, what);
      assert.ok(verifyInclusion(index, size, leaf, proof, root), what);
      const r = rootFromInclusion(index, size, leaf, proof);
      assert.ok(r.ok && r.root.equals(root), what);
      // The probes of transparency-dev/merkle's corruptInclusionProof.
      const probes: Array<[string, number, number, Uint8Array, Uint8Array[], Uint8Array]> = [
        ['index - 1', index - 1, size, leaf, proof, root],
        ['index + 1', index + 1, size, leaf, proof, root],
        ['index ^ 2', index ^ 2, size, leaf, proof, root],
        ['size * 2', index, size * 2, leaf, proof, root],
        ['size / 2', index, Math.floor(size / 2), leaf, proof, root],
        ['wrong leaf', index, size, Buffer.from('WrongLeaf'), proof, root],
        ['wrong leaf of 32 bytes', index, size, SOME_HASH, proof, root],
        ['empty root', index, size, leaf, proof, EMPTY_ROOT],
        ['random root', index, size, leaf, proof, SOME_HASH],
        ['trailing garbage', index, size, leaf, [...proof, Buffer.alloc(0)], root],
        ['trailing root', index, size, leaf, [...proof, root], root],
        ['preceding garbage', index, size, leaf, [Buffer.alloc(0), ...proof], root],
        ['preceding root', index, size, leaf, [root, ...proof], root],
        ...proof.map((_, i): [string, number, number, Uint8Array, Uint8Array[], Uint8Array] => [`proof[${i}] bit 3`, index, size, leaf, flipInProof(proof, i, 0, 3), root]),
      ];
      if (proof.length > 0) probes.push(['removed component', index, size, leaf, proof.slice(0, -1), root]);
      if (proof.length > 1) probes.push(['inserted component', index, size, leaf, [proof[0]!, SOME_HASH, ...proof.slice(1)], root]);
      for (const [desc, i, s, l, p, rt] of probes) assert.equal(verifyInclusion(i, s, l, p, rt), false, `${what}: ${desc}`);
    }
  });

  test('consistency proofs: generated exactly, verified, and every corruption rejected', async () => {
    for (const c of v.consistency) {
      const [size1, size2, proof, root1, root2] = [c.size1, c.size2, hexes(c.path), hex(v.roots[c.size1]!), hex(v.roots[c.size2]!)];
      const what = `(${size1}, ${size2})`;
      assert.deepEqual(await consistencyProof(size1, size2, tree.reader(size2)), proof, what);
      assert.ok(verifyConsistency(size1, size2, root1, root2, proof), what);
      if (proof.length === 0) continue; // as transparency-dev: probes only for non-trivial proofs
      const probes: Array<[string, number, number, Uint8Array, Uint8Array, Uint8Array[]]> = [
        ['size1 - 1', size1 - 1, size2, root1, root2, proof],
        ['size1 + 1', size1 + 1, size2, root1, root2, proof],
        ['size1 ^ 2', size1 ^ 2, size2, root1, root2, proof],
        ['size2 * 2', size1, size2 * 2, root1, root2, proof],
        ['size2 / 2', size1, Math.floor(size2 / 2), root1, root2, proof],
        ['wrong root1', size1, size2, Buffer.from('WrongRoot'), root2, proof],
        ['wrong root2', size1, size2, root1, Buffer.from('WrongRoot'), proof],
        ['swapped roots', size1, size2, root2, root1, proof],
        ['empty proof', size1, size2, root1, root2, []],
        ['trailing garbage', size1, size2, root1, root2, [...proof, Buffer.alloc(0)]],
        ['trailing root1', size1, size2, root1, root2, [...proof, root1]],
        ['trailing root2', size1, size2, root1, root2, [...proof, root2]],
        ['preceding garbage', size1, size2, root1, root2, [Buffer.alloc(0), ...proof]],
        ['preceding root1', size1, size2, root1, root2, [root1, ...proof]],
        ['preceding root2', size1, size2, root1, root2, [root2, ...proof]],
        ['preceding proof[0]', size1, size2, root1, root2, [proof[0]!, ...proof]],
        ['truncated proof', size1, size2, root1, root2, proof.slice(0, -1)],
        ...proof.map((_, i): [string, number, number, Uint8Array, Uint8Array, Uint8Array[]] => [`proof[${i}] bit 4`, size1, size2, root1, root2, flipInProof(proof, i, 0, 4)]),
      ];
      for (const [desc, s1, s2, r1, r2, p] of probes) assert.equal(verifyConsistency(s1, s2, r1, r2, p), false, `${what}: ${desc}`);
    }
  });

  test('transparency-dev edge cases of VerifyConsistency', () => {
    const [r1, r2] = [Buffer.alloc(32, 1), Buffer.alloc(32, 2)];
    assert.equal(verifyConsistency(0, 0, r1, r2, []), false);
    assert.equal(verifyConsistency(1, 1, r1, r2, []), false);
    assert.ok(verifyConsistency(1, 1, r2, r2, []));
    assert.ok(verifyConsistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, []));
    assert.equal(verifyConsistency(1, 0, r1, r2, []), false, 'time travel');
    assert.equal(verifyConsistency(2, 1, r1, r2, []), false, 'time travel');
    assert.equal(verifyConsistency(1, 2, r1, r2, []), false, 'empty proof');
    assert.equal(verifyConsistency(1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]), false, 'equal sizes, proof not empty');
    assert.equal(verifyConsistency(0, 1, EMPTY_ROOT, r2, [EMPTY_ROOT]), false, 'from empty, proof not empty');
    // The empty tree is a prefix of every tree: only its own root is checked.
    assert.ok(verifyConsistency(0, 5, EMPTY_ROOT, r2, []));
    assert.equal(verifyConsistency(0, 5, r1, r2, []), false);
    assert.deepEqual(checkConsistency(2, 1, r1, r2, []), { ok: false, reason: 'size1 is larger than size2' });
  });

  test('RFC 9162 binds the tree size only through the root: take size and root from one checkpoint', async () => {
    const proof = await inclusionProof(0, 3, tree.reader(3));
    // Leaf 0's path in trees of 3 and 4 leaves has the same shape (two right siblings)...
    assert.ok(verifyInclusion(0, 3, tree.leaves[0]!, proof, hex(v.roots[3]!)));
    assert.ok(verifyInclusion(0, 4, tree.leaves[0]!, proof, hex(v.roots[3]!)));
    // ...so only the root tells them apart.
    assert.equal(verifyInclusion(0, 4, tree.leaves[0]!, proof, hex(v.roots[4]!)), false);
  });
});

// ---- against the RFC's definitions --------------------------------------------------------------

describe('against RFC 9162 2.1 by its definitions', () => {
  const leaves = BIG.leaves.slice(0, 70);

  test('MTH, PATH and PROOF for every index and size up to 70 (and only complete nodes read)', async () => {
    for (let n = 0; n <= leaves.length; n++) {
      const d = leaves.slice(0, n);
      assert.deepEqual(await rootHash(n, BIG.reader(n)), refMTH(d), `MTH(${n})`);
      for (let m = 0; m < n; m++) assert.deepEqual(await inclusionProof(m, n, BIG.reader(n)), refPATH(m, d), `PATH(${m}, ${n})`);
      for (let m = 1; m < n; m++) assert.deepEqual(await consistencyProof(m, n, BIG.reader(n)), refSUBPROOF(m, d, true), `PROOF(${m}, ${n})`);
      assert.deepEqual(await consistencyProof(0, n, BIG.reader(n)), []);
      assert.deepEqual(await consistencyProof(n, n, BIG.reader(n)), []);
    }
  });

  test('subtreeRoot of any range, aligned or not, is MTH of that slice', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 300 }), async (a, b) => {
        const [start, end] = a <= b ? [a, b] : [b, a];
        assert.deepEqual(await subtreeRoot(start, end, BIG.reader(end)), refMTH(BIG.leaves.slice(start, end)));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  test('an aligned range costs one read per set bit of its length', async () => {
    const reads: Array<[number, number]> = [];
    await rootHash(1234, BIG.reader(1234, reads));
    assert.deepEqual(reads, [[10, 0], [7, 8], [6, 18], [4, 76], [1, 616]]); // 1234 = 1024 + 128 + 64 + 16 + 2
  });

  test('the generators reject impossible arguments', async () => {
    const r = BIG.reader();
    for (const [i, s] of [[0, 0], [1, 1], [5, 3], [-1, 3], [0.5, 3], [0, Number.NaN], [0, 2 ** 53]] as const) {
      assert.throws(() => inclusionProof(i, s, r), RangeError, `inclusionProof(${i}, ${s})`);
    }
    for (const [a, b] of [[3, 2], [-1, 2], [1, 1.5], [1, Infinity]] as const) assert.throws(() => consistencyProof(a, b, r), RangeError);
    await assert.rejects(subtreeRoot(3, 2, r), RangeError);
    await assert.rejects(rootHash(4, () => Buffer.alloc(31)), /no 32-byte hash/);
  });
});

// ---- properties -------------------------------------------------------------------------------

describe('properties (fast-check, fixed seed)', () => {
  const sizeAndIndex = fc.integer({ min: 1, max: 2000 }).chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));
  const flips = fc.record({ el: fc.nat(), byte: fc.nat(31), bit: fc.nat(7), other: fc.nat(), otherSize: fc.nat() });

  test('inclusion proofs verify, and fail when a proof byte, the index, the size or the leaf changes', async () => {
    await fc.assert(
      fc.asyncProperty(sizeAndIndex, flips, async ([size, index], f) => {
        const proof = await inclusionProof(index, size, BIG.reader(size));
        const root = await bigRoot(size);
        const leaf = BIG.leaves[index]!;
        assert.ok(verifyInclusion(index, size, leaf, proof, root));
        if (proof.length > 0) {
          assert.equal(verifyInclusion(index, size, leaf, flipInProof(proof, f.el, f.byte, f.bit), root), false, 'flipped proof bit');
          assert.equal(verifyInclusion(index, size, leaf, proof.slice(0, -1), root), false, 'truncated');
          assert.equal(verifyInclusion(index, size, leaf, proof.slice(1), root), false, 'first element dropped');
        }
        assert.deepEqual(checkInclusion(index, size, leaf, [...proof, SOME_HASH], root), { ok: false, reason: 'the proof is too long' });
        if (proof.length > 0) assert.deepEqual(checkInclusion(index, size, leaf, proof.slice(0, -1), root), { ok: false, reason: 'the proof is too short' });
        // Any other index, in the tree or past its end.
        const j = (index + 1 + (f.other % (size + 2))) % (size + 3);
        assert.equal(verifyInclusion(j, size, leaf, proof, root), false, `index ${j}`);
        // Any other size, with that size's root.
        const s2 = 1 + ((size + (f.otherSize % 2047)) % 2048);
        assert.notEqual(s2, size);
        assert.equal(verifyInclusion(index, s2, leaf, proof, await bigRoot(s2)), false, `size ${s2}`);
        assert.equal(verifyInclusion(index, size, flipBit(leaf, f.byte, f.bit), proof, root), false, 'flipped leaf bit');
        assert.equal(verifyInclusion(index, size, BIG.leaves[(index + 1) % 2048]!, proof, root), false, 'another leaf');
        assert.equal(verifyInclusion(index, size, leaf, proof, flipBit(root, f.byte, f.bit)), false, 'flipped root bit');
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  test('consistency proofs verify, and fail when a proof byte, a size or a root changes', async () => {
    const sizes = fc.integer({ min: 0, max: 2000 }).chain((size2) => fc.tuple(fc.integer({ min: 0, max: size2 }), fc.constant(size2)));
    await fc.assert(
      fc.asyncProperty(sizes, flips, async ([size1, size2], f) => {
        const proof = await consistencyProof(size1, size2, BIG.reader(size2));
        const [root1, root2] = [await bigRoot(size1), await bigRoot(size2)];
        assert.ok(verifyConsistency(size1, size2, root1, root2, proof));
        // From the empty tree nothing binds root2 (documented); otherwise root2 must be the right one.
        assert.equal(verifyConsistency(size1, size2, root1, flipBit(root2, f.byte, f.bit), proof), size1 === 0 && size2 > 0, 'flipped root2 bit');
        if (size1 > 0) assert.equal(verifyConsistency(size1, size2, flipBit(root1, f.byte, f.bit), root2, proof), false, 'flipped root1 bit');
        if (proof.length === 0) return; // size1 = 0 or size1 = size2
        assert.equal(verifyConsistency(size1, size2, root1, root2, flipInProof(proof, f.el, f.byte, f.bit)), false, 'flipped proof bit');
        assert.equal(verifyConsistency(size1, size2, root1, root2, proof.slice(0, -1)), false, 'truncated');
        assert.equal(verifyConsistency(size1, size2, root1, root2, proof.slice(1)), false, 'first element dropped');
        assert.deepEqual(checkConsistency(size1, size2, root1, root2, [...proof, SOME_HASH]), { ok: false, reason: 'the proof is too long' });
        if (proof.length > 1) assert.deepEqual(checkConsistency(size1, size2, root1, root2, proof.slice(0, -1)), { ok: false, reason: 'the proof is too short' });
        assert.equal(verifyConsistency(size1, size2, root2, root1, proof), false, 'swapped roots');
        // Any other size1 up to size2, and any other size2 from size1, each with its own root.
        const s1 = (size1 + 1 + (f.other % size2)) % (size2 + 1);
        assert.equal(verifyConsistency(s1, size2, await bigRoot(s1), root2, proof), false, `size1 ${s1}`);
        const s2 = size1 + ((size2 - size1 + 1 + (f.otherSize % (2048 - size1))) % (2049 - size1));
        assert.notEqual(s2, size2);
        assert.equal(verifyConsistency(size1, s2, root1, await bigRoot(s2), proof), false, `size2 ${s2}`);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  test("the frontier's root is rootHash at every size, and append returns exactly the completed subtrees", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 1100, size: 'max' }), fc.nat(), async (raw, cut) => {
        const tree = new MemoryTree();
        const f = new MerkleFrontier();
        const seen = new Set<string>();
        assert.deepEqual(f.root(), EMPTY_ROOT);
        for (const l of raw) {
          const leaf = Buffer.from(l);
          tree.append(leaf);
          const got = f.append(leaf);
          assert.equal(f.size, tree.size);
          assert.deepEqual(got, expectedCompleted(tree, tree.size), `append at ${tree.size}`);
          for (const n of got) seen.add(`${n.height}/${n.index}`);
          assert.deepEqual(f.root(), await rootHash(tree.size, tree.reader()), `root at ${tree.size}`);
        }
        // Each perfect subtree of the tree was returned once, and nothing else.
        assert.equal(seen.size, tree.levels.reduce((a, l) => a + l.length, 0));
        // Stored and restored at any size, or loaded from the tree, the frontier goes on the same.
        const size = raw.length === 0 ? 0 : cut % (raw.length + 1);
        const g = new MerkleFrontier();
        for (const l of tree.leaves.slice(0, size)) g.append(l);
        const restored = MerkleFrontier.fromBytes(g.toBytes(), size);
        const loaded = await MerkleFrontier.load(size, tree.reader(size));
        for (const h of [restored, loaded]) {
          assert.deepEqual(h.toBytes(), g.toBytes());
          assert.deepEqual(h.nodes(), g.nodes());
          for (const l of tree.leaves.slice(size)) h.append(l);
          assert.deepEqual(h.root(), f.root());
        }
      }),
      { seed: SEED, numRuns: 25 },
    );
  });

  test('the frontier over the 2048-leaf tree: roots at every size, nodes() is the decomposition', async () => {
    const f = new MerkleFrontier();
    for (let n = 1; n <= 2048; n++) {
      f.append(BIG.leaves[n - 1]!);
      assert.deepEqual(f.root(), await bigRoot(n));
      for (const x of f.nodes()) assert.deepEqual(x.hash, BIG.levels[x.height]![x.index], `node (${x.height}, ${x.index}) at ${n}`);
      assert.equal(f.nodes().reduce((a, x) => a + 2 ** x.height, 0), n);
    }
  });

  test('fromBytes rejects a serialisation of the wrong length; append rejects a bad leaf', () => {
    assert.throws(() => MerkleFrontier.fromBytes(Buffer.alloc(32), 0), RangeError);
    assert.throws(() => MerkleFrontier.fromBytes(Buffer.alloc(32), 3), RangeError); // 3 = 2 + 1: two hashes
    assert.throws(() => MerkleFrontier.fromBytes(Buffer.alloc(64), -1), RangeError);
    assert.throws(() => MerkleFrontier.fromBytes(Buffer.alloc(64), 2.5), RangeError);
    assert.equal(MerkleFrontier.fromBytes(Buffer.alloc(64), 3).size, 3);
    assert.equal(MerkleFrontier.fromBytes(Buffer.alloc(32 * 53), Number.MAX_SAFE_INTEGER).size, Number.MAX_SAFE_INTEGER);
    assert.throws(() => new MerkleFrontier().append(Buffer.alloc(31)), RangeError);
    assert.throws(() => MerkleFrontier.fromBytes(Buffer.alloc(32 * 53), Number.MAX_SAFE_INTEGER).append(Buffer.alloc(32)), RangeError);
  });

  test('the verifiers never throw on hostile input', () => {
    const anything = fc.anything({ withTypedArray: true, withBigInt: true, withMap: true, withSet: true });
    const hashy = fc.oneof(anything, fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)));
    const proofy = fc.oneof(anything, fc.array(hashy, { maxLength: 70 }));
    const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(2 ** 53, -0, Number.NaN, Infinity), anything);
    fc.assert(
      fc.property(num, num, hashy, proofy, hashy, (a, b, l, p, r) => {
        const i = checkInclusion(a as number, b as number, l as Uint8Array, p as Uint8Array[], r as Uint8Array);
        const c = checkConsistency(a as number, b as number, l as Uint8Array, r as Uint8Array, p as Uint8Array[]);
        assert.equal(typeof i.ok, 'boolean');
        assert.equal(typeof c.ok, 'boolean');
        if (!i.ok) assert.equal(typeof i.reason, 'string');
      }),
      { seed: SEED, numRuns: 2000 },
    );
    const h = Buffer.alloc(32);
    assert.deepEqual(checkInclusion(0, 2, h, new Array<Buffer>(1_000_000).fill(h), h), { ok: false, reason: 'the proof is too long' });
    assert.deepEqual(checkInclusion(0, 2, h, new Array<Buffer>(1), h), { ok: false, reason: 'a proof element is not a 32-byte hash' });
    assert.deepEqual(checkInclusion(2, 2, h, [], h), { ok: false, reason: 'the index is not below the tree size' });
    assert.deepEqual(checkInclusion(0, 2 ** 53, h, [], h), { ok: false, reason: 'the index and size are not non-negative safe integers' });
    assert.deepEqual(checkConsistency(1, 3, h, h, 'proof' as never), { ok: false, reason: 'the proof is not an array' });
    // Valid-looking sizes near 2^53 run the RFC loop to its end without trouble.
    const big = Number.MAX_SAFE_INTEGER;
    assert.equal(verifyInclusion(big - 1, big, h, Array<Buffer>(53).fill(h), h), false);
    assert.equal(verifyConsistency(big - 2, big, h, h, Array<Buffer>(54).fill(h)), false);
  });
});

// ---- C2SP tlog-tiles --------------------------------------------------------------------------

describe('C2SP tlog-tiles', () => {
  test('paths as the spec spells them', () => {
    assert.equal(tilePath(0, 1234067), 'tile/0/x001/x234/067');
    assert.equal(tilePath(0, 1234067, 8), 'tile/0/x001/x234/067.p/8');
    assert.equal(tilePath(1, 0), 'tile/1/000');
    assert.equal(tilePath(63, 999, 255), 'tile/63/999.p/255');
    assert.equal(tilePath(2, 1000, 256), 'tile/2/x001/000');
    assert.equal(tilePath(0, Number.MAX_SAFE_INTEGER), 'tile/0/x009/x007/x199/x254/x740/991');
    assert.equal(entriesPath(1234067, 8), 'tile/entries/x001/x234/067.p/8');
    assert.deepEqual(parseTilePath('tile/0/x001/x234/067.p/8'), { level: 0, index: 1234067, width: 8 });
    assert.deepEqual(parseTilePath('tile/12/x001/000'), { level: 12, index: 1000, width: 256 });
    assert.deepEqual(parseEntriesPath('tile/entries/x001/x234/067'), { index: 1234067, width: 256 });
    for (const [l, i, w] of [[64, 0, 256], [-1, 0, 256], [1.5, 0, 256], [0, -1, 256], [0, 2 ** 53, 256], [0, 0.5, 256], [0, 0, 0], [0, 0, 257]] as const) {
      assert.throws(() => tilePath(l, i, w), RangeError, `tilePath(${l}, ${i}, ${w})`);
    }
  });

  test('every tile path round-trips', () => {
    const index = fc.oneof(fc.nat(3000), fc.maxSafeNat());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), index, fc.integer({ min: 1, max: TILE_WIDTH }), (level, i, width) => {
        assert.deepEqual(parseTilePath(tilePath(level, i, width)), { level, index: i, width });
        assert.deepEqual(parseEntriesPath(entriesPath(i, width)), { index: i, width });
        assert.equal(parseEntriesPath(tilePath(level, i, width)), null);
        assert.equal(parseTilePath(entriesPath(i, width)), null);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  test('malformed paths are rejected', () => {
    const bad = [
      'tile/0/1234', // more than three digits in an element
      'tile/0/x1/234', // fewer than three
      'tile/0/01',
      'tile/0/x001', // the last element has no x
      'tile/0/001/002', // all but the last do
      'tile/0/x000/001', // a leading all-zero group: 1 is 001
      'tile/0/x000/000',
      'tile/0/000.p/0', // W is 1 to 255
      'tile/0/000.p/256',
      'tile/0/000.p/08', // no leading zeroes
      'tile/0/000.p/',
      'tile/0/000.p',
      'tile/0/000.p/1/',
      'tile/0/000.p/255x',
      'tile/00/000', // L has no leading zeroes
      'tile/01/000',
      'tile/64/000', // L is 0 to 63
      'tile/-1/000',
      'tile/data/000',
      'tile/entries/000.p/256',
      'tile//000',
      'tile/0/',
      'tile/0',
      'tile/0/000/',
      '/tile/0/000',
      'tile/0//000',
      'tiles/0/000',
      'TILE/0/000',
      'tile/0/+00',
      'tile/0/ 00',
      'tile/0/0x1',
      'tile/0/X001/000',
      'tile/0/\u0660\u0660\u0660', // Arabic-Indic digits
      'tile/0/000\n',
      'tile/0/000 ',
      'tile/0/x009/x007/x199/x254/x740/992', // 2^53: past the safe integers
      'tile/0/x999/x999/x999/x999/x999/x999/999', // seven groups
      'tile/0/x001/x234/067.p/8?x=1',
      'tile/0/x001/x234/067#frag',
      'tile/0/x001/../067',
      '',
      `tile/0/${'x000/'.repeat(1000)}000`,
    ];
    for (const p of bad) assert.equal(parseTilePath(p), null, JSON.stringify(p));
    const badEntries = ['tile/entries/1234', 'tile/entries/x001', 'tile/entries/x000/001', 'tile/entries/000.p/0', 'tile/entries/000.p/256', 'tile/entries/000.p/08', 'tile/entry/000', 'tile/entries/', 'tile/entries/000/'];
    for (const p of badEntries) assert.equal(parseEntriesPath(p), null, JSON.stringify(p));
    for (const p of [undefined, null, 0, ['tile/0/000'], { toString: () => 'tile/0/000' }]) assert.equal(parseTilePath(p as never), null);
  });

  test('locateNode: a node of height H comes from tile level floor(H/8); height 8k is an entry of level k', () => {
    assert.deepEqual(locateNode(0, 1234067), { level: 0, tile: 4820, height: 0, index: 147, width: 148 });
    assert.deepEqual(locateNode(7, 5), { level: 0, tile: 2, height: 7, index: 1, width: 256 });
    assert.deepEqual(locateNode(8, 5), { level: 1, tile: 0, height: 0, index: 5, width: 6 });
    assert.deepEqual(locateNode(9, 300), { level: 1, tile: 2, height: 1, index: 44, width: 90 });
    assert.deepEqual(locateNode(16, 0), { level: 2, tile: 0, height: 0, index: 0, width: 1 });
    assert.throws(() => locateNode(64, 0), RangeError);
    assert.throws(() => locateNode(0, -1), RangeError);
  });

  test("the spec's 70,000-leaf example: tiles from the frontier's completed nodes serve every node", async () => {
    const N = 70_000;
    const tree = new MemoryTree();
    const f = new MerkleFrontier();
    const tiles = new Map<string, Buffer[]>(); // `${level}/${index}` → entries
    for (let i = 0; i < N; i++) {
      const leaf = i < 2048 ? BIG.leaves[i]! : leafHash(Buffer.from(`leaf ${i}`, 'utf8'));
      tree.append(leaf);
      // A completed node of height 8k is entry (index mod 256) of level-k tile floor(index / 256).
      for (const n of f.append(leaf)) {
        if (n.height % 8 !== 0) continue;
        const key = `${n.height / 8}/${Math.floor(n.index / TILE_WIDTH)}`;
        const t = tiles.get(key) ?? [];
        assert.equal(t.length, n.index % TILE_WIDTH, 'entries arrive in order');
        t.push(n.hash);
        tiles.set(key, t);
      }
    }
    // "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile, one
    // partial level 1 tile of width 17, and one partial level 2 tile of width 1."
    const widths = (level: number): number[] => [...tiles].filter(([k]) => k.startsWith(`${level}/`)).map(([, t]) => t.length);
    assert.deepEqual(widths(0), [...Array<number>(273).fill(256), 112]);
    assert.deepEqual(widths(1), [256, 17]);
    assert.deepEqual(widths(2), [1]);
    assert.equal(tiles.size, 273 + 1 + 2 + 1);
    // Level-1 entries are the hashes of whole level-0 tiles.
    const bytes = (level: number, index: number): Buffer => Buffer.concat(tiles.get(`${level}/${index}`) ?? []);
    for (let j = 0; j < 273; j++) assert.deepEqual(tileNodeHash(bytes(0, j), 8, 0), tiles.get('1/0')![j] ?? tiles.get('1/1')![j - 256]);
    assert.deepEqual(tileNodeHash(bytes(1, 0), 8, 0), bytes(2, 0));

    let tileReads = 0;
    const read = tileNodeReader((level, index) => {
      tileReads++;
      return bytes(level, index);
    });
    assert.deepEqual(await rootHash(N, read), f.root());
    assert.deepEqual(await rootHash(N, read), await rootHash(N, tree.reader()));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 16 }), fc.nat(), async (h, raw) => {
        const count = Math.floor(N / 2 ** h);
        fc.pre(count > 0);
        const i = raw % count;
        assert.deepEqual(await read(h, i), tree.levels[h]![i], `node (${h}, ${i})`);
      }),
      { seed: SEED, numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: N }).chain((s) => fc.tuple(fc.constant(s), fc.nat(s - 1), fc.nat(s))), async ([size, index, size1]) => {
        assert.deepEqual(await inclusionProof(index, size, read), await inclusionProof(index, size, tree.reader(size)));
        assert.deepEqual(await consistencyProof(size1, size, read), await consistencyProof(size1, size, tree.reader(size)));
      }),
      { seed: SEED, numRuns: 100 },
    );
    assert.ok(tileReads > 0);
  });

  test('tileNodeHash checks its arguments', () => {
    const tile = Buffer.concat(BIG.leaves.slice(0, 256));
    assert.deepEqual(tileNodeHash(tile, 0, 255), BIG.leaves[255]);
    assert.deepEqual(tileNodeHash(tile, 3, 5), BIG.levels[3]![5]);
    assert.deepEqual(tileNodeHash(tile, 8, 0), BIG.levels[8]![0]);
    assert.deepEqual(tileNodeHash(tile.subarray(0, 48 * 32), 4, 2), BIG.levels[4]![2]); // a partial tile of width 48
    assert.throws(() => tileNodeHash(tile.subarray(0, 47 * 32), 4, 2), RangeError); // needs 48 entries
    assert.throws(() => tileNodeHash(tile, 9, 0), RangeError);
    assert.throws(() => tileNodeHash(tile, 8, 1), RangeError);
    assert.throws(() => tileNodeHash(tile, 0, -1), RangeError);
    assert.throws(() => tileNodeHash(tile.subarray(0, 33), 0, 0), RangeError);
    assert.throws(() => tileNodeHash(Buffer.concat([tile, tile]), 0, 0), RangeError);
  });
});
