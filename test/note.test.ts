// src/ledger/note.ts against known answers (test/vectors/signed-note.json: the examples of the C2SP
// signed-note and tlog-checkpoint specs and of golang.org/x/mod's sumdb/note and sumdb/tlog tests),
// round trips, and hostile input: tampering, wrong key hash or name, a missing blank line, extra
// whitespace, non-canonical base64, oversized notes and random bytes (fast-check, fixed seed).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { SigningKey } from '../src/crypto/ed25519.js';
import {
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  formatCheckpoint,
  isValidKeyName,
  noteKeyHash,
  openCheckpointNote,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  readChainHash,
  readTime,
  signCheckpointNote,
  signNote,
  verifierKey,
  withChainHash,
  withTime,
  type NoteOpenResult,
  type NoteVerifier,
} from '../src/ledger/note.js';
import { packageRoot } from '../src/util/paths.js';
import { flip } from './helpers/tools.js';

interface Vectors {
  keys: Array<{ name: string; source: string; verifier_key: string; signer_key?: string; seed_hex?: string; key_hash: string }>;
  bad_verifier_keys: Array<{ source: string; key: string }>;
  signed: Array<{ id: string; source: string; signer: string; text: string; note: string; new_signature_line?: string }>;
  open: Array<{
    id: string;
    source: string;
    note?: string;
    note_hex?: string;
    verifiers: string[];
    expect: { ok: true; text: string; signed_by: string[]; unverified: string[] } | { ok: false; reason: string };
    text?: string;
    signatures?: Array<{ name: string; key_hash: string; signature_bytes: number }>;
    checkpoint?: { origin: string; size: number; root_hash_base64: string; extensions: string[] };
  }>;
  checkpoints: Array<{ id: string; source: string; text: string; checkpoint: { origin: string; size: number; root_hash_base64: string; extensions: string[] }; root_hash_of_record?: string }>;
  bad_checkpoints: Array<{ source: string; text: string; reason: string }>;
}

const vectors = JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'vectors', 'signed-note.json'), 'utf8')) as Vectors;

/** The vector keys as SigningKeys: Go's signer key is PRIVATE+KEY+name+hash+base64(0x01 || seed). */
function vectorKey(name: string): SigningKey {
  const k = vectors.keys.find((x) => x.name === name);
  assert.ok(k, `vector key ${name}`);
  if (k.seed_hex) return SigningKey.fromSeed(Buffer.from(k.seed_hex, 'hex'));
  const data = Buffer.from(k.signer_key!.split('+').slice(4).join('+'), 'base64'); // base64 may hold '+'
  assert.equal(data[0], 0x01);
  return SigningKey.fromSeed(data.subarray(1));
}
const verifierOf = (name: string): NoteVerifier => ({ name, publicKey: vectorKey(name).publicKey });
const noteBytes = (v: { note?: string; note_hex?: string }) => (v.note !== undefined ? Buffer.from(v.note, 'utf8') : Buffer.from(v.note_hex!, 'hex'));
const refs = (list: Array<{ name: string; keyHash: string }>) => list.map((r) => `${r.name}+${r.keyHash}`);

function expectFailure(r: NoteOpenResult, reason: string, msg?: string): void {
  assert.equal(r.ok, false, msg ?? `expected ${reason}`);
  if (!r.ok) assert.equal(r.reason, reason, `${msg ?? ''} ${r.detail}`);
}

const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const sigLine = (note: Buffer, text: string) => note.subarray(Buffer.byteLength(text) + 1).toString('utf8');

