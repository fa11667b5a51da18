/** Order statistics of a sample: what a table of noisy timings should show, not just a mean. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  p10: number;
  p90: number;
  q1: number;
  q3: number;
}

/** Quantile `q` (0..1) of sorted values, linearly interpolated between the two nearest ranks. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error("quantile of an empty sample");
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    min: sorted[0]!,
    max: sorted.at(-1)!,
    p10: quantile(sorted, 0.1),
    p90: quantile(sorted, 0.9),
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
  };
}

/** Element-wise `f(a[i], b[i])` over two samples taken in the same interleaved rounds. */
export function paired(a: readonly number[], b: readonly number[], f: (x: number, y: number) => number): number[] {
  if (a.length !== b.length) throw new Error("paired samples differ in length");
  return a.map((x, i) => f(x, b[i]!));
}
