// The verifier's report in plain words for a reader who is not a developer: one line per check,
// passed or failed, with what it means. The technical sentence stays available beside it.
import type { DossierReport } from '../../dossier/verify.js';

export interface PlainCheck {
  title: string;
  ok: boolean;
  /** What the result means, in plain words. */
  meaning: string;
  /** The verifier's own sentences. */
  technical: string[];
}

interface BundlePart {
  title: string;
  match: RegExp;
  passed: string;
  failed: string;
}

// Each failure of the evidence-bundle check goes to the first part whose pattern it matches.
const BUNDLE_PARTS: BundlePart[] = [
  {
    title: 'The signing key',
    match: /signing key|trusted key|key id/,
    passed: 'The evidence was signed with the key shown above.',
    failed: 'The evidence was signed with a key that the organisation does not publish. The dossier was not issued by this organisation, or it was forged.',
  },
  {
    title: 'The signature of the evidence',
    match: /bundle signature|not RFC 8785|not an assentmark evidence bundle|is not a string|cites no ledger entry/,
    passed: 'The evidence inside the PDF is signed with the signing key and has not changed since.',
    failed: 'The evidence inside the PDF does not match its signature: it was changed after it was signed.',
  },
  {
    title: 'The ledger checkpoint',
    match: /checkpoint/,
    passed: 'The snapshot of the whole evidence ledger that the dossier relies on is signed with the signing key.',
    failed: 'The snapshot of the evidence ledger in the dossier is not correctly signed, or it was altered.',
  },
  {
    title: 'The inclusion proofs',
    match: /inclusion proof|not in the tree|beyond the checkpoint/,
    passed: 'Every cited record is shown, by a cryptographic proof, to be part of that ledger snapshot.',
    failed: 'At least one cited record cannot be shown to be part of the ledger: it may have been added or changed afterwards.',
  },
  {
    title: 'The cited ledger records',
    match: /^entry /,
    passed: 'Every ledger record cited in the dossier is intact: its content matches its fingerprint.',
    failed: 'At least one ledger record cited in the dossier was altered.',
  },
  {
    title: 'The consistency proof',
    match: /consistency|earlier/,
    passed: 'The ledger snapshot extends the earlier, independently timestamped snapshot without changing anything in it.',
    failed: 'The ledger snapshot cannot be shown to extend the earlier timestamped one: the ledger may have been rewritten.',
  },
  {
    title: 'The receipts',
    match: /^receipt/,
    passed: 'The receipts given to the user at the time match the cited records.',
    failed: 'At least one receipt does not match the cited records, or its signature is wrong.',
  },
];

export function plainChecks(r: DossierReport, keysGiven: boolean): PlainCheck[] {
  const out: PlainCheck[] = [];
  for (const c of r.checks) {
    if (c.name === 'pdf-signature') {
      out.push({
        title: 'The PDF signature', ok: c.ok, technical: [c.detail],
        meaning: c.ok
          ? 'The PDF is signed as a whole, and not one byte of it has changed since it was signed.'
          : 'The PDF was changed after it was signed, or its signature is damaged. Do not rely on this file.',
      });
    } else if (c.name === 'attachments') {
      out.push({ title: 'The files inside the PDF', ok: false, technical: [c.detail], meaning: 'The evidence files inside the PDF cannot be read: this is not a complete dossier, or it is damaged.' });
    } else if (c.name === 'evidence-bundle') {
      if (!c.ok && r.bundleFailures.length === 0) {
        out.push({ title: 'The evidence inside the PDF', ok: false, technical: [c.detail], meaning: 'The PDF does not contain the signed evidence of a dossier. It is not an assentmark dossier, or it was stripped.' });
        continue;
      }
      const rest = [...r.bundleFailures];
      for (const p of BUNDLE_PARTS) {
        if (p.title === 'The consistency proof' && !r.hasConsistencyProof) continue;
        if (p.title === 'The signing key' && !keysGiven) continue;
        const mine = rest.filter((f) => p.match.test(f));
        for (const f of mine) rest.splice(rest.indexOf(f), 1);
        out.push({ title: p.title, ok: mine.length === 0, meaning: mine.length === 0 ? p.passed : p.failed, technical: mine.length ? mine : [] });
      }
      if (rest.length > 0) out.push({ title: 'The evidence inside the PDF', ok: false, meaning: 'Something else in the signed evidence is wrong.', technical: rest });
      out.find((x) => x.title === 'The signature of the evidence')?.technical.push(...(c.ok ? [c.detail] : []));
    } else if (c.name === 'timestamp') {
      const none = c.detail.startsWith('none:');
      out.push({
        title: 'The outside timestamp', ok: c.ok, technical: [c.detail],
        meaning: none
          ? 'There is no independent timestamp: the date in the ledger is the organisation\'s own statement.'
          : c.ok
            ? 'An independent time-stamping authority confirms the ledger snapshot existed at the time it states.'
            : 'The independent timestamp does not match the ledger snapshot, or its signature is wrong.',
      });
    } else if (c.name.startsWith('exhibit ')) {
      const file = c.name.slice('exhibit '.length);
      out.push({
        title: `The Terms of Service text (${file})`, ok: c.ok, technical: [c.detail],
        meaning: c.ok ? 'The attached text is exactly the version recorded in the ledger.' : 'The attached text is not a version recorded in the ledger: it was changed.',
      });
    } else if (c.name === 'detached-signature') {
      out.push({
        title: 'The separate signature file (.sig)', ok: c.ok, technical: [c.detail],
        meaning: c.ok ? 'The .sig file is a valid signature of this exact PDF with the signing key.' : 'The .sig file is not a signature of this PDF with the signing key: either the PDF or the .sig is not the one that was issued.',
      });
    } else {
      out.push({ title: c.name, ok: c.ok, technical: [c.detail], meaning: c.ok ? 'Passed.' : 'Failed.' });
    }
  }
  return out;
}

/** A key id (32 hex digits) in groups of four, easier to compare by eye. */
export function groupHex(h: string): string {
  return (h.match(/.{1,4}/g) ?? []).join(' ');
}
