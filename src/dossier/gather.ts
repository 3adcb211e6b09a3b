// Gathers a subject's evidence into a DossierModel and the signed evidence bundle.
import { createHash, X509Certificate } from 'node:crypto';
import type { AssentRecordRepository } from '../assent/record-repository.js';
import type { Sealer } from '../ledger/events.js';
import type { OpeningRepository, StoredOpening } from '../privacy/opening-repository.js';
import type { ErasureInfo } from '../privacy/erasure-repository.js';
import { erasedSubjectName } from '../privacy/fields.js';
import type { LegalHold } from '../privacy/hold-repository.js';
import { openData, personalFields, type FieldOpening } from '../privacy/fields.js';
import type { BundleErasedFact, BundleOpening } from './openings.js';
import type { Ledger } from '../ledger/ledger.js';
import { parseEvent } from '../ledger/events.js';
import type { PlanRepository } from '../verification/plan-repository.js';
import type { VerificationRecord, VerificationRepository } from '../verification/repository.js';
import type { VerificationSamplesRepository } from '../verification/samples-repository.js';
import { buildSamplesCsv, type SamplesCsv, type SamplesCsvTask } from './samples-csv.js';
import type { WatermarkKeyRepository } from '../watermark-keys/repository.js';
import type { LedgerEntry } from '../ledger/format.js';
import { buildReceipt, receiptInclusion } from '../assent/receipt.js';
import type { EulaService, EulaVersion } from '../eula/service.js';
import type { SigningIdentity } from '../pdf/certificate.js';
import { readCheckpoint } from '../ledger/checkpoint.js';
import type { StoredCheckpoint } from '../ledger/checkpoint-repository.js';
import { inclusionProof, rootHash, type NodeReader } from '../ledger/merkle.js';
import { noteKeyHash } from '../ledger/note.js';
import type { StoredTimestamp } from '../timestamp/repository.js';
import { verifyTimestampToken } from '../timestamp/rfc3161.js';
import { buildBundle, BUNDLE_TYPE, NO_TIMESTAMP_STATEMENT } from './bundle.js';
import { AppError } from '../problems/app-error.js';
import { exhibitLetter } from './exhibits.js';
import type { PaperSize } from '../config/config.js';
import { gatherLlm, llmModel, type LlmEvidenceSources } from './llm-evidence.js';
import { checkedDisplayed, displayedRefs } from './displayed.js';
import type { DossierAssentRecord, DossierErasedFact, DossierErasure, DossierEula, DossierHold, DossierModel, DossierSamples, DossierTimestamp } from './model.js';

export interface GatherInput {
  dossierId: string;
  subject: string;
  caseRef: string;
  verificationIds?: string[] | undefined;
  requestedBy: string;
  preparedFor: { name: string; firm: string };
  issuedAt: Date;
  organisation: string;
  certifierName: string;
  certifierTitle: string;
  /** The laws the certification is declared under; blank: the dossier is a draft. */
  jurisdiction?: string;
  /** Where the service publishes its keys.json; blank: the dossier is a draft. */
  keysUrl?: string;
  /** Default US Letter. */
  paperSize?: PaperSize;
}

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();
const sha256Hex = (b: Uint8Array): string => sha256(b).toString('hex');

/** The lines of a signed note as printed: its text, the blank line, the signature lines. */
function noteLines(note: Buffer): string[] {
  return note.toString('utf8').replace(/\n$/, '').split('\n');
}

/** What a dossier needs of the RFC 3161 timestamps of checkpoints (a TimestampService fits). */
export interface DossierTimestamps {
  /** Whether a time-stamping authority is configured: then every dossier's checkpoint is stamped. */
  readonly configured: boolean;
  /** Stamps a checkpoint (or returns its existing token); null without a TSA; throws when the TSA fails. */
  stamp(cp: StoredCheckpoint): Promise<StoredTimestamp | null>;
  /** The most recent timestamped checkpoint at or below `size`. */
  latest(size?: number): Promise<StoredTimestamp | undefined>;
}

