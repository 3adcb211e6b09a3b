// Retry schedule of a failed delivery: exponential with jitter. The delay after attempt n (1-based)
// lies in [base·2^(n-1), 1.5·base·2^(n-1)), capped at `max`, so below the cap each wait is longer
// than the one before, whatever the jitter. Pure.

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export function retryDelayMs(attempt: number, o: BackoffOptions, random: () => number = Math.random): number {
  const exp = o.baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40);
  return Math.min(o.maxMs, Math.round(exp * (1 + 0.5 * random())));
}
