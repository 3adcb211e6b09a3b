// The ledger's event types: one data schema per type, typed builders, and a parser. Every event
// the service writes is built here and every event it reads back is parsed here, so the shape of
// the evidence is defined once. The schemas are loose (unknown members are kept, never dropped):
// a parsed event is exactly what was signed.
import { z } from 'zod';
import { parseCanonical } from '../canonical/jcs.js';
import { clearPersonalField, type SealedOpening } from '../privacy/fields.js';
import { LedgerError } from './errors.js';
import { prepareEvent, EVENT_VERSION, type EventType, type PreparedEvent } from './format.js';

const Int = z.number().int();
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const Actor = z.looseObject({ api_key_id: z.string(), name: z.string() });

// Personal facts (docs/personal-data.md). Events written since personal data left the log hold, in
// place of each personal field's value, a salted commitment to it; the subject identifier also
// carries its keyed pseudonym, the ledger's lookup key. Earlier events hold the values in clear
// (the string or object forms below), and are read as they were written.
/** A committed personal fact: SHA-256(tag || 0x00 || salt || canonical(value)); the opening is kept beside the ledger. */
export const Committed = z.looseObject({ commitment: Hex64 });
/** A subject, as events name it since personal data left the log: its pseudonym and a commitment to its identifier. */
export const SubjectRef = z.looseObject({ pseudonym: Hex64, commitment: Hex64 });
const Subject = z.union([SubjectRef, z.string()]);
const FreeText = z.union([Committed, z.string()]);

export const EulaRef = z.looseObject({
  id: z.string(),
  slug: z.string(),
  version: z.string(),
  text_sha256: Hex64,
  effective_at: z.string(),
  event_id: z.string(),
});

const ClientFacts = {
  client_time: z.string(),
  client: z.union([Committed, z.looseObject({ ip: z.string(), user_agent: z.string() })]),
  auth: z.union([Committed, z.looseObject({ method: z.string(), session_id: z.string(), mfa: z.boolean() })]),
};
const PageUrl = z.union([Committed, z.string()]);

/** The key an acceptance is linked to: its version, id and commitment (never the key). */
export const KeyLink = z.looseObject({ version: Int, key_id: z.string(), commitment: Hex64, event_id: z.string() });

const AssentData = z.looseObject({
  record_id: z.string(),
  subject: Subject,
  eula: EulaRef,
  shown_text_sha256: Hex64,
  presentation: z.looseObject({
    consent_text: z.string(), button_text: z.string(), page_url: PageUrl, locale: z.string(),
    // Recorded through an acceptance session (docs/widget.md): the acceptance.displayed event of what the widget showed.
    displayed: z.looseObject({ session_id: z.string(), event_id: z.string(), seq: Int }).optional(),
  }),
  ...ClientFacts,
  method: z.string(),
  watermark_key: KeyLink.optional(),
  recorded_by: Actor,
  idempotency_key: z.string(),
  server_time: z.string(),
});

const WithdrawalData = z.looseObject({
  record_id: z.string(),
  subject: Subject,
  eula: EulaRef,
  reason: FreeText,
  ...ClientFacts,
  method: z.string(),
  recorded_by: Actor,
  idempotency_key: z.string(),
  server_time: z.string(),
});

/** What an embedded consent widget showed, as the browser measured it (docs/widget.md). */
const PresentationManifest = z.looseObject({
  widget: z.string(),
  text_sha256: Hex64,
  markup_sha256: Hex64,
  viewport: z.looseObject({ width: Int, height: Int, device_pixel_ratio: z.number() }),
  scrolled_to_end: z.boolean(),
  time_on_screen_ms: Int,
  consent_text: z.string(),
  accept_text: z.string(),
  decline_text: z.string(),
});

const DisplayedData = z.looseObject({
  session_id: z.string(),
  subject: Subject,
  eula: EulaRef,
  manifest: PresentationManifest,
  page_url: PageUrl,
  locale: z.string(),
  ...ClientFacts,
  session: z.looseObject({ created_at: z.string(), expires_at: z.string(), origin: z.string() }),
  recorded_by: Actor,
  server_time: z.string(),
});

const KeyRef = z.looseObject({ version: Int, key_id: z.string(), commitment: Hex64 });

