// Dossiers through HTTP: issuing (roles, response, the `dossier.issued` ledger event, listing), and
// the PDF read back with pdfjs-dist section by section: every key value of the evidence is in the
// document, the EULA text verbatim, the watermark key never (text, raw bytes, decompressed streams,
// attachments), metadata, bookmarks, embedded fonts and PDF/A identification. Poppler's pdfinfo and
// pdffonts are required (a missing tool fails, it is not skipped).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { sql } from 'kysely';
import { pino } from 'pino';
import request from 'supertest';
import { buf } from '../src/db/bytes.js';
import { buildApp, type BuiltApp } from '../src/server/build-app.js';
import { NO_TIMESTAMP_STATEMENT } from '../src/dossier/bundle.js';
import { extractAttachments } from '../src/pdf/verify.js';
import { DRAFT_COLOR } from '../src/pdf/draft-mark.js';
import { problemOf, useTestApp, type TestApp } from './helpers/app.js';
import { buildEvidence, HIGHLIGHT_TRAINING, HIGHLIGHT_WATERMARK, supertestHttp, type Evidence } from './helpers/evidence.js';
import { openedEvent } from './helpers/opened.js';
import { binary, run } from './helpers/tools.js';

type Json = Record<string, any>;

const CASE_REF = 'CASE-2026-0042';
const KEYS_URL = 'https://evidence.example.com/.well-known/assentmark/keys.json';
const SECTION_TITLES = [
  '1. Summary and exhibits',
  '2. The subject and its account',
  '3. The terms the subject was shown',
  '4. Acceptances, declines and withdrawals',
  "5. Linkage: the subject's watermark key",
  '6. Verification of the suspect model',
  '7. Ledger integrity',
  '8. Certification',
  '9. How to verify this dossier',
  'Appendix: the formulas',
];

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
/** Whitespace removed: hashes, ids and file names wrap across lines in tables. */
const compact = (s: string): string => s.replace(/\s+/g, '');
/** Whitespace collapsed to single spaces: key/value rows and sentences. */
const norm = (s: string): string => s.replace(/\s+/g, ' ');

/** Poppler's tools print dates in the local time zone: run them in UTC. */
const UTC = { env: { ...process.env, TZ: 'UTC' } };

interface ReadPdf {
  /** Page texts without the running footer. */
  pages: string[];
  /** Page texts including the footer. */
  fullPages: string[];
  outline: Array<{ title: string; page: number; items: string[] }>;
  /** Section number (1-10) -> its text (from its first page to the page where the next section starts). */
  sections: Map<number, string>;
  /** Internal links (the table of contents): page they are on -> 0-based pages they go to. */
  links: Array<{ page: number; to: number }>;
  /** Attached files as pdfjs reads them: name -> description. */
  descriptions: Map<string, string>;
  /** Page size in points of each page. */
  sizes: Array<[number, number]>;
  /** Per page, the lowest baseline of its body text (points from the bottom edge). */
  lowest: number[];
  /** Per page, whether it carries the DRAFT mark (excluded from `pages`). */
  drafts: boolean[];
}

/** Reads a PDF with pdfjs-dist 5 (legacy build), as an independent reader would. */
async function readPdf(pdf: Buffer): Promise<ReadPdf> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({ data: new Uint8Array(pdf), useSystemFonts: false, isEvalSupported: false, disableFontFace: true, verbosity: 0 }).promise;
  try {
    const pages: string[] = [];
    const fullPages: string[] = [];
    const links: ReadPdf['links'] = [];
    const sizes: ReadPdf['sizes'] = [];
    const lowest: number[] = [];
    const drafts: boolean[] = [];
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p);
      const vp = page.getViewport({ scale: 1 });
      sizes.push([Math.round(vp.width), Math.round(vp.height)]);
      for (const a of (await page.getAnnotations()) as Array<{ subtype?: string; dest?: unknown }>) {
        if (a.subtype === 'Link' && Array.isArray(a.dest)) links.push({ page: p - 1, to: await doc.getPageIndex(a.dest[0] as never) });
      }
      // The DRAFT mark is glyph outlines (no text): found by its fill colour in the page's operators.
      const ops = await page.getOperatorList();
      const marked = ops.fnArray.some((f, i) => f === pdfjs.OPS.setFillRGBColor && (ops.argsArray[i] as unknown[])[0] === DRAFT_COLOR);
      const tc = await page.getTextContent();
      let body = '';
      let all = '';
      let low = Infinity;
      for (const it of tc.items as Array<{ str?: string; hasEOL?: boolean; transform?: number[] }>) {
        if (typeof it.str !== 'string') continue;
        const s = it.str + (it.hasEOL ? '\n' : '');
        all += s;
        // The footer sits in the bottom margin (y < 60 pt from the bottom edge).
        if ((it.transform?.[5] ?? 100) >= 60) {
          body += s;
          if (it.str.trim()) low = Math.min(low, it.transform?.[5] ?? low);
        }
      }
      pages.push(body);
      fullPages.push(all);
      lowest.push(low);
      drafts.push(marked);
    }
    const raw = (await doc.getOutline()) as Array<{ title: string; dest: unknown[]; items: Array<{ title: string }> }>;
    const outline: ReadPdf['outline'] = [];
    for (const o of raw ?? []) {
      const page = await doc.getPageIndex(o.dest[0] as never);
      outline.push({ title: o.title, page, items: o.items.map((i) => i.title) });
    }
    const sections = new Map<number, string>();
    outline.forEach((o, i) => {
      const next = outline[i + 1]?.page ?? pages.length;
      // Sections flow: the page where the next one starts may hold this one's end too.
      sections.set(i + 1, pages.slice(i === 0 ? 0 : o.page, Math.max(next + 1, o.page + 1)).join('\n'));
    });
    const files = ((await doc.getAttachments()) ?? {}) as Record<string, { filename: string; description?: string }>;
    const descriptions = new Map(Object.values(files).map((f) => [f.filename, f.description ?? '']));
    return { pages, fullPages, outline, sections, links, descriptions, sizes, lowest, drafts };
  } finally {
    await doc.destroy();
  }
}

