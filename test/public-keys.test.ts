// The one loader of trusted public keys (every --public-key option): keys.json, PEM, hex and
// padded base64, as a file or a literal; anything else, or a keys.json edited, is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SigningKey } from '../src/crypto/ed25519.js';
import { readTrustedKeys, TrustedKeyError } from '../src/keys/public-keys.js';

test('keys.json, PEM, hex and padded base64 name the same key; unpadded base64 and an edited keys.json are refused', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [a, b] = [SigningKey.generate(), SigningKey.generate()];
  const entry = (k: SigningKey) => ({ key_id: k.keyId, alg: 'Ed25519', public_key: k.publicKey.toString('base64'), public_key_pem: k.publicKeyPem() });
  const keysJson = path.join(dir, 'keys.json');
  writeFileSync(keysJson, JSON.stringify({ origin: 'example.org/ledger', keys: [entry(b), entry(a)] }));
  const pem = path.join(dir, 'a.pem');
  writeFileSync(pem, a.publicKeyPem());
  assert.deepEqual(readTrustedKeys(keysJson), [b.publicKey, a.publicKey]);
  for (const arg of [pem, a.publicKeyPem(), a.publicKey.toString('hex'), a.publicKey.toString('base64'), `${a.publicKey.toString('base64')}\n`]) {
    assert.deepEqual(readTrustedKeys(arg), [a.publicKey], arg);
  }
  const b64 = a.publicKey.toString('base64');
  const edited = path.join(dir, 'edited.json');
  writeFileSync(edited, JSON.stringify({ keys: [{ ...entry(a), key_id: b.keyId }] }));
  for (const [what, arg] of [
    ['unpadded base64', b64.replace(/=+$/, '')],
    ['base64url', b64.replaceAll('+', '-').replaceAll('/', '_')],
    ['31 bytes of hex', a.publicKey.toString('hex').slice(2)],
    ['a keys.json whose key_id is another key\'s', edited],
    ['a keys.json with no keys', JSON.stringify({ keys: [] })],
    ['not JSON', '{"keys": ['],
  ] as const) {
    if (arg === b64) continue;
    assert.throws(() => readTrustedKeys(arg), TrustedKeyError, what);
  }
});
