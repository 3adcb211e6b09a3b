// The browser twins of crypto/hash.ts and crypto/signature.ts (what the /verify page runs instead
// of node:crypto) give the same answers as the Node modules: the same digests, and the same
// verdict on ECDSA and RSA signatures that node:crypto made, on altered ones and on mismatches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import * as nodeHash from '../src/crypto/hash.js';
import * as webHash from '../src/crypto/hash.browser.js';
import * as nodeSig from '../src/crypto/signature.js';
import * as webSig from '../src/crypto/signature.browser.js';
import type { DigestName } from '../src/crypto/cms-algorithms.js';

test('hash twins: the same digests, known answers, constant-time equality', () => {
  const abc = Buffer.from('abc');
  assert.equal(webHash.sha256Hex(abc), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  for (const n of [0, 1, 55, 56, 64, 1000, 70_000]) {
    const data = randomBytes(n);
    for (const name of ['sha1', 'sha256', 'sha384', 'sha512'] as const) {
      assert.deepEqual(webHash.digestOf(name, data.subarray(0, n >> 1), data.subarray(n >> 1)), nodeHash.digestOf(name, data), `${name} of ${n} bytes`);
    }
    assert.deepEqual(webHash.sha256Of(data), nodeHash.sha256Of(data));
    assert.deepEqual(webHash.sha256(data, abc), nodeHash.sha256(data, abc));
    // The streamed digest (sample lists): bytes and UTF-8 strings in pieces.
    const text = `é東${n}\n`;
    assert.equal(webHash.sha256Stream().update(data).update(text).hex(), nodeHash.sha256Stream().update(data).update(text).hex());
    assert.equal(nodeHash.sha256Stream().update(data).update(text).hex(), nodeHash.sha256Hex(data, Buffer.from(text, 'utf8')));
  }
  const a = randomBytes(32);
  const b = Buffer.from(a);
  assert.equal(webHash.constantTimeEqual(a, b), true);
  b[31]! ^= 1;
  assert.equal(webHash.constantTimeEqual(a, b), false);
  assert.equal(webHash.constantTimeEqual(a, a.subarray(1)), false);
});

test('signature twins: ECDSA (P-256, P-384, P-521) and RSA PKCS#1 v1.5 made by node:crypto, altered, and mismatched', () => {
  const keys = [
    { type: 'ec' as const, pair: generateKeyPairSync('ec', { namedCurve: 'P-256' }) },
    { type: 'ec' as const, pair: generateKeyPairSync('ec', { namedCurve: 'P-384' }) },
    { type: 'ec' as const, pair: generateKeyPairSync('ec', { namedCurve: 'P-521' }) },
    { type: 'rsa' as const, pair: generateKeyPairSync('rsa', { modulusLength: 2048 }) },
  ];
  const data = Buffer.from('signed attributes, or a TBSCertificate');
  for (const { type, pair } of keys) {
    const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    for (const digest of ['sha256', 'sha384', 'sha512'] as DigestName[]) {
      const sig = type === 'ec' ? sign(digest, data, { key: pair.privateKey, dsaEncoding: 'der' }) : sign(digest, data, pair.privateKey);
      const what = `${type} ${pair.publicKey.asymmetricKeyDetails?.namedCurve ?? pair.publicKey.asymmetricKeyDetails?.modulusLength} ${digest}`;
      const both = (d: DigestName, msg: Uint8Array, s: Uint8Array, kt: 'ec' | 'rsa' = type): [boolean, boolean] => [nodeSig.verifySignature(kt, d, spki, msg, s), webSig.verifySignature(kt, d, spki, msg, s)];
      assert.deepEqual(both(digest, data, sig), [true, true], `${what}: valid`);
      const flipped = Buffer.from(sig);
      flipped[flipped.length - 3]! ^= 0x10;
      assert.deepEqual(both(digest, data, flipped), [false, false], `${what}: altered signature`);
      assert.deepEqual(both(digest, Buffer.concat([data, Buffer.of(0)]), sig), [false, false], `${what}: altered data`);
      const other: DigestName = digest === 'sha256' ? 'sha384' : 'sha256';
      assert.deepEqual(both(other, data, sig), [false, false], `${what}: another digest`);
      assert.deepEqual(both(digest, data, sig, type === 'ec' ? 'rsa' : 'ec'), [false, false], `${what}: the other key type`);
    }
  }
});
