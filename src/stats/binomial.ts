// Exact binomial upper tails, computed in log space so that p-values far below the smallest
// double (e.g. n = 10^6 samples) are still finite. Pure functions; no I/O.

const HALF_LN_2PI = 0.91893853320467274178; // ln(2π) / 2
const STIRLING_MIN = 15; // below this, shift x upwards with Γ(x+1) = xΓ(x)

/**
 * ln Γ(x) for x > 0. Stirling series (through the x^-13 term) for x >= 15, whose truncation
 * error there is < 1e-19; smaller x is shifted up first. Absolute error ~1e-14 for small x,
 * relative error ~1e-16 for large x.
 */
export function logGamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`logGamma: x must be finite and > 0, got ${x}`);
  if (x === 1 || x === 2) return 0; // exact zeros (0! = 1! = 1)
  let shift = 1;
  while (x < STIRLING_MIN) {
    shift *= x;
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  // Σ B_2j / (2j(2j-1) x^(2j-1)), j = 1..7, in Horner form.
  const series =
    inv *
    (1 / 12 +
      inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (-1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 / 156))))));
  return (x - 0.5) * Math.log(x) - x + HALF_LN_2PI + series - Math.log(shift);
}

/** ln C(n, j), exactly 0 at the ends so that C(n,0) and C(n,n) carry no rounding. */
export function logChoose(n: number, j: number): number {
  if (j < 0 || j > n) return -Infinity;
  if (j === 0 || j === n) return 0;
  return logGamma(n + 1) - logGamma(j + 1) - logGamma(n - j + 1);
}

/** ln P[X = j] for X ~ Binomial(n, p0). */
export function logBinomialPmf(n: number, j: number, p0: number): number {
  checkArgs(n, j, p0);
  if (j < 0 || j > n) return -Infinity;
  if (p0 === 0) return j === 0 ? 0 : -Infinity;
  if (p0 === 1) return j === n ? 0 : -Infinity;
  const lp = Math.log(p0);
  const lq = Math.log1p(-p0);
  if (j === n) return n * lp;
  if (j === 0) return n * lq;
  return logChoose(n, j) + j * lp + (n - j) * lq;
}

/**
 * ln P[X >= m] for X ~ Binomial(n, p0); never underflows.
 *
 * Above the mean the terms from m upwards strictly decrease, so we sum them relative to the
 * first one with the ratio recurrence and stop once a geometric bound on everything left is
 * < 1e-17 of the running sum. At or below the mean we sum the lower tail P[X <= m-1] downwards
 * the same way; it is then < 1/2, so log1p(-lower) is well conditioned.
 */
export function logBinomialUpperTail(n: number, m: number, p0: number): number {
  checkArgs(n, m, p0);
  if (m <= 0) return 0;
  if (m > n) return -Infinity;
  if (p0 === 0) return -Infinity;
  if (p0 === 1) return 0;
  if (m === n) return n * Math.log(p0);
  const odds = p0 / (1 - p0);
  if (m > n * p0) {
    return logBinomialPmf(n, m, p0) + Math.log(relativeSum(m, n, (j) => ((n - j) / (j + 1)) * odds));
  }
  const logLower = logBinomialPmf(n, m - 1, p0) + Math.log(relativeSum(m - 1, 0, (j) => j / ((n - j + 1) * odds)));
  return Math.log1p(-Math.exp(logLower));
}

/** P[X >= m] as a plain double (underflows to 0 for tiny tails; use the log form for those). */
export function binomialUpperTail(n: number, m: number, p0: number): number {
  return Math.exp(logBinomialUpperTail(n, m, p0));
}

/**
 * Σ t_j / t_from for j walking from `from` towards `to` (inclusive), where ratio(j) = t_next/t_j
 * is < 1 and non-increasing along the walk. Stops when the rest is provably negligible.
 */
