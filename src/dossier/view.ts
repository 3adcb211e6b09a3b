// Turns a DossierModel into the strings the templates print. Every value is flattened to one line
// (the templates' markup is line-based); verbatim texts never pass through here.
import type { KeyValueRow } from '../pdf/document.js';
import type { DossierAssentRecord, DossierErasedFact, DossierEula, DossierHold, DossierModel, DossierTimestamp, DossierVerification } from './model.js';

export interface DossierView {
  [k: string]: unknown;
  /** Set while a setting the dossier must state is blank: every page is then marked DRAFT. */
  draft: boolean;
  /** The blank settings, as a sentence part ("the organisation (ASSENTMARK_ORGANISATION), …"). */
  missing: string;
  organisation: string;
  organisationPlain: string;
  certifierName: string;
  certifierTitle: string;
  jurisdiction: string;
  summary: string[];
  keyCount: number;
  verificationCount: number;
  ratePct: string;
  histories: Array<{ slug: string; versions: DossierEula[] }>;
  kv: Record<string, KeyValueRow[]>;
}

/** What a blank setting prints: marked as a draft, never a blank line to fill in. */
const UNSET = (env: string) => `[DRAFT: ${env} not configured]`;

/** "1 verification", "3 verifications": counts in words a reader expects (no "(s)"). */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

const SUPERSCRIPT = (n: number): string => String(n).split('').map((c) => SUP[c] ?? c).join('');

/** A small probability as plain odds: "about 1 in 120", "about 1 in 10¹⁹". */
export function plainOdds(p: number, log10p?: number): string {
  const l = p > 0 ? Math.log10(p) : (log10p ?? -Infinity);
  if (!Number.isFinite(l)) return 'less than 1 in 10³⁰⁰';
  if (l > -1) return p >= 0.5 ? 'consistent with chance' : `about 1 in ${Math.round(1 / p)}`;
  if (l > -6) return `about 1 in ${Number((10 ** -l).toPrecision(2)).toLocaleString('en-US')}`;
  return `about 1 in 10${SUPERSCRIPT(Math.floor(-l))}`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '(none)';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return oneLine(String(iso));
  return d.toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC').replace(/Z$/, ' UTC');
}

const SUP: Record<string, string> = { '-': '⁻', '0': '⁰', '1': '¹', '2': '²', '3': '³', '4': '⁴', '5': '⁵', '6': '⁶', '7': '⁷', '8': '⁸', '9': '⁹' };

/** A probability as a person reads it: 0.0312, or 5.33 × 10⁻¹⁴¹ (from log10 when the double underflows). */
export function formatP(p: number, log10p?: number): string {
  if (p >= 1e-4) return p >= 0.9999995 ? '1' : p.toPrecision(3);
  const l = p > 0 ? Math.log10(p) : (log10p ?? -Infinity);
  if (!Number.isFinite(l)) return '0';
  const exp = Math.floor(l);
  const mant = 10 ** (l - exp);
  return `${mant.toFixed(2)} × 10${String(exp).split('').map((c) => SUP[c] ?? c).join('')}`;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n\u2028\u2029]+/g, ' ');
}

/** Deep copy with every string flattened to one line. */
function flatten<T>(v: T): T {
  if (typeof v === 'string') return oneLine(v) as T;
  if (Array.isArray(v)) return v.map(flatten) as T;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, flatten(x)])) as T;
  return v;
}

const KIND_TITLE = { accepted: 'Acceptance', declined: 'Decline', withdrawn: 'Withdrawal' } as const;

function str(v: unknown): string {
  return v === undefined || v === null ? '(not recorded)' : oneLine(String(v));
}

/** The basis of an erasure, as the sentence "erased … under <basis> request <ref>" reads it. */
const BASIS: Record<string, string> = { data_subject_request: 'data-subject', retention: 'retention', court_order: 'court-order', other: 'other' };

/** What the dossier prints in place of an erased fact. */
export function erasedText(f: DossierErasedFact): string {
  return `erased on ${formatTime(f.erasedAt)} under ${BASIS[f.basis] ?? f.basis} request ${f.requestRef} (ledger entry ${f.erasureSeq}); the commitment ${f.commitment} remains`;
}

/** The erased fact at (entry, field), if that fact was erased. */
type ErasedAt = (seq: number, field: string) => DossierErasedFact | undefined;

