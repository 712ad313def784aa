// "Did you mean" for config keys: the optimal string alignment distance (Levenshtein plus
// adjacent transpositions, so "maxcallpreip" is one edit from "maxcallperip"), the same
// measure git and cargo use for their suggestions.

/** Edit distance between a and b, counting insert, delete, substitute and adjacent swap as 1. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Three rolling rows: the transposition step looks two rows back.
  let prev2 = new Array<number>(b.length + 1).fill(0);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let cur = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, prev2[j - 2]! + 1);
      }
      cur[j] = best;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[b.length]!;
}

/**
 * The `count` candidates closest to `name`, nearest first; ties keep the candidates' order
 * (the schema's order groups related keys, so a tie suggests the key's neighbours).
 */
export function closest(name: string, candidates: readonly string[], count = 3): string[] {
  const needle = name.toLowerCase();
  return candidates
    .map((candidate, index) => ({ candidate, index, d: editDistance(needle, candidate) }))
    .sort((x, y) => x.d - y.d || x.index - y.index)
    .slice(0, count)
    .map((x) => x.candidate);
}
