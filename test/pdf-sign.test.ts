/**
 * End-to-end tests of the PDF machinery: render a multi-page PDF/A-3b sample, sign it,
 * and check it with poppler (pdfsig, pdfdetach, pdftotext, pdffonts, pdfinfo), OpenSSL,
 * pdfjs-dist and our own verifier. Poppler-utils, openssl and xxd are required: a missing
 * tool fails the test (CI installs them), it is not skipped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSigningIdentity, loadSigningIdentity, saveSigningIdentity, EKU_DOCUMENT_SIGNING, EKU_EMAIL_PROTECTION, type SigningIdentity } from '../src/pdf/certificate.js';
import { createDossierPdf } from '../src/pdf/document.js';
import { signPdf } from '../src/pdf/sign.js';
import { extractAttachments, verifyPdfSignature } from '../src/pdf/verify.js';
import { findPackageRoot } from '../src/pdf/fonts.js';
import { SAMPLE_ATTACHMENT, SAMPLE_ISSUED_AT, longParagraph, renderSample } from './fixtures/pdf/sample.js';
import { flip, pdfsigValid, run } from './helpers/tools.js';

const here = dirname(fileURLToPath(import.meta.url));

/** The fixtures directory in the source tree (the .sh is not copied by tsc). */
function fixtureDir(): string {
  const candidates = [resolve(here, 'fixtures/pdf')];
  const root = findPackageRoot(here);
  if (root) candidates.push(join(root, 'test/fixtures/pdf'));
  candidates.push(resolve(process.cwd(), 'test/fixtures/pdf'));
  for (const c of candidates) {
    try {
      readFileSync(join(c, 'verify-with-openssl.sh'));
      return c;
    } catch {
      // next
    }
  }
  throw new Error(`test/fixtures/pdf/verify-with-openssl.sh not found (looked in ${candidates.join(', ')})`);
}

