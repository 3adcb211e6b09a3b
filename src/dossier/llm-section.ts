// Section 6A of a dossier: the subject's LLM (text watermark) verifications in plain words, each
// with a power table recomputed with the exact binomial tail (src/stats via llm-watermark/detect),
// and the limits of the test. Its words are in templates/dossier/06a-llm-verification.hbs.
import { POWER_P, POWER_RATES, tuplesNeeded } from '../llm-watermark/detect.js';
import type { DossierPdf, KeyValueRow } from '../pdf/document.js';
import type { DossierLlmVerification } from './llm-evidence.js';
import type { DossierModel } from './model.js';
import { count, formatP, formatTime, plainOdds, type DossierView } from './view.js';

export interface LlmPowerRow {
  greenRate: number;
  /** Distinct tuples for p < 10^-6 (uncorrected), as the issue and the spec define the table. */
  forPowerP: number;
  /** Distinct tuples for this test's corrected p <= alpha (N subjects screened). */
  forAlpha: number;
}

const oneLine = (s: string): string => s.replace(/[\r\n\u2028\u2029]+/g, ' ');
const int = (n: number): string => n.toLocaleString('en-US');
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
/** 1e-9 as "10⁻⁹" rather than "1.00 × 10⁻⁹"; anything else as formatP prints it. */
const power10 = (x: number): string => formatP(x).replace(/^1\.00 × /, '');

/** The power table of one verification: recomputed here from p0, alpha and N, never copied. */
export function llmPowerTable(v: DossierLlmVerification): LlmPowerRow[] {
  const s = v.outcome.statistic;
  return POWER_RATES.map((r) => ({ greenRate: r, forPowerP: tuplesNeeded(s.p0, r, POWER_P), forAlpha: tuplesNeeded(s.p0, r, s.alpha / s.subjects_screened) }));
}

function decisionText(v: DossierLlmVerification): string {
  const s = v.outcome.statistic;
  if (v.decision === 'detected') return 'DETECTED: the suspect model writes the subject\'s green tokens far more often than chance allows';
  if (v.decision === 'not_detected') return 'NOT DETECTED: the green count is consistent with chance; this does not show that the suspect was not trained on the subject\'s answers (see the limits below)';
  return `INSUFFICIENT: too few distinct tuples to decide (${int(s.n)} scored, at least ${int(s.min_tuples_needed)} needed even if every one were green); the test was run and recorded, and it neither shows nor excludes copying`;
}

function rows(v: DossierLlmVerification, subject: string): KeyValueRow[] {
  const o = v.outcome;
  const s = o.statistic;
  const p = v.parameterSet.params;
  const sus = o.suspect as typeof o.suspect & { observed_on?: string; artefact_sha256?: string };
  const r: KeyValueRow[] = [
    { key: 'Verification', value: v.id },
    { key: 'Case reference', value: o.case_ref },
    { key: 'Recorded', value: `${formatTime(v.createdAt)} (ledger entry ${v.ledgerSeq})` },
    { key: 'Suspect model', value: `${sus.name}, version ${sus.version}` },
    { key: 'Where observed', value: `${sus.observed_at}${sus.observed_on ? `, ${formatTime(sus.observed_on)}` : ''}` },
  ];
  if (sus.artefact_sha256) r.push({ key: 'Model artefact SHA-256', value: sus.artefact_sha256, mono: true });
  r.push(
    { key: 'What was tested', value: `whether the suspect's outputs follow the green lists of the subject's text key, derived from watermark key version ${o.key.version} (commitment ${o.key.commitment}) for this parameter set; the key itself is not disclosed` },
    { key: 'Subject tested', value: v.outcome.subject === null || v.outcome.layer === 'global' ? '(the global key)' : subject },
    { key: 'Parameter set', value: `red/green text watermark, context window h = ${p.window} tokens, green share gamma = ${p.gamma}, bias delta = ${p.delta}, tokenizer ${p.tokenizer.name} revision ${p.tokenizer.revision}, ${int(p.vocab_size)} token ids; registered in ledger entry ${v.parameterSet.ledgerSeq}` },
    { key: 'Parameter set id', value: v.parameterSet.id, mono: true },
    {
      key: 'Pre-registered', value: v.plan
        ? `yes: the ${count(v.plan.promptCount, 'prompt')} were committed in ledger entry ${v.plan.ledgerSeq} (plan ${v.plan.id}, ${formatTime(v.plan.createdAt)}) before the suspect's outputs were submitted`
        : 'no: the prompts and the outputs were submitted together',
    },
    { key: 'Material submitted', value: `${count(s.prompts, 'prompt')} and the suspect's ${count(s.outputs, 'output')}, ${int(s.positions)} scored positions in the outputs` },
    { key: 'Tuples left out', value: `${int(s.prompt_windows_dropped)} whose context occurs in a prompt, ${int(s.duplicates_dropped)} repeats of a tuple already counted` },
    { key: 'Distinct scored tuples n', value: int(s.n) },
    { key: 'Green tuples g', value: `${int(s.green)} (green rate ${pct(s.green_rate)})` },
    { key: 'Expected with no watermark', value: `about ${int(Math.round(s.p0 * s.n))} (p0 × n, p0 = ${s.p0})` },
    { key: 'p-value', value: formatP(s.p_value, s.log10_p_value) },
    { key: 'Subjects screened N', value: int(s.subjects_screened) },
    { key: 'Corrected p-value N·p', value: formatP(s.p_adjusted, s.log10_p_adjusted) },
    {
      key: 'In plain odds', value: s.p_adjusted >= 0.5
        ? 'consistent with chance: a model that never learned from text marked with this key shows at least this many green tuples in about half of such tests or more'
        : `${plainOdds(s.p_adjusted, s.log10_p_adjusted)}: the chance that a model that never learned from text marked with this key shows at least this many green tuples`,
    },
    { key: 'Significance level', value: power10(s.alpha) },
    { key: 'Decision', value: decisionText(v) },
    { key: 'Prompts digest', value: o.prompts_sha256, mono: true },
    { key: 'Outputs digest', value: o.outputs_sha256, mono: true },
  );
  return r.map((x) => ({ ...x, value: oneLine(x.value) }));
}

