// Dossiers open what they cite (docs/personal-data.md, docs/verifying-a-dossier.md step 11): the
// evidence bundle carries the openings of the subject's committed personal facts and the PDF prints
// the opened values; a legal hold is listed with its entry cited; after an erasure a new dossier
// names each erased fact (when, basis, request, the erasure's entry, the commitment that remains),
// prints none of the erased values, and every proof in it still verifies (the CLI, the recipe run
// verbatim with jq, xxd and openssl, and `ledger verify`). A forged opening (value, salt, moved to
// another field) in a bundle re-signed with the service's own key fails `dossier verify` and the
// recipe by name. Nothing left to issue for a subject says so. poppler-utils, openssl, xxd, jq.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canonicalBytes } from '../src/canonical/jcs.js';
import { checkPersonalFacts } from '../src/dossier/openings.js';
import { verifyDossier } from '../src/dossier/verify.js';
import { extractAttachments } from '../src/pdf/verify.js';
import { CLI_MAIN, problemOf, useTestApp } from './helpers/app.js';
import { eraseSubject, placeHold } from './helpers/erase.js';
import { buildEvidence, supertestHttp, type Evidence } from './helpers/evidence.js';
import { BundleForger, forgeOpening, type OpeningForgery } from './helpers/forge.js';
import { bareEnv, runDoc } from './helpers/recipe.js';
import { binary, run } from './helpers/tools.js';

type Json = Record<string, any>;

const t = useTestApp({ setup });
let ev: Evidence;
let work: string;
let before: { pdf: Buffer; bundle: Buffer; issued: Json };
let hold: { id: string; seq: number };
let erasure: { seq: number; eventId: string; erased: number; requestRef: string };
let after_: { pdf: Buffer; bundle: Buffer; issued: Json };
/** The clear facts of the first acceptance, as the signup flow sent them. */
let facts: { ip: string; userAgent: string; sessionId: string; reason: string };
const forger = new BundleForger(() => t, () => ev.subject);

