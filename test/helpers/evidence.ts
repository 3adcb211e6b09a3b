// A realistic evidence scenario for dossiers, built through the HTTP API exactly as the model
// owner's systems would: a EULA with highlighted clauses is published (optionally in several
// versions), the subject accepts / declines / withdraws, the gateway asks /v1/watermark/decide
// for ~25,000 of the subject's queries (learning the labels it served), and an investigator
// records verifications of suspect models against the subject's watermark (a "stolen" model
// trained on the served labels is detected; an independent model is not).
//
// Used by the dossier tests and by bench/dossier.ts. Deterministic except for ids and times.
//
//   const ev = await buildEvidence(supertestHttp(() => t.app, t.tokens), { acceptances: 2, declines: 1, withdrawals: 1 });
import { createHash } from 'node:crypto';
import type express from 'express';
import request from 'supertest';
import type { Role } from '../../src/db/schema.js';

type Json = Record<string, any>;

/** The few HTTP calls the scenario needs, as a given role. */
export interface EvidenceHttp {
  post(url: string, role: Role, body: unknown, headers?: Record<string, string>): Promise<{ status: number; body: Json; text: string }>;
}

/** An EvidenceHttp on an Express app through supertest (no listening server needed). */
export function supertestHttp(app: () => express.Express, tokens: Record<Role, string>): EvidenceHttp {
  return {
    async post(url, role, body, headers = {}) {
      let r = request(app()).post(url).set('Authorization', `Bearer ${tokens[role]}`);
      for (const [k, v] of Object.entries(headers)) r = r.set(k, v);
      const res = await r.send(body as object);
      return { status: res.status, body: res.body as Json, text: res.text };
    },
  };
}

