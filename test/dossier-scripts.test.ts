// A EULA in Chinese, Arabic and with emoji, through the API into a dossier: the PDF read back with
// pdfjs-dist has every character of the text and no U+FFFD, Arabic in logical order; the Noto fonts
// it needs are embedded (pdffonts) and a Latin dossier embeds DejaVu alone. Poppler is required.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { useTestApp } from './helpers/app.js';
import { buildEvidence, supertestHttp } from './helpers/evidence.js';
import { binary, run } from './helpers/tools.js';

type Json = Record<string, any>;

const CHINESE = '1. 您不得使用本服务的输出来训练与本服务竞争的模型。违反本条款将导致账户终止。';
const CHINESE_2 = '2. 我们会在提供给您账户的输出中嵌入不可见的水印，以识别您的账户。';
const ARABIC = '3. شروط الخدمة: يرتبط حسابك بعملية التحقق من العلامة المائية، ولا يجوز لك استخدام مخرجات الخدمة لتدريب نموذج منافس.';
const MIXED = '4. The licensee (المرخص له) agrees to clause 4 in full. 同意 ✅ 🚫🤖 👍 👨‍👩‍👧 ❤️';
const TEXT = `服务条款（第 1.0 版）\n\n${CHINESE}\n\n${CHINESE_2}\n\n${ARABIC}\n\n${MIXED}\n\n5. An English paragraph, so that Latin text flows beside the other scripts.\n`;
const TITLE = '服务条款 · شروط الخدمة';

const t = useTestApp();

async function issue(subject: string): Promise<Buffer> {
  const res = await t.post('/v1/dossiers', 'investigator').send({ subject, case_ref: 'CASE-2026-0120', requested_by: 'Jane Investigator', prepared_for: { name: 'Alex Counsel', firm: 'Counsel & Partners LLP' } });
  assert.equal(res.status, 201, res.text);
  return (await t.get(`/v1/dossiers/${(res.body as Json).id}/pdf`, 'counsel').buffer(true).parse(binary as never)).body as Buffer;
}

async function pdfjsText(pdf: Buffer): Promise<string> {
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const doc = await pdfjs.getDocument({ data: new Uint8Array(pdf), useSystemFonts: false, isEvalSupported: false, disableFontFace: true, verbosity: 0 }).promise;
  try {
    let s = '';
    for (let p = 1; p <= doc.numPages; p++) for (const it of (await (await doc.getPage(p)).getTextContent()).items as Array<{ str?: string; hasEOL?: boolean }>) s += (it.str ?? '') + (it.hasEOL ? '\n' : '');
    return s;
  } finally {
    await doc.destroy();
  }
}

function fonts(pdf: Buffer): string[] {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'assentmark-scripts-')), 'd.pdf');
  writeFileSync(f, pdf);
  const r = run('pdffonts', [f]);
  assert.equal(r.status, 0, r.out);
  return r.stdout.split('\n').slice(2).filter(Boolean).map((l) => l.split(/\s+/)[0]!.replace(/^[A-Z]{6}\+/, ''));
}

describe('a EULA in Chinese, Arabic and with emoji', () => {
  let pdf: Buffer;
  let text: string;

  test('is published, accepted and issued in a dossier', async () => {
    const eula = await t.post('/v1/eulas', 'admin').send({ slug: 'terms-intl', version: '1.0', title: TITLE, text: TEXT, effective_at: '2026-01-01T00:00:00Z', major: true, highlights: [{ text: '您不得使用本服务的输出来训练与本服务竞争的模型。', note: '禁止模型提取' }] });
    assert.equal(eula.status, 201, eula.text);
    const acc = await t.post('/v1/acceptances', 'signup').set('Idempotency-Key', 'intl-1').send({
      subject: 'user-intl', slug: 'terms-intl', version: '1.0', shown_text_sha256: createHash('sha256').update(TEXT).digest('hex'),
      consent_text: '我同意 · أوافق', button_text: '创建账户', page_url: 'https://example.com/signup', locale: 'zh-CN', client_time: '2026-11-29T12:00:00Z',
      ip: '203.0.113.7', user_agent: 'Mozilla/5.0', auth: { method: 'password', session_id: 'sess-intl', mfa: true }, method: 'checkbox',
    });
    assert.equal(acc.status, 201, acc.text);
    pdf = await issue('user-intl');
    text = await pdfjsText(pdf);
  });

  test('comes out of pdfjs text extraction with no U+FFFD and every character of the text', () => {
    assert.ok(text.length > 1000);
    assert.ok(!text.includes('\ufffd'), `U+FFFD in: ${text.split('\n').filter((l) => l.includes('\ufffd')).join('\n')}`);
    const got = new Set(text);
    // Every character of the EULA, of its title, of the consent and button texts (emoji variation
    // selectors and joiners included).
    for (const ch of new Set([...TEXT, ...TITLE, ...'我同意 · أوافق创建账户'].filter((c) => c.trim() !== ''))) {
      assert.ok(got.has(ch), `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} (${ch}) is not in the extracted text`);
    }
    // Whole lines in reading order: Chinese, and Latin with an Arabic phrase and emoji in it.
    const flat = text.replace(/\s+/g, ' ');
    for (const line of [CHINESE, CHINESE_2, MIXED]) assert.ok(flat.includes(line), `not in reading order: ${line}\n${flat.slice(flat.indexOf('服务条款（'), flat.indexOf('服务条款（') + 600)}`);
    // Arabic comes out in logical order, word by word (the lam-alef ligature's two letters are
    // extracted swapped, so words holding it are left out here).
    for (const word of ['شروط الخدمة', 'يرتبط حسابك بعملية التحقق من', 'مخرجات الخدمة لتدريب نموذج منافس', 'المرخص له']) assert.ok(flat.includes(word), `"${word}" is not in the extracted text`);
  });

  test('embeds the Noto fonts the text needs, subset; a Latin dossier embeds DejaVu alone', async () => {
    const used = fonts(pdf);
    for (const f of ['NotoSansSC-Regular', 'NotoSansSC-Bold', 'NotoEmoji-Regular', 'DejaVuSans']) assert.ok(used.includes(f), `${f} not embedded: ${used.join(', ')}`);
    // Subsets: a few hundred kilobytes, not the 10 MB of each Noto Sans SC file.
    assert.ok(pdf.length < 600_000, `${pdf.length} bytes`);
    const ev = await buildEvidence(supertestHttp(() => t.app, t.tokens), { subject: 'user-latin', acceptances: 1, verifications: 0, decideQueries: 0, caseRef: 'CASE-2026-0121' });
    const latin = fonts(await issue(ev.subject));
    assert.deepEqual([...new Set(latin)].sort(), ['DejaVuSans', 'DejaVuSans-Bold', 'DejaVuSansMono'], latin.join(', '));
  });
});
