// The text watermark as a service (docs/llm-watermark-spec.md): parameter-set registration, the
// gateway's per-subject keys (derived, cached briefly), pre-registered prompt plans, and
// verification outcomes recorded in the ledger.
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../auth/api-keys.js';
import type { AssentRecordRepository } from '../assent/record-repository.js';
import { standingBySubject } from '../assent/standing.js';
import { SCHEME, TAG } from '../crypto/domains.js';
import { isUniqueViolation } from '../db/errors.js';
import type { KeyRow } from '../idempotency/service.js';
import type { Position } from '../ledger/appender.js';
import { buildEvent, buildSealedEvent, parseEventOf, type EventDataInput } from '../ledger/events.js';
import type { Ledger } from '../ledger/ledger.js';
import type { PreparedEvent } from '../ledger/format.js';
import { AppError } from '../problems/app-error.js';
import type { KeyEncryptionKey } from '../watermark-keys/kek.js';
import type { WatermarkKeyService } from '../watermark-keys/service.js';
import { deriveGlobalTextKey, newGlobalKey, unwrapGlobalKey } from './global-key.js';
import type { GlobalKeyInfo, GlobalKeyRepository } from './global-key-repository.js';
import { DEFAULT_ALPHA, powerTable, sequencesDigest, testKey, type LlmResult } from './detect.js';
import type { ParameterSetRepository, RegisteredParameterSet } from './parameter-set-repository.js';
import { prfKeyFromBytes, prfKeyInteger } from './philox.js';
import type { LlmPlan, LlmPlanRepository } from './plan-repository.js';
import { deriveTextKey, nullGreenRate, parameterSet, parameterSetId, type ParameterSet } from './scheme.js';
import type { KeysInput, LlmPlanInput, LlmVerificationInput, ParameterSetInput, UsageInput } from './schemas.js';
import { distinctTuples, type TupleCounts } from './tuples.js';
import { prepareTuples } from './score.js';
import type { LlmUsageRepository } from './usage-repository.js';
import type { LlmVerificationRecord, LlmVerificationRepository } from './verification-repository.js';

/** How long a gateway may use a key response (and this service its cache): withdrawals take effect within it. */
export const KEY_TTL_SECONDS = 60;

export type GatewayKey =
  | { subject: string; status: 'ok'; key_hex: string; key_integer: string; key_version: number }
  | { subject: string; status: 'no_key' | 'no_acceptance'; detail: string };

export interface LlmRepositories {
  parameterSets: ParameterSetRepository;
  plans: LlmPlanRepository;
  verifications: LlmVerificationRepository;
  records: AssentRecordRepository;
  globalKeys: GlobalKeyRepository;
  usage: LlmUsageRepository;
}

/** A usage report as recorded: one event per subject. */
export interface UsageReport {
  reportId: string;
  recorded: Array<{ subject: string; keyVersion: number; position: Position }>;
}

/** The global layer's PRF key for a parameter set, as the gateway receives it. */
export interface GatewayGlobalKey {
  key_hex: string;
  key_integer: string;
  key_version: number;
}

/** A key a verification tests: a subject's, or the global one (subject null). */
type Candidate = { subject: string | null; layer: 'subject' | 'global'; key: Buffer; info: { version: number; keyId: string; commitment: string } };

export interface LlmOutcomeResult {
  id: string;
  subject: string | null;
  layer: 'subject' | 'global';
  result: LlmResult;
  key: { version: number; keyId: string; commitment: string };
  position: Position;
}

export interface LlmScreening {
  screeningId: string;
  caseRef: string;
  parameterSetId: string;
  preregistered: boolean;
  counts: Omit<TupleCounts, 'tuples'>;
  results: LlmOutcomeResult[];
}

/** A subject's cached state: its derived key per parameter set (null: no watermark key) and its standing. */
interface CachedKey {
  keys: Map<string, { key: Buffer | null; version: number | null }>;
  standing: ReadonlySet<string>;
}

