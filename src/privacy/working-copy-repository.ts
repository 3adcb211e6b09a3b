// The working copies of one subject's facts in every erasable working table (docs/personal-data.md,
// "Erasure"): what an erasure finds, and the UPDATE statements that scrub it. The statements run
// in the erasure event's own append (db/rows.ts working updates) and name exactly the rows found,
// so the counts the event records are the rows changed. A subject column becomes the tombstone
// `erased:<erasure id>` (a NOT NULL key needs a value; the erasures row says whose it was).
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { fromJson, workingUpdate, type WorkingRow } from '../db/rows.js';

/** One working row's key and the ledger entry it copies. */
interface Found<K> {
  key: K;
  seq: number;
}

export interface SubjectCopies {
  assentRecords: Array<Found<string> & { kind: string; record: Record<string, unknown> }>;
  watermarkKeys: Array<Found<number>>;
  verificationPlans: Array<Found<string> & { subjects: string[] }>;
  verifications: Array<Found<string> & { outcome: Record<string, unknown> }>;
  llmVerificationPlans: Array<Found<string> & { subjects: string[] }>;
  llmVerifications: Array<Found<string> & { outcome: Record<string, unknown> }>;
  llmUsageReports: Array<Found<number>>;
  dossiers: Array<Found<string>>;
  /** With the acceptance.displayed entry of a used session. */
  acceptanceSessions: Array<{ key: string; seq: number | null }>;
  subjectStates: string[];
  idempotencyKeys: Array<{ scope: string; key: string }>;
}

/** What erasure writes in place of the copies' personal values. */
export interface Scrubbed {
  tombstone: string;
  /** Per assent record / outcome id: its JSON with the personal facts held in clear replaced. */
  records: Map<string, unknown>;
  outcomes: Map<string, unknown>;
  llmOutcomes: Map<string, unknown>;
  /** Per plan id: its subjects with the erased one replaced by the tombstone. */
  plans: Map<string, string[]>;
  llmPlans: Map<string, string[]>;
  /** The body a replay of an erased Idempotency-Key answer gets instead. */
  idempotencyAnswer: string;
}

export const PERSONAL_DATA_SCOPE = 'personal-data';