/** The p-value as a reader expects it (re-implemented here, not imported). */
function expectedP(p: number, log10p: number): string {
  if (p >= 1e-4) return p >= 0.9999995 ? '1' : p.toPrecision(3);
  const sup: Record<string, string> = { '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹' };
  const l = p > 0 ? Math.log10(p) : log10p;
  const e = Math.floor(l);
  return `${(10 ** (l - e)).toFixed(2)} × 10${[...String(e)].map((c) => sup[c]).join('')}`;
}

/** Every FlateDecode'd stream of a PDF, inflated (content streams, fonts, embedded files, XMP). */
function inflatedStreams(pdf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  const s = pdf.toString('latin1');
  const re = /stream\r?\n/g;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    const start = m.index + m[0].length;
    const end = s.indexOf('endstream', start);
    if (end < 0) break;
    try {
      out.push(inflateSync(pdf.subarray(start, end)));
    } catch {
      out.push(pdf.subarray(start, end)); // not compressed
    }
    re.lastIndex = end;
  }
  return out;
}

const t = useTestApp({ setup });
let ev: Evidence;
let issued: Json;
let pdf: Buffer;
let signature: Buffer;
let read: ReadPdf;
let attachments: Map<string, Buffer>;
let work: string;
let pdfPath: string;
const responses: string[] = [];

async function getPdf(app: TestApp | { get: (u: string) => request.Test }, id: string): Promise<Buffer> {
  const r = 'tokens' in app ? app.get(`/v1/dossiers/${id}/pdf`, 'counsel') : app.get(`/v1/dossiers/${id}/pdf`);
  const res = await r.buffer(true).parse(binary as never);
  assert.equal(res.status, 200, String(res.text));
  return res.body as Buffer;
}