function summary(vs: readonly DossierLlmVerification[]): string {
  const detected = vs.filter((v) => v.decision === 'detected').length;
  const parts = vs.map((v) => {
    const s = v.outcome.statistic;
    const what = v.decision === 'detected' ? 'detected the subject\'s text watermark' : v.decision === 'insufficient' ? `could not decide (${int(s.n)} distinct tuples, at least ${int(s.min_tuples_needed)} needed)` : 'did not detect the subject\'s text watermark';
    return `${oneLine(v.outcome.suspect.name)} version ${oneLine(v.outcome.suspect.version)}: ${v.plan ? 'a pre-registered test' : 'a test that was not pre-registered'} ${what} (${int(s.green)} of ${int(s.n)} tuples green, corrected p = ${formatP(s.p_adjusted, s.log10_p_adjusted)}, ${plainOdds(s.p_adjusted, s.log10_p_adjusted)})`;
  });
  return `${count(vs.length, 'language-model verification')}, ${detected} detecting the subject's text watermark (section 6A). ${parts.join('; ')}.`;
}

/** The view with section 6A's fields: rows, tables, headings and a summary sentence after the classifier one. */
export function withLlmSection(view: DossierView, m: DossierModel): DossierView {
  const vs = m.llmVerifications ?? [];
  const first = m.verifications.length;
  const llm = vs.map((v, i) => {
    view.kv[`llm-${i}`] = rows(v, m.subject);
    return { index: first + i + 1, heading: oneLine(`${v.outcome.suspect.name} ${v.outcome.suspect.version} (text watermark)`), kv: `llm-${i}`, table: `llm-power-${i}` };
  });
  const p0s = [...new Set(vs.map((v) => v.outcome.statistic.p0))];
  // After the classifier sentence, which says "no verification" only when there is none of either kind.
  const classifier = m.verifications.length ? [view.summary[2]!] : [];
  const summaryLines = vs.length ? [...view.summary.slice(0, 2), ...classifier, summary(vs), ...view.summary.slice(3)] : view.summary;
  // Section 2 counts every verification included, of classifiers and of language models.
  return { ...view, summary: summaryLines, verificationCount: view.verificationCount + vs.length, llmVerifications: llm, llmP0: p0s.join(', '), llmPowerP: power10(POWER_P) };
}

/** Draws `@table llm-power-N`; false for any other table name. */
export function drawLlmTable(pdf: DossierPdf, name: string, m: DossierModel): boolean {
  const match = /^llm-power-(\d+)$/.exec(name);
  const v = match ? m.llmVerifications?.[Number(match[1])] : undefined;
  if (!v) return false;
  const s = v.outcome.statistic;
  pdf.table(
    [{ header: 'Green rate of the suspect\'s tuples', weight: 1.6, align: 'right' }, { header: `Tuples needed for p < ${power10(POWER_P)}`, weight: 1.6, align: 'right' }, { header: `Tuples needed for corrected p ≤ ${power10(s.alpha)} (N = ${int(s.subjects_screened)})`, weight: 2.2, align: 'right' }],
    llmPowerTable(v).map((r) => [pct(r.greenRate), int(r.forPowerP), int(r.forAlpha)]),
  );
  return true;
}
