// What the user saw, in a dossier: a subject declines, then accepts, through the consent widget's
// JSON API over real HTTP (docs/widget.md); the dossier issued for it cites both acceptance.displayed
// entries in its evidence bundle with inclusion proofs, prints each manifest beside its record
// (read back with pdfjs and compared with the ledger event's data), and `assentmark dossier verify`
// checks the display records offline. An acceptance made by the signup backend says in one line that
// no display record exists. A display record that does not tie to its record refuses the issue.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { canonicalBytes, parseCanonical } from '../src/canonical/jcs.js';
import { checkedDisplayed, type DisplayedRef } from '../src/dossier/displayed.js';
import { DISPLAY_MEASURED, NO_DISPLAY_RECORD } from '../src/dossier/view.js';
import { readCheckpoint } from '../src/ledger/checkpoint.js';
import { parseEvent } from '../src/ledger/events.js';
import type { LedgerEntry } from '../src/ledger/format.js';
import { extractAttachments } from '../src/pdf/verify.js';
import { AppError } from '../src/problems/app-error.js';
import { sql } from 'kysely';
import { CLI_MAIN, eulaText, problemOf, sha256OfText, useTestApp } from './helpers/app.js';
import { bareEnv } from './helpers/recipe.js';
import { binary, run } from './helpers/tools.js';

type Json = Record<string, any>;

const ORIGIN = 'https://signup.example.com';
const SUBJECT = 'widget-dossier-user';
const BACKEND_SUBJECT = 'backend-dossier-user';
const compact = (s: string): string => s.replace(/\s+/g, '');

const t = useTestApp({ setup });
let work: string;
/** The widget's two uses: a decline first, then an acceptance (seq of each display record and record). */
const uses: Array<{ decision: 'accept' | 'decline'; sessionId: string; displayedSeq: number; manifest: Json; recordSeq: number }> = [];
let issued: Json;
let pdf: Buffer;
let section4: string;
let bundle: Json;

function manifest(o: Json): Json {
  return {
    widget: 'assentmark-widget/1', text_sha256: sha256OfText(eulaText()), markup_sha256: 'd4'.repeat(32),
    viewport: { width: 1366, height: 768, device_pixel_ratio: 2 }, scrolled_to_end: true, time_on_screen_ms: 4200,
    consent_text: 'I have read the API Terms and agree to them.', accept_text: 'I agree', decline_text: 'Not now', ...o,
  };
}

/** A session created by the signup backend, then the widget's read and decision, as the browser makes them. */
async function throughWidget(decision: 'accept' | 'decline', m: Json, subject = SUBJECT): Promise<(typeof uses)[number]> {
  const s = await t.post('/v1/acceptance-sessions', 'signup').send({
    subject, slug: 'api-terms', origin: ORIGIN, auth: { method: 'password', session_id: 'site-sess-7', mfa: true },
    consent_text: m.consent_text, accept_text: m.accept_text, decline_text: m.decline_text,
  });
  assert.equal(s.status, 201, s.text);
  const shown = await t.get(`/v1/widget/sessions/${s.body.session}`).set('Origin', ORIGIN);
  assert.equal(shown.status, 200, shown.text);
  assert.equal(shown.body.text_sha256, m.text_sha256);
  const r = await t.post(`/v1/widget/sessions/${s.body.session}/decision`).set('Origin', ORIGIN).set('User-Agent', 'Mozilla/5.0 dossier test')
    .send({ decision, manifest: m, page_url: `${ORIGIN}/signup`, locale: 'en-GB', client_time: new Date().toISOString() });
  assert.equal(r.status, 201, r.text);
  const use = { decision, sessionId: s.body.id, displayedSeq: r.body.displayed.seq, manifest: m, recordSeq: r.body.record.ledger.seq };
  if (subject === SUBJECT) uses.push(use);
  return use;
}

async function issue(subject: string): Promise<{ body: Json; pdf: Buffer }> {
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject, case_ref: 'CASE-SHOWN-1', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  assert.equal(res.status, 201, res.text);
  const p = await t.get(`/v1/dossiers/${res.body.id}/pdf`, 'counsel').buffer(true).parse(binary as never);
  assert.equal(p.status, 200);
  return { body: res.body as Json, pdf: p.body as Buffer };
}

