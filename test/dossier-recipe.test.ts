// The standard-tool recipes of docs/verifying-a-dossier.md on a small dossier, run verbatim: the
// OpenSSL path of step 1 fails a byte flipped in the signature's zero padding (outside the signed
// ranges, where the CMS signature alone still verifies), as `assentmark dossier verify` does; the
// recipe for a dossier's pdf_sha256 in a ledger export finds the issued file and nothing else.
// Poppler, OpenSSL, xxd and jq are required.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

