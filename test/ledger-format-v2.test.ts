// docs/ledger-format.md (version 2) against known answers computed independently
// (test/vectors/ledger-kat-v2.json, written by test/vectors/ledger-kat.py: Python standard library
// and OpenSSL, no shared code):
//   (a) the script, run now into a temporary directory, writes exactly the committed vector files;
//   (b) the TypeScript implementation (format.ts, merkle.ts, note.ts, checkpoint.ts, key-rotation.ts,
//       verifier.ts, export.ts, rfc3161.ts) gives exactly the vectors, fault cases included;
//   (c) every worked-example value in the document equals the vectors, every hash it shows is one of
//       them, and its table of verifier checks names exactly the verifier's fault codes.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SigningKey, keyIdOf, parsePublicKey } from '../src/crypto/ed25519.js';
import { checkpointFormat, checkpointSignedBy, readCheckpoint, signCheckpoint, signCheckpointNoteV2, type SignedCheckpoint } from '../src/ledger/checkpoint.js';
import type { StoredCheckpoint } from '../src/ledger/checkpoint-repository.js';
import { exportLedger, verifyExportFile } from '../src/ledger/export.js';
import { ZERO_HASH, chainHash, genesisEventId, leafHash, prepareEvent, type EventType, type LedgerEntry } from '../src/ledger/format.js';
import { checkRotation, rotationData, rotationMessage } from '../src/ledger/key-rotation.js';
import type { LedgerReader } from '../src/ledger/ledger.js';
import {
  EMPTY_ROOT,
  MerkleFrontier,
  TILE_WIDTH,
  checkConsistency,
  checkInclusion,
  consistencyProof,
  inclusionProof,
  locateNode,
  nodeHash,
  parseTilePath,
  rootFromInclusion,
  rootHash,
  tileNodeHash,
  tileNodeReader,
  tilePath,
  type NodeReader,
} from '../src/ledger/merkle.js';
import { formatCheckpoint, noteKeyHash, openCheckpointNote, openNote, parseVerifierKey, verifierKey, withChainHash, withTime } from '../src/ledger/note.js';
import { verifyLedger, type VerifyReport } from '../src/ledger/verifier.js';
import { buildTimeStampRequest } from '../src/timestamp/rfc3161.js';
import { packageRoot } from '../src/util/paths.js';
import { requireTool, run } from './helpers/tools.js';

// ---- the vectors -----------------------------------------------------------------------------

interface KeyVec {
  name: 'A' | 'B' | 'C';
  seed_hex: string;
  public_key_hex: string;
  public_key_base64: string;
  public_key_pem: string;
  key_id: string;
  note_key_name: string;
  note_key_hash_input_hex: string;
  note_key_hash: string;
  note_verifier_key: string;
}
interface EntryVec {
  seq: number;
  event_id: string;
  event_type: string;
  canonical_utf8: string;
  canonical_hex: string;
  canonical_bytes: number;
  leaf_hash: string;
  prev_hash: string;
  chain_hash: string;
  chain_input_hex: string;
}
interface ProofVec {
  leaf_index: number;
  tree_size: number;
  proof: string[];
}
interface InclusionVec extends ProofVec {
  seq: number;
  leaf_hash: string;
  root: string;
}
interface ConsistencyVec {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
}
interface TraceStep {
  step: number;
  fn: number;
  sn: number;
  rule?: string;
  p?: string;
  c?: string;
  r?: string;
  fr?: string;
  sr?: string;
}
interface CheckpointVec {
  format: 1 | 2;
  size: number;
  signed_by: 'A' | 'B';
  signature_hex: string;
  signature_base64: string;
  body_utf8?: string;
  body_hex?: string;
  root_hash_base64?: string;
  root_hash_hex?: string;
  chain_hash?: string;
  time?: string;
  text_utf8?: string;
  text_hex?: string;
  signature_line_payload_hex?: string;
  signature_line?: string;
  note_utf8?: string;
  note_hex?: string;
  note_bytes?: number;
  note_sha256?: string;
}
type Op =
  | { op: 'flip'; index: number; field: 'canonical' | 'leaf_hash' | 'prev_hash' | 'chain_hash'; byte: number; mask: number }
  | { op: 'set'; index: number; field: 'event_id' | 'event_type' | 'seq'; value: string | number }
  | { op: 'canonical'; index: number; hex: string }
  | { op: 'rehash_from' | 'rehash_one' | 'delete' | 'dup'; index: number }
  | { op: 'truncate'; size: number }
  | { op: 'checkpoints'; keep: number[] }
  | { op: 'flip_checkpoint'; index: number; field: 'body' | 'signature'; byte: number; mask: number }
  | { op: 'put_checkpoint'; at: number; body_hex: string; signature_hex: string };
interface FaultVec {
  id: string;
  trusted: 'A' | 'B' | 'C' | null;
  origin?: string;
  ops: Op[];
  expect: { seq: number; code: string } | null;
  report: { ok: boolean; size: number; checkpointsVerified: number; latestCheckpointSize: number | null };
}
interface KatV2 {
  origin: string;
  keys: KeyVec[];
  empty_root: string;
  genesis_event_id: string;
  entries: EntryVec[];
  rotation: { seq: number; message_hex: string; message_utf8: string; authorised_by_previous: string; accepted_by_new: string };
  tree: {
    sizes: Array<{ size: number; root: string; frontier: string[]; frontier_hex: string }>;
    nodes: Record<string, string>;
    inclusion: InclusionVec[];
    consistency: ConsistencyVec[];
  };
  worked: {
    inclusion: Array<InclusionVec & { trace: TraceStep[] }>;
    consistency: Array<ConsistencyVec & { trace: TraceStep[] }>;
  };
  tiles: {
    ledger: Array<{ tree_size: number; level: number; index: number; width: number; path: string; bytes_hex: string; bytes: number; sha256: string }>;
    paths: Array<{ level: number; index: number; width: number; path: string }>;
    big: {
      size: number;
      root: string;
      tile_counts: Record<string, number>;
      tiles: Array<{ level: number; index: number; width: number; path: string; sha256: string; first_hash: string; last_hash: string }>;
      locations: Array<{ node_height: number; node_index: number; level: number; tile: number; height: number; index: number; width: number; tile_path: string; hash: string }>;
      inclusion: ProofVec[];
      consistency: Array<{ size1: number; size2: number; proof: string[] }>;
    };
  };
  checkpoints: CheckpointVec[];
  timestamp: { checkpoint_size: number; imprint_sha256: string; nonce_hex: string; request_der_hex: string };
  export_lines: string[];
  reports: Record<'trusted_A' | 'trusted_B' | 'no_trusted_key' | 'trusted_C', Omit<VerifyReport, 'fault'> & { fault: { seq: number; code: string } | null }>;
  faults: FaultVec[];
}