/** The text of section 4 (from its bookmark's page to section 5's), read with pdfjs-dist, whitespace removed. */
async function section4Of(bytes: Buffer): Promise<string> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({ data: new Uint8Array(bytes), useSystemFonts: false, isEvalSupported: false, disableFontFace: true, verbosity: 0 }).promise;
  try {
    const outline = (await doc.getOutline()) as Array<{ title: string; dest: unknown[] }>;
    const at = async (prefix: string) => {
      const o = outline.find((x) => x.title.startsWith(prefix));
      assert.ok(o, `bookmark "${prefix}"`);
      return (await doc.getPageIndex(o.dest[0] as never)) + 1;
    };
    const [from, to] = [await at('4. '), await at('5. ')];
    let text = '';
    for (let p = from; p <= to; p++) {
      const tc = await (await doc.getPage(p)).getTextContent();
      for (const it of tc.items as Array<{ str?: string; hasEOL?: boolean }>) if (typeof it.str === 'string') text += it.str + (it.hasEOL ? '\n' : ' ');
    }
    // Whitespace removed: values, hashes and ids wrap across lines in the tables.
    const c = compact(text);
    const start = c.indexOf(compact('4. Acceptances, declines and withdrawals'));
    const end = c.indexOf(compact("5. Linkage: the subject's watermark key"), start);
    assert.ok(start >= 0 && end > start, `section 4 found in:\n${text}`);
    return c.slice(start, end);
  } finally {
    await doc.destroy();
  }
}

async function entry(seq: number): Promise<LedgerEntry> {
  const e = await t.ctx.ledger.entry(seq);
  assert.ok(e, `entry ${seq}`);
  return e;
}