async function issue(caseRef: string): Promise<{ pdf: Buffer; bundle: Buffer; issued: Json }> {
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject: ev.subject, case_ref: caseRef, requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  assert.equal(res.status, 201, res.text);
  const pdf = (await t.get(`/v1/dossiers/${res.body.id}/pdf`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
  return { pdf, bundle: (await extractAttachments(pdf)).get('evidence-bundle.json')!, issued: res.body as Json };
}

function pdfText(pdf: Buffer): string {
  const d = mkdtempSync(path.join(work, 'text-'));
  writeFileSync(path.join(d, 'dossier.pdf'), pdf);
  const r = run('pdftotext', [path.join(d, 'dossier.pdf'), '-'], { env: { ...process.env, TZ: 'UTC' } });
  assert.equal(r.status, 0, r.out);
  return r.stdout.replace(/\s+/g, ' ');
}

/** Text without whitespace or hyphens: long hex and ids wrap across lines, and pdftotext joins hyphenated ones. */
const compact = (s: string): string => s.replace(/[\s-]+/g, '');

/** A directory with dossier.pdf and trusted.pem, its exhibits extracted (the doc's step 2). */
function expertDir(name: string, pdf: Buffer): string {
  const d = path.join(work, name);
  mkdirSync(d);
  writeFileSync(path.join(d, 'dossier.pdf'), pdf);
  writeFileSync(path.join(d, 'trusted.pem'), t.ctx.ledger.signingKey.publicKeyPem());
  const ex = runDoc('dossier-exhibits', d);
  assert.equal(ex.status, 0, ex.out);
  return d;
}

function cliVerify(dir: string) {
  return run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--public-key', 'trusted.pem'], { cwd: dir, env: bareEnv(mkdtempSync(path.join(dir, 'data-'))) });
}

async function setup(): Promise<void> {
  work = mkdtempSync(path.join(tmpdir(), 'assentmark-dossier-erasure-'));
  ev = await buildEvidence(supertestHttp(() => t.app, t.tokens), { acceptances: 2, withdrawals: 1, verifications: 0, decideQueries: 0, caseRef: 'CASE-2026-0111' });
  const first = ev.records.find((r) => r.kind === 'accepted')!.request;
  const withdrawal = ev.records.find((r) => r.kind === 'withdrawn')!.request;
  facts = { ip: first.ip, userAgent: first.user_agent, sessionId: first.auth.session_id, reason: withdrawal.reason };
  before = await issue('CASE-2026-0111');
  erasure = await eraseSubject(t.built.services, ev.subject, { requestRef: 'DSR-2026-0042' });
  // Placed after the erasure (a held subject cannot be erased): its reason is opened.
  hold = await placeHold(t.built.services, ev.subject, 'CASE-2026-0111', 'Litigation hold: counsel asked to preserve the records');
  after_ = await issue('CASE-2026-0112');
}

after(async () => {
  await forger.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a dossier issued while the subject\'s personal data is held', () => {
  test('the bundle opens every committed fact of the subject, and the PDF prints the opened values', () => {
    const b = JSON.parse(before.bundle.toString('utf8')) as Json;
    assert.equal(b.subject_pseudonym, t.built.services.pseudonyms.of(ev.subject));
    assert.deepEqual(b.erased, []);
    const fields = new Set((b.openings as Json[]).map((o) => String(o.field)));
    for (const f of ['subject', 'client', 'auth', 'presentation.page_url', 'reason']) assert.ok(fields.has(f), `an opening of ${f}: ${[...fields].join(', ')}`);
    const pf = checkPersonalFacts(b.entries, b.openings, b.erased, b.subject_pseudonym);
    assert.deepEqual(pf.failures, []);
    assert.equal(pf.opened, pf.committed);
    const text = pdfText(before.pdf);
    for (const v of [facts.ip, facts.userAgent, facts.sessionId, facts.reason]) assert.ok(text.includes(v), `the PDF prints ${v}`);
    assert.ok(!text.includes('erased on'), 'nothing erased yet');
    assert.match(text, /No legal hold has been placed on the subject\./);
  });

  test('`assentmark dossier verify` passes with no database and names the opening check', () => {
    const d = expertDir('before', before.pdf);
    const v = cliVerify(d);
    assert.equal(v.status, 0, v.out);
    assert.match(v.out, /ok\s+personal-facts: \d+ of \d+ committed personal facts of the cited entries are opened/);
  });

  test('the recipe (jq, xxd, openssl dgst) checks every opening against its commitment', () => {
    const d = expertDir('before-recipe', before.pdf);
    const r = runDoc('dossier-openings', d);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, /entry \d+ client: the opening hashes to the commitment it opens/);
    assert.match(r.stdout, /every committed personal fact of the subject is opened or erased/);
  });
});

describe('a forged opening in a bundle re-signed with the service\'s key', () => {
  for (const how of ['value', 'salt', 'field'] as OpeningForgery[]) {
    test(`${how}: fails dossier verify (personal-facts, naming the entry and field) and the recipe`, async () => {
      const forged = forgeOpening(before.bundle, how);
      const pdf = await forger.pdf(forged, t.ctx.ledger.signingKey.sign(forged));
      const report = await verifyDossier(pdf, { trustedKeys: [t.ctx.ledger.signingKey.publicKey] });
      assert.equal(report.ok, false);
      assert.deepEqual(report.checks.filter((c) => !c.ok).map((c) => c.name), ['personal-facts'], 'only the opening check fails: the bundle is signed');
      const detail = report.checks.find((c) => c.name === 'personal-facts')!.detail;
      assert.match(detail, how === 'field' ? /field auth: SHA-256 of the opening/ : /field client: SHA-256 of the opening \([0-9a-f]{64}\) is not the commitment/);
      if (how === 'field') assert.match(detail, /committed personal field client is neither opened nor named erased/);
      const d = expertDir(`forged-${how}`, pdf);
      const v = cliVerify(d);
      assert.equal(v.status, 1, v.out);
      assert.match(v.out, /FAIL\s+personal-facts: /);
      const r = runDoc('dossier-openings', d);
      assert.notEqual(r.status, 0, `the recipe passed a forged ${how}:\n${r.out}`);
      assert.match(r.stdout, /FAIL: entry \d+ (client|auth)/);
    });
  }

  test('an erased record that no cited erasure lists fails; so does an opening dropped without one', () => {
    const b = JSON.parse(before.bundle.toString('utf8')) as Json;
    const dropped = (b.openings as Json[]).slice(1);
    const pf = checkPersonalFacts(b.entries, dropped, [], b.subject_pseudonym);
    assert.equal(pf.failures.length, 1);
    assert.match(pf.failures[0]!, /neither opened nor named erased/);
    const [o] = b.openings as Json[];
    const claimed = [{ ...o, salt: undefined, value: undefined, erasure: { seq: b.entries[0].seq, event_id: b.entries[0].event_id, erased_at: '2026-12-01T00:00:00.000Z', basis: 'retention', request_ref: 'X' } }];
    const pf2 = checkPersonalFacts(b.entries, dropped, JSON.parse(JSON.stringify(claimed)), b.subject_pseudonym);
    assert.match(pf2.failures.join('\n'), /not erasure\.performed|does not list/);
    // Hostile shapes fail, never throw.
    for (const bad of [7, 'x', [null], [{ seq: 'a' }], [{ seq: 1, field: 'client', salt: 'zz' }]]) {
      assert.ok(checkPersonalFacts(b.entries, bad, [], b.subject_pseudonym).failures.length > 0);
    }
    assert.ok(canonicalBytes(b).equals(before.bundle), 'the bundle as issued is canonical');
  });
});

describe('after the subject\'s erasure', () => {
  test('a new dossier is issued by subject id and every proof in it verifies (CLI, no database)', () => {
    const d = expertDir('after', after_.pdf);
    const v = cliVerify(d);
    assert.equal(v.status, 0, v.out);
    assert.match(v.out, new RegExp(`ok\\s+personal-facts: 2 of \\d+ committed personal facts .*\\d+ erased, each listed by a cited erasure\\.performed entry \\(entry ${erasure.seq}: `));
    const r = runDoc('dossier-openings', d);
    assert.equal(r.status, 0, r.out);
    assert.match(r.stdout, new RegExp(`erased on \\S+ under data_subject_request request DSR-2026-0042 \\(entry ${erasure.seq} lists it\\)`));
  });

  test('the bundle opens none of the erased facts, names each with its erasure and cites the erasure entry', () => {
    const b = JSON.parse(after_.bundle.toString('utf8')) as Json;
    // Only the hold, placed after the erasure, is opened.
    assert.deepEqual((b.openings as Json[]).map((o) => `${o.seq} ${o.field}`), [`${hold.seq} reason`, `${hold.seq} subject`]);
    assert.ok((b.erased as Json[]).length >= 5, `${(b.erased as Json[]).length} erased facts`);
    for (const x of b.erased as Json[]) {
      assert.equal(x.erasure.seq, erasure.seq);
      assert.equal(x.erasure.request_ref, 'DSR-2026-0042');
      assert.equal(x.erasure.basis, 'data_subject_request');
    }
    assert.ok((b.entries as Json[]).some((e) => e.seq === erasure.seq && e.event_type === 'erasure.performed'), 'the erasure entry is cited');
    const raw = after_.bundle.toString('utf8');
    for (const v of [facts.ip, facts.userAgent, facts.sessionId, facts.reason]) assert.ok(!raw.includes(v), `the bundle holds ${v}`);
  });

  test('the PDF states which facts were erased, when, under which request, and that the commitment remains; it prints none of them', () => {
    const text = pdfText(after_.pdf);
    assert.match(text, /Personal data erased/);
    assert.match(compact(text), new RegExp(`erasedon\\d{8}\\d\\d:\\d\\d:\\d\\dUTCunderdatasubjectrequestDSR20260042\\(ledgerentry${erasure.seq}\\);thecommitment[0-9a-f]{64}remains`));
    assert.match(text, new RegExp(`Erasure, ledger entry ${erasure.seq}`));
    for (const v of [facts.ip, facts.userAgent, facts.sessionId, facts.reason]) assert.ok(!text.includes(v), `the PDF prints the erased ${v}`);
  });

  test('the legal hold is listed with its case and entry, and its event is cited', () => {
    const text = pdfText(after_.pdf);
    assert.ok(compact(text).includes(compact(`Hold ${hold.id} case CASE-2026-0111; placed`)), 'the hold, its id and case');
    assert.match(text, new RegExp(`by test admin \\(ledger entry ${hold.seq}\\), reason: Litigation hold: counsel asked to preserve the records; still in force`));
    const b = JSON.parse(after_.bundle.toString('utf8')) as Json;
    assert.ok((b.entries as Json[]).some((e) => e.seq === hold.seq && e.event_type === 'legal_hold.placed'));
  });

  test('the dossier issued before the erasure still verifies', async () => {
    const report = await verifyDossier(before.pdf, { trustedKeys: [t.ctx.ledger.signingKey.publicKey] });
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok)));
  });

  test('`ledger verify` passes', async () => {
    const r = await t.cli(['ledger', 'verify']);
    assert.equal(r.status, 0, r.out);
  });

  test('a subject with nothing recorded: nothing_to_issue, and no event', async () => {
    const size = (await t.ctx.ledger.head()).size;
    const res = await t.post('/v1/dossiers', 'investigator').send({ subject: 'subject-never-seen', case_ref: 'CASE-X', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
    assert.equal(res.status, 422, res.text);
    assert.equal(problemOf(res).code, 'nothing_to_issue');
    assert.equal((await t.ctx.ledger.head()).size, size);
  });
});
