// Per-subject watermark verification statistic (DAWN). Pure: the caller supplies the subject's key,
// the samples (what the subject queried, what the owner's model answered, what the suspect model
// answers) and gets back every number the decision rests on. See docs/watermark-spec.md.
import { createHash } from 'node:crypto';
import { logBinomialUpperTail, logSumOfBinomialsUpperTail } from '../stats/binomial.js';
import { TAG } from '../crypto/domains.js';
import { checkNumClasses, parseDigestHex, thresholdToRate, WatermarkDecider, WatermarkError } from './decide.js';

export const DEFAULT_ALPHA = 1e-9;
export const SAMPLES_DOMAIN = TAG.wmSamples;

export interface VerifySample {
  /** SHA-256 of the query input, 64 lowercase hex characters. */
  inputDigest: string;
  /** The label the owner's model gives (the true label y the watermark was derived from). */
  ownerLabel: number;
  /** The label the suspect model gives on the same input. */
  suspectLabel: number;
  numClasses: number;
}

export interface VerifyInput {
  key: Uint8Array;
  threshold: bigint;
  samples: readonly VerifySample[];
  /** Family-wise significance level after correction; default 1e-9. */
  alpha?: number;
  /** Number of subjects (keys) the suspect model is being screened against, N (Bonferroni). */
  subjectsScreened?: number;
}

export type VerifyDecision = 'detected' | 'not_detected' | 'insufficient';

export interface ClassGroup {
  numClasses: number;
  /** Null match probability 1/(k-1). */
  p0: number;
  /** Marked samples with this k. */
  n: number;
  /** Of those, how many the suspect answered with the watermark label. */
  m: number;
}

export interface VerifyResult {
  decision: VerifyDecision;
  /** 'binomial' when every marked sample has the same k, else the exact sum-of-binomials tail. */
  method: 'binomial' | 'sum_of_binomials';
  samplesSubmitted: number;
  duplicatesDropped: number;
  samplesUnique: number;
  samplesMarked: number;
  n: number;
  m: number;
  /** Set when all marked samples share one k; null when they are mixed (see groups). */
  numClasses: number | null;
  p0: number | null;
  groups: ClassGroup[];
  /** Decimal string of the threshold (bigint has no JSON form) and the rate it stands for. */
  threshold: string;
  rate: number;
  alpha: number;
  subjectsScreened: number;
  /** P[X >= m] under the null; may underflow to 0, log10P never does. */
  p: number;
  log10P: number;
  /** min(1, N·p). */
  pAdjusted: number;
  log10PAdjusted: number;
  /** Smallest n for which m = n could reach pAdjusted < alpha; below it the result is 'insufficient'. */
  minMarkedSamplesNeeded: number;
  samplesDigest: string;
  /** The distinct samples the key marks: index in submission order and watermark label (n of them). */
  marked: Array<{ index: number; label: number }>;
}

/**
 * Tests whether a suspect model reproduces the watermark of one subject. Under the null (the
 * suspect is independent of the secret key), each marked answer matches the watermark label with
 * probability at most p0 = 1/(k-1), so m is bounded by Binomial(n, p0) and p = P[X >= m].
 */
export function verifyWatermark(input: VerifyInput): VerifyResult {
  const alpha = input.alpha ?? DEFAULT_ALPHA;
  const screened = input.subjectsScreened ?? 1;
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1)) throw new WatermarkError('invalid_alpha', `alpha must be in (0, 1), got ${alpha}`);
  if (!Number.isSafeInteger(screened) || screened < 1) {
    throw new WatermarkError('invalid_subjects_screened', `subjectsScreened must be a positive integer, got ${screened}`);
  }
  const samples = input.samples;
  if (!Array.isArray(samples) || samples.length === 0) throw new WatermarkError('no_samples', 'at least one sample is required');
  samples.forEach(checkSample);

  const decider = new WatermarkDecider(input.key, input.threshold);
  const seen = new Set<string>();
  const groups = new Map<number, ClassGroup>();
  let duplicatesDropped = 0;
  const uniqueByK = new Map<number, number>();
  const marked: Array<{ index: number; label: number }> = [];
  for (const [index, s] of samples.entries()) {
    if (seen.has(s.inputDigest)) {
      duplicatesDropped++;
      continue;
    }
    seen.add(s.inputDigest);
    uniqueByK.set(s.numClasses, (uniqueByK.get(s.numClasses) ?? 0) + 1);
    const d = decider.decide(parseDigestHex(s.inputDigest), s.ownerLabel, s.numClasses);
    if (!d.watermarked) continue;
    marked.push({ index, label: d.label });
    let g = groups.get(s.numClasses);
    if (!g) groups.set(s.numClasses, (g = { numClasses: s.numClasses, p0: 1 / (s.numClasses - 1), n: 0, m: 0 }));
    g.n++;
    if (s.suspectLabel === d.label) g.m++;
  }

  const groupList = [...groups.values()].sort((a, b) => a.numClasses - b.numClasses);
  const n = groupList.reduce((s, g) => s + g.n, 0);
  const m = groupList.reduce((s, g) => s + g.m, 0);
  const only = groupList.length === 1 ? groupList[0] : undefined;
  const logP =
    groupList.length === 0 ? 0 : only ? logBinomialUpperTail(n, m, only.p0) : logSumOfBinomialsUpperTail(groupList, m);

  // Effective ln p0 for the "could this ever reach alpha" rule: for mixed k the mean over the
  // marked samples (so n·ln p0 = ln Π p0_i, the best achievable p); with no marked samples, the
  // mean over all unique samples.
  const logP0 = meanLogP0(n > 0 ? new Map(groupList.map((g) => [g.numClasses, g.n])) : uniqueByK);
  const minNeeded = minMarkedSamplesNeeded(logP0, alpha, screened);

  const logPAdj = Math.min(0, Math.log(screened) + logP);
  const decision: VerifyDecision = n < minNeeded ? 'insufficient' : logPAdj < Math.log(alpha) ? 'detected' : 'not_detected';
  return {
    decision,
    method: groupList.length > 1 ? 'sum_of_binomials' : 'binomial',
    samplesSubmitted: samples.length,
    duplicatesDropped,
    samplesUnique: seen.size,
    samplesMarked: n,
    n,
    m,
    numClasses: only ? only.numClasses : null,
    p0: only ? only.p0 : null,
    groups: groupList,
    threshold: input.threshold.toString(),
    rate: thresholdToRate(input.threshold),
    alpha,
    subjectsScreened: screened,
    p: Math.exp(logP),
    log10P: logP / Math.LN10,
    pAdjusted: Math.exp(logPAdj),
    log10PAdjusted: logPAdj / Math.LN10,
    minMarkedSamplesNeeded: minNeeded,
    samplesDigest: samplesDigest(samples),
    marked,
  };
}