async function setup(): Promise<void> {
  work = mkdtempSync(path.join(tmpdir(), 'assentmark-displayed-'));
  await t.publishEula();
  await throughWidget('decline', manifest({ scrolled_to_end: false, time_on_screen_ms: 950, viewport: { width: 390, height: 844, device_pixel_ratio: 3 } }));
  await throughWidget('accept', manifest({}));
  ({ body: issued, pdf } = await issue(SUBJECT));
  writeFileSync(path.join(work, 'dossier.pdf'), pdf);
  section4 = await section4Of(pdf);
  bundle = JSON.parse((await extractAttachments(pdf)).get('evidence-bundle.json')!.toString('utf8')) as Json;
}

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a dossier shows what the consent widget showed', () => {
  test('the evidence bundle cites each acceptance.displayed entry, with its inclusion proof in the checkpoint', async () => {
    assert.equal(uses.length, 2);
    for (const u of uses) {
      const cited = (bundle.entries as Json[]).find((e) => e.seq === u.displayedSeq);
      assert.ok(cited, `display record ${u.displayedSeq} cited`);
      const stored = await entry(u.displayedSeq);
      assert.equal(cited.event_type, 'acceptance.displayed');
      assert.equal(cited.event_id, stored.eventId);
      assert.equal(cited.canonical, Buffer.from(stored.canonical).toString('base64'), 'the exact stored bytes');
      assert.equal(cited.leaf_hash, stored.leafHash.toString('hex'));
      assert.equal(cited.inclusion.leaf_index, u.displayedSeq - 1);
      assert.equal(cited.inclusion.tree_size, readCheckpoint(Buffer.from(bundle.checkpoint.note, 'base64'))!.size, 'proven in the tree of the dossier\'s checkpoint');
      assert.ok(Array.isArray(cited.inclusion.audit_path) && cited.inclusion.audit_path.length > 0);
      // The record it stands beside points back at it.
      const rec = (bundle.entries as Json[]).find((e) => e.seq === u.recordSeq);
      assert.ok(rec, `record ${u.recordSeq} cited`);
      const ev = parseCanonical(Buffer.from(rec.canonical, 'base64')) as Json;
      assert.equal(ev.type, u.decision === 'accept' ? 'acceptance.recorded' : 'acceptance.declined');
      assert.deepEqual(ev.data.presentation.displayed, { session_id: u.sessionId, event_id: stored.eventId, seq: u.displayedSeq });
    }
  });

  test('section 4 prints each manifest beside its record, equal to the ledger event\'s data', async () => {
    const c = compact(section4);
    const positions: number[] = [];
    for (const [n, u] of uses.entries()) {
      const stored = await entry(u.displayedSeq);
      const ev = parseEvent(stored.canonical);
      assert.equal(ev.type, 'acceptance.displayed');
      if (ev.type !== 'acceptance.displayed') return;
      const m = ev.data.manifest;
      assert.deepEqual(m, u.manifest, 'the ledger holds the manifest the widget sent');
      // Each record's own block: from its "before this <kind>" sentence to the next record's.
      const kind = u.decision === 'accept' ? 'acceptance' : 'decline';
      const intro = compact(`What the user saw before this ${kind}, as the consent widget recorded it`);
      const i = c.indexOf(intro);
      assert.ok(i >= 0, `the display block of the ${kind}`);
      positions.push(i);
      const next = uses[n + 1] ? c.indexOf(compact('What the user saw before this'), i + intro.length) : c.length;
      const block = c.slice(i, next);
      const want: Array<[string, string]> = [
        ['display record', `Display record ledger entry ${stored.seq} (event ${stored.eventId})`],
        ['session', `Acceptance session ${ev.data.session_id}`],
        ['text hash', `Text shown (SHA-256) ${m.text_sha256} Equal to the published yes: the published version's SHA-256`],
        ['scrolling', `Scrolled to the end ${m.scrolled_to_end ? 'yes: the end of the text was in view' : 'no: the end of the text was never in view'}`],
        ['time on screen', `Time on screen ${(m.time_on_screen_ms / 1000).toFixed(1)} seconds (${m.time_on_screen_ms} ms)`],
        ['viewport', `Viewport ${m.viewport.width} × ${m.viewport.height} CSS pixels, device pixel ratio ${m.viewport.device_pixel_ratio}`],
        ['consent wording', `Consent wording shown ${m.consent_text}`],
        ['button texts', `Button texts shown accept: "${m.accept_text}"; decline: "${m.decline_text}"`],
        ['markup hash', `Markup SHA-256 ${m.markup_sha256}`],
        ['widget', `Widget ${m.widget}`],
        ['who measured what', DISPLAY_MEASURED],
      ];
      for (const [what, line] of want) assert.ok(block.includes(compact(line)), `${kind}: ${what} "${line}" is not in:\n${section4}`);
      assert.equal(m.text_sha256, sha256OfText(eulaText()), 'the published text\'s hash');
    }
    // The decline was recorded first and is printed first; the backend line is for other records only.
    assert.ok(positions[0]! < positions[1]!);
    assert.ok(!c.includes(compact(NO_DISPLAY_RECORD)), 'no record of this subject lacks its display record');
  });

  test('`assentmark dossier verify` passes with no database and checks each display record', () => {
    const dir = path.join(work, 'verify');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'dossier.pdf'), pdf);
    writeFileSync(path.join(dir, 'trusted.pem'), t.ctx.ledger.signingKey.publicKeyPem());
    const data = mkdtempSync(path.join(dir, 'empty-data-'));
    const r = run(process.execPath, [CLI_MAIN, 'dossier', 'verify', 'dossier.pdf', '--public-key', 'trusted.pem'], { cwd: dir, env: bareEnv(data) });
    assert.equal(r.status, 0, r.out);
    assert.ok(!r.stdout.includes('FAIL'), r.stdout);
    for (const u of uses) {
      assert.match(r.stdout, new RegExp(`^ok\\s+display record of entry ${u.recordSeq}: entry ${u.displayedSeq} \\(acceptance\\.displayed, session ${u.sessionId}\\) is cited`, 'm'), r.stdout);
    }
  });

  test('an acceptance recorded by the signup backend says so in one line', async () => {
    const a = await t.accept({ subject: BACKEND_SUBJECT });
    assert.equal(a.status, 201, a.text);
    const d = await issue(BACKEND_SUBJECT);
    const text = await section4Of(d.pdf);
    assert.ok(compact(text).includes(compact(`What the user saw ${NO_DISPLAY_RECORD}`)), text);
    assert.ok(!compact(text).includes(compact('Display record')), text);
    const b = JSON.parse((await extractAttachments(d.pdf)).get('evidence-bundle.json')!.toString('utf8')) as Json;
    assert.ok(!(b.entries as Json[]).some((e) => e.event_type === 'acceptance.displayed'), 'no display record is cited');
  });
});

