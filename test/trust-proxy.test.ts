// ASSENTMARK_TRUST_PROXY over real HTTP (the app listening on 127.0.0.1, the "proxy" being this
// test's own connection): with the proxy trusted, X-Forwarded-Proto https makes the console cookie
// Secure and X-Forwarded-For's client is the widget's recorded address; without it (the default),
// or when the peer is not a trusted proxy, both headers are ignored. Values that would trust
// anyone are refused at start-up with the configuration error.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { ConfigError, loadConfig } from '../src/config/config.js';
import { openedEvent } from './helpers/opened.js';
import { packageRoot } from '../src/util/paths.js';
import { eulaText, sha256OfText, useTestApp, type TestApp } from './helpers/app.js';
import { runAsync } from './helpers/tools.js';

const ORIGIN = 'https://signup.example.com';
const SERVER_MAIN = path.join(packageRoot(), 'dist', 'src', 'bin', 'server.js');

/** The attributes of the console cookie a sign-in sets, lower-cased. */
async function cookieAttrs(url: string, t: TestApp, headers: Record<string, string> = {}): Promise<string[]> {
  const res = await request(url).post('/console/session').set(headers).send({ api_key: t.tokens.investigator });
  assert.equal(res.status, 201, res.text);
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0] ?? '';
  assert.match(setCookie, /^am_console=/);
  return setCookie.split(';').map((a) => a.trim().toLowerCase());
}

/** A widget acceptance sent with `headers`; the client address and embed URL the service recorded. */
async function widgetAcceptance(url: string, t: TestApp, subject: string, headers: Record<string, string> = {}): Promise<{ displayedIp: string; acceptedIp: string; embed: string }> {
  const created = await request(url).post('/v1/acceptance-sessions').set('Authorization', `Bearer ${t.tokens.signup}`).set(headers)
    .send({ subject, slug: 'api-terms', origin: ORIGIN, auth: { method: 'password', session_id: 's-1', mfa: false } });
  assert.equal(created.status, 201, created.text);
  const r = await request(url).post(`/v1/widget/sessions/${created.body.session as string}/decision`).set('Origin', ORIGIN).set(headers).send({
    decision: 'accept', page_url: `${ORIGIN}/signup`, locale: 'en-GB', client_time: new Date().toISOString(),
    manifest: {
      widget: 'assentmark-widget/1', text_sha256: sha256OfText(eulaText()), markup_sha256: 'b'.repeat(64),
      viewport: { width: 1280, height: 800, device_pixel_ratio: 1 }, scrolled_to_end: true, time_on_screen_ms: 1000,
      consent_text: 'I have read and agree to the API Terms 1.0.', accept_text: 'Accept', decline_text: 'Decline',
    },
  });
  assert.equal(r.status, 201, r.text);
  const displayed = await openedEvent(t.ctx, r.body.displayed.seq as number);
  const accepted = await openedEvent(t.ctx, (r.body.displayed.seq as number) + 1);
  assert.equal(displayed.type, 'acceptance.displayed');
  assert.equal(accepted.type, 'acceptance.recorded');
  if (displayed.type !== 'acceptance.displayed' || accepted.type !== 'acceptance.recorded') throw new Error('unreachable');
  return { displayedIp: (displayed.data.client as { ip: string }).ip, acceptedIp: (accepted.data.client as { ip: string }).ip, embed: created.body.embed as string };
}

/** The suite's app on a port of 127.0.0.1, started at first use and closed when the suite ends. */
function served(t: TestApp) {
  let server: Awaited<ReturnType<TestApp['listen']>> | null = null;
  const close = async () => {
    const s = server;
    server = null;
    await s?.close();
  };
  after(close);
  return { url: async () => (server ??= await t.listen()).url, close };
}

