// Interoperability with Go's reference code: the program in test/go/notecheck, built once in GOPATH
// mode against Debian's golang-golang-x-mod-dev, verifies what src/ledger/note.ts signs with
// golang.org/x/mod/sumdb/note (note.NewVerifier + note.Open), and RFC 9162 inclusion and
// consistency proofs with golang.org/x/mod/sumdb/tlog (tlog.CheckRecord / tlog.CheckTree) for an
// 11-leaf tree built here by a tiny RFC 6962 helper. Go is required, not optional: without it the
// test fails naming the apt-get command.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SigningKey } from '../src/crypto/ed25519.js';
import { formatCheckpoint, openNote, signCheckpointNote, signNote, verifierKey, withChainHash, withTime } from '../src/ledger/note.js';
import { packageRoot } from '../src/util/paths.js';
import { flip } from './helpers/tools.js';
import { cleanupGo, go, goAccepts, goRejects, notecheck } from './helpers/go.js';


// ---------------------------------------------------------------------------------------------
// A tiny RFC 6962 / RFC 9162 Merkle tree (2.1.1 MTH, 2.1.3.1 PATH, 2.1.4.1 PROOF), independent of src/.

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const leafHash = (d: Uint8Array) => sha(Buffer.from([0x00]), d);
const nodeHash = (l: Uint8Array, r: Uint8Array) => sha(Buffer.from([0x01]), l, r);
/** The largest power of two smaller than n (n > 1). */
const split = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function mth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha();
  if (d.length === 1) return leafHash(d[0]!);
  const k = split(d.length);
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}
function inclusionPath(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return [];
  const k = split(d.length);
  return m < k ? [...inclusionPath(m, d.slice(0, k)), mth(d.slice(k))] : [...inclusionPath(m - k, d.slice(k)), mth(d.slice(0, k))];
}
function subproof(m: number, d: Buffer[], b: boolean): Buffer[] {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = split(d.length);
  return m <= k ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))] : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}
const consistencyProof = (m: number, d: Buffer[]) => subproof(m, d, true);

const LEAVES = Array.from({ length: 11 }, (_, i) => Buffer.from(`assentmark leaf ${i}`));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// ---------------------------------------------------------------------------------------------
// The Go program: one build, reused by every test.


const verifyNote = (note: Uint8Array, keys: string[]) => ({ verifierKeys: keys, note: Buffer.from(note).toString('base64') });

