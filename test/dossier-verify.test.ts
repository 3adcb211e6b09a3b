// Offline verification of an issued dossier with standard tools, as docs/verifying-a-dossier.md
// tells an expert to do it (its `test:` blocks are run verbatim here): Poppler's pdfsig and
// pdfdetach, OpenSSL 3 (the CMS recipe of test/fixtures/pdf/verify-with-openssl.sh, Ed25519 over the
// PDF, the bundle and the checkpoint), sha256sum, the doc's Python chain script, and
// `assentmark dossier verify` without any database. Then tampering: one flipped byte anywhere makes
// every check fail; forged bundles fail verifyBundle with a precise reason; a wrong key fails.
// Finally `assentmark dossier issue` from the command line. poppler-utils, openssl, xxd, jq and
// python3 are required (a missing tool fails, it is not skipped).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { sql } from 'kysely';
import { canonicalBytes } from '../src/canonical/jcs.js';
import { SigningKey } from '../src/crypto/ed25519.js';
import { buf } from '../src/db/bytes.js';
import { verifyBundle, type EvidenceBundle } from '../src/dossier/bundle.js';
import { leafHash } from '../src/ledger/format.js';
import { packageRoot } from '../src/util/paths.js';
import { CLI_MAIN, createTestApp, type TestApp } from './helpers/app.js';
import { buildEvidence, supertestHttp, type Evidence } from './helpers/evidence.js';

type Json = Record<string, any>;

const CASE_REF = 'CASE-2026-0077';
const DOC = path.join(packageRoot(), 'docs', 'verifying-a-dossier.md');
const OPENSSL_SCRIPT = path.join(packageRoot(), 'test', 'fixtures', 'pdf', 'verify-with-openssl.sh');
const HOWTO_TEMPLATE = path.join(packageRoot(), 'templates', 'dossier', '09-how-to-verify.hbs');

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const compact = (s: string): string => s.replace(/\s+/g, '');

const TOOLS: Record<string, string> = { pdfsig: 'poppler-utils', pdfdetach: 'poppler-utils', pdftotext: 'poppler-utils', openssl: 'openssl', bash: 'bash', python3: 'python3', node: 'nodejs' };

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  out: string;
}

function run(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): Run {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, input: opts.input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail(`required tool "${cmd}" is not installed (apt-get install -y ${TOOLS[cmd] ?? cmd})`);
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: r.stdout + r.stderr };
}

/** The code block that follows `<!-- test:NAME -->` in docs/verifying-a-dossier.md. */
function docBlock(name: string): { lang: string; code: string } {
  const md = readFileSync(DOC, 'utf8');
  const m = new RegExp(`<!-- test:${name} -->\\n\`\`\`(\\w+)\\n([\\s\\S]*?)\\n\`\`\``).exec(md);
  assert.ok(m, `docs/verifying-a-dossier.md has no block marked test:${name}`);
  return { lang: m[1]!, code: m[2]! + '\n' };
}

/** Runs a doc shell block verbatim with bash (errexit, pipefail) in a directory. */
function runDoc(name: string, cwd: string): Run {
  const b = docBlock(name);
  assert.equal(b.lang, 'sh');
  return run('bash', ['-euo', 'pipefail', '-c', b.code], { cwd });
}

function pdfsigValid(out: string): boolean {
  return out.includes('Signature Validation: Signature is Valid.');
}

/** Environment for the CLI: no database URL, an empty data directory, nothing else configured. */
function bareEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'silent', ASSENTMARK_DATA_DIR: dataDir };
  return env;
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

function byteRangeOf(pdf: Buffer): [number, number, number, number] {
  const all = [...pdf.toString('latin1').matchAll(/\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g)];
  const m = all.at(-1);
  assert.ok(m, 'a /ByteRange');
  return [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
}

let t: TestApp;
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

function binary(res: NodeJS.ReadableStream, cb: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (d: Buffer) => chunks.push(d));
  res.on('end', () => cb(null, Buffer.concat(chunks)));
}

before(async () => {
  t = await createTestApp();
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
});

