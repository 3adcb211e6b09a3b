// The investigator console in a real browser (Debian's chromium, driven by playwright-core) against
// the real service over real HTTP: an investigator signs in with an API key, finds a subject (typing
// the start of its identifier and picking it from the suggestions by keyboard), runs
// a verification from an uploaded CSV file and another from a pre-registered plan, issues a dossier
// and downloads it (the bytes are parsed back with pdfjs), checks the ledger, and signs out; a
// signup key is refused; an admin sees the ledger's verification status. The page's CSP blocks an
// injected inline script; a cross-site form post carries no cookie; a same-origin call without the
// CSRF header changes nothing. Screenshots of every page and state go to /tmp/console-*.png, and
// axe-core checks each state against the WCAG 2.1 A and AA rules.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { sql } from 'kysely';
import { buildEvidence, ownerLabelOf, supertestHttp } from './helpers/evidence.js';
import { openTestApp } from './helpers/app.js';

const CHROMIUM = '/usr/bin/chromium';
const SUBJECT = 'acct-7731';
const K = 10;
const SHOTS = '/tmp';

const t = await openTestApp();
await buildEvidence(supertestHttp(() => t.app, t.tokens), { subject: SUBJECT, acceptances: 2, declines: 1, withdrawals: 1, verifications: 0, decideQueries: 0, k: K });
// Two more subjects for the search box: one shares the prefix "acct-7", one only "acct-".
await t.publishEula();
for (const subject of ['acct-7790', 'acct-1000']) assert.equal((await t.accept({ subject })).status, 201);

let server: { url: string; close(): Promise<void> };
let browser: Browser;
let attacker: Server;
let attackerUrl: string;
const files = mkdtempSync(path.join(tmpdir(), 'console-files-'));
let csvFile: string;
let labelsFile: string;
let planCase: string;

before(async () => {
  // The subject's traffic through the gateway; a "stolen" model answers with the labels served.
  const digests = Array.from({ length: 20_000 }, (_, i) => createHash('sha256').update(`${SUBJECT} console query ${i}`).digest());
  const served: number[] = [];
  for (let i = 0; i < digests.length; i += 5000) {
    const items = digests.slice(i, i + 5000).map((dg) => ({ subject: SUBJECT, input_sha256: dg.toString('hex'), label: ownerLabelOf(dg, K), num_classes: K }));
    const res = await t.post('/v1/watermark/decide', 'gateway').send({ slug: 'model-api-terms', items });
    assert.equal(res.status, 200, res.text);
    for (const r of res.body.results as Array<{ label: number; status: string }>) {
      assert.equal(r.status, 'ok');
      served.push(r.label);
    }
  }
  csvFile = path.join(files, 'suspect-samples.csv');
  writeFileSync(csvFile, ['input_sha256,owner_label,suspect_label,num_classes', ...digests.map((dg, i) => `${dg.toString('hex')},${ownerLabelOf(dg, K)},${served[i]},${K}`)].join('\n') + '\n');
  // A plan pre-registered (through the API) for the second half; its suspect answers are uploaded in the page.
  planCase = 'CASE-PLAN-9';
  const half = digests.slice(10_000);
  const plan = await t.post('/v1/verification-plans', 'investigator').send({ case_ref: planCase, subjects: [SUBJECT], samples: half.map((dg) => ({ input_sha256: dg.toString('hex'), owner_label: ownerLabelOf(dg, K), num_classes: K })) });
  assert.equal(plan.status, 201, plan.text);
  labelsFile = path.join(files, 'suspect-answers.json');
  writeFileSync(labelsFile, JSON.stringify(served.slice(10_000)));

  server = await t.listen();
  // Another site (localhost is not 127.0.0.1's site): a page that posts a form to the service.
  attacker = createServer((_req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<!doctype html><form id="f" method="post" enctype="text/plain" action="${server.url}/v1/dossiers"><input name='{"subject":"${SUBJECT}","case_ref":"FORGED","requested_by":"x","prepared_for":{"name":"x","firm":"x"},"x":"' value='"}'></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerUrl = `http://localhost:${(attacker.address() as { port: number }).port}/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  attacker?.closeAllConnections();
  await new Promise<void>((resolve) => (attacker ? attacker.close(() => resolve()) : resolve()));
  await server?.close();
});

/** Collects what the page's CSP blocked and any page error. */
async function watch(page: Page): Promise<{ violations: string[]; errors: string[] }> {
  const seen = { violations: [] as string[], errors: [] as string[] };
  await page.exposeFunction('__cspViolation', (v: string) => seen.violations.push(v));
  // Run by the browser (as a string: this file is compiled without the DOM's types).
  await page.addInitScript("document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation(e.violatedDirective + ' ' + e.blockedURI))");
  page.on('pageerror', (e) => seen.errors.push(e.message));
  return seen;
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** A screenshot of the page's state, and axe-core's WCAG 2.1 A/AA rules run on it (none may fail). */
async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `console-${name}.png`), fullPage: true });
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(AXE);
  const violations = await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((r) => r.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`);
  assert.deepEqual(violations, [], `${name}: accessibility violations`);
}

async function pdfPages(bytes: Buffer): Promise<number> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, isEvalSupported: false, disableFontFace: true, verbosity: 0 }).promise;
  try {
    const first = await doc.getPage(1);
    const text = (await first.getTextContent()).items.map((i) => ('str' in i ? i.str : '')).join(' ');
    assert.ok(text.length > 0, 'the first page has text');
    return doc.numPages;
  } finally {
    await doc.destroy();
  }
}

