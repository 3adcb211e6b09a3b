// The standard-tool recipes of docs/verifying-a-dossier.md on a small dossier, run verbatim: the
// OpenSSL path of step 1 fails a byte flipped in the signature's zero padding (outside the signed
// ranges, where the CMS signature alone still verifies), as `assentmark dossier verify` does; the
// recipe for a dossier's pdf_sha256 in a ledger export finds the issued file and nothing else.
// Poppler, OpenSSL, xxd and jq are required.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/util/paths.js';
import { CLI_MAIN, useTestApp } from './helpers/app.js';
import { buildEvidence, supertestHttp } from './helpers/evidence.js';
import { bareEnv, byteRangeOf, runDoc } from './helpers/recipe.js';
import { binary, flip, run } from './helpers/tools.js';

type Json = Record<string, any>;

const t = useTestApp({ setup });
let issued: Json;
let pdf: Buffer;
let work: string;
/** The genuine dossier.pdf, as the expert holds it. */
let dir: string;

/** Runs once the app exists (useTestApp's before hook): one acceptance, no gateway traffic. */
async function setup(): Promise<void> {
  work = mkdtempSync(path.join(tmpdir(), 'assentmark-dossier-recipe-'));
  const ev = await buildEvidence(supertestHttp(() => t.app, t.tokens), { acceptances: 1, verifications: 0, decideQueries: 0, caseRef: 'CASE-2026-0078' });
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject: ev.subject, case_ref: 'CASE-2026-0078', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  assert.equal(res.status, 201, res.text);
  issued = res.body as Json;
  pdf = (await t.get(`/v1/dossiers/${issued.id}/pdf`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
  dir = path.join(work, 'expert');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'dossier.pdf'), pdf);
}

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the dossier's hash in a ledger export (the doc's recipe, verbatim)", () => {
  test('finds the dossier.issued entry naming the file, and none for a file changed by one byte', async () => {
    const d = path.join(work, 'export');
    mkdirSync(d);
    const r = await t.cli(['ledger', 'export', path.join(d, 'ledger.jsonl')]);
    assert.equal(r.status, 0, r.out);
    writeFileSync(path.join(d, 'dossier.pdf'), pdf);
    const ok = runDoc('dossier-export', d);
    assert.equal(ok.status, 0, ok.out);
    assert.equal(ok.stdout.trim(), `dossier ${issued.id} is this file`);
    writeFileSync(path.join(d, 'dossier.pdf'), flip(Buffer.from(pdf), pdf.length - 1));
    const bad = runDoc('dossier-export', d);
    assert.notEqual(bad.status, 0, bad.out);
    assert.equal(bad.stdout.trim(), '');
  });
});

describe("a byte flipped in the signature's zero padding", () => {
  test('fails step 1 by OpenSSL and the shell alone, as it fails assentmark dossier verify', () => {
    const [, a, b] = byteRangeOf(pdf);
    const hex = pdf.subarray(a + 1, b - 1).toString('latin1');
    assert.equal(hex.slice(0, 4), '3082');
    const derLen = 4 + parseInt(hex.slice(4, 8), 16);
    assert.ok(/^0+$/.test(hex.slice(2 * derLen)), 'the placeholder is zero padded after the CMS');
    // A '0' of the padding becomes '1': still a hex digit, outside the DER, outside the signed ranges.
    const at = a + 1 + 2 * derLen + Math.floor((hex.length - 2 * derLen) / 2);
    const bad = Buffer.from(pdf);
    bad[at] = 0x31;
    const d = path.join(work, 'flip-padding');
    mkdirSync(d);
    writeFileSync(path.join(d, 'dossier.pdf'), bad);
    const od = runDoc('dossier-cms', d);
    assert.notEqual(od.status, 0, `the doc's OpenSSL recipe passed a flipped padding byte:\n${od.out}`);
    assert.ok(!od.out.includes('ByteRange covers the whole file') || !od.out.includes('CMS Verification successful') || od.out.includes('padding'), od.out);
    const data = mkdtempSync(path.join(work, 'empty-data-'));
    const v = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf'], { cwd: d, env: bareEnv(data) });
    assert.equal(v.status, 1, v.out);
    // Only the flip fails: the same recipe passes the genuine file.
    assert.equal(runDoc('dossier-cms', dir).status, 0);
  });
});


