// The dossier's content as plain data: gathered from the database, rendered in a worker thread.
// Everything here is already public evidence: no key material ever enters a model.
import type { Receipt } from '../assent/receipt.js';
import type { DossierLlmVerification } from './llm-evidence.js';

export interface CitedEntry {
  seq: number;
  eventId: string;
  eventType: string;
  recordedAt: string;
  leafHash: string;
  prevHash: string;
  chainHash: string;
  /** Hashes in its RFC 9162 audit path to the checkpoint's root. */
  proofHashes: number;
}

/** An RFC 3161 timestamp of a checkpoint note, as the dossier states it. */
export interface DossierTimestamp {
  tsaUrl: string;
  /** The TSA's name as the token states it, when it does. */
  tsaName: string | null;
  genTime: string;
  serial: string;
  /** The message imprint: SHA-256 of the whole signed note, hex. */
  digest: string;
}

export interface DossierEula {
  slug: string;
  version: string;
  title: string;
  textSha256: string;
  effectiveAt: string;
  publishedAt: string;
  major: boolean;
  highlights: Array<{ text: string; note: string }>;
  ledgerSeq: number;
  /** Verbatim text: only for versions the subject accepted, declined or withdrew from. */
  text?: string;
  /** Name of the attachment holding the verbatim text. */
  attachment?: string;
}

export interface DossierAssentRecord {
  id: string;
  kind: 'accepted' | 'declined' | 'withdrawn';
  slug: string;
  version: string;
  serverTime: string;
  ledgerSeq: number;
  eventId: string;
  /** The event's data as recorded (all fields the signup flow sent, plus server facts), its personal facts opened (erased ones remain commitments). */
  data: Record<string, unknown>;
  receipt: Receipt;
  receiptAttachment: string;
  /**
   * What a consent widget showed before this acceptance or decline: its `acceptance.displayed`
   * entry (cited, and checked against this record at issue). Null: recorded without a widget;
   * absent for withdrawals.
   */
  displayed?: DossierDisplayed | null;
}

/** An `acceptance.displayed` entry an acceptance or decline points back at. */
export interface DossierDisplayed {
  ledgerSeq: number;
  eventId: string;
  sessionId: string;
  /** The event's data as recorded (manifest, page, client facts, session). */
  data: Record<string, unknown>;
}

export interface DossierKey {
  version: number;
  keyId: string;
  commitment: string;
  assignedAt: string;
  reason: string;
  ledgerSeq: number;
  eventType: string;
}

export interface DossierVerification {
  id: string;
  caseRef: string;
  createdAt: string;
  ledgerSeq: number;
  decision: 'detected' | 'not_detected' | 'insufficient';
  /** The `verification.recorded` event data as recorded. */
  outcome: Record<string, unknown>;
  /** The attached CSV of its samples (null: recorded before samples were kept). */
  samples: DossierSamples | null;
  /** The attached CSV of its plan's samples, when it was pre-registered. */
  planSamples: DossierSamples | null;
}

/** A sample list attached as CSV, and what it re-derives (checked against the ledger at issue). */
export interface DossierSamples {
  attachment: string;
  sha256: string;
  rows: number;
  /** The samples digest recomputed from the CSV: equal to the one in ledger entry `ledgerSeq`. */
  digest: string;
  n: number;
  m: number;
  ledgerSeq: number;
}

export interface DossierExhibit {
  /** Exhibit A, B, …: in attachment order. */
  letter: string;
  name: string;
  description: string;
  mimeType: string;
  sha256: string;
  relationship: 'Data' | 'Source' | 'Supplement';
}

/** A personal fact of a cited entry whose opening was erased: its commitment remains in the ledger. */
export interface DossierErasedFact {
  seq: number;
  field: string;
  group: string;
  commitment: string;
  erasedAt: string;
  basis: string;
  requestRef: string;
  /** The erasure.performed entry that erased it (cited). */
  erasureSeq: number;
}