/** The first acceptance of SUBJECT: its event and the facts the signup flow sent (from the ledger's openings). */
async function firstAcceptanceFacts(): Promise<{ eventId: string; ip: string; userAgent: string; signIn: string }> {
  const rec = (await t.get(`/v1/subjects/${SUBJECT}/records`, 'investigator')).body.records.find((r: { kind: string }) => r.kind === 'accepted') as { ledger: { seq: number; event_id: string } };
  const openings = await t.ctx.repos.openings.forEvents([rec.ledger.event_id]);
  const value = (field: string) => openings.find((o) => o.field === field)?.opening?.value as Record<string, unknown>;
  const client = value('client');
  const auth = value('auth');
  return {
    eventId: rec.ledger.event_id, ip: String(client.ip), userAgent: String(client.user_agent),
    signIn: `Sign-in: ${String(auth.method)}, session ${String(auth.session_id)}, ${auth.mfa ? 'with' : 'without'} multi-factor authentication`,
  };
}

test('an investigator does the whole case in the console; a signup key is refused', async () => {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const seen = await watch(page);
  const response = await page.goto(`${server.url}/console`);
  assert.equal(response?.status(), 200);
  assert.ok(response?.headers()['content-security-policy']?.includes("script-src 'self'"));
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await shot(page, '01-signin');

  // A signup key: refused in plain words, no cookie.
  await page.getByLabel('API key').fill(t.tokens.signup);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const refusal = page.getByRole('alert');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /for investigator and admin keys; this key has role "signup"/);
  assert.equal((await context.cookies()).length, 0);
  await shot(page, '02-signin-refused');

  // The investigator, by keyboard: type the key, Enter.
  await page.getByLabel('API key').fill(t.tokens.investigator);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Find a subject' }).waitFor();
  const cookies = await context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0]!.name, 'am_console');
  assert.equal(cookies[0]!.httpOnly, true);
  assert.equal(cookies[0]!.sameSite, 'Strict');
  const storage = await page.evaluate('({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length })');
  assert.deepEqual(storage, { cookie: '', local: 0, session: 0 }, 'no token is readable by the page or kept in storage');
  assert.ok(await page.getByText(/Signed in as/).isVisible());
  await shot(page, '03-find');

  // Find the subject by the start of its identifier: suggestions as one types, picked by keyboard.
  const box = page.getByRole('combobox', { name: 'Subject identifier' });
  await box.pressSequentially('acct-7', { delay: 30 });
  const suggestions = page.getByRole('listbox', { name: 'Matching subjects' });
  await suggestions.getByRole('option').first().waitFor();
  assert.deepEqual(await suggestions.locator('.suggestion-id').allInnerTexts(), [SUBJECT, 'acct-7790'], 'byte order; acct-1000 does not start with acct-7');
  assert.equal(await box.getAttribute('aria-expanded'), 'true');
  await page.getByText('2 subjects start with “acct-7”.').waitFor();
  const recordCount = (await t.get(`/v1/subjects/${SUBJECT}/records`, 'investigator')).body.records.length as number;
  assert.match(await suggestions.getByRole('option').first().innerText(), new RegExp(`\\b${recordCount} records, latest `));
  await page.keyboard.press('ArrowDown');
  const activeId = await box.getAttribute('aria-activedescendant');
  assert.ok(activeId, 'the active option is named to assistive technology');
  assert.equal(await page.locator(`[id="${activeId}"]`).getAttribute('aria-selected'), 'true');
  assert.equal(await page.evaluate('document.activeElement.getAttribute("role")'), 'combobox', 'the focus stays in the input');
  await shot(page, '03b-find-suggestions');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: `Subject ${SUBJECT}` }).waitFor();
  await page.getByRole('heading', { name: 'Timeline' }).waitFor();
  const items = page.locator('ol.timeline > li');
  const titles = await page.locator('ol.timeline .ev-title').allInnerTexts();
  assert.ok(titles.some((x) => /^Accepted the terms “model-api-terms” version/.test(x)), titles.join('\n'));
  assert.ok(titles.some((x) => /^Declined/.test(x)) && titles.some((x) => /^Withdrew acceptance/.test(x)), titles.join('\n'));
  assert.ok(titles.some((x) => /^Watermark key version 1 assigned/.test(x)), titles.join('\n'));
  assert.ok(titles.some((x) => x === `Verification pre-registered for case “${planCase}”`), titles.join('\n'));
  const keys = await t.get(`/v1/subjects/${SUBJECT}/watermark-keys`, 'investigator');
  assert.ok((await page.locator('ol.timeline').innerText()).includes(keys.body.keys[0].commitment as string), 'the key commitment is shown');
  // The first acceptance's personal facts, opened from their commitments, as the signup flow sent them.
  const firstAcceptance = page.locator('ol.timeline > li.ev-accepted').first();
  const sent = await firstAcceptanceFacts();
  assert.match(sent.ip, /^(203\.0\.113\.|2001:db8::)/);
  await firstAcceptance.getByText(`IP address: ${sent.ip}`, { exact: true }).waitFor();
  await firstAcceptance.getByText(`User agent: ${sent.userAgent}`, { exact: true }).waitFor();
  await firstAcceptance.getByText(sent.signIn, { exact: true }).waitFor();
  const before = await items.count();
  await shot(page, '04-timeline');

  // Run a verification from the CSV file.
  const ver = page.getByRole('region', { name: 'Run a verification' });
  await ver.getByLabel('Case reference').fill('CASE-2026-0107');
  await ver.getByLabel('Suspect model name').fill('CopyCat');
  await ver.getByLabel('Suspect model version').fill('2026.11');
  await ver.getByLabel('Where and how the suspect model was observed').fill('https://api.copycat.example/v1/classify, queried 20 November 2026');
  await ver.getByLabel('Samples file (JSON or CSV)').setInputFiles(csvFile);
  await ver.getByRole('button', { name: 'Run the verification' }).click();
  await items.nth(before).waitFor();
  await page.getByText('Verification recorded: Detected.').waitFor();
  assert.match(await page.locator('.msg-ok').innerText(), /Watermark detected: the suspect model gave this subject's watermark answer \d+ times out of \d+ marked samples/);
  assert.equal(await items.count(), before + 1);
  await shot(page, '05-verified-from-file');

  // From the pre-registered plan, with the suspect's answers uploaded.
  const ver2 = page.getByRole('region', { name: 'Run a verification' });
  await ver2.getByLabel('Case reference').fill(planCase);
  await ver2.getByLabel('Suspect model name').fill('CopyCat');
  await ver2.getByLabel('Suspect model version').fill('2026.11');
  await ver2.getByLabel('Where and how the suspect model was observed').fill('https://api.copycat.example/v1/classify');
  await ver2.getByLabel('Use a pre-registered plan').check();
  await ver2.getByLabel('Suspect answers file').setInputFiles(labelsFile);
  await ver2.getByRole('button', { name: 'Run the verification' }).click();
  // The timeline is drawn again with the new entry (the previous result's message was the same words).
  await items.nth(before + 1).waitFor();
  await page.getByText('Verification recorded: Detected.').waitFor();
  assert.equal(await items.count(), before + 2);
  const recorded = await t.get(`/v1/subjects/${SUBJECT}/verifications`, 'investigator');
  assert.deepEqual((recorded.body.verifications as Array<{ preregistered: boolean; decision: string }>).map((v) => [v.preregistered, v.decision]), [[false, 'detected'], [true, 'detected']]);
  await shot(page, '06-verified-from-plan');

  // A missing field, then a bad samples file: plain-words errors, nothing recorded.
  await ver2.getByRole('button', { name: 'Run the verification' }).click();
  const err = ver2.getByRole('alert');
  await err.getByText('Fill in “Case reference”.').waitFor();
  const bad = path.join(files, 'bad.csv');
  writeFileSync(bad, 'input_sha256,owner_label,num_classes\nabc,1,10\n');
  await ver2.getByLabel('Case reference').fill('CASE-BAD-FILE');
  await ver2.getByLabel('Suspect model name').fill('CopyCat');
  await ver2.getByLabel('Suspect model version').fill('1');
  await ver2.getByLabel('Where and how the suspect model was observed').fill('nowhere');
  await ver2.getByLabel('Samples file (JSON or CSV)').setInputFiles(bad);
  await ver2.getByRole('button', { name: 'Run the verification' }).click();
  await err.getByText(/lacks the column\(s\) suspect_label/).waitFor();
  assert.equal((await t.get(`/v1/subjects/${SUBJECT}/verifications`, 'investigator')).body.verifications.length, 2);
  await shot(page, '07-bad-file');

  // Issue a dossier and download it.
  const dos = page.getByRole('region', { name: 'Issue a dossier' });
  await dos.getByLabel('Case reference').fill('CASE-2026-0107');
  await dos.getByLabel('Prepared for (name)').fill('A. Counsel');
  await dos.getByLabel('Prepared for (firm)').fill('Counsel & Partners LLP');
  await dos.getByRole('button', { name: 'Issue the dossier' }).click();
  const issued = page.locator('.msg-ok');
  await issued.getByText(/Dossier issued \(\d+ pages\)/).waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), issued.getByRole('link', { name: 'Download the PDF' }).click()]);
  const pdf = readFileSync((await download.path())!);
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  const pages = await pdfPages(pdf);
  const dossiers = await t.get(`/v1/subjects/${SUBJECT}/dossiers`, 'investigator');
  assert.equal(dossiers.body.dossiers.length, 1);
  assert.equal(pages, dossiers.body.dossiers[0].pages);
  assert.equal(createHash('sha256').update(pdf).digest('hex'), dossiers.body.dossiers[0].pdf_sha256, 'the download is the issued PDF');
  assert.equal(download.suggestedFilename(), `dossier-${dossiers.body.dossiers[0].id}.pdf`);
  const [sigDownload] = await Promise.all([page.waitForEvent('download'), issued.getByRole('link', { name: /Download its signature/ }).click()]);
  const sig = readFileSync((await sigDownload.path())!);
  assert.equal(sig.length, 64);
  assert.equal(sig.toString('base64'), dossiers.body.dossiers[0].signature);
  await shot(page, '08-dossier-issued');

  // Ledger status, as an investigator sees it.
  await page.getByRole('link', { name: 'Ledger status' }).click();
  await page.getByRole('heading', { level: 1, name: 'Ledger status' }).waitFor();
  assert.match(await page.locator('dl.facts').innerText(), /Latest signed checkpoint\s+covers \d+ entries; signed .* ago/);
  await shot(page, '09-ledger-investigator');

  // The CSP blocks an injected inline script; a call without the CSRF header changes nothing.
  const injected = await page.evaluate(`(async () => {
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true';
    document.body.appendChild(s);
    await new Promise((r) => setTimeout(r, 50));
    return window.__injected === true;
  })()`);
  assert.equal(injected, false, 'the inline script did not run');
  assert.ok(seen.violations.some((v) => v.startsWith('script-src')), `CSP reported the inline script: ${seen.violations.join(', ')}`);
  const noCsrf = await page.evaluate(async (subject) => {
    const r = await fetch('/v1/dossiers', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ subject, case_ref: 'NO-CSRF', requested_by: 'x', prepared_for: { name: 'x', firm: 'x' } }) });
    return { status: r.status, body: (await r.json()) as { code: string } };
  }, SUBJECT);
  assert.equal(noCsrf.status, 403);
  assert.equal(noCsrf.body.code, 'csrf_token_missing');

  // A page on another site posts a form at the service: the cookie stays behind.
  const other = await context.newPage();
  const posted = other.waitForResponse((r) => r.url() === `${server.url}/v1/dossiers`);
  await other.goto(attackerUrl);
  const forged = await posted;
  assert.equal(forged.status(), 401, 'no session cookie on a cross-site post');
  await other.close();
  assert.equal((await t.get(`/v1/subjects/${SUBJECT}/dossiers`, 'investigator')).body.dossiers.length, 1, 'no dossier but the one issued');

  // Sign out.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  await page.getByText('You are signed out.').waitFor();
  assert.equal((await context.cookies()).length, 0);
  assert.equal(Number((await sql<{ n: string }>`SELECT count(*) AS n FROM console_sessions`.execute(t.ctx.handle.db)).rows[0]!.n), 0);
  const afterOut = await page.evaluate(async (subject) => (await fetch(`/v1/subjects/${subject}/timeline`)).status, SUBJECT);
  assert.equal(afterOut, 401);
  await shot(page, '10-signed-out');

  assert.deepEqual(seen.errors, [], 'no page errors');
  assert.deepEqual(seen.violations.filter((v) => !v.startsWith('script-src')), [], 'nothing else was blocked by the CSP');
  await context.close();
});