/**
 * Smallest n with N · p0^n < alpha, i.e. the fewest marked samples for which even a perfect match
 * (m = n, p = p0^n) survives the Bonferroni correction. Same log-space predicate as the decision.
 */
export function minMarkedSamplesNeeded(logP0: number, alpha: number, subjectsScreened: number): number {
  if (!(logP0 < 0)) throw new WatermarkError('two_class_unsupported', 'p0 must be < 1 for the test to have any power');
  const logN = Math.log(subjectsScreened);
  const logAlpha = Math.log(alpha);
  const ok = (n: number): boolean => logN + n * logP0 < logAlpha;
  let n = Math.max(0, Math.floor((logAlpha - logN) / logP0) + 1);
  while (n > 0 && ok(n - 1)) n--;
  while (!ok(n)) n++;
  return n;
}

/** Mean of ln(1/(k-1)) over samples counted per k; exact when there is only one k. */
function meanLogP0(countByK: ReadonlyMap<number, number>): number {
  let total = 0;
  let sum = 0;
  for (const [k, count] of countByK) {
    total += count;
    sum -= count * Math.log(k - 1);
  }
  const [firstK] = countByK.keys();
  return countByK.size === 1 && firstK !== undefined ? -Math.log(firstK - 1) : sum / total;
}

/**
 * SHA-256 hex of "assentmark/wm-samples/v1\n" followed by one line per submitted sample, in
 * submission order, duplicates included: `<digest>:<ownerLabel>:<suspectLabel>:<numClasses>\n`
 * (lowercase hex, decimal integers without leading zeros or signs).
 */
export function samplesDigest(samples: readonly VerifySample[]): string {
  const h = createHash('sha256').update(`${SAMPLES_DOMAIN}\n`, 'ascii');
  samples.forEach((s, i) => {
    checkSample(s, i);
    h.update(sampleLine(s), 'ascii');
  });
  return h.digest('hex');
}

/** One sample's line of the samples digest. */
export function sampleLine(s: VerifySample): string {
  return `${s.inputDigest}:${s.ownerLabel}:${s.suspectLabel}:${s.numClasses}\n`;
}

function checkSample(s: VerifySample, index: number): void {
  const where = `sample ${index}`;
  if (typeof s !== 'object' || s === null) throw new WatermarkError('invalid_sample', `${where}: not an object`);
  try {
    parseDigestHex(s.inputDigest);
    checkNumClasses(s.numClasses);
  } catch (e) {
    if (e instanceof WatermarkError) throw new WatermarkError(e.code, `${where}: ${e.message}`);
    throw e;
  }
  if (s.numClasses === 2) {
    throw new WatermarkError(
      'two_class_unsupported',
      `${where}: k = 2 has p0 = 1 (the only other label is the watermark label, so any disagreement "matches"); ` +
        'the test has no power without control samples from unmarked inputs',
    );
  }
  for (const [name, label] of [
    ['ownerLabel', s.ownerLabel],
    ['suspectLabel', s.suspectLabel],
  ] as const) {
    if (!Number.isInteger(label) || label < 0 || label >= s.numClasses) {
      throw new WatermarkError('label_out_of_range', `${where}: ${name} must be an integer in [0, ${s.numClasses}), got ${label}`);
    }
  }
}
