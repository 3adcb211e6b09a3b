// Offline verification of a dossier: the PDF signature, the evidence bundle and its signature,
// every cited entry and its Merkle inclusion proof to the signed checkpoint note, the consistency
// proof and RFC 3161 timestamps, and optionally the detached signature. No database, no network:
// bytes in, report out. The browser verification page (src/web/verify/) runs this same module.
import { parseCanonical } from '../canonical/jcs.js';
import { sha256 } from '../crypto/hash.js';
import { keyIdOf, verifyEd25519 } from '../crypto/ed25519-verify.js';
import { extractAttachments } from '../pdf/verify.js';
import { verifyPdfSignature } from '../pdf/verify.js';
import { verifyBundle } from './bundle.js';
import { checkPersonalFacts, personalFactsDetail, subjectKey } from './openings.js';
import { readSamplesCsv } from './samples-csv.js';

export interface DossierCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DossierReport {
  ok: boolean;
  checks: DossierCheck[];
  caseRef: string | null;
  subject: string | null;
  dossierId: string | null;
  pdfSha256: string;
  keyId: string | null;
  keyTrusted: boolean;
  /** Each failure of the evidence-bundle check on its own (the check's detail joins them). */
  bundleFailures: string[];
  /** Whether the bundle carries a consistency proof from an earlier timestamped checkpoint. */
  hasConsistencyProof: boolean;
  /** The size of the checkpoint whose signed note held (null: none did, so no inclusion proof was checked). */
  checkpointSize: number | null;
  /** Receipts in the bundle. */
  receipts: number;
}

export interface VerifyDossierOptions {
  /** The detached Ed25519 signature over the PDF. */
  signature?: Buffer;
  /** Trusted Ed25519 public keys (raw 32 bytes); with several, the one the bundle names. */
  trustedKeys?: Buffer[];
  /** CA certificates (PEM) the TSA certificate of each timestamp must chain to. */
  tsaCaPem?: string;
}