test('an admin sees the ledger\'s verification status and the timeline, but cannot run verifications', async () => {
  // An erasure of the first acceptance's network facts, simulated: its opening cleared in place, as erasure does.
  const sent = await firstAcceptanceFacts();
  await sql`UPDATE personal_openings SET salt = NULL, value = NULL, erased_at = '2026-11-30T08:15:00Z', erasure_event_id = ${randomUUID()}::uuid
    WHERE event_id = ${sent.eventId}::uuid AND field = 'client'`.execute(t.ctx.handle.db);
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const seen = await watch(page);
  await page.goto(`${server.url}/console#/ledger`);
  await page.getByLabel('API key').fill(t.tokens.admin);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Ledger status' }).waitFor();
  assert.match(await page.locator('dl.facts').innerText(), /Entries in the ledger\s+\d+/);
  await shot(page, '11-ledger-admin');
  // A full verification, started from the page (a cookie POST with the CSRF header) and followed to its end.
  await page.getByRole('button', { name: 'Verify the whole ledger now' }).click();
  await page.locator('dl.facts').getByText(/intact: all \d+ entries and their checkpoints checked, .*started by an administrator/).waitFor();
  await shot(page, '11b-ledger-admin-verified');

  // Reloading keeps the session (the CSRF token comes back from /console/session, not from storage).
  await page.goto(`${server.url}/console#/subject/${encodeURIComponent(SUBJECT)}`);
  await page.getByRole('heading', { name: 'Timeline' }).waitFor();
  await page.getByText('Running a verification and issuing a dossier need an investigator key').waitFor();
  const erased = page.locator('ol.timeline > li.ev-accepted').first();
  await erased.getByText(/^IP address and user agent: erased on 30 Nov 2026,? 08:15:00 UTC \(the ledger keeps only its commitment\)$/).waitFor();
  assert.ok(!(await erased.innerText()).includes(sent.ip), 'the erased IP address is not shown');
  await erased.getByText(sent.signIn, { exact: true }).waitFor();
  assert.equal(await page.getByRole('region', { name: 'Run a verification' }).count(), 0);
  await shot(page, '12-admin-subject');

  // A phone-sized window: the same page, one column, nothing cut off.
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, '12b-admin-subject-narrow');
  await page.setViewportSize({ width: 1200, height: 900 });

  await page.getByLabel('Subject identifier').fill('nobody-here');
  await page.keyboard.press('Enter');
  await page.getByText('Nothing is recorded for the subject “nobody-here”').waitFor();
  await shot(page, '13-unknown-subject');

  // A suggestion picked with the mouse; Escape closes the list and leaves the typed text.
  const box = page.getByRole('combobox', { name: 'Subject identifier' });
  await box.fill('');
  await box.pressSequentially('acct-', { delay: 30 });
  const suggestions = page.getByRole('listbox', { name: 'Matching subjects' });
  await page.getByText('3 subjects start with “acct-”.').waitFor();
  assert.deepEqual(await suggestions.locator('.suggestion-id').allInnerTexts(), ['acct-1000', SUBJECT, 'acct-7790']);
  await page.keyboard.press('Escape');
  assert.equal(await suggestions.isVisible(), false);
  assert.equal(await box.getAttribute('aria-expanded'), 'false');
  await page.keyboard.press('ArrowDown');
  await suggestions.getByRole('option', { name: /acct-7790/ }).click();
  await page.getByRole('heading', { level: 1, name: 'Subject acct-7790' }).waitFor();
  await page.getByRole('heading', { name: 'Timeline' }).waitFor();
  await shot(page, '14-picked-with-mouse');
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.violations, []);
  await context.close();
});