describe('key hashes and verifier keys', () => {
  test('known answers: Go verifier keys and key hashes from the keys', () => {
    for (const k of vectors.keys) {
      const key = vectorKey(k.name);
      assert.equal(noteKeyHash(k.name, key.publicKey).toString('hex'), k.key_hash, k.source);
      assert.equal(verifierKey(k.name, key.publicKey), k.verifier_key, k.source);
      const parsed = parseVerifierKey(k.verifier_key);
      assert.ok(parsed.ok, k.source);
      assert.equal(parsed.name, k.name);
      assert.equal(parsed.keyHash, k.key_hash);
      assert.ok(parsed.publicKey.equals(key.publicKey));
    }
  });

  test('the key hash is SHA-256(name || 0x0A || 0x01 || key)[:4] (spec formula, computed here)', async () => {
    const { createHash } = await import('node:crypto');
    const key = SigningKey.generate();
    const want = createHash('sha256').update(Buffer.concat([Buffer.from('example.com/log\n\x01'), key.publicKey])).digest().subarray(0, 4);
    assert.ok(noteKeyHash('example.com/log', key.publicKey).equals(want));
  });

  test('Go TestNewVerifier: every proper substring and every single-byte increment is rejected', () => {
    const vkey = vectors.keys[0]!.verifier_key;
    const b = Buffer.from(vkey);
    let n = 0;
    for (let i = 0; i <= b.length; i++) {
      for (let j = i + 1; j <= b.length; j++) {
        if (i === 0 && j === b.length) continue;
        assert.equal(parseVerifierKey(b.subarray(i, j).toString('latin1')).ok, false, b.subarray(i, j).toString('latin1'));
        n++;
      }
    }
    for (let i = 0; i < b.length; i++) {
      const m = Buffer.from(b);
      m[i] = m[i]! + 1;
      assert.equal(parseVerifierKey(m.toString('latin1')).ok, false, m.toString('latin1'));
    }
    assert.ok(n > 2000);
  });

  test('Go TestNewVerifier: wrong key length and unknown algorithm (with adjusted key hashes)', () => {
    const [len, alg] = vectors.bad_verifier_keys;
    const a = parseVerifierKey(len!.key);
    assert.ok(!a.ok && a.reason === 'malformed', len!.source);
    const b = parseVerifierKey(alg!.key);
    assert.ok(!b.ok && b.reason === 'unknown-algorithm', alg!.source);
  });

  test('strict: uppercase hash, non-canonical base64, whitespace, wrong hash, bad names, non-strings', () => {
    const good = vectors.keys[0]!.verifier_key; // PeterNeumann+c74f20a3+ARpc...
    const [name, hash, data] = [good.split('+')[0]!, good.split('+')[1]!, good.split('+').slice(2).join('+')];
    const bad = [
      `${name}+${hash.toUpperCase()}+${data}`,
      `${name}+${hash}+${data.slice(0, -1)}X`, // different key: hash mismatch
      `${name}+${hash}+${data} `,
      ` ${good}`,
      `${good}\n`,
      `${name}+${hash}+${data.slice(0, -2)}`,
      `${name}+${hash}+${Buffer.from(data, 'base64').toString('base64url')}`,
      `${name}+0${hash.slice(1)}+${data}`,
      `Peter Neumann+${hash}+${data}`,
      `+${hash}+${data}`,
      `${name}+${hash}`,
      '',
    ];
    for (const k of bad) assert.equal(parseVerifierKey(k).ok, false, JSON.stringify(k));
    const mismatch = parseVerifierKey(`${name}+${hash}+${data.slice(0, -1)}X`);
    assert.ok(!mismatch.ok && mismatch.reason === 'hash-mismatch');
    for (const v of [undefined, null, 42, {}, Buffer.from(good)]) assert.equal(parseVerifierKey(v).ok, false);
    assert.equal(parseVerifierKey('a'.repeat(5000)).ok, false);
  });

  test('verifierKey refuses names no note can carry and keys that are not 32 bytes', () => {
    const key = SigningKey.generate().publicKey;
    for (const n of ['', 'a b', 'a+b', 'a\tb', 'a\u00a0b', 'a\u2003b', 'a\u3000b', 'a\u0085b', 'tab\x01', '\ud800']) {
      assert.equal(isValidKeyName(n), false, JSON.stringify(n));
      assert.throws(() => verifierKey(n, key), TypeError, JSON.stringify(n));
    }
    for (const n of ['example.com/log', 'PeterNeumann', 'ünïcödé/名前', 'a\u200bb']) assert.equal(isValidKeyName(n), true, n);
    assert.throws(() => verifierKey('ok', key.subarray(1)), TypeError);
  });
});

describe('signNote known answers (Go TestSign, ExampleSign, ExampleSign_add_signatures)', () => {
  for (const v of vectors.signed) {
    test(v.id, () => {
      const note = signNote(v.text, v.signer, vectorKey(v.signer));
      if (v.new_signature_line) {
        // Go appends the new signer's line after the existing ones; signNote makes that line.
        assert.equal(sigLine(note, v.text), v.new_signature_line, v.source);
        assert.ok(v.note.endsWith(v.new_signature_line));
      } else {
        assert.equal(note.toString('utf8'), v.note, v.source);
      }
    });
  }

  test('SigningKey signs with node:crypto; the noble reference gives the same note bytes', () => {
    const key = vectorKey('PeterNeumann');
    const noble = { publicKey: key.publicKey, sign: (m: Uint8Array) => key.signWithNoble(m) };
    assert.ok(signNote(TEXT, 'PeterNeumann', noble).equals(signNote(TEXT, 'PeterNeumann', key)));
  });
});

