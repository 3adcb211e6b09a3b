// The verifier's report in plain words for a reader who is not a developer: one line per check,
// passed or failed, with what it means. The technical sentence stays available beside it.
import type { DossierReport } from '../../dossier/verify.js';

export interface PlainCheck {
  title: string;
  /** 'skip': not checked, because what it needs is missing or failed (the meaning says which). */
  status: 'pass' | 'fail' | 'skip';
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

// Each failure of the evidence-bundle check goes to the first part whose pattern it matches
// (an "entry N: ..." failure always to the entries or their inclusion proofs, a "receipt N: ..."
// one to the receipts).
const BUNDLE_PARTS: BundlePart[] = [
  {
    title: 'The signing key',
    match: /^(?!entry |receipt ).*(signing key|trusted key|key id)/,
    passed: 'The evidence was signed with the key shown above.',
    failed: 'The evidence was signed with a key that the organisation does not publish. The dossier was not issued by this organisation, or it was forged.',
  },
  {
    title: 'The signature of the evidence',
    match: /bundle signature|not RFC 8785|not an assentmark evidence bundle|is not a string|cites no ledger entry/,
    passed: 'The evidence inside the PDF is signed with the signing key and has not changed since.',
    failed: 'The evidence inside the PDF does not verify with the signing key: it was changed after it was signed, or it was signed with another key.',
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
    title: 'The ledger checkpoint',
    match: /^(?!entry |receipt ).*checkpoint/,
    passed: 'The snapshot of the whole evidence ledger that the dossier relies on is signed with the signing key.',
    failed: 'The snapshot of the evidence ledger in the dossier is not signed with the signing key, or it was altered.',
  },
  {
    title: 'The consistency proof',
    match: /^(?!entry |receipt ).*(consistency|earlier)/,
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

// The order a reader follows: who signed, what, the snapshot, the records in it, outside time.
const DISPLAY_ORDER = ['The signing key', 'The signature of the evidence', 'The ledger checkpoint', 'The inclusion proofs', 'The cited ledger records', 'The consistency proof', 'The receipts'];

const st = (ok: boolean): PlainCheck['status'] => (ok ? 'pass' : 'fail');

/** "genTime 2026-... by CN=..., O=... (http://...)" of a timestamp check's detail. */
function stampOf(detail: string): { time: string; by: string } | null {
  const m = /genTime (\S+) by (.+?) \(/.exec(detail);
  return m ? { time: m[1] ?? '', by: m[2] ?? '' } : null;
}

export function plainChecks(r: DossierReport, keysGiven: boolean, sigGiven: boolean): PlainCheck[] {
  const out: PlainCheck[] = [];
  for (const c of r.checks) {
    if (c.name === 'pdf-signature') {
      out.push({
        title: 'The PDF signature', status: st(c.ok), technical: [c.detail],
        meaning: c.ok
          ? 'The PDF is signed as a whole, and not one byte of it has changed since it was signed.'
          : 'The PDF was changed after it was signed, or its signature is damaged. Do not rely on this file.',
      });
    } else if (c.name === 'attachments') {
      out.push({ title: 'The files inside the PDF', status: 'fail', technical: [c.detail], meaning: 'The evidence files inside the PDF cannot be read: this is not a complete dossier, or it is damaged.' });
    } else if (c.name === 'evidence-bundle') {
      if (!c.ok && r.bundleFailures.length === 0) {
        out.push({ title: 'The evidence inside the PDF', status: 'fail', technical: [c.detail], meaning: 'The PDF does not contain the signed evidence of a dossier. It is not an assentmark dossier, or it was stripped.' });
        continue;
      }
      const rest = [...r.bundleFailures];
      const assigned = new Map<string, string[]>();
      for (const p of BUNDLE_PARTS) {
        const mine = rest.filter((f) => p.match.test(f));
        for (const f of mine) rest.splice(rest.indexOf(f), 1);
        assigned.set(p.title, mine);
      }
      for (const title of DISPLAY_ORDER) {
        const p = BUNDLE_PARTS.find((x) => x.title === title);
        const mine = assigned.get(title) ?? [];
        if (!p) continue;
        if (mine.length === 0 && title === 'The consistency proof' && !r.hasConsistencyProof) continue;
        if (mine.length === 0 && title === 'The signing key' && !keysGiven) {
          out.push({ title, status: 'skip', meaning: 'Not checked by this page, which has no list of published keys: a person must compare the key fingerprint above with the list at the address the dossier names.', technical: [] });
          continue;
        }
        if (mine.length === 0 && title === 'The receipts' && r.receipts === 0) continue;
        // Inclusion proofs lead to the checkpoint's root: without a checkpoint that holds, there is nothing to check them against.
        if (mine.length === 0 && r.checkpointSize === null && (title === 'The inclusion proofs' || title === 'The consistency proof')) {
          out.push({ title, status: 'skip', meaning: 'Not checked: this needs a correctly signed ledger checkpoint, and there is none.', technical: [] });
          continue;
        }
        out.push({ title, status: st(mine.length === 0), meaning: mine.length === 0 ? p.passed : p.failed, technical: mine });
      }
      if (rest.length > 0) out.push({ title: 'The evidence inside the PDF', status: 'fail', meaning: 'Something else in the signed evidence is wrong.', technical: rest });
      if (c.ok) out.find((x) => x.title === 'The signature of the evidence')?.technical.push(c.detail);
    } else if (c.name === 'timestamp') {
      const none = c.detail.startsWith('none:');
      const earlier = /of the earlier checkpoint/.test(c.detail);
      const stamp = stampOf(c.detail);
      out.push({
        title: earlier ? 'The outside timestamp of the earlier snapshot' : 'The outside timestamp', status: st(c.ok), technical: [c.detail],
        meaning: none
          ? 'There is no independent timestamp: the date in the ledger is the organisation\'s own statement.'
          : c.ok
            ? `The time-stamping authority ${stamp?.by ?? ''} signed that this ${earlier ? 'earlier ' : ''}ledger snapshot existed at ${stamp?.time ?? 'the time it states'}. ${
              /chains to the trusted CA/.test(c.detail)
                ? 'Its certificate chains to the authority the organisation names.'
                : '(This copy of the page has no trusted authority to check it against; its name is as it states it.)'}`
            : 'The timestamp does not match the ledger snapshot, or its signature is wrong.',
      });
    } else if (c.name.startsWith('exhibit ')) {
      const file = c.name.slice('exhibit '.length);
      out.push({
        title: `The Terms of Service text (${file})`, status: st(c.ok), technical: [c.detail],
        meaning: c.ok ? 'The attached text is exactly the version recorded in the ledger.' : 'The attached text is not a version recorded in the ledger: it was changed.',
      });
    } else if (c.name.startsWith('display record of entry ')) {
      out.push({
        title: `What the consent form showed (${c.name.slice('display record of '.length)})`, status: st(c.ok), technical: [c.detail],
        meaning: c.ok
          ? 'The record of what the consent form showed before this acceptance or decline is in the signed evidence, and it shows the same text the person answered.'
          : 'The acceptance names a record of what the consent form showed that is missing from the evidence, or that shows other text: the evidence contradicts itself.',
      });
    } else if (c.name === 'personal-facts') {
      out.push({
        title: 'The personal facts (openings)', status: st(c.ok), technical: [c.detail],
        meaning: c.ok
          ? `The personal facts printed in the dossier (identifier, IP address, browser, session, page, reasons) are exactly those the ledger committed to${/erased/.test(c.detail) ? '; the facts erased since are named, with the erasure that removed them, which is itself in the signed evidence' : ''}.`
          : 'At least one personal fact in the dossier does not match what the ledger committed to, or a fact is missing without a recorded erasure: the evidence was changed.',
      });
    } else if (c.name === 'detached-signature') {
      out.push({
        title: 'The separate signature file (.sig)', status: st(c.ok), technical: [c.detail],
        meaning: c.ok ? 'The .sig file is a valid signature of this exact PDF with the signing key.' : 'The .sig file is not a signature of this PDF with the signing key: either the PDF or the .sig is not the one that was issued.',
      });
    } else {
      out.push({ title: c.name, status: st(c.ok), technical: [c.detail], meaning: c.ok ? 'Passed.' : 'Failed.' });
    }
  }
  if (!sigGiven) out.push({ title: 'The separate signature file (.sig)', status: 'skip', technical: [], meaning: 'Not checked: no .sig file was given. The PDF\'s own signature above is checked without it.' });
  return out;
}

/** A key id (32 hex digits) in groups of four, easier to compare by eye. */
export function groupHex(h: string): string {
  return (h.match(/.{1,4}/g) ?? []).join(' ');
}
