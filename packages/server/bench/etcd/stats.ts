// Pure statistics for bench:etcd: latency percentiles (nearest rank on a sorted sample), the median
// over rounds, and the longest gap in a series of timestamps.

/** The p-th percentile (0 < p <= 100) of an ascending array, nearest-rank; 0 for an empty one. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p * sorted.length) / 100 - 1e-9); // 99.9 * 1000 / 100 is not exactly 999
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** The median of the values (mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The largest difference between consecutive values of an ascending series (0 for fewer than 2). */
export function longestGap(ascending: readonly number[]): number {
  let gap = 0;
  for (let i = 1; i < ascending.length; i++) gap = Math.max(gap, ascending[i]! - ascending[i - 1]!);
  return gap;
}

/** Rounds to `digits` decimals (for JSON output). */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