describe('openNote known answers', () => {
  for (const v of vectors.open) {
    test(v.id, () => {
      const r = openNote(noteBytes(v), v.verifiers.map(verifierOf));
      if (v.expect.ok) {
        assert.ok(r.ok, `${v.source}: ${r.ok ? '' : r.detail}`);
        assert.equal(r.text, v.expect.text);
        assert.ok(r.textBytes.equals(Buffer.from(v.expect.text, 'utf8')));
        assert.deepEqual(refs(r.signedBy), v.expect.signed_by);
        assert.deepEqual(refs(r.unverified), v.expect.unverified);
      } else {
        expectFailure(r, v.expect.reason, v.source);
      }
      if (v.signatures) {
        // Spec examples without a published key: the syntax is right and the signer is reported.
        assert.ok(!r.ok && r.reason === 'no-known-signature');
        assert.deepEqual(r.unverified, v.signatures.map((s) => ({ name: s.name, keyHash: s.key_hash })));
        const line = noteBytes(v).toString('utf8').split('\n').at(-2)!;
        assert.equal(Buffer.from(line.split(' ')[2]!, 'base64').length, 4 + v.signatures[0]!.signature_bytes);
        // A key with the same name but another key hash must not count (nor make it fail).
        expectFailure(openNote(noteBytes(v), [{ name: v.signatures[0]!.name, publicKey: SigningKey.generate().publicKey }]), 'no-known-signature');
        // And the text is what precedes the last blank line.
        const opened = openNote(Buffer.from(signNote(v.text!, 'k', vectorKey('EnochRoot'))), [{ name: 'k', publicKey: vectorKey('EnochRoot').publicKey }]);
        assert.ok(opened.ok && opened.text === v.text);
      }
      if (v.checkpoint) {
        const cp = parseCheckpoint(v.text!);
        assert.ok(cp.ok);
        assert.deepEqual({ ...cp.checkpoint, rootHash: cp.checkpoint.rootHash.toString('base64') }, { origin: v.checkpoint.origin, size: v.checkpoint.size, rootHash: v.checkpoint.root_hash_base64, extensions: v.checkpoint.extensions });
      }
    });
  }
});

describe('round trips', () => {
  const key = SigningKey.generate();
  const verifiers = [{ name: 'assentmark.local/ledger', publicKey: key.publicKey }];
  const texts = [
    '\n',
    'one line\n',
    'a\n\nb\n',
    'ends with an empty line\n\n',
    '\n\n\n',
    '\ufeffa byte order mark stays\n',
    'DEL \x7f and C1 \u0085 are not below U+0020\n',
    'ünïcödé, 名前, emoji 🦀\n',
    'x'.repeat(10_000) + '\n',
  ];
  for (const text of texts) {
    test(`sign then open: ${JSON.stringify(text.slice(0, 40))}`, () => {
      const note = signNote(text, verifiers[0]!.name, key);
      const r = openNote(note, verifiers);
      assert.ok(r.ok, r.ok ? '' : r.detail);
      assert.equal(r.text, text);
      assert.deepEqual(refs(r.signedBy), [`${verifiers[0]!.name}+${noteKeyHash(verifiers[0]!.name, key.publicKey).toString('hex')}`]);
      assert.ok(r.signedBy[0]!.publicKey.equals(key.publicKey));
      assert.deepEqual(r.unverified, []);
    });
  }

  test('notes with 16 known signatures (the spec minimum) and up to MAX_NOTE_SIGNATURES lines open', () => {
    const keys = Array.from({ length: 16 }, (_, i) => ({ name: `witness.example/w${i}`, key: SigningKey.generate() }));
    const lines = keys.map((k) => sigLine(signNote(TEXT, k.name, k.key), TEXT));
    const note = Buffer.from(TEXT + '\n' + lines.join(''));
    const r = openNote(note, keys.map((k) => ({ name: k.name, publicKey: k.key.publicKey })));
    assert.ok(r.ok && r.signedBy.length === 16);
    // Unknown signatures are ignored: one known key among them suffices.
    const r1 = openNote(note, [{ name: keys[7]!.name, publicKey: keys[7]!.key.publicKey }]);
    assert.ok(r1.ok && r1.signedBy.length === 1 && r1.unverified.length === 15);
    const filler = Array.from({ length: MAX_NOTE_SIGNATURES - 1 }, (_, i) => `— unknown${i} ${Buffer.alloc(68, i).toString('base64')}\n`).join('');
    assert.ok(openNote(Buffer.from(TEXT + '\n' + lines[0] + filler), [{ name: keys[0]!.name, publicKey: keys[0]!.key.publicKey }]).ok);
    expectFailure(openNote(Buffer.from(TEXT + '\n' + lines[0] + filler + lines[1]), [{ name: keys[0]!.name, publicKey: keys[0]!.key.publicKey }]), 'too-many-signatures');
  });

  test('a checkpoint signed as a note opens and parses back, with assentmark extensions', () => {
    const rootHash = Buffer.alloc(32, 7);
    const chain = Buffer.alloc(32, 9);
    const time = new Date('2025-03-04T05:06:07.089Z');
    const cp = { origin: 'assentmark.local/ledger', size: 11, rootHash, extensions: withTime(withChainHash([], chain), time) };
    const text = formatCheckpoint(cp);
    assert.equal(text, `assentmark.local/ledger\n11\n${rootHash.toString('base64')}\nchain-hash ${chain.toString('hex')}\ntime 2025-03-04T05:06:07.089Z\n`);
    const note = signCheckpointNote(cp, key);
    const r = openCheckpointNote(note, verifiers, { origin: 'assentmark.local/ledger' });
    assert.ok(r.ok, r.ok ? '' : r.detail);
    assert.equal(r.checkpoint.size, 11);
    assert.ok(r.checkpoint.rootHash.equals(rootHash));
    const ch = readChainHash(r.checkpoint.extensions);
    assert.ok(ch.ok && ch.value?.equals(chain));
    const t = readTime(r.checkpoint.extensions);
    assert.ok(t.ok && t.value?.getTime() === time.getTime());
    const other = openCheckpointNote(note, verifiers, { origin: 'other.example/log' });
    assert.ok(!other.ok && other.reason === 'origin-mismatch');
    const bad = openCheckpointNote(signNote('not a checkpoint\n', 'assentmark.local/ledger', key), verifiers);
    assert.ok(!bad.ok && bad.reason === 'too-few-lines');
  });
});