const Statistic = z.looseObject({
  samples_submitted: Int,
  duplicates_dropped: Int,
  samples_unique: Int,
  n: Int,
  m: Int,
  match_rate: z.number(),
  num_classes: Int.nullable(),
  p0: z.number().nullable(),
  groups: z.array(z.looseObject({ num_classes: Int, p0: z.number(), n: Int, m: Int })),
  test: z.string(),
  threshold: z.string(),
  rate: z.number(),
  alpha: z.number(),
  subjects_screened: Int,
  p_value: z.number(),
  log10_p_value: z.number(),
  p_adjusted: z.number(),
  log10_p_adjusted: z.number(),
  min_marked_samples_needed: Int.nullable(),
});

export const EVENT_DATA = {
  'ledger.genesis': z.looseObject({
    origin: z.string(),
    signing_key: z.looseObject({ alg: z.literal('Ed25519'), key_id: z.string(), public_key: z.string() }),
  }),
  'eula.published': z.looseObject({
    eula_id: z.string(),
    slug: z.string(),
    version: z.string(),
    title: z.string(),
    text: z.string(),
    text_sha256: Hex64,
    effective_at: z.string(),
    major: z.boolean(),
    highlights: z.array(z.looseObject({ text: z.string(), note: z.string() })),
    published_by: z.string(),
  }),
  'acceptance.recorded': AssentData,
  'acceptance.declined': AssentData,
  'acceptance.withdrawn': WithdrawalData,
  'acceptance.displayed': DisplayedData,
  'watermark_key.assigned': z.looseObject({
    subject: Subject,
    key_version: Int,
    key_id: z.string(),
    commitment: Hex64,
    commitment_scheme: z.string(),
    acceptance_event_id: z.string(),
    kek_id: z.string(),
  }),
  'watermark_key.rotated': z.looseObject({
    subject: Subject,
    key_version: Int,
    key_id: z.string(),
    commitment: Hex64,
    previous: z.looseObject({ key_version: Int, key_id: z.string(), commitment: Hex64 }),
    reason: z.string(),
    rotated_by: Actor,
    kek_id: z.string(),
  }),
  'verification.planned': z.looseObject({
    plan_id: z.string(),
    case_ref: z.string(),
    subjects: z.array(Subject),
    sample_count: Int,
    samples_digest: Hex64,
    samples_digest_scheme: z.string(),
    alpha: z.number(),
    subjects_screened: Int,
    threshold: z.string(),
    note: z.string().optional(),
    planned_by: Actor,
  }),
  'verification.recorded': z.looseObject({
    verification_id: z.string(),
    screening_id: z.string(),
    case_ref: z.string(),
    suspect: z.looseObject({ name: z.string(), version: z.string(), observed_at: z.string(), observed_on: z.string().optional(), artefact_sha256: Hex64.optional() }),
    subject: Subject,
    key: KeyRef,
    preregistered: z.boolean(),
    plan: z.looseObject({ id: z.string(), event_id: z.string(), seq: Int, samples_digest: Hex64 }).nullable(),
    method: z.string(),
    statistic: Statistic,
    samples_digest: Hex64,
    samples_digest_scheme: z.string(),
    decision: z.enum(['detected', 'not_detected', 'insufficient']),
    requested_by: Actor,
  }),
  'dossier.issued': z.looseObject({
    dossier_id: z.string(),
    subject: Subject,
    case_ref: z.string(),
    requested_by: FreeText,
    prepared_for: z.union([Committed, z.looseObject({ name: z.string(), firm: z.string() })]),
    issued_by: Actor,
    verification_ids: z.array(z.string()),
    cited_seqs: z.array(Int),
    // root_hash: the Merkle root the cited entries are proven against (absent in dossiers issued before format 2).
    checkpoint: z.looseObject({ size: Int, chain_hash: Hex64, root_hash: Hex64.optional(), note_sha256: Hex64.optional() }),
    pdf_sha256: Hex64,
    unsigned_pdf_sha256: Hex64,
    bundle_sha256: Hex64,
    pdf_certificate_sha256: Hex64,
    pages: Int,
  }),
  'signing_key.added': z.looseObject({
    origin: z.string(),
    previous_key_id: z.string(),
    key: z.looseObject({ alg: z.literal('Ed25519'), key_id: z.string(), public_key: z.string() }),
    reason: z.string(),
    authorised_by_previous: z.string(),
    accepted_by_new: z.string(),
  }),
  'llm_watermark.parameter_set_registered': z.looseObject({
    parameter_set_id: Hex64,
    parameter_set_id_scheme: z.string(),
    params: z.looseObject({ scheme: z.string(), algorithm: z.string(), prf: z.string(), window: Int, gamma: z.number(), delta: z.number(), green_threshold: Int, tokenizer: z.looseObject({ name: z.string(), revision: z.string() }), vocab_size: Int }),
    key_derivation: z.string(),
    registered_by: Actor,
  }),
  'llm_verification.planned': z.looseObject({
    plan_id: z.string(),
    case_ref: z.string(),
    parameter_set_id: Hex64,
    subjects: z.array(Subject),
    prompt_count: Int,
    prompts_sha256: Hex64,
    prompts_digest_scheme: z.string(),
    alpha: z.number(),
    subjects_screened: Int,
    /** Whether the global key is a candidate too (absent before the global layer: no). */
    global_key: z.boolean().optional(),
    note: z.string().optional(),
    planned_by: Actor,
  }),
  'llm_verification.recorded': z.looseObject({
    verification_id: z.string(),
    screening_id: z.string(),
    case_ref: z.string(),
    suspect: z.looseObject({ name: z.string(), version: z.string(), observed_at: z.string() }),
    subject: Subject.nullable(),
    /** Absent in outcomes recorded before the global layer: a subject's key. */
    layer: z.enum(['subject', 'global']).optional(),
    key: KeyRef,
    parameter_set_id: Hex64,
    preregistered: z.boolean(),
    plan: z.looseObject({ id: z.string(), event_id: z.string(), seq: Int, prompts_sha256: Hex64 }).nullable(),
    method: z.string(),
    statistic: z.looseObject({
      outputs: Int, prompts: Int, positions: Int, prompt_windows_dropped: Int, duplicates_dropped: Int,
      n: Int, green: Int, green_rate: z.number(), p0: z.number(), alpha: z.number(), subjects_screened: Int,
      p_value: z.number(), log10_p_value: z.number(), p_adjusted: z.number(), log10_p_adjusted: z.number(), min_tuples_needed: Int,
      power: z.array(z.looseObject({ green_rate: z.number(), tuples_needed: Int })),
    }),
    prompts_sha256: Hex64,
    outputs_sha256: Hex64,
    digest_scheme: z.string(),
    decision: z.enum(['detected', 'not_detected', 'insufficient']),
    requested_by: Actor,
  }),
  'llm_watermark.global_key_created': z.looseObject({
    key: KeyRef,
    commitment_scheme: z.string(),
    key_derivation: z.string(),
    kek_id: z.string(),
    previous: KeyRef.nullable(),
    reason: z.string(),
    created_by: Actor,
  }),
  'llm_watermark.usage_reported': z.looseObject({
    subject: Subject,
    parameter_set_id: Hex64,
    key: KeyRef,
    tokens_served: Int,
    period: z.looseObject({ start: z.string(), end: z.string() }),
    reported_by: Actor,
  }),
  'legal_hold.placed': z.looseObject({
    hold_id: z.string(),
    subject: SubjectRef,
    case_ref: z.string(),
    reason: Committed,
    placed_by: Actor,
  }),
  'legal_hold.released': z.looseObject({
    hold_id: z.string(),
    subject: SubjectRef,
    placed: z.looseObject({ event_id: z.string(), seq: Int }),
    reason: Committed,
    released_by: Actor,
  }),
  /** What an erasure removed, by commitment (the values are gone), and why. */
  'erasure.performed': z.looseObject({
    erasure_id: z.string(),
    subject_pseudonym: Hex64,
    basis: z.enum(['data_subject_request', 'retention', 'court_order', 'other']),
    request_ref: z.string(),
    erased: z.array(z.looseObject({ event_id: z.string(), seq: Int, field: z.string(), group: z.string(), commitment: Hex64 })),
    /** Events before personal data left the log, whose clear personal facts this erasure could not remove. */
    clear_events: z.array(z.looseObject({ event_id: z.string(), seq: Int })),
    working_rows: z.record(z.string(), Int),
    watermark_keys: z.looseObject({ action: z.enum(['destroyed', 'none']), versions: z.array(Int) }),
    performed_by: Actor,
  }),
} as const satisfies Record<EventType, z.ZodType>;