function relativeSum(from: number, to: number, ratio: (j: number) => number): number {
  const step = to >= from ? 1 : -1;
  let term = 1;
  let sum = 1;
  for (let j = from; j !== to; j += step) {
    const r = ratio(j);
    term *= r;
    sum += term;
    // Everything after this term is at most term * r / (1 - r).
    if (term * r < 1e-17 * sum * (1 - r)) break;
  }
  return sum;
}

export interface BinomialGroup {
  /** Number of trials in the group. */
  n: number;
  /** Success probability of each trial in the group. */
  p0: number;
}

/**
 * ln P[X_1 + ... + X_g >= m] for independent X_i ~ Binomial(n_i, p_i): the exact
 * Poisson-binomial tail when the trials fall into a few groups of equal p. All groups except the
 * largest are convolved in log space (cost Π of their sizes); the largest enters through its
 * exact upper-tail array, so two groups cost O(n_1 + n_2).
 */
export function logSumOfBinomialsUpperTail(groups: readonly BinomialGroup[], m: number): number {
  if (!Number.isInteger(m)) throw new RangeError(`m must be an integer, got ${m}`);
  let need = m;
  const live: BinomialGroup[] = [];
  for (const g of groups) {
    checkArgs(g.n, 0, g.p0);
    if (g.n === 0 || g.p0 === 0) continue; // contributes 0 successes
    if (g.p0 === 1) need -= g.n; // contributes exactly n successes
    else live.push(g);
  }
  const total = live.reduce((s, g) => s + g.n, 0);
  if (need <= 0) return 0;
  if (need > total) return -Infinity;
  const last = live.reduce((a, b) => (b.n > a.n ? b : a));
  if (live.length === 1) return logBinomialUpperTail(last.n, need, last.p0);

  let conv: number[] = [0]; // log pmf of the sum of the other groups
  for (const g of live) if (g !== last) conv = logConvolve(conv, logPmfArray(g.n, g.p0));

  const tail = logUpperTailArray(last.n, last.p0);
  const terms: number[] = [];
  for (let x = 0; x < conv.length; x++) {
    const t = need - x;
    const logTail = t <= 0 ? 0 : t > last.n ? -Infinity : (tail[t] as number);
    terms.push((conv[x] as number) + logTail);
  }
  return Math.min(0, logSumExp(terms));
}

function logPmfArray(n: number, p0: number): number[] {
  const out: number[] = [];
  for (let j = 0; j <= n; j++) out.push(logBinomialPmf(n, j, p0));
  return out;
}

/** tail[t] = ln P[X >= t] for t = 0..n, by a backward log-sum-exp of the pmf. */
function logUpperTailArray(n: number, p0: number): number[] {
  const pmf = logPmfArray(n, p0);
  const tail = new Array<number>(n + 1);
  let acc = -Infinity;
  for (let t = n; t >= 0; t--) {
    acc = logAddExp(acc, pmf[t] as number);
    tail[t] = t === 0 ? 0 : Math.min(0, acc);
  }
  return tail;
}

function logConvolve(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  const terms: number[] = [];
  for (let s = 0; s < a.length + b.length - 1; s++) {
    terms.length = 0;
    for (let i = Math.max(0, s - b.length + 1); i <= Math.min(s, a.length - 1); i++) {
      terms.push((a[i] as number) + (b[s - i] as number));
    }
    out.push(logSumExp(terms));
  }
  return out;
}

function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + Math.log1p(Math.exp(b - a)) : b + Math.log1p(Math.exp(a - b));
}

function logSumExp(xs: readonly number[]): number {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const x of xs) sum += Math.exp(x - max);
  return max + Math.log(sum);
}

function checkArgs(n: number, j: number, p0: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  if (!Number.isSafeInteger(j)) throw new RangeError(`count must be an integer, got ${j}`);
  if (!(p0 >= 0 && p0 <= 1)) throw new RangeError(`p0 must be in [0, 1], got ${p0}`);
}