export class LlmWatermarkService {
  readonly #keys = new LRUCache<string, CachedKey>({ max: 50_000, ttl: KEY_TTL_SECONDS * 1000 });
  readonly #sets = new LRUCache<string, RegisteredParameterSet>({ max: 1000 });
  /** The global layer's derived key per parameter set (null: no global key), for the key TTL. */
  readonly #global = new LRUCache<string, { key: GatewayGlobalKey | null }>({ max: 1000, ttl: KEY_TTL_SECONDS * 1000 });

  constructor(
    private readonly repos: LlmRepositories,
    private readonly ledger: Ledger,
    private readonly watermarkKeys: WatermarkKeyService,
    private readonly kek: KeyEncryptionKey,
  ) {}

  /**
   * Creates the global key (version 1) or replaces the current one: 32 random bytes, stored only
   * wrapped, committed in an `llm_watermark.global_key_created` event. Older versions stay for
   * detection. `fromVersion` (0 for none yet) refuses a change that another one beat.
   */
  async createGlobalKey(reason: string, principal: Principal, fromVersion?: number): Promise<GlobalKeyInfo> {
    const prev = await this.repos.globalKeys.current();
    const current = prev?.version ?? 0;
    if (fromVersion !== undefined && fromVersion !== current) throw globalChanged(current, fromVersion);
    const k = newGlobalKey(this.kek, current + 1);
    const now = new Date();
    const ev = buildEvent('llm_watermark.global_key_created', {
      key: { version: k.version, key_id: k.keyId, commitment: k.commitment }, commitment_scheme: SCHEME.keyCommitment, key_derivation: SCHEME.llmGlobalTextKey, kek_id: k.kekId,
      previous: prev ? { version: prev.version, key_id: prev.keyId, commitment: prev.commitment } : null, reason, created_by: { api_key_id: principal.keyId, name: principal.name },
    }, { time: now });
    let p: Position;
    try {
      [p] = (await this.ledger.append({ events: [ev], rows: ([pos]) => [this.repos.globalKeys.row(k, reason, now, pos!)] })) as [Position];
    } catch (e) {
      // Two creations from the same version: the version's primary key lets one through.
      if (isUniqueViolation(e, 'llm_global_keys')) throw globalChanged((await this.repos.globalKeys.current())?.version ?? 0, current);
      throw e;
    }
    this.#global.clear();
    return { version: k.version, keyId: k.keyId, commitment: k.commitment, reason, createdAt: now, ledgerSeq: p.seq, eventId: p.eventId };
  }

  currentGlobalKey(): Promise<GlobalKeyInfo | undefined> {
    return this.repos.globalKeys.current();
  }