/** An EvidenceHttp on a listening server (fetch, keep-alive). */
export function fetchHttp(baseUrl: string, tokens: Record<Role, string>): EvidenceHttp {
  return {
    async post(url, role, body, headers = {}) {
      const res = await fetch(baseUrl + url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[role]}`, ...headers },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      let json: Json = {};
      try {
        json = JSON.parse(text) as Json;
      } catch {
        // not JSON: leave the body empty, the text says what happened
      }
      return { status: res.status, body: json, text };
    },
  };
}

export interface EvidenceOptions {
  /** Subject (account id). Default "subject-a". */
  subject?: string;
  /** EULA slug. Default "model-api-terms". */
  slug?: string;
  /** Acceptance records (at least 1; the last record is always an acceptance). Default 1. */
  acceptances?: number;
  /** Decline records. Default 0. */
  declines?: number;
  /** Withdrawal records (fewer than acceptances: each follows an acceptance). Default 0. */
  withdrawals?: number;
  /** Published EULA versions the records cycle through. Default 1. */
  versions?: number;
  /** Length of version 1.0's text in pages of ~500 words (later versions are ~1 page). Default 1. */
  eulaPages?: number;
  /** Key rotations after the records (each adds a key version). Default 0. */
  keyRotations?: number;
  /** Gateway queries of the subject sent through /v1/watermark/decide. Default 25,000. */
  decideQueries?: number;
  /** Verification outcomes recorded for the subject (see VERIFICATION_KINDS). Default 1. */
  verifications?: number;
  /** Number of classes of the owner's model. Default 10. */
  k?: number;
  /** Prefix of case references. Default "CASE-2026-0042". */
  caseRef?: string;
}

/** Verification i is of kind VERIFICATION_KINDS[i % 4]. */
export const VERIFICATION_KINDS = ['stolen', 'preregistered', 'independent', 'stolen-screened'] as const;
export type VerificationKind = (typeof VERIFICATION_KINDS)[number];

export interface EvidenceEula {
  version: string;
  title: string;
  text: string;
  sha256: string;
  effectiveAt: string;
  major: boolean;
  highlights: Array<{ text: string; note: string }>;
  /** One unique token per paragraph ("Clause0007" ...), in order. */
  markers: string[];
}

export interface EvidenceRecord {
  id: string;
  kind: 'accepted' | 'declined' | 'withdrawn';
  version: string;
  /** The request body sent (every field the signup flow reported). */
  request: Json;
  response: Json;
}

export interface EvidenceVerification {
  id: string;
  kind: VerificationKind;
  caseRef: string;
  suspect: Json;
  decision: 'detected' | 'not_detected';
  preregistered: boolean;
  planId: string | null;
  /** The result as the API returned it (n, m, p_value, p_adjusted, alpha, subjects_screened, ...). */
  result: Json;
}

export interface Evidence {
  subject: string;
  slug: string;
  caseRef: string;
  k: number;
  eulas: EvidenceEula[];
  records: EvidenceRecord[];
  keyVersions: number;
  queries: number;
  /** How many of the subject's queries were served a watermarked label. */
  watermarked: number;
  verifications: EvidenceVerification[];
}

const WORDS = (
  'agreement service model output licence licensee provider party account access interface request response data content user ' +
  'obligation liability warranty termination notice clause section term condition right remedy breach consent law court dispute ' +
  'jurisdiction fee payment invoice period renewal limitation indemnity confidential information security incident audit record ' +
  'reasonable written prior material change effective date applicable purpose permitted restricted prohibited automated system ' +
  'training evaluation benchmark derivative competing product weights parameters distillation extraction scraping volume rate'
).split(' ');

const HEADINGS = ['Definitions', 'Access to the Service', 'Acceptable Use', 'Outputs', 'Restrictions on Training', 'Watermarking', 'Fees', 'Confidentiality', 'Data Protection', 'Warranties', 'Liability', 'Termination', 'Governing Law', 'General'];

/** The clauses publishers mark as material; they occur verbatim in every generated text. */
export const HIGHLIGHT_TRAINING = 'You must not use the outputs of the Service, in whole or in part, to train, fine-tune or distil a model that competes with the Service.';
export const HIGHLIGHT_WATERMARK = 'Outputs served to your account may carry an invisible watermark that identifies your account.';

function prng(seed: string): () => number {
  let s = createHash('sha256').update(seed).digest();
  let i = 0;
  return () => {
    if (i + 4 > s.length) {
      s = createHash('sha256').update(s).digest();
      i = 0;
    }
    const v = s.readUInt32BE(i);
    i += 4;
    return v / 2 ** 32;
  };
}

/**
 * A deterministic EULA text of about `pages` × 500 words: numbered sections of paragraphs of
 * ~90 words, each paragraph starting with a unique marker token ("Clause0001"), the two
 * highlighted clauses verbatim in the first section, and some typography (quotes, accents, €).
 */
export function generateEulaText(version: string, pages: number): { text: string; markers: string[] } {
  const rnd = prng(`eula ${version} ${pages}`);
  const targetWords = Math.max(120, Math.round(pages * 500));
  const paras: string[] = [`MODEL API TERMS OF SERVICE — version ${version}`, `These terms (the “Terms”) govern your use of the model API (the “Service”). Read them carefully: by creating an account you agree to them. Café, naïve and €-prices are spelled as published.`];
  const markers: string[] = [];
  let words = 40;
  let n = 0;
  let section = 0;
  while (words < targetWords) {
    if (n % 6 === 0) {
      const h = HEADINGS[section % HEADINGS.length]!;
      section++;
      paras.push(`${section}. ${h}${section > HEADINGS.length ? ` (continued ${Math.floor((section - 1) / HEADINGS.length)})` : ''}`);
    }
    n++;
    const marker = `Clause${String(n).padStart(4, '0')}`;
    markers.push(marker);
    const len = 70 + Math.floor(rnd() * 40);
    const ws: string[] = [];
    for (let i = 0; i < len; i++) ws.push(WORDS[Math.floor(rnd() * WORDS.length)]!);
    let body = `${marker} ${section}.${(n - 1) % 6 + 1} The ${ws.slice(0, 3).join(' ')} ${ws.slice(3).join(' ')}.`;
    if (n === 1) body += ` ${HIGHLIGHT_TRAINING}`;
    if (n === 2) body += ` ${HIGHLIGHT_WATERMARK}`;
    paras.push(body);
    words += len + 3;
  }
  paras.push(`End of the Terms, version ${version}.`);
  return { text: paras.join('\n\n') + '\n', markers };
}

const sha256 = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();
const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** The owner's model: a deterministic label per input digest. */
export const ownerLabelOf = (dg: Buffer, k: number): number => dg.readUInt16BE(0) % k;
/** An independent model: agrees with the owner 90% of the time, otherwise a different label of its own. */
const independentLabelOf = (dg: Buffer, k: number): number => ((dg[2] as number) % 10 < 9 ? ownerLabelOf(dg, k) : (ownerLabelOf(dg, k) + 1 + ((dg[3] as number) % (k - 1))) % k);

function check(res: { status: number; text: string }, ok: number[], what: string): void {
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${res.text.slice(0, 400)}`);
}

/** Signup-flow facts that differ per record, so every record in a dossier is distinguishable. */
function clientFacts(i: number): Json {
  return {
    client_time: new Date(Date.UTC(2026, 10, 1 + (i % 28), 9 + (i % 10), i % 60, 7)).toISOString(),
    ip: i % 3 === 2 ? `2001:db8::${(i + 1).toString(16)}` : `203.0.113.${10 + i}`,
    user_agent: `Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0 record/${i + 1}`,
    auth: { method: i % 2 ? 'oauth:google' : 'password', session_id: `sess-${String(i + 1).padStart(3, '0')}-7f3a9c`, mfa: i % 2 === 0 },
  };
}

/** Builds the scenario. Throws (with the HTTP answer) when any call fails. */
export async function buildEvidence(http: EvidenceHttp, o: EvidenceOptions = {}): Promise<Evidence> {
  const subject = o.subject ?? 'subject-a';
  const slug = o.slug ?? 'model-api-terms';
  const acceptances = o.acceptances ?? 1;
  const declines = o.declines ?? 0;
  const withdrawals = o.withdrawals ?? 0;
  const nVersions = Math.max(1, o.versions ?? 1);
  const k = o.k ?? 10;
  const queries = o.decideQueries ?? 25_000;
  const nVerifications = o.verifications ?? 1;
  const caseRef = o.caseRef ?? 'CASE-2026-0042';
  if (acceptances < 1) throw new Error('at least one acceptance');
  if (withdrawals >= acceptances) throw new Error('each withdrawal follows an acceptance and the last record is an acceptance: withdrawals < acceptances');

  // 1. EULA versions (1.0 long, with highlights; later ones short).
  const eulas: EvidenceEula[] = [];
  for (let v = 0; v < nVersions; v++) {
    const version = `${1 + Math.floor(v / 3)}.${v % 3}`;
    const { text, markers } = generateEulaText(version, v === 0 ? (o.eulaPages ?? 1) : 1);
    const highlights = [
      { text: HIGHLIGHT_TRAINING, note: 'Prohibits training competing models on outputs' },
      { text: HIGHLIGHT_WATERMARK, note: 'Discloses per-account watermarking' },
    ];
    const e: EvidenceEula = {
      version,
      title: 'Model API Terms of Service',
      text,
      sha256: sha256Hex(text),
      // The first version takes effect on a fixed date; later ones a few seconds ago, in order (a later version may
      // not take effect before its publication: docs/input-rules.md).
      effectiveAt: v === 0 ? new Date(Date.UTC(2026, 0, 1)).toISOString() : new Date((Math.floor(Date.now() / 1000) - (nVersions - v)) * 1000).toISOString(),
      major: v % 3 === 0,
      highlights,
      markers,
    };
    const res = await http.post('/v1/eulas', 'admin', { slug, version, title: e.title, text, effective_at: e.effectiveAt, major: e.major, highlights });
    check(res, [200, 201], `publishing ${slug} ${version}`);
    eulas.push(e);
  }

  // 2. Records: declines first, acceptances, a withdrawal after an acceptance; the last is an acceptance.
  const kinds: Array<'accepted' | 'declined' | 'withdrawn'> = [];
  let [a, d, w] = [acceptances, declines, withdrawals];
  while (a + d + w > 0) {
    if (d > 0) (kinds.push('declined'), d--);
    if (a > 0) (kinds.push('accepted'), a--);
    if (w > 0 && a > 0) (kinds.push('withdrawn'), w--);
  }
  const records: EvidenceRecord[] = [];
  let accepted = 0;
  let lastAccepted = eulas[0]!;
  for (const [i, kind] of kinds.entries()) {
    const facts = clientFacts(i);
    let body: Json;
    let url: string;
    let eula = lastAccepted;
    if (kind === 'withdrawn') {
      url = '/v1/withdrawals';
      body = { subject, slug, reason: `Record ${i + 1}: the user closed the integration and withdrew consent`, ...facts, method: 'settings_page' };
    } else {
      eula = eulas[(kind === 'accepted' ? accepted++ : i) % eulas.length]!;
      url = kind === 'accepted' ? '/v1/acceptances' : '/v1/declines';
      body = {
        subject, slug, version: eula.version, shown_text_sha256: eula.sha256,
        consent_text: `I have read and agree to the Model API Terms of Service ${eula.version} (record ${i + 1})`,
        button_text: kind === 'accepted' ? 'Agree and create API key' : 'Decline',
        page_url: `https://console.example.com/signup/terms?v=${eula.version}&step=${i + 1}`,
        locale: i % 2 ? 'en-US' : 'en-GB',
        ...facts,
        method: kind === 'accepted' ? 'checkbox' : 'button',
      };
      if (kind === 'accepted') lastAccepted = eula;
    }
    const res = await http.post(url, 'signup', body, { 'Idempotency-Key': `evidence-${subject}-${i}-${sha256Hex(JSON.stringify(body)).slice(0, 12)}` });
    check(res, [201], `${kind} record ${i + 1}`);
    records.push({ id: String(res.body.id), kind, version: kind === 'withdrawn' ? lastAccepted.version : eula.version, request: body, response: res.body });
  }

  // 3. Key rotations.
  for (let r = 0; r < (o.keyRotations ?? 0); r++) {
    const res = await http.post(`/v1/subjects/${encodeURIComponent(subject)}/watermark-keys/rotate`, 'admin', { reason: `scheduled rotation ${r + 1}` });
    check(res, [201], 'key rotation');
  }

  // 4. The subject's traffic through the gateway: learn what was served.
  const digests = Array.from({ length: queries }, (_, i) => sha256(`${subject} query ${i}`));
  const served = new Array<number>(queries);
  let watermarked = 0;
  for (let i = 0; i < queries; i += 5000) {
    const batch = digests.slice(i, i + 5000).map((dg) => ({ subject, input_sha256: dg.toString('hex'), label: ownerLabelOf(dg, k), num_classes: k }));
    const res = await http.post('/v1/watermark/decide', 'gateway', { slug, items: batch });
    check(res, [200], 'watermark decide');
    (res.body.results as Json[]).forEach((r, j) => {
      if (r.status !== 'ok') throw new Error(`decide: item ${i + j} has status ${String(r.status)}`);
      served[i + j] = r.label as number;
      if (r.watermarked) watermarked++;
    });
  }

  // 5. Verifications of suspect models.
  const sample = (i: number, suspectLabel: number) => ({ input_sha256: digests[i]!.toString('hex'), owner_label: ownerLabelOf(digests[i]!, k), suspect_label: suspectLabel, num_classes: k });
  const verifications: EvidenceVerification[] = [];
  for (let v = 0; v < nVerifications; v++) {
    const kind = VERIFICATION_KINDS[v % VERIFICATION_KINDS.length]!;
    const ref = `${caseRef}/${String(v + 1).padStart(2, '0')}`;
    const suspect = {
      name: kind === 'independent' ? `IndependentNet-${v + 1}` : `CopyCat-${v + 1}`,
      version: `2026.${(v % 12) + 1}`,
      observed_at: `https://api.suspect${v + 1}.example/v1/classify`,
      observed_on: new Date(Date.UTC(2026, 10, 20, 12, v % 60)).toISOString(),
      ...(v % 2 === 0 ? { artefact_sha256: sha256Hex(`suspect artefact ${v}`) } : {}),
    };
    let res: { status: number; body: Json; text: string };
    let planId: string | null = null;
    if (kind === 'preregistered') {
      const idx = digests.map((_, i) => i).filter((i) => i % 2 === v % 2);
      const plan = await http.post('/v1/verification-plans', 'investigator', {
        case_ref: ref, subjects: [subject], samples: idx.map((i) => ({ input_sha256: digests[i]!.toString('hex'), owner_label: ownerLabelOf(digests[i]!, k), num_classes: k })),
        note: 'inputs committed before the suspect model was queried',
      });
      check(plan, [201], 'verification plan');
      planId = String(plan.body.id);
      res = await http.post('/v1/verifications', 'investigator', { case_ref: ref, suspect, plan_id: planId, suspect_labels: idx.map((i) => served[i]!) });
    } else {
      const idx = kind === 'stolen-screened' ? digests.map((_, i) => i).filter((i) => i % 3 !== 0) : digests.map((_, i) => i);
      const samples = idx.map((i) => sample(i, kind === 'independent' ? independentLabelOf(digests[i]!, k) : served[i]!));
      res = await http.post('/v1/verifications', 'investigator', {
        case_ref: ref, suspect, subjects: [subject], samples,
        ...(kind === 'stolen-screened' ? { subjects_screened: 5000, alpha: 1e-6 } : {}),
      });
    }
    check(res, [201], `verification ${v + 1} (${kind})`);
    const r = (res.body.results as Json[])[0]!;
    verifications.push({ id: String(r.id), kind, caseRef: ref, suspect, decision: r.decision, preregistered: !!res.body.preregistered, planId, result: r });
  }

  return { subject, slug, caseRef, k, eulas, records, keyVersions: 1 + (o.keyRotations ?? 0), queries, watermarked, verifications };
}
