// Offline verification of an issued dossier with standard tools, as docs/verifying-a-dossier.md
// tells an expert to do it (its `test:` blocks are run verbatim here): Poppler's pdfsig and
// pdfdetach, OpenSSL 3 (the CMS recipe of test/fixtures/pdf/verify-with-openssl.sh, Ed25519 over the
// PDF, the bundle and the checkpoint note, RFC 3161 with `openssl ts -verify`), sha256sum, the doc's
// Python proof script, and `assentmark dossier verify` without any database. Then tampering: one
// flipped byte anywhere makes every check fail; forged bundles (an edited entry, a recomputed leaf,
// a changed proof hash, a proof for another size, a forged note, a re-signed bundle) fail the CLI
// and the Python script with a precise reason; a wrong key fails. A dossier issued with a TSA
// carries tokens that OpenSSL accepts. Finally `assentmark dossier issue` from the command line.
// poppler-utils, openssl, xxd, jq and python3 are required (a missing tool fails, it is not skipped).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { sql } from 'kysely';
import { canonicalBytes } from '../src/canonical/jcs.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import { buf } from '../src/db/bytes.js';
import { NO_TIMESTAMP_STATEMENT, verifyBundle, type EvidenceBundle } from '../src/dossier/bundle.js';
import { checkPersonalFacts } from '../src/dossier/openings.js';
import { readCheckpoint, signCheckpointNoteV2 } from '../src/ledger/checkpoint.js';
import { chainHash, leafHash } from '../src/ledger/format.js';
import { rootFromInclusion } from '../src/ledger/merkle.js';
import { noteKeyHash } from '../src/ledger/note.js';
import { packageRoot } from '../src/util/paths.js';
import { BundleForger } from './helpers/forge.js';
import { CLI_MAIN, createTestApp, problemOf, useTestApp, type TestApp } from './helpers/app.js';
import { buildEvidence, supertestHttp, type Evidence } from './helpers/evidence.js';
import { eulaEvent } from './helpers/ledger-fixtures.js';
import { bareEnv, byteRangeOf, docBlock, DOC, runDoc } from './helpers/recipe.js';
import { binary, flip, pdfsigValid, run, TOOL_PACKAGES, type RunResult } from './helpers/tools.js';
import { startTestTsa, type TestTsa } from './helpers/tsa.js';

type Json = Record<string, any>;

const CASE_REF = 'CASE-2026-0077';
const OPENSSL_SCRIPT = path.join(packageRoot(), 'test', 'fixtures', 'pdf', 'verify-with-openssl.sh');
const HOWTO_TEMPLATE = path.join(packageRoot(), 'templates', 'dossier', '09-how-to-verify.hbs');

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const compact = (s: string): string => s.replace(/\s+/g, '');

/** The doc's Python script, saved to `dir` as check_proofs.py. */
function savePythonScript(dir: string): string {
  const b = docBlock('check-proofs');
  assert.equal(b.lang, 'python');
  const file = path.join(dir, 'check_proofs.py');
  writeFileSync(file, b.code);
  return file;
}

/** A bundle edited as JSON, re-encoded canonically (a forger keeps the format). */
function editBundle(bytes: Buffer, edit: (b: Json) => void): Buffer {
  const b = JSON.parse(bytes.toString('utf8')) as Json;
  edit(b);
  return canonicalBytes(b);
}

/** An acceptance entry of a bundle, and its index in `entries`. */
function acceptanceOf(b: Json): Json {
  const e = (b.entries as Json[]).find((x) => x.event_type === 'acceptance.recorded');
  assert.ok(e, 'the bundle cites an acceptance');
  return e;
}

/** The doc's checkpoint note, decoded from a bundle (as step 5 does). */
function noteOf(b: Json, which: 'checkpoint' | 'earlier_checkpoint' = 'checkpoint'): Buffer {
  return Buffer.from(b[which].note as string, 'base64');
}

/**
 * PDFs that carry a given (forged) bundle, rendered and PDF-signed like a real dossier, so that
 * `assentmark dossier verify` reads them as it reads any dossier: only the bundle is wrong.
 */
class Forger {
  readonly #forger: BundleForger;
  constructor(
    private readonly app: () => TestApp,
    subject: () => string,
    private readonly into: () => string,
  ) {
    this.#forger = new BundleForger(app, subject);
  }

  /** A directory holding the forged dossier.pdf and the ledger's public key (trusted.pem). */
  async pdf(name: string, bundle: Buffer, signature: Buffer): Promise<string> {
    const pdf = await this.#forger.pdf(bundle, signature);
    const d = path.join(this.into(), `forged-${name}`);
    mkdirSync(d);
    writeFileSync(path.join(d, 'dossier.pdf'), pdf);
    writeFileSync(path.join(d, 'trusted.pem'), this.app().ctx.ledger.signingKey.publicKeyPem());
    return d;
  }

  close(): Promise<void> {
    return this.#forger.close();
  }
}

/** `assentmark dossier verify dossier.pdf --public-key trusted.pem [...]` in `dir`, with no database. */
function cliVerify(dir: string, extra: readonly string[] = []): RunResult {
  const data = mkdtempSync(path.join(dir, 'empty-data-'));
  return run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--public-key', 'trusted.pem', ...extra], { cwd: dir, env: bareEnv(data) });
}

/** The detail of the CLI's `FAIL  <check>:` line. */
function failLine(out: string, check: string): string {
  const m = new RegExp(`^FAIL\\s+${check}: (.*)$`, 'm').exec(out);
  assert.ok(m, `no "FAIL  ${check}:" line in:\n${out}`);
  return m[1]!;
}

interface PdfStream {
  start: number;
  end: number;
  data: Buffer;
}

function pdfStreams(pdf: Buffer): PdfStream[] {
  const s = pdf.toString('latin1');
  const out: PdfStream[] = [];
  const re = /(?<!end)stream\r?\n/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const start = m.index + m[0].length;
    const end = s.indexOf('endstream', start);
    if (end < 0) break;
    let data: Buffer;
    try {
      data = inflateSync(pdf.subarray(start, end));
    } catch {
      data = pdf.subarray(start, end);
    }
    out.push({ start, end, data });
    re.lastIndex = end;
  }
  return out;
}