after(async () => {
  await t?.built.close();
  await t?.close();
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
    assert.equal(names.length, 3 + ev.eulas.length + ev.records.length, list.stdout);
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

  test('the bundle signature verifies; the checkpoint, decoded from the bundle, verifies and matches the dossier.issued event', () => {
    const b = runDoc('dossier-bundle', dir);
    assert.equal(b.status, 0, b.out);
    assert.ok(b.out.includes('Signature Verified Successfully'), b.out);
    const c = runDoc('dossier-checkpoint', dir);
    assert.equal(c.status, 0, c.out);
    assert.ok(c.out.includes('Signature Verified Successfully'), c.out);
    const cp = JSON.parse(readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')) as Json;
    assert.equal(cp.type, 'assentmark.checkpoint/v1');
    assert.equal(cp.size, issuedEvent.data.checkpoint.size);
    assert.equal(cp.chain_hash, issuedEvent.data.checkpoint.chain_hash);
    assert.equal(cp.key_id, t.ctx.ledger.signingKey.keyId);
    assert.equal(readFileSync(path.join(dir, 'checkpoint.sig')).length, 64);
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
    assert.deepEqual(readdirSync(data), [], 'no database was opened or created');
    const json = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--signature', 'dossier.pdf.sig', '--public-key', 'trusted.pem', '--json'], { cwd: dir, env: bareEnv(data) });
    const report = JSON.parse(json.stdout) as Json;
    assert.equal(report.ok, true);
    assert.equal(report.keyTrusted, true);
    assert.equal(report.pdfSha256, issued.pdf_sha256);
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
    for (const name of ['dossier-pdfsig', 'dossier-cms', 'dossier-exhibits', 'dossier-detached', 'dossier-bundle', 'dossier-checkpoint']) {
      for (const line of docBlock(name).code.trim().split('\n')) {
        if (name === 'dossier-checkpoint' && line.startsWith('cat ')) continue; // the doc also prints the body
        assert.ok(tpl.includes(line), `the PDF's how-to page lacks the doc's line (${name}): ${line}`);
      }
    }
  });
});

describe("the doc's Python script recomputes the chain", () => {
  let script: string;
  before(() => {
    const b = docBlock('recompute-chain');
    assert.equal(b.lang, 'python');
    script = path.join(work, 'recompute_chain.py');
    writeFileSync(script, b.code);
  });

  const py = (bundlePath: string): Run => run('python3', [script, bundlePath]);
  const tampered = (name: string, edit: (b: Json) => void): string => {
    const b = JSON.parse(bundleBytes.toString('utf8')) as Json;
    edit(b);
    const p = path.join(work, `${name}.json`);
    writeFileSync(p, JSON.stringify(b));
    return p;
  };

  test('on the genuine bundle: every cited entry on the chain, the checkpoint reached, exit 0', () => {
    const r = py(path.join(dir, 'evidence-bundle.json'));
    assert.equal(r.status, 0, r.out);
    const b = JSON.parse(bundleBytes.toString('utf8')) as EvidenceBundle;
    const cp = JSON.parse(Buffer.from(b.checkpoint.body, 'base64').toString('utf8')) as Json;
    assert.ok(r.stdout.includes(`OK: ${b.entries.length} cited entries chain to the checkpoint at size ${cp.size}`), r.stdout);
    assert.ok(r.stdout.includes(`recomputed chain hash at ${cp.size}: ${cp.chain_hash}`));
    for (const e of b.entries) assert.ok(r.stdout.includes(`entry ${e.seq} (${e.event_type}): leaf ${e.leaf_hash} on the chain, chain hash ${e.chain_hash}`), `entry ${e.seq}`);
  });

  test('an edited entry (an acceptance\'s IP address) fails: its bytes no longer hash to its leaf', () => {
    const p = tampered('edited', (b) => {
      const e = (b.entries as Json[]).find((x) => x.event_type === 'acceptance.recorded')!;
      const text = Buffer.from(e.canonical, 'base64').toString('utf8');
      const ip = ev.records.find((r) => r.kind === 'accepted')!.request.ip as string;
      assert.ok(text.includes(ip));
      e.canonical = Buffer.from(text.replace(ip, '198.51.100.66')).toString('base64');
    });
    const r = py(p);
    assert.equal(r.status, 1, r.out);
    assert.match(r.stdout, /FAIL: entry \d+: its bytes do not hash to its leaf hash/);
    assert.ok(r.stdout.trim().endsWith('INVALID'));
  });

  test('an edited entry with a recomputed leaf hash fails: it is not on the chain', () => {
    const p = tampered('edited-leaf', (b) => {
      const e = (b.entries as Json[]).find((x) => x.event_type === 'acceptance.recorded')!;
      const bytes = Buffer.from(Buffer.from(e.canonical, 'base64').toString('utf8').replace('"method":"checkbox"', '"method":"typed_name"'));
      e.canonical = bytes.toString('base64');
      e.leaf_hash = leafHash(bytes).toString('hex');
    });
    const r = py(p);
    assert.equal(r.status, 1, r.out);
    assert.match(r.stdout, /FAIL: entry \d+: not on the chain that leads to the checkpoint/);
  });

  test('a changed leaf in the chain proof fails: the chain no longer reaches the checkpoint', () => {
    const p = tampered('leaf', (b) => {
      const leaves = Buffer.from(b.chain.leaf_hashes, 'base64');
      leaves[leaves.length - 1] = leaves[leaves.length - 1]! ^ 0x01;
      b.chain.leaf_hashes = leaves.toString('base64');
    });
    const r = py(p);
    assert.equal(r.status, 1, r.out);
    assert.ok(r.stdout.includes("FAIL: the recomputed chain does not reach the checkpoint's chain hash"), r.stdout);
  });

  test('a removed leaf (an entry dropped from the ledger) fails', () => {
    const p = tampered('dropped', (b) => {
      const leaves = Buffer.from(b.chain.leaf_hashes, 'base64');
      b.chain.leaf_hashes = Buffer.concat([leaves.subarray(0, 32), leaves.subarray(64)]).toString('base64');
    });
    const r = py(p);
    assert.equal(r.status, 1, r.out);
    assert.match(r.stdout, /FAIL: the leaf hashes cover entries \d+\.\.\d+, the checkpoint \d+/);
  });
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
      const bad = Buffer.from(pdf);
      bad[at] = bad[at]! ^ 0x01;
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
    assert.ok(alone.failures.some((f) => /^the checkpoint at size \d+ has an invalid signature$/.test(f)), alone.failures.join('; '));
    assert.ok(alone.failures.some((f) => /^receipt 1: receipt was signed by key [0-9a-f]{32}, not by the trusted key [0-9a-f]{32}$/.test(f)), alone.failures.join('; '));
  });

  test('re-signed with another key, keeping the service key named: the signature does not verify', () => {
    const forgedSig = SigningKey.generate().sign(bundleBytes);
    const c = verifyBundle(bundleBytes, forgedSig, trusted());
    assert.deepEqual(c.failures, ['the bundle signature does not verify']);
  });

  test('an edited entry: the signature and the leaf hash fail; with the leaf recomputed, the chain does', () => {
    const b = JSON.parse(bundleBytes.toString('utf8')) as Json;
    const e = (b.entries as Json[]).find((x) => x.event_type === 'acceptance.recorded')!;
    const ip = ev.records.find((r) => r.kind === 'accepted')!.request.ip as string;
    const bytes = Buffer.from(Buffer.from(e.canonical, 'base64').toString('utf8').replace(`"ip":"${ip}"`, '"ip":"198.51.100.66"'));
    assert.ok(!bytes.equals(Buffer.from(e.canonical, 'base64')), 'the edit changed the entry');
    e.canonical = bytes.toString('base64');
    const edited = canonicalBytes(b);
    const c1 = verifyBundle(edited, bundleSig, trusted());
    assert.ok(c1.failures.includes('the bundle signature does not verify'), c1.failures.join('; '));
    assert.ok(c1.failures.includes(`entry ${e.seq}: leaf hash does not match its bytes`), c1.failures.join('; '));
    // Even re-signed with the service key itself (a compromised signer), the chain to the checkpoint exposes the edit.
    e.leaf_hash = leafHash(bytes).toString('hex');
    const resigned = canonicalBytes(b);
    const c2 = verifyBundle(resigned, t.ctx.ledger.signingKey.sign(resigned), trusted());
    assert.equal(c2.ok, false);
    assert.ok(c2.failures.includes(`entry ${e.seq}: not on the chain that leads to the signed checkpoint`), c2.failures.join('; '));
  });

  test('a dropped entry from the chain proof: the proof no longer reaches the checkpoint size', () => {
    const b = JSON.parse(bundleBytes.toString('utf8')) as Json;
    const leaves = Buffer.from(b.chain.leaf_hashes, 'base64');
    b.chain.leaf_hashes = leaves.subarray(32).toString('base64');
    b.chain.from_seq += 1;
    const bytes = canonicalBytes(b);
    const c = verifyBundle(bytes, t.ctx.ledger.signingKey.sign(bytes), trusted());
    assert.equal(c.ok, false);
    assert.ok(c.failures.some((f) => /^entry \d+: (outside the chain proof|not on the chain that leads to the signed checkpoint)$/.test(f) || f.startsWith('the chain does not reach')), c.failures.join('; '));
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