/** What a dossier reads its evidence from. */
export interface EvidenceSources {
  ledger: Ledger;
  eulas: EulaService;
  /** Seals the dossier.issued event's personal facts, and gives the subject's pseudonym (docs/personal-data.md). */
  sealer: Sealer & { of(subject: string): string };
  /** The openings of the cited events' personal facts (the bundle carries them). */
  openings: Pick<OpeningRepository, 'forEvents'>;
  /** Erasures of personal data: when, why and at which entry each erased fact was erased. */
  erasures: { forEvents(eventIds: readonly string[]): Promise<ErasureInfo[]>; forSubject(pseudonym: string): Promise<ErasureInfo[]> };
  /** The subject's legal holds (listed in the dossier, their events cited). */
  holds: { forSubject(pseudonym: string): Promise<LegalHold[]> };
  records: AssentRecordRepository;
  keys: WatermarkKeyRepository;
  verifications: VerificationRepository;
  plans: PlanRepository;
  /** The samples each verification ran on (attached as CSV). */
  samples: VerificationSamplesRepository;
  /** Without it (or without a TSA) the dossier says that no outside timestamp exists. */
  timestamps?: DossierTimestamps | undefined;
  /** Text-watermark verifications (section 6A); without it the dossier has none. */
  llm?: LlmEvidenceSources | undefined;
  /** Builds a sample-list CSV (on a worker in the service); without it, on this thread. */
  samplesCsv?: ((task: SamplesCsvTask) => Promise<SamplesCsv>) | undefined;
}

/** Each perfect subtree read once: the cited entries' audit paths share their upper nodes. */
function memoized(read: NodeReader): NodeReader {
  const seen = new Map<string, Promise<Buffer>>();
  return (height, index) => {
    const k = `${height}/${index}`;
    let p = seen.get(k);
    if (!p) {
      p = Promise.resolve(read(height, index));
      seen.set(k, p);
    }
    return p;
  };
}

/** The token's TSA name, as the token states it (stamp() verified the token when it was taken). */
function timestampOf(t: StoredTimestamp): DossierTimestamp {
  let tsaName: string | null = null;
  try {
    tsaName = verifyTimestampToken(t.token, t.digest).tsaName ?? null;
  } catch {
    // kept as stored; the verifier reports a bad token
  }
  return { tsaUrl: t.tsaUrl, tsaName, genTime: t.genTime.toISOString(), serial: t.serial, digest: t.digest.toString('hex') };
}