describe('openNote rejects', () => {
  const key = SigningKey.generate();
  const name = 'example.com/log';
  const verifiers = [{ name, publicKey: key.publicKey }];
  const text = 'example.com/log\n3\n' + Buffer.alloc(32, 1).toString('base64') + '\n';
  const note = signNote(text, name, key);
  const line = sigLine(note, text); // '— example.com/log <b64>\n'
  const b64 = line.slice(2 + name.length + 1, -1);
  const mk = (s: string) => Buffer.from(s, 'utf8');

  test('the untouched note opens', () => {
    assert.ok(openNote(note, verifiers).ok);
  });

  test('tampered text: every byte of the text flipped in turn', () => {
    for (let i = 0; i < Buffer.byteLength(text); i++) {
      const r = openNote(flip(Buffer.from(note), i), verifiers);
      assert.equal(r.ok, false, `byte ${i}`);
      if (!r.ok) assert.ok(['invalid-signature', 'control-character', 'no-signature-block', 'invalid-utf8'].includes(r.reason), `byte ${i}: ${r.reason}`);
    }
    // A flip that keeps the syntax intact is caught by the signature.
    expectFailure(openNote(mk(text.replace('\n3\n', '\n4\n') + '\n' + line), verifiers), 'invalid-signature');
  });

  test('tampered signature bytes', () => {
    const sig = Buffer.from(b64, 'base64');
    for (const i of [4, 20, 67]) {
      const s = flip(Buffer.from(sig), i).toString('base64');
      expectFailure(openNote(mk(`${text}\n— ${name} ${s}\n`), verifiers), 'invalid-signature', `signature byte ${i}`);
    }
    // A truncated or extended signature by a known key does not verify.
    expectFailure(openNote(mk(`${text}\n— ${name} ${sig.subarray(0, 67).toString('base64')}\n`), verifiers), 'invalid-signature');
    expectFailure(openNote(mk(`${text}\n— ${name} ${Buffer.concat([sig, Buffer.alloc(3)]).toString('base64')}\n`), verifiers), 'invalid-signature');
    // Too short to hold a key hash and a signature at all.
    expectFailure(openNote(mk(`${text}\n— ${name} ${sig.subarray(0, 4).toString('base64')}\n`), verifiers), 'malformed-signature');
  });

  test('wrong key hash: the line names the key by another hash, so it is not the known key', () => {
    const sig = Buffer.from(b64, 'base64');
    for (let i = 0; i < 4; i++) {
      const s = flip(Buffer.from(sig), i).toString('base64');
      expectFailure(openNote(mk(`${text}\n— ${name} ${s}\n`), verifiers), 'no-known-signature', `key hash byte ${i}`);
    }
    // A verifier whose key differs has another key hash: the same.
    expectFailure(openNote(note, [{ name, publicKey: SigningKey.generate().publicKey }]), 'no-known-signature');
  });

  test('wrong name: on the line, or in the verifier', () => {
    expectFailure(openNote(mk(`${text}\n— example.com/other ${b64}\n`), verifiers), 'no-known-signature');
    expectFailure(openNote(note, [{ name: 'example.com/other', publicKey: key.publicKey }]), 'no-known-signature');
    // Renaming the line and the verifier together changes the key hash the line should carry.
    expectFailure(openNote(mk(`${text}\n— example.com/other ${b64}\n`), [{ name: 'example.com/other', publicKey: key.publicKey }]), 'no-known-signature');
  });

  test('a known key whose second signature line fails rejects the note (Go checks only the first)', () => {
    const bogus = flip(Buffer.from(b64, 'base64'), 30).toString('base64');
    expectFailure(openNote(mk(`${text}\n${line}— ${name} ${bogus}\n`), verifiers), 'invalid-signature');
    expectFailure(openNote(mk(`${text}\n— ${name} ${bogus}\n${line}`), verifiers), 'invalid-signature');
    // The same valid line twice is fine (Go drops repeats too).
    const r = openNote(mk(`${text}\n${line}${line}`), verifiers);
    assert.ok(r.ok && r.signedBy.length === 1);
    // An unknown key's bogus signature is ignored.
    assert.ok(openNote(mk(`${text}\n${line}— someone.else ${bogus}\n`), verifiers).ok);
  });

  test('a missing blank line, or a signature block that is not one', () => {
    expectFailure(openNote(mk(text + line), verifiers), 'no-signature-block');
    expectFailure(openNote(mk(text), verifiers), 'no-signature-block');
    expectFailure(openNote(mk(text + '\n'), verifiers), 'no-signature-block');
    expectFailure(openNote(mk(text + '\n' + line.slice(0, -1)), verifiers), 'no-signature-block');
    expectFailure(openNote(mk(''), verifiers), 'no-signature-block');
    // A second blank line after the signatures makes the signature block empty.
    expectFailure(openNote(mk(text + '\n' + line + '\n'), verifiers), 'no-signature-block');
    // A blank line between two signature lines: the text would include the first one, unsigned.
    expectFailure(openNote(mk(text + '\n' + line + '\n' + `— x ${b64}\n`), verifiers), 'no-known-signature');
  });

  test('extra whitespace anywhere in a signature line', () => {
    const variants = [
      `—  ${name} ${b64}\n`,
      `— ${name}  ${b64}\n`,
      `— ${name} ${b64} \n`,
      ` — ${name} ${b64}\n`,
      `— ${name} ${b64.slice(0, 40)} ${b64.slice(40)}\n`,
      `— ${name}\u00a0${b64}\n`,
      `—\u00a0${name} ${b64}\n`,
      `- ${name} ${b64}\n`, // hyphen, not em dash
      `\u2013 ${name} ${b64}\n`, // en dash
      `— ${name}\n`,
      `— ${b64}\n`,
      `—\n`,
    ];
    for (const v of variants) {
      const r = openNote(mk(`${text}\n${v}`), verifiers);
      assert.ok(!r.ok && ['malformed-signature', 'no-known-signature'].includes(r.reason), `${JSON.stringify(v)}: ${r.ok ? 'accepted' : r.reason}`);
    }
    for (const v of [`— ${name}\t${b64}\n`, `— ${name} ${b64}\r\n`]) expectFailure(openNote(mk(`${text}\n${v}`), verifiers), 'control-character', JSON.stringify(v));
    expectFailure(openNote(mk(text.replace(/\n/g, '\r\n') + '\r\n' + line), verifiers), 'control-character');
  });

  test('non-canonical base64: stray low bits, missing padding, base64url, inner padding', () => {
    const raw = Buffer.from(b64, 'base64');
    assert.equal(raw.length, 68);
    assert.ok(b64.endsWith('='));
    // 68 bytes end in one '=' after a character whose two low bits are padding: set them.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const last = b64.at(-2)!;
    const stray = b64.slice(0, -2) + alphabet[alphabet.indexOf(last) | 1] + '=';
    assert.notEqual(stray, b64);
    assert.ok(Buffer.from(stray, 'base64').equals(raw), 'Node decodes it to the same bytes: only canonical checks catch it');
    for (const s of [stray, b64.slice(0, -1), raw.toString('base64url'), `${b64.slice(0, 8)}=${b64.slice(9)}`, `${b64}=`, `${b64}==`]) {
      expectFailure(openNote(mk(`${text}\n— ${name} ${s}\n`), verifiers), 'malformed-signature', s);
    }
  });

  test('control characters and bad UTF-8 anywhere', () => {
    for (const c of [0x00, 0x01, 0x09, 0x0b, 0x0c, 0x0d, 0x1b, 0x1f]) {
      const bytes = Buffer.concat([Buffer.from('exa'), Buffer.from([c]), Buffer.from(note.subarray(3))]);
      expectFailure(openNote(bytes, verifiers), 'control-character', `0x${c.toString(16)}`);
    }
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x80]]) {
      expectFailure(openNote(Buffer.concat([Buffer.from(bad), note]), verifiers), 'invalid-utf8', Buffer.from(bad).toString('hex'));
    }
    // A BOM is valid UTF-8 and is part of the signed text.
    expectFailure(openNote(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), note]), verifiers), 'invalid-signature');
  });

  test('oversized input', () => {
    const big = Buffer.concat([Buffer.alloc(MAX_NOTE_BYTES - note.length + 1, 0x61), note]);
    assert.equal(big.length, MAX_NOTE_BYTES + 1);
    expectFailure(openNote(big, verifiers), 'too-large');
    // Exactly at the limit a note still opens; signNote refuses to make one past it.
    const fill = MAX_NOTE_BYTES - note.length;
    const atLimit = signNote('a'.repeat(fill) + text, name, key);
    assert.equal(atLimit.length, MAX_NOTE_BYTES);
    assert.ok(openNote(atLimit, verifiers).ok);
    assert.throws(() => signNote('a'.repeat(fill + 1) + text, name, key), RangeError);
  });

  test('bad verifiers and non-byte input fail without throwing', () => {
    expectFailure(openNote(note, [{ name: 'a b', publicKey: key.publicKey }]), 'bad-verifier');
    expectFailure(openNote(note, [{ name, publicKey: key.publicKey.subarray(1) }]), 'bad-verifier');
    expectFailure(openNote(note, [null as never]), 'bad-verifier');
    expectFailure(openNote(note, 'nope' as never), 'bad-verifier');
    const hostile = { get name(): string { throw new Error('boom'); }, publicKey: key.publicKey };
    assert.equal(openNote(note, [hostile]).ok, false);
    for (const v of [note.toString('utf8'), null, undefined, 42, [1, 2, 3], {}]) expectFailure(openNote(v as never, verifiers), 'not-bytes');
    // A Uint8Array view into a larger buffer is read at its offset.
    const padded = Buffer.concat([Buffer.from('junk'), note, Buffer.from('junk')]);
    assert.ok(openNote(new Uint8Array(padded.buffer, padded.byteOffset + 4, note.length), verifiers).ok);
  });

  test('property: random bytes, and random edits of a valid note, never throw and never open unless unchanged', () => {
    const edit = fc.record({ at: fc.nat(), del: fc.nat({ max: 4 }), ins: fc.uint8Array({ maxLength: 6 }) });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }).map((b) => ({ bytes: Buffer.from(b) })), fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => ({ edits }))), (c) => {
        let bytes: Buffer;
        if ('bytes' in c) bytes = c.bytes;
        else {
          bytes = Buffer.from(note);
          for (const e of c.edits) {
            const at = e.at % (bytes.length + 1);
            bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(e.ins), bytes.subarray(at + e.del)]);
          }
        }
        const r = openNote(bytes, verifiers);
        assert.equal(typeof r.ok, 'boolean');
        if (r.ok) {
          // Only edits that leave the text and a valid signature line may open: the text is the signed one.
          assert.equal(r.text, text);
        } else assert.equal(typeof r.reason, 'string');
      }),
      { seed: 20240601, numRuns: 2000 },
    );
  });
});