/** Runs once the app exists (useTestApp's before hook). */
async function setup(): Promise<void> {
  work = mkdtempSync(path.join(tmpdir(), 'assentmark-dossier-'));
  ev = await buildEvidence(supertestHttp(() => t.app, t.tokens), { acceptances: 3, declines: 1, withdrawals: 1, versions: 2, keyRotations: 1, verifications: 4, eulaPages: 3, caseRef: CASE_REF });
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject: ev.subject, case_ref: CASE_REF, requested_by: 'Jane Investigator (Trust & Safety)', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  responses.push(res.text);
  assert.equal(res.status, 201, res.text);
  issued = res.body as Json;
  pdf = await getPdf(t, issued.id);
  const s = await t.get(`/v1/dossiers/${issued.id}/signature`, 'counsel').buffer(true).parse(binary as never);
  assert.equal(s.status, 200);
  signature = s.body as Buffer;
  pdfPath = path.join(work, 'dossier.pdf');
  writeFileSync(pdfPath, pdf);
  read = await readPdf(pdf);
  attachments = await extractAttachments(pdf);
}

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('issuing over HTTP', () => {
  test('201 with id, pdf_sha256, bundle_sha256, a Location, and a detached Ed25519 signature over the PDF', () => {
    assert.match(issued.id, /^[0-9a-f-]{36}$/);
    assert.equal(issued.subject, ev.subject);
    assert.equal(issued.case_ref, CASE_REF);
    assert.match(issued.pdf_sha256, /^[0-9a-f]{64}$/);
    assert.match(issued.bundle_sha256, /^[0-9a-f]{64}$/);
    assert.equal(issued.pdf_sha256, sha256(pdf), 'pdf_sha256 is the SHA-256 of the PDF served');
    assert.equal(issued.bundle_sha256, sha256(attachments.get('evidence-bundle.json')!), 'bundle_sha256 is the SHA-256 of the embedded bundle');
    assert.equal(issued.signing_key_id, t.ctx.ledger.signingKey.keyId);
    assert.deepEqual([...issued.verification_ids].sort(), ev.verifications.map((v) => v.id).sort());
    assert.ok(issued.pages >= 15, `pages ${issued.pages}`);
    assert.equal(issued.pages, read.pages.length);
    assert.equal(signature.length, 64);
    assert.equal(Buffer.from(issued.signature, 'base64').toString('hex'), signature.toString('hex'));
    const pub = createPublicKey(t.ctx.ledger.signingKey.publicKeyPem());
    assert.ok(edVerify(null, pdf, pub, signature), 'the detached signature verifies over the PDF');
  });

  test('roles: investigator issues; counsel reads but cannot issue; signup and gateway can do neither', async () => {
    const body = { subject: ev.subject, case_ref: 'CASE-X', requested_by: 'x', prepared_for: { name: 'y', firm: 'z' } };
    for (const role of ['counsel', 'signup', 'gateway', 'admin'] as const) {
      const r = await t.post('/v1/dossiers', role).send(body);
      responses.push(r.text);
      assert.equal(r.status, 403, `${role} POST: ${r.text}`);
      problemOf(r);
    }
    const anon = await t.post('/v1/dossiers').send(body);
    assert.equal(anon.status, 401);
    for (const url of [`/v1/dossiers/${issued.id}`, `/v1/dossiers/${issued.id}/pdf`, `/v1/dossiers/${issued.id}/signature`, `/v1/subjects/${ev.subject}/dossiers`]) {
      for (const role of ['counsel', 'investigator'] as const) {
        const r = await t.get(url, role).buffer(true).parse(binary as never);
        assert.equal(r.status, 200, `${role} GET ${url}`);
      }
      for (const role of ['signup', 'gateway'] as const) {
        const r = await t.get(url, role);
        assert.equal(r.status, 403, `${role} GET ${url}`);
      }
    }
    const meta = await t.get(`/v1/dossiers/${issued.id}`, 'counsel');
    responses.push(meta.text);
    assert.equal(meta.body.pdf_sha256, issued.pdf_sha256);
    assert.equal(meta.body.bundle_sha256, issued.bundle_sha256);
    assert.deepEqual(meta.body.ledger, { seq: issued.ledger.seq, event_id: issued.ledger.event_id });
    const pdfRes = await t.get(`/v1/dossiers/${issued.id}/pdf`, 'counsel').buffer(true).parse(binary as never);
    assert.equal(pdfRes.headers['content-type'], 'application/pdf');
    assert.equal(pdfRes.headers['x-content-sha256'], issued.pdf_sha256);
    // The detached signature is raw bytes (64, Ed25519), not an OpenPGP signature.
    const sigRes = await t.get(`/v1/dossiers/${issued.id}/signature`, 'counsel').buffer(true).parse(binary as never);
    assert.equal(sigRes.headers['content-type'], 'application/octet-stream');
    assert.match(String(sigRes.headers['content-disposition']), /filename="?dossier-[0-9a-f-]{36}\.pdf\.sig"?/);
    assert.equal((sigRes.body as Buffer).length, 64);
    const missing = await t.get('/v1/dossiers/00000000-0000-4000-8000-000000000000', 'counsel');
    assert.equal(missing.status, 404);
    assert.equal(problemOf(missing).code, 'dossier_not_found');
  });

  test('a `dossier.issued` ledger event carries the SHA-256 of the PDF served, the bundle hash and the cited entries', async () => {
    const rows = await sql<{ seq: string; event_type: string; canonical: Uint8Array }>`SELECT seq, event_type, canonical FROM ledger_entries WHERE seq = ${String(issued.ledger.seq)}`.execute(t.ctx.handle.db);
    const row = rows.rows[0];
    assert.ok(row, 'event at the reported seq');
    assert.equal(row.event_type, 'dossier.issued');
    const e = JSON.parse(Buffer.from(buf(row.canonical)).toString('utf8')) as Json;
    assert.equal(e.id, issued.ledger.event_id);
    assert.equal(e.type, 'dossier.issued');
    const d = e.data as Json;
    assert.equal(d.dossier_id, issued.id);
    assert.equal(d.pdf_sha256, sha256(pdf), 'the ledger holds the hash of the bytes GET /pdf serves');
    assert.equal(d.bundle_sha256, issued.bundle_sha256);
    // Its personal facts are sealed (docs/personal-data.md): the subject and recipients open from personal_openings.
    assert.equal(d.subject.pseudonym, t.built.services.pseudonyms.of(ev.subject));
    const opened = (await openedEvent(t.ctx, issued.ledger.seq)).data as Json;
    assert.equal(opened.subject, ev.subject);
    assert.equal(opened.requested_by, 'Jane Investigator (Trust & Safety)');
    assert.equal(d.case_ref, CASE_REF);
    assert.equal(d.pages, read.pages.length);
    assert.deepEqual([...d.verification_ids].sort(), ev.verifications.map((v) => v.id).sort());
    assert.ok(Array.isArray(d.cited_seqs) && d.cited_seqs.length >= ev.records.length + ev.keyVersions + ev.verifications.length + ev.eulas.length);
    assert.ok(d.checkpoint.size >= Math.max(...(d.cited_seqs as number[])));
    assert.ok(d.checkpoint.size < issued.ledger.seq, 'the checkpoint predates the dossier.issued event');
    const cp = (await sql<{ root_hash: Uint8Array; chain_hash: Uint8Array; body: string }>`SELECT root_hash, chain_hash, body FROM ledger_checkpoints WHERE size = ${String(d.checkpoint.size)}`.execute(t.ctx.handle.db)).rows[0];
    assert.ok(cp, 'a stored checkpoint at the size the event names');
    assert.equal(d.checkpoint.root_hash, Buffer.from(buf(cp.root_hash)).toString('hex'), 'the event names the Merkle root the proofs go to');
    assert.equal(d.checkpoint.chain_hash, Buffer.from(buf(cp.chain_hash)).toString('hex'));
    assert.equal(d.issued_by.api_key_id, t.keyIds.investigator);
  });

  test('GET /v1/subjects/:subject/dossiers lists it', async () => {
    const r = await t.get(`/v1/subjects/${ev.subject}/dossiers`, 'counsel');
    responses.push(r.text);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.subject, ev.subject);
    const found = (r.body.dossiers as Json[]).find((x) => x.id === issued.id);
    assert.ok(found, 'listed');
    assert.equal(found.pdf_sha256, issued.pdf_sha256);
    const other = await t.get('/v1/subjects/nobody-else/dossiers', 'counsel');
    assert.deepEqual(other.body.dossiers, []);
  });

  test('a subject without evidence gets 422 nothing_to_issue and nothing is recorded', async () => {
    const before = (await sql<{ n: string | number }>`SELECT count(*) AS n FROM ledger_entries`.execute(t.ctx.handle.db)).rows[0]!.n;
    const r = await t.post('/v1/dossiers', 'investigator').send({ subject: 'nobody-else', case_ref: 'C', requested_by: 'x', prepared_for: { name: 'y', firm: 'z' } });
    assert.equal(r.status, 422, r.text);
    assert.equal(problemOf(r).code, 'nothing_to_issue');
    const afterN = (await sql<{ n: string | number }>`SELECT count(*) AS n FROM ledger_entries`.execute(t.ctx.handle.db)).rows[0]!.n;
    assert.equal(Number(afterN), Number(before));
  });
});

