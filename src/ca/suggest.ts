/** The known name closest to a mistyped one, when it is close enough to be a typo; else null. */
export function didYouMean(typed: string, known: readonly string[]): string | null {
  const wanted = typed.toLowerCase();
  // One edit per four characters, at least one, at most two: "nobdy" finds "nobody", "al" finds nothing.
  const limit = Math.min(2, Math.max(1, Math.floor(wanted.length / 4)));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const name of known) {
    if (Math.abs(name.length - wanted.length) > limit) continue;
    const d = editDistance(wanted, name.toLowerCase(), bestDistance);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return best;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions), cut off at `bound`. */
function editDistance(a: string, b: string, bound: number): number {
  const x = [...a];
  const y = [...b];
  let before: number[] = [];
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin >= bound) return bound;
    [before, previous] = [previous, current];
  }
  return previous[y.length]!;
}
