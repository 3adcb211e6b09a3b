// What a consent widget showed before an acceptance or decline (docs/widget.md): the
// `acceptance.displayed` entry the record points back at, found and checked at issue. A dossier
// never prints a display record that does not tie to the acceptance it stands beside.
import { parseEvent } from '../ledger/events.js';
import type { LedgerEntry } from '../ledger/format.js';
import { AppError } from '../problems/app-error.js';
import type { DossierDisplayed } from './model.js';
import { subjectKey } from './openings.js';

/** The display record an acceptance or decline names: its session, event id and position. */
export interface DisplayedRef {
  session_id: string;
  event_id: string;
  seq: number;
}

/** Record entry seq -> the display record it points back at (only records made through a widget). */
export function displayedRefs(recordEntries: readonly LedgerEntry[]): Map<number, DisplayedRef> {
  const out = new Map<number, DisplayedRef>();
  for (const e of recordEntries) {
    const ev = parseEvent(e.canonical);
    if ((ev.type === 'acceptance.recorded' || ev.type === 'acceptance.declined') && ev.data.presentation.displayed) {
      out.set(e.seq, ev.data.presentation.displayed);
    }
  }
  return out;
}

/**
 * The display record of `record`, checked: the entry at the named seq exists, is an
 * `acceptance.displayed` event with the named event id, precedes the record, belongs to the same
 * session and subject, and shows the text (SHA-256) of the EULA version the record is about.
 * Anything else means the ledger contradicts itself: the dossier is refused, never printed.
 */
export function checkedDisplayed(record: LedgerEntry, ref: DisplayedRef, shown: LedgerEntry | undefined): DossierDisplayed {
  const fail = (why: string): never => {
    throw new AppError('display_record_inconsistent', `ledger entry ${record.seq} (${record.eventType}, event ${record.eventId}) names display record ${ref.event_id} at entry ${ref.seq}, but ${why}. No dossier was issued; run \`assentmark ledger verify\`.`);
  };
  if (!shown) return fail(`there is no entry ${ref.seq}`);
  if (shown.eventType !== 'acceptance.displayed') return fail(`entry ${ref.seq} is of type ${shown.eventType}, not acceptance.displayed`);
  if (shown.eventId !== ref.event_id) return fail(`entry ${ref.seq} is event ${shown.eventId}`);
  if (shown.seq >= record.seq) return fail(`entry ${ref.seq} does not precede the record`);
  const rec = parseEvent(record.canonical);
  const ev = parseEvent(shown.canonical);
  if (ev.type !== 'acceptance.displayed' || (rec.type !== 'acceptance.recorded' && rec.type !== 'acceptance.declined')) return fail('the event types do not parse as such');
  if (ev.data.session_id !== ref.session_id) return fail(`entry ${ref.seq} is of session ${ev.data.session_id}, not ${ref.session_id}`);
  // Committed subjects carry fresh salts: the same subject is the same pseudonym (or, in clear, the same id).
  if (subjectKey(ev.data.subject) !== subjectKey(rec.data.subject)) return fail(`entry ${ref.seq} is of subject ${subjectKey(ev.data.subject)}, not ${subjectKey(rec.data.subject)}`);
  const accepted = rec.data.eula.text_sha256;
  if (ev.data.manifest.text_sha256 !== accepted || rec.data.shown_text_sha256 !== accepted) {
    return fail(`the text it shows has SHA-256 ${ev.data.manifest.text_sha256}, the record's EULA text ${accepted}`);
  }
  return { ledgerSeq: shown.seq, eventId: shown.eventId, sessionId: ev.data.session_id, data: ev.data as Record<string, unknown> };
}

