// The radioactivity test (docs/llm-watermark-spec.md §8): distinct tuples, the prompt-window rule,
// the exact binomial tail in log space, Bonferroni over subjects screened, and `insufficient` when
// even an all-green count could not reach alpha. Pure; no I/O.
import { createHash } from 'node:crypto';
import { logBinomialUpperTail } from '../stats/binomial.js';
import type { PrfKey } from './philox.js';
import { nullGreenRate, type ParameterSet } from './scheme.js';
import { greenCount, greenCountPrepared, type PreparedTuples } from './score.js';
import type { TupleCounts } from './tuples.js';

export const DEFAULT_ALPHA = 1e-9;
export const POWER_P = 1e-6;
export const POWER_RATES = [0.26, 0.28, 0.3, 0.32, 0.34, 0.36, 0.38, 0.4] as const;

export type LlmDecision = 'detected' | 'not_detected' | 'insufficient';

export interface LlmResult {
  n: number;
  green: number;
  greenRate: number;
  p0: number;
  logP: number;
  log10P: number;
  p: number;
  pAdjusted: number;
  log10PAdjusted: number;
  alpha: number;
  subjectsScreened: number;
  /** Fewest distinct tuples that could reach alpha at all (all green). */
  minTuplesNeeded: number;
  decision: LlmDecision;
}

/** n_min = ceil(ln(alpha / S) / ln p0): below it even g = n gives p_adjusted > alpha. */
export function minTuplesNeeded(p0: number, alpha: number, screened: number): number {
  let n = Math.max(1, Math.ceil(Math.log(alpha / screened) / Math.log(p0)));
  // Guard the float boundary both ways with the exact tail.
  while (n > 1 && (n - 1) * Math.log(p0) + Math.log(screened) <= Math.log(alpha)) n--;
  while (n * Math.log(p0) + Math.log(screened) > Math.log(alpha)) n++;
  return n;
}

/**
 * The test for one key over the tuples. Screening many keys, pass the tuples prepared once
 * (`prepareTuples`): the key-independent work is then not repeated per key.
 */
export function testKey(key: PrfKey, params: Pick<ParameterSet, 'green_threshold' | 'window'>, t: Pick<TupleCounts, 'tuples' | 'n'> & { prepared?: PreparedTuples }, alpha: number, screened: number): LlmResult {
  const green = t.prepared ? greenCountPrepared(key, params.green_threshold, t.prepared) : greenCount(key, params.green_threshold, params.window, t.tuples);
  return decide(t.n, green, nullGreenRate(params), alpha, screened);
}

export function decide(n: number, green: number, p0: number, alpha: number, screened: number): LlmResult {
  const logP = logBinomialUpperTail(n, green, p0);
  const logAdj = Math.min(0, logP + Math.log(screened));
  const need = minTuplesNeeded(p0, alpha, screened);
  const decision: LlmDecision = n < need ? 'insufficient' : logAdj <= Math.log(alpha) ? 'detected' : 'not_detected';
  return {
    n, green, greenRate: n > 0 ? green / n : 0, p0, logP, log10P: logP / Math.LN10, p: Math.exp(logP),
    pAdjusted: Math.exp(logAdj), log10PAdjusted: logAdj / Math.LN10, alpha, subjectsScreened: screened, minTuplesNeeded: need, decision,
  };
}

/**
 * Distinct tuples needed so that a suspect whose tuples are green at `rate` gives p < target
 * (g = ceil(rate * n), unadjusted): the power table of the dossier. Bisection over n on the exact tail.
 */
export function tuplesNeeded(p0: number, rate: number, target = POWER_P): number {
  const ok = (n: number) => logBinomialUpperTail(n, Math.ceil(rate * n), p0) < Math.log(target);
  let hi = 16;
  while (!ok(hi)) hi *= 2;
  let lo = hi / 2;
  while (lo + 1 < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

export function powerTable(p0: number): Array<{ green_rate: number; tuples_needed: number }> {
  return POWER_RATES.map((r) => ({ green_rate: r, tuples_needed: tuplesNeeded(p0, r) }));
}

/** SHA-256(tag || "\n" || for each sequence its token ids in decimal, comma-separated, then "\n"). */
export function sequencesDigest(tag: string, seqs: readonly (readonly number[])[]): string {
  const h = createHash('sha256').update(`${tag}\n`, 'ascii');
  for (const s of seqs) h.update(`${s.join(',')}\n`, 'ascii');
  return h.digest('hex');
}
