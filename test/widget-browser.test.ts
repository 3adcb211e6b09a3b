// The consent widget in a real browser (Debian's chromium, driven by playwright-core), embedded in
// a signup page served from another origin than the service, as a customer's site embeds it: it
// shows the exact text, records acceptance.displayed (its manifest checked against what the page
// really rendered) and the acceptance or decline; a used or expired session is refused in plain
// words; the host page's CSS neither reaches into the widget nor is changed by it; the whole thing
// works with the keyboard alone, with visible focus and AA contrast. Screenshots go to /tmp.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseEvent } from '../src/ledger/events.js';
import { openedEvent } from './helpers/opened.js';
import { eulaText, sha256OfText, useTestApp, type TestApp } from './helpers/app.js';

// The page-side callbacks run in the browser; this file is compiled without the DOM library.
declare const document: any;
declare const navigator: { userAgent: string };
declare function getComputedStyle(e: unknown): any;

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = '/tmp/assentmark-widget';
const VIEWPORT = { width: 1100, height: 900 };

let service: Awaited<ReturnType<TestApp['listen']>>;
let host: http.Server;
let hostOrigin = '';
let browser: Browser;

const t = useTestApp({ setup });
after(async () => {
  await browser?.close();
  await new Promise<void>((r) => (host ? host.close(() => r()) : r()));
  await service?.close();
});

/**
 * The customer's signup page, on another origin (localhost instead of 127.0.0.1, another port). Its
 * CSS is as hostile as a page's can be: it would turn every element it reaches red, cursive, 40px,
 * and hide every button.
 */
function signupPage(url: URL): string {
  const token = url.searchParams.get('session') ?? '';
  const oneTag = url.searchParams.has('one-tag');
  const script = `<script src="${service.url}/widget.js" data-session="${token}"${oneTag ? '' : ' data-target="assentmark-consent"'} async></script>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign up to Example</title>
<style>
  html { font-size: 40px; }
  * { color: rgb(255, 0, 0) !important; font-family: cursive !important; letter-spacing: 4px !important; background: rgb(255, 255, 0) !important; }
  button { display: none !important; }
  div, section, p, label { font-size: 40px !important; line-height: 3 !important; border: 5px dashed rgb(0, 128, 0) !important; }
</style></head>
<body><h1 id="host-title">Create your Example account</h1>
<form><label for="email">Email</label> <input id="email" type="email"></form>
${oneTag ? script : `<div id="assentmark-consent"></div>\n${script}`}
</body></html>`;
}

/** Terms longer than the widget's text box: reading them to the end takes scrolling. */
const LONG_TEXT = [
  'Long Terms — Terms of Service, version 1.0',
  '',
  ...Array.from({ length: 40 }, (_, i) => `${i + 1}. Clause ${i + 1}: you must not use outputs of the service to train a competing model; outputs may carry a watermark linked to your account.`),
  '',
  'End of the terms: “quotes”, café, 東京, emoji 🙂.',
].join('\n');

async function setup(t: TestApp): Promise<void> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (CI installs it; this test does not skip)`);
  await t.publishEula();
  await t.publishEula({ slug: 'long-terms', title: 'Long Terms', text: LONG_TEXT });
  service = await t.listen();
  host = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', hostOrigin);
    if (url.pathname !== '/signup') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(signupPage(url));
  });
  await new Promise<void>((r) => host.listen(0, '127.0.0.1', () => r()));
  hostOrigin = `http://localhost:${(host.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