function assentRows(r: DossierAssentRecord, erasedAt: ErasedAt): KeyValueRow[] {
  const d = r.data as Record<string, any>;
  const gone = (field: string) => erasedAt(r.ledgerSeq, field);
  const client = gone('client');
  const auth = gone('auth');
  const rows: KeyValueRow[] = [
    { key: 'Record', value: `${KIND_TITLE[r.kind]} ${r.id}` },
    { key: 'Agreement', value: `${r.slug} version ${r.version}` },
    { key: 'Recorded by the service', value: formatTime(r.serverTime) },
    { key: 'Time on the user\'s device', value: formatTime(d.client_time) },
    ...(client
      ? [{ key: 'IP address and user agent', value: erasedText(client) }]
      : [{ key: 'IP address', value: str(d.client?.ip) }, { key: 'User agent', value: str(d.client?.user_agent) }]),
    { key: 'Authentication', value: auth ? erasedText(auth) : `${str(d.auth?.method)}, session ${str(d.auth?.session_id)}, multi-factor: ${d.auth?.mfa ? 'yes' : 'no'}` },
    { key: 'Method of assent', value: str(d.method) },
  ];
  if (r.kind === 'withdrawn') rows.push({ key: 'Reason given', value: gone('reason') ? erasedText(gone('reason')!) : str(d.reason) });
  else {
    rows.push(
      { key: 'Page', value: gone('presentation.page_url') ? erasedText(gone('presentation.page_url')!) : str(d.presentation?.page_url) },
      { key: 'Locale', value: str(d.presentation?.locale) },
      { key: 'Consent text shown', value: str(d.presentation?.consent_text) },
      { key: 'Button text shown', value: str(d.presentation?.button_text) },
      { key: 'SHA-256 of text shown', value: str(d.shown_text_sha256), mono: true },
      { key: 'Matches published text', value: d.shown_text_sha256 === d.eula?.text_sha256 ? 'yes: identical SHA-256' : 'NO' },
    );
  }
  if (d.watermark_key) rows.push({ key: 'Watermark key', value: `version ${str(d.watermark_key.version)}, commitment ${str(d.watermark_key.commitment)}` });
  rows.push(
    { key: 'Idempotency key', value: str(d.idempotency_key) },
    { key: 'Reported by', value: `${str(d.recorded_by?.name)} (API key ${str(d.recorded_by?.api_key_id)})` },
    { key: 'Ledger entry', value: `${r.ledgerSeq} (event ${r.eventId})` },
    { key: 'Leaf hash', value: r.receipt.payload.ledger.leaf_hash, mono: true },
  );
  return rows;
}

/** What the browser measured, and what the service checked itself (docs/widget.md). */
export const DISPLAY_MEASURED = 'The consent widget in the user\'s browser measured the scrolling, the time on screen, the viewport and the markup hash; the service cannot observe them and records them as reported. The service checked the text hash (against the published text) and the consent and button wordings (against those the session set) before recording anything.';

/** Without a widget, the signup backend reports the acceptance: no record of the display exists. */
export const NO_DISPLAY_RECORD = 'recorded by the signup backend; no display record';

/** What the user saw, as the widget's `acceptance.displayed` entry records it. */
function displayedRows(r: DossierAssentRecord): KeyValueRow[] {
  const d = r.displayed;
  if (!d) return [];
  const m = ((d.data as Record<string, any>).manifest ?? {}) as Record<string, any>;
  const published = (r.data as Record<string, any>).eula?.text_sha256;
  const vp = (m.viewport ?? {}) as Record<string, any>;
  const ms = Number(m.time_on_screen_ms);
  return [
    { key: 'Display record', value: `ledger entry ${d.ledgerSeq} (event ${d.eventId}), recorded by the service ${formatTime((d.data as any).server_time)}` },
    { key: 'Acceptance session', value: d.sessionId },
    { key: 'Text shown (SHA-256)', value: str(m.text_sha256), mono: true },
    { key: 'Equal to the published', value: m.text_sha256 === published ? 'yes: the published version\'s SHA-256' : 'NO: not the published version\'s SHA-256' },
    { key: 'Scrolled to the end', value: m.scrolled_to_end === true ? 'yes: the end of the text was in view' : 'no: the end of the text was never in view' },
    { key: 'Time on screen', value: `${(ms / 1000).toFixed(1)} seconds (${str(m.time_on_screen_ms)} ms)` },
    { key: 'Viewport', value: `${str(vp.width)} × ${str(vp.height)} CSS pixels, device pixel ratio ${str(vp.device_pixel_ratio)}` },
    { key: 'Consent wording shown', value: str(m.consent_text) },
    { key: 'Button texts shown', value: `accept: "${str(m.accept_text)}"; decline: "${str(m.decline_text)}"` },
    { key: 'Markup SHA-256', value: str(m.markup_sha256), mono: true },
    { key: 'Widget', value: str(m.widget) },
  ];
}

