// The one guard against concurrent state changes of a subject (its assent to a EULA, its watermark
// key). An append that changes a state names it; the appender upserts the state's row
// (subject_states) in the append's own statement, to the entry that made the change. A change
// decided on the state it read (a withdrawal of the standing acceptance, a rotation of the current
// key) also names the entry it read as `expected`: when another change came first, the row's check
// refuses the statement, and that append alone fails (`isStateRefusal`). The row is locked for the
// rest of the statement's transaction, so this holds across processes too.

export interface StateChange {
  subject: string;
  /** What about the subject changes: `assentScope(slug)` or `KEY_SCOPE`. */
  scope: string;
  /**
   * The ledger entry that set the state the change was decided on (0: the state has never been
   * set), or null when the change does not depend on it (it then never conflicts).
   */
  expected: number | null;
  /** Which of the append's events makes the change (default 0, the first). */
  event?: number;
}

export const KEY_SCOPE = 'watermark_key';

export function assentScope(slug: string): string {
  return `assent:${slug}`;
}

/** One statement cannot change a row twice: two appends that change one state go in separate batches. */
export function stateKey(c: Pick<StateChange, 'subject' | 'scope'>): string {
  return `${c.scope}\0${c.subject}`;
}

/**
 * $1..$4: subjects, scopes, the entries that make the changes, the expected entries (null: none).
 * PostgreSQL checks the proposed row before it looks for a conflict, so that row claims to replace
 * what it expects; only the update (a state already set) is checked against the state it replaces.
 * A state that was never set has no row, and a reader that saw one also saw its row (one commit).
 */
export const UPSERT_STATES_SQL = `INSERT INTO subject_states (subject, scope, seq, replaced, expected)
SELECT s, c, q, coalesce(e, 0), e FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS x(s, c, q, e)
ON CONFLICT (subject, scope) DO UPDATE SET seq = EXCLUDED.seq, replaced = subject_states.seq, expected = EXCLUDED.expected`;

export function upsertStatesParameters(changes: ReadonlyArray<StateChange & { seq: number }>): unknown[] {
  return [changes.map((c) => c.subject), changes.map((c) => c.scope), changes.map((c) => c.seq), changes.map((c) => c.expected)];
}

/** The append was refused because a state it was decided on had changed (SQLSTATE 23514 on the guard's check). */
export function isStateRefusal(e: unknown): boolean {
  const err = e as { code?: string; constraint?: string; message?: string } | null;
  return err?.code === '23514' && (err.constraint ?? err.message ?? '').includes('subject_states_expected');
}