async function createSession(subject: string, o: Record<string, unknown> = {}): Promise<{ id: string; session: string }> {
  const r = await t.post('/v1/acceptance-sessions', 'signup').send({ subject, slug: 'api-terms', origin: hostOrigin, auth: { method: 'password', session_id: `site-${subject}`, mfa: true }, ...o });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

/** Opens the signup page; records every request the page makes to the service. */
async function openSignup(token: string, query = ''): Promise<{ page: Page; requests: Array<{ url: string; headers: Record<string, string> }> }> {
  const page = await browser.newPage({ viewport: VIEWPORT, locale: 'en-GB' });
  const requests: Array<{ url: string; headers: Record<string, string> }> = [];
  page.on('request', (r) => {
    if (r.url().startsWith(service.url)) requests.push({ url: r.url(), headers: r.headers() });
  });
  await page.goto(`${hostOrigin}/signup?session=${token}${query}`);
  return { page, requests };
}

/** The widget has checked the text on screen and can be answered. */
async function ready(page: Page): Promise<void> {
  await page.locator('#am-accept:not([disabled])').waitFor();
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}-${name}.png`, fullPage: true });
}

/** The events a decision wrote, by the record id in the widget's answer. */
async function eventsOfSession(sessionId: string) {
  const rows = await t.db.superuser(`SELECT ledger_seq::int AS seq FROM acceptance_session_uses WHERE session_id = '${sessionId}'`);
  assert.equal(rows.length, 1, 'the session was used once');
  const seq = Number(rows[0]!.seq);
  // Personal facts are commitments in the log (docs/personal-data.md): read them through their openings.
  assert.equal(typeof (parseEvent((await t.ctx.ledger.entry(seq))!.canonical).data as { subject: unknown }).subject, 'object');
  const displayed = await openedEvent(t.ctx, seq);
  const decision = await openedEvent(t.ctx, seq + 1);
  return { displayed, decision };
}

/** WCAG 2.1 contrast ratio of two CSS rgb() colours. */
function contrast(a: string, b: string): number {
  const lum = (c: string) => {
    const [r, g, bl] = (c.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number).map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * bl!;
  };
  const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** The active element inside the widget's shadow root, as "tag#id". */
function activeInWidget(page: Page): Promise<string> {
  return page.evaluate(() => {
    const a = document.querySelector('#assentmark-consent, .assentmark-consent')?.shadowRoot?.activeElement;
    return a ? `${a.tagName.toLowerCase()}#${a.id}` : 'none';
  });
}