export type EventData<T extends EventType> = z.infer<(typeof EVENT_DATA)[T]>;
/** What a builder takes: the schema's input (optional members may be left out). */
export type EventDataInput<T extends EventType> = z.input<(typeof EVENT_DATA)[T]>;

export type AssentEventData = z.infer<typeof AssentData>;
export type WithdrawalEventData = z.infer<typeof WithdrawalData>;
export type PresentationManifestData = z.infer<typeof PresentationManifest>;
export type VerificationStatistic = z.infer<typeof Statistic>;

export interface LedgerEvent<T extends EventType = EventType> {
  v: typeof EVENT_VERSION;
  id: string;
  type: T;
  time: string;
  data: EventData<T>;
}

export type AnyLedgerEvent = { [T in EventType]: LedgerEvent<T> }[EventType];

/** A typed event ready to append (its canonical bytes are fixed here). */
export function buildEvent<T extends EventType>(type: T, data: EventDataInput<T>, opts: { id?: string; time?: Date } = {}): PreparedEvent {
  // Personal facts enter the log only as commitments (docs/personal-data.md): seal the data first (Pseudonyms.seal).
  const clear = clearPersonalField(type, data);
  if (clear !== null) throw new Error(`the ${clear} field of a ${type} event is a personal fact in clear: seal the event's data before building it`);
  return prepareEvent(type, data, opts);
}