export async function gatherDossier(src: EvidenceSources, identity: SigningIdentity, i: GatherInput): Promise<{ model: DossierModel; bundleBytes: Buffer; citedSeqs: number[] }> {
  const { ledger, eulas } = src;
  const key = ledger.signingKey;
  const pseudonym = src.sealer.of(i.subject);
  const [subjectErasures, holds] = await Promise.all([src.erasures.forSubject(pseudonym), src.holds.forSubject(pseudonym)]);
  // After an erasure the working copies name the subject by the erasure (erasedSubjectName): read them under every name it had.
  const names = [i.subject, ...subjectErasures.map((e) => erasedSubjectName(e.id))];
  const under = async <T>(read: (name: string) => Promise<T[]>): Promise<T[]> => (await Promise.all(names.map(read))).flat();
  const wantedIds = i.verificationIds ? new Set(i.verificationIds) : undefined;
  const [records, keys, allVerifications, llm] = await Promise.all([
    under((n) => src.records.forSubject(n)).then((rs) => rs.sort((a, b) => a.ledgerSeq - b.ledgerSeq)),
    under((n) => src.keys.all(n)).then((ks) => ks.sort((a, b) => a.version - b.version)),
    under((n) => src.verifications.forSubject(n)).then((vs) => vs.sort((a, b) => a.ledgerSeq - b.ledgerSeq)),
    gatherLlm(src.llm, names, wantedIds),
  ]);
  if (records.length === 0 && allVerifications.length === 0 && llm.records.length === 0) {
    // Erasure scrubs the working records a dossier is built from; the ledger keeps only commitments.
    const erased = subjectErasures.at(-1);
    throw new AppError('nothing_to_issue', erased
      ? `subject "${i.subject}" has no recorded assent and no verification left to put in a dossier: its personal data was erased on ${erased.performedAt.toISOString()} under ${erased.basis} request ${erased.requestRef} (ledger entry ${erased.seq}), which removed the records a dossier is built from; the ledger keeps their commitments only`
      : `subject "${i.subject}" has no recorded assent and no verification: there is no evidence to put in a dossier`);
  }
  let verifications = allVerifications;
  if (i.verificationIds) {
    const byId = new Map(allVerifications.map((v) => [v.id, v]));
    const llmIds = new Set(llm.records.map((v) => v.id));
    const foreign = i.verificationIds.filter((id) => !byId.has(id) && !llmIds.has(id));
    if (foreign.length) throw new AppError('verification_not_of_subject', `verification(s) ${foreign.join(', ')} do not exist or were not recorded for subject "${i.subject}"`);
    const wanted = new Set(i.verificationIds);
    verifications = allVerifications.filter((v) => wanted.has(v.id));
  }

  // EULA versions the subject acted on, with each slug's history.
  const slugs = [...new Set(records.map((r) => r.slug))];
  const history: Record<string, EulaVersion[]> = {};
  for (const s of slugs) history[s] = await eulas.history(s);
  const actedOn = new Set(records.map((r) => `${r.slug}\0${r.version}`));
  const eulaList = slugs.flatMap((s) => history[s]!.filter((v) => actedOn.has(`${v.slug}\0${v.version}`)));

  // Plans referenced by pre-registered verifications are cited too.
  const planIds = [...new Set(verifications.map((v) => v.planId).filter((x): x is string => !!x))];
  const plans = await src.plans.many(planIds);

  // Acceptances and declines made through a consent widget: what it showed is cited too, once
  // checked against the record (before anything is stamped or proven).
  const recordEntries = await ledger.entriesBySeq([...new Set(records.map((r) => r.ledgerSeq))]);
  const shownRefs = displayedRefs(recordEntries);
  const early = [...recordEntries, ...(await ledger.entriesBySeq([...new Set([...shownRefs.values()].map((d) => d.seq))]))];
  const earlyBySeq = new Map(early.map((e) => [e.seq, e]));
  const displayed = new Map([...shownRefs].map(([seq, ref]) => [seq, checkedDisplayed(earlyBySeq.get(seq)!, ref, earlyBySeq.get(ref.seq))]));

  // The personal facts of every cited entry: opened, or erased by a cited erasure.performed entry.
  const factSeqs = [...new Set([
    ...records.map((r) => r.ledgerSeq),
    ...[...shownRefs.values()].map((d) => d.seq),
    ...keys.map((k) => k.ledgerSeq),
    ...verifications.map((v) => v.ledgerSeq),
    ...plans.map((p) => p.ledgerSeq),
    ...llm.seqs,
    ...holds.flatMap((h) => [h.placed.seq, ...(h.released ? [h.released.seq] : [])]),
  ])];
  for (const e of await ledger.entriesBySeq(factSeqs.filter((s) => !earlyBySeq.has(s)))) earlyBySeq.set(e.seq, e);
  const stored = await src.openings.forEvents(factSeqs.map((s) => earlyBySeq.get(s)?.eventId).filter((x): x is string => !!x));
  // Only the facts about this subject: a plan's other screened subjects stay commitments.
  const own = stored.filter((o) => o.pseudonym === pseudonym);
  const erasures = new Map(subjectErasures.map((x) => [x.eventId, x]));
  const unknown = [...new Set(own.filter((o) => o.erased && !erasures.has(o.erased.eventId)).map((o) => o.erased!.eventId))];
  for (const x of await src.erasures.forEvents(unknown)) erasures.set(x.eventId, x);
  for (const e of await ledger.entriesBySeq([...erasures.values()].map((x) => x.seq).filter((s) => !earlyBySeq.has(s)))) earlyBySeq.set(e.seq, e);
  const facts = personalFacts(stored, own, erasures, earlyBySeq);

  const citedSeqs = [...new Set([
    ...factSeqs,
    ...eulaList.map((v) => v.ledgerSeq),
    ...[...erasures.values()].map((x) => x.seq),
  ])].sort((a, b) => a - b);

  // A fresh checkpoint covers every cited entry; the full verifier runs at issue time.
  const cp = await ledger.checkpoint();
  if (!cp) throw new Error('the ledger is empty');
  if (cp.format !== 2 || !cp.rootHash) throw new AppError('proof_unavailable', `the ledger's latest checkpoint (size ${cp.size}) is a first-version checkpoint without a Merkle root; a dossier can be issued once the ledger has grown past it`);
  const cpStatement = readCheckpoint(cp.body);
  if (!cpStatement) throw new Error(`the stored checkpoint at size ${cp.size} is malformed`);
  // Time from outside: this checkpoint's token (taken now when a TSA is configured), and the latest
  // earlier timestamped checkpoint with the proof that its tree is a prefix of this one.
  const stamped = src.timestamps?.configured ? await src.timestamps.stamp(cp) : null;
  const earlierStamp = cp.size > 1 ? await src.timestamps?.latest(cp.size - 1) : undefined;
  const earlierCp = earlierStamp ? await ledger.checkpointAt(earlierStamp.size) : undefined;
  const earlier = earlierStamp && earlierCp && earlierCp.format === 2 && earlierCp.rootHash && sha256(earlierCp.body).equals(earlierStamp.digest)
    ? { stamp: earlierStamp, cp: earlierCp, consistency: await ledger.consistencyProof(earlierCp.size, cp.size) }
    : null;
  const report = await ledger.verifyIncrementally();
  const entries = [...earlyBySeq.values(), ...(await ledger.entriesBySeq(citedSeqs.filter((s) => !earlyBySeq.has(s))))].sort((a, b) => a.seq - b.seq);
  const bySeq = new Map(entries.map((e) => [e.seq, e]));
  // RFC 9162 inclusion proofs of the cited entries in the tree of the checkpoint's size.
  const read = memoized(ledger.nodeReader());
  const [treeRoot, paths] = await Promise.all([rootHash(cp.size, read), Promise.all(entries.map((e) => inclusionProof(e.seq - 1, cp.size, read)))]);
  if (!treeRoot.equals(cp.rootHash)) throw new Error(`the stored Merkle tree no longer has the root signed at size ${cp.size}`);
  if (earlier && !earlier.consistency.toRoot.equals(cp.rootHash)) throw new Error(`the stored Merkle tree no longer has the root signed at size ${cp.size}`);

  // Events as the dossier prints them: the subject's personal facts opened, erased ones left as commitments.
  const eventData = (e: LedgerEntry) => facts.open(e);
  const receipts = records.map((r) => buildReceipt(bySeq.get(r.ledgerSeq)!, ledger.origin, key));
  const { bytes: bundleBytes, signature: bundleSig } = buildBundle({
    origin: ledger.origin, dossierId: i.dossierId, caseRef: i.caseRef, subject: i.subject, issuedAt: i.issuedAt, key,
    entries: entries.map((entry, n) => ({ entry, proof: { leafIndex: entry.seq - 1, treeSize: cp.size, proof: paths[n]! } })),
    checkpointNote: cp.body,
    checkpointTimestamp: stamped,
    earlier: earlier ? { note: earlier.cp.body, timestamp: earlier.stamp, fromSize: earlier.cp.size, toSize: cp.size, proof: earlier.consistency.proof } : null,
    receipts,
    subjectPseudonym: pseudonym,
    openings: facts.openings,
    erased: facts.erased,
  });

  // Attachments (exhibits): bundle, its signature, the public key, EULA texts, receipts.
  const attachments: DossierModel['attachments'] = [];
  const attach = (name: string, mimeType: string, description: string, relationship: 'Data' | 'Source' | 'Supplement', data: Buffer) =>
    attachments.push({ name, mimeType, description, relationship, dataBase64: data.toString('base64') });
  attach('evidence-bundle.json', 'application/json', 'Evidence bundle: cited ledger entries with their RFC 9162 inclusion proofs, the signed checkpoint note, outside timestamps and receipts (RFC 8785 canonical JSON)', 'Data', bundleBytes);
  attach('evidence-bundle.json.sig', 'application/octet-stream', 'Ed25519 signature (64 bytes) over evidence-bundle.json', 'Supplement', bundleSig);
  attach('signing-key.pem', 'application/x-pem-file', `Ed25519 public key ${key.keyId} of the service`, 'Supplement', Buffer.from(key.publicKeyPem()));
  const eulaModels: DossierEula[] = eulaList.map((v) => {
    const name = `eula-${v.slug}-${v.version}.txt`;
    attach(name, 'text/plain', `Verbatim text of ${v.slug} version ${v.version} (SHA-256 ${v.textSha256})`, 'Source', Buffer.from(v.text, 'utf8'));
    return { ...eulaJson(v), text: v.text, attachment: name };
  });
  const pathOf = new Map(entries.map((e, n) => [e.seq, paths[n]!]));
  const samples = await sampleExhibits(src, verifications, plans.map((p) => p.id), bySeq, attach);
  const assent: DossierAssentRecord[] = records.map((r, n) => {
    const e = bySeq.get(r.ledgerSeq)!;
    const name = `receipt-${String(n + 1).padStart(2, '0')}-${r.kind}.json`;
    // As the service serves receipts: the signed receipt, and its inclusion proof in the dossier's checkpoint.
    const served = { ...receipts[n]!, inclusion: receiptInclusion({ leafIndex: e.seq - 1, treeSize: cp.size, proof: pathOf.get(e.seq)! }, cp.body) };
    attach(name, 'application/json', `Signed receipt of the ${r.kind} record ${r.id}, with its inclusion proof in the checkpoint at size ${cp.size}`, 'Supplement', Buffer.from(JSON.stringify(served, null, 2) + '\n'));
    const shown = displayed.get(e.seq);
    return { id: r.id, kind: r.kind, slug: r.slug, version: r.version, serverTime: r.serverTime.toISOString(), ledgerSeq: e.seq, eventId: e.eventId, data: eventData(e), receipt: receipts[n]!, receiptAttachment: name, ...(r.kind === 'withdrawn' ? {} : { displayed: shown ? { ...shown, data: eventData(bySeq.get(shown.ledgerSeq)!) } : null }) };
  });

  const model: DossierModel = {
    dossierId: i.dossierId,
    caseRef: i.caseRef,
    subject: i.subject,
    issuedAt: i.issuedAt.toISOString(),
    origin: ledger.origin,
    organisation: i.organisation,
    requestedBy: i.requestedBy,
    preparedFor: i.preparedFor,
    signingKey: { keyId: key.keyId, publicKeyBase64: key.publicKey.toString('base64'), publicKeyPem: key.publicKeyPem() },
    pdfCertificate: { subject: certificateSubject(identity.certPem), fingerprintSha256: identity.fingerprintSha256 },
    subjectFacts: {
      firstSeen: records[0] ? records[0].serverTime.toISOString() : null,
      records: records.length,
      acceptances: records.filter((r) => r.kind === 'accepted').length,
      declines: records.filter((r) => r.kind === 'declined').length,
      withdrawals: records.filter((r) => r.kind === 'withdrawn').length,
      slugs,
    },
    eulas: eulaModels,
    eulaHistory: Object.fromEntries(slugs.map((s) => [s, history[s]!.map((v) => eulaJson(v))])),
    assent,
    keys: keys.map((k) => {
      const e = bySeq.get(k.ledgerSeq)!;
      return { version: k.version, keyId: k.keyId, commitment: k.commitment, assignedAt: k.assignedAt.toISOString(), reason: k.reason, ledgerSeq: e.seq, eventType: e.eventType };
    }),
    verifications: verifications.map((v) => {
      const e = bySeq.get(v.ledgerSeq)!;
      return { id: v.id, caseRef: v.caseRef, createdAt: v.createdAt.toISOString(), ledgerSeq: e.seq, decision: v.decision, outcome: eventData(e), samples: samples.verifications.get(v.id) ?? null, planSamples: v.planId ? samples.plans.get(v.planId) ?? null : null };
    }),
    llmVerifications: llmModel(llm, bySeq),
    erasures: [...erasures.values()].sort((a, b) => a.seq - b.seq).map((x) => erasureModel(x, bySeq.get(x.seq)!, facts.erasedFacts)),
    erasedFacts: facts.erasedFacts,
    holds: holds.map((h) => holdModel(h, bySeq, eventData)),
    cited: entries.map((e, n) => ({ seq: e.seq, eventId: e.eventId, eventType: e.eventType, recordedAt: e.recordedAt ?? '', leafHash: e.leafHash.toString('hex'), prevHash: e.prevHash.toString('hex'), chainHash: e.chainHash.toString('hex'), proofHashes: paths[n]!.length })),
    checkpoint: {
      size: cp.size, rootHash: cp.rootHash.toString('hex'), rootBase64: cp.rootHash.toString('base64'), chainHash: cp.chainHash.toString('hex'), keyId: cp.keyId,
      noteKeyHash: noteKeyHash(ledger.origin, key.publicKey).toString('hex'),
      timestamp: cpStatement.time,
      noteLines: noteLines(cp.body),
      noteSha256: sha256Hex(cp.body),
      signatureBase64: cp.signature.toString('base64'),
    },
    proofs: {
      bundleType: BUNDLE_TYPE,
      entries: entries.length,
      inclusionHashes: paths.reduce((n, p) => n + p.length, 0),
      longestPath: Math.max(0, ...paths.map((p) => p.length)),
    },
    outsideTime: {
      checkpoint: stamped ? timestampOf(stamped) : null,
      statement: stamped ? null : NO_TIMESTAMP_STATEMENT,
      earlier: earlier ? {
        size: earlier.cp.size, rootHash: earlier.cp.rootHash!.toString('hex'), time: readCheckpoint(earlier.cp.body)?.time ?? '',
        timestamp: timestampOf(earlier.stamp), consistencyHashes: earlier.consistency.proof.length,
        citedCovered: entries.filter((e) => e.seq <= earlier.cp.size).length,
      } : null,
    },
    ledgerVerification: { ok: report.ok, size: report.size, checkpointsVerified: report.checkpointsVerified, headHash: report.headHash, fault: report.fault ? `entry ${report.fault.seq}: ${report.fault.reason}` : null, checkedAt: new Date().toISOString(), fullAt: report.fullAt.toISOString(), fullSize: report.fullSize, incrementalFrom: report.incrementalFrom },
    certification: { certifierName: i.certifierName, certifierTitle: i.certifierTitle, jurisdiction: i.jurisdiction ?? '' },
    keysUrl: i.keysUrl ?? '',
    paperSize: i.paperSize ?? 'LETTER',
    exhibits: attachments.map((a, n) => ({ letter: exhibitLetter(n), name: a.name, description: a.description, mimeType: a.mimeType, relationship: a.relationship, sha256: sha256Hex(Buffer.from(a.dataBase64, 'base64')) })),
    attachments,
    bundleSha256: sha256Hex(bundleBytes),
  };
  return { model, bundleBytes, citedSeqs };
}

