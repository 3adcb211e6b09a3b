// Signing-key rotation: signing_key.added, signed by the old key and the new; checkpoints after it
// signed by the new key only; the retired key's checkpoints still verify; the verifier follows the
// rotation history from whichever key of it the caller trusts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { SigningKey } from '../src/crypto/ed25519.js';
import { writeSecretFile } from '../src/keys/files.js';
import { checkpointSignedBy, signCheckpointNoteV2 } from '../src/ledger/checkpoint.js';
import { rotationData } from '../src/ledger/key-rotation.js';
import { prepareEvent } from '../src/ledger/format.js';
import { verifyLedger } from '../src/ledger/verifier.js';
import { MerkleFrontier } from '../src/ledger/merkle.js';
import { useTestApp } from './helpers/app.js';
import { buildLedger, chainEntries, eulaEvent } from './helpers/ledger-fixtures.js';

describe('rotating the service\'s signing key', () => {
  let oldKey: SigningKey;
  const next = SigningKey.generate();
  let rotatedAt = 0;
  const t = useTestApp({
    async setup(app) {
      oldKey = app.ctx.ledger.signingKey;
      await app.publishEula();
      assert.equal((await app.accept({ subject: 'before-rotation' })).status, 201);
      await app.ctx.ledger.checkpoint();
      const r = await app.ctx.ledger.rotateSigningKey(next, 'annual rotation');
      rotatedAt = r.seq;
      assert.ok(r.checkpoint && r.checkpoint.size === r.seq);
    },
  });

  test('the checkpoint covering the rotation is signed by the new key, the ones before by the old', async () => {
    const cps = (await t.ctx.ledger.checkpoints()).filter((c) => c.rootHash);
    const before = cps.filter((c) => c.size < rotatedAt);
    const afterRot = cps.filter((c) => c.size >= rotatedAt);
    assert.ok(before.length >= 1 && afterRot.length >= 1);
    for (const c of before) assert.ok(checkpointSignedBy(c, oldKey.publicKey, t.ctx.ledger.origin) && !checkpointSignedBy(c, next.publicKey, t.ctx.ledger.origin));
    for (const c of afterRot) assert.ok(checkpointSignedBy(c, next.publicKey, t.ctx.ledger.origin) && !checkpointSignedBy(c, oldKey.publicKey, t.ctx.ledger.origin));
  });

  test('new receipts are signed by the new key; the full verification passes from either key', async () => {
    const res = await t.accept({ subject: 'after-rotation' });
    assert.equal(res.status, 201);
    assert.equal(res.body.receipt.key_id, next.keyId);
    await t.ctx.ledger.checkpoint();
    for (const trusted of [oldKey.publicKey, next.publicKey, undefined]) {
      const r = await t.ctx.ledger.verify(trusted ? { trustedPublicKey: trusted } : {});
      assert.equal(r.ok, true, JSON.stringify(r.fault));
    }
    const stranger = await t.ctx.ledger.verify({ trustedPublicKey: SigningKey.generate().publicKey });
    assert.equal(stranger.fault?.code, 'genesis_key_mismatch');
  });

  test('keys.json lists the current key first and the retired one with the entry that retired it', async () => {
    const doc = (await t.get('/.well-known/assentmark/keys.json')).body as { keys: Array<{ key_id: string; status: string; added_at_seq: number; retired_at_seq: number | null }> };
    assert.deepEqual(doc.keys.map((k) => [k.key_id, k.status, k.added_at_seq, k.retired_at_seq]), [[next.keyId, 'current', rotatedAt, null], [oldKey.keyId, 'retired', 1, rotatedAt]]);
  });

  test('the service refuses to start with the retired key, and starts with the new one', async () => {
    const oldFile = path.join(t.db.dir, 'keys', 'old.pem');
    const newFile = path.join(t.db.dir, 'keys', 'new.pem');
    writeSecretFile(oldFile, oldKey.toPem());
    writeSecretFile(newFile, next.toPem());
    await assert.rejects(t.db.open({ signingKeyFile: oldFile }), (e: unknown) => (e as { code?: string }).code === 'signing_key_mismatch' && new RegExp(`retired at entry ${rotatedAt}`).test((e as Error).message));
    const ctx = await t.db.open({ signingKeyFile: newFile });
    assert.equal(ctx.ledger.signingKey.keyId, next.keyId);
    assert.equal(ctx.ledger.keyHistory().length, 2);
  });

  test('rotating to a key already used is refused', async () => {
    await assert.rejects(t.ctx.ledger.rotateSigningKey(oldKey, 'back'), (e: unknown) => (e as { code?: string }).code === 'signing_key_reused');
  });
});

describe('the verifier and rotation events (pure)', () => {
  const origin = 'example.org/ledger';
  const k1 = SigningKey.generate();
  const k2 = SigningKey.generate();
  const base = buildLedger(k1, origin, 5);
  const withRotation = (data: object) => chainEntries([prepareEvent('signing_key.added', data, { id: randomUUID() }), eulaEvent(7, { id: randomUUID() })], 5, base[4]!.chainHash);
  const treeAt = (entries: typeof base, n: number) => {
    const f = new MerkleFrontier();
    for (const e of entries.slice(0, n)) f.append(e.leafHash);
    return f.root();
  };

  test('a valid rotation: checkpoints by the new key after it verify; one by the retired key is refused', () => {
    const entries = [...base, ...withRotation(rotationData(origin, k1, k2, 'test'))];
    const good = signCheckpointNoteV2(k2, origin, 7, treeAt(entries, 7), entries[6]!.chainHash, new Date());
    const early = signCheckpointNoteV2(k1, origin, 5, treeAt(entries, 5), entries[4]!.chainHash, new Date());
    assert.equal(verifyLedger(entries, [early, good], { trustedPublicKey: k1.publicKey }).ok, true);
    assert.equal(verifyLedger(entries, [early, good], { trustedPublicKey: k2.publicKey }).ok, true, 'a trusted later key vouches for the chain back to genesis');
    const late = signCheckpointNoteV2(k1, origin, 7, treeAt(entries, 7), entries[6]!.chainHash, new Date());
    const r = verifyLedger(entries, [late], { trustedPublicKey: k1.publicKey });
    assert.equal(r.fault?.code, 'checkpoint_retired_key');
    assert.equal(r.fault?.seq, 7);
  });

  test('a rotation not signed by the previous key, or not by the new one, is refused at its entry', () => {
    const k3 = SigningKey.generate();
    const forgedByOther = rotationData(origin, k3, k2, 'forged'); // names k3 as previous
    const r1 = verifyLedger([...base, ...withRotation({ ...forgedByOther })], [], {});
    assert.equal(r1.fault?.code, 'key_rotation_invalid');
    assert.equal(r1.fault?.seq, 6);
    const good = rotationData(origin, k1, k2, 'test');
    const r2 = verifyLedger([...base, ...withRotation({ ...good, accepted_by_new: good.authorised_by_previous })], [], {});
    assert.equal(r2.fault?.code, 'key_rotation_invalid');
    assert.match(r2.fault!.reason, /new key/);
    const r3 = verifyLedger([...base, ...withRotation({ ...good, authorised_by_previous: good.accepted_by_new })], [], {});
    assert.match(r3.fault!.reason, /previous key/);
  });
});