describe('the consent widget on another origin', () => {
  test('records displayed (with what the page really rendered) and accepted, with no API key in the browser', async () => {
    const s = await createSession('browser-accepts', { slug: 'long-terms' });
    const { page, requests } = await openSignup(s.session);
    await ready(page);
    // The markup the manifest's hash stands for, read before the user acts (and before a screenshot,
    // which leaves an empty style attribute on the inputs where it hid the caret).
    const markup = await page.evaluate(() => document.getElementById('assentmark-consent')!.shadowRoot!.innerHTML);
    await shot(page, '1-loaded');
    const text = page.getByRole('document', { name: /Full text of Long Terms/ });
    assert.equal(await text.textContent(), LONG_TEXT);
    assert.equal(await text.evaluate((el) => el.scrollHeight > el.clientHeight), true, 'the text needs scrolling');
    await text.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await page.getByRole('checkbox', { name: 'I have read and agree to the Long Terms.' }).check();
    await page.getByRole('button', { name: 'Accept' }).click();
    await page.getByText(/Thank you\. Your acceptance of Long Terms \(version 1\.0\) was recorded/).waitFor();
    await shot(page, '2-accepted');
    const ua = await page.evaluate(() => navigator.userAgent);
    await page.close();

    const { displayed, decision } = await eventsOfSession(s.id);
    assert.equal(displayed.type, 'acceptance.displayed');
    assert.equal(decision.type, 'acceptance.recorded');
    if (displayed.type !== 'acceptance.displayed' || decision.type !== 'acceptance.recorded') return;
    const m = displayed.data.manifest;
    assert.equal(m.text_sha256, sha256OfText(LONG_TEXT));
    assert.equal(m.markup_sha256, sha256OfText(markup));
    assert.deepEqual(m.viewport, { width: VIEWPORT.width, height: VIEWPORT.height, device_pixel_ratio: 1 });
    assert.equal(m.scrolled_to_end, true);
    assert.ok(Number.isInteger(m.time_on_screen_ms) && m.time_on_screen_ms > 0, `time on screen ${m.time_on_screen_ms}`);
    assert.deepEqual([m.consent_text, m.accept_text, m.decline_text], ['I have read and agree to the Long Terms.', 'Accept', 'Decline']);
    assert.equal(displayed.data.page_url, `${hostOrigin}/signup?session=${s.session}`);
    assert.equal(displayed.data.locale, 'en-GB');
    assert.equal(displayed.data.client.user_agent, ua);
    assert.equal(displayed.data.client.ip, '127.0.0.1');
    assert.deepEqual(decision.data.presentation.displayed, { session_id: s.id, event_id: displayed.id, seq: decision.data.presentation.displayed!.seq });
    assert.equal(decision.data.shown_text_sha256, m.text_sha256);
    assert.equal(decision.data.subject, 'browser-accepts');
    // The browser spoke to the service only with the session token.
    assert.ok(requests.length >= 3, requests.map((r) => r.url).join('\n'));
    for (const r of requests) {
      assert.equal(r.headers.authorization, undefined, r.url);
      assert.equal(r.headers.cookie, undefined, r.url);
    }
    const status = (await t.get('/v1/subjects/browser-accepts/status?slug=long-terms', 'signup')).body;
    assert.equal(status.compliant, true);
  });

  test('the host page\'s CSS does not reach the widget, and the widget does not change the host page', async () => {
    const s = await createSession('browser-css');
    const { page } = await openSignup(s.session);
    const hostBefore = await page.evaluate(() => ({ sheets: document.styleSheets.length, styles: document.querySelectorAll('style, link').length, h1: getComputedStyle(document.getElementById('host-title')!).fontFamily }));
    await ready(page);
    const inside = await page.evaluate(() => {
      const root = document.getElementById('assentmark-consent')!.shadowRoot!;
      const cs = (sel: string) => {
        const c = getComputedStyle(root.querySelector(sel)!);
        return { color: c.color, background: c.backgroundColor, font: c.fontFamily, size: c.fontSize, spacing: c.letterSpacing, display: c.display, border: c.borderStyle };
      };
      return { box: cs('.am'), label: cs('label'), accept: cs('#am-accept'), decline: cs('#am-decline'), text: cs('#am-text'), status: cs('#am-status') };
    });
    const hostAfter = await page.evaluate(() => ({ sheets: document.styleSheets.length, styles: document.querySelectorAll('style, link').length, h1: getComputedStyle(document.getElementById('host-title')!).fontFamily }));
    assert.deepEqual(hostAfter, hostBefore, 'the widget added no styles to the host page');
    assert.equal(hostAfter.h1, 'cursive');
    for (const [name, c] of Object.entries(inside)) {
      assert.notEqual(c.color, 'rgb(255, 0, 0)', `${name} colour came from the host`);
      assert.ok(!/cursive/.test(c.font), `${name} font came from the host: ${c.font}`);
      assert.ok(c.size !== '40px', `${name} font size came from the host`);
      assert.equal(c.spacing, 'normal', `${name} letter spacing came from the host`);
      assert.notEqual(c.background, 'rgb(255, 255, 0)', `${name} background came from the host`);
      assert.notEqual(c.border, 'dashed', `${name} border came from the host`);
    }
    assert.notEqual(inside.accept.display, 'none', 'the host hides every button; not the widget\'s');
    assert.ok(await page.getByRole('button', { name: 'Accept' }).isVisible());
    assert.ok(await page.getByRole('button', { name: 'Decline' }).isVisible());
    assert.equal(inside.box.size, '16px', 'px sizes: the host\'s root font size does not scale the widget');
    // WCAG 2.1 AA contrast of the text and the buttons.
    assert.ok(contrast(inside.label.color, inside.box.background) >= 4.5, `label ${inside.label.color} on ${inside.box.background}`);
    assert.ok(contrast(inside.text.color, inside.text.background) >= 4.5, `text ${inside.text.color} on ${inside.text.background}`);
    assert.ok(contrast(inside.accept.color, inside.accept.background) >= 4.5, `accept ${inside.accept.color} on ${inside.accept.background}`);
    assert.ok(contrast(inside.decline.color, inside.decline.background) >= 4.5, `decline ${inside.decline.color} on ${inside.decline.background}`);
    await shot(page, '3-hostile-host-css');
    await page.close();
  });

  test('keyboard only: Tab through text, checkbox and button in order, with visible focus; an Accept without the box ticked says what to do', async () => {
    const s = await createSession('browser-keyboard', { slug: 'long-terms' });
    const { page } = await openSignup(s.session);
    await ready(page);
    await page.locator('#email').focus();
    const order: string[] = [];
    const outlines: Record<string, string> = {};
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      const at = await activeInWidget(page);
      order.push(at);
      outlines[at] = await page.evaluate(() => {
        const a = document.getElementById('assentmark-consent')!.shadowRoot!.activeElement!;
        const c = getComputedStyle(a);
        return `${c.outlineStyle} ${c.outlineWidth} ${c.outlineColor}`;
      });
    }
    assert.deepEqual(order, ['div#am-text', 'input#am-agree', 'button#am-accept', 'button#am-decline']);
    for (const [el, o] of Object.entries(outlines)) assert.match(o, /^solid 3px rgb\(180, 83, 9\)$/, `focus of ${el} is visible: ${o}`);
    // Back to the text and read it to the end with the keyboard.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await activeInWidget(page), 'div#am-text');
    await page.keyboard.press('End');
    await shot(page, '4-keyboard-focus-text');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await activeInWidget(page), 'button#am-accept');
    await page.keyboard.press('Enter');
    await page.getByText('To accept, first tick the box “I have read and agree to the Long Terms.”.').waitFor();
    assert.equal(await activeInWidget(page), 'input#am-agree', 'focus goes to the box to tick');
    assert.equal(await page.getByRole('checkbox').getAttribute('aria-invalid'), 'true');
    await shot(page, '5-keyboard-untick-error');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    await shot(page, '6-keyboard-focus-accept');
    await page.keyboard.press('Enter');
    const done = page.getByText(/Thank you\. Your acceptance/);
    await done.waitFor();
    assert.equal(await page.evaluate(() => document.getElementById('assentmark-consent')!.shadowRoot!.activeElement?.className), 'done', 'the confirmation takes focus');
    await page.close();
    const { displayed, decision } = await eventsOfSession(s.id);
    assert.equal(decision.type, 'acceptance.recorded');
    if (displayed.type === 'acceptance.displayed') assert.equal(displayed.data.manifest.scrolled_to_end, true, 'End scrolled the text to its end');
  });

  test('a decline, embedded with the script tag alone, records acceptance.declined', async () => {
    const s = await createSession('browser-declines', { slug: 'long-terms' });
    const { page } = await openSignup(s.session, '&one-tag');
    await ready(page);
    await page.getByRole('button', { name: 'Decline' }).click();
    await page.getByText(/Your decision not to accept Long Terms \(version 1\.0\) was recorded/).waitFor();
    await shot(page, '7-declined');
    await page.close();
    const { displayed, decision } = await eventsOfSession(s.id);
    assert.equal(displayed.type, 'acceptance.displayed');
    assert.equal(decision.type, 'acceptance.declined');
    if (displayed.type === 'acceptance.displayed') assert.equal(displayed.data.manifest.scrolled_to_end, false, 'the text was not scrolled');
    if (decision.type === 'acceptance.declined') assert.equal(decision.data.presentation.button_text, 'Decline');
  });

  test('a text altered on its way to the browser is refused by the widget itself, and nothing is recorded', async () => {
    const s = await createSession('browser-altered');
    const page = await browser.newPage({ viewport: VIEWPORT });
    // A proxy that edits the terms in transit (the hash it leaves is the published one).
    await page.route(`${service.url}/v1/widget/sessions/*`, async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      await route.fulfill({ response: res, json: { ...body, text: body.text.replace('must not', 'may') } });
    });
    const before = await t.countRows();
    await page.goto(`${hostOrigin}/signup?session=${s.session}`);
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.textContent() ?? '', /The text shown here is not the published version of these terms, so it cannot be accepted\. Nothing was recorded\./);
    assert.equal(await page.getByRole('button').count(), 0, 'nothing to click');
    await shot(page, '10-altered-text');
    await page.close();
    assert.deepEqual(await t.countRows(), before);
    assert.equal((await t.get(`/v1/acceptance-sessions/${s.id}`, 'signup')).body.state, 'open');
  });

  test('a replayed session and an expired one are refused in plain words, and record nothing', async () => {
    const used = await createSession('browser-replay');
    const first = await openSignup(used.session);
    await ready(first.page);
    await first.page.getByRole('button', { name: 'Decline' }).click();
    await first.page.getByText(/was recorded/).waitFor();
    await first.page.close();
    const expired = await createSession('browser-expired');
    await t.db.superuser(`UPDATE acceptance_sessions SET created_at = now() - interval '20 minutes', expires_at = now() - interval '1 second' WHERE id = '${expired.id}'`);
    const before = await t.countRows();

    const again = await openSignup(used.session);
    const alert = again.page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.textContent() ?? '', /This consent form cannot be shown\.This consent form has already been used/);
    assert.equal(await again.page.getByRole('button').count(), 0, 'nothing to click');
    await shot(again.page, '8-replayed');
    await again.page.close();

    const late = await openSignup(expired.session);
    await late.page.getByRole('alert').waitFor();
    assert.match(await late.page.getByRole('alert').textContent() ?? '', /This consent form has expired: it can only be used for a limited time\. Nothing was recorded\. Reload the page to get a new one\./);
    await shot(late.page, '9-expired');
    await late.page.close();

    const unknown = await openSignup(`ams_${'Q'.repeat(43)}`);
    await unknown.page.getByRole('alert').waitFor();
    assert.match(await unknown.page.getByRole('alert').textContent() ?? '', /not valid/);
    await unknown.page.close();
    assert.deepEqual(await t.countRows(), before);
  });
});
