// Receipts with inclusion proofs: before a checkpoint covers the entry the receipt has
// `inclusion: null` and the service's promise; after `ledger.checkpoint()` it carries the RFC 9162
// audit path to the latest signed checkpoint note, which `verifyReceiptInclusion` and
// `assentmark receipt verify` check (note signature under the trusted key as the origin, origin,
// size, audit path). Every tampering fails with its own message; v1 receipts still verify.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canonicalBytes } from '../src/canonical/jcs.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import {
  inclusionPromise, RECEIPT_TYPE, RECEIPT_TYPE_V1, verifyReceipt, verifyReceiptInclusion, type Receipt, type ServedReceipt,
} from '../src/assent/receipt.js';
import { AssentService } from '../src/assent/service.js';
import { readCheckpoint, signCheckpointNoteV2 } from '../src/ledger/checkpoint.js';
import { verifyInclusion } from '../src/ledger/merkle.js';
import { AssentJson, ReceiptJson } from '../src/http/presenters/assent.js';
import { CLI_MAIN, useTestApp } from './helpers/app.js';
import { flip, run, type RunResult } from './helpers/tools.js';

type Json = Record<string, any>;

const ORIGIN = 'assentmark.local/ledger';

/**
 * A receipt made by the v1 code (before leaf indexes: `git show 33dc839:src/assent/receipt.ts`),
 * with a fixed key (seed 32 × 0x11) and a synthetic entry 3. It must verify forever.
 */
const V1_PUBLIC_KEY = '0EqyMnQrtKs6E2i9RhXk5tAiSrcaAWuvhSCjMsl3hzc=';
const V1_RECEIPT = {
  payload: {
    type: 'assentmark.receipt/v1',
    origin: ORIGIN,
    event: {
      data: {
        client_time: '2026-03-02T09:59:59.000Z',
        eula: { effective_at: '2026-01-01T00:00:00.000Z', id: '7d1c9a2e-0000-4000-8000-000000000001', slug: 'api-terms', text_sha256: 'ab'.repeat(32), version: '1.0' },
        method: 'checkbox',
        presentation: { button_text: 'Create account', consent_text: 'I agree — café', locale: 'en-GB', page_url: 'https://example.org/signup' },
        record_id: '0c1d2e3f-0000-4000-8000-000000000002',
        shown_text_sha256: 'ab'.repeat(32),
        subject: 'user-v1',
      },
      id: '2f0b7f0e-5d4c-4c55-9a55-0c2b8d0e1a01',
      time: '2026-03-02T10:00:00.000Z',
      type: 'acceptance.recorded',
      v: 1,
    },
    ledger: {
      seq: 3,
      event_id: '2f0b7f0e-5d4c-4c55-9a55-0c2b8d0e1a01',
      leaf_hash: 'b0af9445e7742e02e366dc159b955e59ced643eb3c0af1759d28bbc61e3c35ac',
      chain_hash: 'b2f2689a694c851a7a3e66161582b59dd70007337b782e046b21dcd9f93851a2',
    },
  },
  signed_bytes: 'eyJldmVudCI6eyJkYXRhIjp7ImNsaWVudF90aW1lIjoiMjAyNi0wMy0wMlQwOTo1OTo1OS4wMDBaIiwiZXVsYSI6eyJlZmZlY3RpdmVfYXQiOiIyMDI2LTAxLTAxVDAwOjAwOjAwLjAwMFoiLCJpZCI6IjdkMWM5YTJlLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMSIsInNsdWciOiJhcGktdGVybXMiLCJ0ZXh0X3NoYTI1NiI6ImFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWIiLCJ2ZXJzaW9uIjoiMS4wIn0sIm1ldGhvZCI6ImNoZWNrYm94IiwicHJlc2VudGF0aW9uIjp7ImJ1dHRvbl90ZXh0IjoiQ3JlYXRlIGFjY291bnQiLCJjb25zZW50X3RleHQiOiJJIGFncmVlIOKAlCBjYWbDqSIsImxvY2FsZSI6ImVuLUdCIiwicGFnZV91cmwiOiJodHRwczovL2V4YW1wbGUub3JnL3NpZ251cCJ9LCJyZWNvcmRfaWQiOiIwYzFkMmUzZi0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDIiLCJzaG93bl90ZXh0X3NoYTI1NiI6ImFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWJhYmFiYWIiLCJzdWJqZWN0IjoidXNlci12MSJ9LCJpZCI6IjJmMGI3ZjBlLTVkNGMtNGM1NS05YTU1LTBjMmI4ZDBlMWEwMSIsInRpbWUiOiIyMDI2LTAzLTAyVDEwOjAwOjAwLjAwMFoiLCJ0eXBlIjoiYWNjZXB0YW5jZS5yZWNvcmRlZCIsInYiOjF9LCJsZWRnZXIiOnsiY2hhaW5faGFzaCI6ImIyZjI2ODlhNjk0Yzg1MWE3YTNlNjYxNjE1ODJiNTlkZDcwMDA3MzM3Yjc4MmUwNDZiMjFkY2Q5ZjkzODUxYTIiLCJldmVudF9pZCI6IjJmMGI3ZjBlLTVkNGMtNGM1NS05YTU1LTBjMmI4ZDBlMWEwMSIsImxlYWZfaGFzaCI6ImIwYWY5NDQ1ZTc3NDJlMDJlMzY2ZGMxNTliOTU1ZTU5Y2VkNjQzZWIzYzBhZjE3NTlkMjhiYmM2MWUzYzM1YWMiLCJzZXEiOjN9LCJvcmlnaW4iOiJhc3NlbnRtYXJrLmxvY2FsL2xlZGdlciIsInR5cGUiOiJhc3NlbnRtYXJrLnJlY2VpcHQvdjEifQ==',
  signature: '9jBH6WYDSuuDvx9Y2Qv5cyZBhjwuw+CUQqAOOZwdTfBNJhMrGhSxXrNzNPlOZo8g73AIq6kR9fQcfolSZdOPAw==',
  key_id: '6f4a6a6610adfb8275e58935f6a9c4c9',
  alg: 'Ed25519',
};