const t = useTestApp({ setup });
let ev: Evidence;
let issued: Json;
let pdf: Buffer;
let sig: Buffer;
let work: string;
/** dossier.pdf, dossier.pdf.sig, trusted.pem (the service key, obtained independently) and the extracted exhibits. */
let dir: string;
let issuedEvent: Json;
let bundleBytes: Buffer;
let bundleSig: Buffer;

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  work = mkdtempSync(path.join(tmpdir(), 'assentmark-dossier-verify-'));
  ev = await buildEvidence(supertestHttp(() => t.app, t.tokens), { acceptances: 2, declines: 1, withdrawals: 1, verifications: 2, caseRef: CASE_REF });
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject: ev.subject, case_ref: CASE_REF, requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  assert.equal(res.status, 201, res.text);
  issued = res.body as Json;
  pdf = (await t.get(`/v1/dossiers/${issued.id}/pdf`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
  sig = (await t.get(`/v1/dossiers/${issued.id}/signature`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
  const row = await sql<{ canonical: Uint8Array }>`SELECT canonical FROM ledger_entries WHERE seq = ${String(issued.ledger.seq)}`.execute(t.ctx.handle.db);
  issuedEvent = JSON.parse(Buffer.from(buf(row.rows[0]!.canonical)).toString('utf8')) as Json;
  dir = path.join(work, 'expert');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'dossier.pdf'), pdf);
  writeFileSync(path.join(dir, 'dossier.pdf.sig'), sig);
  writeFileSync(path.join(dir, 'trusted.pem'), t.ctx.ledger.signingKey.publicKeyPem());
  // The exhibits, as the expert extracts them (step 2 of the doc).
  const ex = runDoc('dossier-exhibits', dir);
  assert.equal(ex.status, 0, ex.out);
  bundleBytes = readFileSync(path.join(dir, 'evidence-bundle.json'));
  bundleSig = readFileSync(path.join(dir, 'evidence-bundle.json.sig'));
}

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('verifying a genuine dossier with standard tools (docs/verifying-a-dossier.md, verbatim)', () => {
  test('pdfsig: "Signature is Valid." and "Total document signed"', () => {
    const r = runDoc('dossier-pdfsig', dir);
    assert.equal(r.status, 0, r.out);
    assert.ok(pdfsigValid(r.stdout), r.stdout);
    assert.ok(r.stdout.includes('Total document signed'), r.stdout);
    assert.ok(r.stdout.includes('Signature Type: ETSI.CAdES.detached'), r.stdout);
  });

  test('OpenSSL CMS: the fixture script and the doc recipe pass, and print the certificate fingerprint', () => {
    const cwd = mkdtempSync(path.join(work, 'cms-'));
    const r = run('bash', [OPENSSL_SCRIPT, path.join(dir, 'dossier.pdf'), t.config.pdfCertFile!], { cwd });
    assert.equal(r.status, 0, r.out);
    assert.ok(r.out.includes('CMS Verification successful'), r.out);
    const d = runDoc('dossier-cms', dir);
    assert.equal(d.status, 0, d.out);
    assert.ok(d.out.includes('ByteRange covers the whole file'), d.out);
    assert.ok(d.out.includes('CMS Verification successful'), d.out);
    const fp = /sha256 Fingerprint=([0-9A-F:]+)/.exec(d.out)?.[1]?.replace(/:/g, '').toLowerCase();
    assert.equal(fp, issued.pdf_certificate_sha256, 'the signer is the configured certificate');
  });

  test('pdfdetach -saveall, then sha256sum: every exhibit matches the exhibit index on the cover', () => {
    const list = run('pdfdetach', ['-list', 'dossier.pdf'], { cwd: dir });
    const names = list.stdout.split('\n').slice(1).filter(Boolean).map((l) => l.replace(/^\d+: /, ''));
    // The bundle, its signature, the key, the EULA texts, the receipts, the sample lists (per verification and per plan).
    const plans = new Set(ev.verifications.map((v) => v.planId).filter(Boolean)).size;
    assert.equal(names.length, 3 + ev.eulas.length + ev.records.length + ev.verifications.length + plans, list.stdout);
    const sums = run('sha256sum', names, { cwd: dir });
    assert.equal(sums.status, 0, sums.out);
    // pdftotext joins a word broken after a hyphen at a line end ("eula-model-api-" / "terms-1.0.txt"
    // becomes "eula-model-apiterms-1.0.txt"): compare without whitespace and hyphens.
    const cover = compact(run('pdftotext', ['-f', '1', '-l', '3', 'dossier.pdf', '-'], { cwd: dir }).stdout).replace(/-/g, '');
    for (const line of sums.stdout.trim().split('\n')) {
      const [h, name] = line.split(/\s+/) as [string, string];
      const at = cover.indexOf(compact(name).replace(/-/g, ''));
      assert.ok(at >= 0, `exhibit ${name} is in the index`);
      assert.ok(cover.indexOf(h, at) > at, `exhibit ${name}: the index lists SHA-256 ${h}`);
    }
    assert.equal(sha256(bundleBytes), issued.bundle_sha256);
    assert.equal(readFileSync(path.join(dir, 'signing-key.pem'), 'utf8'), t.ctx.ledger.signingKey.publicKeyPem(), 'the exhibit is the service key');
    for (const e of ev.eulas) assert.equal(readFileSync(path.join(dir, `eula-${ev.slug}-${e.version}.txt`), 'utf8'), e.text);
  });

  test('the detached Ed25519 signature verifies with openssl pkeyutl (exhibit key and independent key); the key id matches', () => {
    const r = runDoc('dossier-detached', dir);
    assert.equal(r.status, 0, r.out);
    assert.ok(r.out.includes('Signature Verified Successfully'), r.out);
    assert.ok(r.out.includes(`${issuedEvent.data.pdf_sha256}  dossier.pdf`), 'sha256sum equals the dossier.issued event');
    const own = run('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'trusted.pem', '-rawin', '-in', 'dossier.pdf', '-sigfile', 'dossier.pdf.sig'], { cwd: dir });
    assert.equal(own.status, 0, own.out);
    const id = runDoc('dossier-key-id', dir);
    assert.equal(id.stdout.trim(), t.ctx.ledger.signingKey.keyId);
  });

  test('the bundle signature verifies; the checkpoint note, decoded from the bundle, verifies with OpenSSL and matches the dossier.issued event', () => {
    const b = runDoc('dossier-bundle', dir);
    assert.equal(b.status, 0, b.out);
    assert.ok(b.out.includes('Signature Verified Successfully'), b.out);
    const c = runDoc('dossier-checkpoint', dir);
    assert.equal(c.status, 0, c.out);
    assert.ok(c.out.includes('Signature Verified Successfully'), c.out);
    const bundle = JSON.parse(bundleBytes.toString('utf8')) as Json;
    const note = readFileSync(path.join(dir, 'checkpoint.note'));
    assert.ok(note.equals(noteOf(bundle)), 'checkpoint.note is the note in the bundle');
    // The note text (what the signature covers): origin, size, root, chain-hash, time; printed by `cat`.
    const text = readFileSync(path.join(dir, 'checkpoint.txt'), 'utf8');
    assert.ok(note.toString('utf8').startsWith(`${text}\n\u2014 `), 'checkpoint.txt is the note text with its final newline');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 5, text);
    assert.equal(lines[0], t.ctx.ledger.origin);
    assert.equal(Number(lines[1]), issuedEvent.data.checkpoint.size);
    assert.equal(lines[3], `chain-hash ${issuedEvent.data.checkpoint.chain_hash}`);
    assert.match(lines[4]!, /^time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const stored = readCheckpoint(note);
    assert.ok(stored && stored.rootHash);
    assert.equal(lines[2], stored.rootHash.toString('base64'));
    assert.ok(c.stdout.includes(text), 'the block prints the note text');
    // The key hash of the trusted key under the origin, twice: computed, and as the note names it.
    const keyHash = noteKeyHash(t.ctx.ledger.origin, t.ctx.ledger.signingKey.publicKey).toString('hex');
    assert.equal(c.stdout.split('\n').filter((l) => l === keyHash).length, 2, c.stdout);
    assert.equal(readFileSync(path.join(dir, 'checkpoint.sig')).length, 64);
    assert.equal(readFileSync(path.join(dir, 'checkpoint.sigline')).length, 68);
  });

  test('the doc recipe of step 5 fails on an altered note and on a note signed by another key', () => {
    const bundle = JSON.parse(bundleBytes.toString('utf8')) as Json;
    const note = noteOf(bundle).toString('utf8');
    const lines = note.split('\n');
    const altered = [lines[0], String(Number(lines[1]) - 1), ...lines.slice(2)].join('\n');
    const forger = SigningKey.generate();
    const st = readCheckpoint(noteOf(bundle))!;
    const other = signCheckpointNoteV2(forger, t.ctx.ledger.origin, st.size, st.rootHash!, st.chainHash, new Date(st.time)).body.toString('utf8');
    for (const [what, forged] of [['altered', altered], ['other-key', other]] as const) {
      const d = mkdtempSync(path.join(work, `step5-${what}-`));
      cpSync(path.join(dir, 'signing-key.pem'), path.join(d, 'signing-key.pem'));
      writeFileSync(path.join(d, 'evidence-bundle.json'), editBundle(bundleBytes, (b) => (b.checkpoint.note = Buffer.from(forged).toString('base64'))));
      const r = runDoc('dossier-checkpoint', d);
      assert.notEqual(r.status, 0, `${what}: ${r.out}`);
      assert.ok(r.out.includes('Signature Verification Failure'), `${what}: ${r.out}`);
      const hashes = r.stdout.split('\n').filter((l) => /^[0-9a-f]{8}$/.test(l));
      if (what === 'other-key') assert.notEqual(hashes[0], hashes[1], 'the two key hashes differ');
      else assert.equal(hashes[0], hashes[1]);
    }
  });

  test('the doc\'s by-hand recomputation of one entry gives its leaf and chain hash', () => {
    const r = runDoc('dossier-by-hand', dir);
    assert.equal(r.status, 0, r.out);
    const b = JSON.parse(bundleBytes.toString('utf8')) as EvidenceBundle;
    const lines = r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]);
    assert.deepEqual(lines, [b.entries[0]!.leaf_hash, b.entries[0]!.chain_hash]);
  });

  test('assentmark dossier verify: exit 0 with no DATABASE_URL and an empty data directory, which stays empty', () => {
    const data = mkdtempSync(path.join(work, 'empty-data-'));
    const r = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--signature', 'dossier.pdf.sig', '--public-key', 'trusted.pem'], { cwd: dir, env: bareEnv(data) });
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, new RegExp(`VALID: dossier ${issued.id} \\(case ${CASE_REF}, subject ${ev.subject}\\)`));
    assert.ok(!r.stdout.includes('FAIL'), r.stdout);
    for (const check of ['pdf-signature', 'evidence-bundle', 'detached-signature']) assert.match(r.stdout, new RegExp(`^ok\\s+${check}:`, 'm'));
    assert.match(r.stdout, /^ok\s+evidence-bundle: .*inclusion proofs \(\d+ hashes\) lead to its root/m);
    assert.ok(r.stdout.includes(`ok    timestamp: none: ${NO_TIMESTAMP_STATEMENT}`), r.stdout);
    assert.deepEqual(readdirSync(data), [], 'no database was opened or created');
    const json = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--signature', 'dossier.pdf.sig', '--public-key', 'trusted.pem', '--json'], { cwd: dir, env: bareEnv(data) });
    const report = JSON.parse(json.stdout) as Json;
    assert.equal(report.ok, true);
    assert.equal(report.keyTrusted, true);
    assert.equal(report.pdfSha256, issued.pdf_sha256);
  });

  test('each receipt exhibit verifies alone with `assentmark receipt verify`, included in the dossier\'s checkpoint', () => {
    const size = readCheckpoint(noteOf(JSON.parse(bundleBytes.toString('utf8')) as Json))!.size;
    const files = readdirSync(dir).filter((f) => /^receipt-\d\d-[a-z]+\.json$/.test(f));
    assert.equal(files.length, ev.records.length);
    for (const f of files) {
      const r = run(process.execPath, [CLI_MAIN, 'receipt', 'verify', f, '--public-key', 'trusted.pem'], { cwd: dir, env: bareEnv(mkdtempSync(path.join(work, 'empty-data-'))) });
      assert.equal(r.status, 0, `${f}: ${r.out}`);
      assert.match(r.stdout, /^OK: /m);
      assert.match(r.stdout, new RegExp(`^included in the checkpoint of size ${size} signed `, 'm'), r.stdout);
    }
  });

  test('a wrong --public-key fails (exit 1), naming both keys', () => {
    writeFileSync(path.join(dir, 'other.pem'), SigningKey.generate().publicKeyPem());
    const data = mkdtempSync(path.join(work, 'empty-data-'));
    const r = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--signature', 'dossier.pdf.sig', '--public-key', 'other.pem'], { cwd: dir, env: bareEnv(data) });
    assert.equal(r.status, 1, r.out);
    assert.ok(r.stdout.includes('INVALID'), `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`names signing key ${t.ctx.ledger.signingKey.keyId}, not the trusted key`));
    assert.match(r.stdout, /^FAIL\s+detached-signature:/m);
    const o = run('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'other.pem', '-rawin', '-in', 'dossier.pdf', '-sigfile', 'dossier.pdf.sig'], { cwd: dir });
    assert.notEqual(o.status, 0);
    assert.ok(o.out.includes('Signature Verification Failure'), o.out);
  });

  test('the PDF\'s "How to verify" page gives the same commands as the doc', () => {
    const tpl = readFileSync(HOWTO_TEMPLATE, 'utf8');
    const md = readFileSync(DOC, 'utf8');
    const blocks = [...tpl.matchAll(/```\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
    assert.ok(blocks.length >= 6);
    for (const line of blocks.flatMap((b) => b.split('\n'))) assert.ok(md.includes(line), `the doc lacks the PDF's line: ${line}`);
    for (const name of ['dossier-pdfsig', 'dossier-cms', 'dossier-exhibits', 'dossier-detached', 'dossier-bundle', 'dossier-checkpoint', 'dossier-timestamp']) {
      for (const line of docBlock(name).code.trim().split('\n')) {
        // The doc also prints the note text and the token's fields.
        if (line.startsWith('cat ') || line.startsWith('openssl ts -reply') || line.includes("grep -E '^(Time stamp")) continue;
        assert.ok(tpl.includes(line), `the PDF's how-to page lacks the doc's line (${name}): ${line}`);
      }
    }
  });

  test('every command the doc\'s recipes run is listed in its table of tools', () => {
    const md = readFileSync(DOC, 'utf8');
    const table = md.slice(md.indexOf('The tools, all of them'), md.indexOf('You need:'));
    const listed = new Set([...table.matchAll(/`([a-z0-9]+)`/g)].map((m) => m[1]!));
    const blocks = [...md.matchAll(/<!-- test:([a-z-]+) -->\n```sh\n([\s\S]*?)\n```/g)];
    assert.ok(blocks.length >= 9, `${blocks.length} shell blocks`);
    const used = new Set<string>();
    for (const [, name, code] of blocks) {
      // Commands: the first word of the script, of each pipeline stage, list, group or substitution.
      const text = code!.replace(/\\\n/g, ' ').replace(/'[^']*'/g, "''").replace(/#.*$/gm, '');
      for (const m of text.matchAll(/(?:^|[|;&{(]|\$\(|&&|\|\|)\s*([a-z][a-z0-9]*)\b/gm)) {
        const word = m[1]!;
        if (/^[A-Z_]+$/.test(word)) continue;
        used.add(word);
        assert.ok(listed.has(word), `block test:${name} runs "${word}", which the doc's table of tools does not list`);
      }
    }
    for (const w of ['pdfsig', 'pdfdetach', 'openssl', 'sed', 'grep', 'base64', 'xxd', 'jq']) assert.ok(used.has(w), `the commands found (${[...used].join(' ')}) lack ${w}`);
    // The tests' own "not installed" hints know every one (bash builtins aside).
    for (const w of used) if (!['read', 'printf', 'echo', 'exit', 'while', 'do', 'done', 'head', 'tail', 'cut', 'wc', 'tr', 'cat', 'tee', 'grep', 'sed', 'base64'].includes(w)) assert.ok(TOOL_PACKAGES[w], `tools.ts names no package for ${w}`);
  });
});

/** A forged bundle, and what each verifier must say about it. */
interface Forgery {
  name: string;
  what: string;
  make(): { bytes: Buffer; sig: Buffer };
  /** Sentences (or their starts) the CLI's `FAIL  evidence-bundle:` line must hold. */
  cli(): string[];
  /** Sentences (or their starts) the Python script must print after `FAIL: `. */
  py(): string[];
}

/** Facts about the genuine bundle the forgeries are made from (set in the describe's before hook). */
interface Genuine {
  b: Json;
  size: number;
  root: string;
  origin: string;
  acceptance: Json;
  /** The first cited entry, with an inclusion proof of the tree one entry smaller. */
  first: Json;
  smallerProof: string[];
  forger: SigningKey;
}

function forgeries(g: () => Genuine, service: () => SigningKey): Forgery[] {
  const keyHash = (k: SigningKey) => `${g().origin}+${noteKeyHash(g().origin, k.publicKey).toString('hex')}`;
  const edited = (e: Json, from: string, to: string): Buffer => {
    const text = Buffer.from(e.canonical, 'base64').toString('utf8');
    assert.ok(text.includes(from), `the entry holds ${from}`);
    return Buffer.from(text.replace(from, to));
  };
  const resigned = (bytes: Buffer, k: SigningKey = service()) => ({ bytes, sig: k.sign(bytes) });
  const namingForger = (b: Json) => (b.signing_key = { alg: 'Ed25519', key_id: g().forger.keyId, public_key: g().forger.publicKey.toString('base64') });
  return [
    {
      name: 'edited',
      what: 'an edited entry (an acceptance\'s time on the user\'s device), the bundle not re-signed',
      make: () => ({
        bytes: editBundle(bundleBytes, (b) => {
          const e = acceptanceOf(b);
          // Personal facts are commitments (docs/personal-data.md): the edit is to a fact in clear.
          e.canonical = edited(e, '"client_time":"2026-', '"client_time":"2025-').toString('base64');
        }),
        sig: bundleSig,
      }),
      cli: () => ['the bundle signature does not verify', `entry ${g().acceptance.seq}: leaf hash does not match its bytes`, `entry ${g().acceptance.seq}: not in the tree of the signed checkpoint: its inclusion proof leads to root `],
      py: () => [`entry ${g().acceptance.seq}: its bytes do not hash to its leaf hash`, `entry ${g().acceptance.seq}: not in the tree of the signed checkpoint: its inclusion proof leads to root `],
    },
    {
      name: 'recomputed-leaf',
      what: 'an edited entry with its leaf and chain hash recomputed, re-signed with the service key itself',
      make: () => resigned(editBundle(bundleBytes, (b) => {
        const e = acceptanceOf(b);
        const bytes = edited(e, '"method":"checkbox"', '"method":"typed_name"');
        e.canonical = bytes.toString('base64');
        e.leaf_hash = leafHash(bytes).toString('hex');
        e.chain_hash = chainHash(e.seq, Buffer.from(e.prev_hash, 'hex'), leafHash(bytes)).toString('hex');
      })),
      cli: () => [`entry ${g().acceptance.seq}: not in the tree of the signed checkpoint: its inclusion proof leads to root `],
      py: () => [`entry ${g().acceptance.seq}: not in the tree of the signed checkpoint: its inclusion proof leads to root `],
    },
    {
      name: 'proof-hash',
      what: 'one changed hash in an inclusion proof, re-signed with the service key',
      make: () => resigned(editBundle(bundleBytes, (b) => {
        const e = acceptanceOf(b);
        const p = e.inclusion.audit_path as string[];
        assert.ok(p.length > 0);
        p[p.length - 1] = flip(Buffer.from(p[p.length - 1]!, 'hex'), 31).toString('hex');
      })),
      cli: () => [`entry ${g().acceptance.seq}: not in the tree of the signed checkpoint: its inclusion proof leads to root `],
      py: () => [`entry ${g().acceptance.seq}: not in the tree of the signed checkpoint: its inclusion proof leads to root `],
    },
    {
      name: 'other-size',
      what: 'a genuine inclusion proof for a tree one entry smaller, re-signed with the service key',
      make: () => resigned(editBundle(bundleBytes, (b) => {
        const e = (b.entries as Json[]).find((x) => x.seq === g().first.seq)!;
        e.inclusion = { tree_size: g().size - 1, leaf_index: e.seq - 1, audit_path: g().smallerProof };
      })),
      cli: () => [`entry ${g().first.seq}: its inclusion proof is for a tree of size ${g().size - 1}, the checkpoint's is ${g().size}`],
      py: () => [`entry ${g().first.seq}: its inclusion proof is for a tree of size ${g().size - 1}, the checkpoint's is ${g().size}`],
    },
    {
      name: 'forged-note',
      what: 'an edited entry in a tree whose root a forged note signs (the forger\'s key under the ledger\'s origin), the bundle re-signed by the forger',
      make: () => resigned(editBundle(bundleBytes, (b) => {
        const e = acceptanceOf(b);
        const bytes = edited(e, '"method":"checkbox"', '"method":"typed_name"');
        const leaf = leafHash(bytes);
        e.canonical = bytes.toString('base64');
        e.leaf_hash = leaf.toString('hex');
        e.chain_hash = chainHash(e.seq, Buffer.from(e.prev_hash, 'hex'), leaf).toString('hex');
        const root = rootFromInclusion(e.seq - 1, g().size, leaf, (e.inclusion.audit_path as string[]).map((h) => Buffer.from(h, 'hex')));
        assert.ok(root.ok);
        const st = readCheckpoint(noteOf(b))!;
        b.checkpoint.note = signCheckpointNoteV2(g().forger, g().origin, st.size, root.root, st.chainHash, new Date(st.time)).body.toString('base64');
        namingForger(b);
      }), g().forger),
      cli: () => [
        `the bundle names signing key ${g().forger.keyId}, not the trusted key ${service().keyId}`,
        `the checkpoint note at size ${g().size} is not signed by the service key: it is signed by ${keyHash(g().forger)}, not by ${keyHash(service())}`,
      ],
      py: () => [
        `the bundle names signing key ${g().forger.keyId}, not the trusted key ${service().keyId}`,
        `the checkpoint note is not signed by the trusted key: it names ${keyHash(g().forger)}, the trusted key is ${keyHash(service())}`,
      ],
    },
    {
      name: 're-signed',
      what: 'the genuine bundle re-signed with another key, which it names',
      make: () => resigned(editBundle(bundleBytes, namingForger), g().forger),
      cli: () => [`the bundle names signing key ${g().forger.keyId}, not the trusted key ${service().keyId}`],
      py: () => [`the bundle names signing key ${g().forger.keyId}, not the trusted key ${service().keyId}`],
    },
  ];
}

async function genuine(): Promise<Genuine> {
  const b = JSON.parse(bundleBytes.toString('utf8')) as Json;
  const st = readCheckpoint(noteOf(b))!;
  const first = (b.entries as Json[])[0]!;
  const smaller = await t.ctx.ledger.inclusionProof(first.seq, st.size - 1);
  return {
    b, size: st.size, root: st.rootHash!.toString('hex'), origin: t.ctx.ledger.origin, acceptance: acceptanceOf(b), first,
    smallerProof: smaller.proof.map((h) => h.toString('hex')), forger: SigningKey.generate(),
  };
}

describe("the doc's Python script checks every cited entry's Merkle proof", () => {
  let script: string;
  let g: Genuine;
  before(async () => {
    script = savePythonScript(work);
    g = await genuine();
  });
  const py = (bundlePath: string): RunResult => run('python3', [script, bundlePath, path.join(dir, 'trusted.pem')]);

  test('on the genuine bundle: every cited entry reaches the signed root, no earlier checkpoint, no outside timestamp, exit 0', () => {
    const r = py(path.join(dir, 'evidence-bundle.json'));
    assert.equal(r.status, 0, r.out);
    const b = g.b;
    assert.ok(r.stdout.includes(`checkpoint: ${g.origin}, size ${g.size}, root ${g.root}`), r.stdout);
    for (const e of b.entries as Json[]) {
      assert.ok(r.stdout.includes(`entry ${e.seq} (${e.event_type}): leaf ${e.leaf_hash}, ${e.inclusion.audit_path.length} proof hashes lead to the root`), `entry ${e.seq}\n${r.stdout}`);
    }
    assert.ok(r.stdout.includes('no earlier timestamped checkpoint in the bundle'));
    assert.ok(r.stdout.includes(`outside timestamp: none. ${NO_TIMESTAMP_STATEMENT}`), r.stdout);
    assert.ok(r.stdout.trim().endsWith(`OK: ${b.entries.length} cited entries are in the tree of the checkpoint at size ${g.size}`), r.stdout);
  });

  for (const f of forgeries(() => g, () => t.ctx.ledger.signingKey)) {
    test(`${f.what}: FAIL with the reason, INVALID, exit 1`, () => {
      const p = path.join(work, `py-${f.name}.json`);
      writeFileSync(p, f.make().bytes);
      const r = py(p);
      assert.equal(r.status, 1, r.out);
      const fails = r.stdout.split('\n').filter((l) => l.startsWith('FAIL: ')).map((l) => l.slice(6));
      for (const want of f.py()) assert.ok(fails.some((l) => l.startsWith(want)), `no "FAIL: ${want}…" in:\n${r.stdout}`);
      assert.ok(!r.stdout.includes('Traceback') && !r.stdout.includes('malformed ('), r.out);
      assert.ok(r.stdout.trim().endsWith('INVALID'));
    });
  }

  test('a bundle that is not a v2 bundle at all fails as malformed, not with a traceback', () => {
    const p = path.join(work, 'py-garbage.json');
    writeFileSync(p, JSON.stringify({ type: 'assentmark.evidence-bundle/v1', entries: [] }));
    const r = py(p);
    assert.equal(r.status, 1, r.out);
    assert.match(r.stdout, /^FAIL: the bundle is malformed \(KeyError: /m);
    assert.ok(!r.out.includes('Traceback'), r.out);
  });
});

describe('forged bundles fail `assentmark dossier verify` with a precise reason', () => {
  let g: Genuine;
  const forger = new Forger(() => t, () => ev.subject, () => work);
  before(async () => {
    g = await genuine();
  });
  after(() => forger.close());

  test('a genuine bundle in a re-rendered PDF verifies (the carrier itself is sound)', async () => {
    const d = await forger.pdf('genuine', bundleBytes, bundleSig);
    const r = cliVerify(d);
    assert.equal(r.status, 0, r.out);
  });

  for (const f of forgeries(() => g, () => t.ctx.ledger.signingKey)) {
    test(`${f.what}: FAIL evidence-bundle with the reason, INVALID, exit 1`, async () => {
      const { bytes, sig } = f.make();
      const d = await forger.pdf(f.name, bytes, sig);
      const r = cliVerify(d);
      assert.equal(r.status, 1, r.out);
      assert.match(r.stdout, /^ok\s+pdf-signature:/m, 'only the bundle is forged');
      const line = failLine(r.stdout, 'evidence-bundle');
      for (const want of f.cli()) assert.ok(line.includes(want), `"${want}" is not in: ${line}`);
      assert.ok(r.stdout.trim().endsWith('INVALID'));
    });
  }
});

describe('one flipped byte makes every check fail', () => {
  const positions: Array<[string, number]> = [];
  before(() => {
    const streams = pdfStreams(pdf);
    const [, a, b] = byteRangeOf(pdf);
    const pages = streams.filter((s) => s.start > b && /\bBT\b[\s\S]*\bTJ?\b/.test(s.data.toString('latin1')));
    assert.ok(pages.length >= 5, `${pages.length} page content streams after the signature`);
    const page = pages[Math.floor(pages.length / 2)]!;
    const bundleStream = streams.find((s) => s.data.equals(bundleBytes));
    assert.ok(bundleStream, 'the embedded bundle stream');
    // Inside the CMS blob (not its zero padding): near the end of the DER, where the ECDSA signature is.
    const hex = pdf.subarray(a + 1, b - 1).toString('latin1');
    const derLen = 4 + parseInt(hex.slice(4, 8), 16);
    assert.equal(hex.slice(0, 4), '3082');
    let cms = a + 1 + 2 * (derLen - 12);
    while (!/[0-9]/.test(String.fromCharCode(pdf[cms]!))) cms++; // flipping bit 0 of a digit keeps it a hex digit
    positions.push(['first byte', 0], ['middle of a page content stream', Math.floor((page.start + page.end) / 2)], ['inside the embedded evidence bundle stream', Math.floor((bundleStream.start + bundleStream.end) / 2)], ['inside the CMS signature value', cms], ['last byte', pdf.length - 1]);
  });

  test('pdfsig, the OpenSSL CMS recipe, assentmark dossier verify and the detached signature all fail', () => {
    assert.equal(positions.length, 5);
    for (const [what, at] of positions) {
      const d = path.join(work, `flip-${at}`);
      mkdirSync(d);
      const bad = flip(Buffer.from(pdf), at);
      assert.equal(bad.compare(pdf) !== 0, true);
      writeFileSync(path.join(d, 'dossier.pdf'), bad);
      cpSync(path.join(dir, 'dossier.pdf.sig'), path.join(d, 'dossier.pdf.sig'));
      cpSync(path.join(dir, 'trusted.pem'), path.join(d, 'trusted.pem'));

      const s = run('pdfsig', ['dossier.pdf'], { cwd: d });
      assert.ok(!pdfsigValid(s.out), `${what} (byte ${at}): pdfsig still says "Signature is Valid."\n${s.out}`);

      const o = run('bash', [OPENSSL_SCRIPT, 'dossier.pdf'], { cwd: d });
      assert.notEqual(o.status, 0, `${what} (byte ${at}): the OpenSSL CMS recipe passed\n${o.out}`);
      const od = runDoc('dossier-cms', d);
      assert.notEqual(od.status, 0, `${what} (byte ${at}): the doc's CMS recipe passed\n${od.out}`);

      const data = mkdtempSync(path.join(work, 'empty-data-'));
      const v = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--signature', 'dossier.pdf.sig', '--public-key', 'trusted.pem'], { cwd: d, env: bareEnv(data) });
      assert.equal(v.status, 1, `${what} (byte ${at}): dossier verify exit ${v.status}\n${v.out}`);
      assert.ok(v.stdout.includes('INVALID'));

      const k = run('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'trusted.pem', '-rawin', '-in', 'dossier.pdf', '-sigfile', 'dossier.pdf.sig'], { cwd: d });
      assert.notEqual(k.status, 0, `${what} (byte ${at}): the detached signature verified`);
      assert.ok(k.out.includes('Signature Verification Failure'), k.out);
    }
  });
});

describe('forged bundles fail verifyBundle with a precise reason', () => {
  const trusted = (): Buffer => t.ctx.ledger.signingKey.publicKey;

  test('the genuine bundle verifies against the trusted key', () => {
    const c = verifyBundle(bundleBytes, bundleSig, trusted());
    assert.equal(c.ok, true, c.failures.join('; '));
    assert.equal(c.keyTrusted, true);
    assert.equal(c.entries, (JSON.parse(bundleBytes.toString('utf8')) as Json).entries.length);
  });

  test('re-signed with another key (and naming it): wrong key, checkpoint and receipts not signed by it', () => {
    const forger = SigningKey.generate();
    const b = JSON.parse(bundleBytes.toString('utf8')) as Json;
    b.signing_key = { alg: 'Ed25519', key_id: forger.keyId, public_key: forger.publicKey.toString('base64') };
    const bytes = canonicalBytes(b);
    const forgedSig = forger.sign(bytes);
    const withTrust = verifyBundle(bytes, forgedSig, trusted());
    assert.equal(withTrust.ok, false);
    assert.ok(withTrust.failures.includes(`the bundle names signing key ${forger.keyId}, not the trusted key ${t.ctx.ledger.signingKey.keyId}`), withTrust.failures.join('; '));
    assert.ok(withTrust.failures.includes('the bundle signature does not verify'));
    // Without a trusted key the forger's own key is used: its signature holds, but the service's checkpoint and receipts do not.
    const alone = verifyBundle(bytes, forgedSig);
    assert.equal(alone.ok, false);
    assert.ok(!alone.failures.includes('the bundle signature does not verify'));
    assert.ok(alone.failures.some((f) => /^the checkpoint note at size \d+ is not signed by the service key: it is signed by \S+\+[0-9a-f]{8}, not by \S+\+[0-9a-f]{8}$/.test(f)), alone.failures.join('; '));
    assert.ok(alone.failures.some((f) => /^receipt 1: receipt was signed by key [0-9a-f]{32}, not by the trusted key [0-9a-f]{32}$/.test(f)), alone.failures.join('; '));
  });

  test('re-signed with another key, keeping the service key named: the signature does not verify', () => {
    const forgedSig = SigningKey.generate().sign(bundleBytes);
    const c = verifyBundle(bundleBytes, forgedSig, trusted());
    assert.deepEqual(c.failures, ['the bundle signature does not verify']);
  });

  test('an edited entry: the signature and the leaf hash fail; with the leaf recomputed and re-signed, the inclusion proof does', () => {
    const b = JSON.parse(bundleBytes.toString('utf8')) as Json;
    const e = acceptanceOf(b);
    const bytes = Buffer.from(Buffer.from(e.canonical, 'base64').toString('utf8').replace('"client_time":"2026-', '"client_time":"2025-'));
    assert.ok(!bytes.equals(Buffer.from(e.canonical, 'base64')), 'the edit changed the entry');
    e.canonical = bytes.toString('base64');
    const edited = canonicalBytes(b);
    const c1 = verifyBundle(edited, bundleSig, trusted());
    assert.ok(c1.failures.includes('the bundle signature does not verify'), c1.failures.join('; '));
    assert.ok(c1.failures.includes(`entry ${e.seq}: leaf hash does not match its bytes`), c1.failures.join('; '));
    // Even re-signed with the service key itself (a compromised signer), the signed root exposes the edit.
    e.leaf_hash = leafHash(bytes).toString('hex');
    e.chain_hash = chainHash(e.seq, Buffer.from(e.prev_hash, 'hex'), leafHash(bytes)).toString('hex');
    const resigned = canonicalBytes(b);
    const c2 = verifyBundle(resigned, t.ctx.ledger.signingKey.sign(resigned), trusted());
    const root = readCheckpoint(noteOf(b))!.rootHash!.toString('hex');
    const [first, ...rest] = c2.failures.map((f) => f.replace(/root [0-9a-f]{64},/, 'root R,'));
    assert.equal(first, `entry ${e.seq}: not in the tree of the signed checkpoint: its inclusion proof leads to root R, the checkpoint's root is ${root}`);
    // The entry's receipt, signed over the genuine event, no longer names it.
    assert.deepEqual(rest.map((f) => f.replace(/^receipt \d+:/, 'receipt N:')), [`receipt N: its ledger entry ${e.seq} is not among the cited entries`]);
  });

  test('inclusion proofs one hash short, one hash long, for another leaf, and an entry beyond the checkpoint: each named', () => {
    const b = JSON.parse(bundleBytes.toString('utf8')) as Json;
    const [e1, e2, e3] = b.entries as [Json, Json, Json];
    const size = readCheckpoint(noteOf(b))!.size;
    e1.inclusion.audit_path = e1.inclusion.audit_path.slice(1);
    e2.inclusion.audit_path = [...e2.inclusion.audit_path, 'ab'.repeat(32)];
    e3.inclusion.leaf_index += 1;
    const beyond = structuredClone(e3);
    beyond.seq = size + 5;
    (b.entries as Json[]).push(beyond);
    const bytes = canonicalBytes(b);
    const c = verifyBundle(bytes, t.ctx.ledger.signingKey.sign(bytes), trusted());
    assert.ok(c.failures.includes(`entry ${e1.seq}: its inclusion proof is malformed: the proof is too short`), c.failures.join('; '));
    assert.ok(c.failures.includes(`entry ${e2.seq}: its inclusion proof is malformed: the proof is too long`), c.failures.join('; '));
    assert.ok(c.failures.includes(`entry ${e3.seq}: its inclusion proof is for leaf index ${e3.seq}, not ${e3.seq - 1}`), c.failures.join('; '));
    assert.ok(c.failures.includes(`entry ${size + 5}: beyond the checkpoint, which covers entries 1 to ${size}`), c.failures.join('; '));
  });

  test('a v1 bundle (chain proof), as dossiers issued before v2 carry, still verifies; an edited one fails', async () => {
    const v2 = JSON.parse(bundleBytes.toString('utf8')) as Json;
    const cp = (await t.ctx.ledger.checkpoint())!;
    const entries = (v2.entries as Json[]).map(({ inclusion: _, ...e }) => e);
    const from = entries[0]!.seq as number;
    const v1 = {
      type: 'assentmark.evidence-bundle/v1', origin: v2.origin, dossier_id: v2.dossier_id, case_ref: v2.case_ref, subject: v2.subject, issued_at: v2.issued_at, signing_key: v2.signing_key,
      entries,
      chain: { from_seq: from, prev_hash: entries[0]!.prev_hash, leaf_hashes: Buffer.concat(await t.ctx.ledger.leafHashes(from, cp.size)).toString('base64') },
      checkpoint: { body: cp.body.toString('base64'), signature: cp.signature.toString('base64') },
      receipts: v2.receipts,
    };
    const bytes = canonicalBytes(v1);
    const c = verifyBundle(bytes, t.ctx.ledger.signingKey.sign(bytes), trusted());
    assert.equal(c.ok, true, c.failures.join('; '));
    assert.equal(c.format, 1);
    assert.equal(c.checkpointSize, cp.size);
    const e = acceptanceOf(v1);
    e.canonical = Buffer.from(Buffer.from(e.canonical, 'base64').toString('utf8').replace('"method":"checkbox"', '"method":"typed_name"')).toString('base64');
    e.leaf_hash = leafHash(Buffer.from(e.canonical, 'base64')).toString('hex');
    const edited = canonicalBytes(v1);
    const bad = verifyBundle(edited, t.ctx.ledger.signingKey.sign(edited), trusted());
    assert.ok(bad.failures.includes(`entry ${e.seq}: not on the chain that leads to the signed checkpoint`), bad.failures.join('; '));
  });

  test('hostile values in any field (null, numbers, strings, arrays, objects) never throw and never verify', () => {
    // Without its receipts (each an Ed25519 verification; verifyReceipt has its own tests), re-signed.
    const genuineJson = { ...(JSON.parse(bundleBytes.toString('utf8')) as Json), receipts: [] };
    const baseBytes = canonicalBytes(genuineJson);
    assert.equal(verifyBundle(baseBytes, t.ctx.ledger.signingKey.sign(baseBytes), trusted()).ok, true);
    const paths: Array<Array<string | number>> = [];
    const walk = (v: unknown, at: Array<string | number>) => {
      if (at.length) paths.push(at);
      if (Array.isArray(v)) v.slice(0, 2).forEach((x, i) => walk(x, [...at, i]));
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...at, k]);
    };
    walk(genuineJson, []);
    assert.ok(paths.length > 40, `${paths.length} fields`);
    const hostile: unknown[] = [null, -1, 1.5, '', 'AAAA', [], [null], {}];
    let runs = 0;
    for (const at of paths) {
      for (const h of hostile) {
        const b = structuredClone(genuineJson);
        let o: any = b;
        for (const k of at.slice(0, -1)) o = o[k];
        if (JSON.stringify(o[at.at(-1)!]) === JSON.stringify(h)) continue;
        // Free text the bundle only carries: any string is a valid value.
        if (typeof h === 'string' && ['dossier_id', 'case_ref', 'subject', 'issued_at', 'statement'].includes(String(at.at(-1)))) continue;
        o[at.at(-1)!] = h;
        let bytes: Buffer;
        try {
          bytes = canonicalBytes(b);
        } catch {
          continue; // not representable as canonical JSON (2^60): not a bundle anyone can send
        }
        runs++;
        // The personal facts have their own check (dossier verify's personal-facts), beside the bundle's.
        if (['openings', 'erased', 'subject_pseudonym'].includes(String(at[0]))) {
          const j = b as Json;
          const pf = checkPersonalFacts(j.entries, j.openings, j.erased, j.subject_pseudonym);
          assert.ok(pf.failures.length > 0, `${at.join('.')} = ${JSON.stringify(h)} passed the personal-facts check`);
          continue;
        }
        const c = verifyBundle(bytes, t.ctx.ledger.signingKey.sign(bytes), trusted());
        assert.equal(c.ok, false, `${at.join('.')} = ${JSON.stringify(h)} verified`);
        assert.ok(c.failures.length > 0);
      }
    }
    assert.ok(runs > 250, `${runs} hostile bundles`);
  });

  test('the size stays logarithmic: each audit path has at most ceil(log2 S) hashes, and the bundle no chain of leaves', () => {
    const b = JSON.parse(bundleBytes.toString('utf8')) as Json;
    const size = readCheckpoint(noteOf(b))!.size;
    for (const e of b.entries as Json[]) assert.ok(e.inclusion.audit_path.length <= Math.ceil(Math.log2(size)), `entry ${e.seq}`);
    assert.equal(b.chain, undefined);
    assert.equal(b.type, 'assentmark.evidence-bundle/v2');
    assert.deepEqual(b.checkpoint.timestamp, { status: 'none', statement: NO_TIMESTAMP_STATEMENT });
    assert.equal(b.earlier_checkpoint, null);
  });
});

describe('assentmark dossier issue (command line)', () => {
  test('writes a PDF and its .sig that verify with pdfsig, OpenSSL and dossier verify', async () => {
    // Embedded PostgreSQL belongs to one process: t.cli() closes the test's context around the
    // command (a real server is shared, and the CLI runs beside the open context).
    await t.built.close();
    const out = path.join(work, 'cli', 'dossier.pdf');
    mkdirSync(path.dirname(out));
    const r = await t.cli(['dossier', 'issue', '--subject', ev.subject, '--case', `${CASE_REF}-CLI`, '--requested-by', 'Jane Investigator', '--counsel', 'Alex Counsel', '--firm', 'Counsel & Partners LLP', '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const meta = JSON.parse(r.stdout) as Json;
    assert.equal(meta.file, out);
    assert.ok(existsSync(out) && existsSync(`${out}.sig`));
    const file = readFileSync(out);
    assert.equal(sha256(file), meta.pdf_sha256);
    const cliDir = path.dirname(out);
    writeFileSync(path.join(cliDir, 'trusted.pem'), t.ctx.ledger.signingKey.publicKeyPem());
    assert.ok(pdfsigValid(run('pdfsig', ['dossier.pdf'], { cwd: cliDir }).out));
    const k = run('openssl', ['pkeyutl', '-verify', '-pubin', '-inkey', 'trusted.pem', '-rawin', '-in', 'dossier.pdf', '-sigfile', 'dossier.pdf.sig'], { cwd: cliDir });
    assert.equal(k.status, 0, k.out);
    const data = mkdtempSync(path.join(work, 'empty-data-'));
    const v = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--signature', 'dossier.pdf.sig', '--public-key', 'trusted.pem'], { cwd: cliDir, env: bareEnv(data) });
    assert.equal(v.status, 0, v.out);
    assert.ok(v.stdout.includes(`VALID: dossier ${meta.id} (case ${CASE_REF}-CLI`), v.stdout);
    // The issue is recorded in the ledger like an HTTP one.
    const listed = await t.get(`/v1/subjects/${ev.subject}/dossiers`, 'counsel');
    assert.ok((listed.body.dossiers as Json[]).some((d) => d.id === meta.id && d.pdf_sha256 === meta.pdf_sha256));
  });
});

describe('a dossier issued with a time-stamping authority', () => {
  let tsa: TestTsa;
  let tdir: string;
  let tissued: Json;
  let tb: Json;
  let tBytes: Buffer;
  let tSig: Buffer;
  before(async () => {
    tsa = await startTestTsa();
  });
  // The options are read when the app is created, once the TSA is up (a describe's hooks run in order).
  const ta = useTestApp(() => ({
    // A final (not DRAFT) dossier: the DRAFT mark's letters would sit in pdftotext's reading order.
    config: { tsaUrl: tsa.url, tsaCaFile: tsa.caCertPath, organisation: 'Example AI Ltd', certifierName: 'Dana K. Scully', certifierTitle: 'Head of Trust & Safety', jurisdiction: 'England and Wales', keysUrl: 'https://example.test/.well-known/assentmark/keys.json' },
    async setup(app) {
      await buildEvidence(supertestHttp(() => app.app, app.tokens), { subject: 'subject-tsa', acceptances: 2, withdrawals: 1, verifications: 1, caseRef: 'CASE-TSA' });
      // A timestamped checkpoint before the dossier's, then more entries after it.
      const early = await app.ctx.ledger.checkpoint();
      assert.ok(await app.built.services.timestamps.stamp(early!));
      await app.ctx.ledger.append({ events: [1, 2, 3, 4, 5].map((i) => eulaEvent(i)) });
      const res = await app.post('/v1/dossiers', 'investigator').send({ subject: 'subject-tsa', case_ref: 'CASE-TSA', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
      assert.equal(res.status, 201, res.text);
      tissued = res.body as Json;
      const tpdf = (await app.get(`/v1/dossiers/${tissued.id}/pdf`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
      tdir = mkdtempSync(path.join(tmpdir(), 'assentmark-dossier-tsa-'));
      writeFileSync(path.join(tdir, 'dossier.pdf'), tpdf);
      writeFileSync(path.join(tdir, 'trusted.pem'), app.ctx.ledger.signingKey.publicKeyPem());
      writeFileSync(path.join(tdir, 'tsa-ca.pem'), tsa.caCertPem);
      const ex = runDoc('dossier-exhibits', tdir);
      assert.equal(ex.status, 0, ex.out);
      tBytes = readFileSync(path.join(tdir, 'evidence-bundle.json'));
      tSig = readFileSync(path.join(tdir, 'evidence-bundle.json.sig'));
      tb = JSON.parse(tBytes.toString('utf8')) as Json;
    },
  }));
  const forger = new Forger(() => ta, () => 'subject-tsa', () => tdir);
  after(async () => {
    await forger.close();
    await tsa?.close();
    if (tdir) rmSync(tdir, { recursive: true, force: true });
  });

  const sizes = (): { from: number; to: number } => ({ from: readCheckpoint(noteOf(tb, 'earlier_checkpoint'))!.size, to: readCheckpoint(noteOf(tb))!.size });

  test('the bundle carries the token of its checkpoint and the earlier timestamped checkpoint with a consistency proof; verifyBundle checks both tokens', () => {
    const ts = tb.checkpoint.timestamp as Json;
    assert.equal(ts.status, 'rfc3161');
    assert.equal(ts.tsa_url, tsa.url);
    assert.ok(Math.abs(Date.parse(ts.gen_time) - Date.parse(tissued.issued_at)) < 60_000, ts.gen_time);
    const e = tb.earlier_checkpoint as Json;
    assert.ok(e, 'an earlier timestamped checkpoint');
    const { from, to } = sizes();
    assert.ok(from < to, `${from} < ${to}`);
    assert.deepEqual([e.consistency.from_size, e.consistency.to_size], [from, to]);
    assert.ok(e.consistency.proof.length > 0 && e.consistency.proof.length <= 2 * Math.ceil(Math.log2(to)));
    const c = verifyBundle(tBytes, tSig, ta.ctx.ledger.signingKey.publicKey, { tsaTrustedCertsPem: tsa.caCertPem });
    assert.equal(c.ok, true, c.failures.join('; '));
    assert.deepEqual(c.timestamps.map((x) => [x.of, x.size, x.ok, x.chainVerified]), [['checkpoint', to, true, true], ['earlier checkpoint', from, true, true]]);
    assert.deepEqual(c.consistency, { fromSize: from, toSize: to, hashes: e.consistency.proof.length, ok: true });
    assert.equal(c.noTimestampStatement, null);
  });

  test('the doc\'s step 7: openssl ts -verify accepts the checkpoint\'s token, and the earlier checkpoint\'s note and token', () => {
    const c = runDoc('dossier-checkpoint', tdir);
    assert.equal(c.status, 0, c.out);
    const r = runDoc('dossier-timestamp', tdir);
    assert.equal(r.status, 0, r.out);
    assert.ok(r.stdout.includes('Verification: OK'), r.out);
    assert.match(r.stdout, /^Time stamp: /m);
    assert.match(r.stdout, /^TSA: DirName:.*CN ?= ?assentmark test TSA/m);
    const e = runDoc('dossier-earlier-timestamp', tdir);
    assert.equal(e.status, 0, e.out);
    assert.ok(e.stdout.includes(`${ta.ctx.ledger.origin}\n${sizes().from}\n`), e.stdout);
    assert.ok(e.stdout.includes('Signature Verified Successfully'), e.out);
    assert.ok(e.stdout.includes('Verification: OK'), e.out);
  });

  test('the doc\'s Python script: every entry in the tree, the consistency proof holds, the token is named', () => {
    const script = savePythonScript(tdir);
    const r = run('python3', [script, 'evidence-bundle.json', 'trusted.pem'], { cwd: tdir });
    assert.equal(r.status, 0, r.out);
    const { from, to } = sizes();
    assert.ok(r.stdout.includes(`consistency: the tree at size ${from} (root ${readCheckpoint(noteOf(tb, 'earlier_checkpoint'))!.rootHash!.toString('hex')}) is the first ${from} entries of the tree at size ${to}, ${tb.earlier_checkpoint.consistency.proof.length} proof hashes`), r.stdout);
    assert.ok(r.stdout.includes(`outside timestamp: RFC 3161 token by ${tsa.url} at ${tb.checkpoint.timestamp.gen_time}`), r.stdout);
    assert.ok(r.stdout.trim().endsWith(`OK: ${tb.entries.length} cited entries are in the tree of the checkpoint at size ${to}`), r.stdout);
  });

  test('assentmark dossier verify: both timestamps ok; with --tsa-ca their chain is checked, without it the output says it was not', () => {
    const { from, to } = sizes();
    const withCa = cliVerify(tdir, ['--tsa-ca', 'tsa-ca.pem']);
    assert.equal(withCa.status, 0, withCa.out);
    const lines = withCa.stdout.split('\n').filter((l) => /^ok\s+timestamp:/.test(l));
    assert.equal(lines.length, 2, withCa.stdout);
    assert.match(lines[0]!, new RegExp(`RFC 3161 timestamp of the checkpoint at size ${to}: genTime \\S+ by CN=assentmark test TSA.*the TSA certificate chains to the trusted CA$`));
    assert.match(lines[1]!, new RegExp(`RFC 3161 timestamp of the earlier checkpoint at size ${from}: .*the TSA certificate chains to the trusted CA$`));
    assert.match(withCa.stdout, new RegExp(`consistency proof \\(\\d+ hashes\\) shows the timestamped tree at size ${from} is a prefix of it`));
    const without = cliVerify(tdir);
    assert.equal(without.status, 0, without.out);
    assert.match(without.stdout, /^ok\s+timestamp: .*the TSA certificate was NOT checked against a trusted CA \(pass --tsa-ca\)$/m);
    // Another CA (here the PDF certificate) is not the TSA's: the chain fails, naming the timestamp.
    cpSync(ta.config.pdfCertFile!, path.join(tdir, 'wrong-ca.pem'));
    const wrong = cliVerify(tdir, ['--tsa-ca', 'wrong-ca.pem']);
    assert.equal(wrong.status, 1, wrong.out);
    assert.match(failLine(wrong.stdout, 'timestamp'), new RegExp(`^the timestamp of the checkpoint at size ${to}: `));
    assert.match(wrong.stdout, /^ok\s+evidence-bundle:/m, 'only the timestamps fail');
  });

  test('the PDF\'s integrity page names the TSA, the time stamped and the earlier checkpoint', () => {
    const text = run('pdftotext', ['dossier.pdf', '-'], { cwd: tdir }).stdout.replace(/\s+/g, ' ');
    const { from } = sizes();
    const gen = String(tb.checkpoint.timestamp.gen_time).replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
    assert.ok(text.includes(`Time stamped (genTime) ${gen}`), text.slice(text.indexOf('Time from outside'), text.indexOf('Time from outside') + 800));
    assert.ok(text.includes('Time-stamping authority CN=assentmark test TSA'));
    assert.ok(text.includes(`Earlier timestamped checkpoint size ${from}`), text.slice(text.indexOf('Earlier timestamped') - 200, text.indexOf('Earlier timestamped') + 400));
    assert.ok(text.includes('carries an RFC 3161 timestamp by CN=assentmark test TSA'));
    assert.ok(!text.includes('No outside timestamp exists'));
  });

  test('the earlier checkpoint\'s token in place of the checkpoint\'s: openssl ts -verify and the CLI fail on the imprint', async () => {
    const forged = editBundle(tBytes, (b) => {
      b.checkpoint.timestamp = { ...b.earlier_checkpoint.timestamp };
    });
    const resigned = ta.ctx.ledger.signingKey.sign(forged);
    const d = await forger.pdf('swapped-token', forged, resigned);
    cpSync(path.join(tdir, 'tsa-ca.pem'), path.join(d, 'tsa-ca.pem'));
    writeFileSync(path.join(d, 'evidence-bundle.json'), forged);
    cpSync(path.join(tdir, 'signing-key.pem'), path.join(d, 'signing-key.pem'));
    assert.equal(runDoc('dossier-checkpoint', d).status, 0);
    const o = runDoc('dossier-timestamp', d);
    assert.notEqual(o.status, 0, o.out);
    assert.ok(o.out.includes('Verification: FAILED'), o.out);
    const r = cliVerify(d, ['--tsa-ca', 'tsa-ca.pem']);
    assert.equal(r.status, 1, r.out);
    assert.ok(failLine(r.stdout, 'timestamp').startsWith(`the timestamp of the checkpoint at size ${sizes().to}: the token's message imprint is not SHA-256 of the checkpoint note`), r.stdout);
  });

  test('a TSA that fails: the issue is refused with 502 timestamp_unavailable and nothing is recorded', async () => {
    const down = await createTestApp({ config: { tsaUrl: tsa.unavailableUrl } });
    try {
      await buildEvidence(supertestHttp(() => down.app, down.tokens), { subject: 'subject-down', acceptances: 1, verifications: 0, decideQueries: 10, caseRef: 'CASE-DOWN' });
      const before = await down.countRows();
      const res = await down.post('/v1/dossiers', 'investigator').send({ subject: 'subject-down', case_ref: 'CASE-DOWN', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
      assert.equal(res.status, 502, res.text);
      const p = problemOf(res);
      assert.equal(p.code, 'timestamp_unavailable');
      assert.match(p.detail, /HTTP 503/);
      assert.deepEqual(await down.countRows(), before, 'no dossier.issued event');
      assert.deepEqual((await down.get('/v1/subjects/subject-down/dossiers', 'counsel')).body.dossiers, []);
    } finally {
      await down.close();
    }
  });

  test('a changed hash in the consistency proof: the Python script and the CLI say the consistency proof does not hold', async () => {
    const { from, to } = sizes();
    const forged = editBundle(tBytes, (b) => {
      const p = b.earlier_checkpoint.consistency.proof as string[];
      p[0] = flip(Buffer.from(p[0]!, 'hex'), 0).toString('hex');
    });
    const resigned = ta.ctx.ledger.signingKey.sign(forged);
    const script = savePythonScript(tdir);
    writeFileSync(path.join(tdir, 'consistency.json'), forged);
    const py = run('python3', [script, 'consistency.json', 'trusted.pem'], { cwd: tdir });
    assert.equal(py.status, 1, py.out);
    assert.match(py.stdout, new RegExp(`^FAIL: the consistency proof from size ${from} to size ${to} does not hold: it leads to other roots$`, 'm'));
    const d = await forger.pdf('consistency', forged, resigned);
    const r = cliVerify(d);
    assert.equal(r.status, 1, r.out);
    assert.ok(failLine(r.stdout, 'evidence-bundle').includes(`the consistency proof from size ${from} to size ${to} does not hold (the proof leads to a different root`), r.stdout);
  });
});