/**
 * One CSV per verification and per plan, attached as exhibits. Each is read back before it is
 * attached: its digest must be the one the ledger event recorded (and, for a verification, n and m
 * the recorded statistic), so a dossier never attaches samples that do not tie to the evidence.
 */
async function sampleExhibits(
  src: EvidenceSources,
  verifications: readonly VerificationRecord[],
  planIds: readonly string[],
  bySeq: ReadonlyMap<number, LedgerEntry>,
  attach: (name: string, mimeType: string, description: string, relationship: 'Data' | 'Source' | 'Supplement', data: Buffer) => void,
): Promise<{ verifications: Map<string, DossierSamples>; plans: Map<string, DossierSamples> }> {
  const [screenings, marks] = await Promise.all([
    src.samples.screenings([...new Set(verifications.map((v) => v.screeningId))]),
    src.samples.marks(verifications.map((v) => v.id)),
  ]);
  const out = { verifications: new Map<string, DossierSamples>(), plans: new Map<string, DossierSamples>() };
  const build = src.samplesCsv ?? (async (t: SamplesCsvTask) => buildSamplesCsv(t));
  const tie = (name: string, csv: SamplesCsv, recorded: { digest: string; count: number; seq: number; n?: number; m?: number }): DossierSamples => {
    const f = csv.facts;
    if (f.digest !== recorded.digest || f.rows !== recorded.count || (recorded.n !== undefined && (f.n !== recorded.n || f.m !== recorded.m))) {
      throw new Error(`the stored samples of ${name} do not reproduce ledger entry ${recorded.seq}`);
    }
    return { attachment: name, sha256: csv.sha256, rows: f.rows, digest: f.digest, n: f.n, m: f.m, ledgerSeq: recorded.seq };
  };
  for (const v of verifications) {
    const stored = screenings.get(v.screeningId);
    // Verifications recorded before their samples were kept have none to attach.
    if (!stored) continue;
    const name = `samples-verification-${v.id}.csv`;
    const csv = await build({ kind: 'verification', lines: stored.lines, marks: marks.get(v.id) ?? [] });
    const st = v.outcome.statistic;
    const s = tie(name, csv, { digest: v.outcome.samples_digest, count: st.samples_submitted, seq: v.ledgerSeq, n: st.n, m: st.m });
    attach(name, 'text/csv', `Samples of verification ${v.id} (${s.rows} rows, n = ${s.n}, m = ${s.m}); the SHA-256 of its digest lines is the samples digest ${s.digest} of ledger entry ${v.ledgerSeq}`, 'Data', Buffer.from(csv.bytes.buffer, csv.bytes.byteOffset, csv.bytes.byteLength));
    out.verifications.set(v.id, s);
  }
  for (const id of planIds) {
    const p = await src.plans.withSamples(id);
    if (!p) continue;
    const name = `samples-plan-${p.id}.csv`;
    const csv = await build({ kind: 'plan', samples: p.samples });
    const planned = parseEvent(bySeq.get(p.ledgerSeq)!.canonical).data as { samples_digest: string; sample_count: number };
    const s = tie(name, csv, { digest: planned.samples_digest, count: planned.sample_count, seq: p.ledgerSeq });
    attach(name, 'text/csv', `Pre-registered samples of plan ${p.id} (${s.rows} rows); the SHA-256 of its digest lines is the samples digest ${s.digest} of ledger entry ${p.ledgerSeq}`, 'Data', Buffer.from(csv.bytes.buffer, csv.bytes.byteOffset, csv.bytes.byteLength));
    out.plans.set(p.id, s);
  }
  return out;
}