  /** The global layer's derived key (latest version, or `version`): the raw global key is zeroed here. */
  async #globalCandidate(parameterSetId: string, version?: number): Promise<Candidate | null> {
    const w = await this.repos.globalKeys.wrapped(version);
    if (!w) return null;
    const raw = unwrapGlobalKey(this.kek, w);
    try {
      return { subject: null, layer: 'global', key: deriveGlobalTextKey(raw, parameterSetId), info: { version: w.version, keyId: w.keyId, commitment: w.commitment } };
    } finally {
      raw.fill(0);
    }
  }

  async #gatewayGlobal(parameterSetId: string): Promise<GatewayGlobalKey | null> {
    const hit = this.#global.get(parameterSetId);
    if (hit) return hit.key;
    const c = await this.#globalCandidate(parameterSetId);
    const key = c ? { key_hex: c.key.toString('hex'), key_integer: prfKeyInteger(prfKeyFromBytes(c.key)), key_version: c.info.version } : null;
    c?.key.fill(0);
    this.#global.set(parameterSetId, { key });
    return key;
  }

  /** A subject's assent or key changed: its cached keys go. */
  invalidate(subject: string): void {
    this.#keys.delete(subject);
  }

  /** Registers a parameter set (idempotent: the id is its content). */
  async register(input: ParameterSetInput, principal: Principal): Promise<{ set: RegisteredParameterSet; created: boolean }> {
    let params: ParameterSet;
    try {
      params = parameterSet(input);
    } catch (e) {
      throw new AppError('invalid_parameter_set', (e as Error).message);
    }
    const id = parameterSetId(params);
    const existing = await this.repos.parameterSets.get(id);
    if (existing) return { set: existing, created: false };
    const now = new Date();
    const ev = buildEvent('llm_watermark.parameter_set_registered', {
      parameter_set_id: id,
      parameter_set_id_scheme: `SHA-256("${TAG.llmParams}" || 0x00 || RFC 8785 canonical JSON of params)`,
      params: { ...params, tokenizer: { ...params.tokenizer } },
      key_derivation: SCHEME.llmTextKey,
      registered_by: { api_key_id: principal.keyId, name: principal.name },
    }, { time: now });
    try {
      const [p] = await this.ledger.append({ events: [ev], rows: ([pos]) => [this.repos.parameterSets.row(id, params, now, pos!)] });
      return { set: { id, params, createdAt: now, ledgerSeq: p!.seq, eventId: p!.eventId }, created: true };
    } catch (e) {
      // The same set registered concurrently: the other registration stands.
      if (isUniqueViolation(e, 'llm_parameter_sets')) return { set: (await this.repos.parameterSets.get(id))!, created: false };
      throw e;
    }
  }

  async parameterSet(id: string): Promise<RegisteredParameterSet> {
    const hit = this.#sets.get(id);
    if (hit) return hit;
    const r = await this.repos.parameterSets.get(id);
    if (!r) throw new AppError('llm_parameter_set_not_found', `no registered text-watermark parameter set with id ${id}; register it with POST /v1/llm-watermark/parameter-sets`);
    this.#sets.set(id, r);
    return r;
  }

  /** The gateway's keys: derived keys for subjects with a standing acceptance, per-subject statuses otherwise. */
  async keys(input: KeysInput): Promise<{ parameterSetId: string; results: GatewayKey[]; global: GatewayGlobalKey | null }> {
    const set = await this.parameterSet(input.parameter_set_id);
    const subjects = [...new Set(input.subjects)];
    const missing = subjects.filter((s) => !this.#keys.get(s)?.keys.has(set.id));
    if (missing.length) {
      const [keys, records] = await Promise.all([
        this.watermarkKeys.derived(missing, (raw) => deriveTextKey(raw, set.id)),
        this.repos.records.standingInputs(missing),
      ]);
      const standing = standingBySubject(records);
      for (const s of missing) {
        const k = keys.get(s);
        const entry: CachedKey = { keys: this.#keys.get(s)?.keys ?? new Map(), standing: new Set(standing.get(s)?.keys() ?? []) };
        entry.keys.set(set.id, { key: k?.key ?? null, version: k?.info.version ?? null });
        this.#keys.set(s, entry);
      }
    }
    const results = input.subjects.map((subject): GatewayKey => {
      const entry = this.#keys.get(subject)!;
      const st = entry.keys.get(set.id)!;
      if (!st.key) return { subject, status: 'no_key', detail: 'subject has no watermark key (it has never accepted a EULA); serve unmarked text' };
      const standing = input.slug ? entry.standing.has(input.slug) : entry.standing.size > 0;
      if (!standing) return { subject, status: 'no_acceptance', detail: input.slug ? `subject has no standing acceptance of "${input.slug}"` : 'subject has no standing acceptance' };
      return { subject, status: 'ok', key_hex: st.key.toString('hex'), key_integer: prfKeyInteger(prfKeyFromBytes(st.key)), key_version: st.version! };
    });
    return { parameterSetId: set.id, results, global: await this.#gatewayGlobal(set.id) };
  }

  /**
   * The gateway's roll-up of marked text served: one `llm_watermark.usage_reported` event per
   * subject and period, naming the key version in effect (evidence that the account received marked text).
   * A period of a subject and parameter set is reported once: a second report of it is refused
   * (it would double-count). `keyRow`: the Idempotency-Key's row, written with the events.
   */
  async reportUsage(input: UsageInput, principal: Principal, keyRow: KeyRow<UsageReport> | null = null): Promise<UsageReport> {
    const set = await this.parameterSet(input.parameter_set_id);
    const start = new Date(input.period.start), end = new Date(input.period.end);
    if (!(start < end)) throw badField('period', `period.start (${input.period.start}) must be before period.end (${input.period.end})`);
    if (end.getTime() > Date.now() + 5 * 60_000) throw badField('period.end', `period.end (${input.period.end}) is in the future: report a period once it has ended`);
    const subjects = [...new Set(input.items.map((i) => i.subject))];
    if (subjects.length !== input.items.length) throw badField('items', 'each subject may appear once per report');
    const keys = await this.watermarkKeys.repo.currentMany(subjects);
    const missing = subjects.filter((s) => !keys.has(s));
    if (missing.length) throw new AppError('unknown_subjects', `${missing.length} subject(s) have no watermark key, so were served no marked text: ${missing.slice(0, 10).join(', ')}`, { subjects: missing.slice(0, 100) });
    await this.#refuseReported(set.id, start, end, subjects);
    const reportId = randomUUID();
    const now = new Date();
    const events = input.items.map((it) => {
      const k = keys.get(it.subject)!;
      return buildSealedEvent(this.watermarkKeys.sealer, 'llm_watermark.usage_reported', {
        subject: it.subject, parameter_set_id: set.id, key: { version: k.version, key_id: k.keyId, commitment: k.commitment }, tokens_served: it.tokens_served,
        period: { start: start.toISOString(), end: end.toISOString() }, reported_by: { api_key_id: principal.keyId, name: principal.name },
      }, it.subject, { time: now });
    });
    const report = (pos: Position[]): UsageReport => ({ reportId, recorded: input.items.map((it, i) => ({ subject: it.subject, keyVersion: keys.get(it.subject)!.version, position: pos[i]! })) });
    const rows = (pos: Position[]) => [
      ...input.items.map((it, i) => this.repos.usage.row({ reportId, subject: it.subject, parameterSetId: set.id, start, end, tokensServed: it.tokens_served, keyVersion: keys.get(it.subject)!.version }, pos[i]!)),
      ...(keyRow ? [keyRow(report(pos))] : []),
    ];
    try {
      return report(await this.ledger.append({ events, rows }));
    } catch (e) {
      // Reported meanwhile by another request: the unique key refused this one as a whole.
      if (isUniqueViolation(e, 'llm_usage_reports_period')) await this.#refuseReported(set.id, start, end, subjects);
      throw e;
    }
  }

  async #refuseReported(parameterSetId: string, start: Date, end: Date, subjects: string[]): Promise<void> {
    const done = await this.repos.usage.reported(parameterSetId, start, end, subjects);
    if (done.length === 0) return;
    const list = done.slice(0, 10).map((d) => `${d.subject} (ledger entry ${d.ledgerSeq}, ${d.tokensServed} tokens)`).join(', ');
    throw new AppError('usage_already_reported', `usage of ${done.length} subject(s) for this parameter set and period (${start.toISOString()} to ${end.toISOString()}) was already reported: ${list}${done.length > 10 ? ', …' : ''}. Nothing was recorded. A period is reported once: retry a lost answer with its Idempotency-Key, and report late tokens in a later period.`, { subjects: done.slice(0, 100).map((d) => d.subject) });
  }

  /** Commits the prompts (and the test's parameters) before any output of the suspect is submitted. `keyRow`: the Idempotency-Key's row. */
  async plan(input: LlmPlanInput, principal: Principal, keyRow: KeyRow<LlmPlan> | null = null): Promise<LlmPlan> {
    const set = await this.parameterSet(input.parameter_set_id);
    const subjects = [...new Set(input.subjects)];
    const globalKey = input.global_key === true;
    if (subjects.length === 0 && !globalKey) throw badField('subjects', 'name at least one subject, or set global_key to test the global key');
    checkTokens(input.prompts, 'prompts', set.params.vocab_size);
    await this.#requireKeys(subjects);
    if (globalKey && !(await this.repos.globalKeys.current())) throw noGlobalKey();
    const candidates = subjects.length + (globalKey ? 1 : 0);
    const screened = input.subjects_screened ?? candidates;
    if (screened < candidates) throw badField('subjects_screened', `subjects_screened (${screened}) cannot be less than the ${candidates} keys in the plan`);
    const id = randomUUID();
    const now = new Date();
    const digest = sequencesDigest(TAG.llmPrompts, input.prompts);
    const alpha = input.alpha ?? DEFAULT_ALPHA;
    const ev = buildSealedEvent(this.watermarkKeys.sealer, 'llm_verification.planned', {
      plan_id: id, case_ref: input.case_ref, parameter_set_id: set.id, subjects, prompt_count: input.prompts.length,
      prompts_sha256: digest, prompts_digest_scheme: SCHEME.llmPromptsDigest, alpha, subjects_screened: screened, global_key: globalKey,
      ...(input.note ? { note: input.note } : {}), planned_by: { api_key_id: principal.keyId, name: principal.name },
    }, null, { time: now });
    const draft = { id, caseRef: input.case_ref, parameterSetId: set.id, subjects, prompts: input.prompts, promptsSha256: digest, alpha, subjectsScreened: screened, globalKey, createdAt: now };
    const planned = (p: Position): LlmPlan => ({ ...draft, ledgerSeq: p.seq, eventId: p.eventId });
    const [p] = await this.ledger.append({ events: [ev], rows: ([pos]) => [this.repos.plans.row(draft, pos!), ...(keyRow ? [keyRow(planned(pos!))] : [])] });
    return planned(p!);
  }

  async getPlan(id: string): Promise<LlmPlan> {
    const p = await this.repos.plans.get(id);
    if (!p) throw new AppError('plan_not_found', `no LLM verification plan with id ${id}`);
    return p;
  }

  /** `keyRow`: the Idempotency-Key's row, written with the outcomes. */
  async verify(input: LlmVerificationInput, principal: Principal, keyRow: KeyRow<LlmScreening> | null = null): Promise<LlmScreening> {
    const r = await this.#resolve(input);
    const set = await this.parameterSet(r.parameterSetId);
    checkTokens(r.prompts, 'prompts', set.params.vocab_size);
    checkTokens(input.outputs, 'outputs', set.params.vocab_size);
    if (r.prompts.length !== input.outputs.length) {
      throw badField('outputs', `${input.outputs.length} outputs for ${r.prompts.length} prompts: send one output per prompt, in prompt order`);
    }
    const counts = distinctTuples(set.params.window, r.prompts, input.outputs);
    const keys = await this.watermarkKeys.derived(r.subjects, (raw) => deriveTextKey(raw, set.id), input.key_version);
    const candidates: Candidate[] = [];
    const results: Array<{ subject: string | null; layer: 'subject' | 'global'; result: LlmResult; key: { version: number; keyId: string; commitment: string } }> = [];
    try {
      const missing = r.subjects.filter((s) => !keys.has(s));
      if (missing.length) {
        throw new AppError('unknown_subjects', `${missing.length} subject(s) have no watermark key${input.key_version ? ` version ${input.key_version}` : ''}: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`, { subjects: missing.slice(0, 100) });
      }
      for (const subject of r.subjects) candidates.push({ subject, layer: 'subject', ...keys.get(subject)! });
      if (r.globalKey) {
        const g = await this.#globalCandidate(set.id, input.global_key_version);
        if (!g) throw noGlobalKey(input.global_key_version);
        candidates.push(g);
      }
      // The key-independent part of scoring, once for all candidates.
      const prepared = { ...counts, prepared: prepareTuples(set.params.window, counts.tuples) };
      for (const c of candidates) results.push({ subject: c.subject, layer: c.layer, result: testKey(prfKeyFromBytes(c.key), set.params, prepared, r.alpha, r.screened), key: c.info });
    } finally {
      for (const k of keys.values()) k.key.fill(0);
      for (const c of candidates) c.key.fill(0);
    }
    const screeningId = randomUUID();
    const now = new Date();
    const ids = results.map(() => randomUUID());
    const promptsSha = r.plan?.promptsSha256 ?? sequencesDigest(TAG.llmPrompts, r.prompts);
    const outputsSha = sequencesDigest(TAG.llmOutputs, input.outputs);
    const power = powerTable(nullGreenRate(set.params));
    const events: PreparedEvent[] = results.map((x, i) => buildSealedEvent(this.watermarkKeys.sealer, 'llm_verification.recorded', {
      verification_id: ids[i]!, screening_id: screeningId, case_ref: r.caseRef, suspect: input.suspect, subject: x.subject, layer: x.layer,
      key: { version: x.key.version, key_id: x.key.keyId, commitment: x.key.commitment }, parameter_set_id: set.id,
      preregistered: !!r.plan, plan: r.plan ? { id: r.plan.id, event_id: r.plan.eventId, seq: r.plan.ledgerSeq, prompts_sha256: r.plan.promptsSha256 } : null,
      method: 'Red/green text watermark radioactivity test: distinct (window, token) tuples without prompt windows; one-sided exact binomial test, Bonferroni-corrected',
      statistic: statistic(x.result, counts, input.outputs.length, r.prompts.length, power),
      prompts_sha256: promptsSha, outputs_sha256: outputsSha, digest_scheme: `${SCHEME.llmPromptsDigest}; ${SCHEME.llmOutputsDigest}`,
      decision: x.result.decision, requested_by: { api_key_id: principal.keyId, name: principal.name },
    } satisfies EventDataInput<'llm_verification.recorded'>, x.subject, { time: now }));
    const { tuples: _t, ...c } = counts;
    const screening = (pos: Position[]): LlmScreening => ({ screeningId, caseRef: r.caseRef, parameterSetId: set.id, preregistered: !!r.plan, counts: c, results: results.map((x, i) => ({ ...x, id: ids[i]!, position: pos[i]! })) });
    const positions = await this.ledger.append({
      events,
      rows: (pos) => [
        ...results.map((x, i) => this.repos.verifications.row({
          id: ids[i]!, screeningId, caseRef: r.caseRef, subject: x.subject, layer: x.layer, parameterSetId: set.id, planId: r.plan?.id ?? null, decision: x.result.decision,
          outcome: parseEventOf('llm_verification.recorded', events[i]!.canonical).data, keyVersion: x.key.version, createdAt: now,
        }, pos[i]!)),
        ...(keyRow ? [keyRow(screening(pos))] : []),
      ],
    });
    return screening(positions);
  }

  /** Every text-watermark outcome recorded for a subject. */
  listForSubject(subject: string): Promise<LlmVerificationRecord[]> {
    return this.repos.verifications.forSubject(subject);
  }

  async get(id: string): Promise<LlmVerificationRecord> {
    const r = await this.repos.verifications.get(id);
    if (!r) throw new AppError('verification_not_found', `no LLM verification with id ${id}`);
    return r;
  }

  async #requireKeys(subjects: string[]): Promise<void> {
    const set = await this.watermarkKeys.repo.subjectsWithKeys(subjects);
    const missing = subjects.filter((s) => !set.has(s));
    if (missing.length) throw new AppError('unknown_subjects', `${missing.length} subject(s) have no watermark key: ${missing.slice(0, 10).join(', ')}`, { subjects: missing.slice(0, 100) });
  }

  async #resolve(input: LlmVerificationInput): Promise<{ caseRef: string; parameterSetId: string; subjects: string[]; globalKey: boolean; prompts: number[][]; alpha: number; screened: number; plan: LlmPlan | null }> {
    if (input.plan_id) {
      if (input.prompts || input.subjects || input.parameter_set_id || input.alpha !== undefined || input.global_key !== undefined) {
        throw new AppError('plan_mismatch', 'with plan_id, send outputs only (and optionally subjects_screened or global_key_version): the prompts, subjects, global key, parameter set and alpha are the plan\'s');
      }
      const plan = await this.getPlan(input.plan_id);
      if (input.case_ref !== plan.caseRef) throw new AppError('plan_mismatch', `the plan is for case "${plan.caseRef}", not "${input.case_ref}"`);
      if (input.global_key_version !== undefined && !plan.globalKey) throw new AppError('plan_mismatch', 'the plan does not test the global key: global_key_version cannot be sent with it');
      const screened = Math.max(plan.subjectsScreened, input.subjects_screened ?? 0);
      return { caseRef: plan.caseRef, parameterSetId: plan.parameterSetId, subjects: plan.subjects, globalKey: plan.globalKey, prompts: plan.prompts, alpha: plan.alpha, screened, plan };
    }
    const globalKey = input.global_key === true || (input.global_key === undefined && input.global_key_version !== undefined);
    if (input.global_key === false && input.global_key_version !== undefined) throw badField('global_key_version', 'global_key_version names a global key to test, but global_key is false');
    const subjects = [...new Set(input.subjects ?? [])];
    if (!input.parameter_set_id || (subjects.length === 0 && !globalKey) || !input.prompts) {
      const field = !input.parameter_set_id ? 'parameter_set_id' : !input.prompts ? 'prompts' : 'subjects';
      throw new AppError('invalid_item', 'send parameter_set_id, subjects (and/or global_key: true), prompts and outputs (or plan_id and outputs for a pre-registered test)', { errors: [{ field, message: 'is required' }] });
    }
    const candidates = subjects.length + (globalKey ? 1 : 0);
    const screened = input.subjects_screened ?? candidates;
    if (screened < candidates) throw badField('subjects_screened', `subjects_screened (${screened}) cannot be less than the ${candidates} keys tested`);
    return { caseRef: input.case_ref, parameterSetId: input.parameter_set_id, subjects, globalKey, prompts: input.prompts, alpha: input.alpha ?? DEFAULT_ALPHA, screened, plan: null };
  }
}