/** [start, end) of the data of the embedded file stream holding `content` (inflated), or throws. */
function embeddedStream(pdf: Buffer, content: Buffer): [number, number] {
  const s = pdf.toString('latin1');
  for (let at = s.indexOf('/Type /EmbeddedFile'); at >= 0; at = s.indexOf('/Type /EmbeddedFile', at + 1)) {
    const start = s.indexOf('stream\n', at) + 'stream\n'.length;
    const end = s.indexOf('\nendstream', start);
    let data = pdf.subarray(start, end);
    try {
      data = inflateSync(data);
    } catch {
      // stored uncompressed
    }
    if (data.equals(content)) return [start, end];
  }
  throw new Error('no embedded file stream with that content');
}

describe('one changed byte in each region of the file', () => {
  test('fails the OpenSSL recipe alone (the fixture script and the doc\'s step 1), as it fails assentmark dossier verify', async () => {
    const script = path.join(packageRoot(), 'test', 'fixtures', 'pdf', 'verify-with-openssl.sh');
    const [, a, b] = byteRangeOf(pdf);
    const hex = pdf.subarray(a + 1, b - 1).toString('latin1');
    const derLen = 4 + parseInt(hex.slice(4, 8), 16);
    // A digit near the end of the DER (the ECDSA signature value): flipping bit 0 keeps it a hex digit.
    let inDer = a + 1 + 2 * (derLen - 12);
    while (!/[0-9]/.test(String.fromCharCode(pdf[inDer]!))) inDer++;
    const padding = a + 1 + 2 * derLen + Math.floor((hex.length - 2 * derLen) / 2);
    const receipt = [...(await import('../src/pdf/verify.js').then((m) => m.extractAttachments(pdf)))].find(([n]) => n.startsWith('receipt-'))!;
    const [es, ee] = embeddedStream(pdf, receipt[1]);
    const cases: Array<[string, Buffer]> = [
      ['signed content (the file header)', flip(Buffer.from(pdf), 2)],
      ['signed content (the middle of the first signed range)', flip(Buffer.from(pdf), Math.floor(a / 2))],
      ['signed content (after the signature)', flip(Buffer.from(pdf), b + 10)],
      ['an attachment (the receipt\'s embedded file stream)', flip(Buffer.from(pdf), Math.floor((es + ee) / 2))],
      ['the signature\'s hex string (inside the CMS)', flip(Buffer.from(pdf), inDer)],
      ['the signature\'s zero padding', (() => { const x = Buffer.from(pdf); x[padding] = 0x31; return x; })()],
      ['the signature\'s delimiter', (() => { const x = Buffer.from(pdf); x[a] = 0x20; return x; })()],
      ['bytes appended after signing', Buffer.concat([pdf, Buffer.from('\n% appended\n')])],
    ];
    for (const [what, bytes] of cases) {
      assert.ok(!bytes.equals(pdf));
      const d = mkdtempSync(path.join(work, 'region-'));
      writeFileSync(path.join(d, 'dossier.pdf'), bytes);
      const sh = run('bash', [script, 'dossier.pdf'], { cwd: d });
      assert.notEqual(sh.status, 0, `${what}: verify-with-openssl.sh passed\n${sh.out}`);
      const doc = runDoc('dossier-cms', d);
      assert.notEqual(doc.status, 0, `${what}: the doc's OpenSSL recipe passed\n${doc.out}`);
      const v = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf'], { cwd: d, env: bareEnv(mkdtempSync(path.join(d, 'data-'))) });
      assert.equal(v.status, 1, `${what}: dossier verify\n${v.out}`);
    }
    // The genuine file passes both.
    const ok = run('bash', [script, 'dossier.pdf'], { cwd: dir });
    assert.equal(ok.status, 0, ok.out);
    for (const line of ['ByteRange covers the whole file', 'the gap is one hex string', 'after the CMS signature, only zero padding', 'CMS Verification successful']) assert.ok(ok.out.includes(line), ok.out);
  });
});