describe('the PDF, read back with pdfjs-dist', () => {
  test('nine sections and the appendix, one bookmark each, in order; sections flow (no forced page breaks)', () => {
    assert.deepEqual(read.outline.map((o) => o.title), SECTION_TITLES);
    const pages = read.outline.map((o) => o.page);
    assert.deepEqual(pages, [...pages].sort((a, b) => a - b));
    assert.ok(new Set(pages).size < SECTION_TITLES.length, `some sections share a page: ${pages.join(', ')}`);
    for (const o of read.outline) assert.ok(read.pages[o.page]!.includes(o.title), `bookmark "${o.title}" points at page ${o.page + 1} which lacks it`);
    // Sub-bookmarks: the EULA versions, each record, each verification.
    assert.equal(read.outline[3]!.items.length, ev.records.length);
    assert.ok(ev.verifications.every((v, i) => read.outline[5]!.items.includes(`Verification ${i + 1}: ${v.suspect.name}`)));
  });

  test('the table of contents gives each section the page its bookmark points at, and links to it', () => {
    const first = norm(`${read.pages[0]!}\n${read.pages[1]!}`);
    assert.ok(first.includes('Contents'));
    const targets = read.links.filter((l) => l.page <= 1).map((l) => l.to);
    for (const o of read.outline) {
      const m = new RegExp(`${o.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[. ]*(\\d+)`).exec(first);
      assert.ok(m, `the contents lack "${o.title}" with a page number:\n${first}`);
      assert.equal(Number(m[1]), o.page + 1, `contents: "${o.title}" on page ${m[1]}, its bookmark on page ${o.page + 1}`);
      assert.ok(targets.includes(o.page), `no contents link to page ${o.page + 1} ("${o.title}")`);
    }
    // The verifications are listed under section 6.
    for (const [i, v] of ev.verifications.entries()) assert.ok(first.includes(`Verification ${i + 1}: ${v.suspect.name}`));
  });

  test('no mostly blank page: every page but the last is filled below its middle', () => {
    read.lowest.slice(0, -1).forEach((y, i) => assert.ok(y < read.sizes[i]![1] / 2, `page ${i + 1} ends ${Math.round(read.sizes[i]![1] - y)} pt from its top (of ${read.sizes[i]![1]})`));
  });

  test('every page carries its identifier: the case reference and its page number', () => {
    read.fullPages.forEach((p, i) => {
      assert.ok(norm(p).includes(`${CASE_REF}-${String(i + 1).padStart(4, '0')}`), `page ${i + 1} lacks ${CASE_REF}-${String(i + 1).padStart(4, '0')}`);
      assert.ok(norm(p).includes(`Page ${i + 1} of ${read.pages.length}`));
    });
  });

  test('exhibits are lettered A, B, … in attachment order; each attachment\'s description and the index say the same letter', () => {
    const names = [...attachments.keys()];
    assert.equal(read.descriptions.size, names.length);
    const index = norm(read.sections.get(1)!);
    // pdfjs lists the attachments by name (a PDF name tree is sorted): the letters come from the descriptions.
    const letters = names.map((name) => {
      const m = /^Exhibit ([A-Z]+): /.exec(read.descriptions.get(name) ?? '');
      assert.ok(m, `${name}: ${read.descriptions.get(name)}`);
      assert.ok(compact(index).includes(compact(`${m[1]}${name}`)), `the index lacks "${m[1]} ${name}"`);
      return m[1]!;
    });
    assert.deepEqual([...letters].sort(), names.map((_, i) => String.fromCharCode(65 + i)), 'letters A, B, … each once');
    assert.equal(letters[names.indexOf('evidence-bundle.json')], 'A', 'the bundle is the first attachment');
    // References in the text name the letter too.
    const eula = `eula-${ev.slug}-${ev.eulas[0]!.version}.txt`;
    assert.ok(compact(read.sections.get(3)!).includes(compact(`Exhibit ${letters[names.indexOf(eula)]} (${eula})`)));
  });

  test('US Letter by default (an en-US organisation)', () => {
    for (const sz of read.sizes) assert.deepEqual(sz, [612, 792]);
  });

  test('cover: case reference, subject, dossier id, key id, and every exhibit with the SHA-256 of the attached file', () => {
    const cover = read.sections.get(1)!;
    const c = compact(cover);
    assert.ok(read.pages[0]!.includes('Evidence dossier'));
    assert.match(norm(read.pages[0]!), new RegExp(`Case reference ${CASE_REF}`));
    assert.match(norm(read.pages[0]!), new RegExp(`Subject ${ev.subject}`));
    assert.ok(norm(read.pages[0]!).includes(`Dossier ${issued.id}`));
    assert.ok(norm(read.pages[0]!).includes(`Signing key id ${t.ctx.ledger.signingKey.keyId}`));
    assert.ok(norm(read.pages[0]!).includes('Prepared for Alex Counsel, Counsel & Partners LLP'));
    assert.ok(norm(read.pages[0]!).includes('Requested by Jane Investigator (Trust & Safety)'));
    assert.ok(norm(read.pages[0]!).includes(`Issued ${issued.issued_at.replace('T', ' ').replace('.000Z', ' UTC')}`));
    // Exhibits: bundle, its signature, the key, one text per EULA version acted on, one receipt per
    // record, the samples of each verification and of each plan.
    const names = [...attachments.keys()];
    const plans = new Set(ev.verifications.map((v) => v.planId).filter(Boolean)).size;
    assert.equal(names.length, 3 + ev.eulas.length + ev.records.length + ev.verifications.length + plans, names.join(', '));
    for (const n of ['evidence-bundle.json', 'evidence-bundle.json.sig', 'signing-key.pem', ...ev.eulas.map((e) => `eula-${ev.slug}-${e.version}.txt`)]) assert.ok(attachments.has(n), `exhibit ${n}`);
    for (const [name, bytes] of attachments) {
      const h = sha256(bytes);
      const at = c.indexOf(compact(name));
      assert.ok(at >= 0, `exhibit ${name} listed on the cover`);
      assert.ok(c.indexOf(h, at) > at, `exhibit ${name} listed with the SHA-256 of the attached bytes ${h}`);
    }
    for (const e of ev.eulas) assert.equal(attachments.get(`eula-${ev.slug}-${e.version}.txt`)!.toString('utf8'), e.text, 'the attached text is byte-exact');
    // pdftotext -layout gives every exhibit digest and the certificate fingerprint whole, for a mechanical comparison.
    const layout = run('pdftotext', ['-layout', '-f', '1', '-l', String(read.outline[1]!.page + 1), pdfPath, '-'], UTC);
    assert.equal(layout.status, 0, layout.stderr);
    for (const [name, bytes] of attachments) assert.ok(layout.stdout.includes(sha256(bytes)), `${name}: its SHA-256 is not whole in pdftotext -layout`);
    assert.ok(layout.stdout.includes(issued.pdf_certificate_sha256), 'the certificate fingerprint whole');
  });

  test('subject facts', () => {
    const s = norm(read.sections.get(2)!);
    const counts = { accepted: 0, declined: 0, withdrawn: 0 };
    for (const r of ev.records) counts[r.kind]++;
    assert.ok(s.includes(`Subject identifier ${ev.subject}`));
    const words = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
    assert.ok(s.includes(`Records of assent ${ev.records.length} (${words(counts.accepted, 'acceptance')}, ${words(counts.declined, 'decline')}, ${words(counts.withdrawn, 'withdrawal')})`), s);
    assert.ok(s.includes(`Agreements concerned ${ev.slug}`));
    assert.ok(s.includes(`Watermark key versions ${ev.keyVersions}`));
    assert.ok(s.includes(`Verifications included ${ev.verifications.length}`));
    const first = String(ev.records[0]!.response.server_time);
    assert.ok(s.includes(`First record ${first.replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC')}`), s);
  });

  test('the EULA texts verbatim, in order, with version, text hash, effective date and highlighted clauses', () => {
    const sec = read.sections.get(3)!;
    const c = compact(sec);
    const n = norm(sec);
    let at = 0;
    for (const e of ev.eulas) {
      const head = n.indexOf(`Model API Terms of Service, version ${e.version}`);
      assert.ok(head >= 0, `heading of version ${e.version}`);
      assert.ok(n.includes(`Version ${e.version} (${e.major ? 'major' : 'minor'} change`), `version row of ${e.version}`);
      assert.ok(n.includes(`Effective from ${e.effectiveAt.replace('T', ' ').replace('.000Z', ' UTC')}`), `effective date of ${e.version}`);
      assert.ok(c.includes(`TextSHA-256${e.sha256}`), `text hash of ${e.version}`);
      assert.match(c, new RegExp(`ExhibitExhibit[A-Z]+\\(eula-${ev.slug}-${e.version.replace(/\./g, '\\.')}\\.txt\\)`));
      // Every paragraph, byte for byte up to whitespace, in order, after the previous version's text.
      for (const para of e.text.split(/\n{2,}/).filter((p) => p.trim())) {
        const i = c.indexOf(compact(para), at);
        assert.ok(i >= 0, `version ${e.version}: paragraph "${para.slice(0, 60)}…" missing or out of order`);
        at = i + compact(para).length;
      }
      // And word by word: every word of the text, in order.
      const words = n.split(' ');
      let w = words.findIndex((x, i) => x === 'MODEL' && words[i + 6] === 'version' && words[i + 7] === e.version);
      assert.ok(w >= 0, `the text of version ${e.version} starts`);
      for (const word of e.text.split(/\s+/).filter(Boolean)) {
        // Lines break after hyphens ("fine-" / "tune"): allow a word to span two tokens.
        while (w < words.length && words[w] !== word && `${words[w]}${words[w + 1] ?? ''}` !== word) w++;
        assert.ok(w < words.length, `version ${e.version}: word "${word}" missing or out of order`);
        w += words[w] === word ? 1 : 2;
      }
      for (const h of e.highlights) {
        const hc = compact(h.text);
        const first = c.indexOf(hc);
        assert.ok(first >= 0 && c.indexOf(hc, first + 1) > first, `"${h.text.slice(0, 40)}…" is in the highlights table and in the text`);
        assert.ok(c.includes(compact(h.note)), 'the publisher\'s note');
      }
    }
    assert.ok(c.includes(compact(HIGHLIGHT_TRAINING)) && c.includes(compact(HIGHLIGHT_WATERMARK)));
    assert.ok(n.includes(`Version history of "${ev.slug}"`));
  });

  test('every acceptance, decline and withdrawal with its IP address, user agent, consent text and session id', () => {
    const c = compact(read.sections.get(4)!);
    const starts = ev.records.map((r) => {
      const i = c.indexOf(r.id);
      assert.ok(i >= 0, `record ${r.id} (${r.kind}) present`);
      return i;
    });
    assert.deepEqual(starts, [...starts].sort((a, b) => a - b), 'records in ledger order');
    ev.records.forEach((r, k) => {
      const slice = c.slice(starts[k]!, starts[k + 1] ?? c.length);
      const q = r.request;
      const title = { accepted: 'Acceptance', declined: 'Decline', withdrawn: 'Withdrawal' }[r.kind];
      assert.ok(c.slice(0, starts[k]).endsWith(`Record${title}`), `record ${k + 1} is labelled ${title}`);
      assert.ok(slice.includes(`IPaddress${compact(q.ip)}`), `record ${k + 1}: IP ${q.ip}`);
      assert.ok(slice.includes(`Useragent${compact(q.user_agent)}`), `record ${k + 1}: user agent`);
      assert.ok(slice.includes(compact(`session ${q.auth.session_id}`)), `record ${k + 1}: session id`);
      assert.ok(slice.includes(compact(`Agreement ${ev.slug} version ${r.version}`)), `record ${k + 1}: version`);
      if (r.kind === 'withdrawn') assert.ok(slice.includes(compact(`Reason given ${q.reason}`)));
      else {
        assert.ok(slice.includes(compact(`Consent text shown ${q.consent_text}`)), `record ${k + 1}: consent text`);
        assert.ok(slice.includes(compact(`Button text shown ${q.button_text}`)));
        assert.ok(slice.includes(compact(`Page ${q.page_url}`)));
        assert.ok(slice.includes(compact(`SHA-256 of text shown ${q.shown_text_sha256}`)));
        assert.ok(slice.includes(compact('Matches published text yes: identical SHA-256')));
      }
      assert.ok(slice.includes(compact(`Ledger entry ${r.response.ledger.seq} (event ${r.response.ledger.event_id})`)));
      assert.ok(slice.includes(compact(r.response.receipt.signature)), `record ${k + 1}: receipt signature`);
    });
  });

  test('key versions and commitments; never the key itself (text, raw bytes, inflated streams, attachments, responses)', async () => {
    const c = compact(read.sections.get(5)!);
    const listed = await t.get(`/v1/subjects/${ev.subject}/watermark-keys`, 'investigator');
    const keys = listed.body.keys as Json[];
    assert.equal(keys.length, ev.keyVersions);
    for (const k of keys) {
      assert.ok(c.includes(compact(`Commitment, key version ${k.version}`) + k.commitment), `commitment of key version ${k.version}`);
      assert.ok(c.includes(k.key_id), `key id of version ${k.version}`);
      assert.ok(c.includes(`${k.version}`));
    }
    // The keys themselves, unwrapped here and searched everywhere.
    const repo = t.built.services.watermarkKeys;
    const secrets: Buffer[] = [];
    for (let v = 1; v <= ev.keyVersions; v++) secrets.push(Buffer.from((await repo.unwrapped([ev.subject], v)).get(ev.subject)!.key));
    assert.equal(new Set(secrets.map((s) => s.toString('hex'))).size, ev.keyVersions);
    const bundle = JSON.parse(attachments.get('evidence-bundle.json')!.toString('utf8')) as Json;
    const haystacks: Array<[string, Buffer]> = [
      ['PDF text', Buffer.from(read.fullPages.join('\n'))],
      ['PDF text (no whitespace)', Buffer.from(compact(read.fullPages.join('')))],
      ['raw PDF bytes', pdf],
      ...inflatedStreams(pdf).map((s, i): [string, Buffer] => [`PDF stream ${i}`, s]),
      ...[...attachments].map(([n, b]): [string, Buffer] => [`attachment ${n}`, b]),
      ...(bundle.entries as Json[]).map((e): [string, Buffer] => [`bundle entry ${e.seq}`, Buffer.from(e.canonical, 'base64')]),
      ...(bundle.receipts as Json[]).map((r, i): [string, Buffer] => [`bundle receipt ${i}`, Buffer.from(r.signed_bytes, 'base64')]),
      ...responses.map((r, i): [string, Buffer] => [`response ${i}`, Buffer.from(r)]),
    ];
    assert.ok(haystacks.length > 20);
    for (const key of secrets) {
      const forms = [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), key.toString('base64url'), key.toString('base64').replace(/=+$/, '')];
      for (const [what, hay] of haystacks) {
        assert.equal(hay.indexOf(key), -1, `${what} holds a watermark key's raw bytes`);
        const text = hay.toString('latin1');
        for (const f of forms) assert.ok(!text.includes(f), `${what} holds a watermark key (${f.slice(0, 6)}…)`);
      }
    }
  });

  test("each verification's n, m, p-value, alpha, subjects screened, decision and pre-registration", () => {
    const sec = norm(read.sections.get(6)!);
    assert.ok(sec.includes('Method, in plain words') && sec.includes('Appendix: the formulas'));
    // The formulas, typeset in the appendix (not ASCII: ≥, Σ, subscripts, α).
    const appendix = norm(read.sections.get(10)!);
    for (const f of ['p₀ = 1 ∕ (k − 1)', 'P[X ≥ m]', 'Σ', 'p_corrected = min(1, N · p)', 'p_corrected < α', 'leaf = SHA-256( 0x00 ‖ bytes of the entry )']) assert.ok(appendix.includes(f), `the appendix lacks "${f}": ${appendix}`);
    const starts = ev.verifications.map((v, i) => {
      const at = sec.indexOf(`Verification ${i + 1}: ${v.suspect.name}`);
      assert.ok(at >= 0, `verification ${i + 1} heading`);
      return at;
    });
    ev.verifications.forEach((v, i) => {
      const s = sec.slice(starts[i]!, starts[i + 1] ?? sec.length);
      const r = v.result;
      assert.ok(compact(s).includes(`Verification${v.id}`), `verification ${i + 1}: id`);
      assert.ok(s.includes(`Case reference ${v.caseRef}`));
      assert.ok(s.includes(`Watermarked inputs n ${r.n} `), `verification ${i + 1}: n = ${r.n}`);
      assert.ok(s.includes(`Matches m ${r.m} (match rate `), `verification ${i + 1}: m = ${r.m}`);
      assert.ok(s.includes(`p-value ${expectedP(r.p_value, r.log10_p_value)} `), `verification ${i + 1}: p-value ${expectedP(r.p_value, r.log10_p_value)} in ${s}`);
      assert.ok(s.includes(`Corrected p-value N·p ${expectedP(r.p_adjusted, r.log10_p_adjusted)} `), `verification ${i + 1}: corrected p`);
      assert.ok(s.includes(`Significance level ${r.alpha === 1e-9 ? '1.00 × 10⁻⁹' : r.alpha === 1e-6 ? '1.00 × 10⁻⁶' : '?'} `), `verification ${i + 1}: alpha ${r.alpha}`);
      assert.ok(s.includes(`Subjects screened N ${r.subjects_screened} `), `verification ${i + 1}: N = ${r.subjects_screened}`);
      assert.ok(s.includes(`Number of classes k ${ev.k} `));
      assert.ok(s.includes(v.decision === 'detected' ? 'Decision DETECTED: ' : 'Decision NOT DETECTED: '), `verification ${i + 1}: decision ${v.decision}`);
      assert.ok(s.includes(v.preregistered ? 'Pre-registered yes: inputs committed in ledger entry' : 'Pre-registered no: '), `verification ${i + 1}: pre-registered ${v.preregistered}`);
      if (v.planId) assert.ok(compact(s).includes(v.planId));
      assert.match(s, /In plain odds (about 1 in [0-9,]+|about 1 in 10[⁰¹²³⁴⁵⁶⁷⁸⁹]+|consistent with chance):/, `verification ${i + 1}: plain odds`);
    });
    // The scenario covers both decisions, both pre-registration states and a Bonferroni correction.
    assert.deepEqual(new Set(ev.verifications.map((v) => v.decision)), new Set(['detected', 'not_detected']));
    assert.deepEqual(new Set(ev.verifications.map((v) => v.preregistered)), new Set([true, false]));
    assert.ok(ev.verifications.some((v) => v.result.subjects_screened > 1));
  });

  test('the summary in plain words: each suspect named once, pre-registration and not-detected results said, no "(s)"', () => {
    const all = read.pages.join('\n');
    assert.ok(!/\(s\)/.test(all), `a "(s)" plural: ${/.{40}\(s\).{20}/.exec(all)?.[0]}`);
    const summary = norm(read.sections.get(1)!).split('Exhibit index')[0]!;
    for (const name of new Set(ev.verifications.map((v) => v.suspect.name))) {
      assert.equal(summary.split(`${name} version`).length - 1, 1, `suspect ${name} named once in the summary: ${summary}`);
    }
    if (ev.verifications.some((v) => v.preregistered)) assert.ok(summary.includes('a pre-registered test'));
    if (ev.verifications.some((v) => v.decision === 'not_detected')) assert.ok(summary.includes('did not detect the subject\'s watermark'));
    assert.match(summary, /about 1 in 10[⁰¹²³⁴⁵⁶⁷⁸⁹]+/);
  });

  test('ledger integrity: every cited entry with its hashes, the signed checkpoint, the verification at issue', async () => {
    const sec = read.sections.get(7)!;
    const c = compact(sec);
    const n = norm(sec);
    const ev2 = await sql<{ canonical: Uint8Array }>`SELECT canonical FROM ledger_entries WHERE seq = ${String(issued.ledger.seq)}`.execute(t.ctx.handle.db);
    const d = (JSON.parse(Buffer.from(buf(ev2.rows[0]!.canonical)).toString('utf8')) as Json).data as Json;
    const rows = await sql<{ seq: string; event_type: string; leaf_hash: Uint8Array; chain_hash: Uint8Array }>`SELECT seq, event_type, leaf_hash, chain_hash FROM ledger_entries ORDER BY seq`.execute(t.ctx.handle.db);
    const bySeq = new Map(rows.rows.map((r) => [Number(r.seq), r]));
    for (const seq of d.cited_seqs as number[]) {
      const r = bySeq.get(seq)!;
      const hashes = Buffer.from(buf(r.leaf_hash)).toString('hex') + Buffer.from(buf(r.chain_hash)).toString('hex');
      assert.ok(c.includes(`${seq}${r.event_type}`), `cited entry ${seq} (${r.event_type})`);
      assert.ok(c.includes(hashes), `leaf and chain hash of entry ${seq}`);
    }
    assert.ok(n.includes(`Size (entries) ${d.checkpoint.size} `), 'checkpoint size');
    assert.ok(c.includes(compact(`Chain hash at that size ${d.checkpoint.chain_hash}`)));
    assert.ok(n.includes('Result intact: every entry and checkpoint verified'));
    const bundle = JSON.parse(attachments.get('evidence-bundle.json')!.toString('utf8')) as Json;
    assert.deepEqual((bundle.entries as Json[]).map((e) => e.seq), d.cited_seqs);
    // The signed note, line by line as signed (its root, in base64 and hex; its signature line).
    const note = Buffer.from(bundle.checkpoint.note, 'base64').toString('utf8');
    const lines = note.trimEnd().split('\n');
    assert.equal(lines[5], '', 'a blank line before the signature line');
    for (const line of lines) assert.ok(c.includes(compact(line)), `the note's line "${line}"`);
    const root = Buffer.from(lines[2]!, 'base64').toString('hex');
    assert.ok(c.includes(compact(`Merkle root at that size (hex) ${root}`)), 'the root in hex');
    assert.ok(c.includes(compact(`SHA-256 of the signed note ${sha256(Buffer.from(note))}`)));
    // Each cited entry's proof length, and the proofs' total.
    const paths = (bundle.entries as Json[]).map((e) => (e.inclusion.audit_path as string[]).length);
    assert.ok(n.includes(`Inclusion proofs ${paths.length} entries, ${paths.reduce((a, b) => a + b, 0)} hashes in all (at most ${Math.max(...paths)} for one entry)`), n);
    assert.ok(n.includes('Evidence bundle format assentmark.evidence-bundle/v2'));
    // No TSA in this app: the page says plainly that no outside timestamp exists.
    const flat = (x: string) => compact(x).replace(/-/g, ''); // pdftotext keeps a hyphen at a line break
    assert.ok(flat(sec).includes(flat(`Time from outside ${NO_TIMESTAMP_STATEMENT}`)), n);
    assert.ok(!n.includes('Time-stamping authority'));
    assert.ok(flat(read.sections.get(1)!).includes(flat('No outside timestamp exists: the time of the checkpoint is the issuing service\'s own statement.')), 'the summary says so too');
  });

  test('unconfigured names: DRAFT on every page, the missing settings named, no blank to fill in', () => {
    read.drafts.forEach((d, i) => assert.ok(d, `page ${i + 1} is not marked DRAFT`));
    assert.equal(read.drafts.length, read.pages.length);
    const cover = norm(read.pages[0]!);
    for (const env of ['ASSENTMARK_ORGANISATION', 'ASSENTMARK_KEYS_URL', 'ASSENTMARK_CERTIFIER_NAME', 'ASSENTMARK_CERTIFIER_TITLE', 'ASSENTMARK_JURISDICTION']) assert.ok(cover.includes(env), `the cover does not name ${env}`);
    assert.ok(cover.includes('DRAFT, NOT FOR FILING'));
    const n = norm(read.sections.get(8)!);
    assert.ok(n.includes('I, [DRAFT: ASSENTMARK_CERTIFIER_NAME not configured], declare'), n);
    assert.ok(n.includes('I am [DRAFT: ASSENTMARK_CERTIFIER_TITLE not configured] of [DRAFT: ASSENTMARK_ORGANISATION not configured]'));
    assert.ok(n.includes('under the laws of [DRAFT: ASSENTMARK_JURISDICTION not configured]'));
    assert.ok(!read.pages.join('\n').includes('[blank:'));
    assert.ok(n.includes(`dossier ${issued.id}`));
    // Only what is completed by hand at signing is a line.
    for (const row of ['Signature', 'Date', 'Place']) assert.match(n, new RegExp(`${row} _{20,}`));
  });

  test('how to verify: the commands an expert runs', () => {
    const sec = read.sections.get(9)!;
    const n = norm(sec);
    for (const cmd of [
      'pdfsig dossier.pdf',
      'pdfdetach -saveall dossier.pdf',
      'sha256sum',
      'openssl pkeyutl -verify -pubin -inkey signing-key.pem -rawin',
      '-sigfile dossier.pdf.sig',
      '-sigfile evidence-bundle.json.sig',
      '-sigfile checkpoint.sig',
      'Signature Verified Successfully',
      'Signature is Valid.',
      'Total document signed',
      "sed '/^$/,$d' checkpoint.note > checkpoint.txt",
      'openssl ts -verify -digest',
      'python3 check_proofs.py evidence-bundle.json',
    ]) assert.ok(n.includes(cmd), `how-to lacks "${cmd}"`);
    assert.ok(compact(sec).includes('(formatassentmark.evidence-bundle/v2)'), 'the bundle format');
    assert.ok(compact(sec).includes(t.ctx.ledger.signingKey.keyId));
    // The key hash the expert's two commands must print, and the statement that no timestamp exists.
    const bundle = JSON.parse(attachments.get('evidence-bundle.json')!.toString('utf8')) as Json;
    const sigline = Buffer.from(bundle.checkpoint.note, 'base64').toString('utf8').trimEnd().split('\n').at(-1)!;
    assert.ok(n.includes(`the same key hash twice (${Buffer.from(sigline.split(' ')[2]!, 'base64').subarray(0, 4).toString('hex')})`), n);
    assert.ok(compact(sec).replace(/-/g, '').includes(compact(NO_TIMESTAMP_STATEMENT).replace(/-/g, '')));
  });

  test('metadata (pdfinfo), fonts all embedded (pdffonts), PDF/A-3b identification (XMP)', () => {
    const info = run('pdfinfo', ['-isodates', pdfPath], UTC);
    assert.equal(info.status, 0, info.stderr);
    const field = (k: string) => new RegExp(`^${k}:\\s+(.*)$`, 'm').exec(info.stdout)?.[1]?.trim();
    assert.equal(field('Title'), `Evidence dossier ${CASE_REF}: subject ${ev.subject}`);
    assert.equal(field('Author'), 'assentmark evidence service');
    assert.equal(field('CreationDate'), issued.issued_at.replace('.000Z', 'Z'));
    assert.equal(field('Pages'), String(issued.pages));
    const fonts = run('pdffonts', [pdfPath], UTC);
    assert.equal(fonts.status, 0, fonts.stderr);
    const rows = fonts.stdout.split('\n').slice(2).filter((l) => l.trim());
    assert.ok(rows.length >= 3, fonts.stdout);
    for (const r of rows) {
      // name type [type] encoding emb sub uni object ID: "emb" is the 5th column from the end.
      const cols = r.trim().split(/\s+/);
      assert.equal(cols[cols.length - 5], 'yes', `font not embedded: ${r}`);
    }
    const meta = run('pdfinfo', ['-meta', pdfPath], UTC);
    assert.match(meta.stdout, /<pdfaid:part>3<\/pdfaid:part>/);
    assert.match(meta.stdout, /<pdfaid:conformance>B<\/pdfaid:conformance>/);
    assert.ok(meta.stdout.includes(`Evidence dossier ${CASE_REF}: subject ${ev.subject}`));
  });
});

