// The counsel verification page (/verify) in Debian's Chromium, against the real service over real
// HTTP: the page runs the project's own verifier in the browser and says VALID for a fresh
// dossier (timestamped, with a consistency proof, and its .sig); NOT VALID naming the failing
// check for one flipped byte in the signed content and in the attached evidence, a wrong .sig, and
// a dossier from another service (another signing key); no request carries the file; a copy of
// the page saved to disk works from file:// with the network off; a forged opening of a personal
// fact, in a bundle re-signed with the service's key, fails the personal-facts check by name.
// Screenshots go to /tmp.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import AxeBuilder from '@axe-core/playwright';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { extractAttachments } from '../src/pdf/verify.js';
import { packageRoot } from '../src/util/paths.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { BundleForger, forgeOpening } from './helpers/forge.js';
import { buildEvidence, supertestHttp } from './helpers/evidence.js';
import { eulaEvent } from './helpers/ledger-fixtures.js';
import { binary, flip } from './helpers/tools.js';
import { startTestTsa, type TestTsa } from './helpers/tsa.js';

const KEYS_URL = 'https://keys.example.test/.well-known/assentmark/keys.json';
const SHOTS = '/tmp';

interface Dossier {
  pdf: Buffer;
  sig: Buffer;
}

async function issueDossier(t: TestApp, subject: string, stampEarlier: boolean): Promise<Dossier> {
  await buildEvidence(supertestHttp(() => t.app, t.tokens), { subject, acceptances: 2, withdrawals: 1, verifications: 0, decideQueries: 10, caseRef: 'CASE-WEB-1' });
  if (stampEarlier) {
    // A timestamped checkpoint before the dossier's: the bundle then carries a consistency proof.
    const early = await t.ctx.ledger.checkpoint();
    assert.ok(early && (await t.built.services.timestamps.stamp(early)));
    await t.ctx.ledger.append({ events: [1, 2, 3].map((i) => eulaEvent(i)) });
  }
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject, case_ref: 'CASE-WEB-1', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  assert.equal(res.status, 201, res.text);
  const id = String(res.body.id);
  const pdf = (await t.get(`/v1/dossiers/${id}/pdf`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
  const sig = (await t.get(`/v1/dossiers/${id}/signature`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
  assert.equal(sig.length, 64);
  return { pdf, sig };
}

/** Where the PDF stores `content` as a (deflated or plain) stream. */
function bundleStream(pdf: Buffer, content: Buffer): { start: number; end: number } {
  const text = pdf.toString('latin1');
  const re = /(?<!end)stream\r?\n/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = m.index + m[0].length;
    const end = text.indexOf('endstream', start);
    const raw = pdf.subarray(start, end);
    let data: Buffer = raw;
    try {
      data = inflateSync(raw);
    } catch {
      // stored as it is
    }
    if (data.equals(content)) return { start, end };
    re.lastIndex = end;
  }
  throw new Error('the evidence bundle is not a stream of this PDF');
}

interface Outcome {
  verdict: string;
  failed: string[];
  passed: string[];
  skipped: string[];
  keyText: string;
  focused: string | null;
}

describe('the counsel verification page', () => {
  let tsa: TestTsa;
  let a: TestApp;
  let b: TestApp;
  let server: { url: string; close(): Promise<void> };
  let browser: Browser;
  let dossier: Dossier;
  let foreign: Dossier;
  let work: string;
  /** Every request any page made, and every console error or page error. */
  const requests: Request[] = [];
  const problems: string[] = [];

  before(async () => {
    tsa = await startTestTsa();
    a = await createTestApp({ config: { tsaUrl: tsa.url, tsaCaFile: tsa.caCertPath, keysUrl: KEYS_URL, organisation: 'Example AI Ltd', certifierName: 'Dana K. Scully', certifierTitle: 'Head of Trust & Safety', jurisdiction: 'England and Wales' } });
    b = await createTestApp({ config: { keysUrl: KEYS_URL } });
    assert.notEqual(a.ctx.ledger.signingKey.keyId, b.ctx.ledger.signingKey.keyId, 'two services, two signing keys');
    dossier = await issueDossier(a, 'subject-web', true);
    foreign = await issueDossier(b, 'subject-web', false);
    server = await a.listen();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    work = mkdtempSync(path.join(tmpdir(), 'assentmark-web-verify-'));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await a?.close();
    await b?.close();
    await tsa?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function openPage(url: string, offline = false): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    page.on('request', (r) => requests.push(r));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(url);
    if (offline) await context.setOffline(true);
    return page;
  }

  function file(name: string, bytes: Buffer): string {
    const p = path.join(work, name);
    writeFileSync(p, bytes);
    return p;
  }

  async function check(page: Page, shot: string, pdf: string, sig?: string): Promise<Outcome> {
    await page.getByLabel('Dossier PDF').setInputFiles(pdf);
    if (sig) await page.getByLabel('Detached signature').setInputFiles(sig);
    await page.getByRole('button', { name: 'Check the dossier' }).click();
    await page.locator('#result:not([hidden])').waitFor({ timeout: 120_000 });
    await page.screenshot({ path: path.join(SHOTS, `web-verify-${shot}.png`), fullPage: true });
    const titles = async (cls: string) => page.locator(`#checks li.${cls} .title:visible`).allTextContents();
    return {
      verdict: (await page.locator('#verdict').textContent()) ?? '',
      failed: await titles('fail'),
      passed: await titles('pass'),
      skipped: await titles('skip'),
      keyText: (await page.locator('#key').textContent()) ?? '',
      focused: await page.evaluate('document.activeElement ? document.activeElement.id : null') as string | null,
    };
  }

  test('the page is served as one file with the published keys and a policy that forbids requests', async () => {
    const res = await fetch(`${server.url}/verify`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /connect-src 'none'/);
    assert.match(csp, /default-src 'none'/);
    const html = await res.text();
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+stylesheet/, 'script and styles are inlined');
    const keys = JSON.parse(/<script type="application\/json" id="published-keys">([^<]*)<\/script>/.exec(html)?.[1] ?? 'null') as { keys: Array<{ key_id: string }> };
    assert.deepEqual(keys.keys.map((k) => k.key_id), [a.ctx.ledger.signingKey.keyId]);
    assert.match(html, /<script type="application\/json" id="tsa-ca">"-----BEGIN CERTIFICATE-----/, 'the TSA CA the service is configured with');
  });

  test('a fresh dossier and its .sig: VALID, every check passed, the key fingerprint beside the published-keys address', async () => {
    const page = await openPage(`${server.url}/verify`);
    await page.screenshot({ path: path.join(SHOTS, 'web-verify-empty.png'), fullPage: true });
    const o = await check(page, 'valid', file('dossier.pdf', dossier.pdf), file('dossier.pdf.sig', dossier.sig));
    assert.equal(o.verdict, 'VALID', `failed: ${o.failed.join(', ')}`);
    assert.deepEqual(o.failed, []);
    assert.deepEqual(o.skipped, []);
    for (const t of ['The PDF signature', 'The personal facts (openings)', 'The signing key', 'The signature of the evidence', 'The ledger checkpoint', 'The inclusion proofs', 'The cited ledger records', 'The consistency proof', 'The receipts', 'The outside timestamp', 'The outside timestamp of the earlier snapshot', 'The separate signature file (.sig)']) {
      assert.ok(o.passed.includes(t), `${t} among the passed checks: ${o.passed.join(', ')}`);
    }
    assert.ok(o.passed.some((t) => t.startsWith('The Terms of Service text')), 'the EULA exhibit is checked');
    const keyId = a.ctx.ledger.signingKey.keyId;
    assert.ok(o.keyText.replace(/\s/g, '').includes(keyId), o.keyText);
    assert.ok(o.keyText.includes(KEYS_URL), `the address the dossier names: ${o.keyText}`);
    assert.equal(o.focused, 'verdict', 'focus moves to the verdict');
    const stamp = (await page.locator('#checks li.pass', { hasText: 'The outside timestamp' }).first().textContent()) ?? '';
    assert.match(stamp, /chains to the authority the organisation names/, 'the served page carries the TSA CA and checks the chain');
    await page.context().close();
  });

  test('one flipped byte in the signed content: NOT VALID, the PDF signature failed', async () => {
    const page = await openPage(`${server.url}/verify`);
    // Inside the binary comment of the header: the PDF still opens, its signature no longer holds.
    const bad = flip(Buffer.from(dossier.pdf), 12);
    const o = await check(page, 'flipped-content', file('flipped-content.pdf', bad));
    assert.equal(o.verdict, 'NOT VALID');
    assert.deepEqual(o.failed, ['The PDF signature']);
    assert.deepEqual(o.skipped, ['The separate signature file (.sig)'], 'no .sig given: said so');
    await page.context().close();
  });

  test('one flipped byte in the attached evidence: NOT VALID, the PDF signature and the evidence signature failed', async () => {
    const bundle = (await extractAttachments(dossier.pdf)).get('evidence-bundle.json');
    assert.ok(bundle);
    const stream = bundleStream(dossier.pdf, bundle);
    // The first byte from the middle of the (deflated) stream whose flip still leaves a PDF that
    // opens, with an evidence bundle that differs from the signed one.
    let bad: Buffer | undefined;
    for (let pos = Math.floor((stream.start + stream.end) / 2); pos < stream.end && !bad; pos++) {
      const candidate = flip(Buffer.from(dossier.pdf), pos);
      const got = await extractAttachments(candidate).then((m) => m.get('evidence-bundle.json'), () => undefined);
      if (got && !got.equals(bundle)) bad = candidate;
    }
    assert.ok(bad, 'a flip inside the bundle stream that still opens');
    const page = await openPage(`${server.url}/verify`);
    const o = await check(page, 'flipped-attachment', file('flipped-attachment.pdf', bad));
    assert.equal(o.verdict, 'NOT VALID');
    assert.ok(o.failed.includes('The PDF signature'), o.failed.join(', '));
    assert.ok(o.failed.includes('The signature of the evidence'), o.failed.join(', '));
    await page.context().close();
  });

  test('a forged opening (another IP address) in a bundle re-signed with the service\'s key: NOT VALID, only the personal facts failed', async () => {
    const bundle = (await extractAttachments(dossier.pdf)).get('evidence-bundle.json');
    assert.ok(bundle);
    const forged = forgeOpening(bundle, 'value');
    const forger = new BundleForger(() => a, () => 'subject-web');
    let pdf: Buffer;
    try {
      pdf = await forger.pdf(forged, a.ctx.ledger.signingKey.sign(forged));
    } finally {
      await forger.close();
    }
    const page = await openPage(`${server.url}/verify`);
    const o = await check(page, 'forged-opening', file('forged-opening.pdf', pdf));
    assert.equal(o.verdict, 'NOT VALID');
    assert.deepEqual(o.failed, ['The personal facts (openings)']);
    const detail = (await page.locator('#checks li.fail', { hasText: 'The personal facts' }).first().textContent()) ?? '';
    assert.match(detail, /field client: SHA-256 of the opening/);
    await page.context().close();
  });

  test('a wrong .sig: NOT VALID, only the .sig check failed', async () => {
    const page = await openPage(`${server.url}/verify`);
    const o = await check(page, 'wrong-sig', file('dossier.pdf', dossier.pdf), file('wrong.sig', flip(Buffer.from(dossier.sig), 5)));
    assert.equal(o.verdict, 'NOT VALID');
    assert.deepEqual(o.failed, ['The separate signature file (.sig)']);
    await page.context().close();
  });

  test('a dossier signed by another service\'s key: NOT VALID, the signing key is not one this service publishes', async () => {
    const page = await openPage(`${server.url}/verify`);
    const o = await check(page, 'other-key', file('foreign.pdf', foreign.pdf), file('foreign.pdf.sig', foreign.sig));
    assert.equal(o.verdict, 'NOT VALID');
    assert.equal(o.failed[0], 'The signing key', o.failed.join(', '));
    assert.ok(o.keyText.replace(/\s/g, '').includes(b.ctx.ledger.signingKey.keyId), 'the foreign key fingerprint is shown');
    assert.match(o.keyText, /NOT one of them/);
    // Its inclusion proofs lead to a checkpoint this key did not sign: they are not called passed.
    assert.ok(o.skipped.includes('The inclusion proofs'), `skipped: ${o.skipped.join(', ')}`);
    assert.ok(!o.passed.includes('The inclusion proofs'));
    assert.ok(o.failed.includes('The receipts'), 'its receipts are signed by the other key');
    await page.context().close();
  });

  test('dropping the PDF and its .sig on the box checks them at once', async () => {
    const page = await openPage(`${server.url}/verify`);
    const files = [['dossier.pdf', 'application/pdf', dossier.pdf], ['dossier.pdf.sig', 'application/octet-stream', dossier.sig]] as const;
    // A DataTransfer made in the page, as a drag from the file manager delivers it.
    const dt = await page.evaluateHandle(`(() => {
      const dt = new DataTransfer();
      for (const [name, type, b64] of ${JSON.stringify(files.map(([n, ty, b]) => [n, ty, b.toString('base64')]))}) {
        dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, { type }));
      }
      return dt;
    })()`);
    await page.dispatchEvent('#drop', 'drop', { dataTransfer: dt });
    await page.locator('#result:not([hidden])').waitFor({ timeout: 120_000 });
    assert.equal(await page.locator('#verdict').textContent(), 'VALID');
    assert.match((await page.locator('#file-facts').textContent()) ?? '', /Checked dossier\.pdf with dossier\.pdf\.sig/);
    await page.context().close();
  });

  test('bad input is refused in plain words, nothing is checked', async () => {
    const page = await openPage(`${server.url}/verify`);
    await page.getByRole('button', { name: 'Check the dossier' }).click();
    assert.equal(await page.getByRole('alert').textContent(), 'Choose the dossier PDF first.');
    await page.getByLabel('Dossier PDF').setInputFiles(file('notes.pdf', Buffer.from('these are my notes')));
    await page.getByRole('button', { name: 'Check the dossier' }).click();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /notes\.pdf is not a PDF file/);
    await page.getByLabel('Dossier PDF').setInputFiles(file('dossier.pdf', dossier.pdf));
    await page.getByLabel('Detached signature').setInputFiles(file('short.sig', Buffer.alloc(10)));
    await page.getByRole('button', { name: 'Check the dossier' }).click();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /exactly 64 bytes/);
    assert.equal(await page.locator('#result').isHidden(), true);
    await page.screenshot({ path: path.join(SHOTS, 'web-verify-bad-input.png'), fullPage: true });
    await page.context().close();
  });

  test('a copy of the page saved to disk works from file:// with the network off', async () => {
    const saved = file('verify-saved.html', Buffer.from(await (await fetch(`${server.url}/verify`)).text(), 'utf8'));
    const before = requests.length;
    const page = await openPage(pathToFileURL(saved).href, true);
    const o = await check(page, 'offline', file('dossier.pdf', dossier.pdf), file('dossier.pdf.sig', dossier.sig));
    assert.equal(o.verdict, 'VALID', `failed: ${o.failed.join(', ')}`);
    const mine = requests.slice(before).map((r) => r.url());
    assert.deepEqual(mine, [pathToFileURL(saved).href], 'the saved page loads nothing else');
    await page.context().close();
  });

  test('the built file itself, opened from file:// offline, has no published keys and says a person must compare the fingerprint', async () => {
    const built = path.join(packageRoot(), 'dist', 'web', 'verify', 'index.html');
    const page = await openPage(pathToFileURL(built).href, true);
    const o = await check(page, 'built-file', file('dossier.pdf', dossier.pdf), file('dossier.pdf.sig', dossier.sig));
    assert.equal(o.verdict, 'VALID', `failed: ${o.failed.join(', ')}`);
    assert.deepEqual(o.skipped, ['The signing key'], 'no published keys: the key is not called checked');
    assert.match(o.keyText, /no published keys to compare with: a person must compare/);
    assert.match((await page.locator('#checks li.pass', { hasText: 'The outside timestamp' }).first().textContent()) ?? '', /no trusted authority to check it against/);
    assert.ok(o.keyText.replace(/\s/g, '').includes(a.ctx.ledger.signingKey.keyId));
    await page.context().close();
  });

  test('accessible: no axe-core violation (WCAG 2.1 AA: labels, contrast, ...) on the empty page and on each verdict; usable by keyboard', async () => {
    const page = await openPage(`${server.url}/verify`);
    const audit = async (what: string) => {
      const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
      assert.deepEqual(r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `${what}`);
    };
    await audit('the empty page');
    // Keyboard: Tab reaches the skip link, both file inputs and the button in that order; Enter on the button checks.
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate('document.activeElement.id || document.activeElement.className') as string);
    }
    assert.deepEqual(order, ['skip-link', 'pdf', 'sig', 'check']);
    await page.getByLabel('Dossier PDF').setInputFiles(file('dossier.pdf', dossier.pdf));
    await page.focus('#check');
    await page.keyboard.press('Enter');
    await page.locator('#result:not([hidden])').waitFor({ timeout: 120_000 });
    assert.equal(await page.locator('#verdict').textContent(), 'VALID');
    await audit('a VALID verdict');
    await page.getByLabel('Detached signature').setInputFiles(file('wrong.sig', flip(Buffer.from(dossier.sig), 1)));
    await page.getByRole('button', { name: 'Check the dossier' }).click();
    await page.locator('#verdict', { hasText: 'NOT VALID' }).waitFor({ timeout: 120_000 });
    await page.locator('#checks li.fail details').first().evaluate((d) => ((d as unknown as { open: boolean }).open = true));
    await page.screenshot({ path: path.join(SHOTS, 'web-verify-detail-open.png'), fullPage: true });
    await audit('a NOT VALID verdict with a technical detail open');
    await page.context().close();
  });

  test('no request carried the file: only the page itself was fetched, no request had a body, no console error', () => {
    assert.ok(requests.length > 0);
    const needle = dossier.pdf.subarray(dossier.pdf.length - 4096);
    for (const r of requests) {
      assert.ok(r.url() === `${server.url}/verify` || r.url().startsWith('file://'), `unexpected request ${r.method()} ${r.url()}`);
      assert.equal(r.method(), 'GET');
      const body = r.postDataBuffer();
      assert.ok(body === null || (body.length === 0 && !body.includes(needle)), `a request with a body: ${r.url()}`);
    }
    assert.deepEqual(problems, []);
  });
});