function verificationRows(v: DossierVerification, exhibitRef: (name: string | undefined) => string, erasedAt: ErasedAt): KeyValueRow[] {
  const o = v.outcome as Record<string, any>;
  const s = (o.statistic ?? {}) as Record<string, any>;
  const suspect = (o.suspect ?? {}) as Record<string, any>;
  const rows: KeyValueRow[] = [
    { key: 'Verification', value: v.id },
    { key: 'Case reference', value: str(o.case_ref) },
    { key: 'Recorded', value: `${formatTime(v.createdAt)} (ledger entry ${v.ledgerSeq})` },
    { key: 'Suspect model', value: `${str(suspect.name)}, version ${str(suspect.version)}` },
    { key: 'Where observed', value: `${str(suspect.observed_at)}${suspect.observed_on ? `, ${formatTime(suspect.observed_on)}` : ''}` },
  ];
  if (suspect.artefact_sha256) rows.push({ key: 'Model artefact SHA-256', value: str(suspect.artefact_sha256), mono: true });
  rows.push(
    { key: 'Subject tested', value: erasedAt(v.ledgerSeq, 'subject') ? erasedText(erasedAt(v.ledgerSeq, 'subject')!) : str(o.subject) },
    { key: 'Key used', value: `version ${str(o.key?.version)}, commitment ${str(o.key?.commitment)}` },
    { key: 'Pre-registered', value: o.preregistered ? `yes: inputs committed in ledger entry ${str(o.plan?.seq)} (plan ${str(o.plan?.id)}) before the suspect's answers were submitted` : 'no: inputs and answers were submitted together' },
  );
  if (o.plan?.samples_digest) rows.push({ key: 'Plan\'s samples digest', value: str(o.plan.samples_digest), mono: true });
  rows.push(
    { key: 'Samples submitted', value: `${str(s.samples_submitted)} (${count(Number(s.duplicates_dropped), 'duplicate input')} dropped, ${str(s.samples_unique)} distinct)` },
    { key: 'Number of classes k', value: s.num_classes === null ? `mixed: ${(s.groups ?? []).map((g: any) => `k = ${g.num_classes}: n = ${g.n}, m = ${g.m}`).join('; ')}` : str(s.num_classes) },
    { key: 'Chance of a match p0', value: s.p0 === null ? 'per class count, 1/(k - 1)' : `1/(k - 1) = ${Number(s.p0).toPrecision(4)}` },
    { key: 'Watermarked inputs n', value: str(s.n) },
    { key: 'Matches m', value: `${str(s.m)} (match rate ${(Number(s.match_rate) * 100).toFixed(1)}%)` },
    { key: 'p-value', value: formatP(Number(s.p_value), Number(s.log10_p_value)) },
    { key: 'Subjects screened N', value: str(s.subjects_screened) },
    { key: 'Corrected p-value N·p', value: formatP(Number(s.p_adjusted), Number(s.log10_p_adjusted)) },
    { key: 'In plain odds', value: `${plainOdds(Number(s.p_adjusted), Number(s.log10_p_adjusted))}: the chance that a model built independently of the subject's answers matches this often` },
    { key: 'Significance level', value: formatP(Number(s.alpha)) },
    { key: 'Decision', value: decisionText(v) },
    { key: o.plan ? 'Samples digest (inputs and answers)' : 'Samples digest', value: str(o.samples_digest), mono: true },
  );
  if (v.samples) rows.push(...samplesRows('Samples', v.samples, exhibitRef, `n = ${v.samples.n} and m = ${v.samples.m} are counted from it as printed above`));
  else rows.push({ key: 'Samples', value: 'not attached: recorded before the service kept the samples of verifications' });
  if (v.planSamples) rows.push(...samplesRows('Plan\'s samples', v.planSamples, exhibitRef, 'its first columns are the inputs of the samples above, in the same order'));
  return rows;
}