function eulaJson(v: EulaVersion): DossierEula {
  return { slug: v.slug, version: v.version, title: v.title, textSha256: v.textSha256, effectiveAt: v.effectiveAt.toISOString(), publishedAt: v.publishedAt.toISOString(), major: v.major, highlights: v.highlights, ledgerSeq: v.ledgerSeq };
}

/** Subjects of the PDF certificates seen (one, unless the identity file changes): parsed once each. */
const subjects = new Map<string, string>();

function certificateSubject(pem: string): string {
  let subject = subjects.get(pem);
  if (subject === undefined) {
    try {
      // node gives the subject as "CN=...\nO=..."; one line reads better.
      subject = new X509Certificate(pem).subject.replace(/\n/g, ', ');
    } catch {
      subject = '(unreadable certificate)';
    }
    if (subjects.size > 16) subjects.clear();
    subjects.set(pem, subject);
  }
  return subject;
}

/**
 * The subject's personal facts in the cited entries: the bundle's openings and erased facts, and
 * each entry's data with its facts opened. The store must agree with the ledger (every committed
 * field has its opening row; an opening opens its commitment; an erased one is listed by the
 * erasure.performed event that erased it): anything else refuses the dossier.
 */
function personalFacts(stored: readonly StoredOpening[], own: readonly StoredOpening[], erasures: ReadonlyMap<string, ErasureInfo>, bySeq: ReadonlyMap<number, LedgerEntry>) {
  const inconsistent = (seq: number, field: string, why: string): never => {
    throw new AppError('personal_data_inconsistent', `the personal field ${field} of ledger entry ${seq}: ${why}. No dossier was issued; run \`assentmark ledger verify\`.`);
  };
  const rows = new Set(stored.map((o) => `${o.eventId} ${o.field}`));
  for (const e of bySeq.values()) {
    const ev = parseEvent(e.canonical);
    for (const f of personalFields(ev.type, ev.data)) {
      if (f.commitment !== null && !rows.has(`${e.eventId} ${f.field}`)) inconsistent(e.seq, f.field, 'it is committed in the ledger but has no opening row');
    }
  }
  const openings: BundleOpening[] = [];
  const erased: BundleErasedFact[] = [];
  const erasedFacts: DossierErasedFact[] = [];
  const byEvent = new Map<string, FieldOpening[]>();
  for (const o of own) {
    if (o.opening) {
      openings.push({ seq: o.seq, event_id: o.eventId, field: o.field, group: o.group, commitment: o.commitment, salt: o.opening.salt, value: o.opening.value });
      byEvent.set(o.eventId, [...(byEvent.get(o.eventId) ?? []), { field: o.field, opening: o.opening }]);
      continue;
    }
    if (!o.erased) continue;
    const x = erasures.get(o.erased.eventId) ?? inconsistent(o.seq, o.field, `its opening was erased by event ${o.erased.eventId}, which no erasure records`);
    const entry = bySeq.get(x.seq);
    const ev = entry ? parseEvent(entry.canonical) : null;
    const listed = ev?.type === 'erasure.performed' && ev.data.erased.some((r) => r.event_id === o.eventId && r.seq === o.seq && r.field === o.field && r.commitment === o.commitment);
    if (!listed) inconsistent(o.seq, o.field, `its opening was erased, but the erasure.performed event of entry ${x.seq} does not list it`);
    const erasedAt = o.erased.at.toISOString();
    erased.push({ seq: o.seq, event_id: o.eventId, field: o.field, group: o.group, commitment: o.commitment, erasure: { seq: x.seq, event_id: x.eventId, erased_at: erasedAt, basis: x.basis, request_ref: x.requestRef } });
    erasedFacts.push({ seq: o.seq, field: o.field, group: o.group, commitment: o.commitment, erasedAt, basis: x.basis, requestRef: x.requestRef, erasureSeq: x.seq });
  }
  const open = (e: LedgerEntry): Record<string, unknown> => {
    const ev = parseEvent(e.canonical);
    try {
      return openData(ev.type, ev.data, byEvent.get(e.eventId) ?? []) as Record<string, unknown>;
    } catch (err) {
      return inconsistent(e.seq, '(one of them)', (err as Error).message);
    }
  };
  return { openings, erased, erasedFacts, open };
}

