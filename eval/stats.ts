/**
 * Small statistics for the live eval. Pure.
 *
 * Percentiles use the nearest-rank method: the p-th percentile of n values is the value at rank
 * ceil(p/100 * n) in ascending order, so it is always one of the measured values (never an
 * interpolation between two latencies nobody saw), and p100 is the maximum.
 */

/** The nearest-rank p-th percentile (0 < p <= 100), or undefined for no values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (values.length === 0) return undefined;
  if (values.some((v) => !Number.isFinite(v))) throw new RangeError('percentile of a non-finite value');
  const sorted = [...values].sort((a, b) => a - b);
  // p * n first: for whole p it is exact, so 95 * 20 / 100 is 19, where 0.95 * 20 is 19.000000000000004 (rank 20).
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1];
}

/** The arithmetic mean, or undefined for no values. */
export function mean(values: readonly number[]): number | undefined {
  return values.length === 0 ? undefined : values.reduce((a, b) => a + b, 0) / values.length;
}