/** Where a sample list is attached, its SHA-256, and how it ties to the digest the ledger recorded. */
function samplesRows(label: string, s: NonNullable<DossierVerification['samples']>, exhibitRef: (name: string | undefined) => string, counts: string): KeyValueRow[] {
  return [
    { key: `${label} attached`, value: `${exhibitRef(s.attachment)}, ${count(s.rows, 'row')}: the samples digest of ledger entry ${s.ledgerSeq} is recomputed from it (section 9, step 8); ${counts}` },
    { key: `SHA-256 of the ${label.toLowerCase()} file`, value: s.sha256, mono: true },
  ];
}

/**
 * The verifications in one sentence per suspect: each suspect named once, each of its tests
 * with whether it was pre-registered, its decision (not-detected results named too) and its
 * corrected p-value with the plain odds.
 */
function verificationSummary(vs: readonly DossierVerification[]): string {
  if (vs.length === 0) return 'No verification of a suspect model is included.';
  const bySuspect = new Map<string, DossierVerification[]>();
  for (const v of vs) {
    const sus = (v.outcome as any).suspect ?? {};
    const name = `${str(sus.name)}${sus.version ? ` version ${str(sus.version)}` : ''}`;
    bySuspect.set(name, [...(bySuspect.get(name) ?? []), v]);
  }
  const parts = [...bySuspect].map(([name, tests]) => `${name}: ${tests.map((v) => {
    const o = v.outcome as any;
    const st = o.statistic ?? {};
    const p = Number(st.p_adjusted);
    const l = Number(st.log10_p_adjusted);
    const kind = o.preregistered ? 'a pre-registered test' : 'a test that was not pre-registered';
    const what = v.decision === 'detected' ? 'detected the subject\'s watermark' : v.decision === 'insufficient' ? `could not decide (${Number(st.n)} marked ${Number(st.n) === 1 ? 'sample' : 'samples'}, at least ${Number(st.min_marked_samples_needed)} needed)` : 'did not detect the subject\'s watermark';
    return `${kind} ${what} (corrected p = ${formatP(p, l)}, ${plainOdds(p, l)})`;
  }).join('; ')}`);
  const detected = vs.filter((v) => v.decision === 'detected').length;
  return `${count(vs.length, 'verification')} of ${count(bySuspect.size, 'suspect model')}, ${detected} detecting the subject's watermark. ${parts.join('. ')}.`;
}

function tsaLabel(t: DossierTimestamp): string {
  return t.tsaName ? `${t.tsaName} (${t.tsaUrl})` : t.tsaUrl;
}

function timestampView(t: DossierTimestamp): DossierTimestamp & { tsa: string } {
  return { ...t, tsa: tsaLabel(t), genTime: formatTime(t.genTime) };
}

