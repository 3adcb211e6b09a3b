// The byte format against independently computed known answers (test/vectors/ledger-kat.json,
// made by test/vectors/ledger-kat.py), and the pure verifier: every fault code, right first bad seq.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalBytes } from '../src/canonical/jcs.js';
import { SigningKey, keyIdOf, parsePublicKey } from '../src/crypto/ed25519.js';
import { parseCheckpointBody, signCheckpoint, verifyCheckpointSignature, type SignedCheckpoint } from '../src/ledger/checkpoint.js';
import { ZERO_HASH, chainHash, genesisEventId, leafHash, prepareEvent, type LedgerEntry } from '../src/ledger/format.js';
import { verifyExportFile } from '../src/ledger/export.js';
import { LedgerVerifier, verifyLedger, type VerifyFaultCode, type VerifyReport } from '../src/ledger/verifier.js';
import { packageRoot } from '../src/util/paths.js';
import { buildLedger, chainEntries, checkpointAt, cloneEntries, eulaEvent, eventOf, genesisEvent, rehashFrom } from './helpers/ledger-fixtures.js';
import { flip } from './helpers/tools.js';

interface Kat {
  signing_key: { seed_hex: string; public_key_hex: string; public_key_base64: string; public_key_pem: string; key_id_input_hex: string; key_id: string };
  origin: string;
  genesis_id_input_hex: string;
  genesis_event_id: string;
  chain_0: string;
  entries: Array<{ seq: number; event_id: string; event_type: string; canonical_utf8: string; canonical_hex: string; leaf_hash: string; prev_hash: string; chain_hash: string; chain_input_hex: string }>;
  checkpoint: { body_utf8: string; body_hex: string; signature_hex: string; signature_base64: string };
  export_lines: string[];
}

const kat = JSON.parse(readFileSync(path.join(packageRoot(), 'test', 'vectors', 'ledger-kat.json'), 'utf8')) as Kat;
const katKey = SigningKey.fromSeed(Buffer.from(kat.signing_key.seed_hex, 'hex'));
const katEntries = (): LedgerEntry[] =>
  kat.entries.map((e) => ({
    seq: e.seq,
    eventId: e.event_id,
    eventType: e.event_type,
    canonical: Buffer.from(e.canonical_hex, 'hex'),
    leafHash: Buffer.from(e.leaf_hash, 'hex'),
    prevHash: Buffer.from(e.prev_hash, 'hex'),
    chainHash: Buffer.from(e.chain_hash, 'hex'),
  }));
const katCheckpoint = (): SignedCheckpoint => ({ body: Buffer.from(kat.checkpoint.body_hex, 'hex'), signature: Buffer.from(kat.checkpoint.signature_hex, 'hex') });

// ---- known answers ---------------------------------------------------------------------------

test('KAT: signing key, public key encodings and key id', () => {
  assert.equal(katKey.publicKey.toString('hex'), kat.signing_key.public_key_hex);
  assert.equal(katKey.publicKey.toString('base64'), kat.signing_key.public_key_base64);
  assert.equal(katKey.publicKeyPem(), kat.signing_key.public_key_pem);
  assert.ok(parsePublicKey(kat.signing_key.public_key_pem).equals(katKey.publicKey));
  assert.equal(Buffer.concat([Buffer.from('assentmark/key-id/v1\0', 'utf8'), katKey.publicKey]).toString('hex'), kat.signing_key.key_id_input_hex);
  assert.equal(keyIdOf(katKey.publicKey), kat.signing_key.key_id);
  assert.equal(katKey.keyId, kat.signing_key.key_id);
});

