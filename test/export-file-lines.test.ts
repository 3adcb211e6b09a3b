// verifyExportFile splits lines as readline does (LF, CRLF, a lone CR) and reads entry lines in
// blocks: the same ledger written with each line ending, with blank lines, without a final
// newline, and with a CRLF split across the reader's 1 MiB chunks, verifies to the same report;
// a broken line is reported with its number.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SigningKey } from '../src/crypto/ed25519.js';
import { chainHash, genesisEventId, prepareEvent, ZERO_HASH, type LedgerEntry } from '../src/ledger/format.js';
import { MerkleFrontier } from '../src/ledger/merkle.js';
import { signCheckpointNoteV2 } from '../src/ledger/checkpoint.js';
import { EXPORT_FORMAT, verifyExportFile } from '../src/ledger/export.js';
import { closeVerifierPool } from '../src/ledger/verifier-pool.js';

const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-export-lines-'));
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await closeVerifierPool();
});

const ORIGIN = 'lines.test/ledger';
const key = SigningKey.fromSeed(Buffer.alloc(32, 3));
const N = 3000;

const lines: string[] = [];
{
  const tree = new MerkleFrontier();
  let prev: Buffer = ZERO_HASH;
  const entries: LedgerEntry[] = [];
  const cps: string[] = [];
  for (let seq = 1; seq <= N; seq++) {
    const ev = seq === 1
      ? prepareEvent('ledger.genesis', { origin: ORIGIN, signing_key: { alg: 'Ed25519', key_id: key.keyId, public_key: key.publicKey.toString('base64') } }, { id: genesisEventId(ORIGIN), time: new Date(0) })
      : prepareEvent('acceptance.recorded', { subject: `user-${seq}`, note: 'x'.repeat(seq % 300) }, { id: randomUUID(), time: new Date(seq * 1000) });
    const chain = chainHash(seq, prev, ev.leafHash);
    entries.push({ seq, eventId: ev.id, eventType: ev.type, canonical: ev.canonical, leafHash: ev.leafHash, prevHash: prev, chainHash: chain });
    tree.push(ev.leafHash);
    if (seq === 1000 || seq === N) {
      const cp = signCheckpointNoteV2(key, ORIGIN, seq, tree.root(), chain, new Date(seq * 1000));
      cps.push(JSON.stringify({ kind: 'checkpoint', format: 2, body: cp.body.toString('base64'), signature: cp.signature.toString('base64') }));
    }
    prev = chain;
  }
  lines.push(JSON.stringify({ format: EXPORT_FORMAT, origin: ORIGIN, exported_at: '2026-12-01T00:00:00.000Z' }), ...cps);
  for (const e of entries) {
    lines.push(JSON.stringify({ kind: 'entry', seq: e.seq, event_id: e.eventId, event_type: e.eventType, recorded_at: new Date(e.seq * 1000).toISOString(),
      canonical: e.canonical.toString('base64'), leaf_hash: e.leafHash.toString('hex'), prev_hash: e.prevHash.toString('hex'), chain_hash: e.chainHash.toString('hex') }));
  }
}

let n = 0;
const file = (text: string) => {
  const f = path.join(dir, `export-${n++}.jsonl`);
  writeFileSync(f, text);
  return f;
};
const opts = { trustedPublicKey: key.publicKey, origin: ORIGIN };

test('every line ending gives the same report, in blocks of any size', async () => {
  const ref = await verifyExportFile(file(lines.join('\n') + '\n'), opts);
  assert.ok(ref.ok, JSON.stringify(ref.fault));
  assert.equal(ref.size, N);
  assert.equal(ref.checkpointsVerified, 2);
  const mixed = lines.map((l, i) => l + ['\n', '\r\n', '\r'][i % 3]).join('');
  for (const text of [lines.join('\r\n') + '\r\n', lines.join('\r'), mixed, lines.join('\n'), lines.join('\n\n \n') + '\n\n']) {
    for (const chunkLines of [1, 7, 4096]) assert.deepEqual(await verifyExportFile(file(text), { ...opts, chunkLines }), ref, `${JSON.stringify(text.slice(lines[0]!.length, lines[0]!.length + 4))} chunks of ${chunkLines}`);
  }
});

test('a CRLF split across the 1 MiB reads of the file is one line break', async () => {
  const ref = await verifyExportFile(file(lines.join('\n') + '\n'), opts);
  // JSON allows spaces after the header object: pad it so its CR is the last byte of the first read.
  const header = lines[0]! + ' '.repeat((1 << 20) - 1 - lines[0]!.length);
  const text = [header, ...lines.slice(1)].join('\r\n') + '\r\n';
  assert.equal(Buffer.from(text)[(1 << 20) - 1], 0x0d);
  assert.deepEqual(await verifyExportFile(file(text), opts), ref);
  // The same for an entry line's CRLF.
  const before = Buffer.byteLength(lines.slice(0, 1500).join('\r\n') + '\r\n');
  const pad = (2 << 20) - 1 - before;
  const padded = [...lines.slice(0, 1500), ...lines.slice(1500)];
  const t2 = padded.slice(0, 1500).join('\r\n') + '\r\n' + ' '.repeat(pad) + '\r\n' + padded.slice(1500).join('\r\n');
  assert.equal(Buffer.from(t2)[(2 << 20) - 1], 0x0d);
  assert.deepEqual(await verifyExportFile(file(t2), opts), ref);
});

test('a broken entry line is reported with its number', async () => {
  const broken = [...lines];
  broken[2500] = broken[2500]!.slice(0, 40);
  await assert.rejects(verifyExportFile(file(broken.join('\r\n')), opts), (e: Error) => e.message.includes('line 2501'));
  const odd = [...lines];
  odd[1700] = odd[1700]!.replace(/"leaf_hash":"[0-9a-f]{64}"/, '"leaf_hash":"zz"');
  await assert.rejects(verifyExportFile(file(odd.join('\n')), opts), (e: Error) => e.message.includes('line 1701'));
});