let work: string;
let identity: SigningIdentity;
let unsigned: Buffer;
let signed: Buffer;
let paragraph: string;
let signedPath: string;
let certPath: string;
let byteRange: [number, number, number, number];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'assentmark-pdf-'));
  identity = await generateSigningIdentity({ organization: 'Assentmark Test Ltd', notBefore: new Date('2024-01-01T00:00:00Z') });
  const r = await renderSample({ sections: 3 });
  unsigned = r.pdf;
  paragraph = r.paragraph;
  signed = await signPdf(unsigned, identity);
  signedPath = join(work, 'signed.pdf');
  certPath = join(work, 'cert.pem');
  writeFileSync(signedPath, signed);
  writeFileSync(certPath, identity.certPem);
  const v = verifyPdfSignature(signed);
  assert.ok(v.byteRange);
  byteRange = v.byteRange;
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('pdf: rendering', () => {
  test('unsigned output is byte-identical across renders (cold and warm font cache)', async () => {
    const again = await renderSample({ sections: 3 });
    assert.equal(again.pdf.length, unsigned.length);
    assert.ok(again.pdf.equals(unsigned), 'second render differs');
    const third = await renderSample({ sections: 3 });
    assert.ok(third.pdf.equals(unsigned), 'third render differs');
  });

  test('different documentId gives a different trailer /ID', async () => {
    const other = await renderSample({ sections: 3, overrides: { documentId: 'DS-OTHER' } });
    assert.ok(!other.pdf.equals(unsigned));
    const id = (b: Buffer): string => /\/ID \[<([0-9a-f]{32})>/.exec(b.toString('latin1'))?.[1] ?? '';
    assert.notEqual(id(other.pdf), id(unsigned));
    assert.match(id(unsigned), /^[0-9a-f]{32}$/);
  });

  test('has 3+ pages, "Page X of Y" footers and pinned dates', () => {
    const info = run('pdfinfo', [signedPath]);
    assert.equal(info.status, 0, info.stderr);
    const pages = Number(/^Pages:\s+(\d+)/m.exec(info.stdout)?.[1]);
    assert.ok(pages >= 3, `only ${pages} pages`);
    assert.match(info.stdout, /^PDF version:\s+1\.7$/m);
    assert.match(info.stdout, /^Title:\s+Evidence dossier <DS-2025-0042> & "Acme" model$/m);
    assert.match(info.stdout, /^Form:\s+AcroForm$/m);
    const txt = run('pdftotext', [signedPath, '-']).stdout;
    for (let p = 1; p <= pages; p++) assert.ok(txt.includes(`Page ${p} of ${pages}`), `footer of page ${p} missing`);
    const dates = /\/CreationDate \((D:[0-9Z]+)\)/.exec(signed.toString('latin1'));
    assert.equal(dates?.[1], 'D:20250314092653Z');
  });

  test('the long paragraph flows across pages with no lost words', () => {
    const pages = Number(/^Pages:\s+(\d+)/m.exec(run('pdfinfo', [signedPath]).stdout)?.[1]);
    const txt = run('pdftotext', ['-enc', 'UTF-8', signedPath, '-']).stdout;
    const tokens = txt.split(/\s+/).filter(Boolean);
    const words = paragraph.split(/\s+/);
    // Every word, in order (footers/page breaks may be interleaved).
    let j = 0;
    for (const t of tokens) if (j < words.length && t === words[j]) j++;
    assert.equal(j, words.length, `paragraph text lost after word ${j}: "${words.slice(j, j + 5).join(' ')}"`);
    // And it really spans more than one page.
    const firstPage = run('pdftotext', ['-f', '1', '-l', '1', signedPath, '-']).stdout;
    const lastWord = words[words.length - 1] ?? '';
    assert.ok(firstPage.includes(words[0] ?? '') && !firstPage.includes(lastWord), 'paragraph did not flow to a later page');
    assert.ok(pages >= 3);
  });

  test('table rows are never split across pages', () => {
    const pages = Number(/^Pages:\s+(\d+)/m.exec(run('pdfinfo', [signedPath]).stdout)?.[1]);
    const pageOf = new Map<string, number>();
    for (let p = 1; p <= pages; p++) {
      const t = run('pdftotext', ['-f', String(p), '-l', String(p), signedPath, '-']).stdout;
      for (const m of t.matchAll(/\bR(\d+)(start|end)\b/g)) pageOf.set(`${m[1]}${m[2]}`, p);
    }
    let rows = 0;
    for (let i = 0; i < 60; i++) {
      if (i % 7 !== 3) continue;
      rows++;
      const s = pageOf.get(`${i}start`);
      const e = pageOf.get(`${i}end`);
      assert.ok(s !== undefined && e !== undefined, `row ${i} text missing`);
      assert.equal(s, e, `row ${i} split across pages ${s} and ${e}`);
    }
    assert.ok(rows >= 8);
  });

  test('a table row taller than a page is rendered in full (stacked fallback)', async () => {
    const d = createDossierPdf({ issuedAt: SAMPLE_ISSUED_AT, title: 'Oversize', author: 'test', signature: false });
    const huge = longParagraph(2500, 7);
    d.table([{ header: 'A' }, { header: 'B', weight: 3 }], [['small', 'x'], ['big', huge], ['after', 'y']]);
    const pdf = await d.finish();
    const p = join(work, 'oversize.pdf');
    writeFileSync(p, pdf);
    const tokens = run('pdftotext', [p, '-']).stdout.split(/\s+/);
    const words = huge.split(/\s+/);
    let j = 0;
    for (const t of tokens) if (j < words.length && t === words[j]) j++;
    assert.equal(j, words.length, 'oversized row lost text');
    assert.ok(tokens.includes('after'));
    assert.doesNotMatch(pdf.toString('latin1'), /\/ByteRange/, 'signature: false must not add a placeholder');
  });

  test('all fonts are embedded TrueType subsets (no standard-14 fonts)', () => {
    const r = run('pdffonts', [signedPath]);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.split('\n').slice(2).filter((l) => l.trim());
    assert.ok(rows.length >= 3, r.stdout);
    for (const row of rows) {
      assert.match(row, /DejaVu/, row);
      assert.match(row, /CID TrueType\s+Identity-H\s+yes\s+yes\s+yes/, `not embedded: ${row}`);
    }
  });

  test('PDF/A-3b identification and escaped XMP metadata', () => {
    const r = run('pdfinfo', ['-meta', signedPath]);
    assert.equal(r.status, 0, r.stderr);
    const xmp = r.stdout;
    assert.match(xmp, /<pdfaid:part>3<\/pdfaid:part>/);
    assert.match(xmp, /<pdfaid:conformance>B<\/pdfaid:conformance>/);
    assert.ok(xmp.includes('Evidence dossier &lt;DS-2025-0042&gt; &amp; &quot;Acme&quot; model'), 'title not XML-escaped');
    assert.match(xmp, /<xmp:CreateDate>2025-03-14T09:26:53Z<\/xmp:CreateDate>/);
    assert.match(xmp, /<xmp:ModifyDate>2025-03-14T09:26:53Z<\/xmp:ModifyDate>/);
    const s = signed.toString('latin1');
    assert.match(s, /\/OutputIntents \[\d+ 0 R\]/);
    assert.match(s, /\/S \/GTS_PDFA1/);
    assert.match(s, /^%PDF-1\.7\n%\xff\xff\xff\xff\n/);
  });

  test('bookmarks: one per section, nested, pointing at the heading pages', async () => {
    const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
    const doc = await pdfjs.getDocument({ data: new Uint8Array(signed), useSystemFonts: false, isEvalSupported: false, verbosity: 0 }).promise;
    try {
      const outline = (await doc.getOutline()) as Array<{ title: string; dest: unknown; items: Array<{ title: string }> }>;
      assert.deepEqual(
        outline.map((o) => o.title),
        ['1. Summary', '2. Events', '3. Section 3'],
      );
      assert.deepEqual(outline[0]?.items.map((i) => i.title), ['1.1 Hashes']);
      for (const o of outline) {
        const dest = o.dest as unknown[];
        assert.equal(dest[1] && (dest[1] as { name: string }).name, 'XYZ');
        const pageIndex = await doc.getPageIndex(dest[0] as never);
        const text = run('pdftotext', ['-f', String(pageIndex + 1), '-l', String(pageIndex + 1), signedPath, '-']).stdout;
        assert.ok(text.includes(o.title), `bookmark "${o.title}" points at page ${pageIndex + 1} which lacks it`);
      }
      const annots = (await (await doc.getPage(1)).getAnnotations()) as Array<{ fieldType?: string; annotationFlags?: number; rect?: number[] }>;
      const sig = annots.find((a) => a.fieldType === 'Sig');
      assert.ok(sig, 'no signature widget on page 1');
      assert.equal(sig.annotationFlags, 132);
      assert.deepEqual(sig.rect, [0, 0, 0, 0]);
    } finally {
      await doc.destroy();
    }
  });

  test('text the font cannot show is replaced, not dropped to .notdef', async () => {
    const d = createDossierPdf({ issuedAt: SAMPLE_ISSUED_AT, title: 'Glyphs', author: 'test', signature: false });
    assert.equal(d.safeText('a\u0000b\tc\r\nd'), 'ab    c\nd');
    assert.equal(d.safeText('Zürich € “x”'), 'Zürich € “x”');
    assert.equal(d.safeText('pile \u{1F4A9} cjk \u4E2D \u{1F600}'), 'pile \ufffd cjk \ufffd \u{1F600}');
    await d.finish();
  });
});

describe('pdf: signature', () => {
  test('pdfsig reports a valid signature over the total document', () => {
    const r = run('pdfsig', ['-nocert', signedPath]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(pdfsigValid(r.stdout), r.stdout);
    assert.match(r.stdout, /- Total document signed/);
    assert.match(r.stdout, /- Signature Type: ETSI\.CAdES\.detached/);
    assert.match(r.stdout, /- Signing Hash Algorithm: SHA-256/);
    assert.match(r.stdout, /- Signer Certificate Common Name: assentmark evidence signing/);
    assert.match(r.stdout, /- Signing Time: Mar 14 2025 09:26:53/);
    // With certificate validation the self-signed certificate is (expectedly) unknown.
    const full = run('pdfsig', [signedPath]);
    assert.ok(pdfsigValid(full.stdout), full.stdout);
    assert.match(full.stdout, /Certificate Validation: Certificate issuer is unknown\./);
  });

  test('our verifier agrees, reports the certificate and honours pins', () => {
    const v = verifyPdfSignature(signed, { expectedFingerprintSha256: identity.fingerprintSha256, expectedCertificatePem: identity.certPem });
    assert.equal(v.ok, true, v.reason);
    assert.equal(v.coversWholeFile, true);
    assert.equal(v.subFilter, 'ETSI.CAdES.detached');
    assert.equal(v.certificateFingerprintSha256, identity.fingerprintSha256);
    assert.equal(v.signerSubject, 'CN=assentmark evidence signing, O=Assentmark Test Ltd');
    assert.equal(v.signingTime?.toISOString(), SAMPLE_ISSUED_AT.toISOString());
    assert.equal(v.signingTimeSource, 'pdf-M');
    assert.ok(new X509Certificate(v.certificatePem ?? '').raw.equals(new X509Certificate(identity.certPem).raw));
    const [a0, a, b, c] = byteRange;
    assert.equal(a0, 0);
    assert.equal(b + c, signed.length);
    assert.equal(signed[a], 0x3c);
    assert.equal(signed[b - 1], 0x3e);
    // Fingerprint pin with colons / upper case is accepted.
    const colon = (identity.fingerprintSha256.toUpperCase().match(/../g) ?? []).join(':');
    assert.equal(verifyPdfSignature(signed, { expectedFingerprintSha256: colon }).ok, true);
    // Wrong pins.
    const w1 = verifyPdfSignature(signed, { expectedFingerprintSha256: '00'.repeat(32) });
    assert.equal(w1.ok, false);
    assert.match(w1.reason ?? '', /fingerprint/);
  });

  test('a different certificate is rejected by the PEM pin', async () => {
    const other = await generateSigningIdentity({ notBefore: new Date('2024-01-01T00:00:00Z') });
    const v = verifyPdfSignature(signed, { expectedCertificatePem: other.certPem });
    assert.equal(v.ok, false);
    assert.match(v.reason ?? '', /not the expected certificate/);
  });

  test('flipping one byte anywhere in the signed range breaks pdfsig and verifyPdfSignature', () => {
    const s = signed.toString('latin1');
    const [, a, b] = byteRange;
    const efObj = s.indexOf('/Type /EmbeddedFile');
    const attachmentStream = s.indexOf('stream\n', efObj) + 'stream\n'.length + 40;
    const mDate = s.indexOf('/M (D:2025', b) + '/M (D:2025'.length;
    const xrefDigit = s.lastIndexOf('\nxref\n') + 40;
    let middle = Math.floor(signed.length / 2);
    if (middle >= a && middle < b) middle = b + 100;
    const positions: Record<string, number> = {
      'first byte': 0,
      'header version': 7,
      middle,
      'inside the attachment stream': attachmentStream,
      'signature /M date': mDate,
      'ByteRange value': s.indexOf('/ByteRange [0 ') + '/ByteRange [0 '.length,
      'xref table': xrefDigit,
      'last byte': signed.length - 1,
    };
    assert.ok(efObj > 0 && attachmentStream < a, 'attachment stream should precede the signature');
    for (const [what, pos] of Object.entries(positions)) {
      assert.ok(pos >= 0 && pos < signed.length && (pos < a || pos >= b), `${what}: ${pos} not in the signed range`);
      const bad = flip(Buffer.from(signed), pos);
      const v = verifyPdfSignature(bad);
      assert.equal(v.ok, false, `verifyPdfSignature accepted a flip at ${what} (${pos})`);
      const p = join(work, `tampered-${pos}.pdf`);
      writeFileSync(p, bad);
      const r = run('pdfsig', ['-nocert', p]);
      assert.ok(!pdfsigValid(r.stdout), `pdfsig accepted a flip at ${what} (${pos}):\n${r.stdout}`);
    }
  });

  test('tampering with the unsigned /Contents gap or appending data is detected', () => {
    const [, a, b] = byteRange;
    // A nibble inside the DER signature (not just padding).
    const inSig = flip(Buffer.from(signed), a + 1 + 200);
    assert.equal(verifyPdfSignature(inSig).ok, false);
    // The zero padding after the DER is not signed by design; our verifier still rejects it.
    const inPad = Buffer.from(signed);
    inPad[b - 3] = 0x31;
    const vp = verifyPdfSignature(inPad);
    assert.equal(vp.ok, false);
    assert.match(vp.reason ?? '', /non-zero bytes after the CMS/);
    // Incremental-update style append: not the whole file any more.
    const appended = Buffer.concat([signed, Buffer.from('\n1 0 obj\n<< >>\nendobj\n')]);
    const va = verifyPdfSignature(appended);
    assert.equal(va.ok, false);
    assert.equal(va.coversWholeFile, false);
    const p = join(work, 'appended.pdf');
    writeFileSync(p, appended);
    const r = run('pdfsig', ['-nocert', p]);
    assert.doesNotMatch(r.stdout, /- Total document signed/);
  });

  test('verifyPdfSignature never throws on hostile input', () => {
    const s = signed.toString('latin1');
    const cases: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)],
      ['garbage', Buffer.from('%PDF-1.7\n/ByteRange [0 99999999999 5 5]\n')],
      ['unsigned placeholder', unsigned],
      ['truncated', signed.subarray(0, signed.length - 10)],
      ['no signature', Buffer.from('%PDF-1.7\n%%EOF\n')],
      ['huge numbers', Buffer.from('/ByteRange [0 999999999999999 999999999999999 999999999999999]')],
      ['negative-looking', Buffer.from('/ByteRange [0 -1 2 3]')],
      ['gap not hex', Buffer.from(s.replace(/\/Contents <3/, '/Contents <Z'), 'latin1')],
      ['random', Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251))],
    ];
    for (const [name, buf] of cases) {
      const v = verifyPdfSignature(buf);
      assert.equal(v.ok, false, name);
      assert.equal(typeof v.reason, 'string', name);
    }
    assert.equal(verifyPdfSignature('x' as unknown as Buffer).ok, false);
  });

  test('adbe.pkcs7.detached variant carries a CMS signing-time and validates too', async () => {
    const r = await renderSample({ sections: 1, overrides: { signature: { subFilter: 'adbe.pkcs7.detached', reason: 'Evidence dossier', location: 'Zürich' } } });
    const s = await signPdf(r.pdf, identity);
    const v = verifyPdfSignature(s);
    assert.equal(v.ok, true, v.reason);
    assert.equal(v.subFilter, 'adbe.pkcs7.detached');
    assert.equal(v.signingTimeSource, 'cms');
    assert.equal(v.signingTime?.toISOString(), SAMPLE_ISSUED_AT.toISOString());
    const p = join(work, 'pkcs7.pdf');
    writeFileSync(p, s);
    const out = run('pdfsig', ['-nocert', p]).stdout;
    assert.ok(pdfsigValid(out), out);
    assert.match(out, /- Signature Type: adbe\.pkcs7\.detached/);
    assert.match(out, /- Total document signed/);
  });

  test('signPdf refuses documents without a placeholder, signed twice, or a mismatched key', async () => {
    const plain = await renderSample({ sections: 1, overrides: { signature: false } });
    await assert.rejects(signPdf(plain.pdf, identity), /no signature placeholder/);
    await assert.rejects(signPdf(signed, identity), /no signature placeholder/);
    const other = await generateSigningIdentity({ notBefore: new Date('2024-01-01T00:00:00Z') });
    await assert.rejects(signPdf(unsigned, { certPem: identity.certPem, keyPem: other.keyPem }), /does not match/);
  });

  test('a certificate not yet valid at the signing time is rejected', async () => {
    const late = await generateSigningIdentity({ notBefore: new Date('2030-01-01T00:00:00Z') });
    const s = await signPdf(unsigned, late);
    const v = verifyPdfSignature(s);
    assert.equal(v.ok, false);
    assert.match(v.reason ?? '', /not valid at the signing time/);
  });
});