describe('signNote refuses what no verifier accepts', () => {
  const key = SigningKey.generate();
  test('text without a final newline, with control characters, or not well-formed', () => {
    for (const t of ['', 'no newline', 'a\n\r', 'tab\there\n', 'nul\x00\n', 'lone \ud800 surrogate\n', 'cr\r\n']) {
      assert.throws(() => signNote(t, 'k', key), TypeError, JSON.stringify(t));
    }
    assert.throws(() => signNote(42 as never, 'k', key), TypeError);
  });
  test('invalid key names and keys', () => {
    for (const n of ['', 'a b', 'a+b', 'a\nb', 'a\u2028b']) assert.throws(() => signNote('x\n', n, key), TypeError, JSON.stringify(n));
    assert.throws(() => signNote('x\n', 'k', { publicKey: Buffer.alloc(31), sign: (m) => key.sign(m) }), TypeError);
    assert.throws(() => signNote('x\n', 'k', { publicKey: key.publicKey, sign: () => Buffer.alloc(10) }), TypeError);
  });
});

describe('checkpoints', () => {
  for (const v of vectors.checkpoints) {
    test(`known answer: ${v.id}`, async () => {
      const rootHash = Buffer.from(v.checkpoint.root_hash_base64, 'base64');
      if (v.root_hash_of_record) {
        const { createHash } = await import('node:crypto');
        const want = createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(v.root_hash_of_record)])).digest();
        assert.ok(rootHash.equals(want), 'tlog.RecordHash is SHA-256(0x00 || data)');
      }
      assert.equal(formatCheckpoint({ origin: v.checkpoint.origin, size: v.checkpoint.size, rootHash, extensions: v.checkpoint.extensions }), v.text, v.source);
      const r = parseCheckpoint(v.text);
      assert.ok(r.ok, v.source);
      assert.equal(r.checkpoint.origin, v.checkpoint.origin);
      assert.equal(r.checkpoint.size, v.checkpoint.size);
      assert.ok(r.checkpoint.rootHash.equals(rootHash));
      assert.deepEqual(r.checkpoint.extensions, v.checkpoint.extensions);
      const rb = parseCheckpoint(Buffer.from(v.text));
      assert.ok(rb.ok && rb.checkpoint.size === v.checkpoint.size);
    });
  }

  test('known answers: Go TestParseTree bad trees', () => {
    for (const b of vectors.bad_checkpoints) {
      const r = parseCheckpoint(b.text);
      assert.ok(!r.ok && r.reason === b.reason, `${b.source}: ${r.ok ? 'accepted' : r.reason}`);
    }
  });

  const root = Buffer.alloc(32, 0xab).toString('base64');
  const good = `example.com/log\n42\n${root}\n`;
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const strayRoot = root.slice(0, -2) + ALPHABET[ALPHABET.indexOf(root.at(-2)!) | 1] + '=';
  test('strict parsing', () => {
    assert.ok(parseCheckpoint(good).ok);
    assert.ok(parseCheckpoint(`example.com/log\n0\n${root}\n`).ok, 'an empty tree has size 0');
    const cases: Array<[string, string]> = [
      [`\n42\n${root}\n`, 'bad-origin'],
      [`example.com/log\n042\n${root}\n`, 'bad-size'],
      [`example.com/log\n00\n${root}\n`, 'bad-size'],
      [`example.com/log\n-1\n${root}\n`, 'bad-size'],
      [`example.com/log\n+1\n${root}\n`, 'bad-size'],
      [`example.com/log\n 42\n${root}\n`, 'bad-size'],
      [`example.com/log\n42 \n${root}\n`, 'bad-size'],
      [`example.com/log\n4e1\n${root}\n`, 'bad-size'],
      [`example.com/log\n\n${root}\n`, 'bad-size'],
      [`example.com/log\n9007199254740992\n${root}\n`, 'bad-size'],
      [`example.com/log\n42\n${Buffer.alloc(31).toString('base64')}\n`, 'bad-root-hash'],
      [`example.com/log\n42\n${Buffer.alloc(33).toString('base64')}\n`, 'bad-root-hash'],
      [`example.com/log\n42\n${root.slice(0, -1)}\n`, 'bad-root-hash'],
      [`example.com/log\n42\n${strayRoot}\n`, 'bad-root-hash'], // stray low bits: Node still decodes it
      [`example.com/log\n42\n${Buffer.alloc(32, 0xfb).toString('base64url')}=\n`, 'bad-root-hash'],
      [`example.com/log\n42\n${root} \n`, 'bad-root-hash'],
      [`example.com/log\n42\n${Buffer.alloc(32).toString('hex')}\n`, 'bad-root-hash'],
      [`example.com/log\n42\n${root}\n\n`, 'empty-extension'],
      [`example.com/log\n42\n${root}\next\n\nmore\n`, 'empty-extension'],
      [`example.com/log\n42\n${root}`, 'no-final-newline'],
      [`example.com/log\n42\n`, 'too-few-lines'],
      [``, 'no-final-newline'],
      [`example.com/log\r\n42\n${root}\n`, 'not-text'],
      [`example.com/log\t\n42\n${root}\n`, 'not-text'],
      [`\ud800\n42\n${root}\n`, 'not-text'],
    ];
    for (const [t, reason] of cases) {
      const r = parseCheckpoint(t);
      assert.ok(!r.ok && r.reason === reason, `${JSON.stringify(t)}: ${r.ok ? 'accepted' : r.reason}, want ${reason}`);
    }
    assert.ok(!parseCheckpoint(Buffer.from([0xff, 0x0a])).ok);
    assert.ok(!parseCheckpoint(42 as never).ok);
    const big = parseCheckpoint(good + 'x'.repeat(MAX_NOTE_BYTES) + '\n');
    assert.ok(!big.ok && big.reason === 'too-large');
    // The spec only requires a non-empty origin (spaces and "+" are a SHOULD NOT): accepted, the caller compares it.
    const spaced = parseCheckpoint(` odd origin+\n42\n${root}\n`);
    assert.ok(spaced.ok && spaced.checkpoint.origin === ' odd origin+');
    const big9 = parseCheckpoint(`example.com/log\n9007199254740991\n${root}\nx\n`);
    assert.ok(big9.ok && big9.checkpoint.size === Number.MAX_SAFE_INTEGER && big9.checkpoint.extensions[0] === 'x');
  });

  test('formatCheckpoint refuses what parseCheckpoint would reject', () => {
    const rootHash = Buffer.alloc(32);
    assert.throws(() => formatCheckpoint({ origin: '', size: 1, rootHash }), TypeError);
    assert.throws(() => formatCheckpoint({ origin: 'a\nb', size: 1, rootHash }), TypeError);
    assert.throws(() => formatCheckpoint({ origin: 'a', size: -1, rootHash }), TypeError);
    assert.throws(() => formatCheckpoint({ origin: 'a', size: 1.5, rootHash }), TypeError);
    assert.throws(() => formatCheckpoint({ origin: 'a', size: 2 ** 53, rootHash }), TypeError);
    assert.throws(() => formatCheckpoint({ origin: 'a', size: 1, rootHash: Buffer.alloc(31) }), TypeError);
    assert.throws(() => formatCheckpoint({ origin: 'a', size: 1, rootHash, extensions: [''] }), TypeError);
    assert.throws(() => formatCheckpoint({ origin: 'a', size: 1, rootHash, extensions: ['x\ny'] }), TypeError);
    assert.equal(formatCheckpoint({ origin: 'a', size: 0, rootHash }), `a\n0\n${rootHash.toString('base64')}\n`);
  });

  test('property: formatCheckpoint output always parses back to the same checkpoint', () => {
    const line = fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((s) => !/[\u0000-\u001f]/.test(s) && !/\p{Cs}/u.test(s));
    fc.assert(
      fc.property(line, fc.maxSafeNat(), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.array(line, { maxLength: 4 }), (origin, size, root, extensions) => {
        const r = parseCheckpoint(formatCheckpoint({ origin, size, rootHash: root, extensions }));
        assert.ok(r.ok);
        assert.deepEqual(r.checkpoint, { origin, size, rootHash: Buffer.from(root), extensions });
      }),
      { seed: 77, numRuns: 500 },
    );
  });
});