function noGlobalKey(version?: number): AppError {
  return new AppError('no_global_key', version !== undefined
    ? `there is no global text-watermark key version ${version}; GET /v1/llm-watermark/global-key shows the current version`
    : 'no global text-watermark key exists; create one with POST /v1/llm-watermark/global-key (admin), or test subjects only');
}

function globalChanged(current: number, from: number): AppError {
  return new AppError('global_key_changed', `the global text-watermark key is at version ${current}, not ${from}: another request changed it first. Nothing was recorded; send from_version ${current} if a new key is still wanted.`);
}

function badField(field: string, detail: string): AppError {
  return new AppError('invalid_item', detail, { errors: [{ field, message: detail }] });
}

/** Every token id must be one of the parameter set's vocabulary. */
function checkTokens(seqs: readonly (readonly number[])[], field: string, vocab: number): void {
  for (let i = 0; i < seqs.length; i++) {
    const s = seqs[i]!;
    for (let j = 0; j < s.length; j++) {
      if (s[j]! >= vocab) throw new AppError('token_out_of_range', `${field}[${i}][${j}] = ${s[j]} is not a token id of the parameter set (vocab_size ${vocab}: ids are 0..${vocab - 1})`, { errors: [{ field: `${field}.${i}.${j}`, message: `must be less than ${vocab}` }] });
    }
  }
}

function statistic(r: LlmResult, c: TupleCounts, outputs: number, prompts: number, power: Array<{ green_rate: number; tuples_needed: number }>) {
  return {
    outputs, prompts, positions: c.positions, prompt_windows_dropped: c.promptWindowDropped, duplicates_dropped: c.duplicatesDropped,
    n: r.n, green: r.green, green_rate: r.greenRate, p0: r.p0, alpha: r.alpha, subjects_screened: r.subjectsScreened,
    p_value: r.p, log10_p_value: r.log10P, p_adjusted: r.pAdjusted, log10_p_adjusted: r.log10PAdjusted, min_tuples_needed: r.minTuplesNeeded, power,
  };
}