const root = packageRoot();
const vectorsDir = path.join(root, 'test', 'vectors');
const kat = JSON.parse(readFileSync(path.join(vectorsDir, 'ledger-kat-v2.json'), 'utf8')) as KatV2;
const katV1 = JSON.parse(readFileSync(path.join(vectorsDir, 'ledger-kat.json'), 'utf8')) as unknown;
const doc = readFileSync(path.join(root, 'docs', 'ledger-format.md'), 'utf8');

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const hexes = (a: readonly string[]): Buffer[] => a.map(hex);
const toHex = (a: readonly Uint8Array[]): string[] => a.map((b) => Buffer.from(b).toString('hex'));
const keyVec = (name: 'A' | 'B' | 'C'): KeyVec => kat.keys.find((k) => k.name === name)!;
const signer = (name: 'A' | 'B' | 'C'): SigningKey => SigningKey.fromSeed(hex(keyVec(name).seed_hex));
const A = signer('A');
const B = signer('B');
const C = signer('C');
const ORIGIN = kat.origin;

function katEntries(): LedgerEntry[] {
  return kat.entries.map((e) => ({
    seq: e.seq,
    eventId: e.event_id,
    eventType: e.event_type,
    canonical: hex(e.canonical_hex),
    leafHash: hex(e.leaf_hash),
    prevHash: hex(e.prev_hash),
    chainHash: hex(e.chain_hash),
  }));
}

/** The checkpoints in the order the export file (and the verifier) takes them. */
function katCheckpoints(): SignedCheckpoint[] {
  return kat.checkpoints.map((c) => ({ body: hex(c.format === 1 ? c.body_hex! : c.note_hex!), signature: hex(c.signature_hex) }));
}

const leaves = (): Buffer[] => kat.entries.map((e) => hex(e.leaf_hash));

/** Tiles as the appender stores them: each completed node of height 8k is appended to tile (k, index / 256). */
function buildTiles(leafHashes: Iterable<Buffer>): { frontier: MerkleFrontier; tiles: Map<string, Buffer[]>; read: NodeReader } {
  const frontier = new MerkleFrontier();
  const tiles = new Map<string, Buffer[]>();
  for (const l of leafHashes) {
    for (const n of frontier.append(l)) {
      if (n.height % 8 !== 0) continue;
      const k = `${n.height / 8}/${Math.floor(n.index / TILE_WIDTH)}`;
      const t = tiles.get(k) ?? [];
      t.push(n.hash);
      tiles.set(k, t);
    }
  }
  const read = tileNodeReader((level, index) => Buffer.concat(tiles.get(`${level}/${index}`) ?? []));
  return { frontier, tiles, read };
}

// ---- (a) the independent implementation reproduces the committed vectors ---------------------