export function buildView(m: DossierModel): DossierView {
  const exhibitRef = (name: string | undefined): string => {
    const e = m.exhibits.find((x) => x.name === name);
    return e ? `Exhibit ${e.letter} (${e.name})` : `exhibit ${name ?? '(none)'}`;
  };
  const erasedFacts = new Map((m.erasedFacts ?? []).map((f) => [`${f.seq} ${f.field}`, f]));
  const erasedAt: ErasedAt = (seq, field) => erasedFacts.get(`${seq} ${field}`);
  const kv: Record<string, KeyValueRow[]> = {};
  m.assent.forEach((r, i) => {
    kv[`assent-${i}`] = flatten(assentRows(r, erasedAt));
    kv[`displayed-${i}`] = flatten(displayedRows(r));
  });
  m.verifications.forEach((v, i) => (kv[`verification-${i}`] = flatten(verificationRows(v, exhibitRef, erasedAt))));
  const erasures = m.erasures ?? [];
  const holds = m.holds ?? [];
  kv.erasures = flatten(erasures.map((x) => ({
    key: `Erasure, ledger entry ${x.ledgerSeq}`,
    value: `on ${formatTime(x.performedAt)} under ${BASIS[x.basis] ?? x.basis} request ${x.requestRef} (erasure ${x.id}): ${count(x.factsErased, 'personal fact')} erased, ${x.factsCited} of them in the entries this dossier cites; ${x.clearEvents ? `${count(x.clearEvents, 'entry', 'entries')} written before personal data left the ledger hold facts in clear that it could not erase; ` : ''}watermark key: ${x.watermarkKeys === 'destroyed' ? 'destroyed' : 'kept'}`,
  })));
  kv.holds = flatten(holds.map((h) => ({ key: `Hold ${h.id}`, value: holdText(h, erasedAt) })));
  const accepted = m.assent.filter((a) => a.kind === 'accepted');
  const summary = [
    accepted.length
      ? `The subject accepted ${[...new Set(accepted.map((a) => `${a.slug} version ${a.version}`))].join(', ')}; first acceptance recorded ${formatTime(accepted[0]!.serverTime)}.`
      : 'The subject has no recorded acceptance.',
    m.keys.length ? `A watermark key was linked to the subject at ${formatTime(m.keys[0]!.assignedAt)} (ledger entry ${m.keys[0]!.ledgerSeq}); ${count(m.keys.length, 'key version')} in all.` : 'No watermark key is linked to the subject.',
    verificationSummary(m.verifications),
    ...(erasures.length ? [`Personal data of the subject was erased: ${erasures.map((x) => `on ${formatTime(x.performedAt)} under ${BASIS[x.basis] ?? x.basis} request ${x.requestRef} (ledger entry ${x.ledgerSeq})`).join('; ')}. Each erased fact is named where it would be printed; its commitment remains in the ledger and every proof in this dossier still verifies.`] : []),
    ...(holds.length ? [`${count(holds.length, 'legal hold')} ${holds.length === 1 ? 'was' : 'were'} placed on the subject (section 2), ${holds.filter((h) => !h.released).length} still in force.`] : []),
    `The ledger verified intact at issue (${count(m.ledgerVerification.size, 'entry', 'entries')}); each cited entry is proven to be in the Merkle tree of the checkpoint signed at size ${m.checkpoint.size} (RFC 9162 inclusion proofs, ${count(m.proofs.inclusionHashes, 'hash', 'hashes')} in all).`,
    m.outsideTime.checkpoint
      ? `The checkpoint carries an RFC 3161 timestamp by ${tsaLabel(m.outsideTime.checkpoint)} at ${formatTime(m.outsideTime.checkpoint.genTime)}.`
      : 'No outside timestamp exists: the time of the checkpoint is the issuing service\'s own statement.',
  ];
  const missing = [
    [m.organisation, 'the name of the organisation (ASSENTMARK_ORGANISATION)'],
    [m.keysUrl, 'the URL where the signing keys are published (ASSENTMARK_KEYS_URL)'],
    [m.certification.certifierName, 'the certifying person (ASSENTMARK_CERTIFIER_NAME)'],
    [m.certification.certifierTitle, 'their position (ASSENTMARK_CERTIFIER_TITLE)'],
    [m.certification.jurisdiction, 'the jurisdiction of the declaration (ASSENTMARK_JURISDICTION)'],
  ].filter(([v]) => !v).map(([, what]) => what!);
  const rate = m.verifications.length ? Number((m.verifications[0]!.outcome as any).statistic?.rate) : NaN;
  const view = {
    ...m,
    issuedAt: formatTime(m.issuedAt),
    draft: missing.length > 0,
    missing: missing.join(', '),
    organisation: m.organisation || UNSET('ASSENTMARK_ORGANISATION'),
    organisationPlain: m.organisation || 'assentmark evidence service',
    keysUrl: m.keysUrl || UNSET('ASSENTMARK_KEYS_URL'),
    keysUrlSet: m.keysUrl !== '',
    certifierName: m.certification.certifierName || UNSET('ASSENTMARK_CERTIFIER_NAME'),
    certifierTitle: m.certification.certifierTitle || UNSET('ASSENTMARK_CERTIFIER_TITLE'),
    jurisdiction: m.certification.jurisdiction || UNSET('ASSENTMARK_JURISDICTION'),
    exhibitCount: m.exhibits.length,
    exhibitRange: m.exhibits.length ? `Exhibits ${m.exhibits[0]!.letter} to ${m.exhibits.at(-1)!.letter}` : 'no exhibits',
    ex: { bundle: exhibitRef('evidence-bundle.json'), bundleSig: exhibitRef('evidence-bundle.json.sig'), key: exhibitRef('signing-key.pem') },
    summary,
    keyCount: m.keys.length,
    verificationCount: m.verifications.length,
    ratePct: Number.isFinite(rate) ? `${(rate * 100).toPrecision(2)}%` : 'configured',
    subjectFacts: {
      ...m.subjectFacts, firstSeen: formatTime(m.subjectFacts.firstSeen), slugList: m.subjectFacts.slugs.join(', ') || '(none)',
      breakdown: `${count(m.subjectFacts.acceptances, 'acceptance')}, ${count(m.subjectFacts.declines, 'decline')}, ${count(m.subjectFacts.withdrawals, 'withdrawal')}`,
    },
    eulas: m.eulas.map((e) => ({ ...e, text: undefined, exhibit: exhibitRef(e.attachment), effectiveAt: formatTime(e.effectiveAt), publishedAt: formatTime(e.publishedAt) })),
    histories: Object.entries(m.eulaHistory).map(([slug, versions]) => ({ slug, versions })),
    assent: m.assent.map((a) => ({
      ...a, receiptExhibit: exhibitRef(a.receiptAttachment), heading: `${KIND_TITLE[a.kind]} of ${a.slug} ${a.version}, ${formatTime(a.serverTime)}`,
      // Withdrawals have no display; an acceptance or decline either has a widget's record or says it has none.
      shown: a.displayed ? { widget: true, none: false, kind: KIND_TITLE[a.kind].toLowerCase(), measured: DISPLAY_MEASURED } : { widget: false, none: a.displayed === null, kind: '', measured: '' },
    })),
    noDisplayRecord: NO_DISPLAY_RECORD,
    hasErasures: erasures.length > 0,
    hasHolds: holds.length > 0,
    erasures: [],
    erasedFacts: [],
    holds: [],
    keys: m.keys,
    verifications: m.verifications.map((v, i) => ({ ...v, index: i + 1, suspectName: str((v.outcome as any).suspect?.name) })),
    checkpoint: { ...m.checkpoint, timestamp: formatTime(m.checkpoint.timestamp) },
    outsideTime: {
      checkpoint: m.outsideTime.checkpoint ? timestampView(m.outsideTime.checkpoint) : null,
      statement: m.outsideTime.statement ?? '',
      earlier: m.outsideTime.earlier ? { ...m.outsideTime.earlier, time: formatTime(m.outsideTime.earlier.time), timestamp: timestampView(m.outsideTime.earlier.timestamp) } : null,
    },
    ledgerVerification: { ...m.ledgerVerification, scope: m.ledgerVerification.incrementalFrom === null ? `every entry, from the first to entry ${m.ledgerVerification.size}, checked at issue` : `the whole ledger (entries 1 to ${m.ledgerVerification.fullSize}) was last checked in full at ${formatTime(m.ledgerVerification.fullAt)}; at issue, the entries added since then (${m.ledgerVerification.incrementalFrom} to ${m.ledgerVerification.size}) were checked, with their checkpoints, as a continuation of that checked ledger`, result: m.ledgerVerification.ok ? 'intact: every entry and checkpoint verified' : `FAULT: ${m.ledgerVerification.fault ?? 'unknown'}`, checkedAt: formatTime(m.ledgerVerification.checkedAt), headHash: m.ledgerVerification.headHash ?? '(none)' },
    attachments: [],
    kv,
  };
  return flatten(view) as unknown as DossierView;
}