/** An erasure of the subject's personal data (an erasure.performed entry, cited). */
export interface DossierErasure {
  id: string;
  ledgerSeq: number;
  eventId: string;
  performedAt: string;
  basis: string;
  requestRef: string;
  /** Of the facts it erased, those in this dossier's cited entries. */
  factsCited: number;
  factsErased: number;
  /** Entries written before personal data left the log, whose clear facts it could not erase. */
  clearEvents: number;
  watermarkKeys: string;
}

/** A legal hold on the subject: its legal_hold.placed entry, and legal_hold.released once released (cited). */
export interface DossierHold {
  id: string;
  caseRef: string;
  placedAt: string;
  placedSeq: number;
  placedBy: string;
  /** The reason as opened (a string), or its commitment once erased. */
  reason: unknown;
  released: { at: string; seq: number; by: string; reason: unknown } | null;
}

export interface DossierModel {
  dossierId: string;
  caseRef: string;
  subject: string;
  issuedAt: string;
  origin: string;
  organisation: string;
  requestedBy: string;
  preparedFor: { name: string; firm: string };
  signingKey: { keyId: string; publicKeyBase64: string; publicKeyPem: string };
  pdfCertificate: { subject: string; fingerprintSha256: string };
  subjectFacts: { firstSeen: string | null; records: number; acceptances: number; declines: number; withdrawals: number; slugs: string[] };
  eulas: DossierEula[];
  /** Version history per slug (without texts). */
  eulaHistory: Record<string, DossierEula[]>;
  assent: DossierAssentRecord[];
  keys: DossierKey[];
  verifications: DossierVerification[];
  /** Text-watermark (LLM) verifications: section 6A (llm-section.ts). */
  llmVerifications?: DossierLlmVerification[];
  /** Erasures of the subject's personal data, and each erased fact of the cited entries. */
  erasures: DossierErasure[];
  erasedFacts: DossierErasedFact[];
  /** The subject's legal holds, open or released. */
  holds: DossierHold[];
  cited: CitedEntry[];
  /** The signed checkpoint note (C2SP tlog-checkpoint) the cited entries are proven against. */
  checkpoint: {
    size: number;
    /** The Merkle root (RFC 9162 MTH) at `size`, hex and as the note writes it (base64). */
    rootHash: string;
    rootBase64: string;
    chainHash: string;
    keyId: string;
    /** The note's 4-byte key hash of the signing key under the origin, hex. */
    noteKeyHash: string;
    /** The time the note states (the service's own clock). */
    timestamp: string;
    /** The note, line by line: its text, a blank line, the signature line. */
    noteLines: string[];
    noteSha256: string;
    /** The raw Ed25519 signature over the note text, base64. */
    signatureBase64: string;
  };
  /** The proofs in the evidence bundle. */
  proofs: { bundleType: string; entries: number; inclusionHashes: number; longestPath: number };
  /** Time from outside the service: RFC 3161 timestamps, or the statement that none exists. */
  outsideTime: {
    checkpoint: DossierTimestamp | null;
    /** Set exactly when the checkpoint has no timestamp. */
    statement: string | null;
    /** The latest earlier timestamped checkpoint and the consistency proof from it. */
    earlier: { size: number; rootHash: string; time: string; timestamp: DossierTimestamp; consistencyHashes: number; citedCovered: number } | null;
  };
  ledgerVerification: {
    ok: boolean;
    size: number;
    checkpointsVerified: number;
    headHash: string | null;
    fault: string | null;
    checkedAt: string;
    /** The last full verification (every entry from genesis) and what was checked after it, at issue. */
    fullAt: string;
    fullSize: number;
    incrementalFrom: number | null;
  };
  certification: { certifierName: string; certifierTitle: string; jurisdiction: string };
  /** URL of the published keys.json, the independent source of the signing key ('' when not configured). */
  keysUrl: string;
  paperSize: 'LETTER' | 'A4';
  exhibits: DossierExhibit[];
  /** Attachments: name -> bytes (base64), in exhibit order. */
  attachments: Array<{ name: string; mimeType: string; description: string; relationship: 'Data' | 'Source' | 'Supplement'; dataBase64: string }>;
  bundleSha256: string;
}
