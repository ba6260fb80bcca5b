/** A ratio that is either a number or not defined because its denominator is zero. */
export type Ratio =
  | { defined: true; numerator: number; denominator: number; value: number }
  | { defined: false; numerator: number; denominator: 0; reason: string };

/**
 * Divides `numerator` by `denominator`. A zero denominator gives an undefined ratio with
 * `reasonWhenZero` (for example `no baseline windows`), never 0 or 1.
 */
export function ratio(numerator: number, denominator: number, reasonWhenZero: string): Ratio {
  if (denominator === 0) {
    return { defined: false, numerator, denominator: 0, reason: reasonWhenZero };
  }
  return { defined: true, numerator, denominator, value: numerator / denominator };
}

/** Formats a ratio with two decimals (`0.80`), or `n/a (<reason>)` when it is not defined. */
export function formatRatio(value: Ratio): string {
  return value.defined ? value.value.toFixed(2) : `n/a (${value.reason})`;
}

/**
 * Returns the nearest-rank percentile of `values` (unsorted): the smallest value such that at
 * least `percent`% of the values are less than or equal to it. Undefined for an empty list.
 */
export function nearestRankPercentile(
  values: readonly number[],
  percent: number,
): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length - 1e-9));
  return sorted[Math.min(rank, sorted.length) - 1];
}