describe('certification with names configured', () => {
  let named: BuiltApp;
  let text: ReadPdf;
  let namedPdf: Buffer;
  before(async () => {
    const ctx = { ...t.ctx, config: { ...t.ctx.config, organisation: 'Example AI Ltd', certifierName: 'Dana K. Scully', certifierTitle: 'Head of Trust & Safety', jurisdiction: 'England and Wales', keysUrl: KEYS_URL, paperSize: 'A4' as const } };
    named = await buildApp(ctx, pino({ level: 'silent' }));
    const res = await request(named.app).post('/v1/dossiers').set('Authorization', `Bearer ${t.tokens.investigator}`).send({ subject: ev.subject, case_ref: `${CASE_REF}-B`, requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
    assert.equal(res.status, 201, res.text);
    namedPdf = await getPdf({ get: (u: string) => request(named.app).get(u).set('Authorization', `Bearer ${t.tokens.counsel}`) }, res.body.id);
    text = await readPdf(namedPdf);
  });
  after(async () => {
    await named?.close();
  });

  test('names, title, organisation, jurisdiction and the keys URL are printed; no DRAFT mark; A4 as configured', () => {
    const n = norm(text.sections.get(8)!);
    assert.ok(n.includes('I, Dana K. Scully, declare'), n);
    assert.ok(n.includes('I am Head of Trust & Safety of Example AI Ltd, and by reason'));
    assert.ok(n.includes('under the laws of England and Wales that'));
    assert.ok(n.includes('Name Dana K. Scully'));
    assert.ok(n.includes('Title Head of Trust & Safety'));
    const all = text.fullPages.join('\n');
    assert.ok(!all.includes('DRAFT') && !text.drafts.some(Boolean), 'a configured dossier is not a draft');
    assert.ok(!all.includes('[blank:'));
    assert.ok(norm(text.pages[0]!).includes('Issued by Example AI Ltd'));
    assert.ok(compact(text.pages[0]!).includes(compact(`Signing keys published at ${KEYS_URL}`)), 'the keys URL beside the key id');
    assert.ok(compact(text.sections.get(9)!).includes(compact(KEYS_URL)));
    for (const sz of text.sizes) assert.deepEqual(sz, [595, 842]);
    const p = path.join(work, 'named.pdf');
    writeFileSync(p, namedPdf);
    assert.match(run('pdfinfo', [p], UTC).stdout, /^Author:\s+Example AI Ltd$/m);
  });
});
