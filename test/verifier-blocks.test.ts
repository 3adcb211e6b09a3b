// The worker-thread verifier hashes aligned blocks of 256 leaves into subtree roots, and its
// calling thread adds a block's root only once all of its entries are accepted and no checkpoint
// falls inside it. These ledgers are long enough to have blocks: the report (fault, tree root,
// checkpoints) must equal the single-thread verifier's, for faults before, inside and at the end
// of a block and for checkpoints inside, at the end of and between blocks, in pages of several sizes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SigningKey } from '../src/crypto/ed25519.js';
import { chainHash, genesisEventId, leafHash, prepareEvent, ZERO_HASH, type LedgerEntry } from '../src/ledger/format.js';
import { MerkleFrontier } from '../src/ledger/merkle.js';
import { signCheckpointNoteV2, type SignedCheckpoint } from '../src/ledger/checkpoint.js';
import { LedgerVerifier, verifyLedger, type VerifyReport } from '../src/ledger/verifier.js';
import { closeVerifierPool, verifyChunks, type VerifyTask } from '../src/ledger/verifier-pool.js';
import { PACKED_FIXED } from '../src/ledger/verify-worker.js';

after(closeVerifierPool);

const ORIGIN = 'blocks.test/ledger';
const key = SigningKey.fromSeed(Buffer.alloc(32, 9));
const N = 1100;

function build(): { entries: LedgerEntry[]; roots: Buffer[] } {
  const entries: LedgerEntry[] = [];
  const roots: Buffer[] = [Buffer.alloc(0)];
  const tree = new MerkleFrontier();
  let prev: Buffer = ZERO_HASH;
  for (let seq = 1; seq <= N; seq++) {
    const ev = seq === 1
      ? prepareEvent('ledger.genesis', { origin: ORIGIN, signing_key: { alg: 'Ed25519', key_id: key.keyId, public_key: key.publicKey.toString('base64') } }, { id: genesisEventId(ORIGIN), time: new Date(0) })
      : prepareEvent('acceptance.recorded', { subject: `user-${seq}`, n: seq }, { id: randomUUID(), time: new Date(seq * 1000) });
    const chain = chainHash(seq, prev, ev.leafHash);
    entries.push({ seq, eventId: ev.id, eventType: ev.type, canonical: ev.canonical, leafHash: ev.leafHash, prevHash: prev, chainHash: chain });
    tree.push(ev.leafHash);
    roots.push(tree.root());
    prev = chain;
  }
  return { entries, roots };
}

const { entries, roots } = build();
const checkpoint = (size: number): SignedCheckpoint => signCheckpointNoteV2(key, ORIGIN, size, roots[size]!, entries[size - 1]!.chainHash, new Date(size * 1000));

/** The packed page layout of LedgerRepository (embedded database), as the workers read it. */
function packed(es: LedgerEntry[]): VerifyTask {
  const parts: Buffer[] = [];
  for (const e of es) {
    const head = Buffer.alloc(PACKED_FIXED);
    head.writeUInt32BE(Math.floor(e.seq / 2 ** 32), 0);
    head.writeUInt32BE(e.seq >>> 0, 4);
    e.leafHash.copy(head, 9);
    e.prevHash.copy(head, 41);
    e.chainHash.copy(head, 73);
    parts.push(head);
    for (const f of [Buffer.from(e.eventId, 'latin1'), Buffer.from(e.eventType, 'utf8'), e.canonical]) {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(f.length);
      parts.push(len, f);
    }
  }
  return { kind: 'packed', bytes: Buffer.concat(parts), count: es.length };
}

async function threaded(es: LedgerEntry[], cps: SignedCheckpoint[], page: number): Promise<VerifyReport> {
  const v = new LedgerVerifier({ trustedPublicKey: key.publicKey, origin: ORIGIN });
  v.addCheckpoints(cps);
  async function* tasks(): AsyncGenerator<VerifyTask> {
    for (let i = 0; i < es.length; i += page) yield packed(es.slice(i, i + page));
  }
  if (!v.fault) await verifyChunks(v, tasks());
  return v.finish();
}

const cases: Array<{ name: string; edit?: (es: LedgerEntry[]) => LedgerEntry[]; cps: number[] }> = [
  { name: 'intact, checkpoints between, inside and at the end of blocks', cps: [100, 256, 300, 512, 1024, 1100] },
  { name: 'intact, no checkpoint', cps: [] },
  { name: 'event bytes edited inside a block (entry 600)', cps: [300, 1100], edit: (es) => es.map((e) => (e.seq === 600 ? { ...e, canonical: Buffer.from(e.canonical.toString().replace('user-', 'user_')) } : e)) },
  { name: 'edited at the last entry of a block (768)', cps: [1000], edit: (es) => es.map((e) => (e.seq === 768 ? { ...e, leafHash: Buffer.alloc(32, 1) } : e)) },
  { name: 'edited at the first entry of a block (257)', cps: [512], edit: (es) => es.map((e) => (e.seq === 257 ? { ...e, chainHash: Buffer.alloc(32, 2) } : e)) },
  { name: 'an entry removed inside a block (700)', cps: [900], edit: (es) => es.filter((e) => e.seq !== 700) },
  { name: 'a checkpoint root that is wrong at a block end (512)', cps: [512], edit: (es) => es },
  { name: 'two entries swapped across a block boundary (512, 513)', cps: [1024], edit: (es) => es.map((e, i) => (e.seq === 512 ? es[i + 1]! : e.seq === 513 ? es[i - 1]! : e)) },
];

for (const c of cases) {
  test(`worker blocks agree with one thread: ${c.name}`, async () => {
    const es = c.edit ? c.edit(entries) : entries;
    let cps = c.cps.map(checkpoint);
    if (c.name.startsWith('a checkpoint root that is wrong')) cps = [signCheckpointNoteV2(key, ORIGIN, 512, roots[511]!, entries[511]!.chainHash, new Date(0))];
    const single = verifyLedger(es, cps, { trustedPublicKey: key.publicKey, origin: ORIGIN });
    if (!c.edit) assert.ok(single.ok, JSON.stringify(single.fault));
    else assert.ok(!single.ok);
    assert.equal(single.treeRoot !== null, true);
    for (const page of [300, 512, 1100]) assert.deepEqual(await threaded(es, cps, page), single, `pages of ${page}`);
  });
}
