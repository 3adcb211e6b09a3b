// Offline receipt verification: `assentmark receipt verify FILE --public-key K` accepts a real
// receipt with the key as a PEM file, base64, hex or a saved keys.json, and rejects every edit.
// The OpenSSL-only recipes in docs/receipts.md, and the inclusion check with OpenSSL and Python's
// standard library, are run verbatim through bash. openssl, bash, python3 and coreutils are
// required: a missing tool fails the test (CI installs them). (The CLI's inclusion checks:
// test/receipt-inclusion.test.ts.)
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalBytes } from '../src/canonical/jcs.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import { readCheckpoint, signCheckpointNoteV2 } from '../src/ledger/checkpoint.js';
import { CLI_MAIN, useTestApp } from './helpers/app.js';
import { flip, hasTool, run, type RunOptions, type RunResult } from './helpers/tools.js';

type Json = Record<string, any>;

const here = path.dirname(fileURLToPath(import.meta.url));
const t = useTestApp({ setup });
let dir: string;
let receipt: Json;
let receiptText: string;
let responseText: string;
let keysText: string;
let keys: Json;

function docPath(): string {
  for (const c of [path.resolve(here, '../../docs/receipts.md'), path.resolve(process.cwd(), 'docs/receipts.md')]) {
    try {
      readFileSync(c);
      return c;
    } catch {
      // next
    }
  }
  throw new Error('docs/receipts.md not found');
}

/** The ```sh block that follows `<!-- test:NAME` in docs/receipts.md. */
function recipe(name: string): string {
  const doc = readFileSync(docPath(), 'utf8');
  const at = doc.indexOf(`<!-- test:${name}`);
  assert.ok(at >= 0, `docs/receipts.md has no recipe marked test:${name}`);
  const m = /```sh\n([\s\S]*?)```/.exec(doc.slice(at));
  assert.ok(m, `no sh block after test:${name}`);
  return m[1]!;
}

