/** Order statistics for the benchmarks: nearest-rank on a sorted copy, so no input is mutated. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank, 1-based; p * n first, so 95 * 20 / 100 is exactly 19 (0.95 * 20 is 19.000000000000004).
  const rank = Math.ceil((p * sorted.length) / 100);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

export const median = (values: readonly number[]): number => percentile(values, 50);