describe('Go golang.org/x/mod/sumdb interoperability', () => {
  test('Go and golang.org/x/mod are installed and test/go/notecheck builds in GOPATH mode', () => {
    assert.ok(existsSync(notecheck()));
  });

  after(() => {
    cleanupGo();
  });

  describe('signed notes: note.NewVerifier + note.Open', () => {
    const key = SigningKey.generate();
    const origin = 'assentmark.local/ledger';
    const vkey = verifierKey(origin, key.publicKey);
    const cp = {
      origin,
      size: LEAVES.length,
      rootHash: mth(LEAVES),
      extensions: withTime(withChainHash([], sha(Buffer.from('chain'))), new Date('2025-06-01T12:34:56.789Z')),
    };
    const note = signCheckpointNote(cp, key);

    test('Go opens a checkpoint note signed with a fresh SigningKey, under the verifier key we format', () => {
      const v = goAccepts('verify-note', verifyNote(note, [vkey]));
      assert.equal(v.text, formatCheckpoint(cp));
      assert.deepEqual(v.signers, [vkey.split('+').slice(0, 2).join('+')]);
      assert.deepEqual(v.unverified, []);
      assert.ok(openNote(note, [{ name: origin, publicKey: key.publicKey }]).ok);
    });

    test('Go rejects the note with a byte flipped: in the text, the key hash, the signature, the separator', () => {
      const text = formatCheckpoint(cp);
      const textLen = Buffer.byteLength(text);
      const sigStart = textLen + 1 + Buffer.byteLength(`\u2014 ${origin} `);
      const offsets = [0, text.indexOf('\n') + 1 /* the size */, textLen - 5, textLen - 1, textLen, sigStart, sigStart + 3, sigStart + 10, note.length - 4, note.length - 2];
      for (const at of offsets) {
        const bad = flip(Buffer.from(note), at);
        goRejects('verify-note', verifyNote(bad, [vkey]), `byte ${at}`);
        assert.equal(openNote(bad, [{ name: origin, publicKey: key.publicKey }]).ok, false, `byte ${at}`);
      }
      // And under another key, or another name for the same key.
      goRejects('verify-note', verifyNote(note, [verifierKey(origin, SigningKey.generate().publicKey)]));
      goRejects('verify-note', verifyNote(note, [verifierKey('other.example/log', key.publicKey)]));
    });

    test('Go opens notes of other shapes that signNote makes: empty lines, BOM, non-ASCII, 16 signers', () => {
      for (const text of ['\n', 'a\n\nb\n', 'ends empty\n\n', '\ufeffbom\n', 'ünïcödé 名前 🦀 \x7f\n', 'x'.repeat(5000) + '\n']) {
        const v = goAccepts('verify-note', verifyNote(signNote(text, origin, key), [vkey]), JSON.stringify(text.slice(0, 20)));
        assert.equal(v.text, text);
      }
      const keys = Array.from({ length: 16 }, (_, i) => ({ name: `witness.example/w${i}`, key: SigningKey.generate() }));
      const text = formatCheckpoint(cp);
      const lines = keys.map((k) => signNote(text, k.name, k.key).subarray(Buffer.byteLength(text) + 1).toString('utf8'));
      const multi = Buffer.from(text + '\n' + lines.join(''));
      const all = goAccepts('verify-note', verifyNote(multi, keys.map((k) => verifierKey(k.name, k.key.publicKey))));
      assert.equal((all.signers as string[]).length, 16);
      const some = goAccepts('verify-note', verifyNote(multi, [verifierKey(keys[3]!.name, keys[3]!.key.publicKey)]));
      assert.equal((some.unverified as string[]).length, 15);
    });

    test('Go and openNote agree on every note of test/vectors/signed-note.json', () => {
      const vectors = JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'vectors', 'signed-note.json'), 'utf8')) as {
        keys: Array<{ name: string; verifier_key: string }>;
        open: Array<{ id: string; note?: string; note_hex?: string; verifiers: string[]; expect: { ok: boolean } }>;
      };
      const vk = (name: string) => vectors.keys.find((k) => k.name === name)!.verifier_key;
      for (const v of vectors.open) {
        const bytes = v.note !== undefined ? Buffer.from(v.note, 'utf8') : Buffer.from(v.note_hex!, 'hex');
        const r = go('verify-note', verifyNote(bytes, v.verifiers.map(vk)));
        assert.equal(r.status === 0, v.expect.ok, `${v.id}: Go says ${JSON.stringify(r.verdict)}`);
      }
    });
  });

  describe('RFC 9162 proofs: tlog.CheckRecord and tlog.CheckTree', () => {
    test('the local RFC 6962 helper and tlog agree on leaf hashes, roots and proofs (sizes 0 to 11)', () => {
      const t = goAccepts('tree', { leaves: LEAVES.map((l) => l.toString('base64')) });
      assert.equal(t.rootHash, hex(mth(LEAVES)));
      assert.deepEqual(t.leafHashes, LEAVES.map((l) => hex(leafHash(l))));
      for (let n = 1; n <= LEAVES.length; n++) {
        const d = LEAVES.slice(0, n);
        assert.equal(goAccepts('tree', { leaves: d.map((l) => l.toString('base64')) }).rootHash, hex(mth(d)), `root of ${n}`);
        for (let m = 0; m < n; m++) {
          const p = goAccepts('tree', { leaves: LEAVES.map((l) => l.toString('base64')), inclusion: { size: n, index: m } });
          assert.deepEqual(p.inclusionProof, inclusionPath(m, d).map(hex), `PATH(${m}, D[${n}])`);
        }
        for (let m = 1; m <= n; m++) {
          const p = goAccepts('tree', { leaves: LEAVES.map((l) => l.toString('base64')), consistency: { oldSize: m, newSize: n } });
          assert.deepEqual(p.consistencyProof, consistencyProof(m, d).map(hex), `PROOF(${m}, D[${n}])`);
        }
      }
      // tlog's empty tree is 32 zero bytes; RFC 6962's MTH({}) is SHA-256 of nothing.
      assert.equal(goAccepts('tree', { leaves: [] }).rootHash, '00'.repeat(32));
      assert.equal(hex(mth([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    });

    test('Go accepts every inclusion proof of the 11-leaf tree and rejects changed ones', () => {
      const n = LEAVES.length;
      const root = mth(LEAVES);
      for (let m = 0; m < n; m++) {
        const proof = inclusionPath(m, LEAVES);
        const ok = { treeSize: n, rootHash: hex(root), leafIndex: m, leafHash: hex(leafHash(LEAVES[m]!)), proof: proof.map(hex) };
        goAccepts('inclusion', ok, `leaf ${m}`);
        // Base64 hashes and raw leaf data (hashed by tlog.RecordHash) work too.
        goAccepts('inclusion', { treeSize: n, rootHash: root.toString('base64'), leafIndex: m, leaf: LEAVES[m]!.toString('base64'), proof: proof.map((h) => h.toString('base64')) }, `leaf ${m} base64`);
        for (let i = 0; i < proof.length; i++) {
          goRejects('inclusion', { ...ok, proof: proof.map((h, j) => hex(j === i ? flip(Buffer.from(h), 31) : h)) }, `leaf ${m}, proof hash ${i} changed`);
        }
        goRejects('inclusion', { ...ok, proof: proof.slice(0, -1).map(hex) }, `leaf ${m}, proof truncated`);
        goRejects('inclusion', { ...ok, proof: [...proof, root].map(hex) }, `leaf ${m}, proof extended`);
        goRejects('inclusion', { ...ok, rootHash: hex(flip(Buffer.from(root), 0)) }, `leaf ${m}, root changed`);
        goRejects('inclusion', { ...ok, leafHash: hex(leafHash(Buffer.from('not a leaf'))) }, `leaf ${m}, leaf changed`);
        goRejects('inclusion', { ...ok, leafHash: hex(sha(LEAVES[m]!)) }, `leaf ${m}, hashed without the 0x00 prefix`);
        goRejects('inclusion', { ...ok, leafIndex: (m + 1) % n }, `leaf ${m}, wrong index`);
      }
      // A proof in a smaller tree checks against that tree's root only.
      const small = LEAVES.slice(0, 7);
      goAccepts('inclusion', { treeSize: 7, rootHash: hex(mth(small)), leafIndex: 6, leafHash: hex(leafHash(small[6]!)), proof: inclusionPath(6, small).map(hex) });
      goRejects('inclusion', { treeSize: 7, rootHash: hex(root), leafIndex: 6, leafHash: hex(leafHash(small[6]!)), proof: inclusionPath(6, small).map(hex) });
    });

    test('Go accepts every consistency proof into the 11-leaf tree and rejects changed ones', () => {
      for (let n = 1; n <= LEAVES.length; n++) {
        const d = LEAVES.slice(0, n);
        for (let m = 1; m <= n; m++) {
          const proof = consistencyProof(m, d);
          const ok = { oldSize: m, oldRoot: hex(mth(LEAVES.slice(0, m))), newSize: n, newRoot: hex(mth(d)), proof: proof.map(hex) };
          goAccepts('consistency', ok, `${m} -> ${n}`);
          for (let i = 0; i < proof.length; i++) {
            goRejects('consistency', { ...ok, proof: proof.map((h, j) => hex(j === i ? flip(Buffer.from(h), 7) : h)) }, `${m} -> ${n}, proof hash ${i} changed`);
          }
          if (proof.length > 0) goRejects('consistency', { ...ok, proof: proof.slice(1).map(hex) }, `${m} -> ${n}, proof truncated`);
          goRejects('consistency', { ...ok, proof: [...proof, mth(d)].map(hex) }, `${m} -> ${n}, proof extended`);
          goRejects('consistency', { ...ok, oldRoot: hex(flip(Buffer.from(mth(LEAVES.slice(0, m))), 5)) }, `${m} -> ${n}, old root changed`);
          goRejects('consistency', { ...ok, newRoot: hex(flip(Buffer.from(mth(d)), 5)) }, `${m} -> ${n}, new root changed`);
          if (m < n) goRejects('consistency', { ...ok, oldSize: m + 1, oldRoot: hex(mth(LEAVES.slice(0, m + 1))) }, `${m} -> ${n}, proof for another old size`);
        }
      }
    });
  });
});