function erasureModel(x: ErasureInfo, entry: LedgerEntry, facts: readonly DossierErasedFact[]): DossierErasure {
  const ev = parseEvent(entry.canonical);
  const d = ev.type === 'erasure.performed' ? ev.data : null;
  return {
    id: x.id, ledgerSeq: x.seq, eventId: x.eventId, performedAt: x.performedAt.toISOString(), basis: x.basis, requestRef: x.requestRef,
    factsCited: facts.filter((f) => f.erasureSeq === x.seq).length, factsErased: d?.erased.length ?? 0, clearEvents: d?.clear_events.length ?? 0,
    watermarkKeys: d ? d.watermark_keys.action : 'none',
  };
}

function holdModel(h: LegalHold, bySeq: ReadonlyMap<number, LedgerEntry>, open: (e: LedgerEntry) => Record<string, unknown>): DossierHold {
  const placed = open(bySeq.get(h.placed.seq)!);
  const released = h.released ? open(bySeq.get(h.released.seq)!) : null;
  return {
    id: h.id, caseRef: h.caseRef, placedAt: h.placed.at.toISOString(), placedSeq: h.placed.seq, placedBy: (placed.placed_by as { name?: string } | undefined)?.name ?? '', reason: placed.reason,
    released: h.released && released ? { at: h.released.at.toISOString(), seq: h.released.seq, by: (released.released_by as { name?: string } | undefined)?.name ?? '', reason: released.reason } : null,
  };
}