const Envelope = z.looseObject({ v: z.literal(EVENT_VERSION), id: z.string(), type: z.string(), time: z.string(), data: z.looseObject({}) });

/**
 * Parses stored event bytes: canonical JSON, a valid envelope, data of the type's shape. Bytes that
 * fail were never written by this service: the ledger is damaged (LedgerError).
 */
export function parseEvent(canonical: Uint8Array): AnyLedgerEvent {
  return eventOfValue(parseCanonical(canonical));
}

/** What seals an event's personal facts (privacy/pseudonyms.ts): commitments in place, openings aside. */
export interface Sealer {
  seal<D extends object>(type: string, clear: D, subject: string | null): { data: D; openings: SealedOpening[] };
}

/**
 * A typed event whose personal facts are sealed: `clear` holds them in clear, the event commitments,
 * and the prepared event carries the openings the appender writes beside it. `subject`: whom the
 * event is about (null when only its subject fields name anyone).
 */
export function buildSealedEvent<T extends EventType>(sealer: Sealer, type: T, clear: EventDataInput<T>, subject: string | null, opts: { id?: string; time?: Date } = {}): PreparedEvent & { data: EventDataInput<T> } {
  const { data, openings } = sealer.seal(type, clear as object, subject);
  return { ...buildEvent(type, data as EventDataInput<T>, opts), openings, data: data as EventDataInput<T> };
}

/** parseEvent's checks of the envelope and data, on the value of bytes already proven canonical (parseCanonical). */
export function eventOfValue(value: unknown): AnyLedgerEvent {
  const env = Envelope.safeParse(value);
  if (!env.success || !Object.prototype.hasOwnProperty.call(EVENT_DATA, env.data.type)) {
    throw new LedgerError('event_malformed', 'a stored ledger event lacks a valid envelope (v, id, type, time, data)');
  }
  const type = env.data.type as EventType;
  const data = EVENT_DATA[type].safeParse(env.data.data);
  if (!data.success) throw new LedgerError('event_malformed', `a stored ${type} event does not have the shape of that event type`);
  return { ...env.data, type, data: data.data } as AnyLedgerEvent;
}

/** parseEvent, requiring one type. */
export function parseEventOf<T extends EventType>(type: T, canonical: Uint8Array): LedgerEvent<T> {
  const e = parseEvent(canonical);
  if (e.type !== type) throw new LedgerError('event_malformed', `expected a ${type} event, found ${e.type}`);
  return e as unknown as LedgerEvent<T>;
}

/** The type of an acceptance, decline or withdrawal event. */
export const ASSENT_EVENT = { accepted: 'acceptance.recorded', declined: 'acceptance.declined', withdrawn: 'acceptance.withdrawn' } as const;
