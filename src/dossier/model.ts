// The dossier's content as plain data: gathered from the database, rendered in a worker thread.
// Everything here is already public evidence: no key material ever enters a model.
import type { Receipt } from '../assent/receipt.js';

export interface CitedEntry {
  seq: number;
  eventId: string;
  eventType: string;
  recordedAt: string;
  leafHash: string;
  prevHash: string;
  chainHash: string;
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
  /** The event's data as recorded (all fields the signup flow sent, plus server facts). */
  data: Record<string, unknown>;
  receipt: Receipt;
  receiptAttachment: string;
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
  decision: 'detected' | 'not_detected';
  /** The `verification.recorded` event data as recorded. */
  outcome: Record<string, unknown>;
}

export interface DossierExhibit {
  name: string;
  description: string;
  mimeType: string;
  sha256: string;
  relationship: 'Data' | 'Source' | 'Supplement';
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
  cited: CitedEntry[];
  checkpoint: { size: number; chainHash: string; keyId: string; timestamp: string; bodyBase64: string; signatureBase64: string };
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
  certification: { certifierName: string; certifierTitle: string };
  exhibits: DossierExhibit[];
  /** Attachments: name -> bytes (base64), in exhibit order. */
  attachments: Array<{ name: string; mimeType: string; description: string; relationship: 'Data' | 'Source' | 'Supplement'; dataBase64: string }>;
  bundleSha256: string;
}