describe('behind a trusted proxy (ASSENTMARK_TRUST_PROXY=loopback)', () => {
  const t = useTestApp({ config: { trustProxy: loadConfig({ ASSENTMARK_TRUST_PROXY: 'loopback' }).trustProxy }, setup: (t) => t.publishEula().then(() => undefined) });
  const s = served(t);

  test('X-Forwarded-Proto https makes the console cookie Secure; plain http without it does not', async () => {
    const url = await s.url();
    assert.ok((await cookieAttrs(url, t, { 'X-Forwarded-Proto': 'https' })).includes('secure'));
    assert.ok(!(await cookieAttrs(url, t)).includes('secure'));
  });

  test('the widget records the X-Forwarded-For client, the one the trusted proxy saw (not what the client claimed before it)', async () => {
    const url = await s.url();
    const one = await widgetAcceptance(url, t, 'proxied-1', { 'X-Forwarded-For': '198.51.100.23', 'X-Forwarded-Proto': 'https' });
    assert.equal(one.displayedIp, '198.51.100.23');
    assert.equal(one.acceptedIp, '198.51.100.23');
    assert.match(one.embed, /<script src="https:\/\//, 'the embed names the scheme the client used');
    // A client's own X-Forwarded-For, with the proxy's address for it appended: the proxy's word counts.
    const forged = await widgetAcceptance(url, t, 'proxied-2', { 'X-Forwarded-For': '203.0.113.66, 198.51.100.24' });
    assert.equal(forged.displayedIp, '198.51.100.24');
    // An IPv6 client.
    assert.equal((await widgetAcceptance(url, t, 'proxied-3', { 'X-Forwarded-For': '2001:db8::17' })).displayedIp, '2001:db8::17');
    // Not an address (a proxy that passed a client's header through): the peer's address is recorded, not the text.
    assert.equal((await widgetAcceptance(url, t, 'proxied-4', { 'X-Forwarded-For': '<script>' })).displayedIp, '127.0.0.1');
    assert.equal((await widgetAcceptance(url, t, 'proxied-5', { 'X-Forwarded-For': 'fe80::1%eth0' })).displayedIp, '127.0.0.1');
    await s.close();
  });
});

describe('without ASSENTMARK_TRUST_PROXY (the default), the forwarding headers are ignored', () => {
  const t = useTestApp({ setup: (t) => t.publishEula().then(() => undefined) });
  const s = served(t);

  test('no Secure cookie over plain http whatever X-Forwarded-Proto says; the peer address is recorded', async () => {
    assert.equal(t.config.trustProxy, false);
    const url = await s.url();
    assert.ok(!(await cookieAttrs(url, t, { 'X-Forwarded-Proto': 'https' })).includes('secure'));
    const w = await widgetAcceptance(url, t, 'direct-1', { 'X-Forwarded-For': '198.51.100.23', 'X-Forwarded-Proto': 'https' });
    assert.equal(w.displayedIp, '127.0.0.1');
    assert.equal(w.acceptedIp, '127.0.0.1');
    assert.match(w.embed, /<script src="http:\/\//);
  });

  test('a proxy list that does not name the peer: ignored as well', async () => {
    // The value as the configuration parses it, set on this app (createApp sets it from the config likewise).
    t.app.set('trust proxy', loadConfig({ ASSENTMARK_TRUST_PROXY: '10.0.0.5, 192.0.2.0/24' }).trustProxy);
    const url = await s.url();
    assert.ok(!(await cookieAttrs(url, t, { 'X-Forwarded-Proto': 'https' })).includes('secure'));
    assert.equal((await widgetAcceptance(url, t, 'direct-2', { 'X-Forwarded-For': '198.51.100.23' })).displayedIp, '127.0.0.1');
    await s.close();
  });
});

describe('the setting is validated at start-up', () => {
  test('accepted forms: a hop count, addresses and CIDRs, range names; off when unset, empty, 0 or false', () => {
    const v = (x: string | undefined) => loadConfig(x === undefined ? {} : { ASSENTMARK_TRUST_PROXY: x }).trustProxy;
    assert.equal(v(undefined), false);
    assert.equal(v(''), false);
    assert.equal(v('0'), false);
    assert.equal(v('false'), false);
    assert.equal(v('1'), 1);
    assert.equal(v('2'), 2);
    assert.equal(v('loopback'), 'loopback');
    assert.equal(v(' 10.0.0.5 , 10.1.0.0/16,loopback, 2001:db8::/32 '), '10.0.0.5,10.1.0.0/16,loopback,2001:db8::/32');
  });

  test('values that trust everyone, and malformed ones, are configuration errors that say why', () => {
    const refused = (x: string, re: RegExp) => assert.throws(() => loadConfig({ ASSENTMARK_TRUST_PROXY: x }), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /ASSENTMARK_TRUST_PROXY/);
      assert.match(e.message, re);
      return true;
    }, x);
    refused('true', /any client could forge its address with an X-Forwarded-For header/);
    refused('TRUE', /any client could forge/);
    refused('*', /any client could forge/);
    refused('0.0.0.0/0', /covers every address/);
    refused('::/0', /covers every address/);
    refused('10.0.0.0/33', /prefix length must be 0 to 32/);
    refused('10.0.0.999', /not an IP address/);
    refused('proxy.internal', /not an IP address/);
    refused('10.0.0.1,,10.0.0.2', /empty entry/);
    refused('11', /at most 10/);
    refused('-1', /not an IP address/);
  });

  test('the service refuses to start with ASSENTMARK_TRUST_PROXY=true: one line naming the setting and why, nothing created', async (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'assentmark-trust-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const dataDir = path.join(dir, 'data');
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', ASSENTMARK_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ASSENTMARK_TRUST_PROXY: 'true' };
    const r = await runAsync(process.execPath, [SERVER_MAIN], { env, timeout: 60_000 });
    assert.equal(r.status, 1, r.out);
    assert.match(r.stderr, /^assentmark: invalid configuration:\n\s+ASSENTMARK_TRUST_PROXY: "true" would trust every hop, so any client could forge its address/);
    assert.equal(existsSync(dataDir), false, 'no data directory');
  });
});
