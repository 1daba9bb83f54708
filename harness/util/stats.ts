/** Small statistics shared by the models, the synthesis fit and the report. */

/** The median (mean of the two middle values for an even count); NaN for no values. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median and median absolute deviation, as tinybench reports a latency (p50 ± MAD). */
export function p50Mad(xs: readonly number[]): { p50: number; mad: number } {
  const p50 = median(xs);
  return { p50, mad: median(xs.map((x) => Math.abs(x - p50))) };
}