describe('pdf: attachments', () => {
  test('pdfdetach lists and extracts the attachment byte-identically', () => {
    const list = run('pdfdetach', ['-list', signedPath]);
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /1 embedded files/);
    assert.match(list.stdout, /1: ledger-export\.json/);
    const out = join(work, 'extracted.json');
    const r = run('pdfdetach', ['-save', '1', '-o', out, signedPath]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(readFileSync(out).equals(SAMPLE_ATTACHMENT), 'extracted attachment differs');
  });

  test('extractAttachments (pdfjs-dist) returns the same bytes', async () => {
    const m = await extractAttachments(signed);
    assert.deepEqual([...m.keys()], ['ledger-export.json']);
    assert.ok(m.get('ledger-export.json')?.equals(SAMPLE_ATTACHMENT));
  });

  test('PDF/A-3 file specification: AFRelationship, UF, MIME subtype, ModDate, binary MD5 CheckSum', () => {
    const s = signed.toString('latin1');
    assert.match(s, /\/Type \/Filespec\n\/F \(ledger-export\.json\)\n\/UF \(ledger-export\.json\)\n\/EF << \/F \d+ 0 R \/UF \d+ 0 R >>|\/AFRelationship \/Data/);
    assert.match(s, /\/AFRelationship \/Data/);
    assert.match(s, /\/Subtype \/application#2Fjson/);
    assert.match(s, /\/ModDate \(D:20250314092653Z\)/);
    assert.match(s, /\/CheckSum <[0-9a-f]{32}>/);
    assert.match(s, /\/AF \[\d+ 0 R\]/);
  });

  test('hidden attachments are associated files but not in the EmbeddedFiles tree; bad names are refused', async () => {
    const d = createDossierPdf({ issuedAt: SAMPLE_ISSUED_AT, title: 'Hidden', author: 'test', signature: false });
    d.paragraph('x');
    d.attach(Buffer.from('visible'), { name: 'a.txt', mimeType: 'text/plain', relationship: 'Source' });
    d.attach(Buffer.from('hidden'), { name: 'b.txt', mimeType: 'text/plain', relationship: 'Supplement', hidden: true });
    assert.throws(() => d.attach(Buffer.from('x'), { name: '../etc/passwd', mimeType: 'text/plain', relationship: 'Data' }), /invalid attachment name/);
    assert.throws(() => d.attach(Buffer.from('x'), { name: 'a.txt', mimeType: 'text/plain', relationship: 'Data' }), /duplicate/);
    assert.throws(() => d.attach(Buffer.from('x'), { name: 'c.txt', mimeType: 'text', relationship: 'Data' }), /MIME/);
    const pdf = await d.finish();
    assert.match(pdf.toString('latin1'), /\/AF \[\d+ 0 R \d+ 0 R\]/);
    const m = await extractAttachments(pdf);
    assert.deepEqual([...m.keys()], ['a.txt']);
  });
});

describe('pdf: OpenSSL-only verification recipe', () => {
  test('test/fixtures/pdf/verify-with-openssl.sh verifies the signed dossier and rejects tampering', () => {
    const script = join(fixtureDir(), 'verify-with-openssl.sh');
    for (const tool of ['openssl', 'xxd']) run(tool, tool === 'openssl' ? ['version'] : ['-v']);
    const ok = run('bash', [script, signedPath, certPath], { cwd: work });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.equal((ok.stdout + ok.stderr).match(/CMS Verification successful/g)?.length, 2, ok.stdout + ok.stderr);
    const fp = (identity.fingerprintSha256.toUpperCase().match(/../g) ?? []).join(':');
    assert.ok(ok.stdout.includes(`sha256 Fingerprint=${fp}`), ok.stdout);
    // The DER it extracted is exactly the CMS in /Contents (plus zero padding).
    const der = readFileSync(join(work, 'sig.der'));
    const [, a, b] = byteRange;
    assert.equal(der.length, (b - a - 2) / 2);
    assert.ok(readFileSync(join(work, 'signed.bin')).equals(Buffer.concat([signed.subarray(0, a), signed.subarray(b)])));

    const tampered = join(work, 'tampered-openssl.pdf');
    writeFileSync(tampered, flip(Buffer.from(signed), Math.floor(a / 2)));
    const bad = run('bash', [script, tampered], { cwd: work });
    assert.notEqual(bad.status, 0);
    assert.doesNotMatch(bad.stdout + bad.stderr, /CMS Verification successful/);
    const appended = join(work, 'appended-openssl.pdf');
    writeFileSync(appended, Buffer.concat([signed, Buffer.from('\n')]));
    const bad2 = run('bash', [script, appended], { cwd: work });
    assert.notEqual(bad2.status, 0);
    assert.match(bad2.stderr, /does not cover the whole file/);
  });
});

describe('pdf: signing certificate', () => {
  test('self-signed ECDSA P-256 certificate with the expected profile', () => {
    const c = new X509Certificate(identity.certPem);
    assert.equal(c.subject, 'CN=assentmark evidence signing\nO=Assentmark Test Ltd');
    assert.equal(c.issuer, c.subject);
    assert.ok(c.verify(c.publicKey), 'not self-signed');
    assert.equal(c.publicKey.asymmetricKeyType, 'ec');
    assert.equal(c.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.deepEqual([...(c.keyUsage ?? [])].sort(), [EKU_DOCUMENT_SIGNING, EKU_EMAIL_PROTECTION].sort());
    assert.equal(new Date(c.validFrom).toISOString(), '2024-01-01T00:00:00.000Z');
    assert.equal(new Date(c.validTo).toISOString(), '2034-01-01T00:00:00.000Z');
    assert.equal(c.ca, false);
    const text = run('openssl', ['x509', '-noout', '-text'], { input: Buffer.from(identity.certPem) }).stdout;
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Non Repudiation/);
    assert.match(text, /ecdsa-with-SHA256/);
    assert.match(identity.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  });

  test('save/load PEM files round-trip; mismatched pairs are refused', async () => {
    const dir = mkdtempSync(join(work, 'id-'));
    await saveSigningIdentity(identity, join(dir, 'cert.pem'), join(dir, 'key.pem'));
    await assert.rejects(saveSigningIdentity(identity, join(dir, 'cert.pem'), join(dir, 'key.pem')), /EEXIST/);
    const loaded = await loadSigningIdentity(join(dir, 'cert.pem'), join(dir, 'key.pem'));
    assert.equal(loaded.fingerprintSha256, identity.fingerprintSha256);
    const other = await generateSigningIdentity();
    writeFileSync(join(dir, 'other-key.pem'), other.keyPem);
    await assert.rejects(loadSigningIdentity(join(dir, 'cert.pem'), join(dir, 'other-key.pem')), /does not match/);
  });
});