describe('assentmark extension lines', () => {
  const chain = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
  test('add and read chain-hash and time', () => {
    const ext = withTime(withChainHash(['other stuff'], chain), new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)));
    assert.deepEqual(ext, ['other stuff', `chain-hash ${chain.toString('hex')}`, 'time 2024-02-29T23:59:59.999Z']);
    const c = readChainHash(ext);
    assert.ok(c.ok && c.value?.equals(chain));
    const t = readTime(ext);
    assert.ok(t.ok && t.value?.toISOString() === '2024-02-29T23:59:59.999Z');
    assert.deepEqual(readChainHash([]), { ok: true, value: null });
    assert.deepEqual(readTime(['chain-hashes are not time']), { ok: true, value: null });
    // A keyword that merely starts with ours is another extension.
    assert.deepEqual(readChainHash(['chain-hashes x', 'chain-hash-v2 y']), { ok: true, value: null });
  });

  test('duplicates are refused when adding and when reading', () => {
    const ext = withChainHash([], chain);
    assert.throws(() => withChainHash(ext, chain), TypeError);
    assert.throws(() => withChainHash(['chain-hash garbage'], chain), TypeError);
    assert.throws(() => withTime(withTime([], new Date(0)), new Date(0)), TypeError);
    const dc = readChainHash([...ext, ...ext]);
    assert.ok(!dc.ok && dc.reason === 'duplicate');
    const dt = readTime(['time 2024-01-01T00:00:00.000Z', 'time 2024-01-01T00:00:00.000Z']);
    assert.ok(!dt.ok && dt.reason === 'duplicate');
  });

  test('malformed values', () => {
    for (const l of ['chain-hash', 'chain-hash ', `chain-hash ${chain.toString('hex').toUpperCase()}`, `chain-hash ${chain.toString('hex').slice(1)}`, `chain-hash  ${chain.toString('hex')}`, `chain-hash ${chain.toString('hex')} `, `chain-hash ${chain.toString('base64')}`]) {
      const r = readChainHash([l]);
      assert.ok(!r.ok && r.reason === 'malformed', JSON.stringify(l));
    }
    for (const l of ['time', 'time 2024-01-01T00:00:00Z', 'time 2024-01-01T00:00:00.000+00:00', 'time 2024-01-01T00:00:00.0000Z', 'time 2024-02-30T00:00:00.000Z', 'time 2023-02-29T00:00:00.000Z', 'time 2024-01-01T24:00:00.000Z', 'time 2024-01-01T23:59:60.000Z', 'time 2024-01-01t00:00:00.000z', 'time 2024-01-01 00:00:00.000Z', 'time  2024-01-01T00:00:00.000Z']) {
      const r = readTime([l]);
      assert.ok(!r.ok && r.reason === 'malformed', JSON.stringify(l));
    }
    assert.throws(() => withChainHash([], Buffer.alloc(31)), TypeError);
    assert.throws(() => withTime([], new Date(NaN)), TypeError);
    assert.throws(() => withTime([], new Date(Date.UTC(10000, 0, 1))), RangeError);
  });
});