export async function verifyDossier(pdf: Buffer, opts: VerifyDossierOptions = {}): Promise<DossierReport> {
  const checks: DossierCheck[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const pdfSha256 = sha256(pdf).toString('hex');

  const sig = verifyPdfSignature(pdf);
  add('pdf-signature', sig.ok && sig.coversWholeFile, sig.ok ? `CMS signature valid, covers the whole file; signer ${sig.signerSubject ?? '?'} (certificate SHA-256 ${sig.certificateFingerprintSha256 ?? '?'})` : `PDF signature invalid: ${sig.reason ?? 'unknown reason'}`);

  let attachments = new Map<string, Buffer>();
  try {
    attachments = await extractAttachments(pdf);
  } catch (e) {
    add('attachments', false, `cannot read the PDF's attachments: ${(e as Error).message}`);
  }
  const bundleBytes = attachments.get('evidence-bundle.json');
  const bundleSig = attachments.get('evidence-bundle.json.sig');
  let report: DossierReport = { ok: false, checks, caseRef: null, subject: null, dossierId: null, pdfSha256, keyId: null, keyTrusted: false, bundleFailures: [], hasConsistencyProof: false, checkpointSize: null, receipts: 0 };
  if (!bundleBytes || !bundleSig) {
    add('evidence-bundle', false, 'the PDF carries no evidence-bundle.json and evidence-bundle.json.sig attachments');
    return finish(report);
  }
  // With several trusted keys (a keys.json), use the one the bundle names.
  const trusted = pickKey(bundleBytes, opts.trustedKeys);
  const b = verifyBundle(bundleBytes, bundleSig, trusted, opts.tsaCaPem ? { tsaTrustedCertsPem: opts.tsaCaPem } : {});
  report = { ...report, caseRef: b.bundle?.case_ref ?? null, subject: b.bundle?.subject ?? null, dossierId: b.bundle?.dossier_id ?? null, keyId: b.keyId, keyTrusted: b.keyTrusted };
  // Timestamp failures get their own lines; everything else is the bundle's.
  const timeFailures = new Set(b.timestamps.filter((x) => !x.ok).map((x) => x.detail));
  const bundleFailures = b.failures.filter((f) => !timeFailures.has(f));
  report = { ...report, bundleFailures, hasConsistencyProof: b.consistency !== null || /consistency/.test(bundleFailures.join('\n')), checkpointSize: b.checkpointSize, receipts: b.receipts };
  // Only a key given from outside the PDF proves whose the signatures are; the PDF's own copy does not.
  const key = `key ${b.keyId}${b.keyTrusted ? ', the key given with --public-key' : ': embedded key, not independently trusted (pass --public-key with the service\'s published keys.json)'}`;
  add('evidence-bundle', bundleFailures.length === 0, bundleFailures.length > 0
    ? bundleFailures.join('; ')
    : b.format === 1
      ? `bundle signature valid (${key}); format v1: ${b.entries} cited entries hash correctly and chain to the checkpoint signed at size ${b.checkpointSize}; ${b.receipts} receipt(s) valid`
      : `bundle signature valid (${key}); checkpoint note at size ${b.checkpointSize} (root ${b.rootHash}) signed by that key; ${b.entries} cited entries hash correctly and their inclusion proofs (${b.proofHashes} hashes) lead to its root${b.consistency?.ok ? `; the consistency proof (${b.consistency.hashes} hashes) shows the timestamped tree at size ${b.consistency.fromSize} is a prefix of it` : ''}; ${b.receipts} receipt(s) valid`);
  if (b.format === 2) {
    for (const ts of b.timestamps) add('timestamp', ts.ok, ts.detail);
    if (b.noTimestampStatement !== null && b.timestamps.every((x) => x.of !== 'checkpoint')) {
      add('timestamp', true, `none: ${b.noTimestampStatement} The checkpoint states the time ${b.checkpointTime ?? '?'}.`);
    }
  }

  // EULA texts attached verbatim must hash to what the ledger recorded.
  if (b.bundle) {
    const published = new Set<string>();
    for (const e of b.bundle.entries as unknown[]) {
      // Hostile: the bundle check has reported whatever is malformed.
      if (typeof e !== 'object' || e === null || (e as { event_type?: unknown }).event_type !== 'eula.published') continue;
      try {
        const ev = parseCanonical(Buffer.from(String((e as { canonical?: unknown }).canonical), 'base64')) as { data?: { text_sha256?: string } };
        if (ev.data?.text_sha256) published.add(ev.data.text_sha256);
      } catch {
        // already reported by the bundle check
      }
    }
    for (const [name, data] of attachments) {
      if (!/^eula-.*\.txt$/.test(name)) continue;
      const h = sha256(data).toString('hex');
      add(`exhibit ${name}`, published.has(h), published.has(h) ? `SHA-256 ${h} matches a published EULA version in the ledger` : `SHA-256 ${h} matches no EULA version cited in the bundle`);
    }
  }

  if (b.bundle) for (const c of sampleChecks(b.bundle.entries as unknown[], attachments)) add(c.name, c.ok, c.detail);
  if (b.bundle) for (const c of displayChecks(b.bundle.entries as unknown[])) add(c.name, c.ok, c.detail);
  // Personal facts: each opening opens its commitment; each committed fact is opened or named erased.
  if (b.bundle && b.format === 2) {
    const pf = checkPersonalFacts(b.bundle.entries as unknown[], b.bundle.openings, b.bundle.erased, b.bundle.subject_pseudonym);
    if (pf.committed > 0 || pf.failures.length > 0) add('personal-facts', pf.failures.length === 0, personalFactsDetail(pf));
  }

  if (opts.signature) {
    const key = trusted ?? (b.bundle ? Buffer.from(b.bundle.signing_key.public_key, 'base64') : undefined);
    const ok = !!key && verifyEd25519(opts.signature, pdf, key);
    add('detached-signature', ok, ok ? `Ed25519 signature over the PDF (SHA-256 ${pdfSha256}) valid` : 'the detached signature does not verify over this PDF');
  }
  return finish(report);
}

const SAMPLES_CSV = /^samples-(verification|plan)-([0-9a-f-]{36})\.csv$/;

/**
 * Each attached sample list (CSV) must re-derive the samples digest, the count and, for a
 * verification, n and m of its ledger event in the bundle (the bundle check proves the event).
 */
function sampleChecks(entries: unknown[], attachments: ReadonlyMap<string, Buffer>): DossierCheck[] {
  const events = new Map<string, Record<string, any>>();
  for (const e of entries) {
    if (typeof e !== 'object' || e === null) continue;
    const type = (e as { event_type?: unknown }).event_type;
    if (type !== 'verification.recorded' && type !== 'verification.planned') continue;
    try {
      const data = (parseCanonical(Buffer.from(String((e as { canonical?: unknown }).canonical), 'base64')) as { data?: Record<string, any> }).data;
      if (data) events.set(type === 'verification.recorded' ? `verification-${String(data.verification_id)}` : `plan-${String(data.plan_id)}`, data);
    } catch {
      // already reported by the bundle check
    }
  }
  const checks: DossierCheck[] = [];
  for (const [name, bytes] of attachments) {
    const m = SAMPLES_CSV.exec(name);
    if (!m) continue;
    const check = (ok: boolean, detail: string) => checks.push({ name: `exhibit ${name}`, ok, detail });
    const ev = events.get(`${m[1]}-${m[2]}`);
    if (!ev) {
      check(false, `no ${m[1] === 'plan' ? 'verification.planned' : 'verification.recorded'} event for ${m[2]} in the bundle`);
      continue;
    }
    let f;
    try {
      f = readSamplesCsv(bytes);
    } catch (e) {
      check(false, `not a sample list: ${(e as Error).message}`);
      continue;
    }
    const count = m[1] === 'plan' ? ev.sample_count : ev.statistic?.samples_submitted;
    const wrong = [
      f.kind !== m[1] ? `it is a ${f.kind} list` : '',
      f.digest !== ev.samples_digest ? `its samples digest ${f.digest} is not the recorded ${String(ev.samples_digest)}` : '',
      f.rows !== count ? `${f.rows} rows, the event records ${String(count)} samples` : '',
      m[1] === 'verification' && (f.n !== ev.statistic?.n || f.m !== ev.statistic?.m) ? `n = ${f.n}, m = ${f.m} from the file, the event records n = ${String(ev.statistic?.n)}, m = ${String(ev.statistic?.m)}` : '',
    ].filter(Boolean);
    check(wrong.length === 0, wrong.length ? wrong.join('; ') : `${f.rows} samples; samples digest ${f.digest} as recorded${m[1] === 'verification' ? `; n = ${f.n}, m = ${f.m} as recorded` : ''}`);
  }
  return checks;
}

/**
 * Each cited acceptance or decline made through a consent widget must have its display record
 * cited too: the `acceptance.displayed` entry at the seq it names, with its event id, session and
 * subject, showing the text (SHA-256) the record is about. The bundle check proves the entries.
 */
function displayChecks(entries: unknown[]): DossierCheck[] {
  const events = new Map<number, { type: string; id: string; data: Record<string, any> }>();
  for (const e of entries) {
    if (typeof e !== 'object' || e === null) continue;
    try {
      const ev = parseCanonical(Buffer.from(String((e as { canonical?: unknown }).canonical), 'base64')) as { id?: unknown; type?: unknown; data?: unknown };
      if (typeof ev.data === 'object' && ev.data !== null) events.set(Number((e as { seq?: unknown }).seq), { type: String(ev.type), id: String(ev.id), data: ev.data as Record<string, any> });
    } catch {
      // already reported by the bundle check
    }
  }
  const checks: DossierCheck[] = [];
  for (const [seq, ev] of events) {
    if (ev.type !== 'acceptance.recorded' && ev.type !== 'acceptance.declined') continue;
    const ref = ev.data.presentation?.displayed as { session_id?: unknown; event_id?: unknown; seq?: unknown } | undefined;
    if (!ref) continue;
    const shown = events.get(Number(ref.seq));
    const text = ev.data.eula?.text_sha256;
    const wrong = !shown
      ? [`entry ${String(ref.seq)} is not cited in the bundle`]
      : [
          shown.type !== 'acceptance.displayed' ? `entry ${String(ref.seq)} is a ${shown.type} event` : '',
          shown.id !== ref.event_id ? `entry ${String(ref.seq)} is event ${shown.id}, the record names ${String(ref.event_id)}` : '',
          shown.data.session_id !== ref.session_id || subjectKey(shown.data.subject) !== subjectKey(ev.data.subject) ? `entry ${String(ref.seq)} is of another session or subject` : '',
          shown.data.manifest?.text_sha256 !== text ? `the text it shows has SHA-256 ${String(shown.data.manifest?.text_sha256)}, the record's EULA text ${String(text)}` : '',
        ].filter(Boolean);
    checks.push({
      name: `display record of entry ${seq}`, ok: wrong.length === 0,
      detail: wrong.length ? wrong.join('; ') : `entry ${String(ref.seq)} (acceptance.displayed, session ${String(ref.session_id)}) is cited and shows the text the ${ev.type === 'acceptance.recorded' ? 'acceptance' : 'decline'} is about (SHA-256 ${String(text)})`,
    });
  }
  return checks;
}

function pickKey(bundleBytes: Buffer, keys: Buffer[] | undefined): Buffer | undefined {
  if (!keys || keys.length === 0) return undefined;
  if (keys.length === 1) return keys[0];
  let named: string | undefined;
  try {
    named = (JSON.parse(bundleBytes.toString('utf8')) as { signing_key?: { key_id?: string } }).signing_key?.key_id;
  } catch {
    // malformed bundle: reported by the bundle check
  }
  return keys.find((k) => keyIdOf(k) === named) ?? keys[0];
}

function finish(r: DossierReport): DossierReport {
  return { ...r, ok: r.checks.length > 0 && r.checks.every((c) => c.ok) };
}