test('KAT: genesis event id', () => {
  assert.equal(Buffer.from('assentmark/genesis/v1\0' + kat.origin, 'utf8').toString('hex'), kat.genesis_id_input_hex);
  assert.equal(genesisEventId(kat.origin), kat.genesis_event_id);
  assert.match(kat.genesis_event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('KAT: genesis event canonical bytes, leaf and chain hash', () => {
  const e = kat.entries[0]!;
  const g = genesisEvent(katKey, kat.origin, new Date('2026-11-29T00:00:00.000Z'));
  assert.equal(g.id, kat.genesis_event_id);
  assert.equal(g.canonical.toString('utf8'), e.canonical_utf8);
  assert.equal(g.canonical.toString('hex'), e.canonical_hex);
  assert.equal(g.leafHash.toString('hex'), e.leaf_hash);
  assert.equal(leafHash(Buffer.from(e.canonical_hex, 'hex')).toString('hex'), e.leaf_hash);
  assert.equal(e.prev_hash, kat.chain_0);
  assert.equal(kat.chain_0, ZERO_HASH.toString('hex'));
  assert.equal(chainHash(1, ZERO_HASH, g.leafHash).toString('hex'), e.chain_hash);
});

test('KAT: second entry (non-ASCII text, large integer and decimal as strings)', () => {
  const e = kat.entries[1]!;
  const parsed = JSON.parse(e.canonical_utf8) as { id: string; time: string; data: object };
  const p = prepareEvent('eula.published', parsed.data, { id: parsed.id, time: new Date(parsed.time) });
  assert.equal(p.canonical.toString('hex'), e.canonical_hex);
  assert.equal(canonicalBytes(parsed).toString('hex'), e.canonical_hex);
  assert.equal(p.leafHash.toString('hex'), e.leaf_hash);
  assert.equal(e.prev_hash, kat.entries[0]!.chain_hash);
  assert.equal(chainHash(2, Buffer.from(e.prev_hash, 'hex'), p.leafHash).toString('hex'), e.chain_hash);
});

test('KAT: chain hash input layout is 0x02 || u64be(seq) || prev || leaf', () => {
  for (const e of kat.entries) {
    const input = Buffer.from(e.chain_input_hex, 'hex');
    assert.equal(input.length, 1 + 8 + 32 + 32);
    assert.equal(input[0], 0x02);
    assert.equal(input.readBigUInt64BE(1), BigInt(e.seq));
    assert.equal(input.subarray(9, 41).toString('hex'), e.prev_hash);
    assert.equal(input.subarray(41).toString('hex'), e.leaf_hash);
  }
  // u64 big-endian, not a JS number's 53 bits: a large sequence number still encodes exactly.
  const big = chainHash(2 ** 40 + 3, ZERO_HASH, ZERO_HASH);
  assert.equal(big.length, 32);
});

test('KAT: checkpoint body bytes and Ed25519 signature (deterministic, node and noble agree)', () => {
  const last = kat.entries[1]!;
  const cp = signCheckpoint(katKey, kat.origin, 2, Buffer.from(last.chain_hash, 'hex'), new Date('2026-11-29T00:00:02.000Z'));
  assert.equal(cp.body.toString('utf8'), kat.checkpoint.body_utf8);
  assert.equal(cp.body.toString('hex'), kat.checkpoint.body_hex);
  assert.equal(cp.signature.toString('hex'), kat.checkpoint.signature_hex);
  assert.equal(katKey.signWithNoble(cp.body).toString('hex'), kat.checkpoint.signature_hex);
  assert.ok(verifyCheckpointSignature(katCheckpoint(), katKey.publicKey));
  assert.deepEqual(parseCheckpointBody(cp.body), cp.parsed);
});

test('KAT: the whole two-entry ledger and its checkpoint verify', () => {
  const r = verifyLedger(katEntries(), [katCheckpoint()], { trustedPublicKey: katKey.publicKey, origin: kat.origin });
  assert.equal(r.fault, null);
  assert.equal(r.ok, true);
  assert.equal(r.size, 2);
  assert.equal(r.origin, kat.origin);
  assert.equal(r.headHash, kat.entries[1]!.chain_hash);
  assert.equal(r.checkpointsVerified, 1);
  assert.equal(r.latestCheckpointSize, 2);
});

test('KAT: the example export file verifies offline', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-kat-'));
  try {
    const file = path.join(dir, 'ledger.jsonl');
    writeFileSync(file, kat.export_lines.join('\n') + '\n');
    const r = await verifyExportFile(file, { trustedPublicKey: parsePublicKey(kat.signing_key.public_key_base64) });
    assert.equal(r.ok, true, JSON.stringify(r.fault));
    assert.equal(r.size, 2);
    assert.equal(r.checkpointsVerified, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- the verifier, fault by fault -------------------------------------------------------------

const ORIGIN = 'test.example/ledger';
const key = SigningKey.generate();
const base = buildLedger(key, ORIGIN, 10);
const opts = { trustedPublicKey: key.publicKey, origin: ORIGIN };

function expectFault(r: VerifyReport, code: VerifyFaultCode, seq: number): void {
  assert.equal(r.ok, false, `expected ${code} at ${seq}, got ok`);
  assert.equal(r.fault?.code, code, `code: ${JSON.stringify(r.fault)}`);
  assert.equal(r.fault?.seq, seq, `seq: ${JSON.stringify(r.fault)}`);
  assert.ok(r.fault!.reason.length > 0);
}

test('verifier: an intact ledger with checkpoints verifies', () => {
  const cps = [checkpointAt(key, ORIGIN, base, 1), checkpointAt(key, ORIGIN, base, 4), checkpointAt(key, ORIGIN, base, 4), checkpointAt(key, ORIGIN, base, 10)];
  const r = verifyLedger(base, cps, opts);
  assert.equal(r.ok, true, JSON.stringify(r.fault));
  assert.equal(r.size, 10);
  assert.equal(r.checkpointsVerified, 4);
  assert.equal(r.latestCheckpointSize, 10);
  assert.equal(r.headHash, base[9]!.chainHash.toString('hex'));
  // Without a trusted key the genesis key is trusted.
  assert.equal(verifyLedger(base, cps).ok, true);
});

test('verifier: empty_ledger', () => {
  expectFault(verifyLedger([], [], opts), 'empty_ledger', 1);
});

test('verifier: sequence_gap (missing, duplicated, starting late)', () => {
  const e = cloneEntries(base);
  expectFault(verifyLedger([...e.slice(0, 4), ...e.slice(5)], [], opts), 'sequence_gap', 5);
  expectFault(verifyLedger([...e.slice(0, 4), e[3]!, ...e.slice(4)], [], opts), 'sequence_gap', 5);
  expectFault(verifyLedger(e.slice(1), [], opts), 'sequence_gap', 1);
});

test('verifier: leaf_hash_mismatch (event bytes edited)', () => {
  const e = cloneEntries(base);
  flip(e[6]!.canonical, 20, 0x01);
  expectFault(verifyLedger(e, [], opts), 'leaf_hash_mismatch', 7);
});

test('verifier: prev_hash_mismatch (entry rewritten with its own hashes: caught at the next)', () => {
  const e = cloneEntries(base);
  const forged = eulaEvent(999, { id: e[5]!.eventId });
  e[5]!.canonical = forged.canonical;
  rehashFrom(e.slice(0, 6), 5); // rehash entry 6 only
  expectFault(verifyLedger(e, [], opts), 'prev_hash_mismatch', 7);
  const e2 = cloneEntries(base);
  e2[2]!.prevHash = Buffer.alloc(32, 7);
  expectFault(verifyLedger(e2, [], opts), 'prev_hash_mismatch', 3);
});

test('verifier: chain_hash_mismatch', () => {
  const e = cloneEntries(base);
  flip(e[8]!.chainHash, 0, 0x80);
  expectFault(verifyLedger(e, [], opts), 'chain_hash_mismatch', 9);
  // The chain binds the sequence number: renumbering a consistent chain breaks it.
  const f = chainEntries([genesisEvent(key, ORIGIN), eulaEvent(1)]);
  f[1]!.chainHash = chainHash(3, f[0]!.chainHash, f[1]!.leafHash);
  expectFault(verifyLedger(f, [], opts), 'chain_hash_mismatch', 2);
});

test('verifier: event_not_canonical (consistently hashed, but not RFC 8785 bytes)', () => {
  const e = cloneEntries(base);
  const ev = JSON.parse(e[3]!.canonical.toString('utf8')) as object;
  e[3]!.canonical = Buffer.from(JSON.stringify(ev, null, 1), 'utf8');
  rehashFrom(e, 3);
  expectFault(verifyLedger(e, [], opts), 'event_not_canonical', 4);
  const g = cloneEntries(base);
  g[3]!.canonical = Buffer.from([0x22, 0xff, 0x22]); // invalid UTF-8
  rehashFrom(g, 3);
  expectFault(verifyLedger(g, [], opts), 'event_not_canonical', 4);
});

test('verifier: event_malformed (not an object, bad envelope, unknown type)', () => {
  const cases: unknown[] = [
    [1, 2],
    'x',
    { v: 2, id: randomUUID(), type: 'eula.published', time: 't', data: {} },
    { v: 1, id: randomUUID(), type: 'eula.published', time: 't' },
    { v: 1, id: randomUUID(), type: 'eula.published', time: 't', data: null },
    { v: 1, id: randomUUID(), type: 'no.such_type', time: 't', data: {} },
    { v: 1, id: 7, type: 'eula.published', time: 't', data: {} },
  ];
  for (const c of cases) {
    const e = cloneEntries(base);
    e[4]!.canonical = canonicalBytes(c);
    rehashFrom(e, 4);
    expectFault(verifyLedger(e, [], opts), 'event_malformed', 5);
  }
});

test('verifier: event_row_mismatch (row id or type differs from the hashed bytes)', () => {
  const e = cloneEntries(base);
  e[2]!.eventId = randomUUID();
  expectFault(verifyLedger(e, [], opts), 'event_row_mismatch', 3);
  const f = cloneEntries(base);
  f[2]!.eventType = 'acceptance.recorded';
  expectFault(verifyLedger(f, [], opts), 'event_row_mismatch', 3);
});

test('verifier: genesis_missing (entry 1 is not a genesis event)', () => {
  const e = chainEntries([eulaEvent(1), eulaEvent(2)]);
  expectFault(verifyLedger(e, [], opts), 'genesis_missing', 1);
});

test('verifier: genesis_invalid (malformed key, bad key id, wrong origin, second genesis)', () => {
  const g = (data: object) => chainEntries([prepareEvent('ledger.genesis', data, { id: genesisEventId(ORIGIN) }), eulaEvent(2)]);
  const sk = { alg: 'Ed25519', key_id: key.keyId, public_key: key.publicKey.toString('base64') };
  expectFault(verifyLedger(g({ origin: ORIGIN }), [], opts), 'genesis_invalid', 1);
  expectFault(verifyLedger(g({ origin: ORIGIN, signing_key: { ...sk, alg: 'RSA' } }), [], opts), 'genesis_invalid', 1);
  expectFault(verifyLedger(g({ origin: ORIGIN, signing_key: { ...sk, key_id: '00'.repeat(16) } }), [], opts), 'genesis_invalid', 1);
  expectFault(verifyLedger(g({ origin: ORIGIN, signing_key: { ...sk, public_key: key.publicKey.subarray(0, 31).toString('base64') } }), [], opts), 'genesis_invalid', 1);
  expectFault(verifyLedger(g({ origin: 7, signing_key: sk }), [], opts), 'genesis_invalid', 1);
  expectFault(verifyLedger(base, [], { ...opts, origin: 'someone.else/ledger' }), 'genesis_invalid', 1);
  const twice = chainEntries([genesisEvent(key, ORIGIN), eulaEvent(2), prepareEvent('ledger.genesis', { origin: ORIGIN, signing_key: sk })]);
  expectFault(verifyLedger(twice, [], opts), 'genesis_invalid', 3);
});

test('verifier: genesis_key_mismatch (the genesis key is not the one the caller trusts)', () => {
  expectFault(verifyLedger(base, [], { trustedPublicKey: SigningKey.generate().publicKey }), 'genesis_key_mismatch', 1);
  // A forger who rebuilds the whole ledger under their own key is caught the same way.
  const forger = SigningKey.generate();
  const forged = buildLedger(forger, ORIGIN, 10);
  assert.equal(verifyLedger(forged, [checkpointAt(forger, ORIGIN, forged, 10)]).ok, true);
  expectFault(verifyLedger(forged, [checkpointAt(forger, ORIGIN, forged, 10)], opts), 'genesis_key_mismatch', 1);
});

test('verifier: checkpoint_malformed', () => {
  const good = checkpointAt(key, ORIGIN, base, 3);
  const bodies = [
    Buffer.from(good.body.toString('utf8').replace('{', '{ ')), // not canonical
    canonicalBytes({ ...(JSON.parse(good.body.toString('utf8')) as object), extra: 1 }),
    canonicalBytes({ ...(JSON.parse(good.body.toString('utf8')) as object), size: 0 }),
    canonicalBytes({ ...(JSON.parse(good.body.toString('utf8')) as object), size: '3' }),
    canonicalBytes({ ...(JSON.parse(good.body.toString('utf8')) as object), chain_hash: 'AB'.repeat(32) }),
    canonicalBytes({ ...(JSON.parse(good.body.toString('utf8')) as object), type: 'other/v1' }),
    Buffer.from('not json'),
  ];
  for (const body of bodies) {
    expectFault(verifyLedger(base, [{ body, signature: key.sign(body) }], opts), 'checkpoint_malformed', 1);
  }
  // Reported after the last good checkpoint.
  expectFault(verifyLedger(base, [checkpointAt(key, ORIGIN, base, 5), { body: Buffer.from('{}'), signature: Buffer.alloc(64) }], opts), 'checkpoint_malformed', 6);
});

test('verifier: checkpoint_signature_invalid (body edited, signature edited, truncated)', () => {
  const good = checkpointAt(key, ORIGIN, base, 6);
  const other = checkpointAt(key, ORIGIN, base, 6, new Date('2027-01-01T00:00:00.000Z'));
  const sig = Buffer.from(good.signature);
  flip(sig, 10, 0x04);
  expectFault(verifyLedger(base, [{ body: good.body, signature: sig }], opts), 'checkpoint_signature_invalid', 6);
  expectFault(verifyLedger(base, [{ body: other.body, signature: good.signature }], opts), 'checkpoint_signature_invalid', 6);
  expectFault(verifyLedger(base, [{ body: good.body, signature: good.signature.subarray(0, 63) }], opts), 'checkpoint_signature_invalid', 6);
  expectFault(verifyLedger(base, [{ body: good.body, signature: Buffer.alloc(64) }], opts), 'checkpoint_signature_invalid', 6);
});

test('verifier: checkpoint_unknown_key (signed by a key the genesis did not name)', () => {
  const stranger = SigningKey.generate();
  expectFault(verifyLedger(base, [checkpointAt(stranger, ORIGIN, base, 4)], opts), 'checkpoint_unknown_key', 4);
});

test('verifier: checkpoint_origin_mismatch', () => {
  expectFault(verifyLedger(base, [checkpointAt(key, 'other.example/ledger', base, 4)], opts), 'checkpoint_origin_mismatch', 4);
});

test('verifier: checkpoint_inconsistent (checkpoints out of size order)', () => {
  expectFault(verifyLedger(base, [checkpointAt(key, ORIGIN, base, 7), checkpointAt(key, ORIGIN, base, 3)], opts), 'checkpoint_inconsistent', 3);
});

test('verifier: checkpoint_mismatch (validly signed, but the chain differs at its size)', () => {
  const cp = checkpointAt(key, ORIGIN, base, 8);
  // A consistent rewrite from entry 5 on: the chain alone cannot tell...
  const e = cloneEntries(base);
  e[4]!.canonical = eulaEvent(12345, { id: e[4]!.eventId }).canonical;
  rehashFrom(e, 4);
  assert.equal(verifyLedger(e, [], opts).ok, true);
  // ...the checkpoint can, at its size.
  expectFault(verifyLedger(e, [cp], opts), 'checkpoint_mismatch', 8);
  // A checkpoint before the rewrite still verifies; the fault is named at the covering one.
  const r = verifyLedger(e, [checkpointAt(key, ORIGIN, base, 3), cp], opts);
  expectFault(r, 'checkpoint_mismatch', 8);
});

test('verifier: checkpoint_beyond_end (tail removed past a checkpoint)', () => {
  const cp = checkpointAt(key, ORIGIN, base, 9);
  expectFault(verifyLedger(base.slice(0, 7), [cp], opts), 'checkpoint_beyond_end', 8);
  // Without a checkpoint covering it, a truncated tail is a valid shorter ledger.
  const r = verifyLedger(base.slice(0, 7), [checkpointAt(key, ORIGIN, base, 5)], opts);
  assert.equal(r.ok, true);
  assert.equal(r.size, 7);
});

test('verifier: the first fault wins; later entries are ignored', () => {
  const e = cloneEntries(base);
  flip(e[2]!.canonical, 30, 1); // leaf mismatch at 3
  flip(e[6]!.chainHash, 0, 1); // chain mismatch at 7
  const v = new LedgerVerifier(opts);
  v.addCheckpoints([]);
  const accepted = e.map((x) => v.push(x));
  assert.deepEqual(accepted, [true, true, false, false, false, false, false, false, false, false]);
  expectFault(v.finish(), 'leaf_hash_mismatch', 3);
});

test('verifier: resumeFrom verifies a segment after a trusted prefix', () => {
  const keys = new Map([[key.keyId, key.publicKey]]);
  const seg = base.slice(5);
  const ok = verifyLedger(seg, [checkpointAt(key, ORIGIN, base, 10)], { resumeFrom: { size: 5, chainHash: base[4]!.chainHash, origin: ORIGIN, keys } });
  assert.equal(ok.ok, true, JSON.stringify(ok.fault));
  assert.equal(ok.size, 10);
  const bad = verifyLedger(seg, [], { resumeFrom: { size: 5, chainHash: base[3]!.chainHash, origin: ORIGIN, keys } });
  expectFault(bad, 'prev_hash_mismatch', 6);
});

test('verifier: event types other than genesis pass; ids and bytes are checked as stored', () => {
  const events = [genesisEvent(key, ORIGIN), eventOf('acceptance.recorded', { subject: 's1' }), eventOf('dossier.issued', { n: '1' })];
  assert.equal(verifyLedger(chainEntries(events), [], opts).ok, true);
});