/** The subject's commitment in canonical event bytes, and the same bytes committing to something else. */
const SUBJECT_COMMITMENT = /"subject":\{"commitment":"[0-9a-f]{64}"/;
function otherSubjectCommitment(s: string): string {
  return s.replace(/"subject":\{"commitment":"([0-9a-f])/, (_m, c: string) => `"subject":{"commitment":"${c === '0' ? '1' : '0'}`);
}

/** How commands run here: in `cwd` (default the test's directory), with the service's logging off. */
const inDir = (cwd = dir): RunOptions => ({ cwd, env: { ...process.env, LOG_LEVEL: 'silent' }, timeout: 60_000 });

function cli(file: string, key: string, ...extra: string[]): RunResult {
  return run(process.execPath, [CLI_MAIN, 'receipt', 'verify', file, '--public-key', key, ...extra], inDir());
}

function bash(script: string, cwd = dir): RunResult {
  return run('bash', ['-euo', 'pipefail', '-c', script], inDir(cwd));
}

function write(name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  writeFileSync(p, content);
  return p;
}

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  dir = mkdtempSync(path.join(tmpdir(), 'assentmark-receipt-'));
  await t.publishEula();
  const acc = await t.accept({ subject: 'user-1', consent_text: 'I agree to the “API Terms” — café 東京 🙂' });
  assert.equal(acc.status, 201, acc.text);
  responseText = acc.text;
  const got = await t.get(`/v1/acceptances/${acc.body.id}/receipt`, 'investigator');
  assert.equal(got.status, 200);
  receiptText = got.text;
  receipt = JSON.parse(receiptText) as Json;
  const k = await t.get('/.well-known/assentmark/keys.json');
  keysText = k.text;
  keys = JSON.parse(keysText) as Json;
  write('receipt.json', receiptText);
  write('response.json', responseText);
  write('keys.json', keysText);
  write('pub.pem', keys.keys[0].public_key_pem);
  write('pretty.json', JSON.stringify(receipt, null, 2));
}

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('assentmark receipt verify', () => {
  test('exit 0 on a real receipt, with the key as PEM file, base64, hex and keys.json', () => {
    const b64 = keys.keys[0].public_key as string;
    const hex = Buffer.from(b64, 'base64').toString('hex');
    for (const [file, key] of [
      ['receipt.json', path.join(dir, 'pub.pem')],
      ['receipt.json', b64],
      ['receipt.json', hex],
      ['receipt.json', path.join(dir, 'keys.json')],
      ['response.json', path.join(dir, 'keys.json')], // a whole acceptance response
      ['pretty.json', path.join(dir, 'pub.pem')], // re-formatted JSON: the signed bytes are what count
    ] as const) {
      const r = cli(path.join(dir, file), key);
      assert.equal(r.status, 0, `${file} with ${key.slice(0, 40)}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /^OK: acceptance\.recorded of api-terms 1\.0 by subject "user-1" at .*, ledger entry \d+ of assentmark\.local\/ledger/);
    }
    const j = cli(path.join(dir, 'receipt.json'), path.join(dir, 'keys.json'), '--json');
    assert.equal(j.status, 0);
    const out = JSON.parse(j.stdout) as Json;
    assert.equal(out.ok, true);
    assert.equal(out.event_type, 'acceptance.recorded');
    assert.deepEqual(out.ledger, receipt.payload.ledger);
  });

  function tampered(name: string, edit: (r: Json) => void): string {
    const copy = JSON.parse(receiptText) as Json;
    edit(copy);
    return write(name, JSON.stringify(copy));
  }

  function expectInvalid(file: string, reason: RegExp, key = path.join(dir, 'keys.json')): void {
    const r = cli(file, key);
    assert.equal(r.status, 1, `${path.basename(file)} should be rejected: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /^INVALID: /);
    assert.match(r.stdout, reason);
  }

  test('exit 1 when the readable payload is edited', () => {
    expectInvalid(tampered('payload-subject.json', (r) => (r.payload.event.data.subject = 'mallory')), /payload differs from the signed bytes/);
    expectInvalid(tampered('payload-seq.json', (r) => (r.payload.ledger.seq += 1)), /payload differs from the signed bytes/);
    expectInvalid(tampered('payload-extra.json', (r) => (r.payload.note = 'added')), /payload differs from the signed bytes/);
  });

  test('exit 1 when signed_bytes is edited (with or without a matching payload)', () => {
    const edit = (r: Json) => {
      const s = Buffer.from(r.signed_bytes as string, 'base64').toString('utf8');
      assert.match(s, SUBJECT_COMMITMENT);
      r.signed_bytes = Buffer.from(otherSubjectCommitment(s), 'utf8').toString('base64');
    };
    expectInvalid(tampered('signed-only.json', edit), /signature does not verify/);
    expectInvalid(tampered('signed-and-payload.json', (r) => {
      edit(r);
      r.payload.event.data.subject.commitment = otherSubjectCommitment(`"subject":{"commitment":"${r.payload.event.data.subject.commitment as string}"`).split('"')[5];
    }), /signature does not verify/);
    expectInvalid(tampered('signed-truncated.json', (r) => (r.signed_bytes = (r.signed_bytes as string).slice(0, -8))), /signature does not verify|not canonical base64/);
    expectInvalid(tampered('signed-noncanonical-b64.json', (r) => (r.signed_bytes = `${r.signed_bytes as string}\n`)), /not canonical base64/);
  });

  test('exit 1 when the signature is flipped', () => {
    for (const [i, bit] of [[0, 1], [31, 0x80], [63, 0x10]] as const) {
      expectInvalid(tampered(`sig-${i}.json`, (r) => {
        r.signature = flip(Buffer.from(r.signature as string, 'base64'), i, bit).toString('base64');
      }), /signature does not verify/);
    }
    expectInvalid(tampered('sig-empty.json', (r) => (r.signature = '')), /signature does not verify/);
  });

  test('exit 1 with a wrong key (and with a receipt claiming the wrong key id)', () => {
    const other = SigningKey.generate();
    const otherPem = write('other.pem', other.publicKeyPem());
    expectInvalid(path.join(dir, 'receipt.json'), /not by the trusted key/, otherPem);
    expectInvalid(path.join(dir, 'receipt.json'), /not by the trusted key/, other.publicKey.toString('base64'));
    const otherKeys = write('other-keys.json', JSON.stringify({ origin: 'x', keys: [{ key_id: other.keyId, public_key: other.publicKey.toString('base64') }] }));
    expectInvalid(path.join(dir, 'receipt.json'), /not by the trusted key/, otherKeys);
    // A receipt that names the other key's id is still not signed by it.
    expectInvalid(tampered('claims-other.json', (r) => (r.key_id = other.keyId)), /signature does not verify/, otherPem);
  });

  test('exit 1 on things that are not receipts; exit 2 on an unusable key', () => {
    expectInvalid(write('array.json', '[1,2,3]'), /not a receipt|unsupported algorithm/);
    expectInvalid(tampered('alg.json', (r) => (r.alg = 'RS256')), /unsupported algorithm/);
    const notJson = cli(write('garbage.json', 'not json'), path.join(dir, 'keys.json'));
    assert.equal(notJson.status, 1, notJson.stderr);
    const missing = cli(path.join(dir, 'no-such-file.json'), path.join(dir, 'keys.json'));
    assert.equal(missing.status, 1, missing.stderr);
    const badKey = cli(path.join(dir, 'receipt.json'), 'not-a-key');
    assert.equal(badKey.status, 2, `${badKey.stdout}${badKey.stderr}`);
    assert.match(badKey.stderr, /public-key/);
  });
});

describe('the OpenSSL-only recipes in docs/receipts.md', () => {
  test('openssl --version is 3.x', () => {
    const v = run('openssl', ['version'], inDir());
    assert.equal(v.status, 0);
    assert.match(v.stdout, /^OpenSSL 3\./);
  });

  test('verify: "Signature Verified Successfully" for the receipt, the whole response and pretty-printed JSON', () => {
    const script = recipe('openssl-verify');
    for (const source of ['receipt.json', 'response.json', 'pretty.json']) {
      const work = mkdtempSync(path.join(dir, 'openssl-'));
      writeFileSync(path.join(work, 'receipt.json'), readFileSync(path.join(dir, source)));
      writeFileSync(path.join(work, 'keys.json'), keysText);
      const r = bash(script, work);
      assert.equal(r.status, 0, `${source}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout + r.stderr, /Signature Verified Successfully/);
      // r.json is exactly the signed bytes; pub.pem is the published key.
      assert.deepEqual(readFileSync(path.join(work, 'r.json')), Buffer.from(receipt.signed_bytes as string, 'base64'));
      assert.equal(readFileSync(path.join(work, 'pub.pem'), 'utf8').trimEnd(), (keys.keys[0].public_key_pem as string).trimEnd());
      assert.equal(readFileSync(path.join(work, 'r.sig')).length, 64);
    }
  });

  test('verify: "Signature Verification Failure" when signed_bytes or the signature is edited', () => {
    const script = recipe('openssl-verify');
    const edits: Array<[string, (r: Json) => void]> = [
      ['signed_bytes', (r) => (r.signed_bytes = Buffer.from(otherSubjectCommitment(Buffer.from(r.signed_bytes as string, 'base64').toString('utf8'))).toString('base64'))],
      ['signature', (r) => {
        r.signature = flip(Buffer.from(r.signature as string, 'base64'), 5, 4).toString('base64');
      }],
    ];
    for (const [what, edit] of edits) {
      const work = mkdtempSync(path.join(dir, 'openssl-bad-'));
      const copy = JSON.parse(receiptText) as Json;
      edit(copy);
      writeFileSync(path.join(work, 'receipt.json'), JSON.stringify(copy));
      writeFileSync(path.join(work, 'keys.json'), keysText);
      const r = bash(script, work);
      assert.notEqual(r.status, 0, `${what}: openssl accepted an edited receipt`);
      assert.match(r.stdout + r.stderr, /Signature Verification Failure/, what);
    }
    // And with another key.
    const work = mkdtempSync(path.join(dir, 'openssl-otherkey-'));
    writeFileSync(path.join(work, 'receipt.json'), receiptText);
    const other = SigningKey.generate();
    writeFileSync(path.join(work, 'keys.json'), JSON.stringify({ keys: [{ key_id: other.keyId, public_key_pem: other.publicKeyPem() }] }));
    const r = bash(script, work);
    assert.notEqual(r.status, 0);
    assert.match(r.stdout + r.stderr, /Signature Verification Failure/);
  });

  test('key id: the recipe computes the receipt\'s key_id from pub.pem', () => {
    const work = mkdtempSync(path.join(dir, 'keyid-'));
    writeFileSync(path.join(work, 'pub.pem'), keys.keys[0].public_key_pem);
    const r = bash(recipe('key-id'), work);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), receipt.key_id);
    assert.equal(r.stdout.trim(), t.ctx.ledger.signingKey.keyId);
  });

  test('leaf hash: SHA-256(0x00 || canonical event bytes) from r.json equals ledger.leaf_hash', () => {
    const work = mkdtempSync(path.join(dir, 'leaf-'));
    writeFileSync(path.join(work, 'receipt.json'), receiptText);
    writeFileSync(path.join(work, 'keys.json'), keysText);
    const v = bash(recipe('openssl-verify'), work);
    assert.equal(v.status, 0, v.stderr);
    const r = bash(recipe('leaf-hash'), work);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2, r.stdout);
    assert.equal(lines[0], receipt.payload.ledger.leaf_hash);
    assert.equal(lines[1], receipt.payload.ledger.leaf_hash);
    // event.json is byte for byte the event as the ledger stores it.
    const eventBytes = readFileSync(path.join(work, 'event.json'));
    assert.deepEqual(JSON.parse(eventBytes.toString('utf8')), receipt.payload.event);
  });

  test('the jq variant in the doc produces the same files (when jq is installed)', (tc) => {
    const hasJq = hasTool('jq');
    if (!hasJq) {
      tc.diagnostic('jq not installed: the jq variant is optional and was not run');
      return;
    }
    const doc = readFileSync(docPath(), 'utf8');
    const m = /With `jq` the same three files are:\n\n```sh\n([\s\S]*?)```/.exec(doc);
    assert.ok(m, 'jq block present');
    const work = mkdtempSync(path.join(dir, 'jq-'));
    writeFileSync(path.join(work, 'receipt.json'), responseText);
    writeFileSync(path.join(work, 'keys.json'), keysText);
    const r = bash(`${m[1]!}openssl pkeyutl -verify -pubin -inkey pub.pem -rawin -in r.json -sigfile r.sig\n`, work);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Signature Verified Successfully/);
  });
});