export class WorkingCopyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * The ledger entry that last changed the subject's personal data (a hold, a release, an
   * erasure), 0 when none: what erasures and holds are decided on (ledger/subject-state.ts).
   */
  async personalDataState(pseudonym: string): Promise<number> {
    const r = await this.db.selectFrom('subject_states').select('seq').where('subject', '=', pseudonym).where('scope', '=', PERSONAL_DATA_SCOPE).executeTakeFirst();
    return r ? Number(r.seq) : 0;
  }

  /** Every working row that names the subject (by its identifier, in clear). */
  async find(subject: string): Promise<SubjectCopies> {
    const db = this.db;
    const inArray = sql<boolean>`subjects @> ${JSON.stringify([subject])}::jsonb`;
    const quoted = JSON.stringify(subject);
    const [ar, wk, vp, v, lp, lv, lu, d, s, st, ik] = await Promise.all([
      db.selectFrom('assent_records').select(['id', 'kind', 'ledger_seq', 'record']).where('subject', '=', subject).execute(),
      db.selectFrom('watermark_keys').select(['version', 'ledger_seq']).where('subject', '=', subject).execute(),
      db.selectFrom('verification_plans').select(['id', 'ledger_seq', 'subjects']).where(inArray).execute(),
      db.selectFrom('verifications').select(['id', 'ledger_seq', 'outcome']).where('subject', '=', subject).execute(),
      db.selectFrom('llm_verification_plans').select(['id', 'ledger_seq', 'subjects']).where(inArray).execute(),
      db.selectFrom('llm_verifications').select(['id', 'ledger_seq', 'outcome']).where('subject', '=', subject).execute(),
      db.selectFrom('llm_usage_reports').select(['ledger_seq']).where('subject', '=', subject).execute(),
      db.selectFrom('dossiers').select(['id', 'ledger_seq']).where('subject', '=', subject).execute(),
      db.selectFrom('acceptance_sessions as s').leftJoin('acceptance_session_uses as u', 'u.session_id', 's.id').select(['s.id', 'u.ledger_seq']).where('s.subject', '=', subject).execute(),
      db.selectFrom('subject_states').select(['scope']).where('subject', '=', subject).execute(),
      // Stored answers (JSON.stringify, compact) that name the subject: as "subject", or in a "subjects" list.
      db.selectFrom('idempotency_keys').select(['scope', 'key'])
        .where('response', 'is not', null)
        .where((eb) => eb.or([
          sql<boolean>`strpos(response, ${`"subject":${quoted}`}) > 0`,
          sql<boolean>`(strpos(response, '"subjects":[') > 0 AND strpos(response, ${quoted}) > 0)`,
        ]))
        .execute(),
    ]);
    return {
      assentRecords: ar.map((r) => ({ key: r.id, seq: Number(r.ledger_seq), kind: r.kind, record: fromJson(r.record) })),
      watermarkKeys: wk.map((r) => ({ key: r.version, seq: Number(r.ledger_seq) })),
      verificationPlans: vp.map((r) => ({ key: r.id, seq: Number(r.ledger_seq), subjects: fromJson(r.subjects) })),
      verifications: v.map((r) => ({ key: r.id, seq: Number(r.ledger_seq), outcome: fromJson(r.outcome) })),
      llmVerificationPlans: lp.map((r) => ({ key: r.id, seq: Number(r.ledger_seq), subjects: fromJson(r.subjects) })),
      llmVerifications: lv.map((r) => ({ key: r.id, seq: Number(r.ledger_seq), outcome: fromJson(r.outcome) })),
      llmUsageReports: lu.map((r) => ({ key: Number(r.ledger_seq), seq: Number(r.ledger_seq) })),
      dossiers: d.map((r) => ({ key: r.id, seq: Number(r.ledger_seq) })),
      acceptanceSessions: s.map((r) => ({ key: r.id, seq: r.ledger_seq === null ? null : Number(r.ledger_seq) })),
      subjectStates: st.map((r) => r.scope),
      idempotencyKeys: ik.map((r) => ({ scope: r.scope, key: r.key })),
    };
  }

  /** The statements that scrub what `find` found, each naming its rows; empty tables give none. */
  scrub(subject: string, c: SubjectCopies, s: Scrubbed): WorkingRow[] {
    const db = this.db;
    const t = s.tombstone;
    const out: WorkingRow[] = [];
    const json = (m: Map<string, unknown>, ids: string[]) => ids.map((id) => JSON.stringify(m.get(id)));
    if (c.assentRecords.length) {
      const ids = c.assentRecords.map((r) => r.key);
      out.push(workingUpdate('assent_records', sql`UPDATE assent_records AS a SET subject = ${t}, record = x.r::jsonb
        FROM unnest(${ids}::uuid[], ${json(s.records, ids)}::text[]) AS x(id, r) WHERE a.id = x.id`.compile(db)));
    }
    if (c.watermarkKeys.length) {
      // The wrapped keys are destroyed (docs/personal-data.md): nothing can detect this subject's watermark again.
      out.push(workingUpdate('watermark_keys', sql`UPDATE watermark_keys SET subject = ${t}, wrapped = ''::bytea
        WHERE subject = ${subject} AND version = ANY(${c.watermarkKeys.map((k) => k.key)}::int[])`.compile(db)));
    }
    for (const [table, rows, plans] of [['verification_plans', c.verificationPlans, s.plans], ['llm_verification_plans', c.llmVerificationPlans, s.llmPlans]] as const) {
      if (!rows.length) continue;
      const ids = rows.map((r) => r.key);
      out.push(workingUpdate(table, sql`UPDATE ${sql.table(table)} AS p SET subjects = x.s::jsonb
        FROM unnest(${ids}::uuid[], ${ids.map((id) => JSON.stringify(plans.get(id)))}::text[]) AS x(id, s) WHERE p.id = x.id`.compile(db)));
    }
    for (const [table, rows, outcomes] of [['verifications', c.verifications, s.outcomes], ['llm_verifications', c.llmVerifications, s.llmOutcomes]] as const) {
      if (!rows.length) continue;
      const ids = rows.map((r) => r.key);
      out.push(workingUpdate(table, sql`UPDATE ${sql.table(table)} AS v SET subject = ${t}, outcome = x.o::jsonb
        FROM unnest(${ids}::uuid[], ${json(outcomes, ids)}::text[]) AS x(id, o) WHERE v.id = x.id`.compile(db)));
    }
    if (c.llmUsageReports.length) {
      out.push(workingUpdate('llm_usage_reports', sql`UPDATE llm_usage_reports SET subject = ${t}
        WHERE ledger_seq = ANY(${c.llmUsageReports.map((r) => r.key)}::bigint[])`.compile(db)));
    }
    if (c.dossiers.length) {
      // The stored PDF prints the subject: it is destroyed; its hash, signature and dossier.issued
      // event stay, so a copy its recipient holds still verifies.
      out.push(workingUpdate('dossiers', sql`UPDATE dossiers SET subject = ${t}, requested_by = 'erased',
        prepared_for = '{"name":"erased","firm":"erased"}'::jsonb, pdf = ''::bytea
        WHERE id = ANY(${c.dossiers.map((d) => d.key)}::uuid[])`.compile(db)));
    }
    if (c.acceptanceSessions.length) {
      // An erased session names nobody and has expired: it can no longer record anything.
      out.push(workingUpdate('acceptance_sessions', sql`UPDATE acceptance_sessions SET subject = ${t},
        auth = '{"method":"erased","session_id":"erased","mfa":false}'::jsonb,
        expires_at = LEAST(expires_at, created_at + interval '1 millisecond')
        WHERE id = ANY(${c.acceptanceSessions.map((x) => x.key)}::uuid[])`.compile(db)));
    }
    if (c.subjectStates.length) {
      out.push(workingUpdate('subject_states', sql`UPDATE subject_states SET subject = ${t}
        WHERE subject = ${subject} AND scope = ANY(${c.subjectStates}::text[])`.compile(db)));
    }
    if (c.idempotencyKeys.length) {
      out.push(workingUpdate('idempotency_keys', sql`UPDATE idempotency_keys AS i SET response = ${s.idempotencyAnswer}
        FROM unnest(${c.idempotencyKeys.map((k) => k.scope)}::text[], ${c.idempotencyKeys.map((k) => k.key)}::text[]) AS x(scope, key)
        WHERE i.scope = x.scope AND i.key = x.key`.compile(db)));
    }
    return out;
  }
}