describe('(a) test/vectors/ledger-kat.py reproduces the committed vectors', () => {
  test('a fresh run writes ledger-kat.json and ledger-kat-v2.json byte for byte', () => {
    requireTool('python3');
    requireTool('openssl', ['version']);
    const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-kat-v2-'));
    try {
      const r = run('python3', [path.join(vectorsDir, 'ledger-kat.py'), '--out-dir', dir], { timeout: 240_000 });
      assert.equal(r.status, 0, `ledger-kat.py failed:\n${r.stdout}\n${r.stderr}`);
      for (const f of ['ledger-kat.json', 'ledger-kat-v2.json']) {
        const fresh = readFileSync(path.join(dir, f));
        const committed = readFileSync(path.join(vectorsDir, f));
        assert.ok(fresh.equals(committed), `${f}: the script's output differs from the committed file (regenerate with python3 test/vectors/ledger-kat.py)`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('format 1 is unchanged: the v2 ledger starts with the v1 vectors\' entries and checkpoint', () => {
    const v1 = katV1 as { entries: Array<{ canonical_hex: string; chain_hash: string }>; checkpoint: { body_hex: string; signature_hex: string } };
    assert.deepEqual(kat.entries.slice(0, 2).map((e) => [e.canonical_hex, e.chain_hash]), v1.entries.map((e) => [e.canonical_hex, e.chain_hash]));
    assert.equal(kat.checkpoints[0]!.body_hex, v1.checkpoint.body_hex);
    assert.equal(kat.checkpoints[0]!.signature_hex, v1.checkpoint.signature_hex);
  });
});

// ---- (b) the TypeScript implementation gives exactly the vectors ------------------------------

describe('(b) the implementation gives the vectors', () => {
  test('keys: public key encodings, key id, note key hash and the Go verifier key', () => {
    for (const [name, key] of [['A', A], ['B', B], ['C', C]] as const) {
      const v = keyVec(name);
      assert.equal(key.publicKey.toString('hex'), v.public_key_hex);
      assert.equal(key.publicKey.toString('base64'), v.public_key_base64);
      assert.equal(key.publicKeyPem(), v.public_key_pem);
      assert.ok(parsePublicKey(v.public_key_pem).equals(key.publicKey));
      assert.equal(keyIdOf(key.publicKey), v.key_id);
      assert.equal(v.note_key_name, ORIGIN);
      assert.equal(Buffer.concat([Buffer.from(ORIGIN, 'utf8'), Buffer.from([0x0a, 0x01]), key.publicKey]).toString('hex'), v.note_key_hash_input_hex);
      assert.equal(noteKeyHash(ORIGIN, key.publicKey).toString('hex'), v.note_key_hash);
      assert.equal(verifierKey(ORIGIN, key.publicKey), v.note_verifier_key);
      const parsed = parseVerifierKey(v.note_verifier_key);
      assert.ok(parsed.ok && parsed.publicKey.equals(key.publicKey) && parsed.keyHash === v.note_key_hash);
    }
  });

  test('entries: canonical bytes, leaf hashes, chain inputs and chain hashes', () => {
    assert.equal(genesisEventId(ORIGIN), kat.genesis_event_id);
    let prev: Buffer = ZERO_HASH;
    for (const e of kat.entries) {
      const ev = JSON.parse(e.canonical_utf8) as { id: string; type: EventType; time: string; data: object };
      const p = prepareEvent(ev.type, ev.data, { id: ev.id, time: new Date(ev.time) });
      assert.equal(p.canonical.toString('utf8'), e.canonical_utf8, `entry ${e.seq}`);
      assert.equal(p.canonical.toString('hex'), e.canonical_hex);
      assert.equal(p.canonical.length, e.canonical_bytes);
      assert.equal(p.leafHash.toString('hex'), e.leaf_hash);
      assert.equal(leafHash(hex(e.canonical_hex)).toString('hex'), e.leaf_hash);
      assert.equal(e.prev_hash, prev.toString('hex'));
      const input = hex(e.chain_input_hex);
      assert.equal(input.length, 73);
      assert.deepEqual([input[0], input.readBigUInt64BE(1), input.subarray(9, 41).toString('hex'), input.subarray(41).toString('hex')], [0x02, BigInt(e.seq), e.prev_hash, e.leaf_hash]);
      assert.equal(createHash('sha256').update(input).digest('hex'), e.chain_hash);
      prev = chainHash(e.seq, prev, p.leafHash);
      assert.equal(prev.toString('hex'), e.chain_hash);
    }
  });

  test('key rotation: the signed message, both signatures, and the check', () => {
    const e = kat.entries[kat.rotation.seq - 1]!;
    const ev = JSON.parse(e.canonical_utf8) as { data: { reason: string; key: { key_id: string; public_key: string }; previous_key_id: string } };
    const statement = { origin: ORIGIN, previous_key_id: A.keyId, key: { alg: 'Ed25519' as const, key_id: B.keyId, public_key: B.publicKey.toString('base64') } };
    assert.equal(rotationMessage(statement).toString('hex'), kat.rotation.message_hex);
    assert.deepEqual(rotationData(ORIGIN, A, B, ev.data.reason), ev.data);
    assert.equal(kat.rotation.authorised_by_previous, (ev.data as unknown as Record<string, string>).authorised_by_previous);
    const r = checkRotation(ev.data, ORIGIN, { keyId: A.keyId, publicKey: A.publicKey });
    assert.ok(r.ok && r.keyId === B.keyId && r.publicKey.equals(B.publicKey));
  });

  test('key rotation: each signature must be canonical padded base64, as the service writes it', () => {
    const ev = JSON.parse(kat.entries[kat.rotation.seq - 1]!.canonical_utf8) as { data: Record<string, string> };
    // The same 64 bytes as Buffer.from(s, 'base64') would read them: unpadded, base64url, with a line break, with data after the padding.
    const respell: Array<[string, (s: string) => string]> = [
      ['unpadded', (x) => x.replace(/=+$/, '')],
      ['base64url', (x) => x.replaceAll('+', '-').replaceAll('/', '_')],
      ['with a line break', (x) => `${x.slice(0, 40)}\n${x.slice(40)}`],
      ['with data after the padding', (x) => `${x}AAAA`],
    ];
    for (const field of ['authorised_by_previous', 'accepted_by_new'] as const) {
      for (const [what, f] of respell) {
        const bad = f(ev.data[field]!);
        if (bad === ev.data[field]) continue; // no + or / to respell
        const r = checkRotation({ ...ev.data, [field]: bad }, ORIGIN, { keyId: A.keyId, publicKey: A.publicKey });
        assert.equal(r.ok, false, `${field} ${what}`);
        assert.match((r as { reason: string }).reason, /canonical base64/, `${field} ${what}`);
      }
    }
  });

  test('Merkle tree: MTH and the head frontier at every size', async () => {
    assert.equal(EMPTY_ROOT.toString('hex'), kat.empty_root);
    const { read } = buildTiles(leaves());
    const f = new MerkleFrontier();
    for (const s of kat.tree.sizes) {
      if (s.size > 0) f.append(leaves()[s.size - 1]!);
      assert.equal(f.size, s.size);
      assert.equal(f.root().toString('hex'), s.root, `root at ${s.size}`);
      assert.equal(f.toBytes().toString('hex'), s.frontier_hex);
      assert.deepEqual(toHex(f.nodes().map((n) => n.hash)), s.frontier);
      assert.equal(MerkleFrontier.fromBytes(hex(s.frontier_hex), s.size).root().toString('hex'), s.root);
      assert.equal((await rootHash(s.size, read)).toString('hex'), s.root);
    }
    assert.equal(kat.tree.nodes['0:7'], kat.tree.sizes[7]!.root);
    assert.equal(kat.tree.nodes['0:4'], kat.tree.sizes[4]!.root);
    assert.equal(nodeHash(hex(kat.tree.nodes['0:2']!), hex(kat.tree.nodes['2:4']!)).toString('hex'), kat.tree.nodes['0:4']);
    assert.equal(nodeHash(hex(kat.tree.nodes['0:4']!), hex(kat.tree.nodes['4:7']!)).toString('hex'), kat.tree.nodes['0:7']);
    assert.equal(nodeHash(hex(kat.tree.nodes['4:6']!), leaves()[6]!).toString('hex'), kat.tree.nodes['4:7']);
    assert.equal(nodeHash(hex(kat.tree.nodes['0:2']!), leaves()[2]!).toString('hex'), kat.tree.nodes['0:3']);
  });

  test('inclusion proofs: every leaf at every size, built and verified', async () => {
    const { read } = buildTiles(leaves());
    assert.equal(kat.tree.inclusion.length, (7 * 8) / 2);
    for (const v of kat.tree.inclusion) {
      assert.equal(v.seq, v.leaf_index + 1);
      assert.deepEqual(toHex(await inclusionProof(v.leaf_index, v.tree_size, read)), v.proof, `inclusion ${v.leaf_index} in ${v.tree_size}`);
      assert.deepEqual(checkInclusion(v.leaf_index, v.tree_size, hex(v.leaf_hash), hexes(v.proof), hex(v.root)), { ok: true });
      const r = rootFromInclusion(v.leaf_index, v.tree_size, hex(v.leaf_hash), hexes(v.proof));
      assert.ok(r.ok && r.root.toString('hex') === v.root);
    }
  });

  test('consistency proofs: every pair of sizes, built and verified', async () => {
    const { read } = buildTiles(leaves());
    for (const v of kat.tree.consistency) {
      assert.deepEqual(toHex(await consistencyProof(v.size1, v.size2, read)), v.proof, `consistency ${v.size1} to ${v.size2}`);
      assert.deepEqual(checkConsistency(v.size1, v.size2, hex(v.root1), hex(v.root2), hexes(v.proof)), { ok: true });
    }
  });

  test('the worked verification traces follow RFC 9162 step by step', () => {
    for (const w of kat.worked.inclusion) {
      let r = hex(w.leaf_hash);
      for (const s of w.trace) {
        r = s.rule === 'r = HASH(0x01 || p || r)' ? nodeHash(hex(s.p!), r) : nodeHash(r, hex(s.p!));
        assert.equal(r.toString('hex'), s.r);
      }
      assert.equal(r.toString('hex'), w.root);
      assert.deepEqual(checkInclusion(w.leaf_index, w.tree_size, hex(w.leaf_hash), hexes(w.proof), hex(w.root)), { ok: true });
    }
    for (const w of kat.worked.consistency) {
      let fr = hex(w.trace[0]!.fr!);
      let sr = fr;
      for (const s of w.trace.slice(1)) {
        if (s.rule === 'sr = HASH(0x01 || sr || c)') sr = nodeHash(sr, hex(s.c!));
        else [fr, sr] = [nodeHash(hex(s.c!), fr), nodeHash(hex(s.c!), sr)];
        assert.deepEqual([fr.toString('hex'), sr.toString('hex')], [s.fr, s.sr]);
      }
      assert.deepEqual([fr.toString('hex'), sr.toString('hex')], [w.root1, w.root2]);
      assert.deepEqual(checkConsistency(w.size1, w.size2, hex(w.root1), hex(w.root2), hexes(w.proof)), { ok: true });
    }
  });

  test('tiles of the ledger: the level-0 partial tile at each checkpoint size', () => {
    const { tiles } = buildTiles(leaves());
    const full = Buffer.concat(tiles.get('0/0')!);
    for (const t of kat.tiles.ledger) {
      const bytes = full.subarray(0, t.width * 32); // a partial tile .p/W is the tile's first W hashes
      assert.equal(bytes.toString('hex'), t.bytes_hex);
      assert.equal(bytes.length, t.bytes);
      assert.equal(createHash('sha256').update(bytes).digest('hex'), t.sha256);
      assert.equal(tilePath(t.level, t.index, t.width), t.path);
      assert.deepEqual(parseTilePath(t.path), { level: t.level, index: t.index, width: t.width });
      assert.equal(tileNodeHash(bytes, 0, t.width - 1).toString('hex'), kat.entries[t.width - 1]!.leaf_hash);
    }
    for (const p of kat.tiles.paths) {
      assert.equal(tilePath(p.level, p.index, p.width), p.path);
      assert.deepEqual(parseTilePath(p.path), { level: p.level, index: p.index, width: p.width });
    }
  });

  test('tiles of a 70,000-leaf tree: counts, bytes, which tile each node comes from, proofs from tiles', async () => {
    const big = kat.tiles.big;
    const leafOf = (i: number) => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(i));
      return leafHash(b);
    };
    const { frontier, tiles, read } = buildTiles((function* () {
      for (let i = 0; i < big.size; i++) yield leafOf(i);
    })());
    assert.equal(frontier.root().toString('hex'), big.root);
    for (const [level, count] of Object.entries(big.tile_counts)) assert.equal([...tiles.keys()].filter((k) => k.startsWith(`${level}/`)).length, count);
    const bytes = (level: number, index: number) => Buffer.concat(tiles.get(`${level}/${index}`) ?? []);
    for (const t of big.tiles) {
      const b = bytes(t.level, t.index);
      assert.equal(b.length, t.width * 32, t.path);
      assert.equal(tilePath(t.level, t.index, t.width), t.path);
      assert.equal(createHash('sha256').update(b).digest('hex'), t.sha256, t.path);
      assert.equal(b.subarray(0, 32).toString('hex'), t.first_hash);
      assert.equal(b.subarray(-32).toString('hex'), t.last_hash);
    }
    for (const l of big.locations) {
      assert.deepEqual(locateNode(l.node_height, l.node_index), { level: l.level, tile: l.tile, height: l.height, index: l.index, width: l.width });
      const b = bytes(l.level, l.tile);
      assert.equal(tilePath(l.level, l.tile, b.length / 32), l.tile_path);
      assert.equal(tileNodeHash(b, l.height, l.index).toString('hex'), l.hash, `node (${l.node_height}, ${l.node_index})`);
      assert.equal((await read(l.node_height, l.node_index)).toString('hex'), l.hash);
    }
    assert.equal((await rootHash(big.size, read)).toString('hex'), big.root);
    for (const p of big.inclusion) {
      const proof = await inclusionProof(p.leaf_index, p.tree_size, read);
      assert.deepEqual(toHex(proof), p.proof);
      assert.ok(checkInclusion(p.leaf_index, p.tree_size, leafOf(p.leaf_index), proof, await rootHash(p.tree_size, read)).ok);
    }
    for (const p of big.consistency) {
      const proof = await consistencyProof(p.size1, p.size2, read);
      assert.deepEqual(toHex(proof), p.proof);
      assert.ok(checkConsistency(p.size1, p.size2, await rootHash(p.size1, read), await rootHash(p.size2, read), proof).ok);
    }
  });

  test('checkpoints: format 1 body and signature, format 2 text, note, raw signature and signature line', () => {
    for (const c of kat.checkpoints) {
      const key = c.signed_by === 'A' ? A : B;
      const e = kat.entries[c.size - 1]!;
      if (c.format === 1) {
        const cp = signCheckpoint(key, ORIGIN, c.size, hex(e.chain_hash), new Date('2026-11-29T00:00:02.000Z'));
        assert.equal(cp.body.toString('utf8'), c.body_utf8);
        assert.equal(cp.signature.toString('hex'), c.signature_hex);
        continue;
      }
      const rootAt = kat.tree.sizes[c.size]!.root;
      assert.equal(c.root_hash_hex, rootAt);
      assert.equal(hex(rootAt).toString('base64'), c.root_hash_base64);
      assert.equal(c.chain_hash, e.chain_hash);
      const text = formatCheckpoint({ origin: ORIGIN, size: c.size, rootHash: hex(rootAt), extensions: withTime(withChainHash([], hex(e.chain_hash)), new Date(c.time!)) });
      assert.equal(text, c.text_utf8);
      assert.equal(Buffer.from(text, 'utf8').toString('hex'), c.text_hex);
      const cp = signCheckpointNoteV2(key, ORIGIN, c.size, hex(rootAt), hex(e.chain_hash), new Date(c.time!));
      assert.equal(cp.body.toString('utf8'), c.note_utf8);
      assert.equal(cp.body.toString('hex'), c.note_hex);
      assert.equal(cp.body.length, c.note_bytes);
      assert.equal(cp.signature.toString('hex'), c.signature_hex);
      assert.equal(checkpointFormat(cp.body), 2);
      // The note is the text, a blank line and one signature line over the text.
      assert.equal(cp.body.toString('utf8'), `${c.text_utf8}\n${c.signature_line}\n`);
      assert.equal(c.signature_line, `\u2014 ${ORIGIN} ${hex(c.signature_line_payload_hex!).toString('base64')}`);
      assert.equal(c.signature_line_payload_hex, noteKeyHash(ORIGIN, key.publicKey).toString('hex') + c.signature_hex);
      const opened = openCheckpointNote(cp.body, [{ name: ORIGIN, publicKey: key.publicKey }], { origin: ORIGIN });
      assert.ok(opened.ok, JSON.stringify(opened));
      assert.deepEqual([opened.checkpoint.size, opened.checkpoint.rootHash.toString('hex'), opened.checkpoint.extensions], [c.size, rootAt, [`chain-hash ${e.chain_hash}`, `time ${c.time}`]]);
      assert.deepEqual(readCheckpoint(cp.body), { format: 2, origin: ORIGIN, size: c.size, chainHash: hex(e.chain_hash), rootHash: hex(rootAt), time: c.time, keyId: null });
      assert.ok(checkpointSignedBy(cp, key.publicKey, ORIGIN));
      assert.equal(createHash('sha256').update(cp.body).digest('hex'), c.note_sha256);
      // Signed by the other key it is not.
      assert.equal(openNote(cp.body, [{ name: ORIGIN, publicKey: (key === A ? B : A).publicKey }]).ok, false);
    }
  });

  test('RFC 3161: the imprint is SHA-256 of the whole latest note; the request DER', () => {
    const t = kat.timestamp;
    const note = kat.checkpoints.find((c) => c.size === t.checkpoint_size && c.format === 2)!;
    assert.equal(createHash('sha256').update(hex(note.note_hex!)).digest('hex'), t.imprint_sha256);
    assert.equal(buildTimeStampRequest(hex(t.imprint_sha256), BigInt(`0x${t.nonce_hex}`)).toString('hex'), t.request_der_hex);
  });

  test('the verifier reports exactly the expected results for the intact ledger', () => {
    const pick = (r: VerifyReport) => ({ ...r, fault: r.fault ? { seq: r.fault.seq, code: r.fault.code } : null });
    assert.deepEqual(pick(verifyLedger(katEntries(), katCheckpoints(), { trustedPublicKey: A.publicKey, origin: ORIGIN })), kat.reports.trusted_A);
    assert.deepEqual(pick(verifyLedger(katEntries(), katCheckpoints(), { trustedPublicKey: B.publicKey, origin: ORIGIN })), kat.reports.trusted_B);
    assert.deepEqual(pick(verifyLedger(katEntries(), katCheckpoints(), { origin: ORIGIN })), kat.reports.no_trusted_key);
    assert.deepEqual(pick(verifyLedger(katEntries(), katCheckpoints(), { trustedPublicKey: C.publicKey, origin: ORIGIN })), kat.reports.trusted_C);
  });

  test('export file: exportLedger writes the vector lines; verifyExportFile accepts them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-kat-v2-'));
    try {
      const recordedAt = (JSON.parse(kat.export_lines.at(-1)!) as { recorded_at: string }).recorded_at;
      const reader: LedgerReader = {
        head: async () => ({ size: kat.entries.length, chainHash: hex(kat.entries.at(-1)!.chain_hash) }),
        entries: async function* () {
          for (const e of katEntries()) yield { ...e, recordedAt };
        },
        checkpoints: async () =>
          katCheckpoints().map((c, i): StoredCheckpoint => {
            const v = kat.checkpoints[i]!;
            return { ...c, size: v.size, chainHash: hex(kat.entries[v.size - 1]!.chain_hash), keyId: (v.signed_by === 'A' ? A : B).keyId, createdAt: new Date(0), format: v.format, rootHash: v.format === 2 ? hex(v.root_hash_hex!) : null };
          }),
      };
      const file = path.join(dir, 'export.jsonl');
      await exportLedger(reader, file, ORIGIN);
      const lines = readFileSync(file, 'utf8').split('\n');
      assert.equal(lines.pop(), '');
      const header = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.deepEqual({ ...header, exported_at: 'x' }, { ...(JSON.parse(kat.export_lines[0]!) as object), exported_at: 'x' });
      assert.deepEqual(lines.slice(1), kat.export_lines.slice(1));

      const given = path.join(dir, 'kat.jsonl');
      writeFileSync(given, kat.export_lines.join('\n') + '\n');
      const r = await verifyExportFile(given, { trustedPublicKey: A.publicKey });
      assert.equal(r.ok, true, JSON.stringify(r.fault));
      assert.deepEqual([r.size, r.checkpointsVerified, r.latestCheckpointSize, r.headHash, r.treeRoot], [7, 4, 7, kat.reports.trusted_A.headHash, kat.reports.trusted_A.treeRoot]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('fault cases: every fault code at the entry the table names', () => {
    const keys = { A: A.publicKey, B: B.publicKey, C: C.publicKey };
    for (const f of kat.faults) {
      test(f.id, () => {
        const { entries, cps } = applyOps(katEntries(), katCheckpoints(), f.ops);
        const r = verifyLedger(entries, cps, { ...(f.trusted ? { trustedPublicKey: keys[f.trusted] } : {}), ...(f.origin !== undefined ? { origin: f.origin } : {}) });
        assert.deepEqual(r.fault ? { seq: r.fault.seq, code: r.fault.code } : null, f.expect, JSON.stringify(r.fault));
        assert.deepEqual({ ok: r.ok, size: r.size, checkpointsVerified: r.checkpointsVerified, latestCheckpointSize: r.latestCheckpointSize }, f.report);
      });
    }
  });

  // The same edits as export files through the worker threads, in chunks of 1, 2 and 3 entries (so
  // every entry is once the first of a chunk) and in one chunk: the report is the one-thread report.
  describe('fault cases through verifyExportFile on worker threads, in chunks of every size', () => {
    const keys = { A: A.publicKey, B: B.publicKey, C: C.publicKey };
    const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-kat-chunks-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    kat.faults.forEach((f, n) => {
      test(f.id, async () => {
        const { entries, cps } = applyOps(katEntries(), katCheckpoints(), f.ops);
        const opts = { ...(f.trusted ? { trustedPublicKey: keys[f.trusted] } : {}), ...(f.origin !== undefined ? { origin: f.origin } : {}) };
        const file = path.join(dir, `fault-${n}.jsonl`);
        writeFileSync(file, exportText(entries, cps));
        const one = verifyLedger(entries, cps, opts);
        for (const chunkLines of [1, 2, 3, 4096]) {
          assert.deepEqual(await verifyExportFile(file, { ...opts, chunkLines }), one, `chunks of ${chunkLines}`);
        }
      });
    });
  });
});

/** Entries and checkpoints as an export file (export.ts's lines). */
function exportText(entries: LedgerEntry[], cps: SignedCheckpoint[]): string {
  const lines: unknown[] = [{ format: 'assentmark.ledger-export/v2', origin: ORIGIN, exported_at: '2026-11-29T00:00:09.000Z' }];
  for (const c of cps) lines.push({ kind: 'checkpoint', format: checkpointFormat(c.body), body: c.body.toString('base64'), signature: c.signature.toString('base64') });
  for (const e of entries) {
    lines.push({ kind: 'entry', seq: e.seq, event_id: e.eventId, event_type: e.eventType, canonical: e.canonical.toString('base64'), leaf_hash: e.leafHash.toString('hex'), prev_hash: e.prevHash.toString('hex'), chain_hash: e.chainHash.toString('hex') });
  }
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

/** The edits of the fault cases (the same operations ledger-kat.py applies). */
function applyOps(entries: LedgerEntry[], cps: SignedCheckpoint[], ops: readonly Op[]): { entries: LedgerEntry[]; cps: SignedCheckpoint[] } {
  let es = entries.map((e) => ({ ...e }));
  let cs = [...cps];
  const flip = (b: Buffer, i: number, mask: number): Buffer => {
    const c = Buffer.from(b);
    c[i] = c[i]! ^ mask;
    return c;
  };
  const rehash = (i: number) => {
    const e = es[i]!;
    e.leafHash = leafHash(e.canonical);
    e.chainHash = chainHash(e.seq, e.prevHash, e.leafHash);
  };
  for (const op of ops) {
    switch (op.op) {
      case 'flip': {
        const e = es[op.index]!;
        const field = ({ canonical: 'canonical', leaf_hash: 'leafHash', prev_hash: 'prevHash', chain_hash: 'chainHash' } as const)[op.field];
        e[field] = flip(e[field], op.byte, op.mask);
        break;
      }
      case 'set': {
        const e = es[op.index]!;
        if (op.field === 'seq') e.seq = op.value as number;
        else if (op.field === 'event_id') e.eventId = op.value as string;
        else e.eventType = op.value as string;
        break;
      }
      case 'canonical':
        es[op.index]!.canonical = hex(op.hex);
        break;
      case 'rehash_one':
        rehash(op.index);
        break;
      case 'rehash_from':
        for (let i = op.index; i < es.length; i++) {
          es[i]!.prevHash = i === 0 ? ZERO_HASH : es[i - 1]!.chainHash;
          rehash(i);
        }
        break;
      case 'delete':
        es.splice(op.index, 1);
        break;
      case 'dup':
        es.splice(op.index + 1, 0, { ...es[op.index]! });
        break;
      case 'truncate':
        es = es.slice(0, op.size);
        break;
      case 'checkpoints':
        cs = op.keep.map((i) => cs[i]!);
        break;
      case 'flip_checkpoint': {
        const c = cs[op.index]!;
        cs[op.index] = op.field === 'body' ? { body: flip(c.body, op.byte, op.mask), signature: c.signature } : { body: c.body, signature: flip(c.signature, op.byte, op.mask) };
        break;
      }
      case 'put_checkpoint':
        cs.splice(op.at, 0, { body: hex(op.body_hex), signature: hex(op.signature_hex) });
        break;
    }
  }
  return { entries: es, cps: cs };
}

// ---- (c) the document's worked examples are the vectors --------------------------------------

/** The value at a path like `entries[2].leaf_hash` or `tree.nodes.0:2` in the vectors. */
function at(pathText: string): unknown {
  let v: unknown = kat;
  for (const part of pathText.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new Error(`bad vector path ${pathText}`);
    if (m[1]) v = (v as Record<string, unknown>)?.[m[1]];
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) v = (v as unknown[])?.[Number(idx[1])];
  }
  return v;
}

interface DocValue {
  kind: 'row' | 'block' | 'hex';
  path: string;
  shown: string;
  line: number;
}

/**
 * The marked values of the document: the rows of every table whose header names
 * "in ledger-kat-v2.json" (`| label | \`path\` | \`value\` |`), fenced blocks after
 * `<!-- kat: path -->` (the value and a final newline) and after `<!-- kat-hex: path -->` (hex,
 * wrapped at will).
 */
function docValues(): DocValue[] {
  const out: DocValue[] = [];
  let marked = false;
  doc.split('\n').forEach((l, i) => {
    if (!l.startsWith('|')) {
      marked = false;
      return;
    }
    if (/\|\s*in ledger-kat-v2\.json\s*\|/.test(l)) {
      marked = true;
      return;
    }
    if (!marked || /^\|[-|\s]+\|$/.test(l)) return;
    const m = /^\|.*\|\s*`([a-z_][\w.:[\]]*)`\s*\|\s*`([^`]*)`\s*\|\s*$/.exec(l);
    assert.ok(m, `docs/ledger-format.md line ${i + 1}: a row of a vector table without \`path\` | \`value\``);
    out.push({ kind: 'row', path: m[1]!, shown: m[2]!, line: i + 1 });
  });
  for (const m of doc.matchAll(/<!-- kat(-hex)?: (\S+) -->\n```[a-z]*\n([\s\S]*?)```\n/g)) {
    const line = doc.slice(0, m.index).split('\n').length;
    out.push(m[1] ? { kind: 'hex', path: m[2]!, shown: m[3]!.replace(/\s+/g, ''), line } : { kind: 'block', path: m[2]!, shown: m[3]!, line });
  }
  return out;
}

function allStrings(v: unknown, out: Set<string> = new Set()): Set<string> {
  if (typeof v === 'string') out.add(v);
  else if (typeof v === 'number') out.add(String(v));
  else if (Array.isArray(v)) v.forEach((x) => allStrings(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => allStrings(x, out));
  return out;
}

describe('(c) the document shows the vectors', () => {
  const values = docValues();

  test('every marked value in docs/ledger-format.md equals the vector it names', () => {
    assert.ok(values.length >= 60, `only ${values.length} marked values found in the document`);
    for (const v of values) {
      const want = at(v.path);
      assert.ok(want !== undefined, `line ${v.line}: no vector at ${v.path}`);
      const expected = typeof want === 'string' ? want : JSON.stringify(want);
      const where = `docs/ledger-format.md line ${v.line} (${v.path})`;
      if (v.kind === 'block') assert.equal(v.shown, expected.endsWith('\n') ? expected : `${expected}\n`, where);
      else assert.equal(v.shown, expected, where);
    }
  });

  test('the worked example covers the whole ledger, its tree, tiles, notes and timestamp', () => {
    const shown = new Set(values.map((v) => v.path));
    const required = [
      ...kat.entries.flatMap((_, i) => [`entries[${i}].leaf_hash`, `entries[${i}].chain_hash`]),
      ...kat.tree.sizes.map((_, i) => `tree.sizes[${i}].root`),
      'entries[0].canonical_utf8', 'entries[1].canonical_utf8', 'entries[4].canonical_utf8',
      'keys[0].note_key_hash', 'keys[0].note_verifier_key', 'keys[1].note_verifier_key', 'keys[0].key_id', 'keys[1].key_id',
      'checkpoints[0].body_utf8', 'checkpoints[0].signature_hex', 'checkpoints[3].note_utf8', 'checkpoints[3].signature_hex', 'checkpoints[3].note_sha256',
      'rotation.message_hex', 'tree.sizes[7].frontier_hex', 'tiles.ledger[2].path', 'tiles.ledger[2].sha256',
      'worked.inclusion[0].trace[2].r', 'worked.inclusion[1].trace[1].r', 'worked.consistency[0].trace[3].sr', 'worked.consistency[1].proof[0]',
      'timestamp.imprint_sha256', 'timestamp.request_der_hex', 'tiles.big.root', 'tiles.big.locations[7].hash',
      ...kat.faults.map((_, i) => `faults[${i}].expect`),
    ];
    for (const p of required) assert.ok(shown.has(p), `the document does not show ${p}`);
  });

  test('every hash the document shows, whole or abbreviated, is one of the vectors', () => {
    const strings = allStrings([kat, katV1]);
    const hashes = new Set<string>();
    for (const s of strings) for (const m of s.matchAll(/[0-9a-f]{64}/g)) hashes.add(m[0]);
    // Long blobs are checked above; section 3.3's personal-data vectors by test/personal-data-format.test.ts.
    const text = doc.replace(/<!-- kat-hex: [^\n]* -->\n```[a-z]*\n[\s\S]*?```\n/g, '').replace(/^### 3\.3 [\s\S]*?(?=^### 3\.4 )/m, '');
    for (const m of text.matchAll(/(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])/g)) assert.ok(hashes.has(m[0]), `${m[0]} in the document is no vector`);
    const abbreviated = [...text.matchAll(/(?<![0-9a-f])([0-9a-f]{8})…([0-9a-f]{8})(?![0-9a-f])/g)];
    assert.ok(abbreviated.length > 0);
    for (const m of abbreviated) assert.ok([...hashes].some((h) => h.startsWith(m[1]!) && h.endsWith(m[2]!)), `${m[0]} in the document abbreviates no vector`);
    for (const m of text.matchAll(/(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{43}=(?![A-Za-z0-9+/=])/g)) {
      assert.ok([...strings].some((s) => s.includes(m[0])), `base64 ${m[0]} in the document is no vector`);
    }
  });

  test('the OpenSSL recipe of section 14, steps 1 to 4, run verbatim on the example export', () => {
    for (const cmd of ['bash', 'openssl', 'xxd', 'jq']) requireTool(cmd, cmd === 'openssl' ? ['version'] : ['--version']);
    const m = /<!-- recipe: export -->\n```sh\n([\s\S]*?)```\n/.exec(doc);
    assert.ok(m, 'the document marks the export recipe with <!-- recipe: export -->');
    const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-recipe-'));
    try {
      writeFileSync(path.join(dir, 'ledger.jsonl'), kat.export_lines.join('\n') + '\n');
      const r = run('bash', ['-euo', 'pipefail', '-c', m[1]!], { cwd: dir });
      assert.equal(r.status, 0, r.stderr);
      // Step 2 prints key A's key id, step 3 verifies the first checkpoint, step 4 recomputes chain_2.
      assert.deepEqual(r.stdout.split('\n'), [keyVec('A').key_id, 'Signature Verified Successfully', `${kat.entries[1]!.chain_hash} *stdin`, '']);
      assert.equal(readFileSync(path.join(dir, 'pub.pem'), 'utf8'), keyVec('A').public_key_pem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the OpenSSL recipe for a format-2 checkpoint (section 14, step 5) verifies the example note', () => {
    for (const cmd of ['bash', 'openssl', 'xxd']) requireTool(cmd, cmd === 'openssl' ? ['version'] : ['--version']);
    const m = /<!-- recipe: note -->\n```sh\n([\s\S]*?)```\n/.exec(doc);
    assert.ok(m, 'the document marks the note recipe with <!-- recipe: note -->');
    const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-recipe-'));
    try {
      const cp = kat.checkpoints[1]!; // size 4, signed by key A, whose key the recipe's step 1 uses
      writeFileSync(path.join(dir, 'checkpoint.note'), hex(cp.note_hex!));
      writeFileSync(path.join(dir, 'pub.b64'), keyVec('A').public_key_base64);
      writeFileSync(path.join(dir, 'pub.pem'), keyVec('A').public_key_pem);
      const recipe = (script: string) => run('bash', ['-euo', 'pipefail', '-c', script], { cwd: dir });
      const ok = recipe(m[1]!);
      assert.equal(ok.status, 0, ok.stderr);
      assert.deepEqual(ok.stdout.split('\n'), [keyVec('A').note_key_hash, keyVec('A').note_key_hash, 'Signature Verified Successfully', cp.root_hash_hex, '']);
      assert.ok(readFileSync(path.join(dir, 'text.txt')).equals(Buffer.from(cp.text_utf8!, 'utf8')));
      // The same recipe on an edited note fails.
      writeFileSync(path.join(dir, 'checkpoint.note'), Buffer.from(cp.note_utf8!.replace('\n4\n', '\n5\n'), 'utf8'));
      assert.notEqual(recipe(m[1]!).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the table of verifier checks names exactly the fault codes of src/ledger/verifier.ts, and the fault vectors exercise each', () => {
    const src = readFileSync(path.join(root, 'src', 'ledger', 'verifier.ts'), 'utf8');
    const union = /export type VerifyFaultCode =([\s\S]*?);/.exec(src)![1]!;
    const codes = new Set([...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]!));
    assert.ok(codes.size >= 21);
    const section = doc.slice(doc.indexOf('<!-- verifier-checks -->'), doc.indexOf('<!-- /verifier-checks -->'));
    assert.ok(section.length > 100, 'the document marks its table of checks with <!-- verifier-checks -->');
    const inTable = new Set<string>();
    for (const row of section.split('\n').filter((l) => l.startsWith('|'))) {
      const cells = row.split('|').map((c) => c.trim());
      for (const m of (cells[3] ?? '').matchAll(/`([a-z_]+)`/g)) inTable.add(m[1]!);
    }
    assert.deepEqual([...inTable].sort(), [...codes].sort());
    const exercised = new Set(kat.faults.map((f) => f.expect?.code).filter((c): c is string => !!c));
    assert.deepEqual([...exercised].sort(), [...codes].sort());
  });
});