describe('the inclusion recipe in docs/receipts.md (OpenSSL and Python\'s standard library)', () => {
  let included: Json; // the receipt of setup's acceptance, fetched again after a checkpoint
  let includedText: string;
  let recordText: string; // GET /v1/acceptances/:id: the whole record with that receipt
  let other: Json; // the receipt of another entry in the same checkpoint

  before(async () => {
    const second = await t.accept({ subject: 'user-2' });
    assert.equal(second.status, 201, second.text);
    assert.ok(await t.ctx.ledger.checkpoint());
    const again = await t.get(`/v1/acceptances/${JSON.parse(responseText).id as string}/receipt`, 'investigator');
    includedText = again.text;
    included = JSON.parse(includedText) as Json;
    assert.ok(included.inclusion, 'the receipt carries its inclusion proof after the checkpoint');
    recordText = (await t.get(`/v1/acceptances/${JSON.parse(responseText).id as string}`, 'investigator')).text;
    other = (await t.get(`/v1/acceptances/${second.body.id as string}/receipt`, 'investigator')).body as Json;
  });

  /** The verify recipe, then the inclusion recipe, on `receiptJson` in a fresh directory. */
  function inclusionRecipe(receiptJson: string): RunResult {
    const work = mkdtempSync(path.join(dir, 'inclusion-'));
    writeFileSync(path.join(work, 'receipt.json'), receiptJson);
    writeFileSync(path.join(work, 'keys.json'), keysText);
    const v = bash(recipe('openssl-verify'), work);
    assert.equal(v.status, 0, `the signature recipe first: ${v.out}`);
    return bash(recipe('inclusion'), work);
  }

  function edited(edit: (r: Json) => void): string {
    const c = JSON.parse(includedText) as Json;
    edit(c);
    return JSON.stringify(c);
  }

  test('a receipt with its proof: "audit path OK: leaf N is in the tree of the checkpoint of size M signed T" and "Signature Verified Successfully"', () => {
    const cp = readCheckpoint(Buffer.from(included.inclusion.checkpoint as string, 'utf8'))!;
    for (const [what, text] of [['receipt', includedText], ['record response', recordText], ['pretty-printed', JSON.stringify(included, null, 2)]] as const) {
      const r = inclusionRecipe(text);
      assert.equal(r.status, 0, `${what}: ${r.out}`);
      assert.ok(r.stdout.startsWith(`audit path OK: leaf ${included.payload.ledger.leaf_index as number} is in the tree of the checkpoint of size ${cp.size} signed ${cp.time}\n`), `${what}: ${r.out}`);
      assert.match(r.out, /Signature Verified Successfully/, what);
    }
  });

  test('a receipt without a proof yet stops with its promise', () => {
    const r = inclusionRecipe(receiptText);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /no inclusion proof yet: a signed promise: /);
  });

  test('a v1 receipt (no leaf_index: seq - 1) with the served proof', () => {
    const { leaf_index: _, ...ledgerV1 } = included.payload.ledger as Json;
    const payload = { ...included.payload, type: 'assentmark.receipt/v1', ledger: ledgerV1 };
    const bytes = canonicalBytes(payload);
    const v1 = { payload, signed_bytes: bytes.toString('base64'), signature: t.ctx.ledger.signingKey.sign(bytes).toString('base64'), key_id: included.key_id, alg: 'Ed25519', inclusion: included.inclusion };
    const r = inclusionRecipe(JSON.stringify(v1));
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /^audit path OK: leaf \d+ is in the tree of the checkpoint of size \d+ signed /);
    assert.match(r.out, /Signature Verified Successfully/);
  });

  test('fails on a changed proof hash, a proof for another leaf, another key, another origin, an edited note', () => {
    const cp = readCheckpoint(Buffer.from(included.inclusion.checkpoint as string, 'utf8'))!;
    const cases: Array<[string, string, RegExp]> = [
      ['a changed proof hash', edited((r) => {
        r.inclusion.proof[0] = flip(Buffer.from(r.inclusion.proof[0] as string, 'hex'), 0, 1).toString('hex');
      }), /the inclusion proof does not lead to the root of the checkpoint of size \d+/],
      ['the proof of another leaf', edited((r) => (r.inclusion = other.inclusion)), /the proof is of leaf \d+ in a tree of \d+, the receipt is leaf \d+/],
      ['only the audit path of another leaf', edited((r) => (r.inclusion.proof = other.inclusion.proof)), /the inclusion proof does not lead to the root/],
      ['a note signed by another key', edited((r) => {
        r.inclusion.checkpoint = signCheckpointNoteV2(SigningKey.generate(), cp.origin, cp.size, cp.rootHash!, cp.chainHash, new Date(cp.time)).body.toString('utf8');
      }), /the checkpoint has no signature by the trusted key as assentmark\.local\/ledger/],
      ['a note for another origin', edited((r) => {
        r.inclusion.checkpoint = signCheckpointNoteV2(t.ctx.ledger.signingKey, 'other.example/ledger', cp.size, cp.rootHash!, cp.chainHash, new Date(cp.time)).body.toString('utf8');
      }), /the checkpoint is for origin 'other\.example\/ledger', not the receipt's 'assentmark\.local\/ledger'/],
      ['an edited note', edited((r) => {
        r.inclusion.checkpoint = (r.inclusion.checkpoint as string).replace(/\ntime \S+\n/, '\ntime 2020-01-01T00:00:00.000Z\n');
      }), /Signature Verification Failure/],
    ];
    for (const [what, text, reason] of cases) {
      const r = inclusionRecipe(text);
      assert.notEqual(r.status, 0, `${what}: the recipe accepted it: ${r.out}`);
      assert.match(r.out, reason, what);
    }
  });
});