describe('a display record that does not tie to its record refuses the dossier', () => {
  const refused = (f: () => unknown, why: RegExp) => assert.throws(f, (e: unknown) => e instanceof AppError && e.code === 'display_record_inconsistent' && why.test(e.message));

  test('missing, of another type, another event, later, or showing other text', async () => {
    const [decline, accept] = uses as [typeof uses[0], typeof uses[0]];
    const record = await entry(accept.recordSeq);
    const shown = await entry(accept.displayedSeq);
    const ref: DisplayedRef = { session_id: accept.sessionId, event_id: shown.eventId, seq: shown.seq };
    // The genuine pair passes and yields the ledger's data.
    const ok = checkedDisplayed(record, ref, shown);
    assert.deepEqual(ok.data, parseEvent(shown.canonical).data);
    refused(() => checkedDisplayed(record, ref, undefined), new RegExp(`there is no entry ${shown.seq}`));
    refused(() => checkedDisplayed(record, ref, record), /is of type acceptance\.recorded, not acceptance\.displayed/);
    const otherShown = await entry(decline.displayedSeq);
    refused(() => checkedDisplayed(record, ref, { ...otherShown, seq: shown.seq }), new RegExp(`is event ${otherShown.eventId}`));
    const earlierRecord = await entry(decline.recordSeq);
    refused(() => checkedDisplayed(earlierRecord, ref, shown), /does not precede the record/);
    // The same event id and seq, but the bytes show another text: the ledger contradicts itself.
    const edited = parseCanonical(shown.canonical) as Json;
    edited.data.manifest.text_sha256 = 'e'.repeat(64);
    refused(() => checkedDisplayed(record, ref, { ...shown, canonical: canonicalBytes(edited) }), /the text it shows has SHA-256 e{64}/);
    const otherSession = parseCanonical(shown.canonical) as Json;
    otherSession.data.session_id = decline.sessionId;
    refused(() => checkedDisplayed(record, ref, { ...shown, canonical: canonicalBytes(otherSession) }), new RegExp(`of session ${decline.sessionId}`));
  });
});

// Last: it rewrites a ledger entry behind the service's back, which no later test could live with.
describe('over HTTP, an acceptance naming another display record', () => {
  test('the dossier issue answers display_record_inconsistent (500) and records nothing', async () => {
    const use = await throughWidget('accept', manifest({}), 'widget-tampered');
    const shown = await entry(use.displayedSeq);
    const other = await entry(uses[0]!.displayedSeq);
    // As the database owner, triggers off: the acceptance now names the decline's display record.
    await t.db.superuser('ALTER TABLE ledger_entries DISABLE TRIGGER ALL');
    await t.db.superuser(`UPDATE ledger_entries SET canonical = convert_to(replace(convert_from(canonical, 'UTF8'), '${shown.eventId}', '${other.eventId}'), 'UTF8') WHERE seq = ${use.recordSeq}`);
    await t.db.superuser('ALTER TABLE ledger_entries ENABLE TRIGGER ALL');
    await t.db.superuser('ALTER TABLE ledger_entries ENABLE ALWAYS TRIGGER ledger_entries_no_update_delete');
    await t.db.superuser('ALTER TABLE ledger_entries ENABLE ALWAYS TRIGGER ledger_entries_no_truncate');
    const count = async () => (await sql<{ d: string; l: string }>`SELECT (SELECT count(*) FROM dossiers) AS d, (SELECT count(*) FROM ledger_entries) AS l`.execute(t.ctx.handle.db)).rows[0]!;
    const before = await count();
    const res = await t.post('/v1/dossiers', 'investigator').send({ subject: 'widget-tampered', case_ref: 'CASE-SHOWN-2', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
    assert.equal(res.status, 500, res.text);
    const p = problemOf(res);
    assert.equal(p.code, 'display_record_inconsistent');
    assert.match(p.detail, new RegExp(`ledger entry ${use.recordSeq} .*names display record ${other.eventId} at entry ${use.displayedSeq}, but entry ${use.displayedSeq} is event ${shown.eventId}`));
    assert.deepEqual(await count(), before, 'no dossier and no ledger entry written');
  });
});
