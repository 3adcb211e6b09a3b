// The counsel verification page: reads the dropped files in the browser and runs the project's
// own dossier verifier on them (src/dossier/verify.ts). Nothing is sent anywhere: the page makes
// no request of its own, and the service serves it with connect-src 'none'.
import './buffer-global.js';
import './pdfjs-main-thread.js';
import './style.css';
import { Buffer } from 'buffer';
import { verifyDossier, type DossierReport } from '../../dossier/verify.js';
import { extractText } from '../../pdf/verify.js';
import { groupHex, plainChecks } from './plain-words.js';

interface PublishedKeys {
  origin: string;
  keys: Array<{ key_id: string; public_key: string; status: string }>;
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`missing #${id}`);
  return el as T;
};

/** The PEM CA certificate of the serving organisation's time-stamping authority, when the page carries one. */
function tsaCaPem(): string | null {
  try {
    const v = JSON.parse(document.getElementById('tsa-ca')?.textContent ?? 'null') as unknown;
    return typeof v === 'string' && v.includes('BEGIN CERTIFICATE') ? v : null;
  } catch {
    return null;
  }
}

/** The keys the serving organisation publishes, embedded in the page when it was served (and kept when it is saved). */
function publishedKeys(): PublishedKeys | null {
  const el = document.getElementById('published-keys');
  if (!el?.textContent) return null;
  try {
    const k = JSON.parse(el.textContent) as PublishedKeys;
    return Array.isArray(k.keys) && k.keys.length > 0 ? k : null;
  } catch {
    return null;
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { className?: string; text?: string } = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.className) e.className = props.className;
  if (props.text !== undefined) e.textContent = props.text;
  e.append(...children);
  return e;
}

const form = $<HTMLFormElement>('form');
const pdfInput = $<HTMLInputElement>('pdf');
const sigInput = $<HTMLInputElement>('sig');
const formError = $<HTMLParagraphElement>('form-error');
const button = $<HTMLButtonElement>('check');
const drop = $<HTMLDivElement>('drop');

function showError(text: string): void {
  formError.textContent = text;
  formError.hidden = false;
  pdfInput.setAttribute('aria-invalid', 'true');
  pdfInput.focus();
}

/** Puts dropped files into the two inputs: the PDF into the first, a .sig into the second. */
function takeDropped(files: FileList): void {
  for (const f of Array.from(files)) {
    const dt = new DataTransfer();
    dt.items.add(f);
    if (/\.pdf$/i.test(f.name) || f.type === 'application/pdf') pdfInput.files = dt.files;
    else if (/\.sig$/i.test(f.name)) sigInput.files = dt.files;
  }
}

drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer?.files.length) {
    takeDropped(e.dataTransfer.files);
    form.requestSubmit();
  }
});
// A file dropped outside the box must not make the browser open (and leave) the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

async function keysUrlOf(pdf: Buffer): Promise<string | null> {
  try {
    const text = (await extractText(pdf, 2)).join(' ');
    const m = /Signing keys published at\s+(https?:\/\/\S+)/.exec(text);
    return m?.[1] ?? null;
  } catch {
    return null;
  }
}

function render(r: DossierReport, keys: PublishedKeys | null, keysUrl: string | null, pdfName: string, sigName: string | null): void {
  const result = $<HTMLElement>('result');
  const verdict = $<HTMLHeadingElement>('verdict');
  const checks = plainChecks(r, keys !== null, sigName !== null);
  const failed = checks.filter((c) => c.status === 'fail');
  result.className = r.ok ? 'valid' : 'invalid';
  verdict.textContent = r.ok ? 'VALID' : 'NOT VALID';
  $('verdict-text').textContent = r.ok
    ? `Every check passed: ${pdfName} is the dossier as it was issued${r.caseRef ? ` for case ${r.caseRef}` : ''}, and the evidence in it is intact.${keys ? '' : ' Compare the signing key below with the one the organisation publishes before relying on it.'}`
    : `${failed.length === 1 ? 'This check failed' : `${failed.length} checks failed`}: ${failed.map((c) => c.title.replace(/^The /, 'the ')).join(', ')}. Do not rely on this file as it is.`;

  const key = $<HTMLDivElement>('key');
  key.replaceChildren();
  if (r.keyId) {
    const known = keys?.keys.find((k) => k.key_id === r.keyId);
    key.append(
      el('h3', { text: 'The signing key' }),
      el('p', {}, document.createTextNode('Key fingerprint (key id): '), el('code', { className: 'fp', text: groupHex(r.keyId) })),
      el('p', {}, document.createTextNode('The dossier says its organisation publishes its keys at: '), keysUrl ? el('code', { className: 'url', text: keysUrl }) : el('strong', { text: 'no address given in the dossier' })),
      el('p', {
        className: 'small',
        text: keys
          ? known
            ? `This page was served by ${keys.origin} with the keys it publishes; the fingerprint above is one of them (${known.status}). To be sure, a person can compare it with the list at the address above.`
            : `This page was served by ${keys.origin} with the keys it publishes, and the fingerprint above is NOT one of them.`
          : 'This copy of the page has no published keys to compare with: a person must compare the fingerprint above with the list at the address above.',
      }),
    );
  }

  const list = $<HTMLOListElement>('checks');
  list.replaceChildren(...checks.map((c) => {
    const details = el('details', {}, el('summary', { text: 'Technical detail' }), ...c.technical.map((t) => el('p', { text: t })));
    return el('li', { className: c.status },
      el('span', { className: 'mark', text: { pass: '✓ Passed', fail: '✗ Failed', skip: '– Not checked' }[c.status] }),
      el('strong', { className: 'title', text: c.title }),
      el('p', { className: 'meaning', text: c.meaning }),
      ...(c.technical.length ? [details] : []));
  }));
  $('file-facts').textContent = `Checked ${pdfName}${sigName ? ` with ${sigName}` : ' (no .sig file given)'}. SHA-256 of the PDF: ${r.pdfSha256}.`;
  result.hidden = false;
  verdict.focus();
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void (async () => {
    formError.hidden = true;
    pdfInput.removeAttribute('aria-invalid');
    const pdfFile = pdfInput.files?.[0];
    const sigFile = sigInput.files?.[0] ?? null;
    if (!pdfFile) return showError('Choose the dossier PDF first.');
    const pdf = Buffer.from(await pdfFile.arrayBuffer());
    if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') return showError(`${pdfFile.name} is not a PDF file. Choose the dossier PDF.`);
    const sig = sigFile ? Buffer.from(await sigFile.arrayBuffer()) : undefined;
    if (sig && sig.length !== 64) return showError(`${sigFile?.name ?? 'The .sig file'} is ${sig.length} bytes long; a dossier's .sig file is exactly 64 bytes. Choose the right file, or leave it empty.`);
    button.disabled = true;
    button.textContent = 'Checking…';
    try {
      const keys = publishedKeys();
      const trustedKeys = keys?.keys.map((k) => Buffer.from(k.public_key, 'base64')).filter((k) => k.length === 32);
      const ca = tsaCaPem();
      const report = await verifyDossier(pdf, { ...(sig ? { signature: sig } : {}), ...(trustedKeys?.length ? { trustedKeys } : {}), ...(ca ? { tsaCaPem: ca } : {}) });
      render(report, keys, await keysUrlOf(pdf), pdfFile.name, sigFile?.name ?? null);
    } catch (err) {
      showError(`The file could not be checked: ${(err as Error).message}`);
    } finally {
      button.disabled = false;
      button.textContent = 'Check the dossier';
    }
  })();
});