/** How many rows of each table the statements change (what erasure.performed records). */
export function copyCounts(c: SubjectCopies): Record<string, number> {
  const counts: Record<string, number> = {
    assent_records: c.assentRecords.length, watermark_keys: c.watermarkKeys.length, verification_plans: c.verificationPlans.length,
    verifications: c.verifications.length, llm_verification_plans: c.llmVerificationPlans.length, llm_verifications: c.llmVerifications.length,
    llm_usage_reports: c.llmUsageReports.length, dossiers: c.dossiers.length, acceptance_sessions: c.acceptanceSessions.length,
    subject_states: c.subjectStates.length, idempotency_keys: c.idempotencyKeys.length,
  };
  return counts;
}

/** The ledger entries the working copies copy (for the clear events an erasure cannot remove). */
export function copiedSeqs(c: SubjectCopies): number[] {
  const all = [c.assentRecords, c.watermarkKeys, c.verificationPlans, c.verifications, c.llmVerificationPlans, c.llmVerifications, c.llmUsageReports, c.dossiers];
  const seqs = [...all.flatMap((rows) => rows.map((r) => r.seq)), ...c.acceptanceSessions.flatMap((x) => (x.seq === null ? [] : [x.seq]))];
  return [...new Set(seqs)].sort((a, b) => a - b);
}