/** The decision of one verification in plain words (docs/watermark-spec.md section 8). */
function decisionText(v: DossierVerification): string {
  if (v.decision === 'detected') return 'DETECTED: the suspect model reproduces this subject\'s watermark far beyond chance';
  if (v.decision === 'not_detected') return 'NOT DETECTED: the matches are consistent with chance';
  const st = ((v.outcome as { statistic?: Record<string, unknown> }).statistic ?? {}) as Record<string, unknown>;
  return `INSUFFICIENT: too few marked samples to decide (${Number(st.n)} marked, at least ${Number(st.min_marked_samples_needed)} needed at this significance level); the test was run and recorded, and it neither shows nor excludes copying`;
}

/** A legal hold in one line: its case, when and by whom it was placed and released, and why. */
function holdText(h: DossierHold, erasedAt: ErasedAt): string {
  const why = (seq: number, reason: unknown) => (erasedAt(seq, 'reason') ? `reason ${erasedText(erasedAt(seq, 'reason')!)}` : `reason: ${str(reason)}`);
  const placed = `case ${h.caseRef}; placed ${formatTime(h.placedAt)} by ${str(h.placedBy)} (ledger entry ${h.placedSeq}), ${why(h.placedSeq, h.reason)}`;
  return h.released
    ? `${placed}; released ${formatTime(h.released.at)} by ${str(h.released.by)} (ledger entry ${h.released.seq}), ${why(h.released.seq, h.released.reason)}`
    : `${placed}; still in force: the subject's personal data cannot be erased while it is`;
}