/** The acceptances made in setup: id and the receipt fetched before any checkpoint. */
const made: Array<{ id: string; seq: number; early: ServedReceipt }> = [];
let dir: string;
let keysFile: string;

const t = useTestApp({
  async setup(app) {
    dir = mkdtempSync(path.join(tmpdir(), 'assentmark-inclusion-'));
    await app.publishEula();
    for (const subject of ['incl-1', 'incl-2', 'incl-3']) {
      const acc = await app.accept({ subject });
      assert.equal(acc.status, 201, acc.text);
      const got = await app.get(`/v1/acceptances/${acc.body.id}/receipt`, 'investigator');
      assert.equal(got.status, 200, got.text);
      made.push({ id: acc.body.id as string, seq: acc.body.ledger.seq as number, early: got.body as ServedReceipt });
    }
    keysFile = path.join(dir, 'keys.json');
    writeFileSync(keysFile, (await app.get('/.well-known/assentmark/keys.json')).text);
  },
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function cli(receipt: unknown, key = keysFile, ...extra: string[]): RunResult {
  const file = path.join(mkdtempSync(path.join(dir, 'r-')), 'receipt.json');
  writeFileSync(file, JSON.stringify(receipt));
  return run(process.execPath, [CLI_MAIN, 'receipt', 'verify', file, '--public-key', key, ...extra], { env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 60_000 });
}

function expectInvalid(receipt: unknown, reason: RegExp): void {
  const r = cli(receipt);
  assert.equal(r.status, 1, `should be rejected: ${r.out}`);
  assert.match(r.stdout, /^INVALID: the signature is valid, but the inclusion proof is not: /);
  assert.match(r.stdout, reason);
}

const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const key = () => t.ctx.ledger.signingKey.publicKey;

async function receiptOf(id: string): Promise<ServedReceipt> {
  const r = await t.get(`/v1/acceptances/${id}/receipt`, 'signup');
  assert.equal(r.status, 200, r.text);
  return r.body as ServedReceipt;
}

const signedPart = (r: Receipt): Json => ({ payload: r.payload, signed_bytes: r.signed_bytes, signature: r.signature, key_id: r.key_id, alg: r.alg });

/** The body parses under `schema` and parsing dropped nothing. */
function exactly(schema: { safeParse(v: unknown): { success: boolean; data?: unknown; error?: unknown } }, body: unknown, what: string): void {
  const r = schema.safeParse(body);
  assert.ok(r.success, `${what}: ${JSON.stringify(r.error)}`);
  assert.deepEqual(r.data, body, `${what}: the body has members its schema does not document`);
}

describe('before a checkpoint covers the entry', () => {
  test('a v2 receipt with the leaf index, inclusion null and the promise', async () => {
    for (const m of made) {
      const r = m.early;
      assert.equal(r.payload.type, RECEIPT_TYPE);
      assert.equal(r.payload.ledger.leaf_index, m.seq - 1);
      assert.equal(r.inclusion, null);
      assert.match(r.promise!, /^a signed promise: this entry will be covered by .*signed checkpoint.*; fetch this receipt again for its inclusion proof$/);
      const c = verifyReceipt(r, key());
      assert.ok(c.ok, c.ok ? '' : c.reason);
      assert.equal(c.version, 2);
      assert.equal(c.leafIndex, m.seq - 1);
      exactly(ReceiptJson, r, 'GET receipt (no checkpoint)');
    }
    const rec = await t.get(`/v1/acceptances/${made[0]!.id}`, 'investigator');
    exactly(AssentJson, rec.body, 'GET record (no checkpoint)');
    assert.equal(rec.body.receipt.inclusion, null);
    assert.equal(rec.body.ledger.leaf_index, made[0]!.seq - 1);
  });

  test('receipt verify: exit 0, and says plainly it is a signed promise not yet backed by a proof', () => {
    const r = cli(made[0]!.early);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /^OK: acceptance\.recorded of api-terms 1\.0 by subject "incl-1" at .*, ledger entry \d+ of assentmark\.local\/ledger\n/);
    assert.match(r.stdout, /\nnot yet included: this receipt is a signed promise, not yet backed by a proof that a signed checkpoint includes entry \d+; fetch it again later for its inclusion proof \(the service says: a signed promise: /);
    const j = JSON.parse(cli(made[0]!.early, keysFile, '--json').stdout) as Json;
    assert.equal(j.ok, true);
    assert.equal(j.inclusion.status, 'not_yet_included');
    assert.equal(j.inclusion.promise, made[0]!.early.promise);
  });

  test('the promise states the max merge delay from the configured checkpoint schedule', async () => {
    assert.equal(inclusionPromise({ intervalMs: 1000, every: 10_000 }), 'a signed promise: this entry will be covered by a signed checkpoint within 1 s (ASSENTMARK_CHECKPOINT_INTERVAL_MS=1000); fetch this receipt again for its inclusion proof');
    assert.match(inclusionPromise({ intervalMs: 250, every: 0 }), /within 250 ms \(ASSENTMARK_CHECKPOINT_INTERVAL_MS=250\)/);
    assert.match(inclusionPromise({ intervalMs: 0, every: 10_000 }), /next signed checkpoint, signed once 10000 entries follow the last one \(ASSENTMARK_CHECKPOINT_EVERY=10000\) or on request \(ASSENTMARK_CHECKPOINT_INTERVAL_MS=0: no checkpoint timer\)/);
    // The service given the schedule (as the composition root passes config) says it in receipts.
    const s = t.built.services;
    const svc = new AssentService({ records: t.ctx.repos.assentRecords, idempotency: t.ctx.repos.idempotency, openings: t.ctx.repos.openings }, t.ctx.ledger, s.eulas, s.watermarkKeys, s.pseudonyms, () => {}, {
      checkpoints: { intervalMs: 1000, every: 10_000 },
    });
    const r = await svc.receipt(made[0]!.id);
    assert.equal(r.inclusion, null);
    assert.equal(r.promise, inclusionPromise({ intervalMs: 1000, every: 10_000 }));
  });
});

/** The receipts as served after the latest checkpoint, and its size. */
let served: ServedReceipt[] = [];
let size = 0;

describe('after ledger.checkpoint()', () => {
  test('the receipt carries an inclusion proof to the latest signed note, which verifies', async () => {
    const cp = await t.ctx.ledger.checkpoint();
    assert.ok(cp);
    size = cp.size;
    served = await Promise.all(made.map((m) => receiptOf(m.id)));
    served.forEach((r, i) => {
      const m = made[i]!;
      assert.deepEqual(signedPart(r), signedPart(m.early), 'the signed part is identical before and after');
      assert.equal(r.promise, undefined);
      assert.ok(r.inclusion);
      assert.equal(r.inclusion.tree_size, cp.size);
      assert.equal(r.inclusion.leaf_index, m.seq - 1);
      assert.equal(r.inclusion.checkpoint, cp.body.toString('utf8'));
      for (const h of r.inclusion.proof) assert.match(h, /^[0-9a-f]{64}$/);
      // The proof, checked directly against the stored checkpoint's root ...
      const proof = r.inclusion.proof.map((h) => Buffer.from(h, 'hex'));
      assert.ok(verifyInclusion(m.seq - 1, cp.size, Buffer.from(r.payload.ledger.leaf_hash, 'hex'), proof, cp.rootHash!));
      // ... and as a receipt verifier does.
      const sig = verifyReceipt(r, key());
      assert.ok(sig.ok);
      const inc = verifyReceiptInclusion(sig.payload, r.inclusion, key());
      assert.ok(inc.ok, inc.ok ? '' : inc.reason);
      assert.equal(inc.treeSize, cp.size);
      assert.equal(inc.time, readCheckpoint(cp.body)!.time);
      exactly(ReceiptJson, r, 'GET receipt (with inclusion)');
    });
    const rec = await t.get(`/v1/acceptances/${made[1]!.id}`, 'investigator');
    exactly(AssentJson, rec.body, 'GET record (with inclusion)');
    assert.deepEqual(rec.body.receipt, served[1]);
  });

  test('receipt verify: "included in the checkpoint of size N signed <time>"', async () => {
    const time = readCheckpoint((await t.ctx.ledger.latestNoteCheckpoint())!.body)!.time;
    for (const [i, r] of served.entries()) {
      const out = cli(r);
      assert.equal(out.status, 0, out.out);
      assert.match(out.stdout, /^OK: acceptance\.recorded of api-terms 1\.0 by subject "incl-\d" at .*, ledger entry \d+ of assentmark\.local\/ledger\n/);
      assert.ok(out.stdout.includes(`\nincluded in the checkpoint of size ${size} signed ${time} (leaf index ${made[i]!.seq - 1}, root `), out.stdout);
    }
    const j = JSON.parse(cli(served[0]!, keysFile, '--json').stdout) as Json;
    assert.equal(j.ok, true);
    assert.deepEqual({ ...j.inclusion, root_hash: undefined }, { status: 'included', tree_size: size, leaf_index: made[0]!.seq - 1, checkpoint_time: time, root_hash: undefined });
  });

  test('a later checkpoint: the receipt now proves inclusion in it', async () => {
    const more = await t.accept({ subject: 'incl-4' });
    assert.equal(more.status, 201);
    assert.equal(more.body.receipt.inclusion, null, 'the 201 response is sent before a checkpoint covers the entry');
    const cp = await t.ctx.ledger.checkpoint();
    assert.ok(cp && cp.size > size);
    const r = await receiptOf(made[0]!.id);
    assert.equal(r.inclusion!.tree_size, cp.size);
    assert.equal(cli(r).status, 0);
    const latest = await receiptOf(more.body.id as string);
    assert.equal(latest.inclusion!.tree_size, cp.size);
    assert.equal(latest.inclusion!.leaf_index, cp.size - 2, 'the acceptance precedes its watermark key assignment, the last entry');
    const out = cli(latest);
    assert.equal(out.status, 0, out.out);
    served = await Promise.all(made.map((m) => receiptOf(m.id)));
    size = cp.size;
  });
});

describe('receipt verify rejects every bad inclusion with its reason (exit 1)', () => {
  test('a changed proof hash', () => {
    for (const i of [0, -1]) {
      const bad = copy(served[0]!) as Json;
      const proof = bad.inclusion.proof as string[];
      const at = i < 0 ? proof.length - 1 : i;
      proof[at] = flip(Buffer.from(proof[at]!, 'hex'), 3, 0x10).toString('hex');
      expectInvalid(bad, /the inclusion proof of leaf \d+ does not lead to the root of the checkpoint of size \d+: the audit path leads to a different root/);
    }
    const short = copy(served[0]!) as Json;
    short.inclusion.proof.pop();
    expectInvalid(short, /the proof is too short/);
    const long = copy(served[0]!) as Json;
    long.inclusion.proof.push('00'.repeat(32));
    expectInvalid(long, /the proof is too long/);
    const upper = copy(served[0]!) as Json;
    upper.inclusion.proof[0] = (upper.inclusion.proof[0] as string).toUpperCase();
    expectInvalid(upper, /inclusion proof element 1 is not a 32-byte hash in lowercase hex/);
  });

  test('a proof for another leaf', () => {
    // The other entry's whole inclusion member: it names its own leaf index.
    const swapped = copy(served[0]!) as Json;
    swapped.inclusion = copy(served[1]!.inclusion);
    expectInvalid(swapped, new RegExp(`the inclusion proof is for leaf index ${made[1]!.seq - 1}, but this receipt's entry ${made[0]!.seq} is leaf index ${made[0]!.seq - 1}`));
    // Only its audit path, under this receipt's leaf index.
    const pathOnly = copy(served[0]!) as Json;
    pathOnly.inclusion.proof = copy(served[1]!.inclusion!.proof);
    assert.notDeepEqual(pathOnly.inclusion.proof, served[0]!.inclusion!.proof);
    expectInvalid(pathOnly, /does not lead to the root of the checkpoint of size \d+/);
  });

  test('a note signed by another key', () => {
    const cp = readCheckpoint(Buffer.from(served[0]!.inclusion!.checkpoint, 'utf8'))!;
    const other = SigningKey.generate();
    const bad = copy(served[0]!) as Json;
    bad.inclusion.checkpoint = signCheckpointNoteV2(other, ORIGIN, cp.size, cp.rootHash!, cp.chainHash, new Date(cp.time)).body.toString('utf8');
    expectInvalid(bad, /the checkpoint is not signed by the trusted key under the name "assentmark\.local\/ledger" \(it is signed by assentmark\.local\/ledger\+[0-9a-f]{8}\)/);
    // The right key, but under another key name.
    const renamed = copy(served[0]!) as Json;
    renamed.inclusion.checkpoint = (renamed.inclusion.checkpoint as string).replace(`\n\n— ${ORIGIN} `, '\n\n— someone-else ');
    expectInvalid(renamed, /the checkpoint is not signed by the trusted key under the name "assentmark\.local\/ledger" \(it is signed by someone-else\+/);
  });

  test('a note for another origin (signed by the trusted key)', () => {
    const cp = readCheckpoint(Buffer.from(served[0]!.inclusion!.checkpoint, 'utf8'))!;
    const bad = copy(served[0]!) as Json;
    bad.inclusion.checkpoint = signCheckpointNoteV2(t.ctx.ledger.signingKey, 'other.example/ledger', cp.size, cp.rootHash!, cp.chainHash, new Date(cp.time)).body.toString('utf8');
    expectInvalid(bad, /the checkpoint is for origin "other\.example\/ledger", not the receipt's origin "assentmark\.local\/ledger"/);
  });

  test('an edited note, a size that is not the note\'s, a malformed member', () => {
    const edited = copy(served[0]!) as Json;
    edited.inclusion.checkpoint = (edited.inclusion.checkpoint as string).replace(/\ntime (\S+)\n/, '\ntime 2020-01-01T00:00:00.000Z\n');
    assert.notEqual(edited.inclusion.checkpoint, served[0]!.inclusion!.checkpoint);
    expectInvalid(edited, /the checkpoint's signature by the trusted key does not verify/);
    const sized = copy(served[0]!) as Json;
    sized.inclusion.tree_size += 1;
    expectInvalid(sized, new RegExp(`the inclusion proof is for a tree of ${size + 1} entries, but the checkpoint is of size ${size}`));
    const notNote = copy(served[0]!) as Json;
    notNote.inclusion.checkpoint = 'not a note';
    expectInvalid(notNote, /the inclusion checkpoint is not a well-formed signed checkpoint note/);
    const notObject = copy(served[0]!) as Json;
    notObject.inclusion = 'included, trust me';
    expectInvalid(notObject, /the inclusion member is not an object/);
    // --json: the signature is valid, the receipt is not.
    const j = cli(sized, keysFile, '--json');
    assert.equal(j.status, 1);
    const out = JSON.parse(j.stdout) as Json;
    assert.equal(out.ok, false);
    assert.equal(out.signature_valid, true);
    assert.match(out.reason as string, /^the signature is valid, but the inclusion proof is not: the inclusion proof is for a tree of/);
  });

  test('the inclusion proof cannot rescue a bad signature', () => {
    const bad = copy(served[0]!) as Json;
    bad.signature = flip(Buffer.from(bad.signature as string, 'base64'), 0, 1).toString('base64');
    const r = cli(bad);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^INVALID: signature does not verify/);
  });
});

describe('v1 receipts (signed before leaf indexes)', () => {
  test('the v1 receipt made by the old code still verifies, with its leaf index implied', () => {
    const pub = Buffer.from(V1_PUBLIC_KEY, 'base64');
    const c = verifyReceipt(V1_RECEIPT, pub);
    assert.ok(c.ok, c.ok ? '' : c.reason);
    assert.equal(c.version, 1);
    assert.equal(c.payload.type, RECEIPT_TYPE_V1);
    assert.equal(c.leafIndex, 2);
    const r = cli(V1_RECEIPT, V1_PUBLIC_KEY);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /^OK: acceptance\.recorded of api-terms 1\.0 by subject "user-v1" at 2026-03-02T10:00:00\.000Z, ledger entry 3 of assentmark\.local\/ledger\nnot yet included: this receipt is a signed promise/);
    // Still strict: any edit fails.
    const edited = copy(V1_RECEIPT) as Json;
    edited.payload.ledger.seq = 4;
    assert.equal(cli(edited, V1_PUBLIC_KEY).status, 1);
  });

  test('a v1 receipt of a real entry, with the inclusion proof served today', () => {
    // What the v1 code signed for this entry: the v2 payload without leaf_index.
    const v2 = served[2]!;
    const { leaf_index: _, ...ledgerV1 } = v2.payload.ledger;
    const payload = { ...v2.payload, type: RECEIPT_TYPE_V1, ledger: ledgerV1 };
    const bytes = canonicalBytes(payload);
    const v1 = { payload, signed_bytes: bytes.toString('base64'), signature: t.ctx.ledger.signingKey.sign(bytes).toString('base64'), key_id: v2.key_id, alg: 'Ed25519', inclusion: v2.inclusion };
    const r = cli(v1);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, new RegExp(`\\nincluded in the checkpoint of size ${size} signed `));
    // A v2 receipt whose signed leaf index is not seq - 1 is refused before any proof.
    const wrong = { ...v2.payload, ledger: { ...v2.payload.ledger, leaf_index: v2.payload.ledger.leaf_index + 1 } };
    const wb = canonicalBytes(wrong);
    const forged = { payload: wrong, signed_bytes: wb.toString('base64'), signature: t.ctx.ledger.signingKey.sign(wb).toString('base64'), key_id: v2.key_id, alg: 'Ed25519' };
    const f = cli(forged);
    assert.equal(f.status, 1);
    assert.match(f.stdout, /^INVALID: the signed leaf index \d+ is not entry \d+'s \(\d+\)/);
  });
});
